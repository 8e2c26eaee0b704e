import Foundation
import _Differentiation

// Softmax, masks, layer normalization and losses: the pieces of attention and of training objectives.

extension Tensor {
    /// The lower-triangular causal mask `[N, N]`: 1 where key j ≤ query i (allowed), 0 above the diagonal.
    public static func causalMask(_ n: Int) -> Tensor {
        var t = Tensor(zeros: [n, n])
        for i in 0..<n { for j in 0...i { t.scalars[i * n + j] = 1 } }
        return t
    }

    /// A key mask `[B, 1, N]` from per-prompt valid lengths: 1 for keys `j < lengths[b]`, else 0.
    /// Broadcasts against attention scores `[B, N, N]`.
    public static func keyMask(lengths: [Int], size n: Int) -> Tensor {
        var t = Tensor(zeros: [lengths.count, 1, n])
        for (b, len) in lengths.enumerated() {
            precondition(len >= 0 && len <= n, "Tensor.keyMask: length \(len) is outside 0...\(n)")
            for j in 0..<len { t.scalars[b * n + j] = 1 }
        }
        return t
    }

    /// Keeps elements where `mask` (broadcast to this shape) is non-zero and puts `value` elsewhere.
    /// The default `-∞` makes masked scores vanish under `softmax`.
    @differentiable(reverse, wrt: self)
    public func masked(by mask: Tensor, fill value: Double = -.infinity) -> Tensor {
        let m = mask.broadcastValues(to: shape)
        return Tensor.zipBroadcast(self, m, "masked(by:)") { x, keep in keep != 0 ? x : value }
    }
    // out = x where kept, else a constant, so dx = g where kept, else 0.
    @derivative(of: masked, wrt: self)
    public func _vjpMasked(by mask: Tensor, fill value: Double) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let m = mask.broadcastValues(to: shape)
        return (masked(by: mask, fill: value), { g in
            Tensor.zipBroadcast(g, m, "masked(by:)") { g, keep in keep != 0 ? g : 0 }
        })
    }

    /// Softmax over the last axis, computed as `exp(x − max) / Σ exp(x − max)` so large scores do not
    /// overflow. A row whose entries are all `-∞` (every key masked) gives zeros rather than NaN.
    @differentiable(reverse)
    public func softmax() -> Tensor {
        precondition(rank >= 1, "Tensor softmax(): needs rank ≥ 1")
        let n = shape[rank - 1], rows = n == 0 ? 0 : scalarCount / n
        var out = [Double](repeating: 0, count: scalarCount)
        scalars.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for r in 0..<rows {
                    let base = r * n
                    var mx = -Double.infinity
                    for j in 0..<n { mx = Swift.max(mx, p[base + j]) }
                    if mx == -.infinity { continue }
                    var s = 0.0
                    for j in 0..<n { let e = Foundation.exp(p[base + j] - mx); o[base + j] = e; s += e }
                    let inv = 1 / s
                    for j in 0..<n { o[base + j] *= inv }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }
    // y = softmax(x) per row, so dx = y ⊙ (g − Σ_j g_j y_j).
    @derivative(of: softmax)
    public func _vjpSoftmax() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let y = softmax()
        return (y, { g in
            let g = g.matching(y.shape)
            let n = y.shape[y.rank - 1], rows = n == 0 ? 0 : y.scalarCount / n
            var dx = [Double](repeating: 0, count: y.scalarCount)
            for r in 0..<rows {
                let base = r * n
                var dot = 0.0
                for j in 0..<n { dot += g.scalars[base + j] * y.scalars[base + j] }
                for j in 0..<n { dx[base + j] = y.scalars[base + j] * (g.scalars[base + j] - dot) }
            }
            return Tensor(shape: y.shape, scalars: dx)
        })
    }

    /// `log softmax` over the last axis: `x − max − log Σ exp(x − max)`.
    @differentiable(reverse)
    public func logSoftmax() -> Tensor {
        let n = shape[rank - 1], rows = n == 0 ? 0 : scalarCount / n
        var out = scalars
        for r in 0..<rows {
            let base = r * n
            var mx = -Double.infinity
            for j in 0..<n { mx = Swift.max(mx, out[base + j]) }
            var s = 0.0
            for j in 0..<n { s += Foundation.exp(out[base + j] - mx) }
            let lse = mx + Foundation.log(s)
            for j in 0..<n { out[base + j] -= lse }
        }
        return Tensor(shape: shape, scalars: out)
    }
    // y = x − logΣexp(x) per row, so dx = g − softmax(x) Σ_j g_j.
    @derivative(of: logSoftmax)
    public func _vjpLogSoftmax() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let y = logSoftmax()
        return (y, { g in
            let g = g.matching(y.shape)
            let n = y.shape[y.rank - 1], rows = n == 0 ? 0 : y.scalarCount / n
            var dx = g.scalars
            for r in 0..<rows {
                let base = r * n
                var s = 0.0
                for j in 0..<n { s += g.scalars[base + j] }
                for j in 0..<n { dx[base + j] -= Foundation.exp(y.scalars[base + j]) * s }
            }
            return Tensor(shape: y.shape, scalars: dx)
        })
    }

    /// Normalizes each row of the last axis to mean 0 and variance 1: `(x − μ) / √(σ² + ε)`, with the
    /// biased variance as in PyTorch's `LayerNorm`. The affine part (γ, β) is `LayerNorm` in the models.
    @differentiable(reverse, wrt: self)
    public func layerNormalized(epsilon: Double = 1e-5) -> Tensor {
        layerNormForward(epsilon: epsilon).out
    }

    func layerNormForward(epsilon: Double) -> (out: Tensor, inverseStd: [Double]) {
        let n = shape[rank - 1], rows = n == 0 ? 0 : scalarCount / n
        var out = scalars
        var inv = [Double](repeating: 0, count: rows)
        out.withUnsafeMutableBufferPointer { o in
            inv.withUnsafeMutableBufferPointer { iv in
                for r in 0..<rows {
                    let base = r * n
                    var mu = 0.0
                    for j in 0..<n { mu += o[base + j] }
                    mu /= Double(n)
                    var v = 0.0
                    for j in 0..<n { let d = o[base + j] - mu; v += d * d }
                    let s = 1 / (v / Double(n) + epsilon).squareRoot()
                    iv[r] = s
                    for j in 0..<n { o[base + j] = (o[base + j] - mu) * s }
                }
            }
        }
        return (Tensor(shape: shape, scalars: out), inv)
    }
    // x̂ = (x − μ)/σ per row, so dx = (1/σ) (g − mean(g) − x̂ mean(g ⊙ x̂)).
    @derivative(of: layerNormalized, wrt: self)
    public func _vjpLayerNormalized(epsilon: Double) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let (xhat, inv) = layerNormForward(epsilon: epsilon)
        return (xhat, { g in Tensor.layerNormPullback(g.matching(xhat.shape), xhat: xhat, inverseStd: inv) })
    }

    static func layerNormPullback(_ g: Tensor, xhat: Tensor, inverseStd inv: [Double]) -> Tensor {
        let n = xhat.shape[xhat.rank - 1], rows = inv.count, count = xhat.scalarCount
        let dx = [Double](unsafeUninitializedCapacity: count) { d, initialized in
            g.scalars.withUnsafeBufferPointer { gs in
                xhat.scalars.withUnsafeBufferPointer { xs in
                    for r in 0..<rows {
                        let base = r * n
                        var mg = 0.0, mgx = 0.0
                        for j in 0..<n { mg += gs[base + j]; mgx += gs[base + j] * xs[base + j] }
                        mg /= Double(n); mgx /= Double(n)
                        for j in 0..<n { d[base + j] = inv[r] * (gs[base + j] - mg - xs[base + j] * mgx) }
                    }
                }
            }
            initialized = count
        }
        return Tensor(shape: xhat.shape, scalars: dx)
    }
}

// MARK: - Losses

/// Mean squared error `mean((predicted − expected)²)` over all elements (no ½; see each experiment's
/// documented loss scaling).
@differentiable(reverse, wrt: predicted)
public func meanSquaredError(predicted: Tensor, expected: Tensor) -> Tensor {
    precondition(predicted.shape == expected.shape,
                 "meanSquaredError: predicted shape \(predicted.shape) differs from expected shape \(expected.shape)")
    return (predicted - expected).squared().mean()
}

/// Binary cross-entropy from logits `z` and labels `y ∈ {0, 1}`, averaged over elements; computed as
/// `max(z, 0) − z y + log(1 + e^{−|z|})`, which never overflows.
@differentiable(reverse, wrt: logits)
public func sigmoidCrossEntropy(logits: Tensor, labels: Tensor) -> Tensor {
    precondition(logits.shape == labels.shape,
                 "sigmoidCrossEntropy: logits shape \(logits.shape) differs from labels shape \(labels.shape)")
    var s = 0.0
    for (z, y) in zip(logits.scalars, labels.scalars) { s += max(z, 0) - z * y + log1p(exp(-abs(z))) }
    return Tensor(s / Double(max(logits.scalarCount, 1)))
}
// L = mean(ℓ(z, y)) with ∂ℓ/∂z = σ(z) − y, so dz = g (σ(z) − y) / count.
@derivative(of: sigmoidCrossEntropy, wrt: logits)
public func _vjpSigmoidCrossEntropy(logits: Tensor, labels: Tensor) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
    let count = Double(max(logits.scalarCount, 1))
    return (sigmoidCrossEntropy(logits: logits, labels: labels), { g in
        Tensor.zipBroadcast(logits, labels, "sigmoidCrossEntropy") { z, y in
            g.scalar * (Tensor.sigmoidScalar(z) - y) / count
        }
    })
}

/// Softmax cross-entropy of logits `[…, C]` against integer class labels (one per row), averaged over rows.
@differentiable(reverse, wrt: logits)
public func softmaxCrossEntropy(logits: Tensor, labels: [Int]) -> Tensor {
    let c = logits.shape[logits.rank - 1], rows = logits.scalarCount / max(c, 1)
    precondition(labels.count == rows, "softmaxCrossEntropy: \(labels.count) labels for \(rows) rows of logits \(logits.shape)")
    precondition(labels.allSatisfy { $0 >= 0 && $0 < c }, "softmaxCrossEntropy: a label is outside 0..<\(c)")
    let lsm = logits.logSoftmax()
    var s = 0.0
    for r in 0..<rows { s -= lsm.scalars[r * c + labels[r]] }
    return Tensor(s / Double(max(rows, 1)))
}
// L = mean_r(−log softmax(z_r)[y_r]), so dz_r = g (softmax(z_r) − onehot(y_r)) / rows.
@derivative(of: softmaxCrossEntropy, wrt: logits)
public func _vjpSoftmaxCrossEntropy(logits: Tensor, labels: [Int]) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
    let c = logits.shape[logits.rank - 1], rows = logits.scalarCount / max(c, 1)
    return (softmaxCrossEntropy(logits: logits, labels: labels), { g in
        var p = logits.softmax()
        for r in 0..<rows { p.scalars[r * c + labels[r]] -= 1 }
        return p * (g.scalar / Double(max(rows, 1)))
    })
}

extension Tensor {
    /// Every element clipped to `[−bound, bound]` (token clamping for deep stacks).
    @differentiable(reverse, wrt: self)
    public func clamped(to bound: Double) -> Tensor { map { Swift.min(Swift.max($0, -bound), bound) } }
    // out = clip(x), so dx = g where |x| < bound, else 0.
    @derivative(of: clamped, wrt: self)
    public func _vjpClamped(to bound: Double) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        (clamped(to: bound), { g in Tensor.zipBroadcast(g, self, "clamped") { abs($1) < bound ? $0 : 0 } })
    }
}

// MARK: - Fused affine pieces of transformer layers

extension Tensor {
    /// `x + b` with `b [W]` added to every row of `x [..., W]` (a bias), as one primitive: no broadcast
    /// machinery in the forward pass, and a row sum in the pullback.
    @differentiable(reverse)
    public func addingRowVector(_ b: Tensor) -> Tensor {
        let w = shape[rank - 1]
        precondition(b.shape == [w], "addingRowVector: bias must be [\(w)], got \(b.shape)")
        var out = scalars
        out.withUnsafeMutableBufferPointer { o in
            b.scalars.withUnsafeBufferPointer { bp in
                for r in 0..<(w == 0 ? 0 : o.count / w) { for j in 0..<w { o[r * w + j] += bp[j] } }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }
    // y = x + 1 bᵀ, so dx = g and db = Σ_rows g.
    @derivative(of: addingRowVector)
    public func _vjpAddingRowVector(_ b: Tensor) -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor)) {
        let shape = self.shape
        return (addingRowVector(b), { g in
            let g = g.matching(shape)
            return (g, Tensor.columnSums(g))
        })
    }

    /// Sums of the last axis's columns over all rows: `[..., W] → [W]`.
    static func columnSums(_ g: Tensor) -> Tensor {
        let w = g.shape[g.rank - 1]
        var db = [Double](repeating: 0, count: w)
        g.scalars.withUnsafeBufferPointer { gp in
            db.withUnsafeMutableBufferPointer { d in
                for r in 0..<(w == 0 ? 0 : gp.count / w) { for j in 0..<w { d[j] += gp[r * w + j] } }
            }
        }
        return Tensor(shape: [w], scalars: db)
    }

    /// Layer normalization with a gain and a bias, `γ ⊙ (x − μ)/√(σ² + ε) + β` per row of the last axis, as
    /// one primitive (PyTorch's `LayerNorm`).
    @differentiable(reverse, wrt: (self, gain, bias))
    public func layerNorm(gain: Tensor, bias: Tensor, epsilon: Double = 1e-5) -> Tensor {
        Tensor.affineRows(layerNormForward(epsilon: epsilon).out, gain, bias)
    }

    /// `γ ⊙ x̂ + β` per row.
    static func affineRows(_ xhat: Tensor, _ gain: Tensor, _ bias: Tensor) -> Tensor {
        let w = xhat.shape[xhat.rank - 1]
        precondition(gain.shape == [w] && bias.shape == [w], "layerNormalized: gain and bias must be [\(w)], got \(gain.shape), \(bias.shape)")
        var out = xhat.scalars
        out.withUnsafeMutableBufferPointer { o in
            gain.scalars.withUnsafeBufferPointer { ga in
                bias.scalars.withUnsafeBufferPointer { be in
                    for r in 0..<(w == 0 ? 0 : o.count / w) { for j in 0..<w { o[r * w + j] = ga[j] * o[r * w + j] + be[j] } }
                }
            }
        }
        return Tensor(shape: xhat.shape, scalars: out)
    }
    // y = γ ⊙ x̂ + β with x̂ = (x − μ)/σ, so dβ = Σ_rows g, dγ = Σ_rows g ⊙ x̂, and dx is the plain layer norm's
    // pullback of g ⊙ γ.
    @derivative(of: layerNorm(gain:bias:epsilon:), wrt: (self, gain, bias))
    public func _vjpLayerNormalizedAffine(gain: Tensor, bias: Tensor, epsilon: Double)
        -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor, Tensor)) {
        let (xhat, inv) = layerNormForward(epsilon: epsilon)
        return (Tensor.affineRows(xhat, gain, bias), { g in
            let g = g.matching(xhat.shape)
            let w = xhat.shape[xhat.rank - 1]
            var dgain = [Double](repeating: 0, count: w)
            var scaled = g.scalars
            dgain.withUnsafeMutableBufferPointer { dg in
                scaled.withUnsafeMutableBufferPointer { sc in
                    g.scalars.withUnsafeBufferPointer { gs in
                        xhat.scalars.withUnsafeBufferPointer { xs in
                            gain.scalars.withUnsafeBufferPointer { ga in
                                for r in 0..<(w == 0 ? 0 : sc.count / w) {
                                    for j in 0..<w {
                                        dg[j] += gs[r * w + j] * xs[r * w + j]
                                        sc[r * w + j] *= ga[j]
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return (Tensor.layerNormPullback(Tensor(shape: xhat.shape, scalars: scaled), xhat: xhat, inverseStd: inv),
                    Tensor(shape: [w], scalars: dgain), Tensor.columnSums(g))
        })
    }
}
