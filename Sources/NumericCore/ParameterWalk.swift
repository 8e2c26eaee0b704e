import _Differentiation

/// Where one trainable tensor lives in a model and where its gradient lives in the model's tangent.
public struct ParameterPath<Model: Differentiable> {
    /// A stable name, used for checkpoints (`.npz` array names) and reports.
    public let name: String
    public let value: WritableKeyPath<Model, Tensor>
    /// Reads the parameter's gradient from a tangent; nil where the tangent holds no entry for it (an
    /// array of blocks whose tangent is the empty additive zero).
    public let gradient: (Model.TangentVector) -> Tensor?

    public init(_ name: String, _ value: WritableKeyPath<Model, Tensor>,
                _ gradient: KeyPath<Model.TangentVector, Tensor>) {
        self.name = name
        self.value = value
        self.gradient = { $0[keyPath: gradient] }
    }

    public init(_ name: String, _ value: WritableKeyPath<Model, Tensor>, gradient: @escaping (Model.TangentVector) -> Tensor?) {
        self.name = name
        self.value = value
        self.gradient = gradient
    }

    /// The paths of block `index` of an array of blocks `blocks` (a stack of layers), named `prefix.index.name`:
    /// the walk reaches into lists of blocks through the tangent's `Array.DifferentiableView`.
    public static func blocks<Block: ParameterWalkable>(
        _ prefix: String, _ blocks: WritableKeyPath<Model, [Block]>,
        _ tangent: KeyPath<Model.TangentVector, Array<Block.TangentVector>.DifferentiableView>, of model: Model
    ) -> [ParameterPath] {
        model[keyPath: blocks].indices.flatMap { i in
            model[keyPath: blocks][i].parameterPaths.map { inner in
                ParameterPath("\(prefix).\(i).\(inner.name)", blocks.appending(path: \[Block].[i]).appending(path: inner.value),
                              gradient: { t in
                                  let base = t[keyPath: tangent].base
                                  return i < base.count ? inner.gradient(base[i]) : nil
                              })
            }
        }
    }

    /// The paths of a single nested block `block`, named `prefix.name`.
    public static func block<Block: ParameterWalkable>(
        _ prefix: String, _ block: WritableKeyPath<Model, Block>, _ tangent: KeyPath<Model.TangentVector, Block.TangentVector>,
        of model: Model
    ) -> [ParameterPath] {
        model[keyPath: block].parameterPaths.map { inner in
            ParameterPath("\(prefix).\(inner.name)", block.appending(path: inner.value),
                          gradient: { t in inner.gradient(t[keyPath: tangent]) })
        }
    }
}

/// A model whose trainable tensors an optimizer can walk: each model lists its parameters once, as pairs of
/// key paths into itself and into its tangent vector (whose stored properties the compiler synthesizes
/// with the same names). `TestSupport.assertWalkCoversEveryParameter` checks, by reflection, that the
/// list reaches every stored `Tensor` exactly once.
public protocol ParameterWalkable: Differentiable {
    var parameterPaths: [ParameterPath<Self>] { get }
}

extension ParameterWalkable {
    /// The parameters by name, in walk order.
    public var namedParameters: [(name: String, value: Tensor)] {
        parameterPaths.map { ($0.name, self[keyPath: $0.value]) }
    }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameterPaths.reduce(0) { $0 + self[keyPath: $1.value].scalarCount } }

    /// The gradient tensor for `path`, with the rank-0 additive zero (an untouched parameter) expanded to
    /// the parameter's shape.
    public func gradient(_ tangent: TangentVector, at path: ParameterPath<Self>) -> Tensor {
        let shape = self[keyPath: path.value].shape
        guard let g = path.gradient(tangent) else { return Tensor(zeros: shape) }
        if g.shape == shape { return g }
        precondition(g.rank == 0, "gradient for \(path.name) has shape \(g.shape), parameter has shape \(shape)")
        return Tensor(repeating: g.scalar, shape: shape)
    }

    /// The Euclidean norm of the whole gradient, over every parameter.
    ///
    /// The squares are summed per kind of parameter (the last component of its name: `wKQ`, `wPV`, …) across
    /// blocks, in walk order, and the kinds' sums are then added: the same order of additions whether a stack
    /// stores its layers as one `[L·H, E, E]` tensor or as a list of blocks, so the two clip identically.
    public func gradientNorm(_ tangent: TangentVector) -> Double {
        var kinds: [String] = []
        var sums: [String: Double] = [:]
        for p in parameterPaths {
            let kind = String(p.name.split(separator: ".").last ?? Substring(p.name))
            if sums[kind] == nil { kinds.append(kind); sums[kind] = 0 }
            sums[kind] = gradient(tangent, at: p).scalars.reduce(sums[kind]!) { $0 + $1 * $1 }
        }
        return kinds.reduce(0.0) { $0 + sums[$1]! }.squareRoot()
    }
}
