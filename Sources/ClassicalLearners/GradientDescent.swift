import BLASRuntime
import Foundation
import NumericCore
import Tasks

/// How a least-squares loss is scaled; it sets what a step size means.
public enum LossScaling: String, Codable, Sendable {
    /// `L(w) = (1/2n) ‖y − Xw‖²` (von Oswald et al.; the workbench default): `∇L = (Sw − Xᵀy)/n`.
    case mean
    /// `L(w) = ½ ‖y − Xw‖²` (Fu et al.'s GD, lr 0.01 at d = 20): `∇L = Sw − Xᵀy`.
    case sum
}

/// Gradient descent on the context's least-squares loss from `w₀` (default 0), K steps, reporting every
/// iterate: `w_{k+1} = w_k − η P ∇L(w_k)` with an optional preconditioner `P` (Ahn et al./Gatmiry et al.'s
/// looped restricted LSA computes `P = Aᵀ`, η = 1).
public struct GradientDescent: LinearInContextLearner {
    public enum StepSize: Equatable, Sendable {
        /// A fixed η for every prompt (line-search it with `LineSearch.bestGradientDescentStep`).
        case fixed(Double)
        /// η = 1/λ_max of each prompt's loss Hessian (S/n or S): the classical safe step.
        case inverseLipschitz
    }
    public var steps: Int
    public var stepSize: StepSize
    public var lossScaling: LossScaling
    public var preconditioner: Tensor?
    public var initialWeights: Tensor?

    public init(steps: Int, stepSize: StepSize, lossScaling: LossScaling = .mean, preconditioner: Tensor? = nil,
                initialWeights: Tensor? = nil) {
        precondition(steps >= 1, "GradientDescent: steps must be ≥ 1")
        self.steps = steps
        self.stepSize = stepSize
        self.lossScaling = lossScaling
        self.preconditioner = preconditioner
        self.initialWeights = initialWeights
    }

    public init(steps: Int, learningRate: Double, lossScaling: LossScaling = .mean) {
        self.init(steps: steps, stepSize: .fixed(learningRate), lossScaling: lossScaling)
    }

    public var name: String {
        let p = preconditioner == nil ? "GD" : "preconditioned GD"
        switch stepSize {
        case .fixed(let eta): return "\(p) (η = \(String(format: "%.4g", eta)))"
        case .inverseLipschitz: return "\(p) (η = 1/L)"
        }
    }

    public func weightTrajectory(contextXs xs: Tensor, contextYs ys: Tensor) -> (labels: [String], values: [Double], weights: [Tensor]) {
        let (b, n, d) = (xs.shape[0], xs.shape[1], xs.shape[2])
        let (s, xty) = gramStatistics(xs, ys)
        let lipschitz = stepSize == .inverseLipschitz ? largestEigenvalues(s) : [Double](repeating: 1, count: b)
        let scale = lossScaling == .mean ? 1 / Double(max(n, 1)) : 1
        let pre = preconditioner?.scalars
        let w0 = initialWeights?.scalars ?? [Double](repeating: 0, count: d)
        precondition(w0.count == d && (pre == nil || pre!.count == d * d), "GradientDescent: preconditioner/initial weights do not match D = \(d)")
        let eta: [Double]
        switch stepSize {
        case .fixed(let e): eta = [Double](repeating: e, count: b)
        case .inverseLipschitz: eta = lipschitz.map { $0 > 0 ? 1 / ($0 * scale) : 0 }
        }
        // The kernel runs 8 prompts per vector, each lane in the scalar loop's order (BLASRuntime/ClassicalLanes.c).
        let weights = weightTensors(steps: steps, shape: [b, d], zeroed: false) { pointers in
            let outputs = pointers.map { Optional($0) }
            s.scalars.withUnsafeBufferPointer { sp in
                xty.scalars.withUnsafeBufferPointer { bp in
                    eta.withUnsafeBufferPointer { ep in
                        w0.withUnsafeBufferPointer { wp in
                            outputs.withUnsafeBufferPointer { op in
                                withOptionalPointer(pre) { prep in
                                    forPromptChunks(b) { range in
                                        let lo = range.lowerBound
                                        let shifted: [UnsafeMutablePointer<Double>?] = op.map { $0! + lo * d }
                                        shifted.withUnsafeBufferPointer { so in
                                            icl_gd_trajectory(sp.baseAddress! + lo * d * d, bp.baseAddress! + lo * d, ep.baseAddress! + lo,
                                                              scale, prep, wp.baseAddress!, range.count, d, steps, so.baseAddress!)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return ((1...steps).map(String.init), (1...steps).map(Double.init), weights)
    }
}

/// `body` with a pointer to the array's elements, or nil for no array.
func withOptionalPointer<R>(_ a: [Double]?, _ body: (UnsafePointer<Double>?) -> R) -> R {
    guard let a else { return body(nil) }
    return a.withUnsafeBufferPointer { body($0.baseAddress!) }
}
