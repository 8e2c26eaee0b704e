import NumericCore

/// Gaussian-mixture regression (Panwar et al. 2024): `w ~ Σᵢ αᵢ 𝒩(μᵢ, τ² I)`, `x ~ N(0, I)`,
/// `y = wᵀx + ε`, `ε ~ N(0, σ²)`. Its exact Bayes predictor (`GaussianMixtureBayes`) mixes the components'
/// conjugate posterior means by their evidence. The default is their symmetric two-component mixture
/// `½ 𝒩(+μ, τ²I) + ½ 𝒩(−μ, τ²I)` with `μ = 3·e₁`.
public struct GaussianMixtureTask: Codable, Equatable, Sendable {
    /// Input dimension D.
    public var dimension: Int
    /// Points per prompt N.
    public var points: Int
    /// Component means μᵢ, each of length D.
    public var means: [[Double]]
    /// Mixing weights αᵢ (sum to 1).
    public var mixing: [Double]
    /// Within-component standard deviation τ of w.
    public var scale: Double
    /// Label noise σ (the Bayes predictor needs σ > 0; a noiseless task is evaluated with σ = 1e-3).
    public var noise: Double

    public init(dimension: Int, points: Int, means: [[Double]]? = nil, mixing: [Double]? = nil,
                scale: Double = 1, noise: Double = 0.1) {
        self.dimension = dimension
        self.points = points
        let mu = (0..<dimension).map { $0 == 0 ? 3.0 : 0.0 }
        self.means = means ?? [mu, mu.map { -$0 }]
        self.mixing = mixing ?? Array(repeating: 1 / Double(self.means.count), count: self.means.count)
        self.scale = scale
        self.noise = noise
    }

    /// The same prompts as a linear-regression task with mixture weights (one sampler for both).
    public var regression: LinearRegressionTask {
        LinearRegressionTask(dimension: dimension, points: points,
                             weights: .mixture(means: means, mixing: mixing, scale: scale), noise: noise)
    }

    public func validate() throws {
        guard dimension >= 1 else { throw TaskError("gaussian mixture: dimension must be ≥ 1, got \(dimension)") }
        guard points >= 1 else { throw TaskError("gaussian mixture: points must be ≥ 1, got \(points)") }
        guard !means.isEmpty, means.count == mixing.count else {
            throw TaskError("gaussian mixture: needs one mixing weight per mean (\(means.count) means, \(mixing.count) weights)")
        }
        try regression.validate()
    }
}

extension GaussianMixtureTask: TaskFamily {
    public static let familyName = "gmm"
    public var labelsAreLinearInWeights: Bool { true }
    public var targetKind: TargetKind { .real }
    public var layouts: [TokenLayout] { [.concatenated, .paired, .interleaved] }
    public var inputDimension: Int { dimension }
    public var pointCount: Int { points }
    public func samplePrompts(batch: Int, using rng: inout Xoshiro256) -> PromptBatch {
        regression.sample(batch: batch, using: &rng)
    }
}
