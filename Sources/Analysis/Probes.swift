import Foundation
import NumericCore
import Tasks

/// Accuracy of ±1 predictions under a family's conventions (Bhattamishra et al.'s per-position curves).
public enum BooleanMetrics {
    /// Per-position accuracy of prefix predictions `[B, N]` against labels. A prediction of exactly 0 is wrong
    /// under the workbench's conventions. Under `.bhattamishra` a 0 at position k ≥ 1 is a tie and scores ½ (the
    /// expectation of the reference's float rounding, see `BooleanConventions`), and a 0 at position 0 — the
    /// reference's hard-coded first-point prediction — scores 0.
    public static func accuracyByPosition(_ predictions: Tensor, labels: Tensor,
                                          conventions: BooleanConventions = .workbench) -> [Double] {
        let (b, n) = (labels.shape[0], labels.shape[1])
        return (0..<n).map { k in
            let tie = conventions == .bhattamishra && k > 0 ? 0.5 : 0
            return (0..<b).reduce(0.0) { score, p in
                let y = predictions.scalars[p * n + k]
                return score + (y == 0 ? tie : ((y > 0) == (labels.scalars[p * n + k] > 0) ? 1 : 0))
            } / Double(b)
        }
    }
}

/// Probes of what function a learner computes, beyond its error.
public enum Probes {
    /// The frequency probe (Panwar et al.): a learner's predictions on a `grid`-point grid over [−L, L), their
    /// discrete Fourier transform, and the normalized power of frequencies 0…grid/2, per prompt `[B, grid/2 + 1]`.
    public static func frequencySpectrum(_ learner: InContextLearner, contextXs: Tensor, contextYs: Tensor,
                                         halfPeriod l: Double = 5, grid: Int = 40) -> Tensor {
        let b = contextXs.shape[0]
        let xs = (0..<grid).map { -l + 2 * l * Double($0) / Double(grid) }
        let queries = Tensor(shape: [b, grid, 1], scalars: (0..<b).flatMap { _ in xs })
        let pred = learner.trajectory(contextXs: contextXs, contextYs: contextYs, queries: queries).final
        let bins = grid / 2 + 1
        var out = [Double](repeating: 0, count: b * bins)
        for p in 0..<b {
            var power = [Double](repeating: 0, count: bins)
            for k in 0..<bins {
                var re = 0.0, im = 0.0
                for t in 0..<grid {
                    let angle = -2 * Double.pi * Double(k * t) / Double(grid)
                    re += pred.scalars[p * grid + t] * Foundation.cos(angle)
                    im += pred.scalars[p * grid + t] * Foundation.sin(angle)
                }
                power[k] = re * re + im * im
            }
            let total = power.reduce(0, +)
            for k in 0..<bins { out[p * bins + k] = total > 0 ? power[k] / total : 0 }
        }
        return Tensor(shape: [b, bins], scalars: out)
    }
}

extension Probes {
    /// A fitted linear probe (Akyürek et al.): closed-form ridge from features `[M, W]` (a layer's hidden state at
    /// each query token) to targets `[M, K]`, fitted on the first half of the rows and scored on the second.
    /// Returns the held-out R² = 1 − SSE / SST per target column averaged (1: the layer linearly encodes the
    /// target; ≤ 0: not at all). Features are standardized per column before the fit; λ is relative to that
    /// scale.
    public static func linearProbe(features: Tensor, targets: Tensor, ridge lambda: Double = 1e-3) throws -> Double {
        precondition(features.rank == 2 && targets.rank == 2 && features.shape[0] == targets.shape[0],
                     "linearProbe: features [M, W] and targets [M, K], got \(features.shape) and \(targets.shape)")
        let (m, w, k) = (features.shape[0], features.shape[1], targets.shape[1])
        let train = m / 2
        precondition(train >= 2 && m - train >= 2, "linearProbe: needs at least 4 rows, got \(m)")
        // Standardize with the training half's statistics; a constant column becomes 0.
        var mean = [Double](repeating: 0, count: w), scale = [Double](repeating: 1, count: w)
        for j in 0..<w {
            var s = 0.0, s2 = 0.0
            for i in 0..<train { let x = features.scalars[i * w + j]; s += x; s2 += x * x }
            mean[j] = s / Double(train)
            let v = max(s2 / Double(train) - mean[j] * mean[j], 0)
            scale[j] = v > 1e-24 ? 1 / v.squareRoot() : 0
        }
        let cols = w + 1   // the features and an intercept
        func row(_ i: Int) -> [Double] {
            var x = [Double](repeating: 1, count: cols)
            for j in 0..<w { x[j] = (features.scalars[i * w + j] - mean[j]) * scale[j] }
            return x
        }
        var gram = [Double](repeating: 0, count: cols * cols), rhs = [Double](repeating: 0, count: cols * k)
        for i in 0..<train {
            let x = row(i)
            for a in 0..<cols {
                for b in 0..<cols { gram[a * cols + b] += x[a] * x[b] }
                for c in 0..<k { rhs[a * k + c] += x[a] * targets.scalars[i * k + c] }
            }
        }
        for a in 0..<w { gram[a * cols + a] += lambda * Double(train) }
        gram[w * cols + w] += 1e-12 * Double(train)   // keeps the intercept's pivot positive for constant features
        let coefficients = try LinearAlgebra.solveSPD(Tensor(shape: [cols, cols], scalars: gram), Tensor(shape: [cols, k], scalars: rhs))
        var r2 = 0.0
        for c in 0..<k {
            var sse = 0.0, sst = 0.0, mu = 0.0
            for i in train..<m { mu += targets.scalars[i * k + c] }
            mu /= Double(m - train)
            for i in train..<m {
                let x = row(i)
                var pred = 0.0
                for a in 0..<cols { pred += x[a] * coefficients.scalars[a * k + c] }
                let y = targets.scalars[i * k + c]
                sse += (pred - y) * (pred - y)
                sst += (y - mu) * (y - mu)
            }
            r2 += sst > 0 ? 1 - sse / sst : (sse == 0 ? 1 : 0)
        }
        return r2 / Double(k)
    }
}
