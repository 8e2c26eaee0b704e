import Analysis
import ClassicalLearners
import Foundation
import NumericCore
import Tasks
import XCTest

final class BooleanTests: XCTestCase {
    func sample(_ task: BooleanTask, batch: Int, seed: UInt64 = 1) -> PromptBatch {
        var rng = Xoshiro256(seed: seed)
        return task.sample(batch: batch, using: &rng)
    }

    /// All of {−1, +1}ⁿ.
    func cube(_ n: Int) -> [[Int]] {
        (0..<(1 << n)).map { m in (0..<n).map { m >> $0 & 1 == 1 ? -1 : 1 } }
    }

    func testConjunctionAndDisjunctionEncodingsExhaustively() {
        // Every w ∈ {0, ±1}³ and every x ∈ {±1}³: the threshold encoding is the AND (OR) of the literals.
        for code in 0..<27 {
            let w = (0..<3).map { [0, 1, -1][(code / Int(pow(3.0, Double($0)))) % 3] }
            for x in cube(3) {
                let literals = (0..<3).filter { w[$0] != 0 }.map { x[$0] == w[$0] }
                XCTAssertEqual(BooleanTask.conjunctionLabel(x, weights: w), literals.allSatisfy { $0 } ? 1 : -1, "w = \(w), x = \(x)")
                XCTAssertEqual(BooleanTask.disjunctionLabel(x, weights: w), literals.contains(true) ? 1 : -1, "w = \(w), x = \(x)")
            }
        }
    }

    func testBalancingRateMatchesTheory() {
        // P(y = +1) = 0.3 + 0.7 · 0.85ⁿ for balanced conjunctions. 20,000 prompts × 1 point: sd ≈ 0.0035.
        for n in [3, 8] {
            let p = sample(BooleanTask(variables: n, points: 1, functionClass: .conjunction), batch: 20_000, seed: UInt64(n))
            let rate = Double(p.ys.scalars.filter { $0 > 0 }.count) / 20_000
            XCTAssertEqual(rate, 0.3 + 0.7 * pow(0.85, Double(n)), accuracy: 0.015, "n = \(n)")
        }
    }

    func testEliminationNeverFalsePositiveAndAtMostNPlusOneMistakes() {
        let n = 12
        let p = sample(BooleanTask(variables: n, points: 60, functionClass: .conjunction), batch: 300)
        let pred = Elimination().prefixTrajectory(p).final
        for b in 0..<300 {
            var mistakes = 0
            for k in 0..<60 {
                let (y, yhat) = (p.ys.scalars[b * 60 + k], pred.scalars[b * 60 + k])
                XCTAssertFalse(yhat > 0 && y < 0, "false positive")
                if yhat != y { mistakes += 1 }
            }
            XCTAssertLessThanOrEqual(mistakes, n + 1)
        }
        // The dual on disjunctions never predicts a false negative.
        let d = sample(BooleanTask(variables: n, points: 40, functionClass: .disjunction), batch: 200)
        let dp = Elimination(dual: true).prefixTrajectory(d).final
        for i in 0..<(200 * 40) { XCTAssertFalse(dp.scalars[i] < 0 && d.ys.scalars[i] > 0, "false negative") }
    }

    func testTeachingSequenceMakesEliminationExact() {
        let n = 10
        let p = sample(BooleanTask(variables: n, points: 40, functionClass: .conjunction, teachingSequence: true), batch: 200)
        let acc = BooleanMetrics.accuracyByPosition(Elimination().prefixTrajectory(p).final, labels: p.ys)
        // The sequence has k + 2 ≤ n + 2 examples; every point after it is predicted exactly.
        for k in (n + 2)..<40 { XCTAssertEqual(acc[k], 1, "position \(k)") }
    }

    func testMonotoneTeachingSequenceAlsoMakesEliminationExact() {
        let n = 9
        let p = sample(BooleanTask(variables: n, points: 30, functionClass: .monotoneConjunction, teachingSequence: true), batch: 200)
        let acc = BooleanMetrics.accuracyByPosition(Elimination(monotone: true).prefixTrajectory(p).final, labels: p.ys)
        for k in (n + 1)..<30 { XCTAssertEqual(acc[k], 1, "position \(k)") }
        XCTAssertThrowsError(try BooleanTask(variables: 5, points: 30, functionClass: .majority, teachingSequence: true).validate())
    }

    func testGF2EliminationRecoversParityAndRankProbability() {
        let n = 6
        let p = sample(BooleanTask(variables: n, points: 30, functionClass: .parity), batch: 400)
        let pred = GF2Elimination().prefixTrajectory(p).final
        for b in 0..<400 {
            let rows = (0..<30).map { i in (0..<n).map { Int(p.xs.scalars[(b * 30 + i) * n + $0]) } }
            for k in 0..<30 where GF2Elimination.rank(Array(rows[0..<k])) == n {
                XCTAssertEqual(pred.scalars[b * 30 + k], p.ys.scalars[b * 30 + k], "full rank ⇒ exact")
            }
        }
        // P(t uniform vectors span GF(2)ⁿ) = Π_{i<n} (1 − 2^{i−t}). 4,000 trials: sd ≤ 0.008.
        var rng = Xoshiro256(seed: 3)
        for t in [6, 8] {
            var full = 0
            for _ in 0..<4000 {
                let rows = (0..<t).map { _ in (0..<n).map { _ in rng.next() & 1 == 0 ? 1 : -1 } }
                if GF2Elimination.rank(rows) == n { full += 1 }
            }
            let theory = (0..<n).reduce(1.0) { $0 * (1 - pow(2, Double($1 - t))) }
            XCTAssertEqual(Double(full) / 4000, theory, accuracy: 0.03, "t = \(t)")
        }
    }

    func testSparseParityBayesAndNearestNeighbourLabelling() {
        let p = sample(BooleanTask(variables: 8, points: 40, functionClass: .sparseParity(support: 2)), batch: 200)
        let acc = BooleanMetrics.accuracyByPosition(SparseParityBayes(support: 2).prefixTrajectory(p).final, labels: p.ys)
        XCTAssertEqual(acc[39], 1, "with 39 examples only the true support is consistent")
        XCTAssertGreaterThan(acc[8], acc[2])
        // Labels defined by the nearest earlier point: 1-NN (first index on ties) is exact after the random prefix.
        let nn = sample(BooleanTask(variables: 6, points: 20, functionClass: .nearestNeighbour(randomPrefix: 5)), batch: 100)
        let nacc = BooleanMetrics.accuracyByPosition(BooleanNearestNeighbour().prefixTrajectory(nn).final, labels: nn.ys)
        for k in 5..<20 { XCTAssertEqual(nacc[k], 1) }
        XCTAssertEqual(nacc[0], 0, "no context: the learner abstains, which counts as wrong")
        XCTAssertLessThan(nacc[1...4].reduce(0, +) / 4, 0.8, "the prefix labels are coin flips")
    }

    func testEveryClassSamplesValidPromptsAndBadParametersAreNamed() throws {
        for name in BooleanFunctionClass.names {
            let c = try BooleanFunctionClass.named(name, k: 3)
            let p = sample(BooleanTask(variables: 7, points: 9, functionClass: c), batch: 20)
            XCTAssertTrue(p.xs.scalars.allSatisfy { $0 == 1 || $0 == -1 }, name)
            XCTAssertTrue(p.ys.scalars.allSatisfy { $0 == 1 || $0 == -1 }, name)
        }
        XCTAssertThrowsError(try BooleanFunctionClass.named("xor")) { XCTAssertTrue("\($0)".contains("unknown Boolean class 'xor'")) }
        XCTAssertThrowsError(try BooleanTask(variables: 5, points: 9, functionClass: .sparseParity(support: 7)).validate()) {
            XCTAssertTrue("\($0)".contains("k = 7"), "\($0)")
        }
        XCTAssertThrowsError(try BooleanTask(variables: 5, points: 0, functionClass: .parity).validate())
    }
}
