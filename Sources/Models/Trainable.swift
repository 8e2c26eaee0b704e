import NumericCore
import Tasks
import _Differentiation

// The tensor-level LSA (constructions, the restricted model's equivalent) and the restricted looped LSA
// answer the one model protocol too.

extension LinearSelfAttention: ICLModel {
    public var isDepthAdjustable: Bool { storedLayers == 1 }
    public var layout: TokenLayout { .concatenated }
    public var stepNoun: String { "layer" }
    public func hiddenStates(_ tokens: Tensor, contextSize n: Int) -> [Tensor] { tokenTrajectory(tokens, contextSize: n) }
}

extension RestrictedLoopedLSA: ICLModel {
    public var name: String { "restricted looped LSA (T = \(depth))" }
    public var isDepthAdjustable: Bool { true }
    public var layout: TokenLayout { .concatenated }
    public var stepNoun: String { "layer" }

    @differentiable(reverse)
    public func readouts(_ tokens: Tensor, contextSize n: Int) -> [Tensor] { model.readouts(tokens, contextSize: n) }

    public func hiddenStates(_ tokens: Tensor, contextSize n: Int) -> [Tensor] { model.tokenTrajectory(tokens, contextSize: n) }

    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        var t = model.trajectory(contextXs: contextXs, contextYs: contextYs, queries: queries)
        t.learner = name
        return t
    }
}
