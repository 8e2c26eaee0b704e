import NumericCore
import Tasks
import _Differentiation

/// The trunk the graph transformers share: L pre-LN `GPTBlock`s, a final LayerNorm and a linear read-out
/// `[W → outputs]`, read at chosen token rows after every block (the model's own read-out as a per-layer probe).
/// What differs between the models is the embedding in front and the mask: causal for the search decoder,
/// bidirectional over the graph for the connectivity encoder.
public struct BlockStack: ParameterWalkable {
    public var blocks: [GPTBlock]
    public var finalNorm: LayerNorm
    public var readOut: Dense

    public var parameterPaths: [ParameterPath<BlockStack>] {
        ParameterPath.blocks("blocks", \BlockStack.blocks, \BlockStack.TangentVector.blocks, of: self)
            + ParameterPath.block("finalNorm", \BlockStack.finalNorm, \BlockStack.TangentVector.finalNorm, of: self)
            + ParameterPath.block("readOut", \BlockStack.readOut, \BlockStack.TangentVector.readOut, of: self)
    }

    /// GPT-2 initialization N(0, std²): the blocks in order, then the read-out.
    public init(width: Int, layers: Int, heads: Int, outputs: Int, std: Double, using rng: inout some RandomNumberGenerator) {
        precondition(layers >= 1, "BlockStack: needs at least one block")
        blocks = (0..<layers).map { _ in GPTBlock(width: width, heads: heads, std: std, using: &rng) }
        finalNorm = LayerNorm(width: width)
        readOut = Dense(inputs: width, outputs: outputs, std: std, using: &rng)
    }

    public var heads: Int { blocks[0].heads }

    /// `h [B, T, W]` through the blocks under `mask [T, T]`; after every block (or only the last) the read-out
    /// `LN_f(h_r) W_out + b_out` at the flat rows `rows` (row `p · T + i` is token i of prompt p):
    /// `[depth or 1]` of `[rows.count, outputs]`.
    @differentiable(reverse, wrt: (self, h))
    public func readouts(_ h: Tensor, mask: Tensor, rows: [Int], everyLayer: Bool) -> [Tensor] {
        let (b, t, w) = withoutDerivative(at: (h.shape[0], h.shape[1], h.shape[2]))
        let (count, outputs) = withoutDerivative(at: (blocks.count, readOut.weight.shape[1]))
        var x = h
        var out: [Tensor] = []
        for l in 0..<count {
            x = blocks[l](x, mask: mask)
            if everyLayer || l == count - 1 {
                out.append(readOut(finalNorm(x.reshaped(to: [1, b * t, w]).gatheringRows(rows))).reshaped(to: [rows.count, outputs]))
            }
        }
        return out
    }

    /// The residual stream after every block, `[depth]` of `[B, T, W]`.
    public func hiddenStates(_ h: Tensor, mask: Tensor) -> [Tensor] {
        var x = h
        return blocks.map { block in x = block(x, mask: mask); return x }
    }
}
