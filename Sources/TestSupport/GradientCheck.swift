import NumericCore
import XCTest
import _Differentiation

/// Relative error accepted between an analytic gradient and central finite differences in Double:
/// the step h = 1e-5 makes truncation error O(h²) ≈ 1e-10 and rounding error O(ε/h) ≈ 1e-11 relative.
public let gradientCheckTolerance = 1e-6

/// Central finite-difference gradient of a scalar function of one tensor.
public func numericalGradient(at x: Tensor, step h: Double = 1e-5, _ f: (Tensor) -> Double) -> Tensor {
    var g = Tensor(zeros: x.shape)
    var xp = x
    for i in 0..<x.scalarCount {
        let xi = x.scalars[i]
        let hi = h * max(1, abs(xi))
        xp.scalars[i] = xi + hi
        let fp = f(xp)
        xp.scalars[i] = xi - hi
        let fm = f(xp)
        xp.scalars[i] = xi
        g.scalars[i] = (fp - fm) / (2 * hi)
    }
    return g
}

/// ‖a − b‖ / max(‖a‖, ‖b‖, 1e-12): the norm-wise relative error of two gradients.
public func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.shape == b.shape, "relativeError: shapes \(a.shape) and \(b.shape) differ")
    var d = 0.0
    for i in a.scalars.indices { d += (a.scalars[i] - b.scalars[i]) * (a.scalars[i] - b.scalars[i]) }
    return d.squareRoot() / max(a.norm, b.norm, 1e-12)
}

/// A fixed random projection for turning a tensor-valued op into a scalar loss `Σ op(x) ⊙ r`, so that every
/// output element contributes to the checked gradient with a distinct weight.
public func projection(like t: Tensor, seed: UInt64 = 99) -> Tensor {
    var rng = Xoshiro256(seed: seed)
    return Tensor.randomNormal(t.shape, using: &rng)
}

/// Checks the pullback of `op` at `x` against central finite differences of `Σ op(x) ⊙ r`.
public func assertGradientMatches(
    at x: Tensor, tolerance: Double = gradientCheckTolerance, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line,
    _ op: @escaping @differentiable(reverse) (Tensor) -> Tensor
) {
    let r = projection(like: op(x))
    let analytic = gradient(at: x) { x in (op(x) * r).sum() }
    let numeric = numericalGradient(at: x) { (op($0) * r).sum().scalar }
    XCTAssertEqual(analytic.shape, x.shape, "gradient shape \(message)", file: file, line: line)
    let err = relativeError(analytic, numeric)
    XCTAssertLessThan(err, tolerance, "gradient check failed \(message): relative error \(err)", file: file, line: line)
}

/// Checks both partial pullbacks of a binary `op` at `(x, y)` against central finite differences.
public func assertGradientMatches(
    at x: Tensor, _ y: Tensor, tolerance: Double = gradientCheckTolerance, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line,
    _ op: @escaping @differentiable(reverse) (Tensor, Tensor) -> Tensor
) {
    let r = projection(like: op(x, y))
    let (gx, gy) = gradient(at: x, y) { x, y in (op(x, y) * r).sum() }
    let nx = numericalGradient(at: x) { (op($0, y) * r).sum().scalar }
    let ny = numericalGradient(at: y) { (op(x, $0) * r).sum().scalar }
    XCTAssertEqual(gx.shape, x.shape, "lhs gradient shape \(message)", file: file, line: line)
    XCTAssertEqual(gy.shape, y.shape, "rhs gradient shape \(message)", file: file, line: line)
    let ex = relativeError(gx, nx), ey = relativeError(gy, ny)
    XCTAssertLessThan(ex, tolerance, "lhs gradient check failed \(message): relative error \(ex)", file: file, line: line)
    XCTAssertLessThan(ey, tolerance, "rhs gradient check failed \(message): relative error \(ey)", file: file, line: line)
}

/// Asserts two tensors have the same shape and agree elementwise to `tolerance` (absolute).
public func assertClose(_ a: Tensor, _ b: Tensor, tolerance: Double, _ message: String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "shape \(message)", file: file, line: line)
    guard a.shape == b.shape else { return }
    let d = a.maxAbsDifference(b)
    XCTAssertLessThanOrEqual(d, tolerance, "max |a − b| = \(d) \(message)", file: file, line: line)
}
