import BLASRuntime
import Foundation
import _Differentiation

// Elementwise arithmetic with broadcasting. Each op's pullback sits right below it and reduces the
// incoming gradient back to each operand's shape (`unbroadcast`), the adjoint of stretching.

extension Tensor {
    /// `lhs + rhs`, broadcast.
    @differentiable(reverse)
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
        // Adding the rank-0 additive zero (how differentiation accumulates gradients) returns the other
        // operand without a pass over it.
        if rhs.rank == 0 && rhs.scalars[0] == 0 && lhs.rank > 0 { return lhs }
        if lhs.rank == 0 && lhs.scalars[0] == 0 && rhs.rank > 0 { return rhs }
        return zipBroadcast(lhs, rhs, "+") { $0 + $1 }
    }
    // out = a + b, so da = g and db = g (summed over stretched axes).
    @derivative(of: +)
    public static func _vjpAdd(lhs: Tensor, rhs: Tensor) -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor)) {
        let (ls, rs) = (lhs.shape, rhs.shape)
        return (lhs + rhs, { g in (g.unbroadcast(to: ls), g.unbroadcast(to: rs)) })
    }

    /// `lhs - rhs`, broadcast.
    @differentiable(reverse)
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
        zipBroadcast(lhs, rhs, "-") { $0 - $1 }
    }
    // out = a − b, so da = g and db = −g.
    @derivative(of: -)
    public static func _vjpSubtract(lhs: Tensor, rhs: Tensor) -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor)) {
        let (ls, rs) = (lhs.shape, rhs.shape)
        return (lhs - rhs, { g in (g.unbroadcast(to: ls), (-g).unbroadcast(to: rs)) })
    }

    /// Elementwise product `lhs ⊙ rhs`, broadcast.
    @differentiable(reverse)
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
        zipBroadcast(lhs, rhs, "*") { $0 * $1 }
    }
    // out = a ⊙ b, so da = g ⊙ b and db = g ⊙ a.
    @derivative(of: *)
    public static func _vjpMultiply(lhs: Tensor, rhs: Tensor) -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor)) {
        (lhs * rhs, { g in ((g * rhs).unbroadcast(to: lhs.shape), (g * lhs).unbroadcast(to: rhs.shape)) })
    }

    // Only one factor differentiated (a parameter times constant data): skip the other factor's gradient.
    @derivative(of: *, wrt: lhs)
    public static func _vjpMultiplyLhs(lhs: Tensor, rhs: Tensor) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        (lhs * rhs, { g in (g * rhs).unbroadcast(to: lhs.shape) })
    }
    @derivative(of: *, wrt: rhs)
    public static func _vjpMultiplyRhs(lhs: Tensor, rhs: Tensor) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        (lhs * rhs, { g in (g * lhs).unbroadcast(to: rhs.shape) })
    }

    /// Elementwise quotient `lhs / rhs`, broadcast.
    @differentiable(reverse)
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor {
        zipBroadcast(lhs, rhs, "/") { $0 / $1 }
    }
    // out = a / b, so da = g / b and db = −g a / b².
    @derivative(of: /)
    public static func _vjpDivide(lhs: Tensor, rhs: Tensor) -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor)) {
        let out = lhs / rhs
        return (out, { g in ((g / rhs).unbroadcast(to: lhs.shape), (-(g * out) / rhs).unbroadcast(to: rhs.shape)) })
    }

    /// Elementwise negation.
    @differentiable(reverse)
    public static prefix func - (x: Tensor) -> Tensor { x.map { -$0 } }
    // out = −x, so dx = −g.
    @derivative(of: -)
    public static func _vjpNegate(x: Tensor) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        (-x, { g in -g })
    }

    // Tensor–scalar arithmetic, differentiable in the tensor (the scalar is a constant such as a step size).

    /// `x · c` for a constant scalar `c`.
    @differentiable(reverse, wrt: lhs)
    public static func * (lhs: Tensor, rhs: Double) -> Tensor { lhs.map { $0 * rhs } }
    // out = c x, so dx = c g.
    @derivative(of: *, wrt: lhs)
    public static func _vjpScale(lhs: Tensor, rhs: Double) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        (lhs * rhs, { g in g * rhs })
    }

    /// `c · x` for a constant scalar `c`.
    @differentiable(reverse, wrt: rhs)
    public static func * (lhs: Double, rhs: Tensor) -> Tensor { rhs * lhs }

    /// `x / c` for a constant scalar `c`.
    @differentiable(reverse, wrt: lhs)
    public static func / (lhs: Tensor, rhs: Double) -> Tensor { lhs * (1 / rhs) }

    /// `x + c` for a constant scalar `c`.
    @differentiable(reverse, wrt: lhs)
    public static func + (lhs: Tensor, rhs: Double) -> Tensor { lhs.map { $0 + rhs } }
    // out = x + c, so dx = g.
    @derivative(of: +, wrt: lhs)
    public static func _vjpAddScalar(lhs: Tensor, rhs: Double) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        (lhs + rhs, { g in g })
    }

    /// `x − c` for a constant scalar `c`.
    @differentiable(reverse, wrt: lhs)
    public static func - (lhs: Tensor, rhs: Double) -> Tensor { lhs + (-rhs) }

    /// `f` applied to every element (not differentiable: differentiable elementwise functions are below).
    @inline(__always)
    public func map(_ f: (Double) -> Double) -> Tensor {
        scalars.withUnsafeBufferPointer { p in
            Tensor.filled(shape: shape) { out in for i in 0..<p.count { out[i] = f(p[i]) } }
        }
    }
}

// MARK: - Elementwise functions

extension Tensor {
    /// `x²` elementwise.
    @differentiable(reverse)
    public func squared() -> Tensor { map { $0 * $0 } }
    // out = x², so dx = 2x g.
    @derivative(of: squared)
    public func _vjpSquared() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        (squared(), { g in Tensor.zipBroadcast(g, self, "squared") { 2 * $0 * $1 } })
    }

    /// `eˣ` elementwise.
    @differentiable(reverse)
    public func exp() -> Tensor { map { Foundation.exp($0) } }
    // out = eˣ, so dx = g ⊙ out.
    @derivative(of: exp)
    public func _vjpExp() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let out = exp()
        return (out, { g in g * out })
    }

    /// Natural logarithm elementwise.
    @differentiable(reverse)
    public func log() -> Tensor { map { Foundation.log($0) } }
    // out = ln x, so dx = g / x.
    @derivative(of: log)
    public func _vjpLog() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        (log(), { g in g / self })
    }

    /// `√x` elementwise.
    @differentiable(reverse)
    public func squareRoot() -> Tensor { map { $0.squareRoot() } }
    // out = √x, so dx = g / (2 out).
    @derivative(of: squareRoot)
    public func _vjpSquareRoot() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let out = squareRoot()
        return (out, { g in Tensor.zipBroadcast(g, out, "squareRoot") { $0 / (2 * $1) } })
    }

    /// `tanh x` elementwise.
    @differentiable(reverse)
    public func tanh() -> Tensor { map { Foundation.tanh($0) } }
    // out = tanh x, so dx = g (1 − out²).
    @derivative(of: tanh)
    public func _vjpTanh() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let out = tanh()
        return (out, { g in Tensor.zipBroadcast(g, out, "tanh") { $0 * (1 - $1 * $1) } })
    }

    /// The logistic sigmoid `1 / (1 + e⁻ˣ)` elementwise, evaluated without overflow for large |x|.
    @differentiable(reverse)
    public func sigmoid() -> Tensor { map(Tensor.sigmoidScalar) }
    // out = σ(x), so dx = g out (1 − out).
    @derivative(of: sigmoid)
    public func _vjpSigmoid() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let out = sigmoid()
        return (out, { g in Tensor.zipBroadcast(g, out, "sigmoid") { $0 * $1 * (1 - $1) } })
    }

    @usableFromInline
    static func sigmoidScalar(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
    }

    /// `max(x, 0)` elementwise.
    @differentiable(reverse)
    public func relu() -> Tensor { map { Swift.max($0, 0) } }
    // out = max(x, 0), so dx = g where x > 0, else 0 (the subgradient 0 at x = 0, as PyTorch).
    @derivative(of: relu)
    public func _vjpRelu() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        (relu(), { g in Tensor.zipBroadcast(g, self, "relu") { $1 > 0 ? $0 : 0 } })
    }

    /// GELU with the tanh approximation used by GPT-2 and nanoGPT:
    /// `½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))` (PyTorch's `gelu(approximate="tanh")`).
    @differentiable(reverse)
    public func gelu() -> Tensor {
        _vjpGelu().value
    }
    // With u = c (x + 0.044715 x³): out = ½ x (1 + tanh u), so
    // dx = g [½ (1 + tanh u) + ½ x (1 − tanh² u) c (1 + 3 · 0.044715 x²)].
    @derivative(of: gelu)
    public func _vjpGelu() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        // tanh u is computed once, for the value and the pullback (BLASRuntime/Activations.c, vectorized).
        let n = scalarCount
        var t = [Double](repeating: 0, count: n), out = t
        scalars.withUnsafeBufferPointer { x in
            t.withUnsafeMutableBufferPointer { tp in
                out.withUnsafeMutableBufferPointer { op in
                    if n > 0 { icl_gelu_forward(x.baseAddress!, n, op.baseAddress!, tp.baseAddress!) }
                }
            }
        }
        let x = self
        return (Tensor(shape: shape, scalars: out), { g in
            let g = g.matching(x.shape)
            let dx = [Double](unsafeUninitializedCapacity: n) { d, count in
                x.scalars.withUnsafeBufferPointer { xs in
                    g.scalars.withUnsafeBufferPointer { gs in
                        t.withUnsafeBufferPointer { ts in
                            if n > 0 { icl_gelu_backward(xs.baseAddress!, ts.baseAddress!, gs.baseAddress!, n, d.baseAddress!) }
                        }
                    }
                }
                count = n
            }
            return Tensor(shape: x.shape, scalars: dx)
        })
    }

    /// Exact GELU `x Φ(x)` with the Gaussian CDF Φ (PyTorch's default `gelu`).
    @differentiable(reverse)
    public func geluExact() -> Tensor { map { x in 0.5 * x * (1 + erf(x / 2.0.squareRoot())) } }
    // out = x Φ(x), so dx = g (Φ(x) + x φ(x)).
    @derivative(of: geluExact)
    public func _vjpGeluExact() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        (geluExact(), { g in
            Tensor.zipBroadcast(g, self, "geluExact") { g, x in
                let cdf = 0.5 * (1 + erf(x / 2.0.squareRoot()))
                let pdf = Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
                return g * (cdf + x * pdf)
            }
        })
    }

    @usableFromInline static let geluC = (2 / Double.pi).squareRoot()
}
