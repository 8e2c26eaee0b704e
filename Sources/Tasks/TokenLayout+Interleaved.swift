import NumericCore

// Garg et al.'s interleaved layout: x_1, y_1, …, x_n, y_n as 2n tokens of width D (x tokens are x_i, y tokens
// (y_i, 0, …, 0)), learned positional embeddings, a causal mask; y_i is predicted at x_i's token. Queries for
// evaluation are extra x tokens that see the whole context and themselves, all at position 2n.

extension TokenLayout {
    /// Tokens `[B, 2n + Q, D]`: the interleaved context, then the query x tokens.
    public static func interleaved(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Tensor {
        let (b, n, d, q) = (contextXs.shape[0], contextXs.shape[1], contextXs.shape[2], queries.shape[1])
        precondition(contextYs.shape == [b, n] && queries.rank == 3 && queries.shape[0] == b && queries.shape[2] == d,
                     "interleaved tokens: context \(contextXs.shape), \(contextYs.shape) and queries \(queries.shape) do not fit")
        let t = 2 * n + q
        var z = [Double](repeating: 0, count: b * t * d)
        for p in 0..<b {
            for i in 0..<n {
                for j in 0..<d { z[(p * t + 2 * i) * d + j] = contextXs.scalars[(p * n + i) * d + j] }
                z[(p * t + 2 * i + 1) * d] = contextYs.scalars[p * n + i]
            }
            for i in 0..<q { for j in 0..<d { z[(p * t + 2 * n + i) * d + j] = queries.scalars[(p * q + i) * d + j] } }
        }
        return Tensor(shape: [b, t, d], scalars: z)
    }

    /// The mask `[T, T]` of `c` causal context tokens followed by `q` queries that see the context and themselves.
    public static func interleavedMask(contextTokens c: Int, queries q: Int) -> Tensor {
        let t = c + q
        var m = [Double](repeating: -.infinity, count: t * t)
        for i in 0..<c { for j in 0...i { m[i * t + j] = 0 } }
        for i in c..<t {
            for j in 0..<c { m[i * t + j] = 0 }
            m[i * t + i] = 0
        }
        return Tensor(shape: [t, t], scalars: m)
    }

    /// Positions of `c` context tokens and `q` queries: 0..<c, then c for every query (each is "the next x").
    public static func interleavedPositions(contextTokens c: Int, queries q: Int) -> [Int] {
        Array(0..<c) + Array(repeating: c, count: q)
    }
}
