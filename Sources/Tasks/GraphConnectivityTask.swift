import NumericCore

/// Graph connectivity as an in-context task: the context is the graph, one token per vertex, and the last
/// point asks whether `t` is reachable from `s` (+1) or not (−1).
///
/// Points (`adjacencyRows` layout, `D = 2V`): vertex `v` is `x_v = (one-hot(v), A_v)` with `A_v` its adjacency
/// row and `y_v = 0`; the query is `x_q = (one-hot(s), one-hot(t))` with `y_q = ±1`. So `N = V + 1`, and
/// `Σ_v x_v x_vᵀ` holds `A` in its off-diagonal block: one linear-attention layer can read direct edges.
public struct GraphConnectivityTask: Codable, Equatable, Sendable {
    /// Vertices V.
    public var vertices: Int
    public var distribution: GraphTask.Distribution
    /// Draw each query's label as a fair coin, then a pair with that label (else pairs as before, mostly
    /// unreachable on sparse graphs). See `GraphTask.balancedLabels`.
    public var balancedLabels: Bool

    public init(vertices: Int, distribution: GraphTask.Distribution, balancedLabels: Bool = true) {
        self.vertices = vertices
        self.distribution = distribution
        self.balancedLabels = balancedLabels
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        self.init(vertices: try c.decode(Int.self, forKey: AnyCodingKey("vertices")),
                  distribution: try c.decode(GraphTask.Distribution.self, forKey: AnyCodingKey("distribution")),
                  balancedLabels: try c.decodeIfPresent(Bool.self, forKey: AnyCodingKey("balancedLabels")) ?? true)
    }

    /// The graph generator behind the prompts.
    public var graphs: GraphTask { GraphTask(vertices: vertices, distribution: distribution, balancedLabels: balancedLabels) }

    public func validate() throws { try graphs.validate() }

    /// Prompts from a connectivity batch with one query per graph.
    public static func prompts(_ batch: ConnectivityBatch) -> PromptBatch {
        let (b, v, q) = (batch.adjacency.shape[0], batch.adjacency.shape[1], batch.pairs.shape[1])
        precondition(q == 1, "GraphConnectivityTask: one query per graph, got \(q)")
        let (n, d) = (v + 1, 2 * v)
        var xs = [Double](repeating: 0, count: b * n * d), ys = [Double](repeating: 0, count: b * n)
        for p in 0..<b {
            for u in 0..<v {
                xs[(p * n + u) * d + u] = 1
                for w in 0..<v { xs[(p * n + u) * d + v + w] = batch.adjacency.scalars[(p * v + u) * v + w] }
            }
            let s = Int(batch.pairs.scalars[p * 2]), t = Int(batch.pairs.scalars[p * 2 + 1])
            xs[(p * n + v) * d + s] = 1
            xs[(p * n + v) * d + v + t] = 1
            ys[p * n + v] = batch.labels.scalars[p]
        }
        return try! PromptBatch(xs: Tensor(shape: [b, n, d], scalars: xs), ys: Tensor(shape: [b, n], scalars: ys))
    }
}

extension ConnectivityBatch {
    /// Decodes adjacency-row prompts (`GraphConnectivityTask`) back into graphs and query pairs: the inverse
    /// of `GraphConnectivityTask.prompts`. Context xs `[B, V, 2V]`, queries `[B, Q, 2V]`; labels are the
    /// queries' true answers when given, else zero.
    public init(contextXs: Tensor, queries: Tensor, labels: Tensor? = nil) {
        let (b, v, q) = (contextXs.shape[0], contextXs.shape[1], queries.shape[1])
        precondition(contextXs.shape[2] == 2 * v && queries.shape[2] == 2 * v,
                     "ConnectivityBatch: adjacency-row prompts need D = 2V, got context \(contextXs.shape), queries \(queries.shape)")
        var adjacency = [Double](repeating: 0, count: b * v * v), pairs = [Double](repeating: 0, count: b * q * 2)
        for p in 0..<b {
            for u in 0..<v { for w in 0..<v { adjacency[(p * v + u) * v + w] = contextXs.scalars[(p * v + u) * 2 * v + v + w] } }
            for j in 0..<q {
                let row = (p * q + j) * 2 * v
                pairs[(p * q + j) * 2] = Double((0..<v).first { queries.scalars[row + $0] != 0 } ?? 0)
                pairs[(p * q + j) * 2 + 1] = Double((0..<v).first { queries.scalars[row + v + $0] != 0 } ?? 0)
            }
        }
        self.init(adjacency: Tensor(shape: [b, v, v], scalars: adjacency), pairs: Tensor(shape: [b, q, 2], scalars: pairs),
                  labels: labels ?? Tensor(zeros: [b, q]))
    }
}

extension GraphConnectivityTask: TaskFamily {
    public static let familyName = "graph"
    public var targetKind: TargetKind { .sign }
    public var layouts: [TokenLayout] { [.adjacencyRows] }
    public var inputDimension: Int { 2 * vertices }
    public var pointCount: Int { vertices + 1 }
    /// Only the last point is a question; the vertex tokens carry no labels.
    public var everyPointIsTarget: Bool { false }
    public func samplePrompts(batch: Int, using rng: inout Xoshiro256) -> PromptBatch {
        GraphConnectivityTask.prompts(graphs.sampleConnectivity(batch: batch, queriesPerGraph: 1, using: &rng))
    }
}
