import BLASRuntime
import Foundation
import NumericCore
import Tasks

/// Iterative Newton (Newton–Schulz) for the pseudo-inverse of `S = XᵀX` (Fu et al. 2024):
/// `M₀ = α S`, `M_{k+1} = 2M_k − M_k S M_k`, `ŵ_k = M_k Xᵀy`. In S's eigenbasis
/// `M_k = U diag((1 − (1 − αλᵢ²)^{2^k}) / λᵢ) Uᵀ`, which tends to `S⁺` when `0 < α < 2/λ_max²`.
public struct IterativeNewton: LinearInContextLearner {
    /// The initial scale α.
    public enum Alpha: Equatable, Sendable {
        /// `α = 1/‖SSᵀ‖_F`: Fu et al.'s released code (the default).
        case frobenius
        /// `α = 2/‖SSᵀ‖₂`: the paper's text — exactly on the convergence boundary, so the top eigendirection
        /// never converges.
        case paper
        /// `α = 1/‖SSᵀ‖₂ = 1/λ_max²`.
        case spectral
        case fixed(Double)
    }
    public var steps: Int
    public var alpha: Alpha

    public init(steps: Int, alpha: Alpha = .frobenius) {
        precondition(steps >= 0, "IterativeNewton: steps must be ≥ 0")
        self.steps = steps
        self.alpha = alpha
    }

    public var name: String { "Newton" }

    /// Weights for k = 0, 1, …, steps (k = 0 is `M₀ Xᵀy = α S Xᵀy`, one preconditioned GD-like step).
    public func weightTrajectory(contextXs xs: Tensor, contextYs ys: Tensor) -> (labels: [String], values: [Double], weights: [Tensor]) {
        let (b, d) = (xs.shape[0], xs.shape[2])
        let (s, xty) = gramStatistics(xs, ys)
        var alphas = [Double](repeating: 0, count: b)
        switch alpha {
        case .frobenius:
            let s2 = matmul(s, s)
            for p in 0..<b {
                var f = 0.0
                for i in (p * d * d)..<((p + 1) * d * d) { f += s2.scalars[i] * s2.scalars[i] }
                alphas[p] = f > 0 ? 1 / f.squareRoot() : 0
            }
        case .paper, .spectral:
            let top = largestEigenvalues(s)
            for p in 0..<b { alphas[p] = top[p] > 0 ? (alpha == .paper ? 2 : 1) / (top[p] * top[p]) : 0 }
        case .fixed(let a): alphas = [Double](repeating: a, count: b)
        }
        // M₀ = αS, M_{k+1} = 2M_k − M_k S M_k, w_k = M_k Xᵀy: 8 prompts per vector, every matrix kept in cache
        // for all steps (BLASRuntime/ClassicalLanes.c); the same bits as batched matmuls.
        let weights = weightTensors(steps: steps + 1, shape: [b, d], zeroed: false) { pointers in
            let outputs: [UnsafeMutablePointer<Double>?] = pointers
            s.scalars.withUnsafeBufferPointer { sp in
                xty.scalars.withUnsafeBufferPointer { bp in
                    alphas.withUnsafeBufferPointer { ap in
                        forPromptChunks(b) { range in
                            let lo = range.lowerBound
                            let shifted = outputs.map { $0.map { $0 + lo * d } }
                            shifted.withUnsafeBufferPointer { so in
                                icl_newton_trajectory(sp.baseAddress! + lo * d * d, bp.baseAddress! + lo * d, ap.baseAddress! + lo,
                                                      range.count, d, steps, so.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        return ((0...steps).map(String.init), (0...steps).map(Double.init), weights)
    }
}
