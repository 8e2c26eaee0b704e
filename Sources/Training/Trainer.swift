import Foundation
import NumericCore
import Tasks
import _Differentiation

/// A model trained on prompts: its loss on a batch is what the training loop minimizes.
public protocol TrainableLearner: ParameterWalkable {
    @differentiable(reverse)
    func trainingLoss(_ prompts: PromptBatch) -> Tensor
}

/// Every knob of the one training loop. Defaults follow von Oswald et al. and the peer benchmarks.
public struct TrainingConfig: Codable, Equatable, Sendable {
    /// Adam steps; each draws a fresh batch of prompts.
    public var steps: Int = 1000
    /// Prompts per step.
    public var batchSize: Int = 2048
    /// Adam's learning rate (constant).
    public var learningRate: Double = 1e-3
    /// Clip the global gradient norm to this, if set.
    public var maxGradientNorm: Double? = nil
    /// Seed of the prompt stream (the model's initialization has its own seed in the experiment config).
    public var seed: UInt64 = 0
    /// Progress line on stderr every this many steps (0 = silent).
    public var logEvery: Int = 100

    public init(steps: Int = 1000, batchSize: Int = 2048, learningRate: Double = 1e-3, maxGradientNorm: Double? = nil,
                seed: UInt64 = 0, logEvery: Int = 100) {
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.maxGradientNorm = maxGradientNorm
        self.seed = seed
        self.logEvery = logEvery
    }

    public func validate() throws {
        guard steps >= 0 else { throw TaskError("training: steps must be ≥ 0, got \(steps)") }
        guard batchSize >= 1 else { throw TaskError("training: batch size must be ≥ 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw TaskError("training: learning rate must be > 0, got \(learningRate)") }
        if let c = maxGradientNorm, !(c > 0) { throw TaskError("training: max gradient norm must be > 0, got \(c)") }
    }
}

/// The loss after each logged step.
public struct TrainingHistory: Codable, Equatable {
    public var steps: [Int] = []
    public var losses: [Double] = []
    public var secondsPerStep: Double = 0
}

public enum Trainer {
    /// The one training loop: fresh prompts from `task` every step, Adam, optional clipping, progress on
    /// stderr. Deterministic given `config.seed` and the model's initial value.
    @discardableResult
    public static func train<M: TrainableLearner>(_ model: inout M, task: LinearRegressionTask, config: TrainingConfig,
                                                  label: String = "train") throws -> TrainingHistory {
        try config.validate()
        try task.validate()
        var rng = Xoshiro256(seed: config.seed, stream: 1)
        var adam = Adam(for: model, learningRate: config.learningRate, maxGradientNorm: config.maxGradientNorm)
        var history = TrainingHistory()
        let start = Date()
        for step in 1...max(config.steps, 1) where config.steps > 0 {
            let prompts = task.sample(batch: config.batchSize, using: &rng)
            let (loss, grad) = valueWithGradient(at: model) { m in m.trainingLoss(prompts) }
            guard loss.isFinite else {
                throw TaskError("\(label): the loss became \(loss) at step \(step); lower the learning rate or set a gradient clip")
            }
            adam.update(&model, along: grad)
            if step == 1 || step == config.steps || (config.logEvery > 0 && step % config.logEvery == 0) {
                history.steps.append(step)
                history.losses.append(loss)
                if config.logEvery > 0 {
                    let rate = Double(step) / max(Date().timeIntervalSince(start), 1e-9)
                    FileHandle.standardError.write(String(format: "%@: step %d/%d  loss %.5f  (%.0f steps/s)\n",
                                                          label, step, config.steps, loss, rate).data(using: .utf8)!)
                }
            }
        }
        history.secondsPerStep = Date().timeIntervalSince(start) / Double(max(config.steps, 1))
        return history
    }
}

/// Checkpoints: a model's parameters as an `.npz` of named arrays (written atomically: an interrupted write
/// never leaves a half-written file), loadable into a model of the same architecture.
public enum Checkpoint {
    public static func save<M: ParameterWalkable>(_ model: M, to url: URL) throws {
        try NumPy.save(model.namedParameters.map { ($0.name, $0.value) }, npz: url)
    }

    /// Loads parameters into `model` (which fixes the architecture); names and shapes must match.
    public static func load<M: ParameterWalkable>(into model: inout M, from url: URL) throws {
        let arrays = try NumPy.load(npz: url)
        for p in model.parameterPaths {
            guard let t = arrays[p.name] else {
                throw NumPyFormatError("\(url.path): checkpoint has no array '\(p.name)' (found \(arrays.keys.sorted()))")
            }
            let expected = model[keyPath: p.value].shape
            guard t.shape == expected else {
                throw NumPyFormatError("\(url.path): '\(p.name)' has shape \(t.shape), the model expects \(expected)")
            }
            guard t.isFinite else { throw NumPyFormatError("\(url.path): '\(p.name)' contains NaN or infinity") }
            model[keyPath: p.value] = t
        }
    }
}
