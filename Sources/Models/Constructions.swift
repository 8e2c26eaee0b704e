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

// A softmax construction: one GPT block whose attention head copies the previous token (the first half of an
// induction head, Olsson et al. 2022), exact up to e^{−β}.

extension GPTBlock {
    /// Tokens for `previousTokenCopy`: row i of prompt p is `[c_i, −c_i, e_i, 0_k]` (width `3k + T`), with
    /// content `c_i ∈ {±1}^k` from `contents [B, T, k]` and `e_i` the one-hot position. Every row then has the same
    /// mean and variance, so LayerNorm is one affine map for all of them.
    public static func previousTokenTokens(_ contents: Tensor) -> Tensor {
        let (b, t, k) = (contents.shape[0], contents.shape[1], contents.shape[2])
        precondition(contents.scalars.allSatisfy { abs($0) == 1 }, "previousTokenTokens: contents must be ±1")
        let w = 3 * k + t
        var x = Tensor(zeros: [b, t, w])
        for p in 0..<b { for i in 0..<t {
            let row = (p * t + i) * w
            for c in 0..<k {
                x.scalars[row + c] = contents.scalars[(p * t + i) * k + c]
                x.scalars[row + k + c] = -contents.scalars[(p * t + i) * k + c]
            }
            x.scalars[row + 2 * k + i] = 1
        } }
        return x
    }

    /// One head, causal mask: `q_i = β e_{i−1}`, `k_j = e_j` (so the score is β exactly at j = i − 1 after the
    /// 1/√W scale), `v_j = c_j`; `W_O` writes the attended value into the last k coordinates and the MLP is zero.
    /// The block maps `[c_i, −c_i, e_i, 0]` to `[c_i, −c_i, e_i, c_{i−1}]` for i ≥ 1 (token 0 sees only itself),
    /// with every other token's softmax weight ≤ e^{−β}. Biases undo LayerNorm's shift μ and gains its scale σ,
    /// which are the same for every row of `previousTokenTokens`.
    public static func previousTokenCopy(contentDimension k: Int, positions t: Int, sharpness beta: Double = 60) -> GPTBlock {
        let w = 3 * k + t
        var rng = Xoshiro256(seed: 0)
        var block = GPTBlock(width: w, heads: 1, std: 0, using: &rng)
        let mu = 1 / Double(w)
        let sigma = (Double(2 * k + 1) / Double(w) - mu * mu + 1e-5).squareRoot()   // LayerNorm's ε included
        let scaled = beta * Double(w).squareRoot()                                    // undoes the 1/√W
        let pos = 2 * k
        for p in 0..<(t - 1) {   // q_i[p] = β [p = i − 1]: row pos + p + 1 feeds column pos + p
            block.query.weight.scalars[(pos + p + 1) * w + pos + p] = sigma * scaled
            block.query.bias.scalars[pos + p] = scaled * mu
        }
        for p in 0..<t {
            block.key.weight.scalars[(pos + p) * w + pos + p] = sigma
            block.key.bias.scalars[pos + p] = mu
        }
        for c in 0..<k {
            block.value.weight.scalars[c * w + c] = sigma
            block.value.bias.scalars[c] = mu
            block.projection.weight.scalars[c * w + 2 * k + t + c] = 1
        }
        return block
    }
}
