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

/// The graph transformers: Saparov et al.'s search decoder and the connectivity encoder against naive loops,
/// finite differences and a hand-built construction; their training through the one loop; the search
/// references; and the errors bad search input gets.
final class GraphTransformerTests: XCTestCase {
    let search = GraphSearchTask(vertices: 6, distribution: .balanced(maxLookahead: 2, branches: 2))

    func tinyDecoder(seed: UInt64 = 1, vertices: Int = 6, maxTokens: Int = 24) -> SearchDecoder {
        var rng = Xoshiro256(seed: seed)
        return SearchDecoder(vertices: vertices, maxTokens: maxTokens, width: 8, layers: 2, heads: 2, std: 0.3, using: &rng)
    }

    func prompts(_ task: GraphSearchTask, batch: Int, seed: UInt64) -> SearchBatch {
        var rng = Xoshiro256(seed: seed)
        return task.sample(batch: batch, using: &rng)
    }

    /// The decoder by loops, one prompt at a time at its own length (no padding at all): embedding plus
    /// position, causal blocks, final LN and read-out at the last token, after every layer.
    func naiveLogits(_ m: SearchDecoder, _ batch: SearchBatch) -> [Tensor] {
        let (b, t, w, v) = (batch.tokens.shape[0], batch.tokens.shape[1], m.width, m.vertices)
        var out = [[Double]](repeating: [], count: m.depth)
        for p in 0..<b {
            let ids = (0..<t).map { Int(batch.tokens.scalars[p * t + $0]) }.filter { $0 >= 0 }
            let n = ids.count
            var h = Tensor(shape: [1, n, w], scalars: ids.enumerated().flatMap { i, id in
                (0..<w).map { m.tokenEmbedding[id, $0] + m.positional[i, $0] }
            })
            for (l, blk) in m.trunk.blocks.enumerated() {
                h = naiveBlock(blk, h, mask: TokenLayout.causalMask(n))
                let last = Tensor(shape: [1, 1, w], scalars: Array(h.scalars[((n - 1) * w)..<(n * w)]))
                out[l] += naiveDense(naiveLayerNorm(last, m.trunk.finalNorm), m.trunk.readOut).scalars
            }
        }
        return out.map { Tensor(shape: [b, v], scalars: $0) }
    }

    func testDecoderMatchesANaiveImplementationPromptByPrompt() throws {
        // Prompts of different lengths share a padded batch; the naive reference runs each alone, so agreement
        // to rounding (1e-12) also shows that no real token sees the padding.
        let m = tinyDecoder()
        let batch = prompts(search, batch: 5, seed: 2)
        let lengths = try EdgeListTokens(batch.tokens, vocabulary: 9).lengths
        XCTAssertGreaterThan(Set(lengths).count, 1, "the batch should mix prompt lengths")
        for (fast, slow) in zip(m.logits(try m.checked(batch)), naiveLogits(m, batch)) { assertClose(fast, slow, tolerance: 1e-12) }
        assertWalkCoversEveryParameter(m)
    }

    func testSetCrossEntropyLossGradientMatchesFiniteDifferences() throws {
        let m = tinyDecoder(seed: 3)
        let batch = prompts(search, batch: 4, seed: 4)
        let x = try m.checked(batch)
        assertParameterGradientsMatchFiniteDifferences(m, "search decoder") { $0.loss(x, targets: batch.targets) }
        // The loss is −log Σ_{useful} softmax, by hand from the logits.
        let z = m.logits(x, everyLayer: false)[0]
        var expected = 0.0
        for p in 0..<4 {
            let row = (0..<6).map { z[p, $0] }
            let total = row.map(Foundation.exp).reduce(0, +)
            let useful = (0..<6).filter { batch.targets[p, $0] == 1 }.map { Foundation.exp(row[$0]) }.reduce(0, +)
            expected -= Foundation.log(useful / total) / 4
        }
        XCTAssertEqual(m.loss(x, targets: batch.targets).scalar, expected, accuracy: 1e-13)
    }

    func testOneAttentionLayerCopiesThePreviousToken() throws {
        // A construction through the whole decoder: embeddings that put every token in the layout of
        // `GPTBlock.previousTokenTokens` — id as a ±1 code c (c = 2·one-hot − 1 over the k = V + 3 ids) beside −c, the
        // position one-hot — then `GPTBlock.previousTokenCopy`, which writes c of token i − 1 into the last k slots
        // (exact up to e^{−60}), and a read-out of those slots. Every row then holds the same multiset of values,
        // so the final LayerNorm is one affine map: the previous token's logit exceeds every other vertex's by 2/s_f
        // (asserted to 1e-9), and when the previous token is a marker all vertex logits are equal.
        let (v, p) = (6, 24)
        let k = v + 3, w = 3 * k + p
        var m = tinyDecoder(vertices: v, maxTokens: p)
        var rng = Xoshiro256(seed: 0)
        m.trunk = BlockStack(width: w, layers: 1, heads: 1, outputs: v, std: 0, using: &rng)
        m.trunk.blocks[0] = GPTBlock.previousTokenCopy(contentDimension: k, positions: p)
        m.tokenEmbedding = Tensor(zeros: [k, w])
        for id in 0..<k { for c in 0..<k {
            m.tokenEmbedding.scalars[id * w + c] = c == id ? 1 : -1
            m.tokenEmbedding.scalars[id * w + k + c] = c == id ? -1 : 1
        } }
        m.positional = Tensor(zeros: [p, w])
        for i in 0..<p { m.positional.scalars[i * w + 2 * k + i] = 1 }
        for u in 0..<v { m.trunk.readOut.weight.scalars[(2 * k + p + u) * v + u] = 1 }
        let mean = Double(1 + 2 - k) / Double(w)
        let sf = (Double(3 * k + 1) / Double(w) - mean * mean + 1e-5).squareRoot()
        let batch = prompts(search, batch: 80, seed: 5)
        let x = try m.checked(batch)
        let z = m.logits(x)[0]
        var checked = 0
        for q in 0..<x.batchSize {
            // The previous token is the path's second-to-last vertex, or the PATH marker (no vertex: equal logits).
            let previous = x.ids[q * x.length + x.lengths[q] - 2]
            let (top, gap) = previous < v ? (previous, 2 / sf) : (0, 0.0)
            for u in 0..<v where u != top { XCTAssertEqual(z[q, top] - z[q, u], gap, accuracy: 1e-9) }
            if previous < v { checked += 1 }
        }
        XCTAssertGreaterThan(checked, 5, "prompts whose previous token is a vertex")
    }

    func testTinyDecoderLearnsToCopyTheGoalAtLookaheadOne() throws {
        // Lookahead 1 (the goal is a child of the start): the right move is the goal itself, which the prompt
        // names, against chance ½ between the two children. 300 steps of a 2-layer, width-16 decoder take it
        // well past chance; 0.9 is loose (the preset's 1,500-step width-32 run reaches 1.000).
        let config = ExperimentConfig(
            name: "tiny-search", task: .graphSearch(GraphSearchTask(vertices: 5, distribution: .balanced(maxLookahead: 1, branches: 2))),
            model: ModelSpec(kind: .searchDecoder, layers: 2, heads: 2, initStd: 0.02, width: 16),
            training: TrainingConfig(steps: 300, batchSize: 32, learningRate: 3e-3, maxGradientNorm: 1, logEvery: 0,
                                     weightDecay: 0.01, warmupSteps: 30, schedule: .cosine),
            evaluation: EvaluationConfig(prompts: 300))
        let report = try Comparison.run(config, quiet: true)
        let accuracy = 1 - report.metrics["model_error"]!
        XCTAssertGreaterThan(accuracy, 0.9, report.render(.markdown))
        XCTAssertEqual(report.baselines.rows[1][1], .number(1), "BFS is exact")
        XCTAssertEqual(report.baselines.rows[2][1], .number(0.5), "a random one of two children")
        XCTAssertLessThan(report.history!.losses.last!, report.history!.losses.first! / 2)
    }

    func testSearchTrainingIsReproducibleAndMicroBatchesSumToTheBatchGradient() throws {
        var config = TrainingConfig(steps: 4, batchSize: 12, learningRate: 1e-2, seed: 7, logEvery: 0, microBatches: 3)
        var a = tinyDecoder(maxTokens: search.maxTokens), b = a
        try Trainer.train(&a, task: search, config: config)
        try Trainer.train(&b, task: search, config: config)
        XCTAssertEqual(a.namedParameters.map(\.value), b.namedParameters.map(\.value), "same seed, same bits")
        // Stopped after 2 steps and resumed from its checkpoint, a run ends on the same bits.
        var halfway: (model: SearchDecoder, state: TrainingState)?
        var c = tinyDecoder(maxTokens: search.maxTokens)
        try Trainer.train(&c, task: search, config: config, checkpoint: CheckpointPolicy(every: 2) { m, state in
            if state.completedSteps == 2 { halfway = (m as! SearchDecoder, state) }
        })
        var resumed = try XCTUnwrap(halfway).model
        try Trainer.train(&resumed, task: search, config: config, resume: halfway!.state)
        XCTAssertEqual(resumed.namedParameters.map(\.value), a.namedParameters.map(\.value), "resumed run")
        // The three slices' weighted gradients add up to the whole batch's gradient (to rounding).
        let m = tinyDecoder(seed: 9, maxTokens: search.maxTokens)
        let batch = prompts(search, batch: 12, seed: 8)
        let x = try m.checked(batch)
        let whole = gradient(at: m) { $0.loss(x, targets: batch.targets) }
        var sum = SearchDecoder.TangentVector.zero
        for r in [0..<4, 4..<8, 8..<12] {
            let part = batch.prompts(r)
            let xp = try m.checked(part)
            sum += gradient(at: m) { $0.loss(xp, targets: part.targets) * (1.0 / 3) }
        }
        for path in m.parameterPaths { assertClose(m.gradient(sum, at: path), m.gradient(whole, at: path), tolerance: 1e-13, path.name) }
        config.objective = .everyPrefix
        XCTAssertThrowsError(try Trainer.train(&a, task: search, config: config)) {
            XCTAssertTrue("\($0)".contains("one question"), "\($0)")
        }
        var small = tinyDecoder(maxTokens: 10)
        XCTAssertThrowsError(try Trainer.train(&small, task: search, config: TrainingConfig(steps: 1, batchSize: 4, logEvery: 0))) {
            XCTAssertTrue("\($0)".contains("positions"), "\($0)")
        }
    }

    func testBadSearchInputIsRefusedWithAClearMessage() throws {
        let m = tinyDecoder(maxTokens: 12)
        func message(_ tokens: [[Double]], targets: Tensor? = nil) -> String {
            let t = tokens[0].count
            let batch = SearchBatch(tokens: Tensor(shape: [tokens.count, t], scalars: tokens.flatMap { $0 }),
                                    targets: targets ?? Tensor(shape: [tokens.count, 6], scalars: tokens.flatMap { _ in [1, 0, 0, 0, 0, 0] }),
                                    lookahead: Tensor(zeros: [tokens.count]))
            do { _ = try m.checked(batch); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(message([[0, 1, 6, 7, 0, 1, 8, 0]]).hasPrefix("accepted"))
        XCTAssertTrue(message([[0, 1, 6, 7, 0, 9, 8, 0]]).contains("not a token id in 0..<9"))
        XCTAssertTrue(message([[0, 1, 6, 7, 0, 1.5, 8, 0]]).contains("holds 1.5"))
        XCTAssertTrue(message([[0, 1, 6, -1, 0, 1, 8, 0]]).contains("after padding"))
        XCTAssertTrue(message([[-1, -1, -1]]).contains("all padding"))
        XCTAssertTrue(message([Array(repeating: 0, count: 13)]).contains("learned 12 positions"))
        XCTAssertTrue(message([[0, 1, 6, 7, 0, 1, 8, 0]], targets: Tensor(zeros: [1, 6])).contains("at least one correct vertex"))
        XCTAssertTrue(message([[0, 1, 6, 7, 0, 1, 8, 0]], targets: Tensor(zeros: [1, 5])).contains("[B, V] = [1, 6]"))
        XCTAssertThrowsError(try SearchTokens.decode([0, 1, 6, 0, 1, 8, 0], vertices: 6)) { XCTAssertTrue("\($0)".contains("QUERY")) }
        XCTAssertThrowsError(try EdgeListTokens(Tensor(zeros: [3]), vocabulary: 9)) { XCTAssertTrue("\($0)".contains("[B, T]")) }
    }

    func testSearchReferencesDecodePromptsAndBFSIsExact() throws {
        // Invariants on every distribution: decoding a prompt gives back its graph; BFS picks a useful child
        // (accuracy 1); a random child is right with probability |useful| / |children|.
        for distribution: GraphTask.Distribution in [.balanced(maxLookahead: 3, branches: 2), .randomDAG(p: 0.3),
                                                     .erdosRenyi(p: 0.2), .star(branches: 2, armLength: 3)] {
            let task = GraphSearchTask(vertices: 9, distribution: distribution)
            let batch = prompts(task, batch: 60, seed: 11)
            XCTAssertEqual(try SearchLearner.breadthFirstSearch.hitRates(batch, vertices: 9), Array(repeating: 1, count: 60), "\(distribution)")
            let chance = try SearchLearner.randomChild.hitRates(batch, vertices: 9)
            let x = try EdgeListTokens(batch.tokens, vocabulary: 12)
            for p in 0..<60 {
                let tokens = Array(x.ids[(p * x.length)..<(p * x.length + x.lengths[p])])
                let (g, _, goal, path) = try SearchTokens.decode(tokens, vertices: 9)
                let useful = SearchTokens.usefulNext(graph: g, path: path, goal: goal)
                XCTAssertEqual(useful, Set((0..<9).filter { batch.targets[p, $0] == 1 }))
                XCTAssertEqual(chance[p], Double(useful.count) / Double(g.children(path.last!).count), accuracy: 1e-15)
                XCTAssertEqual(Double(g.lookahead(start: path.last!, goal: goal)), batch.lookahead[p])
            }
        }
    }

    func testSetCrossEntropyOfOneClassIsSoftmaxCrossEntropy() {
        var rng = Xoshiro256(seed: 12)
        let z = Tensor.randomNormal([4, 5], using: &rng)
        let labels = [0, 3, 1, 4]
        var onehot = Tensor(zeros: [4, 5])
        for (r, c) in labels.enumerated() { onehot.scalars[r * 5 + c] = 1 }
        XCTAssertEqual(setCrossEntropy(logits: z, targets: onehot).scalar, softmaxCrossEntropy(logits: z, labels: labels).scalar,
                       accuracy: 1e-14)
        assertClose(gradient(at: z) { setCrossEntropy(logits: $0, targets: onehot) },
                    gradient(at: z) { softmaxCrossEntropy(logits: $0, labels: labels) }, tolerance: 1e-15)
    }

    // MARK: the connectivity encoder

    func tinyEncoder(seed: UInt64 = 13) -> GraphEncoder {
        var rng = Xoshiro256(seed: seed)
        return GraphEncoder(dimension: 10, width: 8, layers: 2, heads: 2, std: 0.3, using: &rng)
    }

    func testEncoderMatchesANaiveImplementationAndFiniteDifferences() {
        let m = tinyEncoder()
        var rng = Xoshiro256(seed: 14)
        let task = GraphConnectivityTask(vertices: 5, distribution: .erdosRenyi(p: 0.3))
        let p = task.samplePrompts(batch: 3, using: &rng)
        let z = TokenLayout.rows(p)
        let n = p.pointCount - 1
        var h = naiveDense(z, m.readIn)
        for (l, blk) in m.trunk.blocks.enumerated() {
            h = naiveBlock(blk, h, mask: TokenLayout.encoderMask(contextSize: n, queries: 1))
            let r = naiveDense(naiveLayerNorm(h, m.trunk.finalNorm), m.trunk.readOut)
            let slow = Tensor(shape: [3, 1], scalars: (0..<3).map { r.scalars[$0 * (n + 1) + n] })
            assertClose(m.readouts(z, contextSize: n)[l], slow, tolerance: 1e-12)
        }
        assertClose(m.lastReadout(z, contextSize: n), m.readouts(z, contextSize: n).last!, tolerance: 0)
        assertWalkCoversEveryParameter(m)
        assertParameterGradientsMatchFiniteDifferences(m, "encoder") { $0.trainingLoss(p, kind: .sign, objective: .query) }
        // Every vertex token sees every vertex token, each question the graph and itself; no vertex sees a question.
        let mask = TokenLayout.encoderMask(contextSize: 2, queries: 2)
        XCTAssertEqual((0..<4).map { i in (0..<4).filter { mask[i, $0] == 0 } }, [[0, 1], [0, 1], [0, 1, 2], [0, 1, 3]])
    }

    func testConfigsRefuseAGraphModelOnTheWrongFamily() throws {
        let encoder = ModelSpec(kind: .graphEncoder, layers: 2, heads: 2, width: 8)
        let decoder = ModelSpec(kind: .searchDecoder, layers: 2, heads: 2, width: 8)
        let linear = TaskConfig.linearRegression(LinearRegressionTask(dimension: 3, points: 5))
        // (The encoder reads any row layout, so it may run on linear-regression rows too.)
        for (task, model) in [(linear, decoder), (.graphSearch(search), encoder),
                              (.graphConnectivity(GraphConnectivityTask(vertices: 5, distribution: .erdosRenyi(p: 0.2))), decoder)] {
            let c = ExperimentConfig(name: "x", task: task, model: model, training: TrainingConfig(steps: 1, logEvery: 0))
            XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("reads"), "\($0)") }
        }
        // The presets resolve, and round-trip through their JSON.
        for name in ["gpt-graph-connectivity", "saparov-search-naive", "saparov-search-balanced"] {
            let c = try Presets.named(name)
            XCTAssertNoThrow(try c.validate())
            XCTAssertEqual(try JSONDecoder().decode(ExperimentConfig.self, from: c.jsonData()), c)
        }
    }
}
