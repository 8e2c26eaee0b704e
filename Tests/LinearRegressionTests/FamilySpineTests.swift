import Analysis
import ClassicalLearners
import Experiments
import Foundation
import Models
import NumericCore
import Tasks
import Training
import XCTest

/// Every family through the one trainer and the one comparison: a tiny model is trained end to end, the
/// table holds the family's references and metrics, and one reference's number equals the learner run
/// directly on the same evaluation prompts.
final class FamilySpineTests: XCTestCase {
    func tiny(_ task: TaskConfig, layers: Int = 1, steps: Int = 40) -> ExperimentConfig {
        ExperimentConfig(name: "tiny-\(task.familyName)", task: task, model: ModelSpec(kind: .lsa, layers: layers, heads: 1, initStd: 0.05),
                         training: TrainingConfig(steps: steps, batchSize: 64, learningRate: 1e-2, maxGradientNorm: 10, logEvery: 0),
                         evaluation: EvaluationConfig(prompts: 120, ridgePoints: 6))
    }

    /// The evaluation prompts the comparison draws, and their context and query.
    func evaluationPrompts(_ c: ExperimentConfig) -> (cx: Tensor, cy: Tensor, qx: Tensor, qy: Tensor) {
        var rng = Xoshiro256(seed: c.evaluation.seed)
        let p = c.task.family.samplePrompts(batch: c.evaluation.prompts, using: &rng)
        let n = p.pointCount - 1
        let (cx, cy) = p.context(n)
        let q = p.points(n..<(n + 1))
        return (cx, cy, q.xs, q.ys)
    }

    func baseline(_ report: ComparisonReport, _ label: String) -> Double? {
        for row in report.baselines.rows where row.first?.plain == label { if case .number(let x) = row[1] { return x } }
        return nil
    }

    func testLinearRegressionThroughTheSpine() throws {
        let c = tiny(.linearRegression(LinearRegressionTask(dimension: 3, points: 8)))
        let report = try Comparison.run(c, quiet: true)
        XCTAssertEqual(Array(report.layers.columns.prefix(2)), ["step", "model MSE"])
        for key in ["GD", "Newton", "ridge", "OLS"] { XCTAssertTrue(report.layers.columns.contains("\(key) SPD"), key) }
        XCTAssertTrue(report.layers.columns.contains("GD cos"))
        let e = evaluationPrompts(c)
        let ols = LeastSquares().trajectory(contextXs: e.cx, contextYs: e.cy, queries: e.qx).final
        XCTAssertEqual(baseline(report, "OLS (min-norm)")!, Metrics.meanSquaredError(ols, e.qy), accuracy: 1e-15)
        XCTAssertNotNil(report.contextCurve)
    }

    func testBooleanConjunctionsThroughTheSpine() throws {
        let task = BooleanTask(variables: 4, points: 12, functionClass: .conjunction)
        let c = tiny(.boolean(task), steps: 60)
        let report = try Comparison.run(c, quiet: true)
        XCTAssertEqual(Array(report.layers.columns.prefix(2)), ["step", "model error rate"])
        XCTAssertTrue(report.layers.columns.contains("elimination disagree"), "\(report.layers.columns)")
        XCTAssertFalse(report.layers.columns.contains { $0.hasSuffix("SPD") }, "±1 targets are compared by disagreement")
        let e = evaluationPrompts(c)
        let elim = Elimination().trajectory(contextXs: e.cx, contextYs: e.cy, queries: e.qx).final
        XCTAssertEqual(baseline(report, Elimination().name)!, 1 - Metrics.accuracy(elim, e.qy), accuracy: 1e-15)
        XCTAssertTrue(report.contextCurve!.columns.contains { $0.hasPrefix("acc@") })
        // The logistic loss trains: the model beats chance on these (balanced) conjunctions.
        XCTAssertLessThan(report.layerRows[0].error, 0.45)
    }

    func testFourierMixtureThroughTheSpine() throws {
        let c = tiny(.fourier(FourierTask.mixture(maxFrequency: 2, points: 8)))
        let report = try Comparison.run(c, quiet: true)
        for key in ["BMA", "oracle", "min-norm", "1-NN", "OLS on x"] {
            XCTAssertTrue(report.layers.columns.contains("\(key) SPD"), key)
        }
        let e = evaluationPrompts(c)
        let bma = FourierBayes.modelAverage(FourierTask.mixture(maxFrequency: 2, points: 8))
        let pred = bma.trajectory(contextXs: e.cx, contextYs: e.cy, queries: e.qx).final
        XCTAssertEqual(baseline(report, bma.name)!, Metrics.meanSquaredError(pred, e.qy), accuracy: 1e-12)
    }

    func testGaussianMixtureThroughTheSpine() throws {
        let task = GaussianMixtureTask(dimension: 3, points: 7, noise: 0.2)
        let c = tiny(.gaussianMixture(task), layers: 2)
        let report = try Comparison.run(c, quiet: true)
        XCTAssertTrue(report.layers.columns.contains("PME SPD"))
        XCTAssertTrue(report.layers.columns.contains("PME cos"), "the PME is linear in x_q: implied weights exist")
        let e = evaluationPrompts(c)
        let pme = GaussianMixtureBayes(means: task.means.map { Tensor(shape: [3], scalars: $0) }, mixing: task.mixing,
                                       covariance: Tensor.identity(3), noise: 0.2)
        let pred = pme.trajectory(contextXs: e.cx, contextYs: e.cy, queries: e.qx).final
        let label = report.baselines.rows.first { $0[0].plain.hasPrefix("mixture posterior mean") }!
        guard case .number(let reported) = label[1] else { return XCTFail("PME row") }
        XCTAssertEqual(reported, Metrics.meanSquaredError(pred, e.qy), accuracy: 1e-12)
        // The exact Bayes predictor is the best any learner can do in expectation: no reference beats it by much.
        let ols = LeastSquares().trajectory(contextXs: e.cx, contextYs: e.cy, queries: e.qx).final
        XCTAssertLessThan(reported, Metrics.meanSquaredError(ols, e.qy))
    }

    func testGraphConnectivityThroughTheSpine() throws {
        let task = GraphConnectivityTask(vertices: 5, distribution: .erdosRenyi(p: 0.3))
        let c = tiny(.graphConnectivity(task), layers: 2)
        let report = try Comparison.run(c, quiet: true)
        XCTAssertNil(report.contextCurve, "one question per prompt: no error-vs-context curve")
        for key in ["BFS", "k-hop", "squaring"] { XCTAssertTrue(report.layers.columns.contains("\(key) disagree"), key) }
        // BFS answers every query exactly, and so does k-hop reachability at k = V − 1.
        XCTAssertEqual(baseline(report, "BFS"), 0)
        XCTAssertEqual(baseline(report, "k-hop reachability"), 0)
        let e = evaluationPrompts(c)
        let decoded = ConnectivityBatch(contextXs: e.cx, queries: e.qx)
        for b in 0..<e.qy.shape[0] {
            let (s, t) = (Int(decoded.pairs.scalars[2 * b]), Int(decoded.pairs.scalars[2 * b + 1]))
            XCTAssertEqual(decoded.graph(b).distances(from: s)[t] != nil ? 1.0 : -1.0, e.qy.scalars[b], "prompt \(b) decodes to its label")
        }
    }

    func testEveryPrefixObjectiveAndCurriculumTrain() throws {
        // Trained on every prefix with a growing number of points, the model's every-prefix loss on fixed
        // prompts falls well below the untrained model's.
        let task = LinearRegressionTask(dimension: 2, points: 6)
        var rng = Xoshiro256(seed: 8)
        let fixed = task.sample(batch: 500, using: &rng)
        var model = ModelSpec(kind: .lsa, layers: 1).makeModel(dimension: 2, seed: 1)
        func loss<M: ICLModel>(_ m: M) -> Double { Trainer.prefixLoss(m, fixed, kind: .real).scalar }
        let before = loss(model)
        let cfg = TrainingConfig(steps: 150, batchSize: 128, learningRate: 1e-2, logEvery: 0, objective: .everyPrefix,
                                 curriculum: Ramp(start: 3, increment: 1, every: 30))
        try Trainer.train(&model, task: task, config: cfg)
        XCTAssertLessThan(loss(model), 0.8 * before)
        var g = tiny(.graphConnectivity(GraphConnectivityTask(vertices: 4, distribution: .erdosRenyi(p: 0.3))))
        g.training.objective = .everyPrefix
        XCTAssertThrowsError(try g.validate()) { XCTAssertTrue("\($0)".contains("one question per prompt"), "\($0)") }
    }

    func testHonestVerdicts() {
        // Far from everything relative to the model's own error: none, naming the nearest.
        let far = LayerComparison.verdict([("GD 1", 128), ("OLS", 300)], modelError: 10, threshold: 0.25, tieMargin: 0.05)
        XCTAssertEqual(far, .none(nearest: "GD 1", relativeDistance: 12.8))
        XCTAssertEqual(LayerComparison.verdict([("GD 1", 1e32)], modelError: 1, threshold: 0.25, tieMargin: 0.05).description,
                       "none (nearest: GD 1, ρ = 1.000e+32)")
        // Two references 0.5 % apart: a tie, not a coin flip.
        let tie = LayerComparison.verdict([("Newton 7", 0.0100), ("GD 7", 0.01005), ("OLS", 0.02)], modelError: 0.1,
                                          threshold: 0.25, tieMargin: 0.05)
        XCTAssertEqual(tie.description, "Newton 7 ≈ GD 7")
        XCTAssertEqual(LayerComparison.verdict([("GD 1", 0.01), ("OLS", 0.5)], modelError: 1, threshold: 0.25, tieMargin: 0.05),
                       .match("GD 1", relativeDistance: 0.01))
    }
}
