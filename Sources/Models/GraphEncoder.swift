import NumericCore
import Tasks
import _Differentiation

/// A transformer encoder for graph connectivity over adjacency-row tokens (`GraphConnectivityTask`): token v is
/// `(one-hot(v), A_v, 0)`, the question `(one-hot(s), one-hot(t), 0)`; the read-out at the question's token is the
/// logit of "t is reachable from s" (trained by the logistic loss, `TargetKind.sign`).
///
/// `h⁰ = tokens W_in + b_in` (no positions: each row names its vertex), `hˡ = blockₗ(hˡ⁻¹)` with bidirectional
/// attention over the graph (`TokenLayout.encoderMask`: every vertex token attends every vertex token, each
/// question attends the vertex tokens and itself), `ŷˡ = LN_f(hˡ_q) W_out + b_out` after every block. With one
/// question this is the all-zero mask except that vertex tokens do not read the question, so what they compute
/// does not depend on it (as in the Boolean squaring of (I + A), whose rows are the same for every query) and
/// several questions share one pass without seeing each other.
public struct GraphEncoder: ICLModel {
    public var readIn: Dense
    public var trunk: BlockStack

    public var parameterPaths: [ParameterPath<GraphEncoder>] {
        ParameterPath.block("readIn", \GraphEncoder.readIn, \GraphEncoder.TangentVector.readIn, of: self)
            + ParameterPath.block("trunk", \GraphEncoder.trunk, \GraphEncoder.TangentVector.trunk, of: self)
    }

    /// GPT-2 initialization N(0, std²) for points of dimension D (tokens of width D + 1).
    public init(dimension d: Int, width: Int, layers: Int, heads: Int, std: Double = 0.02, using rng: inout some RandomNumberGenerator) {
        readIn = Dense(inputs: d + 1, outputs: width, std: std, using: &rng)
        trunk = BlockStack(width: width, layers: layers, heads: heads, outputs: 1, std: std, using: &rng)
    }

    public var depth: Int {
        get { trunk.blocks.count }
        set { precondition(newValue == trunk.blocks.count, "GraphEncoder: \(trunk.blocks.count) distinct blocks cannot run at depth \(newValue)") }
    }
    public var isDepthAdjustable: Bool { false }
    public var layout: TokenLayout { .adjacencyRows }
    public var width: Int { readIn.weight.shape[1] }
    public var name: String {
        "graph encoder (\(depth) layer\(depth == 1 ? "" : "s"), width \(width), \(trunk.heads) heads)"
    }

    /// Read-outs `[B, Q]` at the question rows `n..<T` after every block (or only the last).
    @differentiable(reverse, wrt: self)
    func run(_ tokens: Tensor, contextSize n: Int, everyLayer: Bool) -> [Tensor] {
        let (b, t) = withoutDerivative(at: (tokens.shape[0], tokens.shape[1]))
        let rows = withoutDerivative(at: (0..<b).flatMap { p in (n..<t).map { p * t + $0 } })
        let mask = withoutDerivative(at: TokenLayout.encoderMask(contextSize: n, queries: t - n))
        let r = trunk.readouts(readIn(tokens), mask: mask, rows: rows, everyLayer: everyLayer)
        var out: [Tensor] = []
        for l in 0..<withoutDerivative(at: r.count) { out.append(r[l].reshaped(to: [b, t - n])) }
        return out
    }

    @differentiable(reverse, wrt: self)
    public func readouts(_ tokens: Tensor, contextSize n: Int) -> [Tensor] { run(tokens, contextSize: n, everyLayer: true) }

    @differentiable(reverse, wrt: self)
    public func lastReadout(_ tokens: Tensor, contextSize n: Int) -> Tensor { run(tokens, contextSize: n, everyLayer: false)[0] }

    public func hiddenStates(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        trunk.hiddenStates(readIn(tokens), mask: TokenLayout.encoderMask(contextSize: n, queries: tokens.shape[1] - n))
    }
}
