import NumericCore
import Tasks
import _Differentiation

/// One linear-self-attention layer on row tokens (von Oswald et al., REFERENCES §1), `H` heads:
///
///     z_j ← z_j + (1/n) Σ_h W_PV,h (Σ_{i ≤ n} z_i z_iᵀ) W_KQ,h z_j
///
/// every token updated from the `n` context tokens, no softmax; `W_KQ = W_Kᵀ W_Q`, `W_PV = P W_V` (only
/// these products matter). The fused kernel is `Tensor.linearSelfAttention`.
public struct LSALayer: ICLLayer {
    /// `W_KQ` of every head, `[H, E, E]`.
    public var wKQ: Tensor
    /// `W_PV` of every head, `[H, E, E]`.
    public var wPV: Tensor
    /// If set, token entries are clipped to ±this after the layer (stabilizes deep stacks).
    @noDerivative public var tokenClamp: Double?

    public var parameterPaths: [ParameterPath<LSALayer>] {
        [ParameterPath("wKQ", \.wKQ, \.wKQ), ParameterPath("wPV", \.wPV, \.wPV)]
    }

    public init(wKQ: Tensor, wPV: Tensor, tokenClamp: Double? = nil) {
        precondition(wKQ.rank == 3 && wKQ.shape == wPV.shape && wKQ.shape[1] == wKQ.shape[2],
                     "LSALayer: weights must be [H, E, E], got \(wKQ.shape) and \(wPV.shape)")
        self.wKQ = wKQ
        self.wPV = wPV
        self.tokenClamp = tokenClamp
    }

    /// `N(0, std²)` weights for tokens of width `E = D + 1` (von Oswald et al. use std = 0.02).
    public init(dimension d: Int, heads: Int, initStd: Double, tokenClamp: Double? = nil,
                using rng: inout some RandomNumberGenerator) {
        self.init(wKQ: Tensor.randomNormal([heads, d + 1, d + 1], standardDeviation: initStd, using: &rng),
                  wPV: Tensor.randomNormal([heads, d + 1, d + 1], standardDeviation: initStd, using: &rng),
                  tokenClamp: tokenClamp)
    }

    public var heads: Int { wKQ.shape[0] }

    @differentiable(reverse)
    public func callAsFunction(_ tokens: Tensor, contextSize n: Int, fromRow: Int) -> Tensor {
        let updated = Tensor.linearSelfAttention(tokens: tokens, wKQ: wKQ, wPV: wPV, contextSize: n, fromRow: fromRow)
        if let bound = tokenClamp { return updated.clamped(to: bound) }
        return updated
    }

    /// The lane-packed kernel reads and writes the lane layout directly.
    @differentiable(reverse)
    public func callAsFunction(lanes tokens: Tensor, count: Int, contextSize n: Int, fromRow: Int) -> Tensor {
        let updated = Tensor.linearSelfAttention(lanes: tokens, wKQ: wKQ, wPV: wPV, contextSize: n, fromRow: fromRow)
        if let bound = tokenClamp { return updated.clamped(to: bound) }
        return updated
    }
}
