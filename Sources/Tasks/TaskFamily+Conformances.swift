import NumericCore

// The families that are prompt distributions already: each says its name, target kind and layouts.

extension LinearRegressionTask: TaskFamily {
    public static let familyName = "linear"
    public var labelsAreLinearInWeights: Bool { true }
    public var targetKind: TargetKind { .real }
    public var layouts: [TokenLayout] { [.concatenated, .paired, .interleaved] }
    public var inputDimension: Int { dimension }
    public var pointCount: Int { points }
    public func samplePrompts(batch: Int, using rng: inout Xoshiro256) -> PromptBatch { sample(batch: batch, using: &rng) }
}

extension BooleanTask: TaskFamily {
    public static let familyName = "boolean"
    /// Labels are ±1: a model is trained with the logistic loss and compared by agreement of signs.
    public var targetKind: TargetKind { .sign }
    public var layouts: [TokenLayout] { [.concatenated, .paired, .interleaved] }
    public var inputDimension: Int { variables }
    public var pointCount: Int { points }
    public func samplePrompts(batch: Int, using rng: inout Xoshiro256) -> PromptBatch { sample(batch: batch, using: &rng) }
}

extension FourierTask: TaskFamily {
    public static let familyName = "fourier"
    public var targetKind: TargetKind { .real }
    public var layouts: [TokenLayout] { [.concatenated, .paired, .interleaved] }
    /// x is a scalar in [−L, L].
    public var inputDimension: Int { 1 }
    public var pointCount: Int { points }
    public func samplePrompts(batch: Int, using rng: inout Xoshiro256) -> PromptBatch { sample(batch: batch, using: &rng).prompts }
}
