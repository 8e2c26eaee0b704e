import CLapack

/// Dense kernels for the tiny systems of per-prompt learners (D ≈ 5–40), where a LAPACK call's checks and
/// allocations cost more than the arithmetic. Callers guarantee well-posed input (e.g. `S + λI`, λ > 0).
public enum SmallDense {
    /// Solves `A x = b` in place for symmetric positive definite row-major `A [n, n]` by Cholesky;
    /// `a` is overwritten by its factor, `b` by the solution. Returns false (leaving `b` unspecified) if a
    /// pivot is not positive.
    @discardableResult
    public static func choleskySolveInPlace(_ a: inout [Double], _ b: inout [Double], _ n: Int) -> Bool {
        for j in 0..<n {
            var diag = a[j * n + j]
            for k in 0..<j { diag -= a[j * n + k] * a[j * n + k] }
            guard diag > 0 else { return false }
            let ljj = diag.squareRoot()
            a[j * n + j] = ljj
            for i in (j + 1)..<n {
                var s = a[i * n + j]
                for k in 0..<j { s -= a[i * n + k] * a[j * n + k] }
                a[i * n + j] = s / ljj
            }
        }
        for i in 0..<n {                       // L z = b
            var s = b[i]
            for k in 0..<i { s -= a[i * n + k] * b[k] }
            b[i] = s / a[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {   // Lᵀ x = z
            var s = b[i]
            for k in (i + 1)..<n { s -= a[k * n + i] * b[k] }
            b[i] = s / a[i * n + i]
        }
        return true
    }
}

extension SmallDense {
    /// Least squares `argmin ‖X w − y‖` for row-major `X [n, d]` with `n ≥ d`, by Householder QR
    /// (error ∝ κ(X), like LAPACK's QR solvers, not κ(X)² as the normal equations). Returns false — leaving
    /// `w` unspecified — when X is numerically rank deficient (`|R_kk| ≤ max(n, d) · ε · max|R_ii|`), where
    /// the caller should use the SVD-based minimum-norm solver instead. `work` is resized as needed.
    public static func householderLeastSquares(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, n: Int, d: Int,
                                               into w: UnsafeMutablePointer<Double>, work: inout [Double]) -> Bool {
        precondition(n >= d, "householderLeastSquares: needs n ≥ d, got n = \(n), d = \(d)")
        if work.count < n * d + n + d { work = [Double](repeating: 0, count: n * d + n + d) }
        return work.withUnsafeMutableBufferPointer { buf -> Bool in
            let a = buf.baseAddress!, r = a + n * d, rdiag = r + n
            for i in 0..<n { for j in 0..<d { a[j * n + i] = x[i * d + j] } }   // column-major copy
            for i in 0..<n { r[i] = y[i] }
            var largest = 0.0
            for k in 0..<d {
                let col = a + k * n
                var norm = 0.0
                for i in k..<n { norm += col[i] * col[i] }
                norm = norm.squareRoot()
                if norm == 0 { return false }
                let alpha = col[k] > 0 ? -norm : norm
                col[k] -= alpha                                   // v = a_k − α e_k, stored in place
                let vnorm2 = 2 * norm * (norm + abs(col[k] + alpha))   // ‖v‖² = 2‖a‖(‖a‖ + |a_kk|)
                for j in (k + 1)..<d {
                    let cj = a + j * n
                    var dot = 0.0
                    for i in k..<n { dot += col[i] * cj[i] }
                    let t = 2 * dot / vnorm2
                    for i in k..<n { cj[i] -= t * col[i] }
                }
                var dot = 0.0
                for i in k..<n { dot += col[i] * r[i] }
                let t = 2 * dot / vnorm2
                for i in k..<n { r[i] -= t * col[i] }
                rdiag[k] = alpha
                largest = max(largest, abs(alpha))
            }
            let tolerance = Double(max(n, d)) * .ulpOfOne * largest
            for k in 0..<d where abs(rdiag[k]) <= tolerance { return false }
            for k in stride(from: d - 1, through: 0, by: -1) {      // R w = Qᵀy
                var s = r[k]
                for j in (k + 1)..<d { s -= a[j * n + k] * w[j] }
                w[k] = s / rdiag[k]
            }
            return true
        }
    }
}

extension SmallDense {
    /// The largest eigenvalue of the symmetric `[n, n]` matrix at `a` (LAPACK `dsyevd` without vectors, on a
    /// copy; a symmetric matrix reads the same in row- and column-major order, so no transposition is made).
    /// `work` is resized as needed; NaN if LAPACK fails.
    public static func largestEigenvalue(ofSymmetric a: UnsafePointer<Double>, n: Int, work: inout [Double]) -> Double {
        if n == 0 { return 0 }
        let need = n * n + n + 2 * n + 1
        if work.count < need { work = [Double](repeating: 0, count: need) }
        var iwork: Int32 = 0
        return work.withUnsafeMutableBufferPointer { w in
            let copy = w.baseAddress!, values = copy + n * n, scratch = values + n
            copy.update(from: a, count: n * n)
            let info = LAPACKE_dsyevd_work(Int32(LAPACK_COL_MAJOR), CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "U")),
                                           Int32(n), copy, Int32(n), values, scratch, Int32(2 * n + 1), &iwork, 1)
            return info == 0 ? values[n - 1] : .nan
        }
    }
}
