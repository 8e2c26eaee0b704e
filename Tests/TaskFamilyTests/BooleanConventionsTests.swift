import Analysis
import ClassicalLearners
import Foundation
import NumericCore
import Tasks
import XCTest

/// `BooleanConventions.bhattamishra` against the rules of Bhattamishra et al.'s released code, written out here
/// independently of the learners: same prompts, exact tie rules, equal tables.
final class BooleanConventionsTests: XCTestCase {
    typealias Example = (x: [Int], y: Int)

    func prompts(_ task: BooleanTask, batch: Int, seed: UInt64) -> (PromptBatch, [[Example]]) {
        var rng = Xoshiro256(seed: seed)
        let p = task.sample(batch: batch, using: &rng)
        let (n, d) = (p.pointCount, p.dimension)
        let examples = (0..<batch).map { b in
            (0..<n).map { i in ((0..<d).map { Int(p.xs[b, i, $0]) }, Int(p.ys[b, i])) }
        }
        return (p, examples)
    }

    // MARK: The reference's scoring, one function per baseline: the expected score of the prediction for
    // point k from points 0..<k. `sign(prediction) == y` is scored, so a 0 is wrong; an exact tie of float
    // arithmetic comes out either way and is worth ½; the first point's hard-coded prediction is 0 for nearest
    // neighbour and −1 for averaging and the null classifier.

    static func nullClassifier(_ context: ArraySlice<Example>, _ q: Example) -> Double { q.y == -1 ? 1 : 0 }

    static func averaging(_ context: ArraySlice<Example>, _ q: Example) -> Double {
        if context.isEmpty { return q.y == -1 ? 1 : 0 }
        var s = 0
        for e in context { for j in q.x.indices { s += e.y * e.x[j] * q.x[j] } }
        return s == 0 ? 0.5 : (s > 0) == (q.y > 0) ? 1 : 0
    }

    /// Euclidean or cosine nearest neighbour: on ±1 vectors both rank by Hamming distance; the first index wins
    /// a tie (`argmax` in the reference's cosine baseline).
    static func nearestNeighbour(_ context: ArraySlice<Example>, _ q: Example) -> Double {
        guard let best = context.min(by: { a, b in
            zip(a.x, q.x).filter { $0 != $1 }.count < zip(b.x, q.x).filter { $0 != $1 }.count
        }) else { return 0 }
        return best.y == q.y ? 1 : 0
    }

    /// The perceptron (not in the reference code): one pass, updates on a margin ≤ 0; a zero margin is a tie.
    static func perceptron(_ context: ArraySlice<Example>, _ q: Example) -> Double {
        var w = [Int](repeating: 0, count: q.x.count), b = 0
        for e in context where e.y * (zip(w, e.x).map { $0 * $1 }.reduce(b, +)) <= 0 {
            for j in w.indices { w[j] += e.y * e.x[j] }
            b += e.y
        }
        let s = zip(w, q.x).map { $0 * $1 }.reduce(b, +)
        return s == 0 ? (context.isEmpty ? 0 : 0.5) : (s > 0) == (q.y > 0) ? 1 : 0
    }

    /// Elimination: the literals every positive example satisfies; +1 iff the query satisfies all of them.
    static func elimination(_ context: ArraySlice<Example>, _ q: Example) -> Double {
        var literals = Set((0..<q.x.count).flatMap { [($0, 1), ($0, -1)] }.map { "\($0.0):\($0.1)" })
        for e in context where e.y == 1 {
            for j in e.x.indices { literals.remove("\(j):\(-e.x[j])") }
        }
        let satisfied = literals.allSatisfy { l in
            let parts = l.split(separator: ":").map { Int($0)! }
            return q.x[parts[0]] == parts[1]
        }
        return (satisfied ? 1 : -1) == q.y ? 1 : 0
    }

    /// GF(2) elimination on the reference's parity: the labels are linear in the bits (1 + xᵢ)/2. A query in
    /// the span of the context's bit vectors is determined (every consistent parity agrees there, the true one
    /// among them): right. Outside it the consistent parities split evenly: a tie.
    static func gaussianElimination(_ context: ArraySlice<Example>, _ q: Example) -> Double {
        func rank(_ rows: [[Int]]) -> Int {
            var m = rows, r = 0
            for col in 0..<(rows.first?.count ?? 0) {
                guard let pivot = (r..<m.count).first(where: { m[$0][col] == 1 }) else { continue }
                m.swapAt(r, pivot)
                for i in m.indices where i != r && m[i][col] == 1 { m[i] = zip(m[i], m[r]).map { ($0 + $1) % 2 } }
                r += 1
            }
            return r
        }
        let bits = { (x: [Int]) in x.map { (1 + $0) / 2 } }
        let rows = context.map { bits($0.x) }
        if rank(rows + [bits(q.x)]) == rank(rows) { return 1 }
        return context.isEmpty ? 0 : 0.5
    }

    /// Per-position means of a reference scoring rule over the prompts.
    static func table(_ examples: [[Example]], _ rule: (ArraySlice<Example>, Example) -> Double) -> [Double] {
        (0..<examples[0].count).map { k in
            examples.reduce(0.0) { $0 + rule($1[0..<k], $1[k]) } / Double(examples.count)
        }
    }

    static func referenceRule(_ learner: InContextLearner) -> (ArraySlice<Example>, Example) -> Double {
        switch learner {
        case is Elimination: return elimination
        case is GF2Elimination: return gaussianElimination
        case is BooleanNearestNeighbour: return nearestNeighbour
        case is BooleanAveraging: return averaging
        case is Perceptron: return perceptron
        case is MajorityLabel: return nullClassifier
        default: fatalError("no reference rule for \(learner.name)")
        }
    }

    func testConjunctionAndParityTablesEqualTheReferenceConventions() {
        // Even n makes averaging ties (ŵ·x = 0) common, so the tie rule is exercised.
        let tasks = [BooleanTask(variables: 10, points: 40, functionClass: .conjunction, conventions: .bhattamishra),
                     BooleanTask(variables: 8, points: 30, functionClass: .parity, conventions: .bhattamishra)]
        for (t, task) in tasks.enumerated() {
            let (p, examples) = prompts(task, batch: 300, seed: 7 + UInt64(t))
            let learners = BooleanBaselines.learners(for: task.functionClass, conventions: .bhattamishra)
            XCTAssertEqual(learners.count, 6)
            for learner in learners {
                let table = BooleanMetrics.accuracyByPosition(learner.prefixTrajectory(p).final, labels: p.ys,
                                                              conventions: .bhattamishra)
                let reference = Self.table(examples, Self.referenceRule(learner))
                // Sums of 0, ½ and 1 over 300 prompts are exact in Double; only the summation order differs.
                let exact = 1e-12
                for k in table.indices {
                    XCTAssertEqual(table[k], reference[k], accuracy: exact,
                                   "\(task.functionClass) \(learner.name) @\(k)")
                }
            }
            let ties = (1..<examples[0].count).reduce(0) { n, k in
                n + examples.filter { Self.averaging($0[0..<k], $0[k]) == 0.5 }.count
            }
            XCTAssertGreaterThan(ties, 100, "the averaging tie rule is exercised")
        }
    }

    func testTheConventionsChangeTheTables() {
        // The null classifier: majority label vs always −1.
        let task = BooleanTask(variables: 10, points: 40, functionClass: .conjunction)
        let (p, _) = prompts(task, batch: 300, seed: 9)
        let mean = { (a: [Double]) in a.reduce(0, +) / Double(a.count) }
        let majority = mean(BooleanMetrics.accuracyByPosition(MajorityLabel().prefixTrajectory(p).final, labels: p.ys))
        let alwaysMinusOne = MajorityLabel(conventions: .bhattamishra).prefixTrajectory(p).final
        let minusOne = mean(BooleanMetrics.accuracyByPosition(alwaysMinusOne, labels: p.ys, conventions: .bhattamishra))
        let negatives = Double(p.ys.scalars.filter { $0 < 0 }.count) / Double(p.ys.scalarCount)
        XCTAssertEqual(minusOne, negatives, accuracy: 1e-12, "the rate of negatives, up to summation order")
        XCTAssertNotEqual(majority, minusOne)
        // Parity: GF(2) elimination in the workbench's encoding is affine-inconsistent on the reference's labels
        // (even supports flip the sign), so it stops being exact once the context has full rank.
        let parity = BooleanTask(variables: 8, points: 40, functionClass: .parity, conventions: .bhattamishra)
        let (q, _) = prompts(parity, batch: 300, seed: 10)
        let reference = GF2Elimination(conventions: .bhattamishra).prefixTrajectory(q).final
        let matched = BooleanMetrics.accuracyByPosition(reference, labels: q.ys, conventions: .bhattamishra)
        let mismatched = BooleanMetrics.accuracyByPosition(GF2Elimination().prefixTrajectory(q).final, labels: q.ys)
        XCTAssertEqual(matched[39], 1, "39 random vectors span GF(2)⁸ (all but ~2⁻³¹ of the time)")
        XCTAssertLessThan(mismatched[39], 0.9, "about ¾: right on odd supports, a coin on even ones")
    }

    func testParitySignFollowsTheConventions() {
        for c in [BooleanFunctionClass.parity, .sparseParity(support: 2), .sparseParity(support: 3)] {
            for conventions in BooleanConventions.allCases {
                let task = BooleanTask(variables: 7, points: 20, functionClass: c, conventions: conventions)
                var rng = Xoshiro256(seed: 11)
                let p = task.sample(batch: 100, using: &rng)
                for b in 0..<100 {
                    let support = (0..<7).filter { p.ws![b, $0] != 0 }
                    for i in 0..<20 {
                        let x = support.map { Int(p.xs[b, i, $0]) }
                        // Workbench: the character χ_S(x) = Π xᵢ. Reference: ((x + 1)/2 · w mod 2) · 2 − 1.
                        let expected = conventions == .workbench ? x.reduce(1, *)
                                                                 : (x.filter { $0 == 1 }.count % 2) * 2 - 1
                        XCTAssertEqual(Int(p.ys[b, i]), expected, "\(c) \(conventions)")
                    }
                }
            }
        }
    }

    /// Per-prompt forcing in the reference: one 3-DNF term is drawn per prompt and every forced example (35 %)
    /// satisfies it, so those coordinates are pinned far more often than when each forced example draws its own
    /// term. The statistic V = Σᵢ (fᵢ − ½)², fᵢ the prompt's fraction of xᵢ = +1, sees the difference; an
    /// independent re-implementation of both samplers gives its expected value.
    func testForcedDNFTermIsDrawnOncePerPromptUnderTheReferenceConventions() {
        let (n, points, batch) = (28, 70, 1500)
        func v(_ xs: [[Int]]) -> Double {
            (0..<n).reduce(0) { acc, i in
                let f = Double(xs.filter { $0[i] == 1 }.count) / Double(xs.count)
                return acc + (f - 0.5) * (f - 0.5)
            }
        }
        func meanAndError(_ values: [Double]) -> (mean: Double, error: Double) {
            let m = values.reduce(0, +) / Double(values.count)
            let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)
            return (m, (variance / Double(values.count)).squareRoot())
        }
        func reference(perPrompt: Bool, seed: UInt64) -> [Double] {
            var rng = Xoshiro256(seed: seed)
            let coin = { (r: inout Xoshiro256) in r.next() & 1 == 0 ? 1 : -1 }
            return (0..<batch).map { _ in
                let terms = (0..<3).map { _ in
                    (0..<n).map { _ -> Int in
                        let u = rng.nextUniform()
                        return u < 0.8 ? 0 : (u < 0.9 ? 1 : -1)
                    }
                }
                let chosen = Int(rng.next() % 3)
                let xs = (0..<points).map { _ -> [Int] in
                    var x = (0..<n).map { _ in coin(&rng) }
                    if rng.nextUniform() < 0.35 {
                        let t = terms[perPrompt ? chosen : Int(rng.next() % 3)]
                        for i in 0..<n where t[i] != 0 { x[i] = t[i] }
                    }
                    return x
                }
                return v(xs)
            }
        }
        func sampled(_ conventions: BooleanConventions) -> [Double] {
            let task = BooleanTask(variables: n, points: points, functionClass: .dnf3, conventions: conventions)
            var rng = Xoshiro256(seed: 41)
            let p = task.sample(batch: batch, using: &rng)
            return (0..<batch).map { b in v((0..<points).map { i in (0..<n).map { Int(p.xs[b, i, $0]) } }) }
        }
        let refPrompt = meanAndError(reference(perPrompt: true, seed: 22))
        let refExample = meanAndError(reference(perPrompt: false, seed: 43))
        let bhattamishra = meanAndError(sampled(.bhattamishra)), workbench = meanAndError(sampled(.workbench))
        // Two independent means: 5 combined standard errors (≈ 0.014) against a gap of ≈ 0.11 between the rules,
        // so each sampler matches one rule and is > 3 tolerances from the other.
        let tolerance = { (a: (mean: Double, error: Double), b: (mean: Double, error: Double)) in
            5 * (a.error * a.error + b.error * b.error).squareRoot()
        }
        XCTAssertGreaterThan(refPrompt.mean - refExample.mean, 4 * tolerance(refPrompt, refExample))
        XCTAssertEqual(bhattamishra.mean, refPrompt.mean, accuracy: tolerance(bhattamishra, refPrompt))
        XCTAssertEqual(workbench.mean, refExample.mean, accuracy: tolerance(workbench, refExample))
    }

    func testConventionsDecodeAndDefault() throws {
        let old = #"{"variables":5,"points":9,"functionClass":{"parity":{}},"balanced":true,"teachingSequence":false}"#
        XCTAssertEqual(try JSONDecoder().decode(BooleanTask.self, from: Data(old.utf8)).conventions, .workbench)
        let task = BooleanTask(variables: 5, points: 9, functionClass: .cnf3, conventions: .bhattamishra)
        let json = String(decoding: try JSONEncoder().encode(task), as: UTF8.self)
        XCTAssertTrue(json.contains(#""conventions":"bhattamishra""#), json)
        XCTAssertEqual(try JSONDecoder().decode(BooleanTask.self, from: Data(json.utf8)), task)
        XCTAssertEqual(try BooleanConventions.named("bhattamishra"), .bhattamishra)
        XCTAssertThrowsError(try BooleanConventions.named("garg")) {
            XCTAssertTrue("\($0)".contains("unknown conventions 'garg'; available: workbench, bhattamishra"), "\($0)")
        }
    }
}
