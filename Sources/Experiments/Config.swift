import Foundation
import NumericCore
import Tasks
import Training

/// Which model a comparison trains.
public struct ModelSpec: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A stack of `layers` distinct LSA layers.
        case lsa
        /// One LSA layer with shared weights applied `depth` times.
        case looped
        /// Ahn/Gatmiry's restricted looped LSA (one trainable matrix A), applied `depth` times.
        case restricted
    }
    public var kind: Kind = .lsa
    /// Distinct layers (for `.lsa`).
    public var layers: Int = 1
    /// Loop iterations in training (for `.looped` / `.restricted`).
    public var depth: Int = 1
    /// Loop iterations at evaluation (nil: as in training). May exceed training depth.
    public var evaluationDepth: Int? = nil
    public var heads: Int = 1
    /// Standard deviation of the N(0, std²) initialization (the restricted model starts at A = 0).
    public var initStd: Double = 0.02
    /// Clip token entries to ±this after every layer (nil: no clamping).
    public var tokenClamp: Double? = nil
    /// Restricted model only: constrain the preconditioner A to be symmetric.
    public var symmetricPreconditioner: Bool? = nil

    public init(kind: Kind = .lsa, layers: Int = 1, depth: Int = 1, evaluationDepth: Int? = nil, heads: Int = 1,
                initStd: Double = 0.02, tokenClamp: Double? = nil, symmetricPreconditioner: Bool? = nil) {
        self.kind = kind
        self.layers = layers
        self.depth = depth
        self.evaluationDepth = evaluationDepth
        self.heads = heads
        self.initStd = initStd
        self.tokenClamp = tokenClamp
        self.symmetricPreconditioner = symmetricPreconditioner
    }

    public func validate() throws {
        guard layers >= 1, depth >= 1, heads >= 1 else {
            throw TaskError("model: layers, depth and heads must be ≥ 1 (got \(layers), \(depth), \(heads))")
        }
        if let e = evaluationDepth, e < 1 { throw TaskError("model: evaluation depth must be ≥ 1, got \(e)") }
        if kind == .restricted && heads != 1 { throw TaskError("model: the restricted looped LSA has exactly one head") }
        if kind == .lsa && evaluationDepth != nil && evaluationDepth != layers {
            throw TaskError("model: a stack of distinct layers cannot run at another depth; use kind looped")
        }
        guard initStd >= 0 else { throw TaskError("model: initStd must be ≥ 0") }
    }
}

/// What the comparison evaluates against, and on how many prompts.
public struct EvaluationConfig: Codable, Equatable, Sendable {
    /// Prompts used for every metric (a fresh draw, independent of training).
    public var prompts: Int = 1000
    /// Seed of the evaluation prompts (and of the probes for implied weights).
    public var seed: UInt64 = 12345
    /// GD iterates to match layers against (nil: max(10, 3 × depth)).
    public var gradientDescentSteps: Int? = nil
    /// Newton iterations (k = 0…this).
    public var newtonSteps: Int = 8
    /// The ridge λ path: `ridgePoints` values log-spaced over [ridgeLow, ridgeHigh].
    public var ridgeLow: Double = 1e-4
    public var ridgeHigh: Double = 1e3
    public var ridgePoints: Int = 36
    /// Evaluate on another prompt distribution than training (covariate, task or covariance shift);
    /// nil: the training task. Its dimension must match.
    public var task: LinearRegressionTask? = nil

    public init(prompts: Int = 1000, seed: UInt64 = 12345, gradientDescentSteps: Int? = nil, newtonSteps: Int = 8,
                ridgeLow: Double = 1e-4, ridgeHigh: Double = 1e3, ridgePoints: Int = 36, task: LinearRegressionTask? = nil) {
        self.prompts = prompts
        self.seed = seed
        self.gradientDescentSteps = gradientDescentSteps
        self.newtonSteps = newtonSteps
        self.ridgeLow = ridgeLow
        self.ridgeHigh = ridgeHigh
        self.ridgePoints = ridgePoints
        self.task = task
    }

    public func validate() throws {
        guard prompts >= 2 else { throw TaskError("evaluation: needs at least 2 prompts, got \(prompts)") }
        guard newtonSteps >= 0, (gradientDescentSteps ?? 1) >= 1 else { throw TaskError("evaluation: step counts must be positive") }
        guard ridgeLow > 0, ridgeHigh > ridgeLow, ridgePoints >= 2 else {
            throw TaskError("evaluation: ridge path needs 0 < low < high and ≥ 2 points")
        }
        try task?.validate()
    }
}

/// Everything a comparison run needs; its JSON alone reproduces the run.
public struct ComparisonConfig: Codable, Equatable, Sendable {
    public var name: String
    /// A sentence on what the preset reproduces.
    public var summary: String = ""
    public var task: LinearRegressionTask
    public var model: ModelSpec
    public var training: TrainingConfig
    /// Seed of the model's initialization.
    public var modelSeed: UInt64 = 0
    public var evaluation: EvaluationConfig = EvaluationConfig()

    public init(name: String, summary: String = "", task: LinearRegressionTask, model: ModelSpec, training: TrainingConfig,
                modelSeed: UInt64 = 0, evaluation: EvaluationConfig = EvaluationConfig()) {
        self.name = name
        self.summary = summary
        self.task = task
        self.model = model
        self.training = training
        self.modelSeed = modelSeed
        self.evaluation = evaluation
    }

    public func validate() throws {
        try task.validate()
        try model.validate()
        try training.validate()
        try evaluation.validate()
        guard task.points >= 2 else { throw TaskError("task: prompts need at least 2 points (a context and a query)") }
        if let shifted = evaluation.task, shifted.dimension != task.dimension || shifted.points < 2 {
            throw TaskError("evaluation: the evaluation task has D = \(shifted.dimension), N = \(shifted.points); the model needs D = \(task.dimension) and N ≥ 2")
        }
    }

    public func jsonData() -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try! enc.encode(self)
    }

    public static func load(from url: URL) throws -> ComparisonConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw TaskError("\(url.path): cannot read config (\(error.localizedDescription))") }
        do { return try JSONDecoder().decode(ComparisonConfig.self, from: data) } catch {
            throw TaskError("\(url.path): not a valid comparison config (\(error))")
        }
    }
}
