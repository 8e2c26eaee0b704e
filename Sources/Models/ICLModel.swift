import NumericCore
import Tasks
import _Differentiation

/// The one model protocol: every model — an LSA stack, a looped LSA, the restricted looped LSA, and the
/// transformers to come — answers with one forward pass that exposes every layer (or loop iteration).
/// The model only returns read-outs; the task family owns the loss and the metric (`TargetKind`).
///
/// Shapes: tokens `[B, T, E]` whose first `n` rows are the context; read-outs `[depth]` of `[B, Q]` for the
/// `Q = T − n` query rows; hidden states `[depth]` of `[B, T, E]`.
public protocol ICLModel: ParameterWalkable, InContextLearner {
    /// Layer applications of one forward pass: L for a stack, T for a looped model.
    var depth: Int { get set }
    /// Whether `depth` may be set to another value at evaluation (looped models may loop longer).
    var isDepthAdjustable: Bool { get }
    /// The token layout the model reads.
    var layout: TokenLayout { get }
    /// What one step is called in tables: "layer" or "loop".
    var stepNoun: String { get }
    /// The prediction at every query row after every layer, from one forward pass.
    @differentiable(reverse, wrt: self)
    func readouts(_ tokens: Tensor, contextSize n: Int) -> [Tensor]
    /// The prediction at every query row after the last layer only: what the training loss reads. The
    /// default takes `readouts(…).last`; stacks and loops skip the earlier read-outs (whose zero gradients
    /// would otherwise cost a full pass over the tokens per layer in the backward).
    @differentiable(reverse, wrt: self)
    func lastReadout(_ tokens: Tensor, contextSize n: Int) -> Tensor
    /// Every token after every layer (the residual stream, for probes and constructions).
    func hiddenStates(_ tokens: Tensor, contextSize n: Int) -> [Tensor]
    /// The training loss on prompts after the last layer, for the family's target kind: at the last point, or
    /// averaged over every prefix. Row models make one pass per prefix; models with a paired layout
    /// predict every prefix in one pass.
    @differentiable(reverse, wrt: self)
    func trainingLoss(_ prompts: PromptBatch, kind: TargetKind, objective: TrainingObjective) -> Tensor
}

extension ICLModel {
    public var stepNoun: String { isDepthAdjustable ? "loop" : "layer" }

    @differentiable(reverse, wrt: self)
    public func lastReadout(_ tokens: Tensor, contextSize n: Int) -> Tensor {
        let r = readouts(tokens, contextSize: n)
        return r[withoutDerivative(at: r.count - 1)]
    }

    /// Row layouts: the loss at the last point, or the mean over prefixes k = 2…N of the last-point loss of
    /// the first k points (one forward pass each).
    @differentiable(reverse, wrt: self)
    public func trainingLoss(_ prompts: PromptBatch, kind: TargetKind, objective: TrainingObjective) -> Tensor {
        if objective == .query { return rowQueryLoss(prompts, kind: kind) }
        let count = withoutDerivative(at: prompts.pointCount)
        var total = rowQueryLoss(withoutDerivative(at: prompts.prefix(points: 2)), kind: kind)
        for k in 3..<(count + 1) {
            total = total + rowQueryLoss(withoutDerivative(at: prompts.prefix(points: k)), kind: kind)
        }
        return total / Double(count - 1)
    }

    /// The loss at the last point of each prompt, after the last layer, with row tokens.
    @differentiable(reverse, wrt: self)
    public func rowQueryLoss(_ prompts: PromptBatch, kind: TargetKind) -> Tensor {
        let n = withoutDerivative(at: prompts.pointCount - 1)
        let z = withoutDerivative(at: TokenLayout.rows(prompts))
        let target = withoutDerivative(at: prompts.ys.slice(alongAxis: 1, n..<(n + 1)))
        return kind.loss(predicted: lastReadout(z, contextSize: n), targets: target)
    }

    /// The tokens of a context and queries in the model's layout.
    public func tokens(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Tensor {
        switch layout {
        case .paired: return TokenLayout.paired(contextXs: contextXs, contextYs: contextYs, queries: queries)
        case .interleaved: return TokenLayout.interleaved(contextXs: contextXs, contextYs: contextYs, queries: queries)
        default: return TokenLayout.rows(contextXs: contextXs, contextYs: contextYs, queries: queries)
        }
    }

    /// How many tokens a context of `n` points takes (2n interleaved, else n).
    public func contextTokens(_ n: Int) -> Int { layout == .interleaved ? 2 * n : n }

    /// Each layer's hidden state at the query tokens, `[depth]` of `[B · Q, W]` (for probes).
    public func queryStates(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> [Tensor] {
        let n = contextTokens(contextXs.shape[1])
        let z = tokens(contextXs: contextXs, contextYs: contextYs, queries: queries)
        let t = z.shape[1]
        return hiddenStates(z, contextSize: n).map { h in
            let q = h.slice(alongAxis: 1, n..<t)
            return q.reshaped(to: [q.shape[0] * q.shape[1], q.shape[2]])
        }
    }

    /// Read-outs for a context and queries given as points (row layouts).
    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        precondition(layout.isRows, "\(name): trajectory(contextXs:…) needs a row layout, the model reads \(layout)")
        let z = TokenLayout.rows(contextXs: contextXs, contextYs: contextYs, queries: queries)
        let r = readouts(z, contextSize: contextXs.shape[1])
        return Trajectory(learner: name, stepLabels: (1...depth).map { "\(stepNoun) \($0)" },
                          stepValues: (1...depth).map(Double.init), predictions: r)
    }
}

/// The read-out of row models (von Oswald et al.): minus the y-entry of each query row, `[B, Q, E] → [B, Q]`.
@differentiable(reverse)
public func rowReadout(_ queries: Tensor) -> Tensor {
    let (b, q, e) = withoutDerivative(at: (queries.shape[0], queries.shape[1], queries.shape[2]))
    return -queries.slice(alongAxis: 2, (e - 1)..<e).reshaped(to: [b, q])
}

/// One layer that a `Stack` stacks or a `Looped` loops: it maps tokens `[B, T, E]` to the updated rows
/// `fromRow..<T` (a last layer need only update the query rows).
public protocol ICLLayer: ParameterWalkable {
    @differentiable(reverse)
    func callAsFunction(_ tokens: Tensor, contextSize n: Int, fromRow: Int) -> Tensor
    /// The same layer on `count` prompts' tokens in the lane layout `[⌈B/8⌉, T, E, 8]` (`Tensor.lanePacked`),
    /// which stacks and loops keep between layers. The default unpacks and repacks around the plain call; the
    /// LSA layer's kernel reads the lane layout directly.
    @differentiable(reverse)
    func callAsFunction(lanes tokens: Tensor, count: Int, contextSize n: Int, fromRow: Int) -> Tensor
}

extension ICLLayer {
    @differentiable(reverse)
    public func callAsFunction(lanes tokens: Tensor, count: Int, contextSize n: Int, fromRow: Int) -> Tensor {
        self(tokens.laneUnpacked(count: count), contextSize: n, fromRow: fromRow).lanePacked()
    }
}

/// The row read-out of query rows held in the lane layout `[G, Q, E, 8]`, for `count` prompts: `[count, Q]`.
@differentiable(reverse)
public func rowReadout(lanes queries: Tensor, count: Int) -> Tensor {
    let (q, e) = withoutDerivative(at: (queries.shape[1], queries.shape[2]))
    return -queries.slice(alongAxis: 2, (e - 1)..<e).laneUnpacked(count: count).reshaped(to: [count, q])
}

/// How a looped model feeds its input back in at every iteration (Yang et al.).
public enum InputInjection: String, Codable, Sendable, CaseIterable {
    /// `z₀ = e`, `z_{t+1} = f(z_t)`: the plain loop (von Oswald, Gatmiry et al.).
    case none
    /// `z₀ = 0`, `z_{t+1} = f(z_t + e)`: the prompt is added before every iteration (Yang et al.).
    case additive
}
