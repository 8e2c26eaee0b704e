import Foundation
import Models
import NumericCore
import Tasks
import _Differentiation

/// A step schedule that grows a count during training (Garg et al.'s curriculum of points per prompt; Yang et
/// al.'s loop count): `start + increment · ⌊(step − 1) / every⌋`, capped at the full value. A pure function of
/// the step, so a resumed run follows the same schedule. JSON: `{"start": 5, "increment": 2, "every": 200}`.
public struct Ramp: Codable, Equatable, Sendable {
    public var start: Int
    public var increment: Int
    public var every: Int

    public init(start: Int, increment: Int, every: Int) {
        self.start = start
        self.increment = increment
        self.every = every
    }

    /// The count at `step` (1-based) when the full count is `total`.
    public func value(atStep step: Int, total: Int) -> Int {
        min(total, start + increment * ((max(step, 1) - 1) / every))
    }

    /// `minimum` is the smallest meaningful start (2 points: a context and a query; 1 loop).
    public func validate(_ name: String, minimum: Int) throws {
        guard start >= minimum, increment >= 0, every >= 1 else {
            throw TaskError("training: \(name) needs start ≥ \(minimum), increment ≥ 0, every ≥ 1 (got \(start), \(increment), \(every))")
        }
    }
}

/// How the learning rate moves during training (a pure function of the step, so resumed runs follow it).
public enum LearningRateSchedule: String, Codable, Sendable, CaseIterable {
    /// The configured rate throughout (after any warm-up).
    case constant
    /// Cosine decay from the rate to `finalLearningRateFraction` × the rate over the steps after warm-up.
    case cosine
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
    public var curriculum: Ramp? = nil
    /// AdamW's decoupled weight decay λ (0: plain Adam, as von Oswald et al.; GPT-style models use 0.01–0.1).
    public var weightDecay: Double = 0
    /// Linear warm-up from 0 to the learning rate over this many steps (0: none).
    public var warmupSteps: Int = 0
    /// The learning rate after warm-up: constant, or cosine decay (transformers train better with it).
    public var schedule: LearningRateSchedule = .constant
    /// Cosine decay's end point as a fraction of the learning rate.
    public var finalLearningRateFraction: Double = 0.1
    /// Ramp the loop count of a looped model up to its depth during training (nil: the full depth throughout).
    public var loopCurriculum: Ramp? = nil
    /// Garg et al.'s dimension curriculum: only the first `value(step)` input coordinates are active (the rest
    /// zeroed, labels adjusted); for families whose prompts carry their weights (linear, gmm).
    public var dimensionCurriculum: Ramp? = nil
    /// Split each batch into this many parts whose gradients are computed concurrently and summed in a fixed
    /// order (1: one pass). The result does not depend on the number of threads, but does (in the last bits)
    /// on this number; 2 uses both cores for models whose kernels are too small to split well (transformers).
    public var microBatches: Int = 1

    public init(steps: Int = 1000, batchSize: Int = 2048, learningRate: Double = 1e-3, maxGradientNorm: Double? = nil,
                seed: UInt64 = 0, logEvery: Int = 100, objective: TrainingObjective = .query, curriculum: Ramp? = nil,
                weightDecay: Double = 0, warmupSteps: Int = 0, schedule: LearningRateSchedule = .constant,
                finalLearningRateFraction: Double = 0.1, microBatches: Int = 1) {
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.maxGradientNorm = maxGradientNorm
        self.seed = seed
        self.logEvery = logEvery
        self.objective = objective
        self.curriculum = curriculum
        self.weightDecay = weightDecay
        self.warmupSteps = warmupSteps
        self.schedule = schedule
        self.finalLearningRateFraction = finalLearningRateFraction
        self.microBatches = microBatches
    }

    /// The learning rate at `step` (1-based): linear warm-up, then constant or cosine decay.
    public func learningRate(atStep step: Int) -> Double {
        if warmupSteps > 0 && step <= warmupSteps { return learningRate * Double(step) / Double(warmupSteps) }
        guard schedule == .cosine else { return learningRate }
        let span = max(steps - warmupSteps, 1)
        let progress = min(Double(step - warmupSteps) / Double(span), 1)
        let floor = finalLearningRateFraction * learningRate
        return floor + (learningRate - floor) * 0.5 * (1 + cos(.pi * progress))
    }

    public func validate() throws {
        guard steps >= 0 else { throw TaskError("training: steps must be ≥ 0, got \(steps)") }
        guard batchSize >= 1 else { throw TaskError("training: batch size must be ≥ 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw TaskError("training: learning rate must be > 0, got \(learningRate)") }
        if let c = maxGradientNorm, !(c > 0) { throw TaskError("training: max gradient norm must be > 0, got \(c)") }
        guard logEvery >= 0 else { throw TaskError("training: logEvery must be ≥ 0, got \(logEvery)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw TaskError("training: weightDecay must be ≥ 0, got \(weightDecay)") }
        guard warmupSteps >= 0 else { throw TaskError("training: warmupSteps must be ≥ 0, got \(warmupSteps)") }
        guard finalLearningRateFraction >= 0, finalLearningRateFraction <= 1 else {
            throw TaskError("training: finalLearningRateFraction must be in [0, 1], got \(finalLearningRateFraction)")
        }
        try curriculum?.validate("curriculum", minimum: 2)
        try loopCurriculum?.validate("loopCurriculum", minimum: 1)
        try dimensionCurriculum?.validate("dimensionCurriculum", minimum: 1)
        guard microBatches >= 1, microBatches <= batchSize else {
            throw TaskError("training: microBatches must be in 1…batchSize = \(batchSize), got \(microBatches)")
        }
    }
}

extension TrainingConfig: Codable {
    enum CodingKeys: String, CodingKey {
        case steps, batchSize, learningRate, maxGradientNorm, seed, logEvery, objective, curriculum
        case weightDecay, warmupSteps, schedule, finalLearningRateFraction, loopCurriculum, microBatches, dimensionCurriculum
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
        curriculum = try c.decodeIfPresent(Ramp.self, forKey: .curriculum)
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? d.warmupSteps
        schedule = try c.decodeIfPresent(LearningRateSchedule.self, forKey: .schedule) ?? d.schedule
        finalLearningRateFraction = try c.decodeIfPresent(Double.self, forKey: .finalLearningRateFraction) ?? d.finalLearningRateFraction
        loopCurriculum = try c.decodeIfPresent(Ramp.self, forKey: .loopCurriculum)
        microBatches = try c.decodeIfPresent(Int.self, forKey: .microBatches) ?? d.microBatches
        dimensionCurriculum = try c.decodeIfPresent(Ramp.self, forKey: .dimensionCurriculum)
    }
}

/// Every step of a run: its loss, the gradient's global norm (before clipping), the learning rate it used, and
/// the seconds since training started (`logEvery` only decides what is printed).
public struct TrainingHistory: Equatable {
    public var steps: [Int] = []
    public var losses: [Double] = []
    public var gradientNorms: [Double] = []
    public var learningRates: [Double] = []
    public var seconds: [Double] = []
    public var secondsPerStep: Double = 0

    public init() {}

    mutating func record(step: Int, loss: Double, gradientNorm: Double, learningRate: Double, seconds: Double) {
        steps.append(step)
        losses.append(loss)
        gradientNorms.append(gradientNorm)
        learningRates.append(learningRate)
        self.seconds.append(seconds)
    }

    /// `step,loss,gradient_norm,learning_rate,seconds`, one row per step, full precision (round-trips in NumPy).
    public var csv: String {
        var out = "step,loss,gradient_norm,learning_rate,seconds\n"
        for i in steps.indices {
            func at(_ xs: [Double]) -> String { i < xs.count ? "\(xs[i])" : "" }
            out += "\(steps[i]),\(losses[i]),\(at(gradientNorms)),\(at(learningRates)),\(at(seconds))\n"
        }
        return out
    }
}

extension TrainingHistory: Codable {
    enum CodingKeys: String, CodingKey { case steps, losses, gradientNorms, learningRates, seconds, secondsPerStep }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        steps = try c.decodeIfPresent([Int].self, forKey: .steps) ?? []
        losses = try c.decodeIfPresent([Double].self, forKey: .losses) ?? []
        gradientNorms = try c.decodeIfPresent([Double].self, forKey: .gradientNorms) ?? []
        learningRates = try c.decodeIfPresent([Double].self, forKey: .learningRates) ?? []
        seconds = try c.decodeIfPresent([Double].self, forKey: .seconds) ?? []
        secondsPerStep = try c.decodeIfPresent(Double.self, forKey: .secondsPerStep) ?? 0
    }
}

/// Everything a training run needs to continue where it stopped, bit for bit: the steps done, the prompt
/// stream's generator, Adam's step count and moments, and the history so far (the model is saved beside it).
public struct TrainingState: Equatable {
    public var completedSteps: Int
    public var rng: Xoshiro256
    public var adamStep: Int
    public var firstMoments: [Tensor]
    public var secondMoments: [Tensor]
    public var history: TrainingHistory

    public init(completedSteps: Int, rng: Xoshiro256, adamStep: Int, firstMoments: [Tensor], secondMoments: [Tensor],
                history: TrainingHistory) {
        self.completedSteps = completedSteps
        self.rng = rng
        self.adamStep = adamStep
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
        self.history = history
    }
}

/// When and how a run saves its state so that it can be resumed.
public struct CheckpointPolicy {
    /// Save every this many steps (and after the last one).
    public var every: Int
    public var save: (any ParameterWalkable, TrainingState) throws -> Void

    public init(every: Int, save: @escaping (any ParameterWalkable, TrainingState) throws -> Void) {
        self.every = every
        self.save = save
    }
}

public enum Trainer {
    /// The one training loop, for any model and any task family: fresh prompts every step, Adam, optional
    /// clipping, progress on stderr (or to `progress`, called after every step). Deterministic given `config.seed` and the model's initial value; from a
    /// `resume` state (saved by `checkpoint`) it continues to the same final bits as an uninterrupted run.
    @discardableResult
    public static func train<M: ICLModel, F: TaskFamily>(_ model: inout M, task: F, config: TrainingConfig,
                                                         label: String = "train", resume: TrainingState? = nil,
                                                         checkpoint: CheckpointPolicy? = nil,
                                                         progress: ((TrainingProgress) -> Void)? = nil) throws -> TrainingHistory {
        try config.validate()
        try task.validate()
        guard task.layouts.contains(model.layout) || (model.layout.isRows && task.layouts.contains(where: \.isRows)) else {
            throw TaskError("\(label): \(model.name) reads \(model.layout) tokens; the \(F.familyName) family gives \(task.layouts.map(\.rawValue))")
        }
        guard task.targetKind != .vertex else { throw TaskError("\(label): vertex targets need a model with a vertex read-out") }
        if config.objective == .everyPrefix && !task.everyPointIsTarget {
            throw TaskError("\(label): the \(F.familyName) family has one question per prompt; use objective \"query\"")
        }
        let (kind, objective) = (task.targetKind, config.objective)
        if config.loopCurriculum != nil && !model.isDepthAdjustable {
            throw TaskError("\(label): a loop curriculum needs a looped model; \(model.name) has a fixed depth")
        }
        let fullDepth = model.depth
        defer { model.depth = fullDepth }
        return try optimize(&model, config: config, label: label, resume: resume, checkpoint: checkpoint,
                            progress: progress) { model, step, rng in
            if let lc = config.loopCurriculum { model.depth = lc.value(atStep: step, total: fullDepth) }
            var prompts = task.samplePrompts(batch: config.batchSize, using: &rng)
            if let c = config.curriculum {
                let k = c.value(atStep: step, total: prompts.pointCount)
                if k < prompts.pointCount { prompts = prompts.prefix(points: k) }
            }
            if let c = config.dimensionCurriculum {
                guard task.labelsAreLinearInWeights, prompts.ws != nil else {
                    throw TaskError("\(label): a dimension curriculum needs prompts that carry their weights (linear, gmm); the \(F.familyName) family's do not")
                }
                prompts = prompts.activeDimensions(c.value(atStep: step, total: prompts.dimension))
            }
            if config.microBatches == 1 {
                return valueWithGradient(at: model) { m in m.trainingLoss(prompts, kind: kind, objective: objective) }
            }
            return splitGradient(model, prompts, parts: config.microBatches, kind: kind, objective: objective)
        }
    }

    /// The one loop under every `train`: each step draws a fresh batch from the prompt stream (`Xoshiro256(seed:
    /// config.seed, stream: 1)`) and takes the loss and gradient `lossAndGradient(model, step, rng)` gives; then
    /// Adam (AdamW's decay, warm-up and cosine schedule, global-norm clipping), the history, progress and
    /// checkpoints. Deterministic given the seed and the model's initial value; from a `resume` state it continues
    /// to the same final bits as an uninterrupted run.
    public static func optimize<M: ParameterWalkable>(
        _ model: inout M, config: TrainingConfig, label: String, resume: TrainingState?, checkpoint: CheckpointPolicy?,
        progress: ((TrainingProgress) -> Void)?,
        lossAndGradient: (inout M, Int, inout Xoshiro256) throws -> (value: Double, gradient: M.TangentVector)
    ) throws -> TrainingHistory {
        var rng = Xoshiro256(seed: config.seed, stream: 1)
        var adam = Adam(for: model, learningRate: config.learningRate, weightDecay: config.weightDecay,
                        maxGradientNorm: config.maxGradientNorm)
        var history = TrainingHistory()
        var first = 1
        if let r = resume {
            guard r.completedSteps <= config.steps else {
                throw TaskError("\(label): the checkpoint is at step \(r.completedSteps), past the configured \(config.steps) steps")
            }
            rng = r.rng
            adam.restore(step: r.adamStep, first: r.firstMoments, second: r.secondMoments)
            history = r.history
            first = r.completedSteps + 1
        }
        let start = Date()
        for step in first..<(config.steps + 1) {
            let (loss, grad) = try lossAndGradient(&model, step, &rng)
            guard loss.isFinite else {
                throw TaskError("\(label): the loss became \(loss) at step \(step); lower the learning rate or set a gradient clip")
            }
            adam.learningRate = config.learningRate(atStep: step)
            let norm = model.gradientNorm(grad)
            adam.update(&model, along: grad)
            history.record(step: step, loss: loss, gradientNorm: norm, learningRate: adam.learningRate,
                           seconds: Date().timeIntervalSince(start))
            // Every step goes to the observer (a `ProgressReporter`); without one, a line every `logEvery` steps.
            if let progress {
                progress(TrainingProgress(label: label, step: step, steps: config.steps, firstStep: first, loss: loss,
                                          gradientNorm: norm, learningRate: adam.learningRate,
                                          seconds: Date().timeIntervalSince(start)))
            } else if config.logEvery > 0 && (step == 1 || step == config.steps || step % config.logEvery == 0) {
                let rate = Double(step - first + 1) / max(Date().timeIntervalSince(start), 1e-9)
                FileHandle.standardError.write(String(format: "%@: step %d/%d  loss %.5f  (%.0f steps/s)\n",
                                                      label, step, config.steps, loss, rate).data(using: .utf8)!)
            }
            if let c = checkpoint, step % c.every == 0 || step == config.steps {
                let m = adam.moments
                try c.save(model, TrainingState(completedSteps: step, rng: rng, adamStep: adam.step, firstMoments: m.first,
                                                secondMoments: m.second, history: history))
            }
        }
        history.secondsPerStep = Date().timeIntervalSince(start) / Double(max(config.steps - first + 1, 1))
        return history
    }

    /// The batch loss and its gradient from `parts` slices of the batch computed concurrently: each slice's loss
    /// weighted by its share of the prompts, the values and gradients summed in slice order.
    public static func splitGradient<M: ICLModel>(_ model: M, _ prompts: PromptBatch, parts: Int, kind: TargetKind,
                                           objective: TrainingObjective) -> (value: Double, gradient: M.TangentVector) {
        let b = prompts.batchSize
        let slices = (0..<parts).map { prompts.prompts((b * $0 / parts)..<(b * ($0 + 1) / parts)) }
        return sumInOrder(parts: parts) { i in
            let share = Double(slices[i].batchSize) / Double(b)
            return valueWithGradient(at: model) { m in m.trainingLoss(slices[i], kind: kind, objective: objective) * share }
        }
    }

    /// `part(0) + … + part(parts − 1)` of losses and gradients, the parts computed concurrently and summed in
    /// index order (the same bits at any thread count).
    static func sumInOrder<Gradient: AdditiveArithmetic>(parts: Int, _ part: (Int) -> (value: Double, gradient: Gradient))
        -> (value: Double, gradient: Gradient) {
        var losses = [Double](repeating: 0, count: parts)
        var grads = [Gradient](repeating: .zero, count: parts)
        losses.withUnsafeMutableBufferPointer { lp in
            grads.withUnsafeMutableBufferPointer { gp in
                let (lb, gb) = (lp.baseAddress!, gp.baseAddress!)
                Parallel.forChunks(count: parts) { range in
                    for i in range { (lb[i], gb[i]) = part(i) }
                }
            }
        }
        var total = grads[0]
        for g in grads.dropFirst() { total += g }
        return (losses.reduce(0, +), total)
    }

    /// The loss at the last point of each prompt, after the model's last layer.
    @differentiable(reverse, wrt: model)
    public static func queryLoss<M: ICLModel>(_ model: M, _ prompts: PromptBatch, kind: TargetKind) -> Tensor {
        model.trainingLoss(prompts, kind: kind, objective: .query)
    }

    /// The loss averaged over every prefix: point k predicted from points 0..<k, k = 1…N−1.
    @differentiable(reverse, wrt: model)
    public static func prefixLoss<M: ICLModel>(_ model: M, _ prompts: PromptBatch, kind: TargetKind) -> Tensor {
        model.trainingLoss(prompts, kind: kind, objective: .everyPrefix)
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

extension Checkpoint {
    /// A resumable checkpoint: the model's arrays plus `adam.m.NAME`, `adam.v.NAME`, `state.steps`
    /// (completed steps, Adam's step), `state.rng` (the generator's four 64-bit words, each as two exact
    /// 32-bit halves in float64), `history.steps` and `history.losses`. Written atomically.
    public static func saveState<M: ParameterWalkable>(_ model: M, _ state: TrainingState, to url: URL) throws {
        var arrays = model.namedParameters.map { (name: $0.name, tensor: $0.value) }
        let names = model.parameterPaths.map(\.name)
        if !state.firstMoments.isEmpty {
            for (i, name) in names.enumerated() {
                arrays.append(("adam.m.\(name)", state.firstMoments[i]))
                arrays.append(("adam.v.\(name)", state.secondMoments[i]))
            }
        }
        let s = state.rng.state
        let words = [s.0, s.1, s.2, s.3].flatMap { [Double($0 >> 32), Double($0 & 0xFFFF_FFFF)] }
        arrays.append(("state.steps", Tensor(shape: [2], scalars: [Double(state.completedSteps), Double(state.adamStep)])))
        arrays.append(("state.rng", Tensor(shape: [8], scalars: words)))
        let h = state.history
        arrays.append(("history.steps", Tensor(shape: [h.steps.count], scalars: h.steps.map(Double.init))))
        for (name, xs) in [("losses", h.losses), ("gradientNorms", h.gradientNorms), ("learningRates", h.learningRates),
                           ("seconds", h.seconds)] {
            arrays.append(("history.\(name)", Tensor(shape: [xs.count], scalars: xs)))
        }
        try NumPy.save(arrays, npz: url)
    }

    /// Loads a checkpoint written by `saveState` into `model` and returns the training state.
    public static func loadState<M: ParameterWalkable>(into model: inout M, from url: URL) throws -> TrainingState {
        try load(into: &model, from: url)
        let arrays = try NumPy.load(npz: url)
        guard let steps = arrays["state.steps"], steps.scalarCount == 2, let words = arrays["state.rng"], words.scalarCount == 8,
              let hs = arrays["history.steps"], let hl = arrays["history.losses"], hs.scalarCount == hl.scalarCount else {
            throw NumPyFormatError("\(url.path): not a resumable checkpoint (needs state.steps, state.rng, history.*)")
        }
        func isCount(_ x: Double) -> Bool { x >= 0 && x <= 1e15 && x == x.rounded() }
        guard steps.scalars.allSatisfy(isCount), hs.scalars.allSatisfy(isCount) else {
            throw NumPyFormatError("\(url.path): state.steps or history.steps holds a value that is not a step count")
        }
        let w = words.scalars
        guard w.allSatisfy({ $0 >= 0 && $0 < 4_294_967_296 && $0 == $0.rounded() }) else {
            throw NumPyFormatError("\(url.path): state.rng holds values that are not 32-bit words")
        }
        var rng = Xoshiro256(seed: 0)
        let u = (0..<4).map { UInt64(w[2 * $0]) << 32 | UInt64(w[2 * $0 + 1]) }
        rng.state = (u[0], u[1], u[2], u[3])
        var first: [Tensor] = [], second: [Tensor] = []
        let names = model.parameterPaths.map(\.name)
        if arrays["adam.m.\(names[0])"] != nil {
            for p in model.parameterPaths {
                let shape = model[keyPath: p.value].shape
                guard let m = arrays["adam.m.\(p.name)"], let v = arrays["adam.v.\(p.name)"], m.shape == shape, v.shape == shape else {
                    throw NumPyFormatError("\(url.path): Adam moments for '\(p.name)' are missing or mis-shaped")
                }
                first.append(m)
                second.append(v)
            }
        }
        var history = TrainingHistory()
        history.steps = hs.scalars.map { Int($0) }
        history.losses = hl.scalars
        history.gradientNorms = arrays["history.gradientNorms"]?.scalars ?? []
        history.learningRates = arrays["history.learningRates"]?.scalars ?? []
        history.seconds = arrays["history.seconds"]?.scalars ?? []
        return TrainingState(completedSteps: Int(steps.scalars[0]), rng: rng, adamStep: Int(steps.scalars[1]),
                             firstMoments: first, secondMoments: second, history: history)
    }
}
