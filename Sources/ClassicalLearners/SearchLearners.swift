import NumericCore
import Tasks

/// Reference answers to graph-search prompts (Saparov et al.), read from the prompt's own tokens: exact breadth-first
/// search, and the chance level of a move that knows the graph but not the goal.
public enum SearchLearner: String, CaseIterable, Sendable {
    /// A child of the path's end on a shortest path to the goal (BFS from the goal over reversed edges; the
    /// smallest id on ties). Always a useful child: accuracy 1.
    case breadthFirstSearch
    /// A uniformly random child of the path's end: expected accuracy |useful children| / |children|.
    case randomChild

    public var name: String { self == .breadthFirstSearch ? "BFS" : "random child" }

    /// The probability, per prompt, that the learner's next vertex is one of the prompt's targets `[B]`.
    /// Throws when a prompt's tokens are not a search prompt over `vertices` vertices.
    public func hitRates(_ batch: SearchBatch, vertices v: Int) throws -> [Double] {
        let x = try EdgeListTokens(batch.tokens, vocabulary: v + 3)
        try batch.validateTargets(vertices: v)
        return try (0..<x.batchSize).map { p in
            let tokens = Array(x.ids[(p * x.length)..<(p * x.length + x.lengths[p])])
            let (g, _, goal, path) = try SearchTokens.decode(tokens, vertices: v)
            let children = g.children(path.last!)
            let useful = { (c: Int) in batch.targets.scalars[p * v + c] != 0 }
            switch self {
            case .breadthFirstSearch:
                let reversed = Graph(vertexCount: v, edges: g.edges.map { ($0.1, $0.0) })
                let toGoal = reversed.distances(from: goal)
                let best = children.filter { toGoal[$0] != nil }.min { (toGoal[$0]!, $0) < (toGoal[$1]!, $1) }
                return best.map { useful($0) ? 1 : 0 } ?? 0
            case .randomChild:
                return children.isEmpty ? 0 : Double(children.filter(useful).count) / Double(children.count)
            }
        }
    }
}
