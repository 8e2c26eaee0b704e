import Foundation
import Models
import NumericCore
import Tasks
import Training

/// Which model an experiment trains: `{"kind": "lsa", "layers": 4, "heads": 2, …}`. A key left out takes
/// its default; a key that does not apply to the kind is an error (`validate`).
public struct ModelSpec: Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A `Stack` of `layers` distinct LSA layers.
        case lsa
        /// One LSA layer, `Looped` `depth` times with shared weights.
        case looped
        /// Ahn/Gatmiry's restricted looped LSA (one trainable matrix A), applied `depth` times.
        case restricted
        /// A GPT-style softmax transformer on the paired layout: `layers` pre-LN blocks of `width`, `heads` heads.
        case transformer
        /// Yang et al.'s looped transformer: one block looped `depth` times with input injection.
        case loopedTransformer
        /// AlgoFormer: `preLayers` blocks, one block looped `depth` times, `postLayers` blocks.
        case algoFormer
        /// A transformer encoder over adjacency-row tokens (graph connectivity): `layers` blocks of `width`, `heads`
        /// heads, bidirectional attention over the graph, logistic read-out at the question (`GraphEncoder`).
        case graphEncoder
        /// Saparov et al.'s search decoder over edge-list tokens (graph search): `layers` causal blocks, read-out
        /// over the vertices (`SearchDecoder`).
        case searchDecoder
    }
    public var kind: Kind = .lsa
    /// Distinct layers (for `.lsa`).
    public var layers: Int = 1
    /// Loop iterations in training (for `.looped` / `.restricted`).
    public var depth: Int = 1
    /// Loop iterations at evaluation (nil: as in training). May exceed training depth.
    public var evaluationDepth: Int? = nil
    public var heads: Int = 1
    /// Standard deviation of the N(0, std²) initialization (the restricted model starts from std·N(0, 1) too;
    /// 0 starts it at A = 0).
    public var initStd: Double = 0.02
    /// Clip token entries to ±this after every layer (nil: no clamping).
    public var tokenClamp: Double? = nil
    /// Restricted model only: constrain the preconditioner A to be symmetric.
    public var symmetricPreconditioner: Bool? = nil
    /// Looped model only: feed the prompt back in before every iteration (Yang et al.); nil: `.none`.
    public var injection: InputInjection? = nil
    /// Transformers: the residual width W (nil: 64).
    public var width: Int? = nil
    /// Looped models (LSA or transformer): backpropagate through the last `window` iterations only (nil: all).
    public var window: Int? = nil
    /// Transformer only: `paired` (nil: the default) or `interleaved` (Garg et al.'s x, y tokens).
    public var layoutName: TokenLayout? = nil
    /// AlgoFormer: blocks before and after the loop (nil: 1 each).
    public var preLayers: Int? = nil
    public var postLayers: Int? = nil

    public init(kind: Kind = .lsa, layers: Int = 1, depth: Int = 1, evaluationDepth: Int? = nil, heads: Int = 1,
                initStd: Double = 0.02, tokenClamp: Double? = nil, symmetricPreconditioner: Bool? = nil,
                injection: InputInjection? = nil, width: Int? = nil, window: Int? = nil, preLayers: Int? = nil,
                postLayers: Int? = nil) {
        self.kind = kind
        self.layers = layers
        self.depth = depth
        self.evaluationDepth = evaluationDepth
        self.heads = heads
        self.initStd = initStd
        self.tokenClamp = tokenClamp
        self.symmetricPreconditioner = symmetricPreconditioner
        self.injection = injection
        self.width = width
        self.window = window
        self.preLayers = preLayers
        self.postLayers = postLayers
    }

    /// Whether the model is one of the softmax transformers (width, GPT blocks).
    public var isTransformer: Bool {
        kind == .transformer || kind == .loopedTransformer || kind == .algoFormer || kind == .graphEncoder || kind == .searchDecoder
    }

    /// Whether the model is a stack of distinct layers (`layers`), not a loop (`depth`).
    public var isStack: Bool { kind == .lsa || kind == .transformer || kind == .graphEncoder || kind == .searchDecoder }

    /// Layer applications in training: layers for a stack, loop iterations for looped models.
    public var trainingDepth: Int { isStack ? layers : depth }
    /// Layer applications at evaluation.
    public var testDepth: Int { evaluationDepth ?? trainingDepth }

    public func validate() throws {
        guard layers >= 1, depth >= 1, heads >= 1 else {
            throw TaskError("model: layers, depth and heads must be ≥ 1 (got \(layers), \(depth), \(heads))")
        }
        if let e = evaluationDepth, e < 1 { throw TaskError("model: evaluation depth must be ≥ 1, got \(e)") }
        if kind == .restricted && heads != 1 { throw TaskError("model: the restricted looped LSA has exactly one head") }
        if isStack && evaluationDepth != nil && evaluationDepth != layers {
            throw TaskError("model: a stack of distinct layers cannot run at another depth; use kind looped")
        }
        if isStack && depth != 1 {
            throw TaskError("model: 'depth' is for looped models; a stack has 'layers'")
        }
        if !isStack && layers != 1 { throw TaskError("model: 'layers' is for kind lsa; a \(kind) model has 'depth' (loop iterations)") }
        if kind != .restricted && symmetricPreconditioner != nil {
            throw TaskError("model: 'symmetricPreconditioner' applies to kind restricted only")
        }
        if kind != .looped && injection != nil { throw TaskError("model: 'injection' applies to kind looped only") }
        if (kind == .restricted || isTransformer) && tokenClamp != nil {
            throw TaskError("model: 'tokenClamp' does not apply to kind \(kind)")
        }
        if !isTransformer && width != nil { throw TaskError("model: 'width' applies to the transformer kinds only") }
        if kind != .looped && kind != .loopedTransformer && kind != .algoFormer && window != nil {
            throw TaskError("model: 'window' applies to kinds looped, loopedTransformer and algoFormer only")
        }
        if kind != .algoFormer && (preLayers != nil || postLayers != nil) {
            throw TaskError("model: 'preLayers' and 'postLayers' apply to kind algoFormer only")
        }
        if let w = window, w < 1 { throw TaskError("model: window must be ≥ 1, got \(w)") }
        if let l = layoutName {
            guard kind == .transformer, l == .paired || l == .interleaved else {
                throw TaskError("model: 'layout' applies to kind transformer, as paired or interleaved (got \(l.rawValue) for \(kind))")
            }
        }
        if (preLayers ?? 1) < 0 || (postLayers ?? 1) < 0 { throw TaskError("model: preLayers and postLayers must be ≥ 0") }
        if isTransformer {
            let w = width ?? 64
            guard w >= 1, w % heads == 0 else { throw TaskError("model: width \(w) must be a positive multiple of heads = \(heads)") }
        }
        guard initStd >= 0, initStd.isFinite else { throw TaskError("model: initStd must be ≥ 0, got \(initStd)") }
    }

    /// A freshly initialized model for tokens of `dimension` inputs, from `seed`.
    public func makeModel(dimension d: Int, points: Int = 0, seed: UInt64) -> any ICLModel {
        var rng = Xoshiro256(seed: seed)
        switch kind {
        case .lsa:
            // All W_KQ first, then all W_PV (the draw order of the stacked form, so seeds keep their models).
            let e = d + 1
            let kq = Tensor.randomNormal([layers * heads, e, e], standardDeviation: initStd, using: &rng)
            let pv = Tensor.randomNormal([layers * heads, e, e], standardDeviation: initStd, using: &rng)
            let blocks = (0..<layers).map { l in
                LSALayer(wKQ: kq.slice(alongAxis: 0, (l * heads)..<((l + 1) * heads)),
                         wPV: pv.slice(alongAxis: 0, (l * heads)..<((l + 1) * heads)), tokenClamp: tokenClamp)
            }
            return Stack(layers: blocks, title: "LSA (\(layers) layer\(layers == 1 ? "" : "s"), \(heads) head\(heads == 1 ? "" : "s"))")
        case .looped:
            return Looped(body: LSALayer(dimension: d, heads: heads, initStd: initStd, tokenClamp: tokenClamp, using: &rng),
                          depth: depth, injection: injection ?? .none, title: "looped LSA", window: window)
        case .restricted:
            return RestrictedLoopedLSA(a: Tensor.randomNormal([d, d], standardDeviation: initStd, using: &rng),
                                       depth: depth, symmetric: symmetricPreconditioner ?? false)
        case .transformer:
            return GPT(dimension: d, width: width ?? 64, layers: layers, heads: heads, std: initStd,
                       layout: layoutName ?? .paired, points: points, using: &rng)
        case .loopedTransformer, .algoFormer:
            let algo = kind == .algoFormer
            return LoopedTransformer(dimension: d, width: width ?? 64, heads: heads, depth: depth,
                                     preBlocks: algo ? preLayers ?? 1 : 0, postBlocks: algo ? postLayers ?? 1 : 0,
                                     window: window, std: initStd, using: &rng)
        case .graphEncoder:
            return GraphEncoder(dimension: d, width: width ?? 64, layers: layers, heads: heads, std: initStd, using: &rng)
        case .searchDecoder:
            preconditionFailure("ModelSpec: the search decoder is not an ICLModel; use makeSearchDecoder")
        }
    }

    /// A freshly initialized search decoder for V vertices with positions for prompts of up to `maxTokens`.
    public func makeSearchDecoder(vertices: Int, maxTokens: Int, seed: UInt64) -> SearchDecoder {
        var rng = Xoshiro256(seed: seed)
        return SearchDecoder(vertices: vertices, maxTokens: maxTokens, width: width ?? 64, layers: layers, heads: heads,
                             std: initStd, using: &rng)
    }

    /// The token layout the model reads.
    public var layout: TokenLayout {
        switch kind {
        case .graphEncoder: return .adjacencyRows
        case .searchDecoder: return .edgeList
        default: return isTransformer ? (layoutName ?? .paired) : .concatenated
        }
    }
}

extension ModelSpec: Codable {
    enum CodingKeys: String, CodingKey {
        case kind, layers, depth, evaluationDepth, heads, initStd, tokenClamp, symmetricPreconditioner, injection, width
        case window, preLayers, postLayers
        case layoutName = "layout"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ModelSpec()
        kind = try c.decodeIfPresent(Kind.self, forKey: .kind) ?? d.kind
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? d.layers
        depth = try c.decodeIfPresent(Int.self, forKey: .depth) ?? d.depth
        evaluationDepth = try c.decodeIfPresent(Int.self, forKey: .evaluationDepth)
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? d.heads
        initStd = try c.decodeIfPresent(Double.self, forKey: .initStd) ?? d.initStd
        tokenClamp = try c.decodeIfPresent(Double.self, forKey: .tokenClamp)
        symmetricPreconditioner = try c.decodeIfPresent(Bool.self, forKey: .symmetricPreconditioner)
        injection = try c.decodeIfPresent(InputInjection.self, forKey: .injection)
        width = try c.decodeIfPresent(Int.self, forKey: .width)
        window = try c.decodeIfPresent(Int.self, forKey: .window)
        preLayers = try c.decodeIfPresent(Int.self, forKey: .preLayers)
        postLayers = try c.decodeIfPresent(Int.self, forKey: .postLayers)
        layoutName = try c.decodeIfPresent(TokenLayout.self, forKey: .layoutName)
    }
}

/// What the comparison evaluates against, and on how many prompts. A key left out takes its default.
public struct EvaluationConfig: Equatable, Sendable {
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
    /// nil: the training task. Same family and dimension as the training task.
    public var task: TaskConfig? = nil
    /// A reference "matches" a layer when its distance to the model (SPD, or the disagreement rate) is at most
    /// this fraction of the model's own error (MSE, or error rate); otherwise the verdict is "none".
    public var matchThreshold: Double = 0.25
    /// Two references within this relative margin of each other are reported as a tie.
    public var tieMargin: Double = 0.05

    public init(prompts: Int = 1000, seed: UInt64 = 12345, gradientDescentSteps: Int? = nil, newtonSteps: Int = 8,
                ridgeLow: Double = 1e-4, ridgeHigh: Double = 1e3, ridgePoints: Int = 36, task: TaskConfig? = nil,
                matchThreshold: Double = 0.25, tieMargin: Double = 0.05) {
        self.prompts = prompts
        self.seed = seed
        self.gradientDescentSteps = gradientDescentSteps
        self.newtonSteps = newtonSteps
        self.ridgeLow = ridgeLow
        self.ridgeHigh = ridgeHigh
        self.ridgePoints = ridgePoints
        self.task = task
        self.matchThreshold = matchThreshold
        self.tieMargin = tieMargin
    }

    public func validate() throws {
        guard prompts >= 2 else { throw TaskError("evaluation: needs at least 2 prompts, got \(prompts)") }
        guard newtonSteps >= 0, (gradientDescentSteps ?? 1) >= 1 else { throw TaskError("evaluation: step counts must be positive") }
        guard ridgeLow > 0, ridgeHigh > ridgeLow, ridgePoints >= 2 else {
            throw TaskError("evaluation: ridge path needs 0 < low < high and ≥ 2 points")
        }
        guard matchThreshold > 0, tieMargin >= 0 else {
            throw TaskError("evaluation: matchThreshold must be > 0 and tieMargin ≥ 0 (got \(matchThreshold), \(tieMargin))")
        }
        try task?.validate()
    }
}

extension EvaluationConfig: Codable {
    enum CodingKeys: String, CodingKey {
        case prompts, seed, gradientDescentSteps, newtonSteps, ridgeLow, ridgeHigh, ridgePoints, task, matchThreshold, tieMargin
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = EvaluationConfig()
        prompts = try c.decodeIfPresent(Int.self, forKey: .prompts) ?? d.prompts
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        gradientDescentSteps = try c.decodeIfPresent(Int.self, forKey: .gradientDescentSteps)
        newtonSteps = try c.decodeIfPresent(Int.self, forKey: .newtonSteps) ?? d.newtonSteps
        ridgeLow = try c.decodeIfPresent(Double.self, forKey: .ridgeLow) ?? d.ridgeLow
        ridgeHigh = try c.decodeIfPresent(Double.self, forKey: .ridgeHigh) ?? d.ridgeHigh
        ridgePoints = try c.decodeIfPresent(Int.self, forKey: .ridgePoints) ?? d.ridgePoints
        task = try c.decodeIfPresent(TaskConfig.self, forKey: .task)
        matchThreshold = try c.decodeIfPresent(Double.self, forKey: .matchThreshold) ?? d.matchThreshold
        tieMargin = try c.decodeIfPresent(Double.self, forKey: .tieMargin) ?? d.tieMargin
    }
}

/// Everything an experiment needs — `{task: {family: …}, model: {kind: …}, training, evaluation}` — its JSON
/// alone reproduces the run. Loading is strict: a key the config does not read is an error naming it.
public struct ExperimentConfig: Codable, Equatable, Sendable {
    public var name: String
    /// A sentence on what the preset reproduces.
    public var summary: String = ""
    public var task: TaskConfig
    public var model: ModelSpec
    public var training: TrainingConfig
    /// Seed of the model's initialization.
    public var modelSeed: UInt64 = 0
    public var evaluation: EvaluationConfig = EvaluationConfig()

    public init(name: String, summary: String = "", task: TaskConfig, model: ModelSpec, training: TrainingConfig,
                modelSeed: UInt64 = 0, evaluation: EvaluationConfig = EvaluationConfig()) {
        self.name = name
        self.summary = summary
        self.task = task
        self.model = model
        self.training = training
        self.modelSeed = modelSeed
        self.evaluation = evaluation
    }

    /// A linear-regression experiment (the shape of every config before task families).
    public init(name: String, summary: String = "", task: LinearRegressionTask, model: ModelSpec, training: TrainingConfig,
                modelSeed: UInt64 = 0, evaluation: EvaluationConfig = EvaluationConfig()) {
        self.init(name: name, summary: summary, task: .linearRegression(task), model: model, training: training,
                  modelSeed: modelSeed, evaluation: evaluation)
    }

    enum CodingKeys: String, CodingKey { case name, summary, task, model, training, modelSeed, evaluation }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "experiment"
        summary = try c.decodeIfPresent(String.self, forKey: .summary) ?? ""
        task = try c.decode(TaskConfig.self, forKey: .task)
        model = try c.decodeIfPresent(ModelSpec.self, forKey: .model) ?? ModelSpec()
        training = try c.decodeIfPresent(TrainingConfig.self, forKey: .training) ?? TrainingConfig()
        modelSeed = try c.decodeIfPresent(UInt64.self, forKey: .modelSeed) ?? 0
        evaluation = try c.decodeIfPresent(EvaluationConfig.self, forKey: .evaluation) ?? EvaluationConfig()
    }

    /// The task the model is evaluated on (the training task unless `evaluation.task` shifts it).
    public var evaluationTask: TaskConfig { evaluation.task ?? task }

    public func validate() throws {
        try task.validate()
        try model.validate()
        try training.validate()
        try evaluation.validate()
        let family = task.family
        guard family.pointCount >= 2 else { throw TaskError("task: prompts need at least 2 points (a context and a query)") }
        let layout = model.layout
        guard family.layouts.contains(layout) || (layout.isRows && family.layouts.contains(where: \.isRows)) else {
            throw TaskError("model: the \(model.kind) model reads \(layout.rawValue) tokens; the \(task.familyName) family gives \(family.layouts.map(\.rawValue).joined(separator: ", "))")
        }
        if let shifted = evaluation.task {
            guard shifted.familyName == task.familyName, shifted.family.inputDimension == family.inputDimension,
                  shifted.family.pointCount >= 2 else {
                throw TaskError("evaluation: the evaluation task (\(shifted.familyName), D = \(shifted.family.inputDimension), N = \(shifted.family.pointCount)) must be the training family (\(task.familyName)) with D = \(family.inputDimension) and N ≥ 2")
            }
        }
        if model.layoutName == .interleaved, let shifted = evaluation.task, shifted.family.pointCount > family.pointCount {
            throw TaskError("evaluation: the interleaved transformer learned positions for \(family.pointCount) points; the evaluation task has \(shifted.family.pointCount)")
        }
        if training.objective == .everyPrefix && !family.everyPointIsTarget {
            throw TaskError("training: the \(task.familyName) family asks one question per prompt; objective must be \"query\"")
        }
        try validateResources()
    }

    public func jsonData() -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try! enc.encode(self)
    }

    public static func load(from url: URL) throws -> ExperimentConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw TaskError("\(url.path): cannot read config (\(FileErrors.cause(reading: url.path, error)))") }
        return try StrictJSON.decode(ExperimentConfig.self, from: data, source: url.path)
    }
}

/// The name configs had before task families.
public typealias ComparisonConfig = ExperimentConfig
