import NumericCore

/// Graph search as a task family (Saparov et al. 2025): a prompt lists a graph's edges in random order, then
/// `QUERY s t`, `PATH` and the path so far; the answer is the next vertex on a path to the goal, any useful
/// child of the path's end counting as right (`SearchTokens`). Vertex ids are a random injection into
/// 0..<V; the markers are tokens V, V + 1, V + 2.
///
/// The answer is a set of vertices, which `(x, y)` points cannot hold, so the trainer and the search comparison
/// read `sample(batch:using:)` (a `SearchBatch`: tokens, multi-hot targets, lookahead). As a `TaskFamily` the
/// prompts are tokens only: `xs [B, T, 1]` the token ids (−1 after a prompt's end), `ys` zero, `T` the longest
/// prompt the distribution can produce (`pointCount`).
public struct GraphSearchTask: Codable, Equatable, Sendable {
    /// Vertices V.
    public var vertices: Int
    /// Saparov et al.'s naïve distribution is `.randomDAG` (lookahead mostly 0 or 1), their balanced one
    /// `.balanced(maxLookahead:branches:)` (lookahead uniform in 1…max at the fork); `.star` is their star graphs.
    public var distribution: GraphTask.Distribution

    public init(vertices: Int, distribution: GraphTask.Distribution) {
        self.vertices = vertices
        self.distribution = distribution
    }

    /// The graph generator behind the prompts.
    public var graphs: GraphTask { GraphTask(vertices: vertices, distribution: distribution) }

    public func validate() throws { try graphs.validate() }

    /// Vocabulary size: the V vertex ids and the three markers `EDGE`, `QUERY`, `PATH`.
    public var vocabulary: Int { vertices + 3 }

    /// The longest prompt (tokens) the distribution can produce: what a decoder needs positions for.
    public var maxTokens: Int { graphs.worstCaseTokens }

    /// `batch` search prompts; same generator state, same bits.
    public func sample(batch: Int, using rng: inout Xoshiro256) -> SearchBatch {
        graphs.sampleSearchPrompts(batch: batch, using: &rng)
    }
}

extension GraphSearchTask: TaskFamily {
    public static let familyName = "graph-search"
    public var targetKind: TargetKind { .vertex }
    public var layouts: [TokenLayout] { [.edgeList] }
    /// One token id per point.
    public var inputDimension: Int { 1 }
    public var pointCount: Int { maxTokens }
    /// One question per prompt: the next vertex after the path.
    public var everyPointIsTarget: Bool { false }
    public func samplePrompts(batch: Int, using rng: inout Xoshiro256) -> PromptBatch {
        let s = sample(batch: batch, using: &rng)
        let (b, t, n) = (batch, s.tokens.shape[1], maxTokens)
        var xs = [Double](repeating: -1, count: b * n)
        for p in 0..<b { for i in 0..<t { xs[p * n + i] = s.tokens.scalars[p * t + i] } }
        return PromptBatch(trusted: Tensor(shape: [b, n, 1], scalars: xs), ys: Tensor(zeros: [b, n]))
    }
}

extension SearchTokens {
    /// A search prompt read back from its tokens (the inverse of `encode`, up to the edges' order): the graph,
    /// start, goal and path so far. Throws, naming the problem, on a sequence `encode` cannot produce.
    public static func decode(_ tokens: [Int], vertices v: Int) throws -> (graph: Graph, start: Int, goal: Int, path: [Int]) {
        let (edgeToken, queryToken, pathToken) = (v, v + 1, v + 2)
        guard let q = tokens.firstIndex(of: queryToken), q % 3 == 0, q + 4 <= tokens.count, tokens[q + 3] == pathToken else {
            throw TaskError("search prompt: expected edges as `u v EDGE`, then `QUERY s t PATH`; got \(tokens)")
        }
        var g = Graph(vertexCount: v)
        for e in stride(from: 0, to: q, by: 3) {
            let (a, b) = (tokens[e], tokens[e + 1])
            guard tokens[e + 2] == edgeToken, a >= 0, a < v, b >= 0, b < v else {
                throw TaskError("search prompt: tokens \(e)…\(e + 2) are not an edge `u v EDGE` with u, v < \(v)")
            }
            g.addEdge(a, b)
        }
        let path = Array(tokens[(q + 4)...])
        let (s, t) = (tokens[q + 1], tokens[q + 2])
        guard ([s, t] + path).allSatisfy({ $0 >= 0 && $0 < v }), path.first == s else {
            throw TaskError("search prompt: the query and path must be vertices < \(v), the path starting at the start; got \(tokens[q...])")
        }
        return (g, s, t, path)
    }
}
