import Foundation
import NumericCore

/// The Boolean function classes of Bhattamishra et al. (2024). Inputs are x ∈ {−1, +1}ⁿ, labels y ∈ {−1, +1};
/// every class is `sign(x·w − b)` or a min/max of such terms.
public enum BooleanFunctionClass: Codable, Equatable, Sendable {
    /// `∧` of literals; w ∈ {0, ±1}ⁿ with P(0) = 0.7, P(±1) = 0.15: `sign(x·w − (‖w‖₁ − 1))`.
    case conjunction
    /// `∧` of positive literals; w ∈ {0, 1}ⁿ with P(1) = 0.3.
    case monotoneConjunction
    /// `∨` of literals: `sign(x·w + (‖w‖₁ − 1))`.
    case disjunction
    /// `∨` of `literals` positive literals.
    case sparseDisjunction(literals: Int)
    /// OR of 3 conjunctions (literal probabilities 0.8 / 0.1 / 0.1).
    case dnf3
    /// AND of 3 disjunctions (literal probabilities 0.8 / 0.1 / 0.1).
    case cnf3
    /// `sign(x·w − 0.5)`, w ∈ {0, 1}ⁿ with P(1) = 0.3.
    case majority
    /// `sign(x·w − b)`, w ∈ {0, ±1}ⁿ (P(0) = 0.7), b uniform in {−2.5, −1.5, …, 2.5}.
    case zeroOneThreshold
    /// `sign(x·w − 0.5)`, w uniform in {−3, …, 3}ⁿ.
    case integerHalfspace
    /// `Π_{i∈S} xᵢ` for a uniformly random subset S.
    case parity
    /// `Π_{i∈S} xᵢ` with |S| = support.
    case sparseParity(support: Int)
    /// The first `randomPrefix` points get random labels; every later point takes the label of its nearest
    /// earlier point (Hamming distance, first index on ties).
    case nearestNeighbour(randomPrefix: Int)

    public static let names = ["conjunction", "monotone-conjunction", "disjunction", "sparse-disjunction", "dnf3", "cnf3", "majority",
                               "zero-one-threshold", "integer-halfspace", "parity", "sparse-parity", "nearest-neighbour"]

    /// Parses a class name (`k` is the support of `sparse-parity`, the literal count of `sparse-disjunction`,
    /// and the randomly labelled prefix of `nearest-neighbour`).
    public static func named(_ name: String, k: Int = 2) throws -> BooleanFunctionClass {
        switch name {
        case "conjunction": return .conjunction
        case "monotone-conjunction": return .monotoneConjunction
        case "disjunction": return .disjunction
        case "sparse-disjunction": return .sparseDisjunction(literals: k)
        case "dnf3": return .dnf3
        case "cnf3": return .cnf3
        case "majority": return .majority
        case "zero-one-threshold": return .zeroOneThreshold
        case "integer-halfspace": return .integerHalfspace
        case "parity": return .parity
        case "sparse-parity": return .sparseParity(support: k)
        case "nearest-neighbour": return .nearestNeighbour(randomPrefix: k)
        default: throw TaskError("unknown Boolean class '\(name)'; available: \(names.joined(separator: ", "))")
        }
    }
}

/// In-context learning of Boolean functions: prompts of `points` examples `(x, f(x))` for one f per prompt.
/// Prompts are `PromptBatch`es with ±1 entries; `ws` holds f's weight vector for single-term classes
/// (the support indicator for parities).
public struct BooleanTask: Codable, Equatable, Sendable {
    public var variables: Int
    public var points: Int
    public var functionClass: BooleanFunctionClass
    /// Bhattamishra et al.'s balancing: with probability 0.3 (0.35 for DNF) an example is forced positive
    /// (negative for disjunctions and 3-CNF, whose forced example falsifies one clause), so labels are not
    /// almost all one sign.
    public var balanced: Bool
    /// Put the class's teaching sequence first (conjunctions: k + 2 examples; monotone: k + 1; 3-DNF: each
    /// term's conjunction sequence in turn; parities: n + 1).
    public var teachingSequence: Bool
    /// The sampler's share of the conventions: the parity sign and when the forced 3-DNF term / 3-CNF clause is
    /// drawn (per example, or once per prompt as in Bhattamishra et al.'s code). Absent from JSON: `.workbench`.
    public var conventions: BooleanConventions

    public init(variables: Int, points: Int, functionClass: BooleanFunctionClass, balanced: Bool = true,
                teachingSequence: Bool = false, conventions: BooleanConventions = .workbench) {
        self.variables = variables
        self.points = points
        self.functionClass = functionClass
        self.balanced = balanced
        self.teachingSequence = teachingSequence
        self.conventions = conventions
    }

    enum CodingKeys: String, CodingKey {
        case variables, points, functionClass, balanced, teachingSequence, conventions
    }

    /// Configs written before `conventions` existed decode with the workbench's.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(variables: try c.decode(Int.self, forKey: .variables),
                  points: try c.decode(Int.self, forKey: .points),
                  functionClass: try c.decode(BooleanFunctionClass.self, forKey: .functionClass),
                  balanced: try c.decode(Bool.self, forKey: .balanced),
                  teachingSequence: try c.decode(Bool.self, forKey: .teachingSequence),
                  conventions: try c.decodeIfPresent(BooleanConventions.self, forKey: .conventions) ?? .workbench)
    }

    public func validate() throws {
        guard variables >= 1 && variables <= 64 else { throw TaskError("boolean: variables must be in 1…64, got \(variables)") }
        guard points >= 1 else { throw TaskError("boolean: points must be ≥ 1, got \(points)") }
        switch functionClass {
        case .sparseParity(let k):
            guard k >= 1 && k <= variables else { throw TaskError("boolean: sparse parity needs 1 ≤ k ≤ n = \(variables), got k = \(k)") }
        case .sparseDisjunction(let k):
            guard k >= 1 && k <= variables else { throw TaskError("boolean: sparse disjunction needs 1 ≤ k ≤ n = \(variables), got k = \(k)") }
        case .nearestNeighbour(let k):
            guard k >= 1 else { throw TaskError("boolean: the nearest-neighbour task needs a random prefix k ≥ 1, got k = \(k)") }
        default: break
        }
        if teachingSequence {
            let longest: Int
            switch functionClass {
            case .conjunction: longest = variables + 2
            case .monotoneConjunction: longest = variables + 1
            case .dnf3: longest = 3 * (variables + 2)
            case .parity, .sparseParity: longest = variables + 1
            default: throw TaskError("boolean: teaching sequences exist for conjunction, monotone-conjunction, dnf3, parity and sparse-parity")
            }
            guard points >= longest else {
                throw TaskError("boolean: a teaching sequence can take \(longest) points, the prompts have \(points)")
            }
        }
    }

    /// A literal-weight vector: 0 with probability p0, ±1 with probability (1 − p0)/2 each.
    static func literals(_ n: Int, zero p0: Double, using rng: inout Xoshiro256) -> [Int] {
        (0..<n).map { _ in
            let u = rng.nextUniform()
            return u < p0 ? 0 : (u < p0 + (1 - p0) / 2 ? 1 : -1)
        }
    }

    /// Draws `batch` prompts, prompt-by-prompt from `rng`.
    public func sample(batch: Int, using rng: inout Xoshiro256) -> PromptBatch {
        let n = variables
        var xs = [Double](repeating: 0, count: batch * points * n)
        var ys = [Double](repeating: 0, count: batch * points)
        var ws = [Double](repeating: 0, count: batch * n)
        for p in 0..<batch {
            let f = BooleanFunction.draw(functionClass, variables: n, using: &rng)
            for j in 0..<n { ws[p * n + j] = Double(f.weights[j]) }
            // The reference code picks the 3-DNF term / 3-CNF clause to force once per prompt.
            let promptClause = conventions == .bhattamishra && !f.terms.isEmpty
                ? Int(rng.next() % UInt64(f.terms.count)) : nil
            var teach = teachingSequence ? f.teachingSequence(variables: n) : []
            var previous: [([Int], Int)] = []
            for t in 0..<points {
                var x = (0..<n).map { _ in rng.next() & 1 == 0 ? 1 : -1 }
                if !teach.isEmpty {
                    x = teach.removeFirst()
                } else if balanced {
                    f.balance(&x, clause: promptClause, using: &rng)
                }
                var y = f.label(x, conventions: conventions)
                if case .nearestNeighbour(let prefix) = functionClass {
                    y = previous.count < prefix ? (rng.next() & 1 == 0 ? 1 : -1) : BooleanFunction.nearestLabel(x, previous)
                    previous.append((x, y))
                }
                for j in 0..<n { xs[(p * points + t) * n + j] = Double(x[j]) }
                ys[p * points + t] = Double(y)
            }
        }
        return try! PromptBatch(xs: Tensor(shape: [batch, points, n], scalars: xs), ys: Tensor(shape: [batch, points], scalars: ys),
                                ws: Tensor(shape: [batch, n], scalars: ws))
    }
}

extension BooleanTask {
    /// `sign(x·w − b)` with sign(0) = −1: the one encoding every threshold class uses.
    public static func thresholdLabel(_ x: [Int], weights: [Int], bias: Double) -> Int {
        BooleanFunction.threshold(x, weights, bias)
    }
    /// A conjunction of the literals in w ∈ {0, ±1}ⁿ: `sign(x·w − (‖w‖₁ − 1))`.
    public static func conjunctionLabel(_ x: [Int], weights w: [Int]) -> Int {
        thresholdLabel(x, weights: w, bias: Double(w.map(abs).reduce(0, +) - 1))
    }
    /// A disjunction of the literals in w: `sign(x·w + (‖w‖₁ − 1))`.
    public static func disjunctionLabel(_ x: [Int], weights w: [Int]) -> Int {
        thresholdLabel(x, weights: w, bias: -Double(w.map(abs).reduce(0, +) - 1))
    }
}

/// One drawn Boolean function: its terms and how to label and balance inputs.
struct BooleanFunction {
    enum Kind { case threshold, dnf, cnf, parity, nearestNeighbour }
    var kind: Kind
    /// Single-term classes: weights and bias of `sign(x·w − b)`; parity: the support indicator.
    var weights: [Int]
    var bias: Double
    /// DNF/CNF: the terms' literal vectors (each a conjunction for DNF, a disjunction for CNF).
    var terms: [[Int]] = []
    var forcing = 0.0
    var forcePositive = true
    var monotone = false

    static func draw(_ c: BooleanFunctionClass, variables n: Int, using rng: inout Xoshiro256) -> BooleanFunction {
        switch c {
        case .conjunction:
            let w = BooleanTask.literals(n, zero: 0.7, using: &rng)
            return BooleanFunction(kind: .threshold, weights: w, bias: Double(w.map(abs).reduce(0, +) - 1), forcing: 0.3)
        case .monotoneConjunction:
            let w = (0..<n).map { _ in rng.nextUniform() < 0.3 ? 1 : 0 }
            return BooleanFunction(kind: .threshold, weights: w, bias: Double(w.reduce(0, +) - 1), forcing: 0.3, monotone: true)
        case .disjunction:
            let w = BooleanTask.literals(n, zero: 0.7, using: &rng)
            return BooleanFunction(kind: .threshold, weights: w, bias: -Double(w.map(abs).reduce(0, +) - 1), forcing: 0.3, forcePositive: false)
        case .sparseDisjunction(let k):
            var idx = Array(0..<n)
            for j in 0..<k { idx.swapAt(j, j + Int(rng.next() % UInt64(n - j))) }
            var w = [Int](repeating: 0, count: n)
            for j in idx[0..<k] { w[j] = 1 }
            return BooleanFunction(kind: .threshold, weights: w, bias: -Double(k - 1), forcing: 0.3, forcePositive: false)
        case .dnf3:
            return BooleanFunction(kind: .dnf, weights: [Int](repeating: 0, count: n), bias: 0,
                                   terms: (0..<3).map { _ in BooleanTask.literals(n, zero: 0.8, using: &rng) }, forcing: 0.35)
        case .cnf3:
            let clauses = (0..<3).map { _ in BooleanTask.literals(n, zero: 0.8, using: &rng) }
            return BooleanFunction(kind: .cnf, weights: [Int](repeating: 0, count: n), bias: 0, terms: clauses,
                                   forcing: 0.3, forcePositive: false)
        case .majority:
            return BooleanFunction(kind: .threshold, weights: (0..<n).map { _ in rng.nextUniform() < 0.3 ? 1 : 0 }, bias: 0.5)
        case .zeroOneThreshold:
            let w = BooleanTask.literals(n, zero: 0.7, using: &rng)
            return BooleanFunction(kind: .threshold, weights: w, bias: Double(Int(rng.next() % 6)) - 2.5)
        case .integerHalfspace:
            return BooleanFunction(kind: .threshold, weights: (0..<n).map { _ in Int(rng.next() % 7) - 3 }, bias: 0.5)
        case .parity:
            return BooleanFunction(kind: .parity, weights: (0..<n).map { _ in Int(rng.next() & 1) }, bias: 0)
        case .sparseParity(let k):
            var idx = Array(0..<n)
            for j in 0..<k { idx.swapAt(j, j + Int(rng.next() % UInt64(n - j))) }
            var w = [Int](repeating: 0, count: n)
            for j in idx[0..<k] { w[j] = 1 }
            return BooleanFunction(kind: .parity, weights: w, bias: 0)
        case .nearestNeighbour:
            return BooleanFunction(kind: .nearestNeighbour, weights: [Int](repeating: 0, count: n), bias: 0)
        }
    }

    static func threshold(_ x: [Int], _ w: [Int], _ b: Double) -> Int {
        var s = 0
        for i in x.indices { s += x[i] * w[i] }
        return Double(s) - b > 0 ? 1 : -1
    }

    /// The label of x. Parity under `.bhattamishra`: +1 iff an odd number of xᵢ = +1 on the support
    /// (`((x + 1)/2 · w) mod 2`, mapped to ±1), which is `−Π xᵢ` for an even support size.
    func label(_ x: [Int], conventions: BooleanConventions = .workbench) -> Int {
        if kind == .parity && conventions == .bhattamishra {
            var plus = 0
            for i in x.indices where weights[i] != 0 && x[i] == 1 { plus += 1 }
            return plus % 2 == 1 ? 1 : -1
        }
        switch kind {
        case .threshold: return BooleanFunction.threshold(x, weights, bias)
        case .dnf:
            return terms.contains { BooleanFunction.threshold(x, $0, Double($0.map(abs).reduce(0, +) - 1)) == 1 } ? 1 : -1
        case .cnf:
            return terms.allSatisfy { BooleanFunction.threshold(x, $0, -Double($0.map(abs).reduce(0, +) - 1)) == 1 } ? 1 : -1
        case .parity:
            var s = 1
            for i in x.indices where weights[i] != 0 { s *= x[i] }
            return s
        case .nearestNeighbour: return 0
        }
    }

    /// With probability `forcing`, overwrite `x` to satisfy (or, for disjunctions and CNF, falsify) the function.
    /// DNF: every literal of one term made true, so the OR is true. CNF, the dual: every literal of one clause
    /// made false, so the AND is false — a forced *negative*, as in Bhattamishra et al.'s code. The term is
    /// `clause` when given (drawn once per prompt), otherwise drawn for this example.
    func balance(_ x: inout [Int], clause: Int? = nil, using rng: inout Xoshiro256) {
        guard forcing > 0, rng.nextUniform() < forcing else { return }
        switch kind {
        case .threshold:
            for i in x.indices where weights[i] != 0 { x[i] = forcePositive ? weights[i] : -weights[i] }
        case .dnf, .cnf:
            let t = terms[clause ?? Int(rng.next() % UInt64(terms.count))]
            for i in x.indices where t[i] != 0 { x[i] = kind == .dnf ? t[i] : -t[i] }
        default: break
        }
    }

    /// Conjunction teaching sequence (k + 2 examples): two positives that agree on the literals and differ
    /// everywhere else, then one negative per literal, flipping it.
    /// Monotone: one positive (the literals +1, everything else −1), then the k flips (k + 1 examples).
    /// 3-DNF: each term's conjunction sequence in turn.
    /// Parity (n + 1 examples): all +1, then each variable flipped alone; the label changes exactly when the
    /// flipped variable is in the support, so the sequence identifies S (one row of GF(2) elimination each).
    func teachingSequence(variables n: Int) -> [[Int]] {
        if kind == .parity {
            let ones = [Int](repeating: 1, count: n)
            return [ones] + (0..<n).map { i in var x = ones; x[i] = -1; return x }
        }
        if kind == .dnf { return terms.flatMap { BooleanFunction.conjunctionSequence($0, n, monotone: false) } }
        return BooleanFunction.conjunctionSequence(weights, n, monotone: monotone)
    }

    static func conjunctionSequence(_ w: [Int], _ n: Int, monotone: Bool) -> [[Int]] {
        let support = (0..<n).filter { w[$0] != 0 }
        var plus = [Int](repeating: 1, count: n), minus = [Int](repeating: -1, count: n)
        for i in support { plus[i] = w[i]; minus[i] = w[i] }
        let flips = support.map { i in var x = monotone ? minus : plus; x[i] = -x[i]; return x }
        return (monotone ? [minus] : [plus, minus]) + flips
    }

    static func nearestLabel(_ x: [Int], _ previous: [([Int], Int)]) -> Int {
        var best = Int.max, label = 0
        for (p, y) in previous {
            var d = 0
            for i in x.indices where p[i] != x[i] { d += 1 }
            if d < best { best = d; label = y }
        }
        return label
    }
}
