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
        let out = WeightBuffers(steps: steps, count: b * d)
        let stepSize = self.stepSize, steps = self.steps, outputs = out.pointers
        s.scalars.withUnsafeBufferPointer { sp in
            xty.scalars.withUnsafeBufferPointer { bp in
                forPromptChunks(b) { range in
                    var w = [Double](repeating: 0, count: d), g = w, pg = w
                    for p in range {
                        let eta: Double
                        switch stepSize {
                        case .fixed(let e): eta = e
                        case .inverseLipschitz: eta = lipschitz[p] > 0 ? 1 / (lipschitz[p] * scale) : 0
                        }
                        for i in 0..<d { w[i] = w0[i] }
                        let S = sp.baseAddress! + p * d * d, bv = bp.baseAddress! + p * d
                        for k in 0..<steps {
                            // ∇L(w) = scale · (S w − Xᵀy), as Σ_j w_j S[j, :] (S is symmetric): contiguous rows.
                            for i in 0..<d { g[i] = -bv[i] }
                            for j in 0..<d {
                                let wj = w[j], row = S + j * d
                                for i in 0..<d { g[i] += wj * row[i] }
                            }
                            for i in 0..<d { g[i] *= scale }
                            if let pre {
                                for i in 0..<d {
                                    var acc = 0.0
                                    for j in 0..<d { acc += pre[i * d + j] * g[j] }
                                    pg[i] = acc
                                }
                                for i in 0..<d { g[i] = pg[i] }
                            }
                            let o = outputs[k] + p * d
                            for i in 0..<d { w[i] -= eta * g[i]; o[i] = w[i] }
                        }
                    }
                }
            }
        }
        return ((1...steps).map(String.init), (1...steps).map(Double.init), out.tensors([b, d]))
    }
}
