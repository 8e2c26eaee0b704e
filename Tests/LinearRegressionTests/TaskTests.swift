import Foundation
import NumericCore
import Tasks
import TestSupport
import XCTest

final class TaskTests: XCTestCase {
    func sample(_ task: LinearRegressionTask, batch: Int = 64, seed: UInt64 = 1) -> PromptBatch {
        var rng = Xoshiro256(seed: seed)
        return task.sample(batch: batch, using: &rng)
    }

    func testSameSeedSameBitsAndStablePrefixes() {
        let task = LinearRegressionTask(dimension: 4, points: 6, noise: 0.1)
        let a = sample(task, batch: 600), b = sample(task, batch: 600), c = sample(task, batch: 600, seed: 2)
        XCTAssertEqual(a.xs.scalars.map(\.bitPattern), b.xs.scalars.map(\.bitPattern))
        XCTAssertEqual(a.ys.scalars.map(\.bitPattern), b.ys.scalars.map(\.bitPattern))
        XCTAssertNotEqual(a.xs, c.xs)
        // Streams are fixed per block of prompts, not per thread: a smaller batch is a prefix of a larger one.
        let small = sample(task, batch: 300)
        XCTAssertEqual(small.xs, a.prompts(0..<300).xs)
        XCTAssertEqual(small.ys, a.prompts(0..<300).ys)
    }

    func testLabelsAreLinearPlusNoise() {
        let clean = sample(LinearRegressionTask(dimension: 5, points: 7))
        let fit = matmul(clean.xs, clean.ws!.reshaped(to: [64, 5, 1])).reshaped(to: [64, 7])
        assertClose(clean.ys, fit, tolerance: 1e-12)
        // σ = 0.5: residual variance 0.25 ± 5 standard errors (sd of the estimate ≈ 0.25·√(2/44800)).
        let noisy = sample(LinearRegressionTask(dimension: 5, points: 7, noise: 0.5), batch: 6400)
        let r = noisy.ys - matmul(noisy.xs, noisy.ws!.reshaped(to: [6400, 5, 1])).reshaped(to: [6400, 7])
        XCTAssertEqual(r.squared().mean().scalar, 0.25, accuracy: 0.0085)
    }

    func testInputDistributions() throws {
        let iso = sample(LinearRegressionTask(dimension: 3, points: 50), batch: 400)
        XCTAssertEqual(iso.xs.squared().mean().scalar, 1, accuracy: 0.03)       // 60k draws: sd 0.006
        let uni = sample(LinearRegressionTask(dimension: 3, points: 50, inputs: .uniform(halfWidth: 0.5)), batch: 400)
        XCTAssertTrue(uni.xs.scalars.allSatisfy { $0 >= -0.5 && $0 < 0.5 })
        XCTAssertEqual(uni.xs.squared().mean().scalar, 1.0 / 12, accuracy: 0.003)   // Var U(−½, ½) = 1/12
        let spec = sample(LinearRegressionTask(dimension: 3, points: 50, inputs: .gaussianSpectrum([4, 1, 0.25])), batch: 400)
        let perCoordinate = spec.xs.squared().mean(alongAxis: 0).mean(alongAxis: 0)
        assertClose(perCoordinate, Tensor([4, 1, 0.25]), tolerance: 0.15)
        // Ill-conditioned with a random basis: one long prompt's sample covariance has eigenvalues ≈ {κ, κ, 1, 1}.
        let ill = sample(LinearRegressionTask(dimension: 4, points: 20000, inputs: .illConditioned(kappa: 100, randomBasis: true)), batch: 1)
        let x = ill.xs.reshaped(to: [20000, 4])
        let cov = matmul(x, x, transposeA: true) / 20000
        let eig = try LinearAlgebra.symmetricEigen(cov).values.scalars
        XCTAssertEqual(eig[0], 1, accuracy: 0.1); XCTAssertEqual(eig[1], 1, accuracy: 0.1)
        XCTAssertEqual(eig[2], 100, accuracy: 8); XCTAssertEqual(eig[3], 100, accuracy: 8)
        XCTAssertGreaterThan(abs(cov[0, 1]), 0.5, "the eigenbasis is rotated, not the standard basis")
        var rng = Xoshiro256(seed: 3)
        let q = LinearRegressionTask.haarOrthogonal(5, using: &rng)
        assertClose(matmul(q, q, transposeA: true), Tensor.identity(5), tolerance: 1e-12)
    }

    func testWeightDistributionsAndShifts() {
        let sparse = sample(LinearRegressionTask(dimension: 8, points: 3, weights: .sparse(nonZeros: 3, scale: 1)))
        for p in 0..<64 {
            XCTAssertEqual(sparse.ws!.scalars[(p * 8)..<((p + 1) * 8)].filter { $0 != 0 }.count, 3)
        }
        let task = LinearRegressionTask(dimension: 4, points: 3, weights: .pool(size: 5, scale: 1, poolSeed: 9))
        let pool = task.taskPool!
        XCTAssertEqual(pool, task.taskPool!, "the pool is fixed by its seed")
        let pooled = sample(task)
        for p in 0..<64 {
            let w = Array(pooled.ws!.scalars[(p * 4)..<((p + 1) * 4)])
            XCTAssertTrue((0..<5).contains { i in Array(pool.scalars[(i * 4)..<((i + 1) * 4)]) == w })
        }
        var shifted = LinearRegressionTask(dimension: 4, points: 3)
        let base = sample(shifted)
        shifted.inputScale = 2
        shifted.weightScale = 3
        let s = sample(shifted)
        assertClose(s.xs, base.xs * 2, tolerance: 0)
        assertClose(s.ys, base.ys * 6, tolerance: 1e-12)
    }

    func testValidationNamesTheProblem() {
        func message(_ t: LinearRegressionTask) -> String {
            do { try t.validate(); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(LinearRegressionTask(dimension: 3, points: 4, weights: .sparse(nonZeros: 5, scale: 1))).contains("k = 5"))
        XCTAssertTrue(message(LinearRegressionTask(dimension: 3, points: 0)).contains("points"))
        XCTAssertTrue(message(LinearRegressionTask(dimension: 3, points: 4, noise: -1)).contains("noise"))
        XCTAssertTrue(message(LinearRegressionTask(dimension: 2, points: 4, inputs: .gaussianSpectrum([1]))).contains("spectrum"))
        XCTAssertEqual(message(LinearRegressionTask(dimension: 3, points: 4)), "")
    }

    func testPromptFilesRoundTripAndRejectBadInput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prompts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = sample(LinearRegressionTask(dimension: 3, points: 5, noise: 0.1))
        let url = dir.appendingPathComponent("p.npz")
        try p.save(to: url)
        XCTAssertEqual(try PromptBatch.load(from: url), p)
        // Missing arrays, wrong shapes and NaN each give one clear error.
        try NumPy.save([("xs", p.xs)], npz: dir.appendingPathComponent("noys.npz"))
        XCTAssertThrowsError(try PromptBatch.load(from: dir.appendingPathComponent("noys.npz"))) { XCTAssertTrue("\($0)".contains("'ys'"), "\($0)") }
        try NumPy.save([("xs", p.xs), ("ys", Tensor(zeros: [64, 4]))], npz: dir.appendingPathComponent("shape.npz"))
        XCTAssertThrowsError(try PromptBatch.load(from: dir.appendingPathComponent("shape.npz"))) { XCTAssertTrue("\($0)".contains("[64, 5]"), "\($0)") }
        var bad = p.ys
        bad.scalars[7] = .nan
        try NumPy.save([("xs", p.xs), ("ys", bad)], npz: dir.appendingPathComponent("nan.npz"))
        XCTAssertThrowsError(try PromptBatch.load(from: dir.appendingPathComponent("nan.npz"))) { XCTAssertTrue("\($0)".contains("non-finite"), "\($0)") }
    }
}
