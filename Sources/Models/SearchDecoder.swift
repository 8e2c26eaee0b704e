import NumericCore
import Tasks
import _Differentiation

/// Saparov et al.'s (2025) search model: a GPT-style decoder over edge-list tokens (`GraphSearchTask`) whose
/// read-out is a distribution over the V vertices — the next vertex on a path to the goal.
///
/// Forward pass for tokens `x_1 … x_T` (ids in 0..<V + 3) of a prompt of length n ≤ T:
/// `h⁰_i = E[x_i] + P[i]` (token embedding `E [V + 3, W]`, learned positions `P [maxTokens, W]`),
/// `hˡ = blockₗ(hˡ⁻¹)` for l = 1…L (pre-LN `GPTBlock`s under the causal mask),
/// `zˡ = LN_f(hˡ_n) W_out + b_out ∈ ℝ^V`, the logits read at the prompt's last real token after every block
/// (the last block's are the model's answer; the earlier ones are its own read-out used as a probe).
/// Prompts are right-padded (`EdgeListTokens`): under the causal mask no real token attends the padding after
/// it, so padding needs no mask of its own and no position shift.
///
/// Loss (`loss`): the set cross-entropy `−log Σ_{v ∈ U} softmax(z)_v` against the useful children U of the
/// path's end ("any useful child counts"), the negative log-probability that a vertex sampled from the model
/// is a right move; one correct child is this with |U| = 1. Accuracy: `argmax_v z_v ∈ U`.
public struct SearchDecoder: ParameterWalkable {
    public var tokenEmbedding: Tensor
    public var positional: Tensor
    /// The L blocks, the final LayerNorm and the read-out `[W → V]`.
    public var trunk: BlockStack
    @noDerivative public let vertices: Int

    public var parameterPaths: [ParameterPath<SearchDecoder>] {
        typealias P = ParameterPath<SearchDecoder>
        return [P("tokenEmbedding", \SearchDecoder.tokenEmbedding, \SearchDecoder.TangentVector.tokenEmbedding),
                P("positional", \SearchDecoder.positional, \SearchDecoder.TangentVector.positional)]
            + P.block("trunk", \SearchDecoder.trunk, \SearchDecoder.TangentVector.trunk, of: self)
    }

    /// GPT-2 initialization N(0, std²) for V vertices and prompts of up to `maxTokens` tokens.
    public init(vertices: Int, maxTokens: Int, width: Int, layers: Int, heads: Int, std: Double = 0.02,
                using rng: inout some RandomNumberGenerator) {
        precondition(vertices >= 2 && maxTokens >= 1 && layers >= 1, "SearchDecoder: needs V ≥ 2, maxTokens ≥ 1, layers ≥ 1")
        tokenEmbedding = Tensor.randomNormal([vertices + 3, width], standardDeviation: std, using: &rng)
        positional = Tensor.randomNormal([maxTokens, width], standardDeviation: std, using: &rng)
        trunk = BlockStack(width: width, layers: layers, heads: heads, outputs: vertices, std: std, using: &rng)
        self.vertices = vertices
    }

    public var depth: Int { trunk.blocks.count }
    public var width: Int { tokenEmbedding.shape[1] }
    public var maxTokens: Int { positional.shape[0] }
    public var name: String {
        "search decoder (\(depth) layer\(depth == 1 ? "" : "s"), width \(width), \(trunk.heads) heads)"
    }

    /// Checks tokens against the vocabulary and the learned positions, and the targets; throws naming the problem.
    public func checked(_ batch: SearchBatch) throws -> EdgeListTokens {
        let x = try EdgeListTokens(batch.tokens, vocabulary: vertices + 3)
        guard x.length <= maxTokens else {
            throw TaskError("search decoder: prompts of \(x.length) tokens, but the model learned \(maxTokens) positions")
        }
        try batch.validateTargets(vertices: vertices)
        return x
    }

    /// The logits `[B, V]` at each prompt's last token after every block (or only the last).
    @differentiable(reverse, wrt: self)
    public func logits(_ x: EdgeListTokens, everyLayer: Bool = true) -> [Tensor] {
        let (b, t, w, v) = withoutDerivative(at: (x.batchSize, x.length, width, vertices))
        precondition(t <= withoutDerivative(at: maxTokens), "SearchDecoder: \(t) tokens, \(maxTokens) positions")
        let h = tokenEmbedding.reshaped(to: [1, v + 3, w]).gatheringRows(x.ids).reshaped(to: [b, t, w])
            + positional.slice(alongAxis: 0, 0..<t)
        return trunk.readouts(h, mask: withoutDerivative(at: TokenLayout.causalMask(t)), rows: withoutDerivative(at: x.lastRows),
                              everyLayer: everyLayer)
    }

    /// The set cross-entropy of the last block's logits against the multi-hot targets `[B, V]`.
    @differentiable(reverse, wrt: self)
    public func loss(_ x: EdgeListTokens, targets: Tensor) -> Tensor {
        setCrossEntropy(logits: logits(x, everyLayer: false)[0], targets: targets)
    }
}

/// The decoder's next vertex for each prompt: `argmax_v logits[b, v]` of `logits [B, V]`, the first on ties.
public func searchAnswers(logits: Tensor) -> [Int] {
    precondition(logits.rank == 2, "searchAnswers: logits must be [B, V], got \(logits.shape)")
    let v = logits.shape[1]
    return (0..<logits.shape[0]).map { p in
        (0..<v).max { logits.scalars[p * v + $0] < logits.scalars[p * v + $1] || (logits.scalars[p * v + $0] == logits.scalars[p * v + $1] && $0 > $1) }!
    }
}

/// Which predictions are right: the answer (`searchAnswers`) is one of prompt b's targets `[B, V]`.
public func searchHits(logits: Tensor, targets: Tensor) -> [Bool] {
    precondition(logits.shape == targets.shape, "searchHits: logits \(logits.shape), targets \(targets.shape)")
    let v = logits.shape[1]
    return searchAnswers(logits: logits).enumerated().map { targets.scalars[$0.offset * v + $0.element] != 0 }
}
