import Foundation
import NumericCore
import Tasks
import _Differentiation

/// Linear self-attention on the von Oswald et al. token layout, as a stack of distinct layers or a looped
/// layer with shared weights, single- or multi-head. One forward pass returns the read-out after every
/// layer (or loop iteration).
///
/// Tokens are rows `z_j = (x_j, y_j) ∈ R^E`, `E = D + 1`: the `n` context points first, then the queries
/// with `y = 0`. Each layer updates **every** token from the **context** tokens only, with no softmax:
///
///     z_j ← z_j + (1/n) Σ_h W_PV,h (Σ_{i ≤ n} z_i z_iᵀ) W_KQ,h z_j          (column form, REFERENCES §1)
///
/// where `W_KQ = W_Kᵀ W_Q` and `W_PV = P W_V` (only these products matter: scaling one by s and the other
/// by 1/s changes nothing). The prediction is **minus** the y-entry of a query token.
public struct LinearSelfAttention: ParameterWalkable {
    /// `W_KQ` of every stored layer and head, `[L·H, E, E]` (layer-major).
    public var wKQ: Tensor
    /// `W_PV` of every stored layer and head, `[L·H, E, E]`.
    public var wPV: Tensor
    /// Distinct stored layers L (1 for a looped model).
    @noDerivative public let storedLayers: Int
    /// Heads H per layer.
    @noDerivative public let heads: Int
    /// How many layer applications a forward pass makes: L for a stack; any T ≥ 1 for a looped model
    /// (stored layer `t mod L` is applied at step t), and it may differ between training and testing.
    @noDerivative public var depth: Int
    /// If set, token entries are clipped to ±clamp after every layer (stabilizes deep stacks).
    @noDerivative public var tokenClamp: Double?

    public var parameterPaths: [ParameterPath<LinearSelfAttention>] {
        [ParameterPath("wKQ", \.wKQ, \.wKQ), ParameterPath("wPV", \.wPV, \.wPV)]
    }

    /// Token width E = D + 1.
    public var width: Int { wKQ.shape[2] }
    public var isLooped: Bool { storedLayers == 1 && depth > 1 }

    /// A model from explicit weights `[L·H, E, E]`.
    public init(wKQ: Tensor, wPV: Tensor, heads: Int = 1, depth: Int? = nil, tokenClamp: Double? = nil) {
        precondition(wKQ.rank == 3 && wKQ.shape == wPV.shape && wKQ.shape[1] == wKQ.shape[2],
                     "LinearSelfAttention: weights must be [L·H, E, E], got \(wKQ.shape) and \(wPV.shape)")
        precondition(heads >= 1 && wKQ.shape[0] % heads == 0, "LinearSelfAttention: \(wKQ.shape[0]) matrices for \(heads) heads")
        self.wKQ = wKQ
        self.wPV = wPV
        self.heads = heads
        self.storedLayers = wKQ.shape[0] / heads
        self.depth = depth ?? wKQ.shape[0] / heads
        self.tokenClamp = tokenClamp
        precondition(self.depth >= 1, "LinearSelfAttention: depth must be ≥ 1")
    }

    /// Random initialization `N(0, std²)` (von Oswald et al. and the peers use std = 0.02).
    public init(dimension d: Int, layers: Int, heads: Int = 1, looped: Bool = false, depth: Int? = nil,
                initStd: Double = 0.02, tokenClamp: Double? = nil, using rng: inout some RandomNumberGenerator) {
        let stored = looped ? 1 : layers
        let e = d + 1
        self.init(wKQ: Tensor.randomNormal([stored * heads, e, e], standardDeviation: initStd, using: &rng),
                  wPV: Tensor.randomNormal([stored * heads, e, e], standardDeviation: initStd, using: &rng),
                  heads: heads, depth: depth ?? layers, tokenClamp: tokenClamp)
    }

    /// The tokens `[B, N, E]` of prompts whose last point is the query (its y-entry 0): `TokenLayout.rows`.
    public static func tokens(_ prompts: PromptBatch) -> Tensor { TokenLayout.rows(prompts) }

    /// The tokens `[B, n + Q, E]` of a context and queries (query y-entries 0): `TokenLayout.rows`.
    public static func tokens(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Tensor {
        TokenLayout.rows(contextXs: contextXs, contextYs: contextYs, queries: queries)
    }

    /// The stored weights `[H, E, E]` applied at layer application `layer` (a looped model reuses them).
    @differentiable(reverse)
    func weights(atLayer layer: Int) -> (kq: Tensor, pv: Tensor) {
        let first = (layer % storedLayers) * heads
        return (wKQ.slice(alongAxis: 0, first..<(first + heads)), wPV.slice(alongAxis: 0, first..<(first + heads)))
    }

    /// Every token after every layer: `[depth]` of `[B, n + Q, E]` (used to inspect residuals and the
    /// constructions; `readouts` is the fast path when only predictions are needed).
    @differentiable(reverse)
    public func tokenTrajectory(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        var z = tokens
        var out: [Tensor] = []
        for layer in 0..<depth {
            let w = weights(atLayer: layer)
            z = Tensor.linearSelfAttention(tokens: z, wKQ: w.kq, wPV: w.pv, contextSize: n)
            if let bound = tokenClamp { z = z.clamped(to: bound) }
            out.append(z)
        }
        return out
    }

    /// Predictions at the query tokens after every layer, `[depth]` of `[B, Q]`, from one forward pass.
    /// The last layer updates only the query rows (nothing reads the context after it).
    @differentiable(reverse)
    @differentiable(reverse, wrt: self)
    public func readouts(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let (b, t) = withoutDerivative(at: (tokens.shape[0], tokens.shape[1]))
        let e = withoutDerivative(at: width)
        var z = tokens
        var out: [Tensor] = []
        for layer in 0..<depth {
            let w = weights(atLayer: layer)
            let last = layer == depth - 1
            var updated = Tensor.linearSelfAttention(tokens: z, wKQ: w.kq, wPV: w.pv, contextSize: n, fromRow: last ? n : 0)
            if let bound = tokenClamp { updated = updated.clamped(to: bound) }
            let queries = last ? updated : updated.slice(alongAxis: 1, n..<t)
            out.append(-queries.slice(alongAxis: 2, (e - 1)..<e).reshaped(to: [b, t - n]))
            if !last { z = updated }
        }
        return out
    }

    /// Query mean squared error after the last layer on prompts whose last point is the query:
    /// `mean((ŷ − y_q)²)` (multiply by ½ for von Oswald et al.'s reported loss).
    @differentiable(reverse)
    public func queryLoss(_ prompts: PromptBatch) -> Tensor {
        let n = withoutDerivative(at: prompts.pointCount - 1)
        let z = withoutDerivative(at: LinearSelfAttention.tokens(prompts))
        let target = withoutDerivative(at: prompts.ys.slice(alongAxis: 1, n..<(n + 1)))
        let r = readouts(z, contextSize: n)
        return meanSquaredError(predicted: r[withoutDerivative(at: depth - 1)], expected: target)
    }
}

extension LinearSelfAttention: InContextLearner {
    public var name: String {
        isLooped ? "looped LSA (T = \(depth))" : "LSA (\(storedLayers) layer\(storedLayers == 1 ? "" : "s"), \(heads) head\(heads == 1 ? "" : "s"))"
    }

    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        let z = LinearSelfAttention.tokens(contextXs: contextXs, contextYs: contextYs, queries: queries)
        let r = readouts(z, contextSize: contextXs.shape[1])
        return Trajectory(learner: name, stepLabels: (1...depth).map { "layer \($0)" },
                          stepValues: (1...depth).map(Double.init), predictions: r)
    }
}
