import Foundation
import NumericCore
import Tasks
import XCTest

/// The label rate P(y = +1) of every Boolean class, balanced and not, against closed forms derived from the
/// sampler's definition (REFERENCES §8) — so a flipped forcing rule (a forced positive where the class forces a
/// negative, as 3-CNF once did) moves a rate by 0.3 and fails.
final class BooleanLabelRateTests: XCTestCase {
    /// Binomial(n, p) probabilities for 0…n.
    static func binomial(_ n: Int, _ p: Double) -> [Double] {
        var pmf = [Double](repeating: 0, count: n + 1)
        pmf[0] = 1
        for _ in 0..<n {
            for m in stride(from: n, through: 1, by: -1) { pmf[m] = pmf[m] * (1 - p) + pmf[m - 1] * p }
            pmf[0] *= 1 - p
        }
        return pmf
    }

    /// P(Σ of m uniform ±1 > b): the sum is 2B − m with B ~ Binomial(m, ½).
    static func signSumExceeds(_ m: Int, _ b: Double) -> Double {
        zip(0...m, binomial(m, 0.5)).filter { Double(2 * $0.0 - m) > b }.reduce(0) { $0 + $1.1 }
    }

    /// P(y = +1) of one example at n variables. For an unforced example x is uniform, so x_i w_i is a uniform
    /// ±1 on w's support and the literals of a term are independent coins:
    /// - conjunction (monotone or not): every literal true, E[2^{−|w|}] = 0.85ⁿ (|w| ~ Binomial(n, 0.3));
    /// - disjunction: 1 − 0.85ⁿ; sparse disjunction of k literals: 1 − 2^{−k};
    /// - 3-DNF: a term is true with probability Π_i P(w_i ∈ {0, x_i}) = 0.9ⁿ, independently given x, so
    ///   1 − (1 − 0.9ⁿ)³; 3-CNF, the dual: a clause is false with probability 0.9ⁿ, so (1 − 0.9ⁿ)³;
    /// - majority `x·w > 0.5`, 0-1 threshold `x·w > b`: sums over |w| ~ Binomial(n, 0.3) of sign-sum tails;
    /// - integer halfspace: w_i x_i uniform on {−3…3}, so P(S ≥ 1) = (1 − P(S = 0))/2 by symmetry;
    /// - parity `Π_{i∈S} x_i`: ½ unless S = ∅ (probability 2^{−n}, label +1); sparse parity and the
    ///   nearest-neighbour labelling (coins, then copies): ½.
    /// Balancing forces an example with probability 0.3 (0.35 for 3-DNF): positive for conjunctions and
    /// DNF, negative for disjunctions and CNF; the other classes are not forced.
    static func closedFormPositiveRate(_ c: BooleanFunctionClass, n: Int, balanced: Bool) -> Double {
        let support = binomial(n, 0.3)
        let forcedPositive = { (q: Double, f: Double) in balanced ? f + (1 - f) * q : q }
        let forcedNegative = { (q: Double, f: Double) in balanced ? (1 - f) * q : q }
        switch c {
        case .conjunction, .monotoneConjunction: return forcedPositive(pow(0.85, Double(n)), 0.3)
        case .disjunction: return forcedNegative(1 - pow(0.85, Double(n)), 0.3)
        case .sparseDisjunction(let k): return forcedNegative(1 - pow(2, -Double(k)), 0.3)
        case .dnf3: return forcedPositive(1 - pow(1 - pow(0.9, Double(n)), 3), 0.35)
        case .cnf3: return forcedNegative(pow(1 - pow(0.9, Double(n)), 3), 0.3)
        case .majority:
            return (0...n).reduce(0) { $0 + support[$1] * signSumExceeds($1, 0.5) }
        case .zeroOneThreshold:
            let biases = stride(from: -2.5, through: 2.5, by: 1.0)
            return (0...n).reduce(0) { acc, m in
                acc + support[m] * biases.reduce(0) { $0 + signSumExceeds(m, $1) } / 6
            }
        case .integerHalfspace:
            var sum = [Double](repeating: 0, count: 6 * n + 1)              // P(S = s − 3n)
            sum[3 * n] = 1
            for _ in 0..<n {
                var next = [Double](repeating: 0, count: sum.count)
                for s in sum.indices where sum[s] > 0 {
                    for v in -3...3 where s + v >= 0 && s + v < sum.count { next[s + v] += sum[s] / 7 }
                }
                sum = next
            }
            return (1 - sum[3 * n]) / 2
        case .parity: return 0.5 + 0.5 * pow(2, -Double(n))
        case .sparseParity, .nearestNeighbour: return 0.5
        }
    }

    func testClosedFormsOnATinyCubeByEnumeration() {
        // n = 2, unbalanced: average the label over every x and every weight vector, weighted by its probability.
        let n = 2
        let cube = [[1, 1], [1, -1], [-1, 1], [-1, -1]]
        let literal: [(Int, Double)] = [(0, 0.7), (1, 0.15), (-1, 0.15)]
        var conjunction = 0.0, disjunction = 0.0
        for (a, pa) in literal {
            for (b, pb) in literal {
                for x in cube {
                    conjunction += pa * pb / 4 * (BooleanTask.conjunctionLabel(x, weights: [a, b]) > 0 ? 1 : 0)
                    disjunction += pa * pb / 4 * (BooleanTask.disjunctionLabel(x, weights: [a, b]) > 0 ? 1 : 0)
                }
            }
        }
        let exact = 1e-12   // the same finite sums in a different order
        XCTAssertEqual(Self.closedFormPositiveRate(.conjunction, n: n, balanced: false), conjunction, accuracy: exact)
        XCTAssertEqual(Self.closedFormPositiveRate(.disjunction, n: n, balanced: false), disjunction, accuracy: exact)
    }

    func testEveryClassLabelRateMatchesItsClosedFormWithAndWithoutBalancing() {
        // Bhattamishra et al.'s setting: n = 28 variables, 70 points per prompt.
        let (n, points, prompts) = (28, 70, 2000)
        for (index, name) in BooleanFunctionClass.names.enumerated() {
            let c = try! BooleanFunctionClass.named(name, k: name == "sparse-disjunction" ? 4 : 2)
            for balanced in [false, true] {
                var rng = Xoshiro256(seed: 100 + UInt64(index), stream: balanced ? 1 : 0)
                let task = BooleanTask(variables: n, points: points, functionClass: c, balanced: balanced)
                let ys = task.sample(batch: prompts, using: &rng).ys.scalars
                let rate = Double(ys.filter { $0 > 0 }.count) / Double(ys.count)
                let p = Self.closedFormPositiveRate(c, n: n, balanced: balanced)
                // Prompts are independent, points within one are not (they share f): the prompt means are
                // independent with variance ≤ p(1 − p) (a [0, 1] variable with mean p), so the binomial standard
                // error over prompts, √(p(1 − p)/B), bounds the rate's; 4 of them (≤ 0.045) still separate every
                // flipped forcing rule (0.3 apart).
                let fourSigma = 4 * (p * (1 - p) / Double(prompts)).squareRoot()
                XCTAssertEqual(rate, p, accuracy: fourSigma, "\(name), balanced: \(balanced)")
            }
        }
    }
}
