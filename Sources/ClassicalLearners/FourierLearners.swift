import Foundation
import NumericCore
import Tasks

/// Bayesian learners for Fourier-series regression. Candidate K of a task draws f = Ψ_K(x) a with a ~ N(0, I)
/// and features `Ψ_K = s · Φ_R / √|R|` (R the frequencies K switches on, s the coefficient scale), so f is a
/// Gaussian process with kernel `K_K = Ψ_K Ψ_Kᵀ` and K_K(x, x) = s² (without a constant term).
///
/// Evidence and mean come from one thin SVD of the context's features `Ψ = U diag(d) Vᵀ` (`[m, p]`,
/// k = min(m, p) singular values) and c = Uᵀy. The data are noiseless; in the evidence a tiny noise
/// η² = `relativeJitter` · s², relative to the kernel's diagonal so that it scales with the data, stands in for
/// directions that rounding cannot resolve:
///
///     log p(y | K) = −½ [ Σᵢ cᵢ² / (dᵢ² + η²) + ‖y − U c‖² / η² + Σᵢ log(dᵢ² + η²) + (m − k) log η² + m log 2π ]
///     E[a | y]     = Σ_{dᵢ > max(m, p)·ε·d₁} (cᵢ / dᵢ) vᵢ     (noiseless posterior mean: min-norm least squares)
///
/// The first is 𝒩(y; 0, ΨΨᵀ + η² I) exactly, evaluated in ΨΨᵀ's eigenbasis. It replaces a Cholesky of the m × m
/// kernel with a fixed 1e-8 jitter: two inputs 0.008 apart make K_K's smallest eigenvalue ~1e-11 for a square
/// Ψ, the 1e-8 jitter then hid a wrong class's misfit (evidence e^{+9} instead of e^{−197}), and the average
/// followed that class's wild interpolant. An SVD of Ψ gets eigenvalues dᵢ² to ≈ ε·d₁·dᵢ rather than ε·λ_max,
/// so η² can sit far below them. The mean keeps the exact noiseless limit (NumPy's `lstsq` cut-off): a true
/// class's small directions carry cᵢ = dᵢ·(vᵢ·a), which shrinking by dᵢ²/(dᵢ² + η²) would bias.
public struct FourierBayes: InContextLearner {
    /// Candidate indices K with prior weights (one candidate: the single-class Bayes predictor). Candidate K
    /// uses the frequencies `FourierTask.frequencies(index: K, band: band, maxFrequency: maxFrequency)`.
    public var candidates: [(frequency: Int, prior: Double)]
    public var halfPeriod: Double
    public var constantTerm: Bool
    /// Which frequencies K switches on: 1…K (`.upToK`, K = N) or K…maxFrequency (`.fromK`, K = M).
    public var band: FourierTask.FrequencyBand
    /// The top frequency of a `.fromK` band.
    public var maxFrequency: Int
    /// Standard deviation s of the coefficients' prior (the task's `coefficientScale`).
    public var coefficientScale: Double
    /// The evidence's noise variance relative to s², η² = relativeJitter · s². Small enough to leave the smallest
    /// eigenvalues of ΨΨᵀ that near-coincident inputs produce (~1e-11 at a gap of 0.008) visible; large enough
    /// that rounding in y — even float32's 1e-7 relative, (1e-7)²/η² = 0.01 per direction — stays negligible.
    public var relativeJitter: Double
    /// Per-prompt true index K, for the oracle that knows it (overrides `candidates`).
    public var oracleFrequencies: [Int]?

    public init(candidates: [(frequency: Int, prior: Double)], halfPeriod: Double = 5, constantTerm: Bool,
                band: FourierTask.FrequencyBand = .upToK, maxFrequency: Int? = nil, coefficientScale: Double = 1,
                relativeJitter: Double = 1e-12, oracleFrequencies: [Int]? = nil) {
        self.candidates = candidates
        self.halfPeriod = halfPeriod
        self.constantTerm = constantTerm
        self.band = band
        self.maxFrequency = maxFrequency ?? (candidates.map(\.frequency) + (oracleFrequencies ?? [])).max() ?? 1
        self.coefficientScale = coefficientScale
        self.relativeJitter = relativeJitter
        self.oracleFrequencies = oracleFrequencies
    }

    /// Min-norm least squares on the features of max frequency N (the single class's Bayes predictor).
    public static func leastSquares(frequency n: Int, halfPeriod: Double = 5, constantTerm: Bool = true) -> FourierBayes {
        FourierBayes(candidates: [(n, 1)], halfPeriod: halfPeriod, constantTerm: constantTerm)
    }

    /// The exact Bayesian model average for a task's frequency prior.
    public static func modelAverage(_ task: FourierTask) -> FourierBayes {
        let prior = task.frequencyPrior ?? Array(repeating: 1.0 / Double(task.maxFrequency), count: task.maxFrequency)
        return FourierBayes(candidates: prior.enumerated().map { ($0.offset + 1, $0.element) },
                            halfPeriod: task.halfPeriod, constantTerm: task.hasConstantTerm,
                            band: task.hasConstantTerm ? .upToK : task.band, maxFrequency: task.maxFrequency,
                            coefficientScale: task.coefficientScale)
    }

    /// The oracle that knows each prompt's index K (`frequencies`, as returned by `FourierTask.sample`).
    public static func oracle(_ task: FourierTask, frequencies: [Int]) -> FourierBayes {
        FourierBayes(candidates: [], halfPeriod: task.halfPeriod, constantTerm: task.hasConstantTerm,
                     band: task.hasConstantTerm ? .upToK : task.band, maxFrequency: task.maxFrequency,
                     coefficientScale: task.coefficientScale, oracleFrequencies: frequencies)
    }

    public var name: String {
        if oracleFrequencies != nil { return band == .upToK ? "oracle (true N)" : "oracle (true lowest frequency M)" }
        if candidates.count == 1 {
            let r = FourierTask.frequencies(index: candidates[0].frequency, band: band, maxFrequency: maxFrequency)
            return band == .upToK ? "least squares on N = \(r.upperBound - 1) features"
                                  : "least squares on frequencies \(r.lowerBound)…\(r.upperBound - 1)"
        }
        return band == .upToK ? "Bayesian model average over N" : "Bayesian model average over M"
    }

    /// Candidate K's scaled features Ψ_K(x) (a row of Ψ).
    func features(_ x: Double, frequencies r: Range<Int>) -> [Double] {
        let scale = coefficientScale / Double(r.count).squareRoot()
        return FourierTask.features(x, band: r, halfPeriod: halfPeriod, constant: constantTerm).map { $0 * scale }
    }

    /// log p(y | K) and the noiseless posterior mean of the coefficients, from the thin SVD of the features
    /// (see the type).
    func evidence(_ psi: [[Double]], _ y: [Double]) -> (logEvidence: Double, coefficients: [Double]) {
        let (m, p) = (psi.count, psi[0].count)
        let noise = relativeJitter * coefficientScale * coefficientScale
        // Inputs are finite by construction (cos, sin of finite x), so the SVD succeeds.
        let (u, d, vt) = try! LinearAlgebra.svd(Tensor(psi))
        let k = d.scalarCount
        var c = [Double](repeating: 0, count: k)
        for i in 0..<m { for j in 0..<k { c[j] += u.scalars[i * k + j] * y[i] } }
        var residual = 0.0
        for i in 0..<m {
            var fit = 0.0
            for j in 0..<k { fit += u.scalars[i * k + j] * c[j] }
            residual += (y[i] - fit) * (y[i] - fit)
        }
        var quad = residual / noise, logdet = Double(m - k) * Foundation.log(noise)
        var coefficients = [Double](repeating: 0, count: p)
        let cutoff = Double(max(m, p)) * .ulpOfOne * (d.scalars.first ?? 0)
        for j in 0..<k {
            let e = d.scalars[j] * d.scalars[j] + noise
            quad += c[j] * c[j] / e
            logdet += Foundation.log(e)
            guard d.scalars[j] > cutoff else { continue }
            for l in 0..<p { coefficients[l] += vt.scalars[j * p + l] * c[j] / d.scalars[j] }
        }
        return (-0.5 * (quad + logdet + Double(m) * Foundation.log(2 * .pi)), coefficients)
    }

    /// Posterior weights β_K ∝ prior_K · p(y | K) for one context, and each candidate's posterior mean at the
    /// queries.
    public func posterior(context x: [Double], y: [Double], queries: [Double],
                          frequencies: [(Int, Double)]) -> (weights: [Double], means: [[Double]]) {
        var logw: [Double] = [], means: [[Double]] = []
        for (n, prior) in frequencies {
            let logPrior = Foundation.log(max(prior, 1e-300))
            if x.isEmpty { logw.append(logPrior); means.append(queries.map { _ in 0 }); continue }
            let r = FourierTask.frequencies(index: n, band: band, maxFrequency: maxFrequency)
            let (logEvidence, coefficients) = evidence(x.map { features($0, frequencies: r) }, y)
            logw.append(logPrior + logEvidence)
            means.append(queries.map { q in
                zip(features(q, frequencies: r), coefficients).reduce(0) { $0 + $1.0 * $1.1 }
            })
        }
        let mx = logw.max() ?? 0
        let w = logw.map { Foundation.exp($0 - mx) }
        let z = w.reduce(0, +)
        return (w.map { $0 / z }, means)
    }

    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        let (b, n, q) = (contextXs.shape[0], contextXs.shape[1], queries.shape[1])
        var out = [Double](repeating: 0, count: b * q)
        for p in 0..<b {
            let x = Array(contextXs.scalars[(p * n)..<((p + 1) * n)]), y = Array(contextYs.scalars[(p * n)..<((p + 1) * n)])
            let xq = Array(queries.scalars[(p * q)..<((p + 1) * q)])
            let cands = oracleFrequencies.map { [($0[p], 1.0)] } ?? candidates.map { ($0.frequency, $0.prior) }
            let (w, means) = posterior(context: x, y: y, queries: xq, frequencies: cands)
            for j in 0..<q { out[p * q + j] = zip(w, means).reduce(0) { $0 + $1.0 * $1.1[j] } }
        }
        return Trajectory(learner: name, stepLabels: ["1"], stepValues: [1], predictions: [Tensor(shape: [b, q], scalars: out)])
    }
}

/// The exact Bayes predictor for a Gaussian mixture of linear regressions, w ~ Σᵢ αᵢ 𝒩(μᵢ, Σ), y = wᵀx + ε:
/// conjugate posterior means per component, mixed by evidence weights βᵢ ∝ αᵢ 𝒩(y; Xμᵢ, XΣXᵀ + σ²I).
public struct GaussianMixtureBayes: LinearInContextLearner {
    public var means: [Tensor]
    public var mixing: [Double]
    public var covariance: Tensor
    public var noise: Double

    public init(means: [Tensor], mixing: [Double], covariance: Tensor, noise: Double) {
        precondition(means.count == mixing.count && !means.isEmpty, "GaussianMixtureBayes: one mixing weight per component")
        precondition(noise > 0, "GaussianMixtureBayes: σ must be > 0")
        self.means = means
        self.mixing = mixing
        self.covariance = covariance
        self.noise = noise
    }

    public var name: String { "Gaussian-mixture Bayes (\(means.count) components)" }

    /// Posterior component weights `[B, K]` and the per-component posterior means.
    public func componentPosterior(contextXs xs: Tensor, contextYs ys: Tensor) throws -> (weights: Tensor, means: [Tensor]) {
        let (b, n, d) = (xs.shape[0], xs.shape[1], xs.shape[2])
        let k = means.count
        var weights = [Double](repeating: 0, count: b * k)
        var post = [[Double]](repeating: [Double](repeating: 0, count: b * d), count: k)
        for p in 0..<b {
            let x = Tensor(shape: [n, d], scalars: Array(xs.scalars[(p * n * d)..<((p + 1) * n * d)]))
            let y = Tensor(shape: [n], scalars: Array(ys.scalars[(p * n)..<((p + 1) * n)]))
            let xs2 = matmul(x, covariance)                                               // X Σ
            var c = matmul(xs2, x, transposeB: true)                                     // X Σ Xᵀ + σ² I
            for i in 0..<n { c.scalars[i * n + i] += noise * noise }
            let logdet = n > 0 ? try LinearAlgebra.logDeterminantSPD(c) : 0
            var logw = [Double](repeating: 0, count: k)
            for i in 0..<k {
                let r = n > 0 ? y - matmul(x, means[i].reshaped(to: [d, 1])).reshaped(to: [n]) : Tensor(zeros: [0])
                let alpha = n > 0 ? try LinearAlgebra.solveSPD(c, r) : Tensor(zeros: [0])
                let quad = n > 0 ? (r * alpha).sum().scalar : 0
                logw[i] = Foundation.log(mixing[i]) - 0.5 * (quad + logdet + Double(n) * Foundation.log(2 * .pi))
                let m = n > 0 ? means[i] + matmul(xs2, alpha.reshaped(to: [n, 1]), transposeA: true).reshaped(to: [d]) : means[i]
                for j in 0..<d { post[i][p * d + j] = m.scalars[j] }
            }
            let mx = logw.max()!
            let w = logw.map { Foundation.exp($0 - mx) }
            let z = w.reduce(0, +)
            for i in 0..<k { weights[p * k + i] = w[i] / z }
        }
        return (Tensor(shape: [b, k], scalars: weights), post.map { Tensor(shape: [b, d], scalars: $0) })
    }

    public func weightTrajectory(contextXs xs: Tensor, contextYs ys: Tensor) -> (labels: [String], values: [Double], weights: [Tensor]) {
        let (b, d) = (xs.shape[0], xs.shape[2])
        // Inputs are validated finite and XΣXᵀ + σ²I is positive definite, so the solves succeed.
        let (w, m) = try! componentPosterior(contextXs: xs, contextYs: ys)
        var out = [Double](repeating: 0, count: b * d)
        for p in 0..<b { for i in 0..<means.count { for j in 0..<d { out[p * d + j] += w.scalars[p * means.count + i] * m[i].scalars[p * d + j] } } }
        return (["1"], [1], [Tensor(shape: [b, d], scalars: out)])
    }
}
