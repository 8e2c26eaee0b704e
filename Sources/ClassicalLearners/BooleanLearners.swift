import Foundation
import NumericCore
import Tasks

// The reference learners of Bhattamishra et al. (2024) for Boolean functions. Inputs and labels are ±1;
// every learner predicts ±1, or 0 when it abstains or ties (scored by Analysis's `BooleanMetrics.accuracyByPosition`:
// wrong under the workbench's conventions, ½ after the first point under `.bhattamishra`).

/// A Boolean learner answers one prompt at a time; the batch loop and the `InContextLearner` plumbing are shared.
protocol PerPromptBooleanLearner: InContextLearner {
    /// Predictions ±1 (or 0) for the queries of one prompt, from its context.
    func predict(context: [([Int], Int)], queries: [[Int]], prompt: Int) -> [Int]
}

extension PerPromptBooleanLearner {
    /// Every prefix of every prompt, each prompt decoded once and prompts split over cores.
    public func prefixTrajectory(_ prompts: PromptBatch) -> Trajectory {
        let (b, n, d) = (prompts.batchSize, prompts.pointCount, prompts.dimension)
        var out = [Double](repeating: 0, count: b * n)
        let xs = prompts.xs.scalars, ys = prompts.ys.scalars
        out.withUnsafeMutableBufferPointer { o in
            let ob = o.baseAddress!
            Parallel.forChunks(count: b, workers: b >= 16 ? Parallel.workerCount : 1) { range in
                for p in range {
                    let points = (0..<n).map { i in ((0..<d).map { Int(xs[(p * n + i) * d + $0]) }, Int(ys[p * n + i])) }
                    for k in 0..<n {
                        ob[p * n + k] = Double(predict(context: Array(points[0..<k]), queries: [points[k].0], prompt: p)[0])
                    }
                }
            }
        }
        return Trajectory(learner: name, stepLabels: ["1"], stepValues: [1], predictions: [Tensor(shape: [b, n], scalars: out)])
    }

    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        let (b, n, d, q) = (contextXs.shape[0], contextXs.shape[1], contextXs.shape[2], queries.shape[1])
        var out = [Double](repeating: 0, count: b * q)
        for p in 0..<b {
            let context = (0..<n).map { i in
                ((0..<d).map { Int(contextXs.scalars[(p * n + i) * d + $0]) }, Int(contextYs.scalars[p * n + i]))
            }
            let qs = (0..<q).map { j in (0..<d).map { Int(queries.scalars[(p * q + j) * d + $0]) } }
            for (j, y) in predict(context: context, queries: qs, prompt: p).enumerated() { out[p * q + j] = Double(y) }
        }
        return Trajectory(learner: name, stepLabels: ["1"], stepValues: [1], predictions: [Tensor(shape: [b, q], scalars: out)])
    }
}

/// Valiant's elimination algorithm for conjunctions: keep every literal that all positive examples satisfy;
/// predict +1 iff the query satisfies all kept literals. Never a false positive; at most n + 1 mistakes.
/// `dual` learns disjunctions the same way from the negative examples.
/// With `monotone`, only positive literals are candidates (monotone conjunctions).
public struct Elimination: PerPromptBooleanLearner {
    public var dual: Bool
    public var monotone: Bool
    public init(dual: Bool = false, monotone: Bool = false) {
        self.dual = dual
        self.monotone = monotone
    }
    public var name: String {
        dual ? "elimination (dual, disjunctions)" : (monotone ? "elimination (monotone conjunctions)" : "elimination (conjunctions)")
    }

    func predict(context: [([Int], Int)], queries: [[Int]], prompt: Int) -> [Int] {
        let n = queries.first?.count ?? context.first?.0.count ?? 0
        // literal (i, s) is alive while every "positive" example has x_i = s (for the dual: x_i = −s on negatives)
        var alivePlus = [Bool](repeating: true, count: n), aliveMinus = [Bool](repeating: !monotone, count: n)
        let target = dual ? -1 : 1
        for (x, y) in context where y == target {
            for i in 0..<n {
                let v = dual ? -x[i] : x[i]
                if v == 1 { aliveMinus[i] = false } else { alivePlus[i] = false }
            }
        }
        return queries.map { x in
            var satisfied = true
            for i in 0..<n {
                let v = dual ? -x[i] : x[i]
                if (alivePlus[i] && v != 1) || (aliveMinus[i] && v != -1) { satisfied = false; break }
            }
            return dual ? (satisfied ? -1 : 1) : (satisfied ? 1 : -1)
        }
    }
}

/// Gaussian elimination over GF(2) for parities: with bits bᵢ = (1 − xᵢ)/2 and label bit (1 − y)/2, a parity is
/// a linear system. A query in the row space of the context is answered exactly; otherwise by a coin flip.
/// `.bhattamishra` conventions: the reference's parity labels are linear in the bits (1 + xᵢ)/2 with label bit
/// (1 + y)/2 instead, and a query outside the row space — where the consistent parities split evenly — is a
/// tie (0, scored ½) rather than a coin.
public struct GF2Elimination: PerPromptBooleanLearner {
    public var seed: UInt64
    public var conventions: BooleanConventions
    public init(seed: UInt64 = 0, conventions: BooleanConventions = .workbench) {
        self.seed = seed
        self.conventions = conventions
    }
    public var name: String { "GF(2) elimination" }

    /// The input value encoded as bit 1: −1 for the workbench's parity χ_S, +1 for the reference's.
    static func one(_ conventions: BooleanConventions) -> Int { conventions == .workbench ? -1 : 1 }

    /// The context's row-echelon basis: (vector, label bit), pivots are each vector's lowest set bit.
    static func basis(_ context: [([Int], Int)], one: Int = -1) -> [(UInt64, UInt64)] {
        var basis: [(UInt64, UInt64)] = []
        for (x, y) in context {
            var v = bits(x, one: one), l: UInt64 = y == one ? 1 : 0
            for (bv, bl) in basis where v & (bv & (~bv &+ 1)) != 0 { v ^= bv; l ^= bl }
            if v == 0 { continue }
            let pivot = v & (~v &+ 1)
            for k in basis.indices where basis[k].0 & pivot != 0 { basis[k].0 ^= v; basis[k].1 ^= l }
            basis.append((v, l))
        }
        return basis
    }

    /// Bit i set iff xᵢ = `one`.
    static func bits(_ x: [Int], one: Int = -1) -> UInt64 {
        var v: UInt64 = 0
        for (i, xi) in x.enumerated() where xi == one { v |= 1 << UInt64(i) }
        return v
    }

    /// The rank of the context's inputs over GF(2).
    public static func rank(_ xs: [[Int]]) -> Int { basis(xs.map { ($0, 1) }).count }

    func predict(context: [([Int], Int)], queries: [[Int]], prompt: Int) -> [Int] {
        let one = GF2Elimination.one(conventions)
        let basis = GF2Elimination.basis(context, one: one)
        var coin = Xoshiro256(seed: seed, stream: UInt64(prompt))
        return queries.map { x in
            var v = GF2Elimination.bits(x, one: one), l: UInt64 = 0
            for (bv, bl) in basis where v & (bv & (~bv &+ 1)) != 0 { v ^= bv; l ^= bl }
            if v == 0 { return l == 1 ? one : -one }
            if conventions == .bhattamishra { return 0 }
            return coin.next() & 1 == 0 ? 1 : -1
        }
    }
}

/// The Bayes-optimal learner for k-sparse parities under a uniform prior on supports: the majority vote of
/// every k-subset consistent with the context (0 on a tie). `conventions` picks the parity sign (see
/// `GF2Elimination`).
public struct SparseParityBayes: PerPromptBooleanLearner {
    public var support: Int
    public var conventions: BooleanConventions
    public init(support: Int, conventions: BooleanConventions = .workbench) {
        self.support = support
        self.conventions = conventions
    }
    public var name: String { "Bayes vote over \(support)-sparse parities" }

    func predict(context: [([Int], Int)], queries: [[Int]], prompt: Int) -> [Int] {
        let n = queries.first?.count ?? 0
        var subsets: [UInt64] = []
        func choose(_ start: Int, _ left: Int, _ mask: UInt64) {
            if left == 0 { subsets.append(mask); return }
            if start >= n { return }
            for i in start..<n { choose(i + 1, left - 1, mask | (1 << UInt64(i))) }
        }
        choose(0, support, 0)
        let one = GF2Elimination.one(conventions)
        let rows = context.map { (GF2Elimination.bits($0.0, one: one), $0.1 == one ? 1 : 0) }
        let consistent = subsets.filter { s in rows.allSatisfy { (v, l) in (v & s).nonzeroBitCount % 2 == l } }
        return queries.map { x in
            let v = GF2Elimination.bits(x, one: one)
            var vote = 0
            for s in consistent { vote += (v & s).nonzeroBitCount % 2 == 1 ? one : -one }
            return vote > 0 ? 1 : (vote < 0 ? -1 : 0)
        }
    }
}

/// Nearest neighbour: the label of the closest context point (Euclidean = Hamming on ±1, or cosine);
/// ties to the first index; 0 with no context.
public struct BooleanNearestNeighbour: PerPromptBooleanLearner {
    public var cosine: Bool
    public init(cosine: Bool = false) { self.cosine = cosine }
    public var name: String { cosine ? "nearest neighbour (cosine)" : "nearest neighbour (Euclidean)" }

    func predict(context: [([Int], Int)], queries: [[Int]], prompt: Int) -> [Int] {
        queries.map { x in
            var best = -Double.infinity, label = 0
            for (c, y) in context {
                var dot = 0, cc = 0, xx = 0, dist = 0
                for i in x.indices { dot += c[i] * x[i]; cc += c[i] * c[i]; xx += x[i] * x[i]; dist += (c[i] - x[i]) * (c[i] - x[i]) }
                let score = cosine ? (cc > 0 && xx > 0 ? Double(dot) / (Double(cc) * Double(xx)).squareRoot() : 0) : -Double(dist)
                if score > best { best = score; label = y }
            }
            return label
        }
    }
}

/// Averaging: `ŵ = mean(yᵢ xᵢ)`, predict `sign(ŵ · x)` (0 on a tie). With no context: 0 under the workbench's
/// conventions, −1 under `.bhattamishra` (the reference's first-point prediction).
public struct BooleanAveraging: PerPromptBooleanLearner {
    public var conventions: BooleanConventions
    public init(conventions: BooleanConventions = .workbench) { self.conventions = conventions }
    public var name: String { "averaging" }
    func predict(context: [([Int], Int)], queries: [[Int]], prompt: Int) -> [Int] {
        if context.isEmpty && conventions == .bhattamishra { return queries.map { _ in -1 } }
        let n = queries.first?.count ?? 0
        var w = [Int](repeating: 0, count: n)
        for (x, y) in context { for i in 0..<n { w[i] += y * x[i] } }
        return queries.map { x in
            let s = zip(w, x).reduce(0) { $0 + $1.0 * $1.1 }
            return s > 0 ? 1 : (s < 0 ? -1 : 0)
        }
    }
}

/// The perceptron, one pass over the context in order (a zero margin counts as a mistake).
public struct Perceptron: PerPromptBooleanLearner {
    public init() {}
    public var name: String { "perceptron" }
    func predict(context: [([Int], Int)], queries: [[Int]], prompt: Int) -> [Int] {
        let n = queries.first?.count ?? 0
        var w = [Int](repeating: 0, count: n), b = 0
        for (x, y) in context {
            let s = zip(w, x).reduce(b) { $0 + $1.0 * $1.1 }
            if s * y <= 0 { for i in 0..<n { w[i] += y * x[i] }; b += y }
        }
        return queries.map { x in
            let s = zip(w, x).reduce(b) { $0 + $1.0 * $1.1 }
            return s > 0 ? 1 : (s < 0 ? -1 : 0)
        }
    }
}

/// The null classifier: the context's majority label (0 on a tie) under the workbench's conventions; always −1
/// under `.bhattamishra` (the reference's `NullClassifier`, which scores the class's rate of negatives).
public struct MajorityLabel: PerPromptBooleanLearner {
    public var conventions: BooleanConventions
    public init(conventions: BooleanConventions = .workbench) { self.conventions = conventions }
    public var name: String { conventions == .workbench ? "null (majority label)" : "null (always −1)" }
    func predict(context: [([Int], Int)], queries: [[Int]], prompt: Int) -> [Int] {
        if conventions == .bhattamishra { return queries.map { _ in -1 } }
        let s = context.reduce(0) { $0 + $1.1 }
        return queries.map { _ in s > 0 ? 1 : (s < 0 ? -1 : 0) }
    }
}

/// The reference learners of the Boolean family.
public enum BooleanBaselines {
    /// The learners worth comparing for a class (Bhattamishra et al.'s baselines plus the class's exact
    /// learner), each following `conventions`; the list's order and length do not depend on them.
    public static func learners(for c: BooleanFunctionClass,
                                conventions: BooleanConventions = .workbench) -> [InContextLearner] {
        var exact: [InContextLearner] = []
        switch c {
        case .conjunction: exact = [Elimination()]
        case .monotoneConjunction: exact = [Elimination(monotone: true), Elimination()]
        case .disjunction, .sparseDisjunction: exact = [Elimination(dual: true)]
        case .parity: exact = [GF2Elimination(conventions: conventions)]
        case .sparseParity(let k):
            exact = [GF2Elimination(conventions: conventions), SparseParityBayes(support: k, conventions: conventions)]
        default: break
        }
        return exact + [BooleanNearestNeighbour(), BooleanNearestNeighbour(cosine: true),
                        BooleanAveraging(conventions: conventions), Perceptron(),
                        MajorityLabel(conventions: conventions)]
    }
}
