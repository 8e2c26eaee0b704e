import NumericCore

/// Triple-loop matrix product of the last two axes, the reference that BLAS and the direct kernel are tested
/// against. `[M, K]·[K, N]` or `[B, M, K]·[B, K, N]`, with optional transposes.
public func naiveMatmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    let batched = a.rank == 3
    let batch = batched ? a.shape[0] : 1
    let r = a.rank
    let m = transposeA ? a.shape[r - 1] : a.shape[r - 2], k = transposeA ? a.shape[r - 2] : a.shape[r - 1]
    let n = transposeB ? b.shape[r - 2] : b.shape[r - 1]
    var out = [Double](repeating: 0, count: batch * m * n)
    for bb in 0..<batch {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transposeA ? a.scalars[bb * m * k + p * m + i] : a.scalars[bb * m * k + i * k + p]
                    let bv = transposeB ? b.scalars[bb * k * n + j * k + p] : b.scalars[bb * k * n + p * n + j]
                    s += av * bv
                }
                out[bb * m * n + i * n + j] = s
            }
        }
    }
    return Tensor(shape: batched ? [batch, m, n] : [m, n], scalars: out)
}
