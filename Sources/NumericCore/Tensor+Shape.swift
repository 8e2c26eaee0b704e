import _Differentiation

// Reshape, transpose of the last two axes, slicing and concatenation along an axis, batch tiling.

extension Tensor {
    /// The same scalars under another shape with the same element count.
    @differentiable(reverse)
    public func reshaped(to newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == scalarCount,
                     "Tensor reshaped(to:): cannot reshape \(shape) (\(scalarCount) elements) to \(newShape)")
        return Tensor(shape: newShape, scalars: scalars)
    }
    // out = reshape(x), so dx = reshape(g) back to x's shape.
    @derivative(of: reshaped)
    public func _vjpReshaped(to newShape: [Int]) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let s = shape
        return (reshaped(to: newShape), { g in g.matching(newShape).reshaped(to: s) })
    }

    /// Swaps the last two axes: `[…, R, C] → […, C, R]`.
    @differentiable(reverse)
    public func matrixTransposed() -> Tensor {
        precondition(rank >= 2, "Tensor matrixTransposed(): needs rank ≥ 2, got shape \(shape)")
        let r = shape[rank - 2], c = shape[rank - 1], batch = scalarCount / Swift.max(r * c, 1)
        var out = [Double](repeating: 0, count: scalarCount)
        scalars.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for b in 0..<batch {
                    let base = b * r * c
                    for i in 0..<r { for j in 0..<c { o[base + j * r + i] = p[base + i * c + j] } }
                }
            }
        }
        var s = shape
        s.swapAt(rank - 2, rank - 1)
        return Tensor(shape: s, scalars: out)
    }
    // out = xᵀ (last two axes), so dx = gᵀ.
    @derivative(of: matrixTransposed)
    public func _vjpMatrixTransposed() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let out = matrixTransposed()
        return (out, { g in g.matching(out.shape).matrixTransposed() })
    }

    /// The elements with index in `range` along `axis` (the axis is kept, with extent `range.count`).
    @differentiable(reverse)
    public func slice(alongAxis axis: Int, _ range: Range<Int>) -> Tensor {
        let a = checkedAxis(axis, "slice(alongAxis:)")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a],
                     "Tensor slice(alongAxis:): range \(range) is out of bounds for axis \(a) of shape \(shape)")
        let (outer, n, inner) = splitExtents(a)
        let m = range.count
        var out = [Double](repeating: 0, count: outer * m * inner)
        scalars.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<outer {
                    let src = (i * n + range.lowerBound) * inner, dst = i * m * inner
                    for j in 0..<(m * inner) { o[dst + j] = p[src + j] }
                }
            }
        }
        var s = shape
        s[a] = m
        return Tensor(shape: s, scalars: out)
    }
    // out = x[range] along the axis, so dx = g placed at range, zero elsewhere.
    @derivative(of: slice)
    public func _vjpSlice(alongAxis axis: Int, _ range: Range<Int>) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let s = shape
        let a = checkedAxis(axis, "slice(alongAxis:)")
        let out = slice(alongAxis: axis, range)
        return (out, { g in
            let g = g.matching(out.shape)
            var dx = Tensor(zeros: s)
            let (outer, n, inner) = dx.splitExtents(a)
            let m = range.count
            for i in 0..<outer {
                let dst = (i * n + range.lowerBound) * inner, src = i * m * inner
                for j in 0..<(m * inner) { dx.scalars[dst + j] = g.scalars[src + j] }
            }
            return dx
        })
    }

    /// Joins tensors along `axis`; all other extents must agree.
    @differentiable(reverse)
    public static func concatenate(_ tensors: [Tensor], alongAxis axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "Tensor.concatenate: no tensors given")
        let first = tensors[0]
        let a = first.checkedAxis(axis, "concatenate")
        for t in tensors {
            var s1 = t.shape, s0 = first.shape
            precondition(s1.count == s0.count, "Tensor.concatenate: shapes \(s0) and \(t.shape) have different ranks")
            s1[a] = 0; s0[a] = 0
            precondition(s1 == s0, "Tensor.concatenate: shapes \(first.shape) and \(t.shape) differ off axis \(a)")
        }
        let (outer, _, inner) = first.splitExtents(a)
        let total = tensors.reduce(0) { $0 + $1.shape[a] }
        var out = [Double]()
        out.reserveCapacity(outer * total * inner)
        for i in 0..<outer {
            for t in tensors {
                let chunk = t.shape[a] * inner
                out.append(contentsOf: t.scalars[(i * chunk)..<((i + 1) * chunk)])
            }
        }
        var s = first.shape
        s[a] = total
        return Tensor(shape: s, scalars: out)
    }
    // out = [x₁ | x₂ | …] along the axis, so dxᵢ = the matching slice of g.
    @derivative(of: concatenate)
    public static func _vjpConcatenate(_ tensors: [Tensor], alongAxis axis: Int)
        -> (value: Tensor, pullback: (Tensor) -> Array<Tensor>.TangentVector) {
        let extents = tensors.map { $0.shape[$0.checkedAxis(axis, "concatenate")] }
        let out = concatenate(tensors, alongAxis: axis)
        return (out, { g in
            let g = g.matching(out.shape)
            var start = 0
            var parts: [Tensor] = []
            for e in extents {
                parts.append(g.slice(alongAxis: axis, start..<(start + e)))
                start += e
            }
            return Array<Tensor>.TangentVector(parts)
        })
    }

    /// Joins two tensors along `axis`.
    @differentiable(reverse)
    public func concatenated(with other: Tensor, alongAxis axis: Int) -> Tensor {
        Tensor.concatenate([self, other], alongAxis: axis)
    }

    /// `count` copies stacked along a new leading axis: `[…] → [count, …]`.
    @differentiable(reverse)
    public func tiledBatch(_ count: Int) -> Tensor {
        var out = [Double]()
        out.reserveCapacity(count * scalarCount)
        for _ in 0..<count { out.append(contentsOf: scalars) }
        return Tensor(shape: [count] + shape, scalars: out)
    }
    // out[b] = x for every b, so dx = Σ_b g[b].
    @derivative(of: tiledBatch)
    public func _vjpTiledBatch(_ count: Int) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let out = tiledBatch(count)
        return (out, { g in g.matching(out.shape).sum(alongAxis: 0) })
    }
}

extension Tensor {
    /// Rows `indices` of axis 1 of a `[B, R, W]` tensor, in that order (repeats allowed): `[B, indices.count, W]`.
    @differentiable(reverse)
    public func gatheringRows(_ indices: [Int]) -> Tensor {
        precondition(rank == 3, "gatheringRows: expected [B, R, W], got \(shape)")
        let (b, r, w) = (shape[0], shape[1], shape[2])
        precondition(indices.allSatisfy { $0 >= 0 && $0 < r }, "gatheringRows: an index is outside 0..<\(r)")
        let q = indices.count
        var out = [Double](repeating: 0, count: b * q * w)
        for p in 0..<b { for (j, i) in indices.enumerated() { for c in 0..<w { out[(p * q + j) * w + c] = scalars[(p * r + i) * w + c] } } }
        return Tensor(shape: [b, q, w], scalars: out)
    }
    // y_j = x_{indices[j]}, so dx_i = Σ_{j : indices[j] = i} g_j (a scatter-add).
    @derivative(of: gatheringRows)
    public func _vjpGatheringRows(_ indices: [Int]) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let shape = self.shape
        return (gatheringRows(indices), { g in
            let g = g.matching([shape[0], indices.count, shape[2]])
            let (b, r, w, q) = (shape[0], shape[1], shape[2], indices.count)
            var dx = [Double](repeating: 0, count: b * r * w)
            for p in 0..<b { for (j, i) in indices.enumerated() { for c in 0..<w { dx[(p * r + i) * w + c] += g.scalars[(p * q + j) * w + c] } } }
            return Tensor(shape: shape, scalars: dx)
        })
    }
}
