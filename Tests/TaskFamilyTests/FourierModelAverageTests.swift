import ClassicalLearners
import Foundation
import NumericCore
import Tasks
import XCTest

/// The Bayesian model average over Fourier frequency classes: its evidence against an independent computation,
/// the risk ordering Bayes theory promises, and the near-coincident-input prompt that a fixed 1e-8 jitter broke.
final class FourierModelAverageTests: XCTestCase {
    let task = FourierTask.mixture(maxFrequency: 10)

    /// Ten context points from a function with N ∈ {6, 7, 8} frequencies; the 10th input is 0.008 from the 9th.
    func craftedPrompt(seed: UInt64) -> (n: Int, x: [Double], y: [Double], query: Double, target: Double) {
        var rng = Xoshiro256(seed: seed)
        let n = 6 + Int(rng.next() % 3)
        var x = (0..<9).map { _ in 5 * (2 * rng.nextUniform() - 1) }
        x.append(x[8] + 0.008)
        let query = 5 * (2 * rng.nextUniform() - 1)
        let coefficients = (0..<(2 * n)).map { _ in rng.nextNormal() }
        let f = { (z: Double) in
            zip(FourierTask.features(z, frequencies: n, halfPeriod: 5, constant: false), coefficients)
                .reduce(0) { $0 + $1.0 * $1.1 } / Double(n).squareRoot()
        }
        return (n, x, x.map(f), query, f(query))
    }

    /// log 𝒩(y; 0, K + η²I) with K = ΦΦᵀ/N assembled and eigendecomposed as an m × m matrix: a different
    /// route from the learner's SVD of the features.
    func kernelLogEvidence(_ x: [Double], _ y: [Double], frequencies n: Int, noise: Double) throws -> Double {
        let phi = Tensor(x.map { FourierTask.features($0, frequencies: n, halfPeriod: 5, constant: false) })
        var k = matmul(phi, phi, transposeB: true) / Double(n)
        for i in 0..<x.count { k[i, i] += noise }
        let (values, vectors) = try LinearAlgebra.symmetricEigen(k)
        var log = Double(x.count) * Foundation.log(2 * .pi)
        for j in 0..<x.count {
            let c = (0..<x.count).reduce(0) { $0 + vectors[$1, j] * y[$1] }
            log += c * c / values[j] + Foundation.log(values[j])
        }
        return -0.5 * log
    }

    func testEvidenceEqualsTheKernelFormOnNearCoincidentInputs() throws {
        let bma = FourierBayes.modelAverage(task)
        let candidates = bma.candidates.map { ($0.frequency, $0.prior) }
        for seed: UInt64 in [1060, 0, 1, 2, 3] {
            let p = craftedPrompt(seed: seed)
            let weights = bma.posterior(context: p.x, y: p.y, queries: [p.query], frequencies: candidates).weights
            let logs = try (1...10).map { try kernelLogEvidence(p.x, p.y, frequencies: $0, noise: bma.relativeJitter) }
            let top = logs.max()!
            let z = logs.reduce(0) { $0 + exp($1 - top) }
            // The kernel route's eigenvalues carry an absolute error ≈ ε·λ_max ≈ 1e-15; every class with
            // non-negligible weight has λ_min ≳ 1e-8 here, so its log evidence agrees to ~1e-6.
            for (w, l) in zip(weights, logs) { XCTAssertEqual(w, exp(l - top) / z, accuracy: 1e-5, "seed \(seed)") }
        }
    }

    func testNearlyCoincidentInputsKeepTheTrueClassAndASanePrediction() {
        // Seed 1060 (one of 4 in 0..<3000): N = 6 frequencies, 10 points, two of them 0.008 apart. With K's
        // smallest eigenvalue ~1e-11 for the square N = 5 class, a 1e-8 jitter hid that class's misfit and the
        // average put 0.69 on it, predicting 41.3 for a target of −0.78.
        let p = craftedPrompt(seed: 1060)
        XCTAssertEqual(p.n, 6)
        let bma = FourierBayes.modelAverage(task)
        let candidates = bma.candidates.map { ($0.frequency, $0.prior) }
        let (w, means) = bma.posterior(context: p.x, y: p.y, queries: [p.query], frequencies: candidates)
        let prediction = zip(w, means).reduce(0) { $0 + $1.0 * $1.1[0] }
        XCTAssertGreaterThan(w[5], 0.9, "the true N = 6: \(w)")
        XCTAssertLessThan(w[4], 1e-6, "the square N = 5 class cannot fit a 6-frequency function smoothly")
        XCTAssertEqual(prediction, p.target, accuracy: 0.2, "prior sd of f is 1")
        var legacy = bma
        legacy.relativeJitter = 1e-8        // the old absolute jitter (s = 1)
        let old = legacy.posterior(context: p.x, y: p.y, queries: [p.query], frequencies: candidates).weights
        XCTAssertGreaterThan(old[4], 0.5, "the failure this guards against: \(old)")
    }

    func testRiskOrderingOracleModelAverageMinimumNormOnMixturePrompts() {
        // Bayes: on prompts drawn from the prior, E(f − BMA)² ≤ E(f − g)² for any g of the context — the
        // minimum-norm fit on all N_max = 10 frequencies included — and the oracle that knows N does better still.
        let (prompts, k) = (4000, 10)
        var rng = Xoshiro256(seed: 12)
        let (p, n) = FourierTask.mixture(maxFrequency: 10, points: k + 1).sample(batch: prompts, using: &rng)
        let (cx, cy) = p.context(k)
        let q = p.points(k..<(k + 1))
        let mse = { (learner: FourierBayes) in
            let pred = learner.trajectory(contextXs: cx, contextYs: cy, queries: q.xs).final
            return zip(pred.scalars, q.ys.scalars).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(prompts)
        }
        let oracle = mse(FourierBayes.oracle(task, frequencies: n))
        let average = mse(FourierBayes.modelAverage(task))
        let minimumNorm = mse(FourierBayes.leastSquares(frequency: 10, constantTerm: false))
        // Theorems in expectation; measured 0.170 < 0.193 < 0.508 at this seed (the fixed 1e-8 jitter gave
        // 0.248 for the average at seed 0, 2,000 prompts, against 0.209 now).
        XCTAssertLessThan(oracle, average)
        XCTAssertLessThan(average, minimumNorm)
        XCTAssertLessThan(average, 1, "the zero predictor's risk: f(x) has prior variance 1")
    }
}
