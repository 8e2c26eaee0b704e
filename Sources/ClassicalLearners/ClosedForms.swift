import Foundation
import NumericCore
import Tasks

/// Ridge regression `ŵ = (XᵀX + λI)⁻¹ Xᵀy` for each λ of a path (one step per λ). With one λ it is the
/// classical ridge learner; with a grid it is the path layers are matched against.
public struct Ridge: LinearInContextLearner {
    public var penalties: [Double]

    public init(penalty: Double) { self.init(path: [penalty]) }
    public init(path: [Double]) {
        precondition(!path.isEmpty && path.allSatisfy { $0 > 0 }, "Ridge: penalties must be > 0 (use OLS for λ → 0)")
        penalties = path
    }

    /// A log-spaced λ path from `low` to `high`.
    public static func logPath(from low: Double, to high: Double, count: Int) -> [Double] {
        (0..<count).map { low * pow(high / low, Double($0) / Double(max(count - 1, 1))) }
    }

    public var name: String { penalties.count == 1 ? "ridge (λ = \(String(format: "%.4g", penalties[0])))" : "ridge path" }

    public func weightTrajectory(contextXs xs: Tensor, contextYs ys: Tensor) -> (labels: [String], values: [Double], weights: [Tensor]) {
        let (b, d) = (xs.shape[0], xs.shape[2])
        let (s, xty) = gramStatistics(xs, ys)
        let penalties = self.penalties
        let weights = weightTensors(steps: penalties.count, shape: [b, d]) { pointers in
            s.scalars.withUnsafeBufferPointer { sp in
                xty.scalars.withUnsafeBufferPointer { bp in
                    forPromptChunks(b) { range in
                        var a = [Double](repeating: 0, count: d * d), x = [Double](repeating: 0, count: d)
                        for p in range {
                            for (k, lambda) in penalties.enumerated() {
                                for i in 0..<(d * d) { a[i] = sp[p * d * d + i] }
                                for i in 0..<d { a[i * d + i] += lambda; x[i] = bp[p * d + i] }
                                SmallDense.choleskySolveInPlace(&a, &x, d)
                                let o = pointers[k] + p * d
                                for i in 0..<d { o[i] = x[i] }
                            }
                        }
                    }
                }
            }
        }
        return (penalties.map { "λ=\(String(format: "%.3g", $0))" }, penalties, weights)
    }
}

/// Ordinary least squares, minimum-norm when underdetermined: `ŵ = X⁺y`. One step. Full-column-rank
/// contexts are solved by Householder QR; underdetermined or rank-deficient ones by LAPACK's SVD-based
/// `dgelsd` (the minimum-norm solution).
public struct LeastSquares: LinearInContextLearner {
    public init() {}
    public var name: String { "OLS" }

    public func weightTrajectory(contextXs xs: Tensor, contextYs ys: Tensor) -> (labels: [String], values: [Double], weights: [Tensor]) {
        let (b, n, d) = (xs.shape[0], xs.shape[1], xs.shape[2])
        let weights = weightTensors(steps: 1, shape: [b, d]) { pointers in
            let output = pointers[0]
            if n > 0 {
                forPromptChunks(b) { range in
                    var work: [Double] = []
                    for p in range {
                        if n >= d {
                            let solved = xs.scalars.withUnsafeBufferPointer { px in
                                ys.scalars.withUnsafeBufferPointer { py in
                                    SmallDense.householderLeastSquares(px.baseAddress! + p * n * d, py.baseAddress! + p * n,
                                                                       n: n, d: d, into: output + p * d, work: &work)
                                }
                            }
                            if solved { continue }
                        }
                        let x = Tensor(shape: [n, d], scalars: Array(xs.scalars[(p * n * d)..<((p + 1) * n * d)]))
                        let y = Tensor(shape: [n], scalars: Array(ys.scalars[(p * n)..<((p + 1) * n)]))
                        // Inputs are validated finite, so dgelsd (SVD based) cannot fail short of non-convergence.
                        let w = (try? LinearAlgebra.leastSquares(x, y)) ?? Tensor(zeros: [d])
                        for i in 0..<d { output[p * d + i] = w.scalars[i] }
                    }
                }
            }
        }
        return (["1"], [1], weights)
    }
}

/// The Bayes posterior mean for `w ~ N(0, τ²I)` and noise `σ²`: ridge with `λ = σ²/τ²`, which tends to
/// min-norm least squares as σ → 0. Also gives the predictive variance `σ² + x_qᵀ Σ_post x_q`.
public struct BayesGaussian: LinearInContextLearner {
    public var priorScale: Double
    public var noise: Double

    public init(priorScale: Double = 1, noise: Double) {
        self.priorScale = priorScale
        self.noise = noise
    }

    public var name: String { "Bayes (τ = \(String(format: "%.3g", priorScale)), σ = \(String(format: "%.3g", noise)))" }

    public func weightTrajectory(contextXs xs: Tensor, contextYs ys: Tensor) -> (labels: [String], values: [Double], weights: [Tensor]) {
        if noise == 0 { return LeastSquares().weightTrajectory(contextXs: xs, contextYs: ys) }
        return Ridge(penalty: noise * noise / (priorScale * priorScale)).weightTrajectory(contextXs: xs, contextYs: ys)
    }

    /// Predictive variance `σ² + x_qᵀ Σ_post x_q` with `Σ_post = (XᵀX/σ² + I/τ²)⁻¹`, `[B, Q]` (σ > 0).
    public func predictiveVariance(contextXs xs: Tensor, queries: Tensor) throws -> Tensor {
        precondition(noise > 0, "BayesGaussian.predictiveVariance needs σ > 0")
        let (b, d, q) = (xs.shape[0], xs.shape[2], queries.shape[1])
        let s = matmul(xs, xs, transposeA: true)
        var out = [Double](repeating: 0, count: b * q)
        for p in 0..<b {
            var precision = Tensor(shape: [d, d], scalars: Array(s.scalars[(p * d * d)..<((p + 1) * d * d)])) / (noise * noise)
            for i in 0..<d { precision.scalars[i * d + i] += 1 / (priorScale * priorScale) }
            let qx = Tensor(shape: [q, d], scalars: Array(queries.scalars[(p * q * d)..<((p + 1) * q * d)]))
            let solved = try LinearAlgebra.solveSPD(precision, qx.matrixTransposed())   // Σ_post x_qᵀ: [D, Q]
            for j in 0..<q {
                var v = 0.0
                for i in 0..<d { v += qx.scalars[j * d + i] * solved.scalars[i * q + j] }
                out[p * q + j] = noise * noise + v
            }
        }
        return Tensor(shape: [b, q], scalars: out)
    }
}

/// The averaging estimator `ŵ = (1/n) Σ y_i x_i` (one GD step from 0 with η = 1; Garg et al.'s baseline).
public struct Averaging: LinearInContextLearner {
    public init() {}
    public var name: String { "averaging" }
    public func weightTrajectory(contextXs xs: Tensor, contextYs ys: Tensor) -> (labels: [String], values: [Double], weights: [Tensor]) {
        let n = xs.shape[1]
        let xty = gramStatistics(xs, ys).xty
        return (["1"], [1], [n == 0 ? xty : xty / Double(n)])
    }
}

/// The discrete-prior MMSE estimator for a finite task pool (Raventós et al.'s dMMSE):
/// `ŵ = Σᵢ softmaxᵢ(−‖y − X w⁽ⁱ⁾‖² / 2σ²) w⁽ⁱ⁾`, computed in log space; the pool mean with no context.
public struct DiscreteMMSE: LinearInContextLearner {
    public var pool: Tensor
    public var noise: Double

    public init(pool: Tensor, noise: Double) {
        precondition(pool.rank == 2, "DiscreteMMSE: the pool must be [M, D], got \(pool.shape)")
        precondition(noise > 0, "DiscreteMMSE: σ must be > 0")
        self.pool = pool
        self.noise = noise
    }

    public var name: String { "dMMSE (M = \(pool.shape[0]))" }

    public func weightTrajectory(contextXs xs: Tensor, contextYs ys: Tensor) -> (labels: [String], values: [Double], weights: [Tensor]) {
        let (b, n, d) = (xs.shape[0], xs.shape[1], xs.shape[2])
        let m = pool.shape[0]
        precondition(pool.shape[1] == d, "DiscreteMMSE: pool dimension \(pool.shape[1]) ≠ D = \(d)")
        // Residuals of every pool task on every context point: X w⁽ⁱ⁾ for all i at once.
        let fits = matmul(xs, pool, transposeB: true)                          // [B, n, M]
        var out = [Double](repeating: 0, count: b * d)
        var logw = [Double](repeating: 0, count: m)
        for p in 0..<b {
            for i in 0..<m {
                var sse = 0.0
                for t in 0..<n { let r = ys.scalars[p * n + t] - fits.scalars[(p * n + t) * m + i]; sse += r * r }
                logw[i] = -sse / (2 * noise * noise)
            }
            let mx = logw.max()!
            var z = 0.0
            for i in 0..<m { logw[i] = Foundation.exp(logw[i] - mx); z += logw[i] }
            for i in 0..<m { for j in 0..<d { out[p * d + j] += logw[i] / z * pool.scalars[i * d + j] } }
        }
        return (["1"], [1], [Tensor(shape: [b, d], scalars: out)])
    }
}
