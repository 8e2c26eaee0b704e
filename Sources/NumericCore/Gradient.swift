import _Differentiation

// `gradient(at:of:)` for losses that are rank-0 `Tensor`s (the standard library's versions want a
// `FloatingPoint` result). The seed of the pullback is the scalar 1.

/// The value and gradient of a scalar-tensor loss of one differentiable argument.
public func valueWithGradient<T: Differentiable>(
    at x: T, of f: @differentiable(reverse) (T) -> Tensor
) -> (value: Double, gradient: T.TangentVector) {
    let (y, pullback) = valueWithPullback(at: x, of: f)
    precondition(y.scalarCount == 1, "valueWithGradient: the loss must be a scalar, got shape \(y.shape)")
    return (y.scalars[0], pullback(Tensor(shape: y.shape, scalars: [1])))
}

/// The gradient of a scalar-tensor loss of one differentiable argument.
public func gradient<T: Differentiable>(at x: T, of f: @differentiable(reverse) (T) -> Tensor) -> T.TangentVector {
    valueWithGradient(at: x, of: f).gradient
}

/// The value and gradients of a scalar-tensor loss of two differentiable arguments.
public func valueWithGradient<T: Differentiable, U: Differentiable>(
    at x: T, _ y: U, of f: @differentiable(reverse) (T, U) -> Tensor
) -> (value: Double, gradient: (T.TangentVector, U.TangentVector)) {
    let (v, pullback) = valueWithPullback(at: x, y, of: f)
    precondition(v.scalarCount == 1, "valueWithGradient: the loss must be a scalar, got shape \(v.shape)")
    return (v.scalars[0], pullback(Tensor(shape: v.shape, scalars: [1])))
}

/// The gradients of a scalar-tensor loss of two differentiable arguments.
public func gradient<T: Differentiable, U: Differentiable>(
    at x: T, _ y: U, of f: @differentiable(reverse) (T, U) -> Tensor
) -> (T.TangentVector, U.TangentVector) {
    valueWithGradient(at: x, y, of: f).gradient
}
