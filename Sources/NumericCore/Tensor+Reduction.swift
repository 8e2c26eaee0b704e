import _Differentiation

// Sums and means, whole-tensor or along one axis. The pullback of a sum stretches the gradient back
// over the summed axis; a mean also divides by the axis length.

extension Tensor {
    /// Normalizes a possibly negative axis (−1 is the last) and checks it.
    @usableFromInline
    func checkedAxis(_ axis: Int, _ operation: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "Tensor \(operation): axis \(axis) is out of range for shape \(shape)")
        return a
    }

    /// (outer, n, inner) extents around `axis`, for loops over a row-major layout.
    @usableFromInline
    func splitExtents(_ axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// The sum of all elements, as a rank-0 tensor.
    @differentiable(reverse)
    public func sum() -> Tensor {
        var s = 0.0
        scalars.withUnsafeBufferPointer { p in for x in p { s += x } }
        return Tensor(s)
    }
    // out = Σ x, so dx = g everywhere.
    @derivative(of: sum)
    public func _vjpSum() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let s = shape
        return (sum(), { g in Tensor(repeating: g.scalar, shape: s) })
    }

    /// The mean of all elements, as a rank-0 tensor.
    @differentiable(reverse)
    public func mean() -> Tensor { sum() / withoutDerivative(at: Double(Swift.max(scalarCount, 1))) }

    /// Sums along `axis` (negative counts from the end); the axis is removed unless `keepingDims`.
    @differentiable(reverse)
    public func sum(alongAxis axis: Int, keepingDims: Bool = false) -> Tensor {
        let a = checkedAxis(axis, "sum(alongAxis:)")
        let (outer, n, inner) = splitExtents(a)
        var out = [Double](repeating: 0, count: outer * inner)
        scalars.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<outer {
                    for k in 0..<n {
                        let base = (i * n + k) * inner
                        for j in 0..<inner { o[i * inner + j] += p[base + j] }
                    }
                }
            }
        }
        var s = shape
        if keepingDims { s[a] = 1 } else { s.remove(at: a) }
        return Tensor(shape: s, scalars: out)
    }
    // out = Σ_axis x, so dx = g stretched back along the axis.
    @derivative(of: sum(alongAxis:keepingDims:))
    public func _vjpSumAlongAxis(alongAxis axis: Int, keepingDims: Bool)
        -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let a = checkedAxis(axis, "sum(alongAxis:)")
        let s = shape
        var kept = s; kept[a] = 1
        let out = sum(alongAxis: axis, keepingDims: keepingDims)
        return (out, { g in
            g.matching(out.shape).reshaped(to: kept).broadcastValues(to: s)
        })
    }

    /// Means along `axis`; the axis is removed unless `keepingDims`.
    @differentiable(reverse)
    public func mean(alongAxis axis: Int, keepingDims: Bool = false) -> Tensor {
        let n = shape[checkedAxis(axis, "mean(alongAxis:)")]
        return sum(alongAxis: axis, keepingDims: keepingDims) / withoutDerivative(at: Double(Swift.max(n, 1)))
    }

    /// Maxima along `axis` (not differentiable; used for numerical stabilization).
    public func max(alongAxis axis: Int, keepingDims: Bool = false) -> Tensor {
        let a = checkedAxis(axis, "max(alongAxis:)")
        let (outer, n, inner) = splitExtents(a)
        precondition(n > 0, "Tensor max(alongAxis:): axis \(axis) of shape \(shape) is empty")
        var out = [Double](repeating: -.infinity, count: outer * inner)
        for i in 0..<outer {
            for k in 0..<n {
                for j in 0..<inner {
                    out[i * inner + j] = Swift.max(out[i * inner + j], scalars[(i * n + k) * inner + j])
                }
            }
        }
        var s = shape
        if keepingDims { s[a] = 1 } else { s.remove(at: a) }
        return Tensor(shape: s, scalars: out)
    }
}
