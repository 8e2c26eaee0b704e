import NumericCore

// The row layouts (`concatenated`, `adjacencyRows`): one token `(x_i, y_i)` per point, `E = D + 1`, the
// query's y-entry 0. Shared by every model that reads rows (the LSA stack, looped and restricted models).

extension TokenLayout {
    /// Whether tokens are the rows `(x_i, y_i)` of the prompt (so a row model can read them).
    public var isRows: Bool { self == .concatenated || self == .adjacencyRows }

    /// The tokens `[B, N, D + 1]` of prompts whose last point is the query (its y-entry 0).
    public static func rows(_ prompts: PromptBatch) -> Tensor {
        let (b, t, d) = (prompts.batchSize, prompts.pointCount, prompts.dimension)
        let e = d + 1
        var z = [Double](repeating: 0, count: b * t * e)
        prompts.xs.scalars.withUnsafeBufferPointer { xs in
            prompts.ys.scalars.withUnsafeBufferPointer { ys in
                z.withUnsafeMutableBufferPointer { zp in
                    // Shapes were validated with the prompts; raw pointers keep the copy at memory speed.
                    let (x, y, out) = (xs.baseAddress!, ys.baseAddress!, zp.baseAddress!)
                    for r in 0..<(b * t) {
                        let (row, src) = (out + r * e, x + r * d)
                        for j in 0..<d { row[j] = src[j] }
                        if r % t < t - 1 { row[d] = y[r] }
                    }
                }
            }
        }
        return Tensor(shape: [b, t, e], scalars: z)
    }

    /// The tokens `[B, n + Q, D + 1]` of a context `xs [B, n, D]`, `ys [B, n]` and queries `[B, Q, D]`.
    public static func rows(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Tensor {
        let (b, n, d, q) = (contextXs.shape[0], contextXs.shape[1], contextXs.shape[2], queries.shape[1])
        precondition(contextYs.shape == [b, n] && queries.rank == 3 && queries.shape[0] == b && queries.shape[2] == d,
                     "tokens: context \(contextXs.shape), \(contextYs.shape) and queries \(queries.shape) do not fit")
        let (t, e) = (n + q, d + 1)
        var z = [Double](repeating: 0, count: b * t * e)
        for p in 0..<b {
            for i in 0..<n {
                for j in 0..<d { z[(p * t + i) * e + j] = contextXs.scalars[(p * n + i) * d + j] }
                z[(p * t + i) * e + d] = contextYs.scalars[p * n + i]
            }
            for i in 0..<q { for j in 0..<d { z[(p * t + n + i) * e + j] = queries.scalars[(p * q + i) * d + j] } }
        }
        return Tensor(shape: [b, t, e], scalars: z)
    }
}
