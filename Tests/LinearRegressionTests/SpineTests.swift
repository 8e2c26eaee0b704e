import Analysis
import Experiments
import Foundation
import Models
import NumericCore
import Tasks
import TestSupport
import Training
import XCTest

/// The family-generic spine keeps every linear-regression number: training trajectories recorded from the
/// stacked-tensor LSA before the spine existed are reproduced by the generic trainer, the `Stack`/`Looped`
/// wrappers and the restricted model — bit for bit, or to rounding where a kernel now sums in another order.
final class SpineTests: XCTestCase {
    /// `Fixtures/training_pins.json`: per run, the loss at every step and the final weights as IEEE-754 bit
    /// patterns, recorded on this machine kind from the code before the spine (commit c18093f).
    static let pins: [String: [String: [UInt64]]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/training_pins.json")
        return try! JSONDecoder().decode([String: [String: [UInt64]]].self, from: Data(contentsOf: url))
    }()

    /// Values against the pins: bit for bit by default; with `relativeTolerance`, within it of each pin.
    func assertBits(_ values: [Double], _ key: String, _ field: String, relativeTolerance: Double = 0,
                    file: StaticString = #filePath, line: UInt = #line) {
        let expected = SpineTests.pins[key]![field]!
        XCTAssertEqual(values.count, expected.count, "\(key).\(field): count", file: file, line: line)
        for (i, (v, e)) in zip(values, expected).enumerated() {
            let pinned = Double(bitPattern: e)
            let ok = relativeTolerance == 0 ? v.bitPattern == e : abs(v - pinned) <= relativeTolerance * max(abs(pinned), 1e-300)
            if !ok {
                XCTFail("\(key).\(field)[\(i)] = \(v), pinned \(pinned)", file: file, line: line)
                return
            }
        }
    }

    /// LSA layers run the lane-packed kernel, which sums each product in a different order from the code that
    /// recorded the pins: the trajectories agree to rounding, not bit for bit (the new bits are themselves
    /// reproducible: the kernel's order is fixed). 20–30 clipped Adam steps stay within 1e-12 relative of the
    /// pins (the largest seen: losses 1e-15, weights 8e-14); a wrong gradient would be off at 1e-3 or more.
    static let reassociationTolerance = 1e-12

    func weights(_ model: any ICLModel, _ name: String) -> [Double] {
        model.namedParameters.filter { $0.name.hasSuffix(name) }.flatMap(\.value.scalars)
    }

    func testCiTinyTrajectoryAndWeightsArePinned() throws {
        var c = try Presets.named("ci-tiny")
        c.training.logEvery = 1
        var model = c.model.makeModel(dimension: 3, seed: c.modelSeed)
        XCTAssertTrue(model is Stack<LSALayer>)
        let h = try Trainer.train(&model, task: c.task.family, config: c.training, label: "pin")
        let tol = Self.reassociationTolerance
        assertBits(h.losses, "ci-tiny", "losses", relativeTolerance: tol)
        assertBits(weights(model, "wKQ"), "ci-tiny", "wKQ", relativeTolerance: tol)
        assertBits(weights(model, "wPV"), "ci-tiny", "wPV", relativeTolerance: tol)
    }

    func testStackedLoopedAndRestrictedModelsKeepTheirTrajectories() throws {
        // Noisy d = 3 regression, 30 clipped Adam steps: a 2-layer 2-head stack, a 3-loop looped LSA and a
        // symmetric restricted model, each against the stacked-tensor implementation's pinned values.
        let task = TaskConfig.linearRegression(LinearRegressionTask(dimension: 3, points: 8, noise: 0.1))
        let cfg = TrainingConfig(steps: 30, batchSize: 128, learningRate: 1e-2, maxGradientNorm: 0.5, seed: 3, logEvery: 1)
        let runs: [(String, ModelSpec, UInt64)] = [
            ("stack2", ModelSpec(kind: .lsa, layers: 2, heads: 2, initStd: 0.05, tokenClamp: 100), 5),
            ("looped3", ModelSpec(kind: .looped, depth: 3, initStd: 0.05), 6),
            ("restricted3", ModelSpec(kind: .restricted, depth: 3, initStd: 0.02, symmetricPreconditioner: true), 7),
        ]
        for (key, spec, seed) in runs {
            var model = spec.makeModel(dimension: 3, seed: seed)
            let h = try Trainer.train(&model, task: task.family, config: cfg, label: key)
            let tol = Self.reassociationTolerance
            assertBits(h.losses, key, "losses", relativeTolerance: tol)
            if key == "restricted3" { assertBits(weights(model, "A"), key, "A", relativeTolerance: tol) } else {
                assertBits(weights(model, "wKQ"), key, "wKQ", relativeTolerance: tol)
                assertBits(weights(model, "wPV"), key, "wPV", relativeTolerance: tol)
            }
        }
    }

    func testParameterWalksReachIntoListsOfBlocks() throws {
        for spec in [ModelSpec(kind: .lsa, layers: 3, heads: 2), ModelSpec(kind: .looped, depth: 4, heads: 2),
                     ModelSpec(kind: .restricted, depth: 2)] {
            let model = spec.makeModel(dimension: 3, seed: 1)
            func check<M: ICLModel>(_ m: M) { assertWalkCoversEveryParameter(m) }
            check(model)
        }
        let stack = ModelSpec(kind: .lsa, layers: 3, heads: 1).makeModel(dimension: 2, seed: 1)
        XCTAssertEqual(stack.namedParameters.map(\.name),
                       ["layers.0.wKQ", "layers.0.wPV", "layers.1.wKQ", "layers.1.wPV", "layers.2.wKQ", "layers.2.wPV"])
    }

    func testLastReadoutIsTheLastOfEveryReadoutAndTruncationCutsTheLoop() throws {
        // Stacks and loops read only the last layer out when training; it must be the last of every read-out.
        var rng = Xoshiro256(seed: 12)
        let p = LinearRegressionTask(dimension: 3, points: 7).sample(batch: 11, using: &rng)
        let z = TokenLayout.rows(p), n = 6
        for spec in [ModelSpec(kind: .lsa, layers: 3, heads: 2, initStd: 0.2), ModelSpec(kind: .looped, depth: 4, initStd: 0.2),
                     ModelSpec(kind: .looped, depth: 4, initStd: 0.2, injection: .additive)] {
            let model = spec.makeModel(dimension: 3, seed: 5)
            XCTAssertEqual(model.lastReadout(z, contextSize: n).scalars, model.readouts(z, contextSize: n).last!.scalars, "\(spec.kind)")
        }
        // Truncated backpropagation (window k of T loops, no injection): the gradient is that of a k-loop model
        // started from the tokens after T − k loops, held constant.
        let body = LSALayer(dimension: 3, heads: 1, initStd: 0.3, using: &rng)
        let truncated = Looped(body: body, depth: 5, window: 2)
        let start = Looped(body: body, depth: 3).hiddenStates(z, contextSize: n).last!
        let short = Looped(body: body, depth: 2)
        let g1 = gradient(at: truncated) { $0.lastReadout(z, contextSize: n).sum() }
        let g2 = gradient(at: short) { $0.lastReadout(start, contextSize: n).sum() }
        XCTAssertEqual(g1.body.wKQ.scalars, g2.body.wKQ.scalars)
        XCTAssertEqual(g1.body.wPV.scalars, g2.body.wPV.scalars)
        let full = gradient(at: Looped(body: body, depth: 5)) { $0.lastReadout(z, contextSize: n).sum() }
        XCTAssertGreaterThan(full.body.wKQ.maxAbsDifference(g1.body.wKQ), 1e-6, "the window must cut the earlier loops' gradient")
    }

    func testStackGradientMatchesFiniteDifferences() throws {
        // The generic loss through Stack<LSALayer> (two layers, the cheap last layer) and Looped with input
        // injection, against central differences of the same loss.
        var rng = Xoshiro256(seed: 11)
        let p = LinearRegressionTask(dimension: 2, points: 6).sample(batch: 4, using: &rng)
        for spec in [ModelSpec(kind: .lsa, layers: 2, heads: 2, initStd: 0.3), ModelSpec(kind: .looped, depth: 3, initStd: 0.3, injection: .additive)] {
            let model = spec.makeModel(dimension: 2, seed: 3)
            func check<M: ICLModel>(_ m: M) {
                let (_, g) = valueWithGradient(at: m) { Trainer.queryLoss($0, p, kind: .real) }
                for path in m.parameterPaths {
                    let numeric = numericalGradient(at: m[keyPath: path.value]) { w in
                        var n = m; n[keyPath: path.value] = w; return Trainer.queryLoss(n, p, kind: .real).scalar
                    }
                    XCTAssertLessThan(relativeError(m.gradient(g, at: path), numeric), 1e-6, "\(spec.kind) \(path.name)")
                }
            }
            check(model)
        }
    }

    func testPrefixLossAveragesTheQueryLossOfEveryPrefix() throws {
        var rng = Xoshiro256(seed: 2)
        let p = LinearRegressionTask(dimension: 2, points: 5).sample(batch: 8, using: &rng)
        let m = ModelSpec(kind: .lsa, layers: 2).makeModel(dimension: 2, seed: 4)
        func check<M: ICLModel>(_ m: M) {
            let direct = (2...5).map { Trainer.queryLoss(m, p.prefix(points: $0), kind: .real).scalar }.reduce(0, +) / 4
            XCTAssertEqual(Trainer.prefixLoss(m, p, kind: .real).scalar, direct, accuracy: 1e-14)
        }
        check(m)
        let c = Ramp(start: 3, increment: 2, every: 10)
        XCTAssertEqual([1, 10, 11, 21, 31, 1000].map { c.value(atStep: $0, total: 8) }, [3, 3, 5, 7, 8, 8])
    }

    func testLearningRateScheduleIsWarmUpThenCosine() {
        // 10 warm-up steps to 1e-3, then cosine to 0.1 × 1e-3 at step 110.
        let c = TrainingConfig(steps: 110, learningRate: 1e-3, warmupSteps: 10, schedule: .cosine, finalLearningRateFraction: 0.1)
        XCTAssertEqual(c.learningRate(atStep: 1), 1e-4, accuracy: 1e-18)
        XCTAssertEqual(c.learningRate(atStep: 10), 1e-3, accuracy: 1e-18)
        XCTAssertEqual(c.learningRate(atStep: 60), 1e-4 + 0.9e-3 * 0.5, accuracy: 1e-15, "half-way: the mid-point of the cosine")
        XCTAssertEqual(c.learningRate(atStep: 110), 1e-4, accuracy: 1e-15)
        XCTAssertEqual(TrainingConfig(learningRate: 3e-3).learningRate(atStep: 500), 3e-3, "constant by default")
    }

    func testDimensionCurriculumKeepsLabelsConsistent() throws {
        // With k active coordinates, y = w_{:k}ᵀ x_{:k} exactly (noiseless task) and the rest of x is 0.
        var rng = Xoshiro256(seed: 4)
        let p = LinearRegressionTask(dimension: 4, points: 6).sample(batch: 5, using: &rng).activeDimensions(2)
        for b in 0..<5 {
            for i in 0..<6 {
                let x = (0..<4).map { p.xs[b, i, $0] }
                XCTAssertEqual(x[2], 0)
                XCTAssertEqual(x[3], 0)
                XCTAssertEqual(p.ys[b, i], x[0] * p.ws![b, 0] + x[1] * p.ws![b, 1], accuracy: 1e-12)
            }
        }
        // Families without weights refuse it with a clear error.
        var model = ModelSpec(kind: .lsa).makeModel(dimension: 3, seed: 1)
        let boolean = BooleanTask(variables: 3, points: 6, functionClass: .parity)
        var cfg = TrainingConfig(steps: 2, batchSize: 8, logEvery: 0)
        cfg.dimensionCurriculum = Ramp(start: 1, increment: 1, every: 1)
        XCTAssertNoThrow(try Trainer.train(&model, task: LinearRegressionTask(dimension: 3, points: 6), config: cfg))
        XCTAssertThrowsError(try Trainer.train(&model, task: BooleanTask(variables: 3, points: 6, functionClass: .parity), config: cfg)) {
            XCTAssertTrue("\($0)".contains("carry their weights"), "\($0)")
        }
        _ = boolean
    }
}
