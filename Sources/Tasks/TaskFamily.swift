import Foundation
import NumericCore
import _Differentiation

/// What a family's targets are, and so which loss trains a model and which metrics compare it.
public enum TargetKind: String, Codable, Sendable, CaseIterable {
    /// A real number: loss and error are the squared error `(ŷ − y)²`; learners are compared by SPD.
    case real
    /// A label in {−1, +1}: the loss is logistic, `log(1 + exp(−y ŷ))`; the error is the 0–1 error of
    /// `sign(ŷ)` (a prediction of exactly 0 counts as wrong); learners are compared by disagreement rate.
    case sign
    /// A vertex of a graph: the read-out is a distribution over vertices, trained by cross-entropy.
    case vertex
}

/// How a prompt becomes a model's input tokens. A family lists the layouts it can produce; a model the ones
/// it can read.
public enum TokenLayout: String, Codable, Sendable, CaseIterable {
    /// von Oswald et al.: one token `(x_i, y_i)` per point, `E = D + 1`, the query's y-entry 0.
    case concatenated
    /// One token `[x_j, y_j, 0]` per context point and one `[x_i, 0, 1]` per prediction (softmax models).
    case paired
    /// Garg et al.: x and y as separate tokens, prediction read at the x tokens.
    case interleaved
    /// Graph connectivity: one token per vertex, `(one-hot(v), adjacency row v, 0)`, then the query
    /// `(one-hot(s), one-hot(t), 0)`: the concatenated layout of a prompt whose points are adjacency rows.
    case adjacencyRows
    /// Graph search: the edge list as tokens (Saparov et al.).
    case edgeList
}

/// A task family: a distribution over prompts of `(x, y)` points, the kind of its targets, and the token
/// layouts it supports. The family owns loss and metric (through `targetKind`); a model only returns
/// read-outs. Conformers: `LinearRegressionTask`, `BooleanTask`, `FourierTask`, `GaussianMixtureTask`,
/// `GraphConnectivityTask` (see `TaskConfig` for the one switch over them).
public protocol TaskFamily: Codable, Equatable, Sendable {
    /// The family's name in configs and on the command line (`"linear"`, `"boolean"`, …).
    static var familyName: String { get }
    var targetKind: TargetKind { get }
    /// The layouts this family's prompts can be given in.
    var layouts: [TokenLayout] { get }
    /// Width D of every point's x.
    var inputDimension: Int { get }
    /// Points N per prompt (context and query).
    var pointCount: Int { get }
    /// Whether every point's label is a prediction target (regression, Boolean functions), so a model can be
    /// trained and evaluated at every prefix; false when only the last point is a question (graphs).
    var everyPointIsTarget: Bool { get }
    /// Whether labels are `wᵀx` (plus noise) with the prompts' `ws`, so coordinates can be switched off with the
    /// labels kept consistent (Garg et al.'s dimension curriculum).
    var labelsAreLinearInWeights: Bool { get }
    /// Checks the configuration, naming every problem in one sentence.
    func validate() throws
    /// Draws `batch` prompts `xs [B, N, D]`, `ys [B, N]`; same generator state, same bits.
    func samplePrompts(batch: Int, using rng: inout Xoshiro256) -> PromptBatch
}

extension TaskFamily {
    public var everyPointIsTarget: Bool { true }
    public var labelsAreLinearInWeights: Bool { false }
}

/// Per-element error of predictions `[…]` against targets of a kind: squared error for real targets, 0–1
/// error of the sign for ±1 targets (0 counts as wrong).
extension TargetKind {
    public func error(_ predicted: Double, _ target: Double) -> Double {
        switch self {
        case .real: return (predicted - target) * (predicted - target)
        case .sign, .vertex: return (predicted > 0 ? 1.0 : predicted < 0 ? -1.0 : 0.0) == target ? 0 : 1
        }
    }

    /// The name of the error in tables: "MSE" or "error rate".
    public var errorName: String { self == .real ? "MSE" : "error rate" }
}

/// What the loss is averaged over.
public enum TrainingObjective: String, Codable, Sendable, CaseIterable {
    /// The last point of each prompt only (von Oswald et al.): one forward pass per batch.
    case query
    /// Every prefix: point k predicted from points 0..<k, for k = 1…N−1, averaged (Garg et al.). A row model
    /// makes one forward pass per prefix length.
    case everyPrefix
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
