import Analysis
import ClassicalLearners
import Foundation
import NumericCore
import Tasks
import XCTest

final class FourierTests: XCTestCase {
    func testLeastSquaresOnTheTrueBasisIsExactFrom2NPlus1Points() {
        var rng = Xoshiro256(seed: 1)
        let task = FourierTask(maxFrequency: 3, points: 12)
        let (p, _) = task.sample(batch: 10, using: &rng)
        let (cx, cy) = p.context(7)                               // 2N + 1 = 7 points determine f
        let q = p.points(7..<12)
        let pred = FourierBayes.leastSquares(frequency: 3).trajectory(contextXs: cx, contextYs: cy, queries: q.xs).final
        // The interpolant is exact up to rounding amplified by Φ's conditioning (square here: 7 points, 7 features).
        XCTAssertLessThan(pred.maxAbsDifference(q.ys), 1e-5)
    }

    func testMinNormInterpolantEqualsTheConjugatePosteriorMean() throws {
        var rng = Xoshiro256(seed: 2)
        let (p, _) = FourierTask(maxFrequency: 5, points: 8).sample(batch: 5, using: &rng)
        let (cx, cy) = p.context(6)                               // 6 points < 11 features: underdetermined
        let q = p.points(6..<8).xs
        let learner = FourierBayes.leastSquares(frequency: 5).trajectory(contextXs: cx, contextYs: cy, queries: q).final
        for b in 0..<5 {
            // The Gaussian-process form k_qᵀ K⁻¹ y with K = ΦΦᵀ/N, computed directly.
            let phi = Tensor((0..<6).map { FourierTask.features(cx[b, $0, 0], frequencies: 5, halfPeriod: 5, constant: true) })
            let k = matmul(phi, phi, transposeB: true) / 5
            let alpha = try LinearAlgebra.solve(k, cy.slice(alongAxis: 0, b..<(b + 1)).reshaped(to: [6]))
            for j in 0..<2 {
                let f = Tensor([FourierTask.features(q[b, j, 0], frequencies: 5, halfPeriod: 5, constant: true)])
                let kq = matmul(f, phi, transposeB: true).reshaped(to: [6]) / 5
                XCTAssertEqual(learner[b, j], (kq * alpha).sum().scalar, accuracy: 1e-8 * max(1, abs(learner[b, j])))
            }
        }
    }

    func testModelAverageWeightsAreAPosteriorAndThePriorWithoutData() {
        let task = FourierTask.lowFrequencyBiased(maxFrequency: 6, points: 20)
        var rng = Xoshiro256(seed: 3)
        let (p, n) = task.sample(batch: 4, using: &rng)
        let bma = FourierBayes.modelAverage(task)
        let cands = bma.candidates.map { ($0.frequency, $0.prior) }
        let empty = bma.posterior(context: [], y: [], queries: [0.5], frequencies: cands).weights
        for (w, c) in zip(empty, cands) { XCTAssertEqual(w, c.1, accuracy: 1e-12) }
        for b in 0..<4 {
            let x = (0..<20).map { p.xs[b, $0, 0] }, y = (0..<20).map { p.ys[b, $0] }
            let w = bma.posterior(context: x, y: y, queries: [0], frequencies: cands).weights
            XCTAssertEqual(w.reduce(0, +), 1, accuracy: 1e-12)
            XCTAssertGreaterThan(w[n[b] - 1], 0.5, "20 points identify N = \(n[b]): \(w)")
        }
    }

    func testLowAndHighFrequencyBiasedMixturesFavourTheirFrequencies() {
        let nMax = 6
        XCTAssertEqual(FourierTask.complexityBiased(maxFrequency: nMax),
                       FourierTask.lowFrequencyBiased(maxFrequency: nMax), "the older name")
        // P(k ∈ R): low, P(N ≥ k) = 2^{1−k}(1 − 2^{k−1−N_max})/(1 − 2^{−N_max}); high, P(M ≤ k) = k/N_max.
        let low = (1...nMax).map { k in
            pow(2, 1 - Double(k)) * (1 - pow(2, Double(k - 1 - nMax))) / (1 - pow(2, -Double(nMax)))
        }
        let high = (1...nMax).map { Double($0) / Double(nMax) }
        let batch = 4000
        for (task, expected) in [(FourierTask.lowFrequencyBiased(maxFrequency: nMax, points: 30), low),
                                 (FourierTask.highFrequencyBiased(maxFrequency: nMax, points: 30), high)] {
            var rng = Xoshiro256(seed: 6)
            let (p, index) = task.sample(batch: batch, using: &rng)
            var present = [Double](repeating: 0, count: nMax), squares = 0.0
            for b in 0..<batch {
                let r = task.frequencies(index: index[b])
                for k in 1...nMax where r.contains(k) { present[k - 1] += 1 }
                for t in 0..<30 { squares += p.ys[b, t] * p.ys[b, t] }
            }
            // Binomial standard error over prompts ≤ √(1/4 / 4000) ≈ 0.008; 4 of them.
            for k in 0..<nMax {
                XCTAssertEqual(present[k] / Double(batch), expected[k], accuracy: 0.032, "k = \(k + 1)")
            }
            // f(x) = Σ_{k∈R} (a_k cos + b_k sin)/√|R| has prior variance s² = 1 at every x; the mean of y² over
            // 120,000 correlated values (30 per prompt): generous 0.1.
            XCTAssertEqual(squares / Double(batch * 30), 1, accuracy: 0.1)
        }
    }

    func testHighFrequencyBandIsFitExactlyAndItsModelAverageFindsM() {
        let task = FourierTask.highFrequencyBiased(maxFrequency: 6, points: 24)
        var rng = Xoshiro256(seed: 8)
        let (p, m) = task.sample(batch: 40, using: &rng)
        // Least squares on the true band M…6 is exact from 2(6 − M + 1) ≤ 12 points.
        let (cx, cy) = p.context(12)
        let q = p.points(12..<24)
        let oracle = FourierBayes.oracle(task, frequencies: m)
            .trajectory(contextXs: cx, contextYs: cy, queries: q.xs).final
        XCTAssertLessThan(oracle.maxAbsDifference(q.ys), 1e-6)
        let bma = FourierBayes.modelAverage(task)
        XCTAssertEqual(bma.name, "Bayesian model average over M")
        let cands = bma.candidates.map { ($0.frequency, $0.prior) }
        for b in 0..<40 {
            let x = (0..<20).map { p.xs[b, $0, 0] }, y = (0..<20).map { p.ys[b, $0] }
            let w = bma.posterior(context: x, y: y, queries: [0], frequencies: cands).weights
            XCTAssertGreaterThan(w[m[b] - 1], 0.5, "20 points identify M = \(m[b]): \(w)")
        }
    }

    func testFrequencyProbeFindsAPureTone() {
        // f(x) = cos(3πx/L): on a 40-point grid over one period 2L, all power is in bin 3.
        let xs = (0..<30).map { -5 + 10 * Double($0) / 30 + 0.1 }
        let cx = Tensor(shape: [1, 30, 1], scalars: xs), cy = Tensor(shape: [1, 30], scalars: xs.map { cos(3 * .pi * $0 / 5) })
        let power = Probes.frequencySpectrum(FourierBayes.leastSquares(frequency: 5), contextXs: cx, contextYs: cy)
        XCTAssertGreaterThan(power[0, 3], 0.999)
    }

    func testMixtureSamplerAndValidation() {
        var rng = Xoshiro256(seed: 4)
        let (_, n) = FourierTask.mixture(maxFrequency: 4).sample(batch: 4000, using: &rng)
        for k in 1...4 { XCTAssertEqual(Double(n.filter { $0 == k }.count) / 4000, 0.25, accuracy: 0.035) }
        XCTAssertThrowsError(try FourierTask(maxFrequency: 0).validate())
        XCTAssertThrowsError(try FourierTask(maxFrequency: 2, frequencyPrior: [0.5, 0.4]).validate()) {
            XCTAssertTrue("\($0)".contains("summing to 1"), "\($0)")
        }
    }

    func testGaussianMixtureBayesWeights() throws {
        let mu = [1.5, -1, 0.5]
        let task = LinearRegressionTask(dimension: 3, points: 30,
                                        weights: .mixture(means: [mu, mu.map { -$0 }], mixing: [0.5, 0.5], scale: 0.3), noise: 0.2)
        var rng = Xoshiro256(seed: 5)
        let p = task.sample(batch: 50, using: &rng)
        let bayes = GaussianMixtureBayes(means: [Tensor(mu), Tensor(mu.map { -$0 })], mixing: [0.5, 0.5],
                                         covariance: Tensor.identity(3) * 0.09, noise: 0.2)
        let prior = try bayes.componentPosterior(contextXs: p.context(0).xs, contextYs: p.context(0).ys).weights
        XCTAssertTrue(prior.scalars.allSatisfy { abs($0 - 0.5) < 1e-12 }, "no data: the mixing weights")
        let (cx, cy) = p.context(29)
        let w = try bayes.componentPosterior(contextXs: cx, contextYs: cy).weights
        for b in 0..<50 {
            let truth = zip(p.ws!.scalars[(b * 3)..<((b + 1) * 3)], mu).reduce(0) { $0 + $1.0 * $1.1 } > 0 ? 0 : 1
            XCTAssertGreaterThan(w[b, truth], 0.99, "29 points single out the component")
        }
    }
}
