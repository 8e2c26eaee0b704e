import Foundation
import Models
import NumericCore
import Tasks
import _Differentiation

extension Trainer {
    /// Trains Saparov et al.'s search decoder on graph-search prompts with the one training loop (`optimize`):
    /// fresh prompts every step, the set cross-entropy of the next vertex (`SearchDecoder.loss`), AdamW with
    /// warm-up, cosine decay and clipping, `microBatches` slices computed concurrently and summed in order.
    /// Each prompt asks one question, so the objective is `query` and no curriculum applies.
    @discardableResult
    public static func train(_ model: inout SearchDecoder, task: GraphSearchTask, config: TrainingConfig,
                             label: String = "train", resume: TrainingState? = nil, checkpoint: CheckpointPolicy? = nil,
                             progress: ((TrainingProgress) -> Void)? = nil) throws -> TrainingHistory {
        try config.validate()
        try task.validate()
        guard config.objective == .query, config.curriculum == nil, config.loopCurriculum == nil,
              config.dimensionCurriculum == nil else {
            throw TaskError("\(label): a search prompt asks one question (the next vertex); use objective \"query\" and no curriculum")
        }
        guard task.vertices == model.vertices, task.maxTokens <= model.maxTokens else {
            throw TaskError("\(label): \(model.name) reads \(model.vertices) vertices and \(model.maxTokens) positions; the task has \(task.vertices) vertices and prompts of up to \(task.maxTokens) tokens")
        }
        let parts = config.microBatches
        return try optimize(&model, config: config, label: label, resume: resume, checkpoint: checkpoint,
                            progress: progress) { model, _, rng in
            let batch = task.sample(batch: config.batchSize, using: &rng)
            let b = config.batchSize
            let slices = (0..<parts).map { batch.prompts((b * $0 / parts)..<(b * ($0 + 1) / parts)) }
            let inputs = try slices.map { try model.checked($0) }
            let current = model
            return sumInOrder(parts: parts) { i in
                let share = Double(inputs[i].batchSize) / Double(b)
                return valueWithGradient(at: current) { m in m.loss(inputs[i], targets: slices[i].targets) * share }
            }
        }
    }
}
