import NumericCore
import Tasks
import _Differentiation

/// A model on the paired layout (`TokenLayout.paired`): it reads out at the query tokens under a mask that
/// says which context tokens each query sees. The loss, the trajectories and the one-pass prefix predictions
/// are written once here for every such model (GPT, looped transformers, AlgoFormer).
public protocol PairedModel: ICLModel {
    /// Read-outs at the query rows `n..<T` after every layer (or loop iteration), under `mask [T, T]`.
    @differentiable(reverse, wrt: self)
    func readouts(_ tokens: Tensor, contextSize n: Int, mask: Tensor) -> [Tensor]
    /// The last read-out alone (what training needs; a model may skip the intermediate read-outs).
    @differentiable(reverse, wrt: self)
    func finalReadout(_ tokens: Tensor, contextSize n: Int, mask: Tensor) -> Tensor
}

extension PairedModel {
    public var layout: TokenLayout { .paired }

    @differentiable(reverse, wrt: self)
    public func trainingLoss(_ prompts: PromptBatch, kind: TargetKind, objective: TrainingObjective) -> Tensor {
        pairedTrainingLoss(prompts, kind: kind, objective: objective)
    }

    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        pairedTrajectory(contextXs: contextXs, contextYs: contextYs, queries: queries)
    }

    public func prefixTrajectory(_ prompts: PromptBatch) -> Trajectory { pairedPrefixTrajectory(prompts) }

    /// Every query sees the whole context (the evaluation layout).
    @differentiable(reverse, wrt: self)
    public func readouts(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let q = withoutDerivative(at: tokens.shape[1] - n)
        return readouts(tokens, contextSize: n,
                        mask: withoutDerivative(at: TokenLayout.pairedMask(contextSize: n, visible: Array(repeating: n, count: q))))
    }

    /// The loss at the last point, or averaged over every point k = 0…N−1 predicted from points 0..<k (Garg
    /// et al.'s objective, the empty prefix included) in one pass over `pairedPrefixes`.
    @differentiable(reverse, wrt: self)
    public func pairedTrainingLoss(_ prompts: PromptBatch, kind: TargetKind, objective: TrainingObjective) -> Tensor {
        let n = withoutDerivative(at: prompts.pointCount)
        if objective == .query {
            let context = withoutDerivative(at: prompts.context(n - 1))
            let last = withoutDerivative(at: prompts.points((n - 1)..<n))
            let z = withoutDerivative(at: TokenLayout.paired(contextXs: context.xs, contextYs: context.ys, queries: last.xs))
            let mask = withoutDerivative(at: TokenLayout.pairedMask(contextSize: n - 1, visible: [n - 1]))
            return kind.loss(predicted: finalReadout(z, contextSize: n - 1, mask: mask), targets: last.ys)
        }
        let z = withoutDerivative(at: TokenLayout.pairedPrefixes(prompts))
        let mask = withoutDerivative(at: TokenLayout.pairedMask(contextSize: n, visible: Array(0..<n)))
        return kind.loss(predicted: finalReadout(z, contextSize: n, mask: mask), targets: prompts.ys)
    }

    public func pairedTrajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        let z = TokenLayout.paired(contextXs: contextXs, contextYs: contextYs, queries: queries)
        return Trajectory(learner: name, stepLabels: (1...depth).map { "\(stepNoun) \($0)" }, stepValues: (1...depth).map(Double.init),
                          predictions: readouts(z, contextSize: contextXs.shape[1]))
    }

    /// Every prefix in one forward pass (point k from points 0..<k).
    public func pairedPrefixTrajectory(_ prompts: PromptBatch) -> Trajectory {
        let n = prompts.pointCount
        let r = readouts(TokenLayout.pairedPrefixes(prompts), contextSize: n,
                         mask: TokenLayout.pairedMask(contextSize: n, visible: Array(0..<n)))
        return Trajectory(learner: name, stepLabels: (1...depth).map { "\(stepNoun) \($0)" }, stepValues: (1...depth).map(Double.init),
                          predictions: r)
    }
}

/// Yang et al.'s looped transformer (and AlgoFormer's pre / loop / post shape): read-in, optional pre-blocks,
/// one block applied T times with the input injected before every iteration,
/// `z_{t+1} = LN(block(z_t + e))` from `z_0 = 0` (`e` the read-in of the prompt after the pre-blocks), optional
/// post-blocks, then the final LayerNorm and read-out. Read-outs after every iteration (through the
/// post-blocks); T may differ between training and testing. With `window = k`, gradients flow through the
/// last k iterations only (truncated backpropagation, as Yang et al. train).
public struct LoopedTransformer: PairedModel {
    public var readIn: Dense
    public var pre: [GPTBlock]
    public var body: GPTBlock
    public var loopNorm: LayerNorm
    public var post: [GPTBlock]
    public var finalNorm: LayerNorm
    public var readOut: Dense
    @noDerivative public var depth: Int
    @noDerivative public var window: Int?

    public var parameterPaths: [ParameterPath<LoopedTransformer>] {
        typealias P = ParameterPath<LoopedTransformer>
        return P.block("readIn", \LoopedTransformer.readIn, \LoopedTransformer.TangentVector.readIn, of: self)
            + P.blocks("pre", \LoopedTransformer.pre, \LoopedTransformer.TangentVector.pre, of: self)
            + P.block("body", \LoopedTransformer.body, \LoopedTransformer.TangentVector.body, of: self)
            + P.block("loopNorm", \LoopedTransformer.loopNorm, \LoopedTransformer.TangentVector.loopNorm, of: self)
            + P.blocks("post", \LoopedTransformer.post, \LoopedTransformer.TangentVector.post, of: self)
            + P.block("finalNorm", \LoopedTransformer.finalNorm, \LoopedTransformer.TangentVector.finalNorm, of: self)
            + P.block("readOut", \LoopedTransformer.readOut, \LoopedTransformer.TangentVector.readOut, of: self)
    }

    public init(dimension d: Int, width: Int, heads: Int, depth: Int, preBlocks: Int = 0, postBlocks: Int = 0,
                window: Int? = nil, std: Double = 0.02, using rng: inout some RandomNumberGenerator) {
        precondition(depth >= 1, "LoopedTransformer: depth must be ≥ 1")
        readIn = Dense(inputs: d + 2, outputs: width, std: std, using: &rng)
        pre = (0..<preBlocks).map { _ in GPTBlock(width: width, heads: heads, std: std, using: &rng) }
        body = GPTBlock(width: width, heads: heads, std: std, using: &rng)
        loopNorm = LayerNorm(width: width)
        post = (0..<postBlocks).map { _ in GPTBlock(width: width, heads: heads, std: std, using: &rng) }
        finalNorm = LayerNorm(width: width)
        readOut = Dense(inputs: width, outputs: 1, std: std, using: &rng)
        self.depth = depth
        self.window = window
    }

    public var isDepthAdjustable: Bool { true }
    public var width: Int { readIn.weight.shape[1] }
    public var name: String {
        let shape = pre.isEmpty && post.isEmpty ? "looped transformer" : "AlgoFormer (\(pre.count) pre, \(post.count) post)"
        return "\(shape) (T = \(depth), width \(width), \(body.heads) heads)"
    }

    @differentiable(reverse, wrt: self)
    func injected(_ tokens: Tensor, mask: Tensor) -> Tensor {
        var e = readIn(tokens)
        for l in 0..<withoutDerivative(at: pre.count) { e = pre[l](e, mask: mask) }
        return e
    }

    @differentiable(reverse, wrt: self)
    func readout(_ z: Tensor, contextSize n: Int, mask: Tensor) -> Tensor {
        let (b, t) = withoutDerivative(at: (z.shape[0], z.shape[1]))
        var h = z
        for l in 0..<withoutDerivative(at: post.count) { h = post[l](h, mask: mask) }
        return readOut(finalNorm(h.slice(alongAxis: 1, n..<t))).reshaped(to: [b, t - n])
    }

    @differentiable(reverse, wrt: self)
    public func readouts(_ tokens: Tensor, contextSize n: Int, mask: Tensor) -> [Tensor] {
        let e = injected(tokens, mask: mask)
        var z = e * 0
        var out: [Tensor] = []
        for _ in 0..<withoutDerivative(at: depth) {
            z = loopNorm(body(z + e, mask: mask))
            out.append(readout(z, contextSize: n, mask: mask))
        }
        return out
    }

    /// The last iteration's read-out; with a window, iterations before the last `window` pass no gradient.
    @differentiable(reverse, wrt: self)
    public func finalReadout(_ tokens: Tensor, contextSize n: Int, mask: Tensor) -> Tensor {
        let e = injected(tokens, mask: mask)
        let cut = withoutDerivative(at: depth - min(window ?? depth, depth))
        var z = e * 0
        for t in 0..<withoutDerivative(at: depth) {
            z = loopNorm(body(z + e, mask: mask))
            if t + 1 == cut { z = withoutDerivative(at: z) }
        }
        return readout(z, contextSize: n, mask: mask)
    }

    public func hiddenStates(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let mask = TokenLayout.pairedMask(contextSize: n, visible: Array(repeating: n, count: tokens.shape[1] - n))
        let e = injected(tokens, mask: mask)
        var z = e * 0
        return (0..<depth).map { _ in z = loopNorm(body(z + e, mask: mask)); return z }
    }
}
