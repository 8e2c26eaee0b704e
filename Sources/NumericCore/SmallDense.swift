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
