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
