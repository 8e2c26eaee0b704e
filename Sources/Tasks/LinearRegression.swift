import Foundation
import NumericCore

/// How inputs `x ∈ R^D` are drawn.
public enum InputDistribution: Codable, Equatable, Sendable {
    /// `x ~ N(0, I)`.
    case isotropicGaussian
    /// `x ~ N(0, diag(spectrum))` in the standard basis (Zhang–Frei–Bartlett's Λ).
    case gaussianSpectrum([Double])
    /// `x ~ N(0, U diag(λ) Uᵀ)` with condition number κ: half the eigenvalues κ, half 1 (Fu et al.), and a
    /// fresh Haar-random eigenbasis `U` per prompt when `randomBasis`.
    case illConditioned(kappa: Double, randomBasis: Bool)
    /// `x ~ U(−a, a)^D` (von Oswald et al.'s released code uses a = ½; their paper text says a = 1).
    case uniform(halfWidth: Double)
}

/// How the task weights `w ∈ R^D` are drawn, one per prompt.
public enum WeightDistribution: Codable, Equatable, Sendable {
    /// `w ~ N(0, τ² I)`.
    case gaussian(scale: Double)
    /// `w ~ N(0, diag(variances))`.
    case gaussianDiagonal([Double])
    /// `k` non-zero coordinates, chosen uniformly, each `N(0, τ²)`.
    case sparse(nonZeros: Int, scale: Double)
    /// A finite pool of `M` tasks `w⁽ⁱ⁾ ~ N(0, τ² I)` drawn once from `poolSeed`; each prompt uses one,
    /// uniformly (Raventós et al.'s task diversity).
    case pool(size: Int, scale: Double, poolSeed: UInt64)
    /// A Gaussian mixture `Σᵢ αᵢ 𝒩(μᵢ, τ² I)` (Panwar et al.'s mixture of regressions, e.g. ½𝒩(+μ) + ½𝒩(−μ)).
    case mixture(means: [[Double]], mixing: [Double], scale: Double)
}

/// In-context linear regression `y = wᵀx + ε`, `ε ~ N(0, σ²)`: the prompt distribution of
/// von Oswald, Garg, Akyürek, Mahankali, Zhang–Frei–Bartlett, Fu, Raventós and Gatmiry et al.
/// Evaluation-time shifts scale x and w after drawing.
public struct LinearRegressionTask: Codable, Equatable, Sendable {
    /// Input dimension D.
    public var dimension: Int
    /// Points per prompt N (context and queries together).
    public var points: Int
    public var inputs: InputDistribution
    public var weights: WeightDistribution
    /// Label noise standard deviation σ.
    public var noise: Double
    /// Evaluation-time covariate shift: x ← c·x after drawing (1 = none).
    public var inputScale: Double
    /// Evaluation-time task shift: w ← c·w after drawing (1 = none).
    public var weightScale: Double

    public init(dimension: Int, points: Int, inputs: InputDistribution = .isotropicGaussian,
                weights: WeightDistribution = .gaussian(scale: 1), noise: Double = 0,
                inputScale: Double = 1, weightScale: Double = 1) {
        self.dimension = dimension
        self.points = points
        self.inputs = inputs
        self.weights = weights
        self.noise = noise
        self.inputScale = inputScale
        self.weightScale = weightScale
    }

    /// Checks the configuration; every problem is named.
    public func validate() throws {
        guard dimension >= 1 else { throw TaskError("linear regression: dimension must be ≥ 1, got \(dimension)") }
        guard points >= 1 else { throw TaskError("linear regression: points must be ≥ 1, got \(points)") }
        guard noise >= 0, noise.isFinite else { throw TaskError("linear regression: noise σ must be ≥ 0, got \(noise)") }
        guard inputScale.isFinite, weightScale.isFinite else { throw TaskError("linear regression: shifts must be finite") }
        switch inputs {
        case .gaussianSpectrum(let s):
            guard s.count == dimension, s.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
                throw TaskError("linear regression: spectrum needs \(dimension) non-negative values, got \(s)")
            }
        case .illConditioned(let kappa, _):
            guard kappa >= 1, kappa.isFinite else { throw TaskError("linear regression: κ must be ≥ 1, got \(kappa)") }
        case .uniform(let a):
            guard a > 0, a.isFinite else { throw TaskError("linear regression: uniform half-width must be > 0, got \(a)") }
        case .isotropicGaussian: break
        }
        switch weights {
        case .gaussian(let t): guard t >= 0 else { throw TaskError("linear regression: τ must be ≥ 0, got \(t)") }
        case .gaussianDiagonal(let v):
            guard v.count == dimension, v.allSatisfy({ $0 >= 0 }) else {
                throw TaskError("linear regression: weight variances need \(dimension) non-negative values")
            }
        case .sparse(let k, let t):
            guard k >= 1 && k <= dimension else {
                throw TaskError("linear regression: sparse w needs 1 ≤ k ≤ D = \(dimension), got k = \(k)")
            }
            guard t >= 0 else { throw TaskError("linear regression: τ must be ≥ 0, got \(t)") }
        case .pool(let m, let t, _):
            guard m >= 1 else { throw TaskError("linear regression: the task pool needs M ≥ 1 tasks, got \(m)") }
            guard t >= 0 else { throw TaskError("linear regression: τ must be ≥ 0, got \(t)") }
        case .mixture(let means, let mixing, let t):
            guard !means.isEmpty, means.count == mixing.count, means.allSatisfy({ $0.count == dimension }),
                  mixing.allSatisfy({ $0 >= 0 }), abs(mixing.reduce(0, +) - 1) < 1e-9, t >= 0 else {
                throw TaskError("linear regression: a mixture needs means of length D = \(dimension) and mixing weights summing to 1")
            }
        }
    }

    /// The pool of tasks `[M, D]` for `.pool` weights (drawn from its own seed, so every batch shares it).
    public var taskPool: Tensor? {
        guard case let .pool(m, scale, poolSeed) = weights else { return nil }
        var rng = Xoshiro256(seed: poolSeed)
        return Tensor.randomNormal([m, dimension], standardDeviation: scale, using: &rng)
    }

    /// Draws `batch` prompts from any generator (its next 64 bits seed the workbench's own generator).
    public func sample(batch: Int, using rng: inout some RandomNumberGenerator) -> PromptBatch {
        var local = Xoshiro256(seed: rng.next())
        return sample(batch: batch, using: &local)
    }

    /// Prompts per independent random stream. Streams are fixed by the batch size alone, so the prompts
    /// are the same bits whatever the number of threads drawing them.
    public static let promptsPerStream = 256

    /// Draws `batch` prompts. Same generator state, same prompts, bit for bit. The batch is split into
    /// chunks of `promptsPerStream` prompts, each drawn from its own stream derived from one draw of `rng`,
    /// so chunks can be drawn on all cores.
    public func sample(batch: Int, using rng: inout Xoshiro256) -> PromptBatch {
        let (b, n, d) = (batch, points, dimension)
        var xs = [Double](repeating: 0, count: b * n * d)
        var ws = [Double](repeating: 0, count: b * d)
        var ys = [Double](repeating: 0, count: b * n)
        let pool = taskPool
        let base = rng.next()
        let streams = (b + Self.promptsPerStream - 1) / Self.promptsPerStream
        xs.withUnsafeMutableBufferPointer { px in
            ws.withUnsafeMutableBufferPointer { pw in
                ys.withUnsafeMutableBufferPointer { py in
                    let (xb, wb, yb) = (px.baseAddress!, pw.baseAddress!, py.baseAddress!)
                    Parallel.forChunks(count: streams, workers: b * n * d >= 50_000 ? Parallel.workerCount : 1) { range in
                        for stream in range {
                            var local = Xoshiro256(seed: base, stream: UInt64(stream))
                            let first = stream * Self.promptsPerStream
                            for p in first..<Swift.min(b, first + Self.promptsPerStream) {
                                drawPrompt(xs: xb + p * n * d, ws: wb + p * d, ys: yb + p * n, pool: pool, using: &local)
                            }
                        }
                    }
                }
            }
        }
        return PromptBatch(trusted: Tensor(shape: [b, n, d], scalars: xs), ys: Tensor(shape: [b, n], scalars: ys),
                           ws: Tensor(shape: [b, d], scalars: ws))
    }

    /// One prompt: inputs `x [N, D]`, weights `w [D]`, labels `y [N]`, in that order from `rng`.
    func drawPrompt(xs: UnsafeMutablePointer<Double>, ws: UnsafeMutablePointer<Double>, ys: UnsafeMutablePointer<Double>,
                    pool: Tensor?, using rng: inout Xoshiro256) {
        let (n, d) = (points, dimension)
        switch inputs {
        case .isotropicGaussian:
            rng.fillNormal(UnsafeMutableBufferPointer(start: xs, count: n * d))
        case .gaussianSpectrum(let s):
            for i in 0..<n { for j in 0..<d { xs[i * d + j] = s[j].squareRoot() * rng.nextNormal() } }
        case .illConditioned(let kappa, let randomBasis):
            let sd = (0..<d).map { $0 < d / 2 ? kappa.squareRoot() : 1.0 }
            let u = randomBasis ? LinearRegressionTask.haarOrthogonal(d, using: &rng) : Tensor.identity(d)
            var z = [Double](repeating: 0, count: d)
            for i in 0..<n {
                for k in 0..<d { z[k] = sd[k] * rng.nextNormal() }
                for j in 0..<d {
                    var s = 0.0
                    for k in 0..<d { s += u.scalars[j * d + k] * z[k] }
                    xs[i * d + j] = s
                }
            }
        case .uniform(let a):
            for i in 0..<(n * d) { xs[i] = a * (2 * rng.nextUniform() - 1) }
        }
        switch weights {
        case .gaussian(let t):
            rng.fillNormal(UnsafeMutableBufferPointer(start: ws, count: d))
            if t != 1 { for j in 0..<d { ws[j] *= t } }
        case .gaussianDiagonal(let v):
            for j in 0..<d { ws[j] = v[j].squareRoot() * rng.nextNormal() }
        case .sparse(let k, let t):
            var idx = Array(0..<d)
            for j in 0..<k { idx.swapAt(j, j + Int(rng.next() % UInt64(d - j))) }   // partial Fisher–Yates
            for j in 0..<d { ws[j] = 0 }
            for j in idx[0..<k] { ws[j] = t * rng.nextNormal() }
        case .pool(let m, _, _):
            let i = Int(rng.next() % UInt64(m))
            for j in 0..<d { ws[j] = pool!.scalars[i * d + j] }
        case .mixture(let means, let mixing, let t):
            var u = rng.nextUniform(), i = 0
            while i < mixing.count - 1 && u >= mixing[i] { u -= mixing[i]; i += 1 }
            for j in 0..<d { ws[j] = means[i][j] + t * rng.nextNormal() }
        }
        if weightScale != 1 { for j in 0..<d { ws[j] *= weightScale } }
        if inputScale != 1 { for i in 0..<(n * d) { xs[i] *= inputScale } }
        for i in 0..<n {
            var y = 0.0
            for j in 0..<d { y += xs[i * d + j] * ws[j] }
            ys[i] = y + (noise > 0 ? noise * rng.nextNormal() : 0)
        }
    }

    /// A Haar-distributed random orthogonal matrix: QR of a Gaussian matrix with the signs of R's
    /// diagonal moved into Q (Mezzadri 2007), by modified Gram–Schmidt.
    public static func haarOrthogonal(_ d: Int, using rng: inout Xoshiro256) -> Tensor {
        var cols = (0..<d).map { _ in (0..<d).map { _ in rng.nextNormal() } }
        for j in 0..<d {
            for k in 0..<j {
                var dot = 0.0
                for i in 0..<d { dot += cols[j][i] * cols[k][i] }
                for i in 0..<d { cols[j][i] -= dot * cols[k][i] }
            }
            var norm = 0.0
            for i in 0..<d { norm += cols[j][i] * cols[j][i] }
            norm = norm.squareRoot()
            for i in 0..<d { cols[j][i] /= norm }
        }
        var q = Tensor(zeros: [d, d])
        for i in 0..<d { for j in 0..<d { q.scalars[i * d + j] = cols[j][i] } }
        return q
    }
}
