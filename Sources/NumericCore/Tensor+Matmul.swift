import BLASRuntime
import CLapack
import Dispatch
import _Differentiation

// Matrix products through `cblas_dgemm`, with a direct kernel for the tiny matrices of in-context prompts
// (an 11 × 11 product is ~2.7k flops, where a BLAS call's fixed cost dominates) and the batch split over
// cores. Every product's result depends only on its own inputs, so results do not depend on threading.

/// Matrix product of the last two axes, `op(a) · op(b)` with `op` an optional transpose.
///
/// Shapes: `[M, K] · [K, N] → [M, N]`; `[B, M, K] · [B, K, N] → [B, M, N]`; a rank-2 operand next to a
/// rank-3 one is shared across the batch (`[B, M, K] · [K, N]`, the common "tokens times weights" case,
/// is one large GEMM). Transposes apply to the last two axes.
@differentiable(reverse)
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition((a.rank == 2 || a.rank == 3) && (b.rank == 2 || b.rank == 3),
                 "matmul: operands must have rank 2 or 3, got shapes \(a.shape) and \(b.shape)")
    let aShape = withoutDerivative(at: a).shape, bShape = withoutDerivative(at: b).shape
    if aShape.count == 3 && bShape.count == 2 {
        if !transposeA { return Tensor.matmulSharedRight(a, b, transposeB: transposeB) }
        return Tensor.matmulPrimitive(a, b.tiledBatch(aShape[0]), transposeA: transposeA, transposeB: transposeB)
    }
    if aShape.count == 2 && bShape.count == 3 {
        return Tensor.matmulPrimitive(a.tiledBatch(bShape[0]), b, transposeA: transposeA, transposeB: transposeB)
    }
    return Tensor.matmulPrimitive(a, b, transposeA: transposeA, transposeB: transposeB)
}

extension Tensor {
    /// Same-rank product: `[M, K]·[K, N]` or `[B, M, K]·[B, K, N]`.
    @differentiable(reverse)
    static func matmulPrimitive(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> Tensor {
        let r = a.rank
        let batch = r == 3 ? a.shape[0] : 1
        let (am, ak) = (a.shape[r - 2], a.shape[r - 1])
        let (bk, bn) = (b.shape[r - 2], b.shape[r - 1])
        let m = transposeA ? ak : am, k = transposeA ? am : ak
        let k2 = transposeB ? bn : bk, n = transposeB ? bk : bn
        precondition(a.rank == b.rank && (r == 2 || a.shape[0] == b.shape[0]) && k == k2,
                     "matmul: shapes \(a.shape)\(transposeA ? "ᵀ" : "") and \(b.shape)\(transposeB ? "ᵀ" : "") do not multiply")
        return a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                Tensor.filled(shape: r == 3 ? [batch, m, n] : [m, n]) { pc in
                    if k == 0 { pc.initialize(repeating: 0); return }
                    Tensor.batchedGemm(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, batch: batch,
                                       m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
                }
            }
        }
    }
    // C = op(A) op(B). With G = ∂L/∂C:
    //   op(A) = A:  dA = G op(B)ᵀ          op(A) = Aᵀ: dA = op(B) Gᵀ
    //   op(B) = B:  dB = op(A)ᵀ G          op(B) = Bᵀ: dB = Gᵀ op(A)
    @derivative(of: matmulPrimitive)
    static func _vjpMatmulPrimitive(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool)
        -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor)) {
        let c = matmulPrimitive(a, b, transposeA: transposeA, transposeB: transposeB)
        return (c, { g in
            let g = g.matching(c.shape)
            return (gradientOfA(g, b, transposeA, transposeB), gradientOfB(g, a, transposeA, transposeB))
        })
    }

    static func gradientOfA(_ g: Tensor, _ b: Tensor, _ transposeA: Bool, _ transposeB: Bool) -> Tensor {
        transposeA
            ? matmulPrimitive(b, g, transposeA: transposeB, transposeB: true)
            : matmulPrimitive(g, b, transposeA: false, transposeB: !transposeB)
    }

    static func gradientOfB(_ g: Tensor, _ a: Tensor, _ transposeA: Bool, _ transposeB: Bool) -> Tensor {
        transposeB
            ? matmulPrimitive(g, a, transposeA: true, transposeB: transposeA)
            : matmulPrimitive(a, g, transposeA: !transposeA, transposeB: false)
    }

    // When only one operand is differentiated (a weight times constant data), compute only its gradient.
    @derivative(of: matmulPrimitive, wrt: a)
    static func _vjpMatmulPrimitiveA(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool)
        -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let c = matmulPrimitive(a, b, transposeA: transposeA, transposeB: transposeB)
        return (c, { g in gradientOfA(g.matching(c.shape), b, transposeA, transposeB) })
    }

    @derivative(of: matmulPrimitive, wrt: b)
    static func _vjpMatmulPrimitiveB(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool)
        -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let c = matmulPrimitive(a, b, transposeA: transposeA, transposeB: transposeB)
        return (c, { g in gradientOfB(g.matching(c.shape), a, transposeA, transposeB) })
    }

    /// Up to this many multiply-adds per product, a batch of products (four or more) goes through the
    /// lane-packed kernel rather than one BLAS call per product (measured with `icl-bench`: at 20 × 40 × 20
    /// the kernel is several times faster than per-product `dgemm`; OpenBLAS wins on large single products).
    public static let directKernelLimit = 48 * 48 * 48
    /// A lone product this small is done by plain loops: cheaper than a BLAS call's set-up.
    public static let tinyProductLimit = 8 * 8 * 8

    /// Products per batch above which the batch is split over cores.
    static let parallelFlopThreshold = 1 << 18

    /// `batch` independent row-major products `C_i = op(A_i) op(B_i)`, `C_i` of shape `[m, n]`.
    static func batchedGemm(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>,
                            batch: Int, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool) {
        if m == 0 || n == 0 { return }
        let strideA = m * k, strideB = k * n, strideC = m * n
        let direct = m * n * k <= (batch >= 4 ? directKernelLimit : tinyProductLimit)
        let work = batch * m * n * k
        // OpenBLAS runs single-threaded (BLASRuntime.c): its idle threads spin-wait against ours. Large work is
        // split here instead — over the batch, or over row blocks of one large product (each output element is
        // still one dgemm's full sum over k, so the split changes no bit).
        let workers = work >= parallelFlopThreshold ? Parallel.workerCount : 1
        if !direct && batch == 1 && workers > 1 && m >= 32 {
            Parallel.forChunks(count: m, workers: workers) { rows in
                blasGemm(transposeA ? a + rows.lowerBound : a + rows.lowerBound * k, b, c + rows.lowerBound * n,
                         m: rows.count, n: n, k: k, transposeA: transposeA, transposeB: transposeB, lda: transposeA ? m : k)
            }
            return
        }
        Parallel.forChunks(count: batch, workers: batch > 1 ? workers : 1) { range in
            if direct {
                icl_small_gemm_batch(a + range.lowerBound * strideA, b + range.lowerBound * strideB,
                                     c + range.lowerBound * strideC, range.count, m, n, k,
                                     transposeA ? 1 : 0, transposeB ? 1 : 0, 0)
                return
            }
            for i in range {
                blasGemm(a + i * strideA, b + i * strideB, c + i * strideC, m: m, n: n, k: k,
                         transposeA: transposeA, transposeB: transposeB)
            }
        }
    }

    /// One row-major product `C = op(A) op(B)` of shape `[m, n]` through `cblas_dgemm` (C is overwritten); `lda`
    /// defaults to A's own row length (a block of rows of a larger op(A) passes the larger one).
    @inline(__always)
    static func blasGemm(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>,
                         m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, lda: Int? = nil) {
        cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1.0, a, Int32(lda ?? (transposeA ? m : k)), b, Int32(transposeB ? k : n),
                    0.0, c, Int32(n))
    }
}

// MARK: - Tokens times a shared weight

extension Tensor {
    /// `[B, M, K] · op(W)` with one weight `W` (`[K, N]`, or `[N, K]` when transposed) for every batch entry:
    /// the "tokens times weights" product. Small weights go through the lane-packed kernel with `W` packed
    /// once; large ones through one flattened GEMM.
    @differentiable(reverse)
    static func matmulSharedRight(_ a: Tensor, _ w: Tensor, transposeB: Bool) -> Tensor {
        precondition(a.rank == 3 && w.rank == 2, "matmul: expected [B, M, K] · [K, N], got \(a.shape) and \(w.shape)")
        let (batch, m, k) = (a.shape[0], a.shape[1], a.shape[2])
        let k2 = transposeB ? w.shape[1] : w.shape[0], n = transposeB ? w.shape[0] : w.shape[1]
        precondition(k == k2, "matmul: shapes \(a.shape) and \(w.shape)\(transposeB ? "ᵀ" : "") do not multiply")
        if m * n * k > directKernelLimit || batch < 4 {
            let flat = matmulPrimitive(a.reshaped(to: [batch * m, k]), w, transposeA: false, transposeB: transposeB)
            return flat.reshaped(to: [batch, m, n])
        }
        return a.scalars.withUnsafeBufferPointer { pa in
            w.scalars.withUnsafeBufferPointer { pw in
                Tensor.filled(shape: [batch, m, n]) { pc in
                    guard let cb = pc.baseAddress else { return }
                    let (ab, wb) = (pa.baseAddress!, pw.baseAddress!)
                    let workers = batch * m * n * k >= parallelFlopThreshold ? Parallel.workerCount : 1
                    Parallel.forChunks(count: batch, workers: workers) { r in
                        icl_small_gemm_batch(ab + r.lowerBound * m * k, wb, cb + r.lowerBound * m * n, r.count,
                                             m, n, k, 0, transposeB ? 1 : 0, 1)
                    }
                }
            }
        }
    }
    // C_b = A_b op(W). With G_b = ∂L/∂C_b: dA_b = G_b op(W)ᵀ (the same shared product), and
    // dW = Σ_b A_bᵀ G_b (or Σ_b G_bᵀ A_b when W enters transposed), a sum over every token.
    @derivative(of: matmulSharedRight)
    static func _vjpMatmulSharedRight(_ a: Tensor, _ w: Tensor, transposeB: Bool)
        -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor)) {
        let c = matmulSharedRight(a, w, transposeB: transposeB)
        return (c, { g in
            let g = g.matching(c.shape)
            return (matmulSharedRight(g, w, transposeB: !transposeB), sharedWeightGradient(a, g, transposeB: transposeB))
        })
    }
    @derivative(of: matmulSharedRight, wrt: a)
    static func _vjpMatmulSharedRightA(_ a: Tensor, _ w: Tensor, transposeB: Bool)
        -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let c = matmulSharedRight(a, w, transposeB: transposeB)
        return (c, { g in matmulSharedRight(g.matching(c.shape), w, transposeB: !transposeB) })
    }
    @derivative(of: matmulSharedRight, wrt: w)
    static func _vjpMatmulSharedRightW(_ a: Tensor, _ w: Tensor, transposeB: Bool)
        -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let c = matmulSharedRight(a, w, transposeB: transposeB)
        return (c, { g in sharedWeightGradient(a, g.matching(c.shape), transposeB: transposeB) })
    }

    /// `Σ_b A_bᵀ G_b` (`[K, N]`), or `Σ_b G_bᵀ A_b` (`[N, K]`) when the weight entered transposed.
    static func sharedWeightGradient(_ a: Tensor, _ g: Tensor, transposeB: Bool) -> Tensor {
        let rows = a.shape[0] * a.shape[1]
        let x = transposeB ? g : a, y = transposeB ? a : g
        return sumOfRowOuterProducts(x.reshaped(to: [rows, x.shape[2]]), y.reshaped(to: [rows, y.shape[2]]))
    }

    /// Row chunks of a weight-gradient reduction; fixed, so the summation order (and every bit of the
    /// result) does not depend on the number of threads.
    static let reductionChunks = 8

    /// `Xᵀ Y` for tall `X [R, K]`, `Y [R, N]`: a lane-packed kernel over fixed row chunks for small K, N,
    /// else one BLAS call.
    public static func sumOfRowOuterProducts(_ x: Tensor, _ y: Tensor) -> Tensor {
        precondition(x.rank == 2 && y.rank == 2 && x.shape[0] == y.shape[0],
                     "sumOfRowOuterProducts: shapes \(x.shape) and \(y.shape) need the same number of rows")
        let (rows, k, n) = (x.shape[0], x.shape[1], y.shape[1])
        // The lane-packed kernel wins for the in-context sizes (E ≈ 11); from 32 × 32 on, BLAS does (OpenBLAS splits
        // the output, not the row sum, across threads, so its result does not depend on the thread count either).
        if k * n >= 32 * 32 { return matmulPrimitive(x, y, transposeA: true, transposeB: false) }
        let chunks = Swift.min(reductionChunks, Swift.max(1, rows / 64))
        var partial = [Double](repeating: 0, count: chunks * k * n)
        x.scalars.withUnsafeBufferPointer { px in
            y.scalars.withUnsafeBufferPointer { py in
                partial.withUnsafeMutableBufferPointer { pp in
                    let (xb, yb, pb) = (px.baseAddress!, py.baseAddress!, pp.baseAddress!)
                    let workers = rows * k * n >= parallelFlopThreshold ? Parallel.workerCount : 1
                    Parallel.forChunks(count: chunks, workers: workers) { range in
                        for c in range {
                            icl_rows_outer_sum(xb, yb, pb + c * k * n, rows * c / chunks, rows * (c + 1) / chunks, k, n)
                        }
                    }
                }
            }
        }
        var out = [Double](repeating: 0, count: k * n)
        for c in 0..<chunks { for i in 0..<(k * n) { out[i] += partial[c * k * n + i] } }
        return Tensor(shape: [k, n], scalars: out)
    }
}
