import NumericCore

// The paired layout (softmax transformers on CPU): one token `[x_j, y_j, 0]` per context example and one
// `[x_i, 0, 1]` per prediction, `E = D + 2`. A query token attends the context tokens it may see and itself;
// context tokens attend causally to context. No positional embedding: the mask carries the order.

extension TokenLayout {
    /// Tokens `[B, n + Q, D + 2]`: the context `xs [B, n, D]`, `ys [B, n]`, then the queries `[B, Q, D]`.
    public static func paired(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Tensor {
        let (b, n, d, q) = (contextXs.shape[0], contextXs.shape[1], contextXs.shape[2], queries.shape[1])
        precondition(contextYs.shape == [b, n] && queries.rank == 3 && queries.shape[0] == b && queries.shape[2] == d,
                     "paired tokens: context \(contextXs.shape), \(contextYs.shape) and queries \(queries.shape) do not fit")
        let (t, e) = (n + q, d + 2)
        var z = [Double](repeating: 0, count: b * t * e)
        for p in 0..<b {
            for i in 0..<n {
                for j in 0..<d { z[(p * t + i) * e + j] = contextXs.scalars[(p * n + i) * d + j] }
                z[(p * t + i) * e + d] = contextYs.scalars[p * n + i]
            }
            for i in 0..<q {
                for j in 0..<d { z[(p * t + n + i) * e + j] = queries.scalars[(p * q + i) * d + j] }
                z[(p * t + n + i) * e + d + 1] = 1
            }
        }
        return Tensor(shape: [b, t, e], scalars: z)
    }

    /// Tokens `[B, 2N, D + 2]` that predict every point from the ones before it in one pass: the N points as
    /// context, then one query per point (query i may see context tokens j < i; see `pairedMask`).
    public static func pairedPrefixes(_ prompts: PromptBatch) -> Tensor {
        paired(contextXs: prompts.xs, contextYs: prompts.ys, queries: prompts.xs)
    }

    /// The additive mask `[T, T]` (0: may attend, −∞: may not) of paired tokens with `n` context tokens:
    /// context token i attends context j ≤ i; query q (row n + q) attends context j < `visible[q]` and itself.
    public static func pairedMask(contextSize n: Int, visible: [Int]) -> Tensor {
        let t = n + visible.count
        var m = [Double](repeating: -.infinity, count: t * t)
        for i in 0..<n { for j in 0...i { m[i * t + j] = 0 } }
        for (q, seen) in visible.enumerated() {
            precondition(seen >= 0 && seen <= n, "pairedMask: query \(q) sees \(seen) of \(n) context tokens")
            let i = n + q
            for j in 0..<seen { m[i * t + j] = 0 }
            m[i * t + i] = 0
        }
        return Tensor(shape: [t, t], scalars: m)
    }
}
