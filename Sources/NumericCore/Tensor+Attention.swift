import Foundation
import _Differentiation

// Multi-head softmax attention as one differentiable primitive: the scores, the masked softmax and the
// weighted sum per (prompt, head), with the attention probabilities kept for the pullback. No per-head
// tensors are allocated; prompts are split over cores in fixed chunks (results do not depend on threads).

extension Tensor {
    /// Multi-head scaled dot-product attention with an additive mask (Vaswani et al. 2017): for each head h,
    /// `O_h = softmax(Q_h K_hᵀ / √d_h + M) V_h`, the heads side by side.
    ///
    /// Shapes: `q`, `k`, `v` `[B, T, W]` with `W = H · d_h` (head h owns columns `h·d_h ..< (h+1)·d_h`);
    /// `mask` `[T, T]`, entry (i, j) 0 where token i may attend token j and −∞ where it may not; result
    /// `[B, T, W]`. A token that may attend nothing gets zeros.
    @differentiable(reverse, wrt: (q, k, v))
    public static func maskedAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, mask: Tensor) -> Tensor {
        attentionForward(q: q, k: k, v: v, heads: heads, mask: mask).output
    }

    /// The forward pass and the attention probabilities `P [B, H, T, T]`.
    static func attentionForward(q: Tensor, k: Tensor, v: Tensor, heads: Int, mask: Tensor)
        -> (output: Tensor, probabilities: [Double]) {
        precondition(q.rank == 3 && q.shape == k.shape && q.shape == v.shape,
                     "maskedAttention: q, k, v must share a shape [B, T, W], got \(q.shape), \(k.shape), \(v.shape)")
        let (b, t, w) = (q.shape[0], q.shape[1], q.shape[2])
        precondition(heads >= 1 && w % heads == 0, "maskedAttention: width \(w) is not divisible by \(heads) heads")
        precondition(mask.shape == [t, t], "maskedAttention: mask must be [T, T] = [\(t), \(t)], got \(mask.shape)")
        let dh = w / heads
        let scale = 1 / Double(dh).squareRoot()
        var out = [Double](repeating: 0, count: b * t * w)
        var probs = [Double](repeating: 0, count: b * heads * t * t)
        q.scalars.withUnsafeBufferPointer { qp in
        k.scalars.withUnsafeBufferPointer { kp in
        v.scalars.withUnsafeBufferPointer { vp in
        mask.scalars.withUnsafeBufferPointer { mp in
        out.withUnsafeMutableBufferPointer { op in
        probs.withUnsafeMutableBufferPointer { pp in
            let (qb, kb, vb, mb, ob, pb) = (qp.baseAddress!, kp.baseAddress!, vp.baseAddress!, mp.baseAddress!,
                                            op.baseAddress!, pp.baseAddress!)
            Parallel.forChunks(count: b, workers: b * t * t * w >= 100_000 ? Parallel.workerCount : 1) { range in
                for p in range {
                    for h in 0..<heads {
                        let off = h * dh
                        for i in 0..<t {
                            let row = pb + ((p * heads + h) * t + i) * t
                            let qi = qb + (p * t + i) * w + off
                            var mx = -Double.infinity
                            for j in 0..<t where mb[i * t + j] != -.infinity {
                                let kj = kb + (p * t + j) * w + off
                                var s = 0.0
                                for d in 0..<dh { s += qi[d] * kj[d] }
                                s = s * scale + mb[i * t + j]
                                row[j] = s
                                mx = Swift.max(mx, s)
                            }
                            if mx == -.infinity { continue }   // attends nothing: probabilities and output stay 0
                            var sum = 0.0
                            for j in 0..<t {
                                if mb[i * t + j] == -.infinity { row[j] = 0; continue }
                                let e = Foundation.exp(row[j] - mx)
                                row[j] = e
                                sum += e
                            }
                            let inv = 1 / sum
                            let oi = ob + (p * t + i) * w + off
                            for j in 0..<t where row[j] != 0 {
                                row[j] *= inv
                                let pj = row[j]
                                let vj = vb + (p * t + j) * w + off
                                for d in 0..<dh { oi[d] += pj * vj[d] }
                            }
                        }
                    }
                }
            }
        }}}}}}
        return (Tensor(shape: [b, t, w], scalars: out), probs)
    }

    // In the forward pass S = Q Kᵀ/√d + M, P = softmax(S) by rows, O = P V (per prompt and head), so
    // dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = dS K / √d, dK = dSᵀ Q / √d.
    @derivative(of: maskedAttention, wrt: (q, k, v))
    public static func _vjpMaskedAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, mask: Tensor)
        -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor, Tensor)) {
        let (out, probs) = attentionForward(q: q, k: k, v: v, heads: heads, mask: mask)
        return (out, { g in
            let g = g.matching(out.shape)
            let (b, t, w) = (q.shape[0], q.shape[1], q.shape[2])
            let dh = w / heads
            let scale = 1 / Double(dh).squareRoot()
            var dq = [Double](repeating: 0, count: b * t * w), dk = dq, dv = dq
            q.scalars.withUnsafeBufferPointer { qp in
            k.scalars.withUnsafeBufferPointer { kp in
            v.scalars.withUnsafeBufferPointer { vp in
            g.scalars.withUnsafeBufferPointer { gp in
            probs.withUnsafeBufferPointer { pp in
            dq.withUnsafeMutableBufferPointer { dqp in
            dk.withUnsafeMutableBufferPointer { dkp in
            dv.withUnsafeMutableBufferPointer { dvp in
                let (qb, kb, vb, gb, pb) = (qp.baseAddress!, kp.baseAddress!, vp.baseAddress!, gp.baseAddress!, pp.baseAddress!)
                let (dqb, dkb, dvb) = (dqp.baseAddress!, dkp.baseAddress!, dvp.baseAddress!)
                Parallel.forChunks(count: b, workers: b * t * t * w >= 100_000 ? Parallel.workerCount : 1) { range in
                    var ds = [Double](repeating: 0, count: t)
                    for p in range {
                        for h in 0..<heads {
                            let off = h * dh
                            for i in 0..<t {
                                let row = pb + ((p * heads + h) * t + i) * t
                                let gi = gb + (p * t + i) * w + off
                                var dot = 0.0
                                for j in 0..<t {
                                    ds[j] = 0
                                    guard row[j] != 0 else { continue }
                                    let vj = vb + (p * t + j) * w + off, dvj = dvb + (p * t + j) * w + off
                                    var dp = 0.0
                                    for d in 0..<dh { dp += gi[d] * vj[d]; dvj[d] += row[j] * gi[d] }
                                    ds[j] = dp
                                    dot += dp * row[j]
                                }
                                let qi = qb + (p * t + i) * w + off, dqi = dqb + (p * t + i) * w + off
                                for j in 0..<t where row[j] != 0 {
                                    let s = row[j] * (ds[j] - dot) * scale
                                    let kj = kb + (p * t + j) * w + off, dkj = dkb + (p * t + j) * w + off
                                    for d in 0..<dh { dqi[d] += s * kj[d]; dkj[d] += s * qi[d] }
                                }
                            }
                        }
                    }
                }
            }}}}}}}}
            return (Tensor(shape: [b, t, w], scalars: dq), Tensor(shape: [b, t, w], scalars: dk),
                    Tensor(shape: [b, t, w], scalars: dv))
        })
    }
}
