import Foundation
import NumericCore
import TestSupport
import XCTest
import _Differentiation

/// Every differentiable op's pullback against central finite differences (TestSupport.gradientCheckTolerance),
/// including broadcast and masked cases.
final class GradientTests: XCTestCase {
    var rng = Xoshiro256(seed: 7)
    func randn(_ shape: [Int]) -> Tensor { Tensor.randomNormal(shape, using: &rng) }
    /// Entries kept away from 0 (for log, sqrt and division) and from ReLU's kink.
    func positive(_ shape: [Int]) -> Tensor { Tensor.randomUniform(shape, low: 0.5, high: 2, using: &rng) }

    func testBinaryArithmeticSameShape() {
        let x = randn([2, 3, 4]), y = randn([2, 3, 4])
        assertGradientMatches(at: x, y, "+") { $0 + $1 }
        assertGradientMatches(at: x, y, "-") { $0 - $1 }
        assertGradientMatches(at: x, y, "*") { $0 * $1 }
        assertGradientMatches(at: x, positive([2, 3, 4]), "/") { $0 / $1 }
    }

    func testBinaryArithmeticBroadcast() {
        let x = randn([2, 3, 4])
        for shape in [[4], [3, 1], [1, 3, 4], [2, 1, 4], [], [1]] {
            let y = positive(shape)
            assertGradientMatches(at: x, y, "+ \(shape)") { $0 + $1 }
            assertGradientMatches(at: x, y, "- \(shape)") { $0 - $1 }
            assertGradientMatches(at: y, x, "- reversed \(shape)") { $0 - $1 }
            assertGradientMatches(at: x, y, "* \(shape)") { $0 * $1 }
            assertGradientMatches(at: x, y, "/ \(shape)") { $0 / $1 }
            assertGradientMatches(at: y, positive([2, 3, 4]), "/ reversed \(shape)") { $0 / $1 }
        }
        // Both operands stretched: [3, 1] against [1, 4].
        assertGradientMatches(at: randn([3, 1]), randn([1, 4]), "outer broadcast") { $0 * $1 }
    }

    func testScalarArithmeticAndNegation() {
        let x = randn([3, 2])
        assertGradientMatches(at: x, "x * c") { $0 * 2.5 }
        assertGradientMatches(at: x, "c * x") { -1.5 * $0 }
        assertGradientMatches(at: x, "x / c") { $0 / 4 }
        assertGradientMatches(at: x, "x + c") { $0 + 3 }
        assertGradientMatches(at: x, "x - c") { $0 - 3 }
        assertGradientMatches(at: x, "-x") { -$0 }
    }

    func testVectorizedGeluMatchesTheLibmFormula() {
        // The kernel's own exp (range reduction + degree-13 series) against libm's tanh, from the middle to where
        // tanh saturates and x³ overflows; 4 ulp of the value (or of 1 near zero) bounds the two roundings.
        var xs: [Double] = stride(from: -40.0, through: 40.0, by: 0.0137).map { $0 }
        xs += [0, -0.0, 1e-300, -1e-300, 1e-8, 6.5, -6.5, 300, -300, 1e103, -1e103, 1e300, -1e300]
        let got = Tensor(xs).gelu().scalars
        for (x, y) in zip(xs, got) {
            let reference = 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            XCTAssertLessThanOrEqual(abs(y - reference), 4 * max(abs(reference), 1e-300).ulp + 4 * 1.0.ulp * min(abs(x), 1),
                                     "gelu(\(x)) = \(y), libm \(reference)")
        }
        XCTAssertTrue(Tensor([Double.nan]).gelu().scalars[0].isNaN)
    }

    func testElementwiseFunctions() {
        let x = randn([4, 5]), p = positive([4, 5])
        assertGradientMatches(at: x, "squared") { $0.squared() }
        assertGradientMatches(at: x, "exp") { $0.exp() }
        assertGradientMatches(at: p, "log") { $0.log() }
        assertGradientMatches(at: p, "sqrt") { $0.squareRoot() }
        assertGradientMatches(at: x, "tanh") { $0.tanh() }
        assertGradientMatches(at: x * 3, "sigmoid") { $0.sigmoid() }
        assertGradientMatches(at: x * 2, "gelu") { $0.gelu() }
        assertGradientMatches(at: x * 2, "geluExact") { $0.geluExact() }
        // ReLU away from its kink: finite differences are exact off x = 0.
        let r = x.map { abs($0) < 0.05 ? 0.5 : $0 }
        assertGradientMatches(at: r, "relu") { $0.relu() }
    }

    func testReductions() {
        let x = randn([2, 3, 4])
        assertGradientMatches(at: x, "sum") { $0.sum() }
        assertGradientMatches(at: x, "mean") { $0.mean() }
        for axis in [0, 1, 2, -1] {
            assertGradientMatches(at: x, "sum axis \(axis)") { $0.sum(alongAxis: axis) }
            assertGradientMatches(at: x, "sum axis \(axis) keep") { $0.sum(alongAxis: axis, keepingDims: true) }
            assertGradientMatches(at: x, "mean axis \(axis)") { $0.mean(alongAxis: axis) }
        }
    }

    func testShapeOps() {
        let x = randn([2, 3, 4])
        assertGradientMatches(at: x, "reshape") { $0.reshaped(to: [6, 4]) }
        assertGradientMatches(at: x, "transpose") { $0.matrixTransposed() }
        assertGradientMatches(at: x, "slice axis 1") { $0.slice(alongAxis: 1, 1..<3) }
        assertGradientMatches(at: x, "slice last") { $0.slice(alongAxis: -1, 0..<1) }
        assertGradientMatches(at: x, randn([2, 1, 4]), "concat two") { $0.concatenated(with: $1, alongAxis: 1) }
        let z = randn([2, 3, 2])
        assertGradientMatches(at: x, "concat three") { Tensor.concatenate([$0, z, $0], alongAxis: 2) }
        assertGradientMatches(at: randn([3, 4]), "tile batch") { $0.tiledBatch(5) }
    }

    func testMatmulAllLayouts() {
        for (m, k, n) in [(3, 4, 5), (30, 28, 26)] {   // direct kernel and BLAS sizes
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = randn(ta ? [k, m] : [m, k]), b = randn(tb ? [n, k] : [k, n])
                    assertGradientMatches(at: a, b, "2D \(m)x\(k)x\(n) tA=\(ta) tB=\(tb)") {
                        matmul($0, $1, transposeA: ta, transposeB: tb)
                    }
                    let ba = randn(ta ? [3, k, m] : [3, m, k]), bb = randn(tb ? [3, n, k] : [3, k, n])
                    assertGradientMatches(at: ba, bb, "3D tA=\(ta) tB=\(tb)") {
                        matmul($0, $1, transposeA: ta, transposeB: tb)
                    }
                    assertGradientMatches(at: ba, b, "3D·2D tA=\(ta) tB=\(tb)") {
                        matmul($0, $1, transposeA: ta, transposeB: tb)
                    }
                    assertGradientMatches(at: a, bb, "2D·3D tA=\(ta) tB=\(tb)") {
                        matmul($0, $1, transposeA: ta, transposeB: tb)
                    }
                }
            }
        }
    }

    func testSoftmaxMasksAndNormalization() {
        let scores = randn([2, 4, 4]) * 3
        assertGradientMatches(at: scores, "softmax") { $0.softmax() }
        assertGradientMatches(at: scores, "logSoftmax") { $0.logSoftmax() }
        let causal = Tensor.causalMask(4)
        assertGradientMatches(at: scores, "causal softmax") { $0.masked(by: causal).softmax() }
        let keys = Tensor.keyMask(lengths: [2, 4], size: 4)   // [2, 1, 4], broadcast over queries
        assertGradientMatches(at: scores, "key-masked softmax") { $0.masked(by: keys).softmax() }
        assertGradientMatches(at: scores, "masked fill 0") { $0.masked(by: causal, fill: 0) }
        assertGradientMatches(at: randn([3, 5]) * 2 + 1, "layerNorm") { $0.layerNormalized() }
    }

    func testLosses() {
        let p = randn([4, 3]), y = randn([4, 3])
        assertGradientMatches(at: p, "mse") { meanSquaredError(predicted: $0, expected: y) }
        let labels01 = Tensor(shape: [4, 3], scalars: (0..<12).map { Double($0 % 2) })
        assertGradientMatches(at: p * 3, "sigmoid CE") { sigmoidCrossEntropy(logits: $0, labels: labels01) }
        assertGradientMatches(at: p * 2, "softmax CE") { softmaxCrossEntropy(logits: $0, labels: [0, 2, 1, 2]) }
        // Sets of one, two and three correct classes; large logits exercise the shifted log-sum-exps.
        let sets = Tensor(shape: [4, 3], scalars: [1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1])
        assertGradientMatches(at: p * 2, "set CE") { setCrossEntropy(logits: $0, targets: sets) }
        assertGradientMatches(at: p * 2 + 300, "set CE, shifted") { setCrossEntropy(logits: $0, targets: sets) }
    }

    /// A composite: one linear-self-attention layer's query read-out (von Oswald layout), differentiated
    /// with respect to its weights — the computation the models train.
    func testLinearSelfAttentionComposite() {
        let z = randn([3, 5, 4])                    // [B, N+1, D+1] tokens, last row is the query
        let mask = Tensor(shape: [1, 5, 1], scalars: [1, 1, 1, 1, 0])
        func lsa(_ wKQ: Tensor, _ wPV: Tensor) -> Tensor {
            let ctx = z * mask                                           // keys/values from context only
            let cov = matmul(ctx, ctx, transposeA: true)                 // [B, E, E] = Σ_i e_i e_iᵀ
            let update = matmul(matmul(matmul(z, wKQ, transposeB: true), cov), wPV, transposeB: true)
            return (z + update / 4).slice(alongAxis: 1, 4..<5)
        }
        assertGradientMatches(at: randn([4, 4]), randn([4, 4]), "LSA layer") { lsa($0, $1) }
    }

    func testZeroTangentBroadcasts() {
        // The additive zero is rank 0 and must act as the identity for any shape.
        let g = randn([2, 3])
        XCTAssertEqual(Tensor.zero + g, g)
        XCTAssertEqual(g + .zero, g)
        var m = g
        m.move(by: .zero)
        XCTAssertEqual(m, g)
    }
}

/// The fused linear-self-attention primitive: against the composition of matmuls it replaces, and its
/// pullback against finite differences.
final class FusedLinearSelfAttentionTests: XCTestCase {
    /// The reference: `rows + (1/n) Σ_h rows A_hᵀ C B_hᵀ` from generic ops.
    @differentiable(reverse)
    static func reference(_ z: Tensor, _ a: Tensor, _ v: Tensor, n: Int, start: Int) -> Tensor {
        let zs = withoutDerivative(at: z).shape, heads = withoutDerivative(at: a).shape[0]
        let (t, e) = (zs[1], zs[2])
        let mask = withoutDerivative(at: Tensor(shape: [1, t, 1], scalars: (0..<t).map { $0 < n ? 1 : 0 }))
        let ctx = z * mask
        let c = matmul(ctx, ctx, transposeA: true)
        let rows = z.slice(alongAxis: 1, start..<t)
        var out = rows
        for h in 0..<heads {
            let ah = a.slice(alongAxis: 0, h..<(h + 1)).reshaped(to: [e, e])
            let vh = v.slice(alongAxis: 0, h..<(h + 1)).reshaped(to: [e, e])
            out = out + matmul(matmul(matmul(rows, ah, transposeB: true), c), vh, transposeB: true) / Double(max(n, 1))
        }
        return out
    }

    override func tearDown() { LSAEvaluationOrder.current = .automatic }

    func testBothEvaluationOrdersMatchCompositionAndFiniteDifferences() {
        for order in [LSAEvaluationOrder.covariance, .attention] {
            LSAEvaluationOrder.current = order
            checkAgainstReference("\(order)")
        }
    }

    func checkAgainstReference(_ label: String) {
        var rng = Xoshiro256(seed: 40)
        // Batches of 4 and 13 prompts (the packed kernel's groups of 8: one partial, one full and a partial);
        // widths 4 (the general body) and 6, 11 (the specialized copies).
        for (n, start, heads, batch, e) in [(5, 0, 1, 4, 4), (5, 5, 2, 4, 4), (3, 1, 3, 13, 4), (0, 0, 1, 4, 4), (7, 7, 1, 4, 4),
                                            (5, 0, 2, 13, 6), (6, 0, 1, 13, 11), (6, 6, 1, 9, 11)] {
            let z = Tensor.randomNormal([batch, 7, e], using: &rng)
            let a = Tensor.randomNormal([heads, e, e], using: &rng), v = Tensor.randomNormal([heads, e, e], using: &rng)
            let fused = Tensor.linearSelfAttention(tokens: z, wKQ: a, wPV: v, contextSize: n, fromRow: start)
            assertClose(fused, Self.reference(z, a, v, n: n, start: start), tolerance: 1e-12, "\(label) n=\(n) start=\(start) H=\(heads)")
            let r = projection(like: fused)
            let (gz, ga, gv) = valueWithPullback(at: z, a, v) { z, a, v in
                (Tensor.linearSelfAttention(tokens: z, wKQ: a, wPV: v, contextSize: n, fromRow: start) * r).sum()
            }.pullback(Tensor(1))
            let (rz, ra, rv) = valueWithPullback(at: z, a, v) { z, a, v in
                (Self.reference(z, a, v, n: n, start: start) * r).sum()
            }.pullback(Tensor(1))
            assertClose(gz, rz, tolerance: 1e-11, "dz")
            assertClose(ga, ra, tolerance: 1e-11, "dW_KQ")
            assertClose(gv, rv, tolerance: 1e-11, "dW_PV")
            // The weights-only pullback (constant tokens: the first layer) gives the same weight gradients.
            let (ca, cv) = valueWithPullback(at: a, v) { a, v in
                (Tensor.linearSelfAttention(tokens: z, wKQ: a, wPV: v, contextSize: n, fromRow: start) * r).sum()
            }.pullback(Tensor(1))
            assertClose(ca, ga, tolerance: 0, "dW_KQ, constant tokens")
            assertClose(cv, gv, tolerance: 0, "dW_PV, constant tokens")
            assertGradientMatches(at: a, "fused dW_KQ n=\(n)") { a in Tensor.linearSelfAttention(tokens: z, wKQ: a, wPV: v, contextSize: n, fromRow: start) }
            assertGradientMatches(at: z, "fused dz n=\(n)") { z in Tensor.linearSelfAttention(tokens: z, wKQ: a, wPV: v, contextSize: n, fromRow: start) }
        }
    }
}

/// The lane layout `[⌈B/8⌉, T, E, 8]` that stacks and loops keep between LSA layers.
final class LaneLayoutTests: XCTestCase {
    // The plain layout's few-row case would take the attention form; compare like with like.
    override func setUp() { LSAEvaluationOrder.current = .covariance }
    override func tearDown() { LSAEvaluationOrder.current = .automatic }

    func testPackingIsATransposeWithZeroPaddingAndItsOwnPullback() {
        var rng = Xoshiro256(seed: 41)
        for b in [1, 8, 13, 16] {
            let x = Tensor.randomNormal([b, 3, 5], using: &rng)
            let p = x.lanePacked()
            XCTAssertEqual(p.shape, [(b + 7) / 8, 3, 5, 8])
            // Entry (prompt q, row i, column k) sits at group q / 8, lane q % 8; missing lanes are zero.
            for g in 0..<p.shape[0] { for i in 0..<3 { for k in 0..<5 { for l in 0..<8 {
                let q = 8 * g + l
                let packed = p.scalars[((g * 3 + i) * 5 + k) * 8 + l]
                XCTAssertEqual(packed, q < b ? x.scalars[(q * 3 + i) * 5 + k] : 0, "b=\(b) q=\(q) i=\(i) k=\(k)")
            } } } }
            XCTAssertEqual(p.laneUnpacked(count: b).scalars, x.scalars, "round trip b=\(b)")
            assertGradientMatches(at: x, "lanePacked b=\(b)") { $0.lanePacked() }
            assertGradientMatches(at: p, "laneUnpacked b=\(b)") { $0.laneUnpacked(count: b) }
        }
    }

    func testLSAOnTheLaneLayoutMatchesThePlainLayoutAndFiniteDifferences() {
        var rng = Xoshiro256(seed: 42)
        for (b, e, n, start, heads) in [(13, 4, 5, 0, 2), (8, 11, 6, 6, 1), (3, 6, 4, 0, 1), (17, 21, 5, 0, 1)] {
            let t = 7
            let z = Tensor.randomNormal([b, t, e], using: &rng)
            let a = Tensor.randomNormal([heads, e, e], standardDeviation: 0.3, using: &rng)
            let v = Tensor.randomNormal([heads, e, e], standardDeviation: 0.3, using: &rng)
            let plain = Tensor.linearSelfAttention(tokens: z, wKQ: a, wPV: v, contextSize: n, fromRow: start)
            let laned = Tensor.linearSelfAttention(lanes: z.lanePacked(), wKQ: a, wPV: v, contextSize: n, fromRow: start)
            // The same lane arithmetic in both layouts: identical bits.
            XCTAssertEqual(laned.laneUnpacked(count: b).scalars, plain.scalars, "b=\(b) e=\(e)")
            let r = projection(like: plain)
            let (pz, pa, pv) = valueWithPullback(at: z, a, v) { z, a, v in
                (Tensor.linearSelfAttention(tokens: z, wKQ: a, wPV: v, contextSize: n, fromRow: start) * r).sum()
            }.pullback(Tensor(1))
            let (lz, la, lv) = valueWithPullback(at: z, a, v) { z, a, v in
                (Tensor.linearSelfAttention(lanes: z.lanePacked(), wKQ: a, wPV: v, contextSize: n, fromRow: start)
                    .laneUnpacked(count: b) * r).sum()
            }.pullback(Tensor(1))
            // Padding lanes are zeros and contribute exact zeros; the chunks of groups are the same.
            XCTAssertEqual(lz.scalars, pz.scalars, "dz b=\(b) e=\(e)")
            XCTAssertEqual(la.scalars, pa.scalars, "dW_KQ b=\(b) e=\(e)")
            XCTAssertEqual(lv.scalars, pv.scalars, "dW_PV b=\(b) e=\(e)")
            if e <= 11 {
                assertGradientMatches(at: a, "lanes dW_KQ e=\(e)") { a in
                    Tensor.linearSelfAttention(lanes: z.lanePacked(), wKQ: a, wPV: v, contextSize: n, fromRow: start)
                }
                assertGradientMatches(at: z, "lanes dz e=\(e)") { z in
                    Tensor.linearSelfAttention(lanes: z.lanePacked(), wKQ: a, wPV: v, contextSize: n, fromRow: start)
                }
            }
        }
    }
}
