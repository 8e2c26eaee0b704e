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

/// The papers' training results, sized for CI (small d, few hundred steps, loose tolerances). The full-size
/// runs are the presets (`icl compare --preset …`), whose figures are reported in the README.
final class TrainingTests: XCTestCase {
    func testOneLayerLSALearnsMahankalisStep() throws {
        // Isotropic Gaussian, noiseless, d = 3, n = 12: the optimal 1-layer LSA is one GD step with
        // η* = n/(n + d + 1) = 0.75. A short run gets within 10% (the preset's full run: within 5%).
        let (d, n) = (3, 12)
        let task = LinearRegressionTask(dimension: d, points: n + 1)
        var rng = Xoshiro256(seed: 1)
        var model = LinearSelfAttention(dimension: d, layers: 1, initStd: 0.02, using: &rng)
        let history = try Trainer.train(&model, task: task, config: TrainingConfig(steps: 400, batchSize: 512, learningRate: 0.01, logEvery: 0))
        XCTAssertLessThan(history.losses.last!, 0.7 * history.losses.first!)
        var evalRng = Xoshiro256(seed: 99)
        let p = task.sample(batch: 4000, using: &evalRng)
        let (cx, cy) = p.context(n)
        let w = try Metrics.impliedWeights(of: model, contextXs: cx, contextYs: cy, probes: Tensor.randomNormal([4000, 2 * d, d], using: &evalRng))[0]
        let avg = Averaging().weightTrajectory(contextXs: cx, contextYs: cy).weights[0]
        let eta = (w * avg).sum().scalar / avg.squared().sum().scalar
        XCTAssertEqual(eta, 0.75, accuracy: 0.075, "learned η̂ = \(eta)")
        XCTAssertGreaterThan(Metrics.meanCosine(w, avg), 0.98)
    }

    func testLoopedRestrictedLSALearnsIsotropicPreconditioner() throws {
        // Gatmiry et al.: trained looped restricted LSA has A ≈ cI, with loss near the best cI.
        let (d, n, loops) = (3, 12, 4)
        let task = LinearRegressionTask(dimension: d, points: n + 1)
        var model = RestrictedLoopedLSA(a: Tensor(zeros: [d, d]), depth: loops)
        try Trainer.train(&model, task: task, config: TrainingConfig(steps: 400, batchSize: 512, learningRate: 0.01, maxGradientNorm: 10, logEvery: 0))
        let c = (0..<d).reduce(0.0) { $0 + model.a[$1, $1] } / Double(d)
        XCTAssertLessThan((model.a - Tensor.identity(d) * c).norm / model.a.norm, 0.15, "A = \(model.a)")
        var rng = Xoshiro256(seed: 7)
        let p = task.sample(batch: 4000, using: &rng)
        let best = LineSearch.bestIsotropicPreconditioner(prompts: p, steps: loops)
        let trained = Metrics.meanSquaredError(model.queryTrajectory(p).final, p.points(n..<(n + 1)).ys)
        XCTAssertLessThan(trained, 1.15 * best.loss)
    }

    func testTrainingIsReproducibleAndCheckpointsRoundTrip() throws {
        let task = LinearRegressionTask(dimension: 3, points: 6)
        func run() throws -> LinearSelfAttention {
            var rng = Xoshiro256(seed: 4)
            var m = LinearSelfAttention(dimension: 3, layers: 2, heads: 2, using: &rng)
            try Trainer.train(&m, task: task, config: TrainingConfig(steps: 20, batchSize: 64, learningRate: 0.01, seed: 3, logEvery: 0))
            return m
        }
        let a = try run(), b = try run()
        XCTAssertEqual(a.wKQ.scalars.map(\.bitPattern), b.wKQ.scalars.map(\.bitPattern))
        XCTAssertEqual(a.wPV.scalars.map(\.bitPattern), b.wPV.scalars.map(\.bitPattern))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.npz")
        try Checkpoint.save(a, to: url)
        var rng = Xoshiro256(seed: 0)
        var c = LinearSelfAttention(dimension: 3, layers: 2, heads: 2, using: &rng)
        try Checkpoint.load(into: &c, from: url)
        XCTAssertEqual(c.wKQ, a.wKQ)
        var wrong = LinearSelfAttention(dimension: 4, layers: 2, heads: 2, using: &rng)
        XCTAssertThrowsError(try Checkpoint.load(into: &wrong, from: url)) { XCTAssertTrue("\($0)".contains("shape"), "\($0)") }
    }

    func testDivergenceIsReportedNotHidden() {
        // Inputs of size 1e160 overflow the layer's Σ z zᵀ: the loss is not finite at the first step.
        let task = LinearRegressionTask(dimension: 3, points: 6, inputScale: 1e160)
        var rng = Xoshiro256(seed: 4)
        var m = LinearSelfAttention(dimension: 3, layers: 1, initStd: 1, using: &rng)
        XCTAssertThrowsError(try Trainer.train(&m, task: task, config: TrainingConfig(steps: 5, batchSize: 64, learningRate: 1e-3, logEvery: 0))) {
            XCTAssertTrue("\($0)".contains("learning rate"), "\($0)")
        }
    }

    func testPoolTasksAreComparedWithDMMSE() throws {
        var config = try Presets.named("ci-tiny")
        var task = config.task.linearRegression!
        task.weights = .pool(size: 4, scale: 1, poolSeed: 5)
        task.noise = 0.3
        config.task = .linearRegression(task)
        let report = try Comparison.run(config, quiet: true)
        XCTAssertTrue(report.baselines.rows.contains { $0.first?.plain == "dMMSE (the pool's posterior mean)" })
        XCTAssertTrue(report.baselines.notes.contains { $0.contains("SPD(model, dMMSE)") })
    }

    func testComparisonOfTheTinyPresetShowsOneGDStep() throws {
        let report = try Comparison.run(try Presets.named("ci-tiny"), quiet: true)
        let row = report.layers.rows[0]
        XCTAssertEqual(row.last?.plain, "GD 1", "a trained 1-layer LSA is closest to one GD step: \(report.render(.markdown))")
        guard case .number(let cosine) = row[5] else { return XCTFail("GD cos") }
        XCTAssertGreaterThan(cosine, 0.99)
    }
}
