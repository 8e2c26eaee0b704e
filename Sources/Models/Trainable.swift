import NumericCore
import Tasks
import _Differentiation

extension LinearSelfAttention {
    /// Training objective: the query MSE after the last layer.
    @differentiable(reverse)
    public func trainingLoss(_ prompts: PromptBatch) -> Tensor { queryLoss(prompts) }
}

extension RestrictedLoopedLSA {
    @differentiable(reverse)
    public func trainingLoss(_ prompts: PromptBatch) -> Tensor { model.queryLoss(prompts) }
}

extension RestrictedLoopedLSA: InContextLearner {
    public var name: String { "restricted looped LSA (T = \(depth))" }
    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        var t = model.trajectory(contextXs: contextXs, contextYs: contextYs, queries: queries)
        t.learner = name
        return t
    }
}
