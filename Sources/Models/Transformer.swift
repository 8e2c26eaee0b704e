import BLASRuntime
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

    /// `x [B, T, W]` under `mask [T, T]` → `[B, T, W]`, by the fused kernel (`BLASRuntime/GPTBlock.c`, its
    /// pullback written by hand); `reference` is the same block composed of differentiable primitives.
    @differentiable(reverse, wrt: (self, x))
    public func callAsFunction(_ x: Tensor, mask: Tensor) -> Tensor {
        fusedForward(x, mask: mask, keep: false).output
    }

    /// The block composed of differentiable primitives (Dense, LayerNorm, `maskedAttention`, GELU): the naive
    /// reference the fused kernel is tested against.
    @differentiable(reverse, wrt: (self, x))
    public func reference(_ x: Tensor, mask: Tensor) -> Tensor {
        let a = norm1(x)
        let attended = Tensor.maskedAttention(q: query(a), k: key(a), v: value(a), heads: heads, mask: mask)
        let h = x + projection(attended)
        return h + contract(expand(norm2(h)).gelu())
    }
}

// MARK: the fused kernel

extension GPTBlock {
    /// Prompts per fused call: about 1,024 tokens each, balanced, a function of B and T alone (so the bits never
    /// depend on the thread count). The calls run on separate cores; their weight gradients are summed in order.
    static func promptChunks(batch b: Int, tokens t: Int) -> [Range<Int>] {
        let count = max(1, min(b, (b * t + 1023) / 1024))
        return (0..<count).map { c in (b * c / count)..<(b * (c + 1) / count) }
    }

    /// The weights in the kernel's layout: ln₁, W_QKV [W, 3W] (rows of W_Q, W_K, W_V side by side), b_QKV, W_O,
    /// b_O, ln₂, W₁, b₁, W₂, b₂ (see `icl_gpt_block_forward`).
    var packedParameters: [Double] {
        let w = norm1.gain.shape[0]
        var p: [Double] = []
        p.reserveCapacity(icl_gpt_block_parameter_count(w))
        p += norm1.gain.scalars
        p += norm1.bias.scalars
        for r in 0..<w {
            p += query.weight.scalars[(r * w)..<((r + 1) * w)]
            p += key.weight.scalars[(r * w)..<((r + 1) * w)]
            p += value.weight.scalars[(r * w)..<((r + 1) * w)]
        }
        p += query.bias.scalars + key.bias.scalars + value.bias.scalars
        p += projection.weight.scalars + projection.bias.scalars
        p += norm2.gain.scalars + norm2.bias.scalars
        p += expand.weight.scalars + expand.bias.scalars
        p += contract.weight.scalars + contract.bias.scalars
        precondition(p.count == icl_gpt_block_parameter_count(w), "GPTBlock: weights do not fit width \(w)")
        return p
    }

    /// Gradients in the kernel's layout as a tangent vector.
    static func tangent(packed g: [Double], width w: Int) -> TangentVector {
        var at = 0
        func take(_ shape: [Int]) -> Tensor {
            let n = shape.reduce(1, *)
            defer { at += n }
            return Tensor(shape: shape, scalars: Array(g[at..<(at + n)]))
        }
        func dense(_ inputs: Int, _ outputs: Int) -> Dense.TangentVector {
            let weight = take([inputs, outputs])
            return Dense.TangentVector(weight: weight, bias: take([outputs]))
        }
        let norm1 = LayerNorm.TangentVector(gain: take([w]), bias: take([w]))
        var wq: [Double] = [], wk: [Double] = [], wv: [Double] = []
        for r in 0..<w {
            let row = at + r * 3 * w
            wq += g[row..<(row + w)]
            wk += g[(row + w)..<(row + 2 * w)]
            wv += g[(row + 2 * w)..<(row + 3 * w)]
        }
        at += 3 * w * w
        let (bq, bk, bv) = (take([w]), take([w]), take([w]))
        let projection = dense(w, w)
        let norm2 = LayerNorm.TangentVector(gain: take([w]), bias: take([w]))
        let expand = dense(w, 4 * w)
        let contract = dense(4 * w, w)
        return TangentVector(norm1: norm1, query: .init(weight: Tensor(shape: [w, w], scalars: wq), bias: bq),
                             key: .init(weight: Tensor(shape: [w, w], scalars: wk), bias: bk),
                             value: .init(weight: Tensor(shape: [w, w], scalars: wv), bias: bv),
                             projection: projection, norm2: norm2, expand: expand, contract: contract)
    }

    /// The forward over prompt chunks on the cores; with `keep`, what each chunk's pullback needs.
    func fusedForward(_ x: Tensor, mask: Tensor, keep: Bool)
        -> (output: Tensor, parameters: [Double], saved: AlignedBuffer?, savedOffsets: [Int], chunks: [Range<Int>]) {
        let w = norm1.gain.shape[0]
        precondition(x.rank == 3 && x.shape[2] == w, "GPTBlock: input must be [B, T, \(w)], got \(x.shape)")
        let (b, t) = (x.shape[0], x.shape[1])
        precondition(mask.shape == [t, t], "GPTBlock: mask must be [T, T] = [\(t), \(t)], got \(mask.shape)")
        let parameters = packedParameters
        let chunks = Self.promptChunks(batch: b, tokens: t)
        var offsets = [0]
        for c in chunks { offsets.append(offsets.last! + icl_gpt_block_saved_count(c.count, t, w, heads)) }
        let saved = keep ? AlignedBuffer(count: offsets.last!) : nil
        let heads = heads
        let output = Tensor.filled(shape: [b, t, w]) { out in
            x.scalars.withUnsafeBufferPointer { xp in
            mask.scalars.withUnsafeBufferPointer { mp in
            parameters.withUnsafeBufferPointer { pp in
                let (xb, ob, mb, pb) = (xp.baseAddress!, out.baseAddress!, mp.baseAddress!, pp.baseAddress!)
                Parallel.forChunks(count: chunks.count, workers: min(Parallel.workerCount, chunks.count)) { range in
                    for c in range {
                        let (lo, n) = (chunks[c].lowerBound * t * w, chunks[c].count)
                        let scratch = saved == nil ? AlignedBuffer(count: offsets[c + 1] - offsets[c]) : nil
                        let sb = saved.map { $0.base + offsets[c] } ?? scratch!.base
                        icl_gpt_block_forward(xb + lo, n, t, w, heads, mb, pb, ob + lo, sb)
                    }
                }
            }}}
        }
        return (output, parameters, saved, offsets, chunks)
    }

    @derivative(of: callAsFunction, wrt: (self, x))
    public func _vjpCallAsFunction(_ x: Tensor, mask: Tensor) -> (value: Tensor, pullback: (Tensor) -> (TangentVector, Tensor)) {
        let (output, parameters, saved, offsets, chunks) = fusedForward(x, mask: mask, keep: true)
        let (shape, heads, saves) = (x.shape, heads, saved!)
        return (output, { g in
            let g = g.matching(shape)
            let (t, w) = (shape[1], shape[2])
            let pc = parameters.count
            var grads = [Double](unsafeUninitializedCapacity: chunks.count * pc) { _, n in n = chunks.count * pc }
            let dx = Tensor.filled(shape: shape) { dxp in
                g.scalars.withUnsafeBufferPointer { gp in
                mask.scalars.withUnsafeBufferPointer { mp in
                parameters.withUnsafeBufferPointer { pp in
                grads.withUnsafeMutableBufferPointer { gr in
                    let (gb, mb, pb, rb, db) = (gp.baseAddress!, mp.baseAddress!, pp.baseAddress!, gr.baseAddress!, dxp.baseAddress!)
                    Parallel.forChunks(count: chunks.count, workers: min(Parallel.workerCount, chunks.count)) { range in
                        for c in range {
                            let lo = chunks[c].lowerBound * t * w
                            icl_gpt_block_backward(chunks[c].count, t, w, heads, mb, pb, saves.base + offsets[c], gb + lo, db + lo,
                                                   rb + c * pc)
                        }
                    }
                }}}}
            }
            for c in chunks.indices.dropFirst() { for i in 0..<pc { grads[i] += grads[c * pc + i] } }
            return (Self.tangent(packed: Array(grads[0..<pc]), width: w), dx)
        })
    }
}

/// 64-byte-aligned doubles that live as long as the pullback holding them (the fused kernels' lane layout).
final class AlignedBuffer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Double>

    init(count: Int) {
        base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Double>.stride, alignment: 64)
            .bindMemory(to: Double.self, capacity: max(count, 1))
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }

}

/// A GPT-style transformer (Garg et al.'s model): a linear read-in, L pre-LN blocks, a final LayerNorm and a
/// linear read-out `[W → 1]` applied to the residual stream after every block (the model's own read-out as a
/// per-layer probe). Two layouts:
/// - `.paired` (the CPU workhorse): one token `[x_j, y_j, 0]` per example and `[x_i, 0, 1]` per prediction, read-in
///   `[D + 2 → W]`, no positional embedding; with `TokenLayout.pairedPrefixes` one pass predicts every prefix.
/// - `.interleaved` (Garg et al.'s own): x and y as separate tokens of width D, read-in `[D → W]` plus a learned
///   positional embedding `[2N, W]`, causal mask, y_i read out at x_i's token.
public struct GPT: PairedModel {
    public var readIn: Dense
    /// Learned positional embeddings `[2N, W]` for the interleaved layout (`[0, W]` for the paired one).
    public var positional: Tensor
    public var blocks: [GPTBlock]
    public var finalNorm: LayerNorm
    public var readOut: Dense
    @noDerivative public let sequenceLayout: TokenLayout

    public var parameterPaths: [ParameterPath<GPT>] {
        ParameterPath.block("readIn", \GPT.readIn, \GPT.TangentVector.readIn, of: self)
            + [ParameterPath("positional", \GPT.positional, \GPT.TangentVector.positional)]
            + ParameterPath.blocks("blocks", \GPT.blocks, \GPT.TangentVector.blocks, of: self)
            + ParameterPath.block("finalNorm", \GPT.finalNorm, \GPT.TangentVector.finalNorm, of: self)
            + ParameterPath.block("readOut", \GPT.readOut, \GPT.TangentVector.readOut, of: self)
    }

    /// GPT-2 initialization N(0, std²) for a prompt dimension D; `points` bounds the interleaved sequence (2N).
    public init(dimension d: Int, width: Int, layers: Int, heads: Int, std: Double = 0.02, layout: TokenLayout = .paired,
                points: Int = 0, using rng: inout some RandomNumberGenerator) {
        precondition(layout == .paired || layout == .interleaved, "GPT: layout must be paired or interleaved, got \(layout)")
        precondition(layout == .paired || points >= 1, "GPT: the interleaved layout needs the number of points")
        readIn = Dense(inputs: layout == .paired ? d + 2 : d, outputs: width, std: std, using: &rng)
        positional = layout == .paired ? Tensor(zeros: [0, width])
                                       : Tensor.randomNormal([2 * points, width], standardDeviation: std, using: &rng)
        blocks = (0..<layers).map { _ in GPTBlock(width: width, heads: heads, std: std, using: &rng) }
        finalNorm = LayerNorm(width: width)
        readOut = Dense(inputs: width, outputs: 1, std: std, using: &rng)
        sequenceLayout = layout
    }

    public var depth: Int {
        get { blocks.count }
        set { precondition(newValue == blocks.count, "GPT: \(blocks.count) distinct blocks cannot run at depth \(newValue)") }
    }
    public var isDepthAdjustable: Bool { false }
    public var layout: TokenLayout { sequenceLayout }
    public var width: Int { readIn.weight.shape[1] }
    public var name: String {
        let l = sequenceLayout == .interleaved ? ", interleaved" : ""
        return "GPT (\(blocks.count) layer\(blocks.count == 1 ? "" : "s"), width \(width), \(blocks.first?.heads ?? 0) heads\(l))"
    }

    /// The read-in plus, for the interleaved layout, the positional embedding of each token.
    @differentiable(reverse, wrt: self)
    func embed(_ tokens: Tensor, positions: [Int]) -> Tensor {
        let h = readIn(tokens)
        if withoutDerivative(at: sequenceLayout) == .paired { return h }
        let (t, w, p) = withoutDerivative(at: (tokens.shape[1], width, positional.shape[0]))
        return h + positional.reshaped(to: [1, p, w]).gatheringRows(positions).reshaped(to: [t, w])
    }

    /// Read-outs at token rows `rows` after every block (or only the last), under `mask`.
    @differentiable(reverse, wrt: self)
    func run(_ tokens: Tensor, mask: Tensor, positions: [Int], rows: [Int], everyLayer: Bool) -> [Tensor] {
        let (b, count) = withoutDerivative(at: (tokens.shape[0], blocks.count))
        var h = embed(tokens, positions: positions)
        var out: [Tensor] = []
        for l in 0..<count {
            h = blocks[l](h, mask: mask)
            if everyLayer || l == count - 1 {
                out.append(readOut(finalNorm(h.gatheringRows(rows))).reshaped(to: [b, rows.count]))
            }
        }
        return out
    }

    /// Positions of the tokens of a context of `n` tokens and `q` queries (empty for the paired layout).
    func positions(contextTokens n: Int, queries q: Int) -> [Int] {
        sequenceLayout == .paired ? [] : TokenLayout.interleavedPositions(contextTokens: n, queries: q)
    }

    /// Read-outs at the query rows `n..<T` after every block, under `mask`.
    @differentiable(reverse, wrt: self)
    public func readouts(_ tokens: Tensor, contextSize n: Int, mask: Tensor) -> [Tensor] {
        let t = withoutDerivative(at: tokens.shape[1])
        return run(tokens, mask: mask, positions: withoutDerivative(at: positions(contextTokens: n, queries: t - n)),
                   rows: Array(n..<t), everyLayer: true)
    }

    /// Every query sees the whole context (the evaluation layout), under the layout's mask.
    @differentiable(reverse, wrt: self)
    public func readouts(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let q = withoutDerivative(at: tokens.shape[1] - n)
        let mask = withoutDerivative(at: sequenceLayout == .paired
            ? TokenLayout.pairedMask(contextSize: n, visible: Array(repeating: n, count: q))
            : TokenLayout.interleavedMask(contextTokens: n, queries: q))
        return readouts(tokens, contextSize: n, mask: mask)
    }

    /// Training needs only the last block's read-out.
    @differentiable(reverse, wrt: self)
    public func finalReadout(_ tokens: Tensor, contextSize n: Int, mask: Tensor) -> Tensor {
        let t = withoutDerivative(at: tokens.shape[1])
        return run(tokens, mask: mask, positions: withoutDerivative(at: positions(contextTokens: n, queries: t - n)),
                   rows: Array(n..<t), everyLayer: false)[0]
    }

    public func hiddenStates(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let q = tokens.shape[1] - n
        let mask = sequenceLayout == .paired ? TokenLayout.pairedMask(contextSize: n, visible: Array(repeating: n, count: q))
                                             : TokenLayout.interleavedMask(contextTokens: n, queries: q)
        var h = embed(tokens, positions: positions(contextTokens: n, queries: q))
        return blocks.map { block in h = block(h, mask: mask); return h }
    }

    // MARK: the interleaved layout's loss and trajectories (the paired ones are PairedModel's)

    @differentiable(reverse, wrt: self)
    public func trainingLoss(_ prompts: PromptBatch, kind: TargetKind, objective: TrainingObjective) -> Tensor {
        if withoutDerivative(at: sequenceLayout) == .paired { return pairedTrainingLoss(prompts, kind: kind, objective: objective) }
        let n = withoutDerivative(at: prompts.pointCount)
        if objective == .query {
            let context = withoutDerivative(at: prompts.context(n - 1))
            let last = withoutDerivative(at: prompts.points((n - 1)..<n))
            let z = withoutDerivative(at: TokenLayout.interleaved(contextXs: context.xs, contextYs: context.ys, queries: last.xs))
            let c = 2 * (n - 1)
            let r = run(z, mask: withoutDerivative(at: TokenLayout.interleavedMask(contextTokens: c, queries: 1)),
                        positions: withoutDerivative(at: TokenLayout.interleavedPositions(contextTokens: c, queries: 1)),
                        rows: [c], everyLayer: false)
            return kind.loss(predicted: r[0], targets: last.ys)
        }
        // Every prefix at once: the causal sequence x₁ y₁ … x_N y_N, y_i read out at x_i's token (row 2i).
        let z = withoutDerivative(at: interleavedSequence(prompts))
        let r = run(z, mask: withoutDerivative(at: TokenLayout.interleavedMask(contextTokens: 2 * n, queries: 0)),
                    positions: Array(0..<(2 * n)), rows: Array(stride(from: 0, to: 2 * n, by: 2)), everyLayer: false)
        return kind.loss(predicted: r[0], targets: prompts.ys)
    }

    func interleavedSequence(_ prompts: PromptBatch) -> Tensor {
        TokenLayout.interleaved(contextXs: prompts.xs, contextYs: prompts.ys,
                                queries: Tensor(zeros: [prompts.batchSize, 0, prompts.dimension]))
    }

    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        guard sequenceLayout == .interleaved else { return pairedTrajectory(contextXs: contextXs, contextYs: contextYs, queries: queries) }
        let (n, q) = (contextXs.shape[1], queries.shape[1])
        let z = TokenLayout.interleaved(contextXs: contextXs, contextYs: contextYs, queries: queries)
        let r = readouts(z, contextSize: 2 * n, mask: TokenLayout.interleavedMask(contextTokens: 2 * n, queries: q))
        return Trajectory(learner: name, stepLabels: (1...depth).map { "layer \($0)" }, stepValues: (1...depth).map(Double.init),
                          predictions: r)
    }

    public func prefixTrajectory(_ prompts: PromptBatch) -> Trajectory {
        guard sequenceLayout == .interleaved else { return pairedPrefixTrajectory(prompts) }
        let n = prompts.pointCount
        let r = run(interleavedSequence(prompts), mask: TokenLayout.interleavedMask(contextTokens: 2 * n, queries: 0),
                    positions: Array(0..<(2 * n)), rows: Array(stride(from: 0, to: 2 * n, by: 2)), everyLayer: true)
        return Trajectory(learner: name, stepLabels: (1...depth).map { "layer \($0)" }, stepValues: (1...depth).map(Double.init),
                          predictions: r)
    }
}
