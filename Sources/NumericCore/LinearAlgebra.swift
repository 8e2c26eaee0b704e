import CLapack
import Foundation

/// Why a linear-algebra routine refused its input. Each case names the operation and the condition.
public enum LinearAlgebraError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(operation: String, detail: String)
    case nonFinite(operation: String)
    case singular(operation: String, reciprocalCondition: Double)
    case notPositiveDefinite(operation: String, leadingMinor: Int)
    case notSymmetric(operation: String, asymmetry: Double)
    case didNotConverge(operation: String)
    case lapackFailure(operation: String, routine: String, info: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, detail): return "\(op): \(detail)"
        case let .nonFinite(op): return "\(op): input contains NaN or infinity"
        case let .singular(op, rcond):
            return "\(op): matrix is singular to working precision (reciprocal condition number \(rcond))"
        case let .notPositiveDefinite(op, k):
            return "\(op): matrix is not positive definite (leading minor of order \(k) is not positive)"
        case let .notSymmetric(op, asym): return "\(op): matrix is not symmetric (max |A − Aᵀ| = \(asym))"
        case let .didNotConverge(op): return "\(op): LAPACK's iteration did not converge"
        case let .lapackFailure(op, routine, info): return "\(op): \(routine) failed with info = \(info)"
        }
    }
}

/// Dense linear algebra on `[N, N]` / `[M, N]` matrices through LAPACKE (row-major). Inputs are checked
/// (shape, finiteness) and ill-posed problems throw a `LinearAlgebraError`, never return NaN silently.
public enum LinearAlgebra {
    static let rowMajor = Int32(LAPACK_ROW_MAJOR)
    static func ch(_ c: Character) -> CChar { CChar(c.asciiValue!) }

    static func requireMatrix(_ a: Tensor, _ op: String, square: Bool = false) throws {
        guard a.rank == 2 else {
            throw LinearAlgebraError.shapeMismatch(operation: op, detail: "expected a matrix, got shape \(a.shape)")
        }
        if square && a.shape[0] != a.shape[1] {
            throw LinearAlgebraError.shapeMismatch(operation: op, detail: "expected a square matrix, got shape \(a.shape)")
        }
        guard a.isFinite else { throw LinearAlgebraError.nonFinite(operation: op) }
    }

    /// Right-hand side as a matrix `[N, K]` (a vector `[N]` becomes `[N, 1]`), checked against `n` rows.
    static func rightHandSide(_ b: Tensor, rows n: Int, _ op: String) throws -> (Tensor, wasVector: Bool) {
        guard (b.rank == 1 || b.rank == 2), b.shape[0] == n else {
            throw LinearAlgebraError.shapeMismatch(
                operation: op, detail: "right-hand side of shape \(b.shape) does not match a matrix with \(n) rows")
        }
        guard b.isFinite else { throw LinearAlgebraError.nonFinite(operation: op) }
        return (b.rank == 1 ? b.reshaped(to: [n, 1]) : b, b.rank == 1)
    }

    /// Smallest reciprocal condition number accepted before a matrix counts as singular.
    public static let singularityThreshold = Double.ulpOfOne

    /// Solves `A X = B` for square `A` by LU with partial pivoting (`dgetrf`/`dgetrs`); `B` is `[N]` or `[N, K]`.
    /// Throws `.singular` when A's reciprocal condition number (`dgecon`, 1-norm) is below machine epsilon.
    public static func solve(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let op = "solve"
        try requireMatrix(a, op, square: true)
        let n = a.shape[0]
        var (rhs, wasVector) = try rightHandSide(b, rows: n, op)
        if n == 0 { return b }
        var lu = a.scalars
        var pivots = [Int32](repeating: 0, count: n)
        let anorm = LAPACKE_dlange(rowMajor, ch("1"), Int32(n), Int32(n), lu, Int32(n))
        let info = LAPACKE_dgetrf(rowMajor, Int32(n), Int32(n), &lu, Int32(n), &pivots)
        if info > 0 { throw LinearAlgebraError.singular(operation: op, reciprocalCondition: 0) }
        if info < 0 { throw LinearAlgebraError.lapackFailure(operation: op, routine: "dgetrf", info: Int(info)) }
        var rcond = 0.0
        _ = LAPACKE_dgecon(rowMajor, ch("1"), Int32(n), lu, Int32(n), anorm, &rcond)
        if !(rcond >= singularityThreshold) {
            throw LinearAlgebraError.singular(operation: op, reciprocalCondition: rcond)
        }
        let k = rhs.shape[1]
        let info2 = LAPACKE_dgetrs(rowMajor, ch("N"), Int32(n), Int32(k), lu, Int32(n), pivots, &rhs.scalars, Int32(k))
        if info2 != 0 { throw LinearAlgebraError.lapackFailure(operation: op, routine: "dgetrs", info: Int(info2)) }
        return wasVector ? rhs.reshaped(to: [n]) : rhs
    }

    /// The inverse of a square matrix (prefer `solve` when only products with the inverse are needed).
    public static func inverse(_ a: Tensor) throws -> Tensor {
        try requireMatrix(a, "inverse", square: true)
        return try solve(a, Tensor.identity(a.shape[0]))
    }

    /// The lower Cholesky factor `L` with `L Lᵀ = A` for symmetric positive definite `A` (`dpotrf`).
    public static func cholesky(_ a: Tensor) throws -> Tensor {
        let op = "cholesky"
        try requireMatrix(a, op, square: true)
        try requireSymmetric(a, op)
        let n = a.shape[0]
        var l = a.scalars
        let info = LAPACKE_dpotrf(rowMajor, ch("L"), Int32(n), &l, Int32(n))
        if info > 0 { throw LinearAlgebraError.notPositiveDefinite(operation: op, leadingMinor: Int(info)) }
        if info < 0 { throw LinearAlgebraError.lapackFailure(operation: op, routine: "dpotrf", info: Int(info)) }
        for i in 0..<n { for j in (i + 1)..<n { l[i * n + j] = 0 } }   // dpotrf leaves A's upper triangle
        return Tensor(shape: [n, n], scalars: l)
    }

    /// Solves `A X = B` for symmetric positive definite `A` by Cholesky (`dpotrf`/`dpotrs`), checking the
    /// reciprocal condition number (`dpocon`).
    public static func solveSPD(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let op = "solveSPD"
        let l = try cholesky(a)
        let n = a.shape[0]
        var (rhs, wasVector) = try rightHandSide(b, rows: n, op)
        if n == 0 { return b }
        let anorm = LAPACKE_dlange(rowMajor, ch("1"), Int32(n), Int32(n), a.scalars, Int32(n))
        var rcond = 0.0
        _ = LAPACKE_dpocon(rowMajor, ch("L"), Int32(n), l.scalars, Int32(n), anorm, &rcond)
        if !(rcond >= singularityThreshold) {
            throw LinearAlgebraError.singular(operation: op, reciprocalCondition: rcond)
        }
        let k = rhs.shape[1]
        let info = LAPACKE_dpotrs(rowMajor, ch("L"), Int32(n), Int32(k), l.scalars, Int32(n), &rhs.scalars, Int32(k))
        if info != 0 { throw LinearAlgebraError.lapackFailure(operation: op, routine: "dpotrs", info: Int(info)) }
        return wasVector ? rhs.reshaped(to: [n]) : rhs
    }

    /// Relative tolerance for symmetry checks: |A − Aᵀ| ≤ tol · max|A|.
    public static let symmetryTolerance = 1e-10

    static func requireSymmetric(_ a: Tensor, _ op: String) throws {
        let n = a.shape[0]
        var asym = 0.0, scale = 0.0
        for i in 0..<n {
            for j in 0..<n {
                asym = max(asym, abs(a.scalars[i * n + j] - a.scalars[j * n + i]))
                scale = max(scale, abs(a.scalars[i * n + j]))
            }
        }
        if asym > symmetryTolerance * max(scale, 1e-300) {
            throw LinearAlgebraError.notSymmetric(operation: op, asymmetry: asym)
        }
    }

    /// Eigendecomposition of a symmetric matrix, `A = V diag(λ) Vᵀ` (`dsyevd`): eigenvalues `[N]` in
    /// ascending order and orthonormal eigenvectors as the columns of `[N, N]`.
    public static func symmetricEigen(_ a: Tensor) throws -> (values: Tensor, vectors: Tensor) {
        try symmetricEigen(a, vectors: true, "symmetricEigen")
    }

    /// Eigenvalues of a symmetric matrix, ascending (`dsyevd` without vectors: cheaper than `symmetricEigen`).
    public static func symmetricEigenvalues(_ a: Tensor) throws -> Tensor {
        try symmetricEigen(a, vectors: false, "symmetricEigenvalues").values
    }

    static func symmetricEigen(_ a: Tensor, vectors: Bool, _ op: String) throws -> (values: Tensor, vectors: Tensor) {
        try requireMatrix(a, op, square: true)
        try requireSymmetric(a, op)
        let n = a.shape[0]
        var v = a.scalars
        var w = [Double](repeating: 0, count: n)
        if n == 0 { return (Tensor(w), a) }
        let info = LAPACKE_dsyevd(rowMajor, ch(vectors ? "V" : "N"), ch("U"), Int32(n), &v, Int32(n), &w)
        if info > 0 { throw LinearAlgebraError.didNotConverge(operation: op) }
        if info < 0 { throw LinearAlgebraError.lapackFailure(operation: op, routine: "dsyevd", info: Int(info)) }
        return (Tensor(w), Tensor(shape: [n, n], scalars: v))
    }

    /// Thin singular value decomposition `A = U diag(s) Vᵀ` (`dgesdd`): for `A` of shape `[M, N]` and
    /// `k = min(M, N)`, `U` is `[M, k]`, `s` is `[k]` (descending), `Vᵀ` is `[k, N]`.
    public static func svd(_ a: Tensor) throws -> (u: Tensor, s: Tensor, vt: Tensor) {
        let op = "svd"
        try requireMatrix(a, op)
        let m = a.shape[0], n = a.shape[1], k = min(m, n)
        if k == 0 { return (Tensor(zeros: [m, 0]), Tensor(zeros: [0]), Tensor(zeros: [0, n])) }
        var work = a.scalars
        var s = [Double](repeating: 0, count: k)
        var u = [Double](repeating: 0, count: m * k)
        var vt = [Double](repeating: 0, count: k * n)
        let info = LAPACKE_dgesdd(rowMajor, ch("S"), Int32(m), Int32(n), &work, Int32(n), &s, &u, Int32(k), &vt, Int32(n))
        if info > 0 { throw LinearAlgebraError.didNotConverge(operation: op) }
        if info < 0 { throw LinearAlgebraError.lapackFailure(operation: op, routine: "dgesdd", info: Int(info)) }
        return (Tensor(shape: [m, k], scalars: u), Tensor(s), Tensor(shape: [k, n], scalars: vt))
    }

    /// Default relative cut-off for singular values, NumPy's `pinv`/`lstsq` convention: `max(M, N) · ε`.
    public static func defaultRcond(_ a: Tensor) -> Double { Double(max(a.shape[0], a.shape[1])) * .ulpOfOne }

    /// Minimum-norm least squares `argmin ‖A x − b‖` (`dgelsd`, SVD-based): singular values below
    /// `rcond · σ_max` count as zero, so rank-deficient and underdetermined problems give the min-norm solution.
    public static func leastSquares(_ a: Tensor, _ b: Tensor, rcond: Double? = nil) throws -> Tensor {
        let op = "leastSquares"
        try requireMatrix(a, op)
        let m = a.shape[0], n = a.shape[1]
        let (rhs, wasVector) = try rightHandSide(b, rows: m, op)
        let k = rhs.shape[1]
        if m == 0 || n == 0 { return Tensor(zeros: wasVector ? [n] : [n, k]) }
        // dgelsd overwrites B ([max(M, N), K]) with the solution in its first N rows.
        let rows = max(m, n)
        var bb = [Double](repeating: 0, count: rows * k)
        for i in 0..<m { for j in 0..<k { bb[i * k + j] = rhs.scalars[i * k + j] } }
        var aa = a.scalars
        var s = [Double](repeating: 0, count: min(m, n))
        var rank: Int32 = 0
        let info = LAPACKE_dgelsd(rowMajor, Int32(m), Int32(n), Int32(k), &aa, Int32(n), &bb, Int32(k), &s,
                                  rcond ?? defaultRcond(a), &rank)
        if info > 0 { throw LinearAlgebraError.didNotConverge(operation: op) }
        if info < 0 { throw LinearAlgebraError.lapackFailure(operation: op, routine: "dgelsd", info: Int(info)) }
        let x = Tensor(shape: [n, k], scalars: Array(bb[0..<(n * k)]))
        return wasVector ? x.reshaped(to: [n]) : x
    }

    /// The Moore–Penrose pseudo-inverse `A⁺` (`[N, M]` for `A` of shape `[M, N]`) from the SVD, with
    /// singular values below `rcond · σ_max` treated as zero.
    public static func pseudoInverse(_ a: Tensor, rcond: Double? = nil) throws -> Tensor {
        let (u, s, vt) = try svd(a)
        let n = a.shape[1], k = s.scalarCount
        let cutoff = (rcond ?? defaultRcond(a)) * (s.scalars.first ?? 0)
        // A⁺ = V diag(1/s) Uᵀ, keeping only singular values above the cut-off.
        var scaledVT = vt
        for i in 0..<k {
            let inv = s.scalars[i] > cutoff ? 1 / s.scalars[i] : 0
            for j in 0..<n { scaledVT.scalars[i * n + j] *= inv }
        }
        return matmul(scaledVT, u, transposeA: true, transposeB: true)
    }

    /// `log |det A|` and the sign of `det A` for square `A` (LU). Throws `.singular` when `det A = 0`.
    public static func logDeterminant(_ a: Tensor) throws -> (sign: Double, logAbs: Double) {
        let op = "logDeterminant"
        try requireMatrix(a, op, square: true)
        let n = a.shape[0]
        var lu = a.scalars
        var pivots = [Int32](repeating: 0, count: n)
        if n == 0 { return (1, 0) }
        let info = LAPACKE_dgetrf(rowMajor, Int32(n), Int32(n), &lu, Int32(n), &pivots)
        if info > 0 { throw LinearAlgebraError.singular(operation: op, reciprocalCondition: 0) }
        if info < 0 { throw LinearAlgebraError.lapackFailure(operation: op, routine: "dgetrf", info: Int(info)) }
        var sign = 1.0, logAbs = 0.0
        for i in 0..<n {
            let d = lu[i * n + i]
            if d < 0 { sign = -sign }
            if Int(pivots[i]) != i + 1 { sign = -sign }
            logAbs += Foundation.log(abs(d))
        }
        return (sign, logAbs)
    }

    /// `log det A` for symmetric positive definite `A`, as `2 Σ log L_ii` from its Cholesky factor.
    public static func logDeterminantSPD(_ a: Tensor) throws -> Double {
        let l = try cholesky(a)
        let n = a.shape[0]
        var s = 0.0
        for i in 0..<n { s += Foundation.log(l.scalars[i * n + i]) }
        return 2 * s
    }
}
