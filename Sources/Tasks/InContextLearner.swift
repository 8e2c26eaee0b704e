import NumericCore

/// One learner's answers after each of its steps: a transformer's layers or loop iterations, gradient
/// descent's iterations, Newton's iterations, a ridge penalty path, or a single step for closed forms.
public struct Trajectory {
    /// The learner's name, e.g. "GD (η = 0.75)".
    public var learner: String
    /// One label per step, e.g. "1", "2", … or "λ = 0.1".
    public var stepLabels: [String]
    /// The numeric value behind each label (iteration count, λ, …), for matching and plots.
    public var stepValues: [Double]
    /// Predictions at the queries after each step: `[B, Q]` each.
    public var predictions: [Tensor]
    /// For learners whose prediction is `wᵀ x_q`, the weights after each step: `[B, D]` each.
    public var weights: [Tensor]?

    public init(learner: String, stepLabels: [String], stepValues: [Double], predictions: [Tensor],
                weights: [Tensor]? = nil) {
        precondition(stepLabels.count == predictions.count && stepValues.count == predictions.count,
                     "Trajectory: \(stepLabels.count) labels, \(stepValues.count) values, \(predictions.count) steps")
        self.learner = learner
        self.stepLabels = stepLabels
        self.stepValues = stepValues
        self.predictions = predictions
        self.weights = weights
    }

    public var stepCount: Int { predictions.count }
    /// The last step's predictions `[B, Q]`.
    public var final: Tensor { predictions[predictions.count - 1] }
}

/// The one question every learner answers — a trained transformer, a hand-built one, or a classical
/// algorithm: given a context `(xs [B, n, D], ys [B, n])`, what do you predict at the queries
/// `[B, Q, D]`, after each of your steps? `n` may be 0 (no context: the learner's prior guess).
public protocol InContextLearner {
    var name: String { get }
    func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory
    /// Predictions at every prefix (see the extension); a learner may provide a faster equivalent.
    func prefixTrajectory(_ prompts: PromptBatch) -> Trajectory
}

extension InContextLearner {
    /// Predictions at every prefix — point `k` predicted from points `0..<k` — after each step: the
    /// "error vs number of in-context examples" view of Garg et al. The one prefix loop of the workbench.
    /// Returns a trajectory whose predictions are `[B, N]`.
    public func prefixTrajectory(_ prompts: PromptBatch) -> Trajectory { defaultPrefixTrajectory(prompts) }

    /// The generic prefix loop: one `trajectory` call per prefix length.
    public func defaultPrefixTrajectory(_ prompts: PromptBatch) -> Trajectory {
        var perStep: [[Tensor]] = []
        var first: Trajectory?
        for k in 0..<prompts.pointCount {
            let (cx, cy) = prompts.context(k)
            let (qx, _) = prompts.points(k..<(k + 1))
            let t = trajectory(contextXs: cx, contextYs: cy, queries: qx)
            if first == nil { first = t; perStep = Array(repeating: [], count: t.stepCount) }
            precondition(t.stepCount == perStep.count, "\(name): step count changed with the context length")
            for s in 0..<t.stepCount { perStep[s].append(t.predictions[s]) }
        }
        let f = first!
        return Trajectory(learner: f.learner, stepLabels: f.stepLabels, stepValues: f.stepValues,
                          predictions: perStep.map { Tensor.concatenate($0, alongAxis: 1) })
    }

    /// Predictions for the last point of each prompt from the points before it.
    public func queryTrajectory(_ prompts: PromptBatch) -> Trajectory {
        let n = prompts.pointCount - 1
        let (cx, cy) = prompts.context(n)
        return trajectory(contextXs: cx, contextYs: cy, queries: prompts.points(n..<(n + 1)).xs)
    }
}
