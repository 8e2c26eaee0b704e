import Foundation
import Models
import NumericCore
import Tasks
import _Differentiation

/// What the loss is averaged over.
public enum TrainingObjective: String, Codable, Sendable, CaseIterable {
    /// The last point of each prompt only (von Oswald et al.): one forward pass per batch.
    case query
    /// Every prefix: point k predicted from points 0..<k, for k = 1…N−1, averaged (Garg et al.). A row model
    /// makes one forward pass per prefix length.
    case everyPrefix
}

/// A schedule that grows the number of points per prompt during training (Garg et al.'s curriculum, points
/// part): `start + increment · ⌊(step − 1) / every⌋` points, capped at the task's N. A pure function of the
/// step, so a resumed run follows the same schedule.
public struct Curriculum: Codable, Equatable, Sendable {
    public var startPoints: Int
    public var increment: Int
    public var every: Int

    public init(startPoints: Int, increment: Int, every: Int) {
        self.startPoints = startPoints
        self.increment = increment
        self.every = every
    }

    /// Points per prompt at `step` (1-based), for a task of `total` points.
    public func points(atStep step: Int, total: Int) -> Int {
        min(total, startPoints + increment * ((max(step, 1) - 1) / every))
    }

    public func validate() throws {
        guard startPoints >= 2, increment >= 0, every >= 1 else {
            throw TaskError("training: curriculum needs startPoints ≥ 2, increment ≥ 0, every ≥ 1 (got \(startPoints), \(increment), \(every))")
        }
    }
}

/// Every knob of the one training loop. Defaults follow von Oswald et al. and the peer benchmarks; a key left
/// out of a config takes its default.
public struct TrainingConfig: Equatable, Sendable {
    /// Adam steps; each draws a fresh batch of prompts.
    public var steps: Int = 1000
    /// Prompts per step.
    public var batchSize: Int = 2048
    /// Adam's learning rate (constant).
    public var learningRate: Double = 1e-3
    /// Clip the global gradient norm to this, if set (deep stacks and looped models need it).
    public var maxGradientNorm: Double? = nil
    /// Seed of the prompt stream (the model's initialization has its own seed in the experiment config).
    public var seed: UInt64 = 0
    /// Progress line on stderr every this many steps (0 = silent).
    public var logEvery: Int = 100
    /// The loss at the query only, or averaged over every prefix (Garg et al. train on every prefix).
    public var objective: TrainingObjective = .query
    /// Grow the points per prompt during training (nil: all N from the start).
    public var curriculum: Curriculum? = nil

    public init(steps: Int = 1000, batchSize: Int = 2048, learningRate: Double = 1e-3, maxGradientNorm: Double? = nil,
                seed: UInt64 = 0, logEvery: Int = 100, objective: TrainingObjective = .query, curriculum: Curriculum? = nil) {
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.maxGradientNorm = maxGradientNorm
        self.seed = seed
        self.logEvery = logEvery
        self.objective = objective
        self.curriculum = curriculum
    }

    public func validate() throws {
        guard steps >= 0 else { throw TaskError("training: steps must be ≥ 0, got \(steps)") }
        guard batchSize >= 1 else { throw TaskError("training: batch size must be ≥ 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw TaskError("training: learning rate must be > 0, got \(learningRate)") }
        if let c = maxGradientNorm, !(c > 0) { throw TaskError("training: max gradient norm must be > 0, got \(c)") }
        guard logEvery >= 0 else { throw TaskError("training: logEvery must be ≥ 0, got \(logEvery)") }
        try curriculum?.validate()
    }
}

extension TrainingConfig: Codable {
    enum CodingKeys: String, CodingKey {
        case steps, batchSize, learningRate, maxGradientNorm, seed, logEvery, objective, curriculum
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingConfig()
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? d.steps
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate
        maxGradientNorm = try c.decodeIfPresent(Double.self, forKey: .maxGradientNorm)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        logEvery = try c.decodeIfPresent(Int.self, forKey: .logEvery) ?? d.logEvery
        objective = try c.decodeIfPresent(TrainingObjective.self, forKey: .objective) ?? d.objective
        curriculum = try c.decodeIfPresent(Curriculum.self, forKey: .curriculum)
    }
}

/// The loss after each logged step.
public struct TrainingHistory: Codable, Equatable {
    public var steps: [Int] = []
    public var losses: [Double] = []
    public var secondsPerStep: Double = 0
}

extension TargetKind {
    /// The training loss of read-outs `[B, Q]` against targets `[B, Q]`: mean squared error for real
    /// targets, the logistic loss `mean(log(1 + exp(−y ŷ)))` for ±1 labels.
    @differentiable(reverse, wrt: predicted)
    public func loss(predicted: Tensor, targets: Tensor) -> Tensor {
        if self == .real { return meanSquaredError(predicted: predicted, expected: targets) }
        return sigmoidCrossEntropy(logits: predicted, labels: withoutDerivative(at: (targets + 1) / 2))
    }
}

public enum Trainer {
    /// The one training loop, for any model and any task family: fresh prompts every step, Adam, optional
    /// clipping, progress on stderr. Deterministic given `config.seed` and the model's initial value.
    @discardableResult
    public static func train<M: ICLModel, F: TaskFamily>(_ model: inout M, task: F, config: TrainingConfig,
                                                         label: String = "train") throws -> TrainingHistory {
        try config.validate()
        try task.validate()
        guard task.layouts.contains(model.layout) || (model.layout.isRows && task.layouts.contains(where: \.isRows)) else {
            throw TaskError("\(label): \(model.name) reads \(model.layout) tokens; the \(F.familyName) family gives \(task.layouts.map(\.rawValue))")
        }
        guard task.targetKind != .vertex else { throw TaskError("\(label): vertex targets need a model with a vertex read-out") }
        if config.objective == .everyPrefix && !task.everyPointIsTarget {
            throw TaskError("\(label): the \(F.familyName) family has one question per prompt; use objective \"query\"")
        }
        var rng = Xoshiro256(seed: config.seed, stream: 1)
        var adam = Adam(for: model, learningRate: config.learningRate, maxGradientNorm: config.maxGradientNorm)
        var history = TrainingHistory()
        let (kind, objective) = (task.targetKind, config.objective)
        let start = Date()
        for step in 1...max(config.steps, 1) where config.steps > 0 {
            var prompts = task.samplePrompts(batch: config.batchSize, using: &rng)
            if let c = config.curriculum {
                let k = c.points(atStep: step, total: prompts.pointCount)
                if k < prompts.pointCount { prompts = prompts.prefix(points: k) }
            }
            let (loss, grad) = valueWithGradient(at: model) { m in
                objective == .query ? queryLoss(m, prompts, kind: kind) : prefixLoss(m, prompts, kind: kind)
            }
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

    /// The loss at the last point of each prompt, after the model's last layer.
    @differentiable(reverse, wrt: model)
    public static func queryLoss<M: ICLModel>(_ model: M, _ prompts: PromptBatch, kind: TargetKind) -> Tensor {
        let n = withoutDerivative(at: prompts.pointCount - 1)
        let z = withoutDerivative(at: TokenLayout.rows(prompts))
        let target = withoutDerivative(at: prompts.ys.slice(alongAxis: 1, n..<(n + 1)))
        let r = model.readouts(z, contextSize: n)
        return kind.loss(predicted: r[withoutDerivative(at: r.count - 1)], targets: target)
    }

    /// The loss averaged over every prefix: point k predicted from points 0..<k, k = 1…N−1.
    @differentiable(reverse, wrt: model)
    public static func prefixLoss<M: ICLModel>(_ model: M, _ prompts: PromptBatch, kind: TargetKind) -> Tensor {
        let count = withoutDerivative(at: prompts.pointCount)
        var total = queryLoss(model, withoutDerivative(at: prompts.prefix(points: 2)), kind: kind)
        for k in 3..<(count + 1) {
            total = total + queryLoss(model, withoutDerivative(at: prompts.prefix(points: k)), kind: kind)
        }
        return total / Double(count - 1)
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
