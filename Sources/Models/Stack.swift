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

    // The prompts are packed into the lane layout once and stay packed between layers.
    @differentiable(reverse)
    public func readouts(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let (b, t, count) = withoutDerivative(at: (tokens.shape[0], tokens.shape[1], layers.count))
        var z = tokens.lanePacked()
        var out: [Tensor] = []
        for i in 0..<count {
            let last = i == count - 1
            let updated = layers[i](lanes: z, count: b, contextSize: n, fromRow: last ? n : 0)
            out.append(rowReadout(lanes: last ? updated : updated.slice(alongAxis: 1, n..<t), count: b))
            if !last { z = updated }
        }
        return out
    }

    @differentiable(reverse)
    public func lastReadout(_ tokens: Tensor, contextSize n: Int) -> Tensor {
        let (b, count) = withoutDerivative(at: (tokens.shape[0], layers.count))
        var z = tokens.lanePacked()
        for i in 0..<(count - 1) { z = layers[i](lanes: z, count: b, contextSize: n, fromRow: 0) }
        return rowReadout(lanes: layers[count - 1](lanes: z, count: b, contextSize: n, fromRow: n), count: b)
    }

    public func hiddenStates(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let b = tokens.shape[0]
        var z = tokens.lanePacked()
        return layers.map { layer in
            z = layer(lanes: z, count: b, contextSize: n, fromRow: 0)
            return z.laneUnpacked(count: b)
        }
    }
}

/// One layer applied `depth` times with shared weights (`depth` may differ between training and testing),
/// with the input injected before every iteration if `injection` says so. Gradients of the shared weights
/// accumulate across iterations. With `window = k`, training backpropagates through the last k iterations
/// only (truncated backpropagation through the loop, as Yang et al. train): the earlier iterations run
/// forward and pass no gradient.
public struct Looped<Layer: ICLLayer>: ICLModel {
    public var body: Layer
    @noDerivative public var depth: Int
    @noDerivative public let injection: InputInjection
    @noDerivative public let layout: TokenLayout
    @noDerivative public let title: String
    @noDerivative public var window: Int?

    public init(body: Layer, depth: Int, injection: InputInjection = .none, layout: TokenLayout = .concatenated,
                title: String = "looped", window: Int? = nil) {
        precondition(depth >= 1, "Looped: depth must be ≥ 1")
        precondition((window ?? 1) >= 1, "Looped: window must be ≥ 1")
        self.body = body
        self.depth = depth
        self.injection = injection
        self.layout = layout
        self.title = title
        self.window = window
    }

    public var parameterPaths: [ParameterPath<Looped>] {
        ParameterPath.block("body", \Looped.body, \Looped.TangentVector.body, of: self)
    }

    public var isDepthAdjustable: Bool { true }
    public var name: String { "\(title) (T = \(depth))" }

    // The prompts are packed into the lane layout once and stay packed between iterations.
    @differentiable(reverse)
    public func readouts(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let (b, t, count) = withoutDerivative(at: (tokens.shape[0], tokens.shape[1], depth))
        let inject = withoutDerivative(at: injection == .additive)
        let e = tokens.lanePacked()
        var z = inject ? e * 0 : e
        var out: [Tensor] = []
        for i in 0..<count {
            let last = i == count - 1
            let updated = body(lanes: inject ? z + e : z, count: b, contextSize: n, fromRow: last ? n : 0)
            out.append(rowReadout(lanes: last ? updated : updated.slice(alongAxis: 1, n..<t), count: b))
            if !last { z = updated }
        }
        return out
    }

    @differentiable(reverse)
    public func lastReadout(_ tokens: Tensor, contextSize n: Int) -> Tensor {
        let (b, count) = withoutDerivative(at: (tokens.shape[0], depth))
        let inject = withoutDerivative(at: injection == .additive)
        let cut = withoutDerivative(at: count - min(window ?? count, count))
        let e = tokens.lanePacked()
        var z = inject ? e * 0 : e
        for i in 0..<(count - 1) {
            z = body(lanes: inject ? z + e : z, count: b, contextSize: n, fromRow: 0)
            if i + 1 == cut { z = withoutDerivative(at: z) }
        }
        return rowReadout(lanes: body(lanes: inject ? z + e : z, count: b, contextSize: n, fromRow: n), count: b)
    }

    public func hiddenStates(_ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let b = tokens.shape[0]
        let e = tokens.lanePacked()
        var z = injection == .additive ? e * 0 : e
        return (0..<depth).map { _ in
            z = body(lanes: injection == .additive ? z + e : z, count: b, contextSize: n, fromRow: 0)
            return z.laneUnpacked(count: b)
        }
    }
}
