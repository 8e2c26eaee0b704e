import Analysis
import ClassicalLearners
import Experiments
import Foundation
import Models
import NumericCore
import Tasks
import TestSupport
import Training
import XCTest
import _Differentiation

/// The GPT block and the paired layout: the attention primitive and the whole model against naive loops and
/// finite differences, the one-pass prefix predictions against one pass per prefix, and a short training run.
final class TransformerTests: XCTestCase {
    func testMaskedAttentionMatchesLoopsAndFiniteDifferences() {
        var rng = Xoshiro256(seed: 1)
        let (b, t, w, heads) = (2, 7, 6, 2)
        let (q, k, v) = (Tensor.randomNormal([b, t, w], using: &rng), Tensor.randomNormal([b, t, w], using: &rng),
                         Tensor.randomNormal([b, t, w], using: &rng))
        let mask = TokenLayout.pairedMask(contextSize: 4, visible: [0, 2, 4])
        // Rounding differs from the loops only in summation order: 1e-13 relative.
        assertClose(Tensor.maskedAttention(q: q, k: k, v: v, heads: heads, mask: mask),
                    naiveAttention(q, k, v, heads: heads, mask: mask), tolerance: 1e-13)
        let probe = Tensor.randomNormal([b, t, w], using: &rng)
        let gq = gradient(at: q) { q in (Tensor.maskedAttention(q: q, k: k, v: v, heads: heads, mask: mask) * probe).sum() }
        let gk = gradient(at: k) { k in (Tensor.maskedAttention(q: q, k: k, v: v, heads: heads, mask: mask) * probe).sum() }
        let gv = gradient(at: v) { v in (Tensor.maskedAttention(q: q, k: k, v: v, heads: heads, mask: mask) * probe).sum() }
        let f = { (q: Tensor, k: Tensor, v: Tensor) in (Tensor.maskedAttention(q: q, k: k, v: v, heads: heads, mask: mask) * probe).sum().scalar }
        XCTAssertLessThan(relativeError(gq, numericalGradient(at: q) { f($0, k, v) }), 1e-7)
        XCTAssertLessThan(relativeError(gk, numericalGradient(at: k) { f(q, $0, v) }), 1e-7)
        XCTAssertLessThan(relativeError(gv, numericalGradient(at: v) { f(q, k, $0) }), 1e-7)
    }

    func testFusedBiasAndLayerNormMatchTheirCompositionsAndFiniteDifferences() {
        var rng = Xoshiro256(seed: 2)
        let x = Tensor.randomNormal([3, 4, 5], using: &rng)
        let (g, b) = (Tensor.randomNormal([5], using: &rng), Tensor.randomNormal([5], using: &rng))
        let probe = Tensor.randomNormal([3, 4, 5], using: &rng)
        assertClose(x.addingRowVector(b), x + b, tolerance: 1e-15)
        assertClose(x.layerNorm(gain: g, bias: b), x.layerNormalized() * g + b, tolerance: 1e-14)
        let f = { (x: Tensor, g: Tensor, b: Tensor) in (x.layerNorm(gain: g, bias: b) * probe).sum().scalar }
        XCTAssertLessThan(relativeError(gradient(at: x) { ($0.layerNorm(gain: g, bias: b) * probe).sum() },
                                        numericalGradient(at: x) { f($0, g, b) }), 1e-7)
        XCTAssertLessThan(relativeError(gradient(at: g) { (x.layerNorm(gain: $0, bias: b) * probe).sum() },
                                        numericalGradient(at: g) { f(x, $0, b) }), 1e-7)
        XCTAssertLessThan(relativeError(gradient(at: b) { (x.layerNorm(gain: g, bias: $0) * probe).sum() },
                                        numericalGradient(at: b) { f(x, g, $0) }), 1e-7)
        XCTAssertLessThan(relativeError(gradient(at: b) { (x.addingRowVector($0) * probe).sum() },
                                        numericalGradient(at: b) { (x.addingRowVector($0) * probe).sum().scalar }), 1e-7)
        // The one-exp tanh inside GELU's pullback matches the plain GELU to rounding.
        let (value, _) = valueWithPullback(at: x) { $0.gelu() }
        assertClose(value, x.gelu(), tolerance: 1e-15)
    }

    /// A block whose every parameter matters: large weights, random LayerNorm gains and biases.
    func randomBlock(width w: Int, heads: Int, seed: UInt64) -> GPTBlock {
        var rng = Xoshiro256(seed: seed)
        var block = GPTBlock(width: w, heads: heads, std: 0.4, using: &rng)
        for path in block.parameterPaths where path.name.hasSuffix("bias") || path.name.hasSuffix("gain") {
            let shape = block[keyPath: path.value].shape
            block[keyPath: path.value] = Tensor.randomNormal(shape, standardDeviation: 0.5, using: &rng)
                + (path.name.hasSuffix("gain") ? Tensor(1) : Tensor(0))
        }
        return block
    }

    func testFusedGPTBlockMatchesTheComposedBlockAndFiniteDifferences() {
        // The fused kernel (BLASRuntime/GPTBlock.c: lane-packed attention, hand-written pullback) against the same
        // block composed of differentiable primitives. Batches of 3, 9 and 17 prompts leave lane groups partly
        // empty; 300 prompts of 7 tokens split into 3 fused calls whose weight gradients are summed. The mask has
        // a row that attends nothing, finite additive entries and the paired layout's pattern. Both sides round
        // differently (summation order, exp in lanes within 2 ulp): 1e-12 relative in value, 1e-11 in gradient.
        let (w, heads, t) = (8, 2, 7)
        var mask = TokenLayout.pairedMask(contextSize: 4, visible: [1, 2, 4])
        for j in 0..<t { mask.scalars[j] = -.infinity }   // token 0 attends nothing
        mask.scalars[2 * t + 1] = 0.3
        mask.scalars[5 * t + 2] = -1.7
        let block = randomBlock(width: w, heads: heads, seed: 31)
        var rng = Xoshiro256(seed: 32)
        for b in [3, 9, 17, 300] {
            let x = Tensor.randomNormal([b, t, w], using: &rng)
            let probe = Tensor.randomNormal([b, t, w], using: &rng)
            let fused = block(x, mask: mask), reference = block.reference(x, mask: mask)
            XCTAssertLessThan(relativeError(fused, reference), 1e-12, "value, B = \(b)")
            let (gBlock, gx) = gradient(at: block, x) { m, x in (m(x, mask: mask) * probe).sum() }
            let (rBlock, rx) = gradient(at: block, x) { m, x in (m.reference(x, mask: mask) * probe).sum() }
            XCTAssertLessThan(relativeError(gx, rx), 1e-11, "dx, B = \(b)")
            // Relative to the whole gradient: the key bias's gradient is 0 up to rounding (softmax ignores it).
            let scale = block.gradientNorm(rBlock)
            for path in block.parameterPaths {
                XCTAssertLessThan((block.gradient(gBlock, at: path) - block.gradient(rBlock, at: path)).norm, 1e-11 * scale,
                                  "\(path.name), B = \(b)")
            }
        }
        // Finite differences of the fused block itself, in the input and in two weights.
        let x = Tensor.randomNormal([3, t, w], using: &rng), probe = Tensor.randomNormal([3, t, w], using: &rng)
        let (gBlock, gx) = gradient(at: block, x) { m, x in (m(x, mask: mask) * probe).sum() }
        XCTAssertLessThan(relativeError(gx, numericalGradient(at: x) { (block($0, mask: mask) * probe).sum().scalar }), 1e-7)
        for name in ["query.weight", "expand.bias", "norm1.gain"] {
            let path = block.parameterPaths.first { $0.name == name }!
            let numeric = numericalGradient(at: block[keyPath: path.value]) { v in
                var m = block
                m[keyPath: path.value] = v
                return (m(x, mask: mask) * probe).sum().scalar
            }
            XCTAssertLessThan(relativeError(block.gradient(gBlock, at: path), numeric), 1e-7, name)
        }
    }

    func testSoftmaxConstructionCopiesThePreviousTokenExactly() {
        // GPTBlock.previousTokenCopy: score β = 60 at j = i − 1 and 0 elsewhere, so every other token's weight is
        // ≤ T e^{−60} ≈ 1e-25; the rest is rounding of O(W) products of O(1) numbers: 1e-12 is ~100× that.
        let (k, t) = (3, 7)
        let block = GPTBlock.previousTokenCopy(contentDimension: k, positions: t)
        var rng = Xoshiro256(seed: 41)
        let contents = Tensor(shape: [9, t, k], scalars: (0..<(9 * t * k)).map { _ in rng.nextUniform() < 0.5 ? -1 : 1 })
        let x = GPTBlock.previousTokenTokens(contents)
        let causal = TokenLayout.causalMask(t)
        var expected = x
        let w = 3 * k + t
        for p in 0..<9 { for i in 0..<t { for c in 0..<k {
            expected.scalars[(p * t + i) * w + 2 * k + t + c] = contents.scalars[(p * t + max(i - 1, 0)) * k + c]
        } } }
        assertClose(block(x, mask: causal), expected, tolerance: 1e-12, "fused kernel")
        assertClose(block.reference(x, mask: causal), expected, tolerance: 1e-12, "composed block")
    }

    func testPairedMaskLetsQueriesSeeOnlyTheirPrefix() {
        let m = TokenLayout.pairedMask(contextSize: 3, visible: [0, 1, 3])
        let allowed = (0..<6).map { i in (0..<6).filter { m[i, $0] == 0 } }
        XCTAssertEqual(allowed, [[0], [0, 1], [0, 1, 2], [3], [0, 4], [0, 1, 2, 5]])
    }

    /// Every parameter's gradient of the training loss against central differences (relative error < 1e-6). A
    /// parameter whose finite-difference gradient is 0 to rounding (the key biases: softmax ignores a constant
    /// added to a row of scores) must have an analytic gradient that is 0 to rounding too.
    func assertTrainingGradientsMatchFiniteDifferences<M: ICLModel>(_ m: M, _ p: PromptBatch, objectives: [TrainingObjective],
                                                                    file: StaticString = #filePath, line: UInt = #line) {
        for objective in objectives {
            assertParameterGradientsMatchFiniteDifferences(m, "\(objective)", file: file, line: line) {
                $0.trainingLoss(p, kind: .real, objective: objective)
            }
        }
    }

    func tinyGPT(seed: UInt64 = 3) -> GPT {
        var rng = Xoshiro256(seed: seed)
        return GPT(dimension: 2, width: 8, layers: 2, heads: 2, std: 0.3, using: &rng)
    }

    /// The whole forward pass with loops: read-in, pre-LN blocks, final LN, read-out.
    func naiveForward(_ m: GPT, _ tokens: Tensor, contextSize n: Int) -> [Tensor] {
        let (b, t) = (tokens.shape[0], tokens.shape[1])
        let mask = TokenLayout.pairedMask(contextSize: n, visible: Array(repeating: n, count: t - n))
        var h = naiveDense(tokens, m.readIn)
        var out: [Tensor] = []
        for blk in m.blocks {
            h = naiveBlock(blk, h, mask: mask)
            let r = naiveDense(naiveLayerNorm(h, m.finalNorm), m.readOut)
            out.append(Tensor(shape: [b, t - n], scalars: (0..<b).flatMap { p in (n..<t).map { r.scalars[p * t + $0] } }))
        }
        return out
    }

    func testGPTForwardMatchesANaiveImplementation() {
        let m = tinyGPT()
        var rng = Xoshiro256(seed: 4)
        let p = LinearRegressionTask(dimension: 2, points: 6).sample(batch: 3, using: &rng)
        let (cx, cy) = p.context(4)
        let z = TokenLayout.paired(contextXs: cx, contextYs: cy, queries: p.points(4..<6).xs)
        for (fast, slow) in zip(m.readouts(z, contextSize: 4), naiveForward(m, z, contextSize: 4)) {
            assertClose(fast, slow, tolerance: 1e-12)
        }
        assertWalkCoversEveryParameter(m)
    }

    func testGPTGradientMatchesFiniteDifferences() {
        let m = tinyGPT()
        var rng = Xoshiro256(seed: 5)
        let p = LinearRegressionTask(dimension: 2, points: 5).sample(batch: 3, using: &rng)
        assertTrainingGradientsMatchFiniteDifferences(m, p, objectives: [.query, .everyPrefix])
    }

    func testOnePassPrefixPredictionsEqualOnePassPerPrefix() {
        // The paired mask makes query i see exactly points 0..<i: one pass over every prefix gives what the
        // generic prefix loop (one forward pass per prefix length) gives.
        let m = tinyGPT(seed: 9)
        var rng = Xoshiro256(seed: 6)
        let p = LinearRegressionTask(dimension: 2, points: 6).sample(batch: 4, using: &rng)
        let fast = m.prefixTrajectory(p), slow = m.defaultPrefixTrajectory(p)
        for (a, b) in zip(fast.predictions, slow.predictions) { assertClose(a, b, tolerance: 1e-12) }
    }

    func testInterpolationTableShowsOLSsSpikeAndNamesTheNearerReference() {
        // Noisy labels (σ = 0.5), d = 4: min-norm OLS's error spikes at k = d (a square, badly conditioned
        // system fits the noise), ridge's does not. Ridge itself as the "model" is at SPD 0 from ridge and nearer
        // to it; OLS as the model the other way round.
        var rng = Xoshiro256(seed: 51)
        let prompts = LinearRegressionTask(dimension: 4, points: 8, noise: 0.5).sample(batch: 2000, using: &rng)
        let asRidge = Comparison.interpolationTable(learner: Ridge(penalty: 0.1), prompts: prompts, dimension: 4)!
        let asOLS = Comparison.interpolationTable(learner: LeastSquares(), prompts: prompts, dimension: 4)!
        XCTAssertEqual(asRidge.rows.map { $0[0].number }, [3, 4, 5])
        let olsMSE = asRidge.rows.map { $0[2].number! }, ridgeMSE = asRidge.rows.map { $0[3].number! }
        XCTAssertGreaterThan(olsMSE[1], 3 * max(olsMSE[0], olsMSE[2]), "OLS spikes at k = d")
        XCTAssertLessThan(ridgeMSE[1], olsMSE[1] / 3)
        for row in asRidge.rows { XCTAssertEqual(row[5].number, 0); XCTAssertEqual(row[6].plain, "ridge") }
        for row in asOLS.rows { XCTAssertEqual(row[4].number, 0); XCTAssertEqual(row[6].plain, "OLS") }
        XCTAssertNil(Comparison.interpolationTable(learner: LeastSquares(), prompts: prompts, dimension: 7), "needs k = d + 1 < N")
    }

    func testTinyGPTLearnsInContextRegression() throws {
        // d = 2, 8 points, 300 AdamW steps on every prefix: the error at the last points falls well below the
        // zero predictor's (≈ E‖w‖²‖x‖²/… = 2) and below averaging's; a loose bound, the full run is a preset.
        let config = ExperimentConfig(
            name: "tiny-gpt", task: .linearRegression(LinearRegressionTask(dimension: 2, points: 8)),
            model: ModelSpec(kind: .transformer, layers: 2, heads: 2, width: 16),
            training: TrainingConfig(steps: 300, batchSize: 64, learningRate: 3e-3, maxGradientNorm: 1, logEvery: 0,
                                     objective: .everyPrefix, warmupSteps: 30, schedule: .cosine),
            evaluation: EvaluationConfig(prompts: 300, ridgePoints: 6))
        let report = try Comparison.run(config, quiet: true)
        let mse = report.layerRows.last!.error
        XCTAssertLessThan(mse, 0.5, report.render(.markdown))
        guard let curve = report.contextCurve, let avg = curve.rows.first(where: { $0[0].plain == "averaging" }),
              case .number(let avgLast) = avg.last!, case .number(let modelLast) = curve.rows[0].last! else {
            return XCTFail("curve rows")
        }
        XCTAssertLessThan(modelLast, avgLast)
    }

    func testLoopedTransformerAndAlgoFormerGradientsAndPrefixes() {
        var rng = Xoshiro256(seed: 12)
        let p = LinearRegressionTask(dimension: 2, points: 5).sample(batch: 3, using: &rng)
        for (pre, post) in [(0, 0), (1, 1)] {
            let m = LoopedTransformer(dimension: 2, width: 8, heads: 2, depth: 3, preBlocks: pre, postBlocks: post, std: 0.3, using: &rng)
            assertWalkCoversEveryParameter(m)
            assertTrainingGradientsMatchFiniteDifferences(m, p, objectives: [.everyPrefix])
            // The training read-out is the last iteration's; one pass over every prefix = one pass per prefix.
            let fast = m.prefixTrajectory(p), slow = m.defaultPrefixTrajectory(p)
            for (a, b) in zip(fast.predictions, slow.predictions) { assertClose(a, b, tolerance: 1e-12) }
            // Looping longer at evaluation: the first 3 read-outs are unchanged, and there are 6.
            var longer = m
            longer.depth = 6
            let (cx, cy) = p.context(4)
            let q = p.points(4..<5).xs
            let r3 = m.trajectory(contextXs: cx, contextYs: cy, queries: q), r6 = longer.trajectory(contextXs: cx, contextYs: cy, queries: q)
            XCTAssertEqual(r6.stepCount, 6)
            for s in 0..<3 { assertClose(r6.predictions[s], r3.predictions[s], tolerance: 0) }
        }
    }

    func testTruncatedBackpropagationCutsEarlyIterations() {
        var rng = Xoshiro256(seed: 13)
        let p = LinearRegressionTask(dimension: 2, points: 5).sample(batch: 3, using: &rng)
        let full = LoopedTransformer(dimension: 2, width: 8, heads: 2, depth: 4, std: 0.3, using: &rng)
        var cut = full
        cut.window = 1
        var whole = full
        whole.window = 4
        let loss = { (m: LoopedTransformer) in m.trainingLoss(p, kind: .real, objective: .query) }
        XCTAssertEqual(loss(full).scalar, loss(cut).scalar, "truncation changes gradients, not values")
        func grad(_ m: LoopedTransformer) -> LoopedTransformer.TangentVector {
            gradient(at: m) { $0.trainingLoss(p, kind: .real, objective: .query) }
        }
        let (gFull, gCut, gWhole) = (grad(full), grad(cut), grad(whole))
        let path = full.parameterPaths.first { $0.name == "body.query.weight" }!
        assertClose(full.gradient(gWhole, at: path), full.gradient(gFull, at: path), tolerance: 0)
        XCTAssertGreaterThan((full.gradient(gFull, at: path) - cut.gradient(gCut, at: path)).norm, 1e-6,
                             "a one-iteration window drops the earlier iterations' contributions")
    }

    func testMicroBatchGradientsSumToTheBatchGradient() {
        // Each part's loss is weighted by its share of the prompts, so the parts' gradients add up to the whole
        // batch's gradient (to rounding: the sums are ordered differently).
        let m = tinyGPT(seed: 21)
        var rng = Xoshiro256(seed: 22)
        let p = LinearRegressionTask(dimension: 2, points: 5).sample(batch: 7, using: &rng)
        let (whole, g) = valueWithGradient(at: m) { $0.trainingLoss(p, kind: .real, objective: .everyPrefix) }
        let (split, gs) = Trainer.splitGradient(m, p, parts: 3, kind: .real, objective: .everyPrefix)
        XCTAssertEqual(split, whole, accuracy: 1e-13 * abs(whole))
        let scale = m.gradientNorm(g)
        for path in m.parameterPaths {
            // Relative to the whole gradient: the key biases' gradients are 0 up to rounding (softmax ignores them).
            XCTAssertLessThan((m.gradient(gs, at: path) - m.gradient(g, at: path)).norm, 1e-12 * scale, path.name)
        }
    }

    func testInterleavedGPTGradientsAndOneCausalPassPerPromptEqualsOnePassPerPrefix() {
        var rng = Xoshiro256(seed: 31)
        let p = LinearRegressionTask(dimension: 2, points: 5).sample(batch: 3, using: &rng)
        let m = GPT(dimension: 2, width: 8, layers: 2, heads: 2, std: 0.3, layout: .interleaved, points: 5, using: &rng)
        assertWalkCoversEveryParameter(m)
        XCTAssertEqual(m.positional.shape, [10, 8])
        assertTrainingGradientsMatchFiniteDifferences(m, p, objectives: [.query, .everyPrefix])
        // The causal sequence x₁ y₁ … read at every x token = each prefix as a context plus one query at the next
        // position, seeing the context and itself.
        let fast = m.prefixTrajectory(p), slow = m.defaultPrefixTrajectory(p)
        for (a, b) in zip(fast.predictions, slow.predictions) { assertClose(a, b, tolerance: 1e-12) }
    }

    func testTinyInterleavedGPTTrainsThroughTheSpine() throws {
        var spec = ModelSpec(kind: .transformer, layers: 2, heads: 2, width: 16)
        spec.layoutName = .interleaved
        let config = ExperimentConfig(
            name: "tiny-interleaved", task: .linearRegression(LinearRegressionTask(dimension: 2, points: 6)),
            model: spec,
            training: TrainingConfig(steps: 200, batchSize: 64, learningRate: 3e-3, maxGradientNorm: 1, logEvery: 0,
                                     objective: .everyPrefix, warmupSteps: 20, schedule: .cosine),
            evaluation: EvaluationConfig(prompts: 200, ridgePoints: 6))
        let json = String(decoding: config.jsonData(), as: UTF8.self)
        XCTAssertTrue(json.contains("\"layout\" : \"interleaved\""), json)
        let report = try Comparison.run(config, quiet: true)
        let losses = report.history!.losses
        let early: Double = losses.prefix(20).reduce(0, +) / 20
        let late: Double = losses.suffix(20).reduce(0, +) / 20
        XCTAssertLessThan(late, early)
        XCTAssertNotNil(report.probes)
    }
}
