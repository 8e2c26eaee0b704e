import BLASRuntime
import _Differentiation

// The linear-self-attention layer as one differentiable primitive over a batch of prompts, with fused kernels
// (BLASRuntime/LinearSelfAttentionPacked.c: prompts lane-packed 8 at a time; LinearSelfAttention.c: one
// prompt in attention form). It computes exactly what the composition of matmuls in
// `Models.LinearSelfAttention.update` computes (a test checks the two against each other), without
// materializing B-sized intermediates.
//
// Two token layouts: the plain `[B, T, E]`, and the lane layout `[⌈B/8⌉, T, E, 8]` (prompt p in group p / 8,
// lane p % 8, missing lanes zero) that stacks and loops keep between layers, so that a deep model packs its
// prompts once instead of once per layer.

extension Tensor {
    /// Rows `start..<T` of the tokens after one LSA layer:
    /// `out_r = z_r + (1/n) Σ_h z_r W_KQ,hᵀ C W_PV,hᵀ`, `C = Σ_{i<n} z_i z_iᵀ` (the first n tokens are context).
    /// Shapes: tokens `[B, T, E]`, weights `[H, E, E]`, result `[B, T − start, E]`.
    /// Two exact evaluation orders are used, whichever is cheaper (the covariance form `C = Σ z zᵀ`, lane-packed,
    /// for many rows; the attention form per prompt for few); see `LSAEvaluationOrder`.
    @differentiable(reverse, wrt: (tokens, wKQ, wPV))
    public static func linearSelfAttention(tokens: Tensor, wKQ: Tensor, wPV: Tensor, contextSize n: Int,
                                           fromRow start: Int = 0) -> Tensor {
        lsaForward(tokens, wKQ, wPV, n, start, lanes: false)
    }

    /// `linearSelfAttention` on tokens in the lane layout `[G, T, E, 8]`; the result is `[G, T − start, E, 8]`.
    @differentiable(reverse, wrt: (tokens, wKQ, wPV))
    public static func linearSelfAttention(lanes tokens: Tensor, wKQ: Tensor, wPV: Tensor, contextSize n: Int,
                                           fromRow start: Int = 0) -> Tensor {
        lsaForward(tokens, wKQ, wPV, n, start, lanes: true)
    }

    /// Prompts per group of the lane layout.
    public static let laneWidth = 8

    /// `[B, …]` into the lane layout `[⌈B/8⌉, …, 8]`.
    @differentiable(reverse)
    public func lanePacked() -> Tensor {
        let b = shape[0], m = shape.dropFirst().reduce(1, *), g = (b + Tensor.laneWidth - 1) / Tensor.laneWidth
        var out = [Double](unsafeUninitializedCapacity: g * m * Tensor.laneWidth) { _, c in c = g * m * Tensor.laneWidth }
        scalars.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { xp in icl_lanes_pack(x.baseAddress!, b, m, xp.baseAddress!) }
        }
        return Tensor(shape: [g] + shape.dropFirst() + [Tensor.laneWidth], scalars: out)
    }

    /// The first `count` prompts of a lane-layout tensor `[G, …, 8]`, as `[count, …]`.
    @differentiable(reverse)
    public func laneUnpacked(count: Int) -> Tensor {
        precondition(rank >= 2 && shape.last == Tensor.laneWidth && count <= shape[0] * Tensor.laneWidth && count > (shape[0] - 1) * Tensor.laneWidth,
                     "laneUnpacked: \(count) prompts do not fit the lane layout \(shape)")
        let inner = Array(shape.dropFirst().dropLast()), m = inner.reduce(1, *)
        var out = [Double](unsafeUninitializedCapacity: count * m) { _, c in c = count * m }
        scalars.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { x in icl_lanes_unpack(xp.baseAddress!, count, m, x.baseAddress!) }
        }
        return Tensor(shape: [count] + inner, scalars: out)
    }

    @derivative(of: lanePacked)
    public func _vjpLanePacked() -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        let b = shape[0]
        return (lanePacked(), { $0.laneUnpacked(count: b) })
    }

    @derivative(of: laneUnpacked)
    public func _vjpLaneUnpacked(count: Int) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
        (laneUnpacked(count: count), { $0.lanePacked() })
    }

    static func lsaForward(_ tokens: Tensor, _ wKQ: Tensor, _ wPV: Tensor, _ n: Int, _ start: Int, lanes: Bool) -> Tensor {
        let (b, t, e, h) = checkLSAShapes(tokens, wKQ, wPV, n, start, lanes: lanes)
        let r = t - start
        let attention = !lanes && prefersAttentionForm(t: t, e: e, n: n, rows: r, heads: h)
        // Every entry is written by a kernel (no zero fill needed).
        var out = [Double](unsafeUninitializedCapacity: b * r * e) { _, count in count = b * r * e }
        tokens.scalars.withUnsafeBufferPointer { pz in
            wKQ.scalars.withUnsafeBufferPointer { pa in
                wPV.scalars.withUnsafeBufferPointer { pb in
                    out.withUnsafeMutableBufferPointer { po in
                        let (zb, ab, bb, ob) = (pz.baseAddress!, pa.baseAddress!, pb.baseAddress!, po.baseAddress!)
                        // Chunks of whole groups of 8 prompts.
                        let groups = (b + laneWidth - 1) / laneWidth
                        Parallel.forChunks(count: groups, workers: b >= 64 ? Parallel.workerCount : 1) { gr in
                            let lo = gr.lowerBound * laneWidth, hi = Swift.min(gr.upperBound * laneWidth, b)
                            if attention {
                                var scratch = [Double](repeating: 0, count: 3 * e + n + 1)
                                scratch.withUnsafeMutableBufferPointer { s in
                                    for p in lo..<hi {
                                        icl_lsa_forward_attention(zb + p * t * e, t, e, n, start, ab, bb, h, ob + p * r * e, s.baseAddress!)
                                    }
                                }
                            } else {
                                icl_lsa_forward_batch(zb + lo * t * e, hi - lo, t, e, n, start, ab, bb, h, ob + lo * r * e, lanes ? 1 : 0)
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: lanes ? [b / laneWidth, r, e, laneWidth] : [b, r, e], scalars: out)
    }

    /// (B, T, E, H), with B counted in prompts (lane layout: 8 per group, padding lanes included).
    static func checkLSAShapes(_ z: Tensor, _ a: Tensor, _ v: Tensor, _ n: Int, _ start: Int, lanes: Bool) -> (Int, Int, Int, Int) {
        let tokenRank = lanes ? 4 : 3
        precondition(z.rank == tokenRank && (!lanes || z.shape[3] == laneWidth),
                     "linearSelfAttention: tokens must be \(lanes ? "[G, T, E, 8]" : "[B, T, E]"), got \(z.shape)")
        precondition(a.rank == 3 && a.shape == v.shape && a.shape[1] == z.shape[2] && a.shape[2] == z.shape[2],
                     "linearSelfAttention: tokens \(z.shape) need weights [H, E, E] with E = \(z.shape[2]), got \(a.shape) and \(v.shape)")
        precondition(n >= 0 && n <= z.shape[1] && start >= 0 && start <= z.shape[1],
                     "linearSelfAttention: context size \(n) / first row \(start) outside the \(z.shape[1]) tokens")
        return (z.shape[0] * (lanes ? laneWidth : 1), z.shape[1], z.shape[2], a.shape[0])
    }

    /// Whether the attention form (scores, then a weighted sum of context tokens, one prompt at a time) is
    /// cheaper than the lane-packed covariance form (C = Σ z zᵀ once, then products with C). The packed form
    /// runs about 6× more multiply-adds per second: at d = N = 10, one query row, B = 2048, one thread, it
    /// needs 3.2× the multiply-adds and takes half the time (forward + pullback 1.06 ms vs 2.03 ms;
    /// `icl-bench --train` prints both).
    static func prefersAttentionForm(t: Int, e: Int, n: Int, rows r: Int, heads h: Int) -> Bool {
        switch LSAEvaluationOrder.current {
        case .covariance: return false
        case .attention: return true
        case .automatic: break
        }
        let covariance = 3 * n * e * e + h * 7 * r * e * e
        let attention = h * r * (6 * e * e + 6 * n * e)
        return 6 * attention < covariance
    }

    /// Groups of 8 prompts per fixed chunk of the weight-gradient sums: chunks are fixed, so results do not
    /// depend on the thread count.
    static let lsaGradientChunks = 8

    // Pullback: the fused kernel's backward pass; weight gradients are summed per fixed chunk of prompt
    // groups and the chunks added in order.
    @derivative(of: linearSelfAttention(tokens:wKQ:wPV:contextSize:fromRow:), wrt: (tokens, wKQ, wPV))
    public static func _vjpLinearSelfAttention(tokens: Tensor, wKQ: Tensor, wPV: Tensor, contextSize n: Int, fromRow start: Int)
        -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor, Tensor)) {
        let value = lsaForward(tokens, wKQ, wPV, n, start, lanes: false)
        return (value, { g in
            let r = lsaBackward(g.matching(value.shape), tokens, wKQ, wPV, n, start, tokenGradient: true, lanes: false)
            return (r.dz!, r.da, r.db)
        })
    }

    // When the tokens are constants (the first layer sees the prompts), skip their gradient.
    @derivative(of: linearSelfAttention(tokens:wKQ:wPV:contextSize:fromRow:), wrt: (wKQ, wPV))
    public static func _vjpLinearSelfAttentionWeights(tokens: Tensor, wKQ: Tensor, wPV: Tensor, contextSize n: Int, fromRow start: Int)
        -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor)) {
        let value = lsaForward(tokens, wKQ, wPV, n, start, lanes: false)
        return (value, { g in
            let r = lsaBackward(g.matching(value.shape), tokens, wKQ, wPV, n, start, tokenGradient: false, lanes: false)
            return (r.da, r.db)
        })
    }

    @derivative(of: linearSelfAttention(lanes:wKQ:wPV:contextSize:fromRow:), wrt: (tokens, wKQ, wPV))
    public static func _vjpLinearSelfAttentionLanes(tokens: Tensor, wKQ: Tensor, wPV: Tensor, contextSize n: Int, fromRow start: Int)
        -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor, Tensor)) {
        let value = lsaForward(tokens, wKQ, wPV, n, start, lanes: true)
        return (value, { g in
            let r = lsaBackward(g.matching(value.shape), tokens, wKQ, wPV, n, start, tokenGradient: true, lanes: true)
            return (r.dz!, r.da, r.db)
        })
    }

    @derivative(of: linearSelfAttention(lanes:wKQ:wPV:contextSize:fromRow:), wrt: (wKQ, wPV))
    public static func _vjpLinearSelfAttentionLanesWeights(tokens: Tensor, wKQ: Tensor, wPV: Tensor, contextSize n: Int, fromRow start: Int)
        -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor)) {
        let value = lsaForward(tokens, wKQ, wPV, n, start, lanes: true)
        return (value, { g in
            let r = lsaBackward(g.matching(value.shape), tokens, wKQ, wPV, n, start, tokenGradient: false, lanes: true)
            return (r.da, r.db)
        })
    }

    static func lsaBackward(_ g: Tensor, _ tokens: Tensor, _ wKQ: Tensor, _ wPV: Tensor, _ n: Int, _ start: Int,
                            tokenGradient: Bool, lanes: Bool) -> (dz: Tensor?, da: Tensor, db: Tensor) {
        let (b, t, e, h) = checkLSAShapes(tokens, wKQ, wPV, n, start, lanes: lanes)
        let r = t - start, w = h * e * e
        let groups = (b + laneWidth - 1) / laneWidth
        let chunks = Swift.max(Swift.min(lsaGradientChunks, groups), 1)
        let attention = !lanes && prefersAttentionForm(t: t, e: e, n: n, rows: r, heads: h)
        // The packed kernel writes every entry of dz; the attention form adds into it (zero-filled).
        let dzCount = tokenGradient ? b * t * e : 0
        var dz = attention ? [Double](repeating: 0, count: dzCount)
                           : [Double](unsafeUninitializedCapacity: dzCount) { _, count in count = dzCount }
        var da = [Double](repeating: 0, count: chunks * w), db = da
        tokens.scalars.withUnsafeBufferPointer { pz in
            wKQ.scalars.withUnsafeBufferPointer { pa in
                wPV.scalars.withUnsafeBufferPointer { pb in
                    g.scalars.withUnsafeBufferPointer { pg in
                        dz.withUnsafeMutableBufferPointer { pdz in
                            da.withUnsafeMutableBufferPointer { pda in
                                db.withUnsafeMutableBufferPointer { pdb in
                                    let (zb, ab, bb, gb) = (pz.baseAddress!, pa.baseAddress!, pb.baseAddress!, pg.baseAddress!)
                                    let (dzb, dab, dbb) = (pdz.baseAddress, pda.baseAddress!, pdb.baseAddress!)
                                    Parallel.forChunks(count: chunks, workers: b >= 64 ? Parallel.workerCount : 1) { cr in
                                        var scratch = [Double](repeating: 0, count: attention ? 5 * e + 2 * n + 2 : 0)
                                        scratch.withUnsafeMutableBufferPointer { s in
                                            for c in cr {
                                                let lo = Swift.min(groups * c / chunks * laneWidth, b)
                                                let hi = Swift.min(groups * (c + 1) / chunks * laneWidth, b)
                                                if !attention {
                                                    icl_lsa_backward_batch(zb + lo * t * e, hi - lo, t, e, n, start, ab, bb, h, gb + lo * r * e,
                                                                           tokenGradient ? dzb! + lo * t * e : nil, dab + c * w, dbb + c * w,
                                                                           lanes ? 1 : 0)
                                                    continue
                                                }
                                                for p in lo..<hi {
                                                    let dzp = tokenGradient ? dzb! + p * t * e : nil
                                                    icl_lsa_backward_attention(zb + p * t * e, t, e, n, start, ab, bb, h, gb + p * r * e,
                                                                               dzp, dab + c * w, dbb + c * w, s.baseAddress!)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var sumA = [Double](repeating: 0, count: w), sumB = sumA
        for c in 0..<chunks { for i in 0..<w { sumA[i] += da[c * w + i]; sumB[i] += db[c * w + i] } }
        return (tokenGradient ? Tensor(shape: tokens.shape, scalars: dz) : nil,
                Tensor(shape: wKQ.shape, scalars: sumA), Tensor(shape: wPV.shape, scalars: sumB))
    }
}

/// The evaluation order of the fused LSA layer. Both orders compute the same values (to rounding); the
/// automatic choice picks the cheaper. Forcing one is for tests and benchmarks only.
public enum LSAEvaluationOrder: Sendable {
    case automatic, covariance, attention
    nonisolated(unsafe) public static var current: LSAEvaluationOrder = .automatic
}
