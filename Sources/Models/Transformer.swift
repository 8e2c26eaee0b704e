import Foundation
import NumericCore
import Tasks
import _Differentiation

/// An affine map `x W + b` on the last axis: `x [B, T, In]`, `weight [In, Out]`, `bias [Out]`.
public struct Dense: ParameterWalkable {
    public var weight: Tensor
    public var bias: Tensor

    public var parameterPaths: [ParameterPath<Dense>] {
        [ParameterPath("weight", \.weight, \.weight), ParameterPath("bias", \.bias, \.bias)]
    }

    /// GPT-2's initialization: weights N(0, std²), biases 0.
    public init(inputs: Int, outputs: Int, std: Double = 0.02, using rng: inout some RandomNumberGenerator) {
        weight = Tensor.randomNormal([inputs, outputs], standardDeviation: std, using: &rng)
        bias = Tensor(zeros: [outputs])
    }

    @differentiable(reverse)
    public func callAsFunction(_ x: Tensor) -> Tensor { matmul(x, weight).addingRowVector(bias) }
}

/// Layer normalization with a learned gain and bias (PyTorch's `LayerNorm`, ε = 1e-5).
public struct LayerNorm: ParameterWalkable {
    public var gain: Tensor
    public var bias: Tensor

    public var parameterPaths: [ParameterPath<LayerNorm>] {
        [ParameterPath("gain", \.gain, \.gain), ParameterPath("bias", \.bias, \.bias)]
    }

    public init(width: Int) {
        gain = Tensor(repeating: 1, shape: [width])
        bias = Tensor(zeros: [width])
    }

    @differentiable(reverse)
    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(gain: gain, bias: bias) }
}

/// A GPT-2 block (pre-LayerNorm): `h = x + W_O · MHA(LN₁(x))`, `out = h + MLP(LN₂(h))` with
/// `MLP(u) = W₂ GELU(W₁ u)` of width 4W, multi-head softmax attention under a mask (causal, or the
/// paired layout's).
public struct GPTBlock: ParameterWalkable {
    public var norm1: LayerNorm
    public var query: Dense
    public var key: Dense
    public var value: Dense
    public var projection: Dense
    public var norm2: LayerNorm
    public var expand: Dense
    public var contract: Dense
    @noDerivative public let heads: Int

    public var parameterPaths: [ParameterPath<GPTBlock>] {
        ParameterPath.block("norm1", \GPTBlock.norm1, \GPTBlock.TangentVector.norm1, of: self)
            + ParameterPath.block("query", \GPTBlock.query, \GPTBlock.TangentVector.query, of: self)
            + ParameterPath.block("key", \GPTBlock.key, \GPTBlock.TangentVector.key, of: self)
            + ParameterPath.block("value", \GPTBlock.value, \GPTBlock.TangentVector.value, of: self)
            + ParameterPath.block("projection", \GPTBlock.projection, \GPTBlock.TangentVector.projection, of: self)
            + ParameterPath.block("norm2", \GPTBlock.norm2, \GPTBlock.TangentVector.norm2, of: self)
            + ParameterPath.block("expand", \GPTBlock.expand, \GPTBlock.TangentVector.expand, of: self)
            + ParameterPath.block("contract", \GPTBlock.contract, \GPTBlock.TangentVector.contract, of: self)
    }

    public init(width w: Int, heads: Int, std: Double = 0.02, using rng: inout some RandomNumberGenerator) {
        precondition(w % heads == 0, "GPTBlock: width \(w) is not divisible by \(heads) heads")
        norm1 = LayerNorm(width: w)
        query = Dense(inputs: w, outputs: w, std: std, using: &rng)
        key = Dense(inputs: w, outputs: w, std: std, using: &rng)
        value = Dense(inputs: w, outputs: w, std: std, using: &rng)
        projection = Dense(inputs: w, outputs: w, std: std, using: &rng)
        norm2 = LayerNorm(width: w)
        expand = Dense(inputs: w, outputs: 4 * w, std: std, using: &rng)
        contract = Dense(inputs: 4 * w, outputs: w, std: std, using: &rng)
        self.heads = heads
    }

    /// `x [B, T, W]` under `mask [T, T]` → `[B, T, W]`.
    @differentiable(reverse, wrt: (self, x))
    public func callAsFunction(_ x: Tensor, mask: Tensor) -> Tensor {
        let a = norm1(x)
        let attended = Tensor.maskedAttention(q: query(a), k: key(a), v: value(a), heads: heads, mask: mask)
        let h = x + projection(attended)
        return h + contract(expand(norm2(h)).gelu())
    }
}

/// A GPT-style transformer on the paired layout (Garg et al.'s model, with one token per example): a linear
/// read-in `[D + 2 → W]`, L pre-LN blocks, a final LayerNorm and a linear read-out `[W → 1]` applied to the
/// residual stream after every block (the model's own read-out as a per-layer probe). One forward pass
/// predicts every query; with `TokenLayout.pairedPrefixes` every prefix of a prompt.
public struct GPT: PairedModel {
    public var readIn: Dense
    public var blocks: [GPTBlock]
    public var finalNorm: LayerNorm
    public var readOut: Dense

    public var parameterPaths: [ParameterPath<GPT>] {
        ParameterPath.block("readIn", \GPT.readIn, \GPT.TangentVector.readIn, of: self)
            + ParameterPath.blocks("blocks", \GPT.blocks, \GPT.TangentVector.blocks, of: self)
            + ParameterPath.block("finalNorm", \GPT.finalNorm, \GPT.TangentVector.finalNorm, of: self)
            + ParameterPath.block("readOut", \GPT.readOut, \GPT.TangentVector.readOut, of: self)
    }

    /// GPT-2 initialization N(0, 0.02) for a prompt dimension D.
    public init(dimension d: Int, width: Int, layers: Int, heads: Int, std: Double = 0.02,
                using rng: inout some RandomNumberGenerator) {
        readIn = Dense(inputs: d + 2, outputs: width, std: std, using: &rng)
        blocks = (0..<layers).map { _ in GPTBlock(width: width, heads: heads, std: std, using: &rng) }
        finalNorm = LayerNorm(width: width)
        readOut = Dense(inputs: width, outputs: 1, std: std, using: &rng)
    }

    public var depth: Int {
        get { blocks.count }
        set { precondition(newValue == blocks.count, "GPT: \(blocks.count) distinct blocks cannot run at depth \(newValue)") }
    }
    public var isDepthAdjustable: Bool { false }
    public var layout: TokenLayout { .paired }
    public var width: Int { readIn.weight.shape[1] }
    public var name: String {
        "GPT (\(blocks.count) layer\(blocks.count == 1 ? "" : "s"), width \(width), \(blocks.first?.heads ?? 0) heads)"
    }

    /// Read-outs at the query rows `n..<T` after every block, under `mask`.
    @differentiable(reverse, wrt: self)
    public func readouts(_ tokens: Tensor, contextSize n: Int, mask: Tensor) -> [Tensor] {
        let (b, t, count) = withoutDerivative(at: (tokens.shape[0], tokens.shape[1], blocks.count))
        var h = readIn(tokens)
        var out: [Tensor] = []
        for l in 0..<count {
            h = blocks[l](h, mask: mask)
            out.append(readOut(finalNorm(h.slice(alongAxis: 1, n..<t))).reshaped(to: [b, t - n]))
        }
        return out
    }

    public func hiddenStates(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let mask = TokenLayout.pairedMask(contextSize: n, visible: Array(repeating: n, count: tokens.shape[1] - n))
        var h = readIn(tokens)
        return blocks.map { block in h = block(h, mask: mask); return h }
    }

    /// Training needs only the last block's read-out.
    @differentiable(reverse, wrt: self)
    public func finalReadout(_ tokens: Tensor, contextSize n: Int, mask: Tensor) -> Tensor {
        let r = readouts(tokens, contextSize: n, mask: mask)
        return r[withoutDerivative(at: r.count - 1)]
    }
}
