import BLASRuntime
import _Differentiation

// The linear-self-attention layer as one differentiable primitive over a batch of prompts, with a fused
// per-prompt kernel (BLASRuntime/LinearSelfAttention.c). It computes exactly what the composition of
// matmuls in `Models.LinearSelfAttention.update` computes (a test checks the two against each other), without
// materializing B-sized intermediates.

extension Tensor {
    /// Rows `start..<T` of the tokens after one LSA layer:
    /// `out_r = z_r + (1/n) Σ_h z_r W_KQ,hᵀ C W_PV,hᵀ`, `C = Σ_{i<n} z_i z_iᵀ` (the first n tokens are context).
    /// Shapes: tokens `[B, T, E]`, weights `[H, E, E]`, result `[B, T − start, E]`.
    /// Two exact evaluation orders are used, whichever needs fewer operations (the covariance form
    /// `C = Σ z zᵀ` for many rows, the attention form for few); see `LSAEvaluationOrder`.
    @differentiable(reverse, wrt: (tokens, wKQ, wPV))
    public static func linearSelfAttention(tokens: Tensor, wKQ: Tensor, wPV: Tensor, contextSize n: Int,
                                           fromRow start: Int = 0) -> Tensor {
        let (b, t, e, h) = checkLSAShapes(tokens, wKQ, wPV, n, start)
        let r = t - start
        var out = [Double](repeating: 0, count: b * r * e)
        tokens.scalars.withUnsafeBufferPointer { pz in
            wKQ.scalars.withUnsafeBufferPointer { pa in
                wPV.scalars.withUnsafeBufferPointer { pb in
                    out.withUnsafeMutableBufferPointer { po in
                        let (zb, ab, bb, ob) = (pz.baseAddress!, pa.baseAddress!, pb.baseAddress!, po.baseAddress!)
                        let attention = prefersAttentionForm(t: t, e: e, n: n, rows: r, heads: h)
                        Parallel.forChunks(count: b, workers: b >= 64 ? Parallel.workerCount : 1) { range in
                            var scratch = [Double](repeating: 0, count: e * e + 2 * r * e + 3 * e + n + 1)
                            scratch.withUnsafeMutableBufferPointer { s in
                                for p in range {
                                    if attention {
                                        icl_lsa_forward_attention(zb + p * t * e, t, e, n, start, ab, bb, h, ob + p * r * e, s.baseAddress!)
                                    } else {
                                        icl_lsa_forward(zb + p * t * e, t, e, n, start, ab, bb, h, ob + p * r * e, s.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [b, r, e], scalars: out)
    }

    static func checkLSAShapes(_ z: Tensor, _ a: Tensor, _ v: Tensor, _ n: Int, _ start: Int) -> (Int, Int, Int, Int) {
        precondition(z.rank == 3 && a.rank == 3 && a.shape == v.shape && a.shape[1] == z.shape[2] && a.shape[2] == z.shape[2],
                     "linearSelfAttention: tokens \(z.shape) need weights [H, E, E] with E = \(z.shape.last ?? 0), got \(a.shape) and \(v.shape)")
        precondition(n >= 0 && n <= z.shape[1] && start >= 0 && start <= z.shape[1],
                     "linearSelfAttention: context size \(n) / first row \(start) outside the \(z.shape[1]) tokens")
        return (z.shape[0], z.shape[1], z.shape[2], a.shape[0])
    }

    /// Whether the attention form (scores, then a weighted sum of context tokens) needs fewer multiply-adds
    /// than the covariance form (C = Σ z zᵀ once, then products with C), forward and backward together.
    static func prefersAttentionForm(t: Int, e: Int, n: Int, rows r: Int, heads h: Int) -> Bool {
        switch LSAEvaluationOrder.current {
        case .covariance: return false
        case .attention: return true
        case .automatic: break
        }
        let covariance = 3 * n * e * e + h * 7 * r * e * e
        let attention = h * r * (6 * e * e + 6 * n * e)
        return attention < covariance
    }

    /// Prompt chunks of the weight-gradient sums: fixed, so results do not depend on the thread count.
    static let lsaGradientChunks = 8

    // Pullback: the fused kernel's backward pass per prompt; weight gradients are summed per fixed chunk
    // of prompts and the chunks added in order.
    @derivative(of: linearSelfAttention, wrt: (tokens, wKQ, wPV))
    public static func _vjpLinearSelfAttention(tokens: Tensor, wKQ: Tensor, wPV: Tensor, contextSize n: Int, fromRow start: Int)
        -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor, Tensor)) {
        let value = linearSelfAttention(tokens: tokens, wKQ: wKQ, wPV: wPV, contextSize: n, fromRow: start)
        return (value, { g in
            let r = lsaBackward(g.matching(value.shape), tokens, wKQ, wPV, n, start, tokenGradient: true)
            return (r.dz!, r.da, r.db)
        })
    }

    // When the tokens are constants (the first layer sees the prompts), skip their gradient.
    @derivative(of: linearSelfAttention, wrt: (wKQ, wPV))
    public static func _vjpLinearSelfAttentionWeights(tokens: Tensor, wKQ: Tensor, wPV: Tensor, contextSize n: Int, fromRow start: Int)
        -> (value: Tensor, pullback: (Tensor) -> (Tensor, Tensor)) {
        let value = linearSelfAttention(tokens: tokens, wKQ: wKQ, wPV: wPV, contextSize: n, fromRow: start)
        return (value, { g in
            let r = lsaBackward(g.matching(value.shape), tokens, wKQ, wPV, n, start, tokenGradient: false)
            return (r.da, r.db)
        })
    }

    static func lsaBackward(_ g: Tensor, _ tokens: Tensor, _ wKQ: Tensor, _ wPV: Tensor, _ n: Int, _ start: Int,
                            tokenGradient: Bool) -> (dz: Tensor?, da: Tensor, db: Tensor) {
        let (b, t, e, h) = checkLSAShapes(tokens, wKQ, wPV, n, start)
        let r = t - start, w = h * e * e
        let chunks = Swift.max(Swift.min(lsaGradientChunks, b), 1)
        var dz = [Double](repeating: 0, count: tokenGradient ? b * t * e : 0)
        var da = [Double](repeating: 0, count: chunks * w), db = da
        let attention = prefersAttentionForm(t: t, e: e, n: n, rows: r, heads: h)
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
                                        var scratch = [Double](repeating: 0, count: 2 * e * e + 4 * r * e + 5 * e + 2 * n + 2)
                                        scratch.withUnsafeMutableBufferPointer { s in
                                            for c in cr {
                                                for p in (b * c / chunks)..<(b * (c + 1) / chunks) {
                                                    let dzp = tokenGradient ? dzb! + p * t * e : nil
                                                    if attention {
                                                        icl_lsa_backward_attention(zb + p * t * e, t, e, n, start, ab, bb, h, gb + p * r * e,
                                                                                   dzp, dab + c * w, dbb + c * w, s.baseAddress!)
                                                    } else {
                                                        icl_lsa_backward(zb + p * t * e, t, e, n, start, ab, bb, h, gb + p * r * e,
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
