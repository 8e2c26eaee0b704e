import Analysis
import ClassicalLearners
import Foundation
import NumericCore
import Tasks
import TestSupport
import XCTest

final class AnalysisTests: XCTestCase {
    func prompts(d: Int = 4, n: Int = 10, batch: Int = 32, seed: UInt64 = 5) -> PromptBatch {
        var rng = Xoshiro256(seed: seed)
        return LinearRegressionTask(dimension: d, points: n).sample(batch: batch, using: &rng)
    }

    func testMetricSanity() throws {
        let p = prompts()
        let (cx, cy) = p.context(9)
        let q = p.points(9..<10).xs
        let gd = GradientDescent(steps: 3, learningRate: 0.5), ridge = Ridge(penalty: 0.3)
        let tg = gd.trajectory(contextXs: cx, contextYs: cy, queries: q)
        XCTAssertEqual(Metrics.predictionDistance(tg.final, tg.final), 0)
        XCTAssertEqual(Metrics.meanCosine(tg.weights![2], tg.weights![2]), 1, accuracy: 1e-14)
        // ILWD of two linear learners equals the distance of their exact weights, and implied weights fitted
        // from probes recover those weights.
        var rng = Xoshiro256(seed: 6)
        let probes = Tensor.randomNormal([32, 8, 4], using: &rng)
        let wr = ridge.weightTrajectory(contextXs: cx, contextYs: cy).weights[0]
        let fitted = try Metrics.impliedWeights(of: NearestNeighboursAsLinear(inner: ridge), contextXs: cx, contextYs: cy, probes: probes)[0]
        assertClose(fitted, wr, tolerance: 1e-10)
        var direct = 0.0
        for i in 0..<(32 * 4) { direct += (tg.weights![2].scalars[i] - wr.scalars[i]) * (tg.weights![2].scalars[i] - wr.scalars[i]) }
        XCTAssertEqual(Metrics.weightDistance(tg.weights![2], wr), direct / 32, accuracy: 1e-12)
        // Error similarity of a learner with itself is 1.
        let prefix = gd.prefixTrajectory(p)
        XCTAssertEqual(Metrics.errorSimilarity(prefix.final, prefix.final, targets: p.ys), 1, accuracy: 1e-12)
    }

    func testBestMatchFindsTheSameStepAndBreaksTiesEarly() {
        let p = prompts()
        let (cx, cy) = p.context(9)
        let gd = GradientDescent(steps: 6, learningRate: 0.4).trajectory(contextXs: cx, contextYs: cy, queries: p.points(9..<10).xs)
        let matches = Matching.bestMatches(model: gd.predictions, algorithm: gd, Metrics.predictionDistance)
        XCTAssertEqual(matches.map(\.algorithmStep), Array(0..<6))
        XCTAssertTrue(matches.allSatisfy { $0.score == 0 })
        // Two identical steps: the earlier wins.
        let doubled = Trajectory(learner: "x", stepLabels: ["a", "b"], stepValues: [1, 2], predictions: [gd.final, gd.final])
        XCTAssertEqual(Matching.bestMatches(model: [gd.final], algorithm: doubled, Metrics.predictionDistance)[0].algorithmStep, 0)
    }

    func testLineSearchFindsMahankalisOptimalStep() {
        // Isotropic x, w ~ N(0, I), noiseless: the best one-step GD has η* = n/(n + d + 1) (Mahankali et al.).
        // 20,000 prompts make the empirical optimum's error ≈ 1%; allow 4%.
        let (d, n) = (4, 12)
        var rng = Xoshiro256(seed: 8)
        let p = LinearRegressionTask(dimension: d, points: n + 1).sample(batch: 20_000, using: &rng)
        let eta = LineSearch.bestGradientDescentStep(prompts: p, steps: 1).learningRate
        XCTAssertEqual(eta, Double(n) / Double(n + d + 1), accuracy: 0.04 * Double(n) / Double(n + d + 1))
        // And minimizeLog finds the minimum of a known function.
        let r = LineSearch.minimizeLog(low: 1e-3, high: 1e3) { x in (Foundation.log(x) - 1.5) * (Foundation.log(x) - 1.5) }
        XCTAssertEqual(r.argmin, Foundation.exp(1.5), accuracy: 1e-4)
    }

    func testGDPlusPlusSearchNeverLosesToGD() {
        // γ = 0 is GD, so the searched GD++ is at least as good; on ill-conditioned inputs the curvature
        // correction helps (von Oswald et al.).
        var rng = Xoshiro256(seed: 12)
        let task = LinearRegressionTask(dimension: 4, points: 21, inputs: .gaussianSpectrum([4, 2, 1, 0.25]))
        let p = task.sample(batch: 1000, using: &rng)
        let gd = LineSearch.bestGradientDescentStep(prompts: p, steps: 2)
        let plus = LineSearch.bestGDPlusPlus(prompts: p, steps: 2)
        XCTAssertLessThanOrEqual(plus.loss, gd.loss * (1 + 1e-12))
        XCTAssertGreaterThan(plus.gamma, 0, "a positive γ helps on this spectrum")
    }

    func testTablesRender() {
        var t = ReportTable(title: "T", columns: ["a", "b, c"], notes: ["note"])
        t.rows = [[.text("x"), .number(0.5)], [.integer(3), .empty]]
        XCTAssertEqual(t.render(.markdown), "### T\n\n| a | b, c |\n|---|---|\n| x | 0.5000 |\n| 3 |  |\n\n- note\n")
        // CSV and JSON key columns by identifier and keep full precision.
        XCTAssertEqual(t.render(.csv), "a,b_c\nx,0.5\n3,\n")
        let json = try! JSONSerialization.jsonObject(with: Data(t.render(.json).utf8)) as! [String: Any]
        let rows = json["rows"] as! [[String: Any]]
        XCTAssertEqual(rows[0]["b_c"] as? Double, 0.5)
        XCTAssertTrue(rows[1]["b_c"] is NSNull)
    }

    func testLinearProbeRecoversLinearTargetsAndNotNoise() throws {
        // A target that is an affine function of the features is recovered (R² = 1 up to the ridge's shrinkage,
        // λ = 1e-3 on standardized features); an independent target is not (R² ≈ 0: at most the sampling
        // fluctuation of a 5-feature fit on 1,000 held-out rows, ~0.01; 0.05 leaves room).
        var rng = Xoshiro256(seed: 3)
        let x = Tensor.randomNormal([2000, 5], using: &rng)
        let w = Tensor(shape: [5, 1], scalars: [1, -2, 0.5, 0, 3])
        let linear = matmul(x, w) + 4
        XCTAssertGreaterThan(try Probes.linearProbe(features: x, targets: linear), 0.9999)
        let noise = Tensor.randomNormal([2000, 1], using: &rng)
        XCTAssertLessThan(try Probes.linearProbe(features: x, targets: noise), 0.05)
    }
}

/// Hides a linear learner's exact weights, so `impliedWeights` must fit them from probes.
struct NearestNeighboursAsLinear: InContextLearner {
    let inner: LinearInContextLearner
    var name: String { "hidden \(inner.name)" }
    func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        var t = inner.trajectory(contextXs: contextXs, contextYs: contextYs, queries: queries)
        t.weights = nil
        return t
    }
}
