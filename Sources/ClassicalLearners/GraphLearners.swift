import Foundation
import NumericCore
import Tasks

/// The algorithmic ladder a layered model is compared against on connectivity: exact BFS, reachability
/// within k hops for every k, and repeated Boolean squaring of (I + A), whose iterate t reaches 2ᵗ hops.
/// Predictions are ±1 (reachable or not) for each query pair, `[B, Q]` per step.
public enum ConnectivityLearner {
    case breadthFirstSearch
    /// Steps k = 1…maxHops: reachable within k hops.
    case hops(maxHops: Int)
    /// Steps t = 0…squarings: R₀ = I + A, R_{t+1} = R_t ∘ R_t (reach within 2ᵗ hops).
    case booleanSquaring(squarings: Int)

    public var name: String {
        switch self {
        case .breadthFirstSearch: return "BFS"
        case .hops: return "k-hop reachability"
        case .booleanSquaring: return "Boolean squaring of (I + A)"
        }
    }

    public func trajectory(_ batch: ConnectivityBatch) -> Trajectory {
        let (b, q) = (batch.pairs.shape[0], batch.pairs.shape[1])
        let steps: [Int]
        switch self {
        case .breadthFirstSearch: steps = [1]
        case .hops(let k): steps = Array(1...k)
        case .booleanSquaring(let t): steps = Array(0...t)
        }
        var preds = [[Double]](repeating: [Double](repeating: 0, count: b * q), count: steps.count)
        for p in 0..<b {
            let g = batch.graph(p)
            let queries = (0..<q).map { (Int(batch.pairs.scalars[(p * q + $0) * 2]), Int(batch.pairs.scalars[(p * q + $0) * 2 + 1])) }
            switch self {
            case .breadthFirstSearch:
                for (j, (s, t)) in queries.enumerated() { preds[0][p * q + j] = g.distances(from: s)[t] != nil ? 1 : -1 }
            case .hops:
                for (j, (s, t)) in queries.enumerated() {
                    let d = g.distances(from: s)[t]
                    for (i, k) in steps.enumerated() { preds[i][p * q + j] = d.map { $0 <= k } == true ? 1 : -1 }
                }
            case .booleanSquaring:
                var r = g.reflexiveAdjacency
                for i in steps.indices {
                    if i > 0 { r = Graph.booleanProduct(r, r) }
                    for (j, (s, t)) in queries.enumerated() { preds[i][p * q + j] = r[s][t] ? 1 : -1 }
                }
            }
        }
        let labels: [String]
        switch self {
        case .breadthFirstSearch: labels = ["exact"]
        case .hops: labels = steps.map { "k=\($0)" }
        case .booleanSquaring: labels = steps.map { "t=\($0)" }
        }
        return Trajectory(learner: name, stepLabels: labels, stepValues: steps.map(Double.init),
                          predictions: preds.map { Tensor(shape: [b, q], scalars: $0) })
    }
}

/// The connectivity ladder as in-context learners on adjacency-row prompts (`GraphConnectivityTask`): the
/// graph is decoded from the context tokens and the pair from each query.
extension ConnectivityLearner: InContextLearner {
    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        trajectory(ConnectivityBatch(contextXs: contextXs, queries: queries))
    }
}
