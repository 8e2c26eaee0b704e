import NumericCore
import Tasks
import _Differentiation

/// A stack of distinct layers applied in order to row tokens, read out after every layer. The last layer
/// updates only the query rows (nothing reads the context after it).
public struct Stack<Layer: ICLLayer>: ICLModel {
    public var layers: [Layer]
    @noDerivative public let layout: TokenLayout
    /// What the model is called in tables.
    @noDerivative public let title: String

    public init(layers: [Layer], layout: TokenLayout = .concatenated, title: String = "stack") {
        precondition(!layers.isEmpty, "Stack: needs at least one layer")
        self.layers = layers
        self.layout = layout
        self.title = title
    }

    public var parameterPaths: [ParameterPath<Stack>] {
        ParameterPath.blocks("layers", \Stack.layers, \Stack.TangentVector.layers, of: self)
    }

    /// A stack's depth is its number of layers; it cannot be evaluated at another depth.
    public var depth: Int {
        get { layers.count }
        set { precondition(newValue == layers.count, "Stack: a stack of \(layers.count) distinct layers cannot run at depth \(newValue)") }
    }
    public var isDepthAdjustable: Bool { false }
    public var name: String { title }

    @differentiable(reverse)
    public func readouts(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let (t, count) = withoutDerivative(at: (tokens.shape[1], layers.count))
        var z = tokens
        var out: [Tensor] = []
        for i in 0..<count {
            let last = i == count - 1
            let updated = layers[i](z, contextSize: n, fromRow: last ? n : 0)
            out.append(rowReadout(last ? updated : updated.slice(alongAxis: 1, n..<t)))
            if !last { z = updated }
        }
        return out
    }

    public func hiddenStates(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        var z = tokens
        return layers.map { layer in z = layer(z, contextSize: n, fromRow: 0); return z }
    }
}

/// One layer applied `depth` times with shared weights (`depth` may differ between training and testing),
/// with the input injected before every iteration if `injection` says so. Gradients of the shared weights
/// accumulate across iterations.
public struct Looped<Layer: ICLLayer>: ICLModel {
    public var body: Layer
    @noDerivative public var depth: Int
    @noDerivative public let injection: InputInjection
    @noDerivative public let layout: TokenLayout
    @noDerivative public let title: String

    public init(body: Layer, depth: Int, injection: InputInjection = .none, layout: TokenLayout = .concatenated,
                title: String = "looped") {
        precondition(depth >= 1, "Looped: depth must be ≥ 1")
        self.body = body
        self.depth = depth
        self.injection = injection
        self.layout = layout
        self.title = title
    }

    public var parameterPaths: [ParameterPath<Looped>] {
        ParameterPath.block("body", \Looped.body, \Looped.TangentVector.body, of: self)
    }

    public var isDepthAdjustable: Bool { true }
    public var name: String { "\(title) (T = \(depth))" }

    @differentiable(reverse)
    public func readouts(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let (t, count) = withoutDerivative(at: (tokens.shape[1], depth))
        let inject = withoutDerivative(at: injection == .additive)
        var z = inject ? tokens * 0 : tokens
        var out: [Tensor] = []
        for i in 0..<count {
            let last = i == count - 1
            let updated = body(inject ? z + tokens : z, contextSize: n, fromRow: last ? n : 0)
            out.append(rowReadout(last ? updated : updated.slice(alongAxis: 1, n..<t)))
            if !last { z = updated }
        }
        return out
    }

    public func hiddenStates(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        var z = injection == .additive ? tokens * 0 : tokens
        return (0..<depth).map { _ in z = body(injection == .additive ? z + tokens : z, contextSize: n, fromRow: 0); return z }
    }
}
