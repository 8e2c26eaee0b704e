import Foundation
import NumericCore
import Tasks

// Sizes in a config are untrusted input too: before anything is allocated, the largest arrays a run will
// hold are estimated with overflow-checked arithmetic and compared with `ResourceLimits.maxBytes`
// (`ICL_MAX_MEMORY`), and a refusal names the fields that set the size.

extension ExperimentConfig {
    /// The largest allocations of a run, each with the fields that determine it: `(what, element count)`.
    /// `nil` counts overflowed `Int`.
    func allocationEstimates() -> [(what: String, count: Int?)] {
        let family = task.family
        let (n, d) = (family.pointCount, family.inputDimension)
        let e = d + 2
        let depth = max(model.trainingDepth, model.testDepth)
        let p = ResourceLimits.checkedProduct
        var out: [(String, Int?)] = []
        // One training batch of prompts and its tokens, kept once per layer for the backward pass.
        let tokens = model.isTransformer ? 2 * n : n
        let width = model.isTransformer ? max(model.width ?? 64, e) * 20 : e
        out.append(("a training batch (training.batchSize × task points × token width, from the task dimension, × model.layers or model.depth)",
                    p([training.batchSize, tokens, width, depth + 1])))
        if model.isTransformer {
            out.append(("attention probabilities (training.batchSize × model.heads × tokens² × model.layers or model.depth)",
                        p([training.batchSize, model.heads, tokens, tokens, depth])))
            out.append(("transformer weights (model.width² × 12 × model.layers or model.depth)", p([model.width ?? 64, model.width ?? 64, 12, depth + 2])))
        } else {
            out.append(("LSA weights (model.layers × model.heads × (task dimension + 1)²)", p([model.layers, model.heads, e, e])))
        }
        // Evaluation: prompts, implied-weight probes (2D queries per prompt), and every reference's trajectory.
        let steps = max(evaluation.gradientDescentSteps ?? max(10, 3 * model.testDepth), evaluation.newtonSteps + 1,
                        evaluation.ridgePoints, depth)
        out.append(("evaluation prompts and probes (evaluation.prompts × (task points + 2D) × task dimension D)",
                    p([evaluation.prompts, n + 2 * d, d])))
        out.append(("reference trajectories (evaluation.prompts × the most steps of evaluation.gradientDescentSteps, evaluation.newtonSteps, evaluation.ridgePoints × 3D)",
                    p([evaluation.prompts, steps, 3 * d])))
        out.append(("per-prompt Newton iterates (evaluation.prompts × evaluation.newtonSteps × D²)",
                    p([evaluation.prompts, evaluation.newtonSteps + 1, d, d])))
        return out
    }

    /// Refuses a config whose arrays would exceed `ResourceLimits.maxBytes`, naming the fields.
    public func validateResources() throws {
        for (what, count) in allocationEstimates() {
            guard let count else {
                throw TaskError("config: \(what) has more elements than a 64-bit size can count; reduce those fields")
            }
            do { try ResourceLimits.checkAllocation(count: count, of: "config: \(what)") } catch let e as ResourceLimitError {
                throw TaskError(e.message)
            }
        }
    }
}
