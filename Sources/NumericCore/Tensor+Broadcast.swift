// NumPy-style broadcasting: align shapes at the right; an axis of extent 1 (or a missing axis) stretches.
// The forward ops here are not differentiable by themselves; the differentiable ops in
// Tensor+Arithmetic.swift use them and reduce their gradients back with `unbroadcast(to:)`.

extension Tensor {
    /// The broadcast shape of two shapes, or a precondition failure naming both shapes and the operation.
    @usableFromInline
    static func broadcastShape(_ a: [Int], _ b: [Int], _ operation: String) -> [Int] {
        let r = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else {
                preconditionFailure("Tensor \(operation): shapes \(a) and \(b) do not broadcast")
            }
        }
        return out
    }

    /// Element strides of `shape` read as a tensor of shape `target` (0 along stretched axes).
    @usableFromInline
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let r = target.count
        var strides = [Int](repeating: 0, count: r)
        var step = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let t = i + (r - shape.count)
            strides[t] = shape[i] == 1 && target[t] != 1 ? 0 : step
            step *= shape[i]
        }
        return strides
    }

    /// Walks every output row (the innermost axis) of a broadcast: calls
    /// `body(outputStart, offsetA, offsetB, length, innerStrideA, innerStrideB)` once per row, so callers
    /// run tight loops over a row.
    @inline(__always) @usableFromInline
    static func forEachBroadcastRow(_ shape: [Int], _ sa: [Int], _ sb: [Int],
                                    _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let r = shape.count
        let total = shape.reduce(1, *)
        if total == 0 { return }
        if r == 0 { body(0, 0, 0, 1, 0, 0); return }
        let inner = shape[r - 1], ia = sa[r - 1], ib = sb[r - 1]
        var index = [Int](repeating: 0, count: r)
        var offA = 0, offB = 0, o = 0
        while o < total {
            body(o, offA, offB, inner, ia, ib)
            o += inner
            var d = r - 2
            while d >= 0 {
                index[d] += 1; offA += sa[d]; offB += sb[d]
                if index[d] < shape[d] { break }
                offA -= sa[d] * shape[d]; offB -= sb[d] * shape[d]; index[d] = 0
                d -= 1
            }
        }
    }

    /// `f` applied elementwise to two broadcast tensors.
    @inline(__always) @usableFromInline
    static func zipBroadcast(_ a: Tensor, _ b: Tensor, _ operation: String,
                             _ f: (Double, Double) -> Double) -> Tensor {
        if a.shape == b.shape {
            return a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    Tensor.filled(shape: a.shape) { out in for i in 0..<pa.count { out[i] = f(pa[i], pb[i]) } }
                }
            }
        }
        let shape = broadcastShape(a.shape, b.shape, operation)
        if b.scalars.count == 1 && shape == a.shape {
            let y = b.scalars[0]
            return Tensor(shape: shape, scalars: a.scalars.map { f($0, y) })
        }
        if a.scalars.count == 1 && shape == b.shape {
            let x = a.scalars[0]
            return Tensor(shape: shape, scalars: b.scalars.map { f(x, $0) })
        }
        let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
        var out = [Double](repeating: 0, count: shape.reduce(1, *))
        out.withUnsafeMutableBufferPointer { po in
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    forEachBroadcastRow(shape, sa, sb) { o, i, j, count, ia, ib in
                        for t in 0..<count { po[o + t] = f(pa[i + t * ia], pb[j + t * ib]) }
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// Sums this tensor (a gradient of broadcast shape) down to `target`, the shape of the operand that was
    /// stretched: the adjoint of broadcasting.
    @usableFromInline
    func unbroadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        // A gradient smaller than its operand comes from the rank-0 additive zero (an unused output):
        // stretch it instead of reducing.
        if scalarCount < target.reduce(1, *) { return broadcastValues(to: target) }
        let targetCount = target.reduce(1, *)
        if targetCount == 1 {
            return Tensor(shape: target, scalars: [scalars.reduce(0, +)])
        }
        let st = Tensor.broadcastStrides(target, to: shape)
        var out = [Double](repeating: 0, count: targetCount)
        out.withUnsafeMutableBufferPointer { po in
            scalars.withUnsafeBufferPointer { pg in
                Tensor.forEachBroadcastRow(shape, st, st) { o, t, _, count, it, _ in
                    for u in 0..<count { po[t + u * it] += pg[o + u] }
                }
            }
        }
        return Tensor(shape: target, scalars: out)
    }

    /// This tensor stretched to `target` (which must be a broadcast of its shape).
    @usableFromInline
    func broadcastValues(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let out = Tensor.broadcastShape(shape, target, "broadcast")
        precondition(out == target, "Tensor broadcast: shape \(shape) does not broadcast to \(target)")
        return Tensor.zipBroadcast(self, Tensor(zeros: target), "broadcast") { x, _ in x }
    }
}

extension Tensor {
    /// This gradient with the shape of the output it belongs to: the rank-0 additive zero that automatic
    /// differentiation passes for an unused output becomes zeros of `shape`. Pullbacks that index their
    /// incoming gradient by shape call this first.
    @inlinable
    public func matching(_ shape: [Int]) -> Tensor {
        if self.shape == shape { return self }
        precondition(rank == 0, "gradient of shape \(self.shape) does not match its output's shape \(shape)")
        return Tensor(repeating: scalars[0], shape: shape)
    }
}

extension Tensor {
    /// `f` applied elementwise to two broadcast tensors (not differentiable: for learners' arithmetic that
    /// fuses several elementwise steps into one pass).
    @inlinable
    public static func combine(_ a: Tensor, _ b: Tensor, _ f: (Double, Double) -> Double) -> Tensor {
        zipBroadcast(a, b, "combine", f)
    }
}
