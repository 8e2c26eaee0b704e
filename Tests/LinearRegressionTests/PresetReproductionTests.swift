import Experiments
import Foundation
import NumericCore
import Tasks
import Training
import XCTest

/// CI-sized versions of the paper presets: each keeps its preset's recipe (model kind, layout, objective, AdamW with
/// warm-up and cosine decay) and shrinks dimension, width and steps so that it trains in seconds. The bounds are
/// loose on purpose — the full-size numbers are in the README's presets table — but each would fail if the
/// recipe stopped learning in context. Training curves at this size plateau for a seed-dependent while, so each
/// claim takes the best of two seeds.
final class PresetReproductionTests: XCTestCase {
    /// A preset shrunk to CI size: `steps` steps of 64 prompts (warm-up 10 %), 300 evaluation prompts.
    func shrunk(_ name: String, steps: Int, seed: UInt64, edit: (inout ExperimentConfig) -> Void) throws -> ExperimentConfig {
        var c = try Presets.named(name)
        edit(&c)
        c.training.steps = steps
        c.training.warmupSteps = steps / 10
        c.training.learningRate = 3e-3
        c.training.seed = seed
        c.modelSeed = seed
        c.training.logEvery = 0
        c.evaluation.prompts = 300
        c.evaluation.ridgePoints = 6
        c.evaluation.gradientDescentSteps = nil
        c.evaluation.newtonSteps = 8
        return c
    }

    /// The report's per-position curve of a learner (the model is the first).
    func curve(_ report: ComparisonReport, _ prefix: String) -> [Double]? {
        report.curves.first { $0.name.hasPrefix(prefix) }?.values
    }

    func testCISizedGargLinearApproachesLeastSquares() throws {
        // garg-linear's recipe at d = 3, 10 points, 2 layers of width 32, 300 steps. Noiseless, so least squares is
        // exact from k = d = 3 examples on, while averaging (ŵ = mean of yᵢxᵢ, what a model does without inverting
        // XᵀX in context) keeps an error of order d/k. Claim: over the last three positions the model's error is
        // below half of averaging's — it has learned more than a mean of y·x (seeds 0 and 1 reach 0.42).
        var failures: [String] = []
        for seed: UInt64 in [0, 1] {
            let c = try shrunk("garg-linear", steps: 300, seed: seed) { c in
                c.task = .linearRegression(LinearRegressionTask(dimension: 3, points: 10))
                c.model.layers = 2
                c.model.width = 32
            }
            let report = try Comparison.run(c, quiet: true)
            guard let model = report.curves.first?.values, let avg = curve(report, "averaging") else { return XCTFail("curves") }
            let modelLate: Double = model[7] + model[8] + model[9]
            let avgLate: Double = avg[7] + avg[8] + avg[9]
            if modelLate < 0.5 * avgLate { return }
            failures.append(String(format: "seed %d: error over averaging's %.3f", seed, modelLate / avgLate))
        }
        XCTFail(failures.joined(separator: "; "))
    }

    func testCISizedYangLoopedImprovesWithLoopsAndStaysStableBeyondThem() throws {
        // yang-looped's recipe (one block, input injection, loop curriculum, truncated backpropagation) at d = 2,
        // 8 points, width 16, 4 loops in training (curriculum 2 → 4, window 2), 12 at test. Claims, Yang et al.'s
        // at CI size: (1) loop 4 beats loop 1 (the loops compute something iterative); (2) 12 loops are no worse
        // than 1.5× loop 4 — the fixed point that makes looping past training safe (1.5: a 300-step model is not
        // yet at its fixed point; an unstable loop grows many-fold); (3) loop 4 is below 0.4 of the zero
        // predictor's error (≈ d = 2; seed 0 reaches 0.32 of it, loop 1 is at 1.1).
        var failures: [String] = []
        for seed: UInt64 in [0, 1] {
            let c = try shrunk("yang-looped", steps: 300, seed: seed) { c in
                c.task = .linearRegression(LinearRegressionTask(dimension: 2, points: 8))
                c.model = ModelSpec(kind: .loopedTransformer, depth: 4, evaluationDepth: 12, heads: 2, initStd: 0.02,
                                    width: 16, window: 2)
                c.training.loopCurriculum = Ramp(start: 2, increment: 1, every: 75)
            }
            let report = try Comparison.run(c, quiet: true)
            let e = report.layerRows.map(\.error)
            XCTAssertEqual(e.count, 12)
            if e[3] < e[0] && e[11] <= 1.5 * e[3] && e[3] < 0.4 * 2 { return }
            failures.append("seed \(seed): loop errors \(e.map { String(format: "%.3f", $0) })")
        }
        XCTFail(failures.joined(separator: "; "))
    }

    func testCISizedBhattamishraConjunctionBeatsNearestNeighbour() throws {
        // bhattamishra-conjunction's recipe at n = 6 variables, 16 points, 2 layers of width 32, 400 steps.
        // Elimination is exact after a few positives; nearest neighbour only copies a label. Claim: over the last
        // 8 positions the model's accuracy exceeds nearest neighbour's by 0.03 and is within 0.1 of elimination's
        // (the full preset asks 0.08 and 0.03 at 1,500 steps; a 400-step model is allowed to be further off; seed 0
        // reaches 0.903 against 0.838 and 0.931).
        var failures: [String] = []
        for seed: UInt64 in [0, 1] {
            let c = try shrunk("bhattamishra-conjunction", steps: 400, seed: seed) { c in
                c.task = .boolean(BooleanTask(variables: 6, points: 16, functionClass: .conjunction))
                c.model.layers = 2
                c.model.width = 32
            }
            let report = try Comparison.run(c, quiet: true)
            guard let model = report.curves.first?.values, let elim = curve(report, "elimination"),
                  let nn = curve(report, "nearest neighbour (Euclidean)") else { return XCTFail("curves") }
            let late = { (v: [Double]) -> Double in v[8..<16].reduce(0, +) / 8 }
            if late(model) >= late(nn) + 0.03 && late(model) >= late(elim) - 0.1 { return }
            failures.append(String(format: "seed %d: accuracy %.3f, nearest neighbour %.3f, elimination %.3f",
                                   seed, late(model), late(nn), late(elim)))
        }
        XCTFail(failures.joined(separator: "; "))
    }

    func testParityTeachingSequenceIdentifiesTheSupport() throws {
        // All +1, then each variable flipped alone: the label flips exactly on the support, so after n + 1
        // points GF(2) elimination is exact on every prompt.
        let task = BooleanTask(variables: 6, points: 12, functionClass: .sparseParity(support: 2), teachingSequence: true)
        try task.validate()
        var rng = Xoshiro256(seed: 3)
        let p = task.sample(batch: 50, using: &rng)
        for b in 0..<50 {
            for j in 0..<6 {
                XCTAssertEqual(p.ys[b, j + 1] == -p.ys[b, 0], p.ws![b, j] != 0, "prompt \(b), variable \(j)")
            }
        }
        let report = try Comparison.run(try shrunk("bhattamishra-parity-teaching", steps: 2, seed: 0) { c in
            c.task = .boolean(task)
            c.model.layers = 1
            c.model.width = 8
        }, quiet: true)
        guard let gf2 = curve(report, "GF(2)") else { return XCTFail("no GF(2) elimination curve") }
        XCTAssertEqual(gf2[7...].min(), 1, "exact after the 7-point teaching sequence")
        XCTAssertThrowsError(try BooleanTask(variables: 6, points: 6, functionClass: .parity, teachingSequence: true).validate())
    }

    func testAPoolTrainedModelOnFreshTasksIsStillComparedWithDMMSE() throws {
        // raventos-two-regimes evaluated on fresh tasks: the dMMSE reference comes from the training pool.
        let report = try Comparison.run(try shrunk("raventos-two-regimes", steps: 2, seed: 0) { c in
            c.task = .linearRegression(LinearRegressionTask(dimension: 3, points: 6, weights: .pool(size: 4, scale: 1, poolSeed: 1), noise: 0.5))
            c.evaluation.task = .linearRegression(LinearRegressionTask(dimension: 3, points: 6, noise: 0.5))
            c.model.layers = 1
            c.model.width = 8
        }, quiet: true)
        let md = report.render(.markdown)
        XCTAssertTrue(md.contains("dMMSE"), md)
        XCTAssertTrue(md.contains("Task pool of M = 4"), md)
    }
}
