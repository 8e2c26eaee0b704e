import NumericCore
import _Differentiation

// Hand-built LSA weights that provably run a classical algorithm (REFERENCES §1–2). They are ordinary
// `LinearSelfAttention` values: the same forward pass, analysis and checkpoints as trained models.

extension LinearSelfAttention {
    /// The block matrix `[[T, 0], [0, r]]` `[E, E]` from its top-left `[D, D]` block T and bottom-right entry r.
    static func blocks(topLeft: Tensor, bottomRight: Double) -> Tensor {
        let d = topLeft.shape[0], e = d + 1
        var m = Tensor(zeros: [e, e])
        for i in 0..<d { for j in 0..<d { m.scalars[i * e + j] = topLeft.scalars[i * d + j] } }
        m.scalars[d * e + d] = bottomRight
        return m
    }

    /// von Oswald et al.'s Proposition 1 with `W₀ = 0`: `steps` layers, each one step of GD with step η on
    /// `L(w) = (1/2n)‖y − Xw‖²` from `w = 0`: `W_KQ = [[I, 0], [0, 0]]`, `W_PV = [[0, 0], [0, −η]]` (the
    /// layer's 1/n supplies P's 1/n). After layer k the query reads out `w_kᵀ x_q` and every context
    /// y-entry is the residual `y_i − w_kᵀ x_i`.
    public static func gradientDescent(dimension d: Int, steps: Int, learningRate eta: Double) -> LinearSelfAttention {
        let kq = blocks(topLeft: Tensor.identity(d), bottomRight: 0)
        let pv = blocks(topLeft: Tensor(zeros: [d, d]), bottomRight: -eta)
        return LinearSelfAttention(wKQ: kq.tiledBatch(steps), wPV: pv.tiledBatch(steps))
    }

    /// GD++ (curvature correction): each layer is a GD step with step η and also transforms every input by
    /// `x ← (I − γ XᵀX) x`: `W_PV = diag(−γ n I, −η)` (γ multiplies the unnormalized XᵀX, so the n cancels
    /// the layer's 1/n; the construction therefore depends on the context size n).
    public static func gdPlusPlus(dimension d: Int, steps: Int, learningRate eta: Double, gamma: Double,
                                  contextSize n: Int) -> LinearSelfAttention {
        let kq = blocks(topLeft: Tensor.identity(d), bottomRight: 0)
        let pv = blocks(topLeft: Tensor.identity(d) * (-gamma * Double(n)), bottomRight: -eta)
        return LinearSelfAttention(wKQ: kq.tiledBatch(steps), wPV: pv.tiledBatch(steps))
    }

    /// Ahn et al. / Gatmiry et al.'s restricted layer `Z ← Z − (1/n) P Z M (Zᵀ Q Z)` with
    /// `P = e_{E} e_{E}ᵀ`, `Q = diag(A, 0)`, looped `depth` times: `depth` steps of GD preconditioned by `Aᵀ`.
    public static func preconditionedGradientDescent(_ a: Tensor, depth: Int) -> LinearSelfAttention {
        let d = a.shape[0]
        let kq = blocks(topLeft: a, bottomRight: 0)
        let pv = blocks(topLeft: Tensor(zeros: [d, d]), bottomRight: -1)
        return LinearSelfAttention(wKQ: kq.reshaped(to: [1, d + 1, d + 1]), wPV: pv.reshaped(to: [1, d + 1, d + 1]),
                                   depth: depth)
    }
}

/// The restricted looped LSA of Ahn et al. (2023) and Gatmiry et al. (2024) with its one trainable
/// matrix `A [D, D]`: `Q = diag(A, 0)`, `P = e_E e_Eᵀ` fixed, shared across `depth` loop iterations.
/// It computes `depth` steps of `w ← w + Aᵀ Xᵀ(y − Xw)/n` from `w = 0`.
///
/// With `symmetric`, the preconditioner is constrained to `(A + Aᵀ)/2` (a symmetric preconditioner, as in
/// Ahn et al.'s analysis); unconstrained training can also use an antisymmetric part.
public struct RestrictedLoopedLSA: ParameterWalkable {
    public var a: Tensor
    @noDerivative public var depth: Int
    @noDerivative public var symmetric: Bool

    public var parameterPaths: [ParameterPath<RestrictedLoopedLSA>] { [ParameterPath("A", \.a, \.a)] }

    public init(a: Tensor, depth: Int, symmetric: Bool = false) {
        precondition(a.rank == 2 && a.shape[0] == a.shape[1], "RestrictedLoopedLSA: A must be square, got \(a.shape)")
        self.a = a
        self.depth = depth
        self.symmetric = symmetric
    }

    /// The preconditioner the model applies: `A`, or `(A + Aᵀ)/2` when constrained symmetric.
    @differentiable(reverse)
    public var preconditioner: Tensor { symmetric ? (a + a.matrixTransposed()) / 2 : a }

    /// The equivalent general LSA (its `W_KQ` is `diag(A, 0)`), differentiable in `A`.
    @differentiable(reverse)
    public var model: LinearSelfAttention {
        let d = withoutDerivative(at: a.shape[0])
        let column = preconditioner.concatenated(with: Tensor(zeros: [d, 1]), alongAxis: 1)   // [D, E]
        let kq = column.concatenated(with: Tensor(zeros: [1, d + 1]), alongAxis: 0)         // [E, E]
        let pv = withoutDerivative(at: LinearSelfAttention.blocks(topLeft: Tensor(zeros: [d, d]), bottomRight: -1))
        return LinearSelfAttention(wKQ: kq.reshaped(to: [1, d + 1, d + 1]), wPV: pv.reshaped(to: [1, d + 1, d + 1]),
                                   depth: depth)
    }
}
