import NumericCore
import TestSupport
import XCTest

/// LAPACKE wrappers checked by identities, and their typed errors on bad input.
final class LinearAlgebraTests: XCTestCase {
    /// Identities on well-conditioned 6×6–8×8 matrices hold to a few hundred ulps of their entries.
    let tolerance = 1e-10
    var rng = Xoshiro256(seed: 21)

    func spd(_ n: Int) -> Tensor {
        let a = Tensor.randomNormal([n, n], using: &rng)
        return matmul(a, a, transposeB: true) + Tensor.identity(n) * Double(n)
    }

    func testSolveResidual() throws {
        let a = Tensor.randomNormal([7, 7], using: &rng) + Tensor.identity(7) * 3
        let b = Tensor.randomNormal([7], using: &rng)
        let x = try LinearAlgebra.solve(a, b)
        assertClose(matmul(a, x.reshaped(to: [7, 1])).reshaped(to: [7]), b, tolerance: tolerance, "A x = b")
        let bm = Tensor.randomNormal([7, 3], using: &rng)
        assertClose(matmul(a, try LinearAlgebra.solve(a, bm)), bm, tolerance: tolerance, "A X = B")
        assertClose(matmul(a, try LinearAlgebra.inverse(a)), Tensor.identity(7), tolerance: tolerance, "A A⁻¹ = I")
    }

    func testCholeskyAndSPDSolve() throws {
        let a = spd(6)
        let l = try LinearAlgebra.cholesky(a)
        assertClose(matmul(l, l, transposeB: true), a, tolerance: tolerance, "L Lᵀ = A")
        for i in 0..<6 { for j in (i + 1)..<6 { XCTAssertEqual(l[i, j], 0, "L is lower triangular") } }
        let b = Tensor.randomNormal([6, 2], using: &rng)
        assertClose(matmul(a, try LinearAlgebra.solveSPD(a, b)), b, tolerance: tolerance, "A X = B (SPD)")
        let logdet = try LinearAlgebra.logDeterminantSPD(a)
        let (sign, logAbs) = try LinearAlgebra.logDeterminant(a)
        XCTAssertEqual(sign, 1)
        XCTAssertEqual(logdet, logAbs, accuracy: tolerance)
    }

    func testSymmetricEigen() throws {
        let a = spd(8) - Tensor.identity(8) * 10     // indefinite, still symmetric
        let (values, vectors) = try LinearAlgebra.symmetricEigen(a)
        assertClose(matmul(a, vectors), vectors * values, tolerance: tolerance, "A V = V Λ")
        assertClose(matmul(vectors, vectors, transposeA: true), Tensor.identity(8), tolerance: tolerance, "VᵀV = I")
        XCTAssertEqual(values.scalars, values.scalars.sorted(), "ascending eigenvalues")
        // det A = Π λ.
        let (sign, logAbs) = try LinearAlgebra.logDeterminant(a)
        let product = values.scalars.reduce(1, *)
        XCTAssertEqual(sign * Foundation.exp(logAbs), product, accuracy: abs(product) * 1e-10)
    }

    func testSVDAndPseudoInverse() throws {
        for shape in [[5, 3], [3, 5], [4, 4]] {
            let a = Tensor.randomNormal(shape, using: &rng)
            let (u, s, vt) = try LinearAlgebra.svd(a)
            assertClose(matmul(u * s, vt), a, tolerance: tolerance, "U Σ Vᵀ = A \(shape)")
            XCTAssertEqual(s.scalars, s.scalars.sorted(by: >), "descending singular values")
            let p = try LinearAlgebra.pseudoInverse(a)
            XCTAssertEqual(p.shape, [shape[1], shape[0]])
            assertClose(matmul(matmul(a, p), a), a, tolerance: tolerance, "A A⁺ A = A \(shape)")
            assertClose(matmul(matmul(p, a), p), p, tolerance: tolerance, "A⁺ A A⁺ = A⁺ \(shape)")
        }
        // Rank-deficient: a rank-2 5×4 matrix; the Penrose identities still hold.
        let r = matmul(Tensor.randomNormal([5, 2], using: &rng), Tensor.randomNormal([2, 4], using: &rng))
        let p = try LinearAlgebra.pseudoInverse(r)
        assertClose(matmul(matmul(r, p), r), r, tolerance: tolerance, "rank-deficient A A⁺ A = A")
        assertClose(matmul(matmul(p, r), p), p, tolerance: tolerance, "rank-deficient A⁺ A A⁺ = A⁺")
    }

    func testLeastSquaresIsMinNorm() throws {
        // Overdetermined: the residual is orthogonal to the columns (normal equations).
        let a = Tensor.randomNormal([9, 4], using: &rng), b = Tensor.randomNormal([9], using: &rng)
        let x = try LinearAlgebra.leastSquares(a, b)
        let residual = b - matmul(a, x.reshaped(to: [4, 1])).reshaped(to: [9])
        assertClose(matmul(a, residual.reshaped(to: [9, 1]), transposeA: true), Tensor(zeros: [4, 1]),
                    tolerance: tolerance, "Aᵀ(b − A x) = 0")
        // Underdetermined: x = A⁺ b, the minimum-norm interpolant.
        let w = Tensor.randomNormal([3, 6], using: &rng), c = Tensor.randomNormal([3], using: &rng)
        let xmin = try LinearAlgebra.leastSquares(w, c)
        assertClose(matmul(w, xmin.reshaped(to: [6, 1])).reshaped(to: [3]), c, tolerance: tolerance, "interpolates")
        let viaPinv = matmul(try LinearAlgebra.pseudoInverse(w), c.reshaped(to: [3, 1])).reshaped(to: [6])
        assertClose(xmin, viaPinv, tolerance: tolerance, "min-norm = A⁺ b")
    }

    func testTypedErrors() {
        let singular = Tensor([[1, 2], [2, 4]])
        XCTAssertThrowsError(try LinearAlgebra.solve(singular, Tensor([1, 1]))) { e in
            guard case .singular = e as? LinearAlgebraError else { return XCTFail("\(e)") }
        }
        // Nearly singular (condition ~1e17) is refused too, rather than answered with garbage.
        let nearly = Tensor([[1, 1], [1, 1 + 1e-17 * 4]])
        XCTAssertThrowsError(try LinearAlgebra.solve(nearly, Tensor([1, 2])))
        XCTAssertThrowsError(try LinearAlgebra.cholesky(Tensor([[1, 2], [2, 1]]))) { e in
            XCTAssertEqual(e as? LinearAlgebraError, .notPositiveDefinite(operation: "cholesky", leadingMinor: 2))
        }
        XCTAssertThrowsError(try LinearAlgebra.cholesky(Tensor([[2, 1], [0, 2]]))) { e in
            guard case .notSymmetric = e as? LinearAlgebraError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try LinearAlgebra.solve(Tensor([[1, .nan], [0, 1]]), Tensor([1, 1]))) { e in
            XCTAssertEqual(e as? LinearAlgebraError, .nonFinite(operation: "solve"))
            XCTAssertTrue("\(e)".contains("NaN"), "\(e)")
        }
        XCTAssertThrowsError(try LinearAlgebra.solve(Tensor.identity(3), Tensor([1, 2]))) { e in
            XCTAssertTrue("\(e)".contains("[2]"), "the message names the shape: \(e)")
        }
        XCTAssertThrowsError(try LinearAlgebra.svd(Tensor([1, 2, 3]))) { e in
            XCTAssertTrue("\(e)".contains("[3]"), "\(e)")
        }
        XCTAssertThrowsError(try LinearAlgebra.logDeterminant(singular))
        XCTAssertThrowsError(try LinearAlgebra.symmetricEigen(Tensor([[1, .infinity], [.infinity, 1]])))
    }
}

import Foundation
