import Analysis
import ClassicalLearners
import Models
import NumericCore
import Tasks

/// The evaluation prompts and the model's answers on them, shared by every family's references.
struct EvaluationContext {
    var config: ExperimentConfig
    /// Evaluation prompts (the last point of each is the query).
    var prompts: PromptBatch
    /// Separate prompts from the same distribution, for tuning reference step sizes.
    var tuning: PromptBatch
    var model: any ICLModel
    var modelTrajectory: Trajectory
    var modelWeights: [Tensor]?
    var trainDepth: Int
    var evalDepth: Int

    var contextSize: Int { prompts.pointCount - 1 }
    var context: (xs: Tensor, ys: Tensor) { prompts.context(contextSize) }
    var query: (xs: Tensor, ys: Tensor) { prompts.points(contextSize..<(contextSize + 1)) }

    /// A learner's trajectory at the evaluation queries.
    func run(_ learner: InContextLearner) -> Trajectory {
        let (cx, cy) = context
        return learner.trajectory(contextXs: cx, contextYs: cy, queries: query.xs)
    }
}

/// What a family is compared with: the references for the per-layer table, extra rows and notes for the
/// baselines table, and the learners drawn in the error-vs-context-length table.
struct FamilyReferences {
    var references: [ReferenceTrajectory] = []
    var baselineRows: [[Cell]] = []
    var baselineNotes: [String] = []
    var layerNotes: [String] = []
    var curveLearners: [InContextLearner] = []
    /// Scalar results beyond the tables (the run store's metrics), e.g. `dmmse_mse`, `implied_eta`.
    var metrics: [String: Double] = [:]

    /// Adds a reference and its baseline row (its query error at its best step); `fields` are the numbers its
    /// label rounds (JSON and CSV carry them at full precision).
    mutating func add(_ key: String, _ trajectory: Trajectory, weights: [Tensor]? = nil, baseline: String? = nil,
                      fields: [Cell.Field] = [], targets: Tensor, kind: TargetKind) {
        references.append(ReferenceTrajectory(key: key, trajectory: trajectory, weights: weights))
        let errs = trajectory.predictions.map { LayerComparison.error($0, targets, kind: kind) }
        let best = errs.indices.min { errs[$0] < errs[$1] }!
        baselineRows.append([.learner(baseline ?? trajectory.learner, id: Cell.key(key), fields), .number(errs[best]),
                             trajectory.stepCount == 1 ? .empty : .step(trajectory.stepLabels[best], trajectory.stepValues[best])])
    }

    /// The references of the evaluation task's family.
    static func make(_ ctx: EvaluationContext) throws -> FamilyReferences {
        switch ctx.config.evaluationTask {
        case .linearRegression(let task): return try linearRegression(task, ctx)
        case .gaussianMixture(let task): return try gaussianMixture(task, ctx)
        case .boolean(let task): return boolean(task, ctx)
        case .fourier(let task): return try fourier(task, ctx)
        case .graphConnectivity(let task): return graph(task, ctx)
        case .graphSearch: throw TaskError("graph search is compared by SearchComparison, not by prompt references")
        }
    }
}
