import Foundation
import NumericCore

/// A directed graph on vertices 0..<n (an undirected graph stores both directions).
public struct Graph: Equatable, Sendable {
    public let vertexCount: Int
    /// `adjacency[u][v]`: an edge u → v.
    public private(set) var adjacency: [[Bool]]

    public init(vertexCount n: Int, edges: [(Int, Int)] = []) {
        vertexCount = n
        adjacency = Array(repeating: Array(repeating: false, count: n), count: n)
        for (u, v) in edges { adjacency[u][v] = true }
    }

    public var edges: [(Int, Int)] {
        var e: [(Int, Int)] = []
        for u in 0..<vertexCount { for v in 0..<vertexCount where adjacency[u][v] { e.append((u, v)) } }
        return e
    }

    public mutating func addEdge(_ u: Int, _ v: Int) { adjacency[u][v] = true }
    public func children(_ u: Int) -> [Int] { (0..<vertexCount).filter { adjacency[u][$0] } }

    /// Erdős–Rényi G(n, p); undirected unless `directed`.
    public static func erdosRenyi(vertices n: Int, p: Double, directed: Bool = false, using rng: inout Xoshiro256) -> Graph {
        var g = Graph(vertexCount: n)
        for u in 0..<n {
            for v in (directed ? 0 : u + 1)..<n where u != v && rng.nextUniform() < p {
                g.addEdge(u, v)
                if !directed { g.addEdge(v, u) }
            }
        }
        return g
    }

    /// A random DAG: a random vertex order, and each forward pair an edge with probability p.
    public static func randomDAG(vertices n: Int, p: Double, using rng: inout Xoshiro256) -> Graph {
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        var g = Graph(vertexCount: n)
        for i in 0..<n { for j in (i + 1)..<max(n, i + 1) where rng.nextUniform() < p { g.addEdge(order[i], order[j]) } }
        return g
    }

    /// Hop distances from `s` by breadth-first search (nil: unreachable).
    public func distances(from s: Int) -> [Int?] {
        var dist = [Int?](repeating: nil, count: vertexCount)
        dist[s] = 0
        var frontier = [s]
        while !frontier.isEmpty {
            var next: [Int] = []
            for u in frontier {
                for v in 0..<vertexCount where adjacency[u][v] && dist[v] == nil { dist[v] = dist[u]! + 1; next.append(v) }
            }
            frontier = next
        }
        return dist
    }

    /// The Boolean matrix (I + A) as rows of bits.
    public var reflexiveAdjacency: [[Bool]] {
        (0..<vertexCount).map { u in (0..<vertexCount).map { v in u == v || adjacency[u][v] } }
    }

    /// Boolean matrix product.
    public static func booleanProduct(_ a: [[Bool]], _ b: [[Bool]]) -> [[Bool]] {
        let n = a.count
        return (0..<n).map { i in (0..<n).map { j in (0..<n).contains { a[i][$0] && b[$0][j] } } }
    }

    /// The lookahead of a search step (Saparov et al.): the BFS rounds needed from `start` before the
    /// branch toward `goal` is told apart from every dead branch — min(distance to the goal, depth of the
    /// deepest dead branch + 1). 0 when no child is a dead end (any child is a right move).
    public func lookahead(start: Int, goal: Int) -> Int {
        guard let d = distances(from: start)[goal] else { return 0 }
        var deepestDead = 0
        for c in children(start) where distances(from: c)[goal] == nil {
            deepestDead = max(deepestDead, (distances(from: c).compactMap { $0 }.max() ?? 0) + 1)
        }
        return deepestDead == 0 ? 0 : min(d, deepestDead)
    }
}

/// Prompts for graph connectivity (is t reachable from s?) and search (the next vertex on a path to the goal).
public struct GraphTask: Codable, Equatable, Sendable {
    public enum Distribution: Codable, Equatable, Sendable {
        case erdosRenyi(p: Double)
        case randomDAG(p: Double)
        /// Saparov et al.'s star: `branches` arms of `armLength` edges from the start.
        case star(branches: Int, armLength: Int)
        /// Saparov et al.'s balanced graphs: lookahead uniform in 1…maxLookahead, a path to the goal and
        /// `branches − 1` dead branches of the same length.
        case balanced(maxLookahead: Int, branches: Int)
    }
    public var vertices: Int
    public var distribution: Distribution
    /// Largest token sequence a search prompt may use (edges × 3 + query and path tokens).
    public var tokenBudget: Int
    /// Connectivity queries with balanced labels: each query's label is a fair coin and its pair (s, t), s ≠ t,
    /// is uniform among the graph's pairs with that label (among the other label's pairs when there are none),
    /// so P(reachable) = ½ whatever the distribution. `false`: the earlier scheme — s uniform, then with
    /// probability ½ (when s reaches anything) t uniform among the vertices s reaches, otherwise t uniform over
    /// all vertices, s included — whose positive rate depends on the graphs: 18–20 % on balanced-lookahead
    /// graphs (V = 20–40), where most vertices are leaves or isolated (Docs/Conventions.md). Configs written
    /// before this field existed decode with `false`, the sampler they were drawn with.
    public var balancedLabels: Bool

    public init(vertices: Int, distribution: Distribution, tokenBudget: Int = 4096, balancedLabels: Bool = true) {
        self.vertices = vertices
        self.distribution = distribution
        self.tokenBudget = tokenBudget
        self.balancedLabels = balancedLabels
    }

    enum CodingKeys: String, CodingKey { case vertices, distribution, tokenBudget, balancedLabels }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(vertices: try c.decode(Int.self, forKey: .vertices),
                  distribution: try c.decode(Distribution.self, forKey: .distribution),
                  tokenBudget: try c.decode(Int.self, forKey: .tokenBudget),
                  balancedLabels: try c.decodeIfPresent(Bool.self, forKey: .balancedLabels) ?? false)
    }

    public func validate() throws {
        guard vertices >= 2 else { throw TaskError("graph: needs at least 2 vertices, got \(vertices)") }
        guard vertices <= 4096 else { throw TaskError("graph: \(vertices) vertices is over the cap of 4096 (prompts hold V × V adjacency)") }
        switch distribution {
        case .erdosRenyi(let p), .randomDAG(let p):
            guard p >= 0 && p <= 1 else { throw TaskError("graph: edge probability must be in [0, 1], got \(p)") }
        case .star(let b, let l):
            guard b >= 1, l >= 1, 1 + b * l <= vertices else {
                throw TaskError("graph: a star with \(b) arms of length \(l) needs \(1 + b * l) vertices, have \(vertices)")
            }
        case .balanced(let l, let b):
            guard l >= 1, b >= 2, 1 + b * l <= vertices else {
                throw TaskError("graph: balanced graphs with lookahead ≤ \(l) and \(b) branches need \(1 + b * l) vertices, have \(vertices)")
            }
        }
        if worstCaseTokens > tokenBudget {
            throw TaskError("graph: \(vertices) vertices can need \(worstCaseTokens) tokens per search prompt, over the token budget of \(tokenBudget)")
        }
    }

    /// The longest search prompt this distribution can produce: 3 tokens per edge, 4 for the query, a path.
    public var worstCaseTokens: Int {
        let n = vertices
        let maxEdges: Int
        switch distribution {
        case .erdosRenyi: maxEdges = n * (n - 1)
        case .randomDAG: maxEdges = n * (n - 1) / 2
        case .star, .balanced: maxEdges = n - 1
        }
        return 3 * maxEdges + 4 + n
    }

    /// One graph with a start and a goal reachable from it.
    public func sampleSearch(using rng: inout Xoshiro256) -> (graph: Graph, start: Int, goal: Int) {
        var ids = Array(0..<vertices)
        for i in stride(from: vertices - 1, to: 0, by: -1) { ids.swapAt(i, Int(rng.next() % UInt64(i + 1))) }  // a random injection
        switch distribution {
        case .star(let branches, let length):
            return GraphTask.branched(lengths: Array(repeating: length, count: branches), ids: ids, vertices: vertices)
        case .balanced(let maxLookahead, let branches):
            let l = 1 + Int(rng.next() % UInt64(maxLookahead))
            return GraphTask.branched(lengths: Array(repeating: l, count: branches), ids: ids, vertices: vertices)
        case .erdosRenyi(let p), .randomDAG(let p):
            while true {
                let g: Graph
                if case .erdosRenyi = distribution { g = Graph.erdosRenyi(vertices: vertices, p: p, directed: true, using: &rng) }
                else { g = Graph.randomDAG(vertices: vertices, p: p, using: &rng) }
                let s = Int(rng.next() % UInt64(vertices))
                let reachable = g.distances(from: s).enumerated().filter { $0.element != nil && $0.offset != s }.map(\.offset)
                if !reachable.isEmpty { return (g, s, reachable[Int(rng.next() % UInt64(reachable.count))]) }
            }
        }
    }

    /// Query pairs whose label is a fair coin: uniform among the pairs s ≠ t with that label (the other label's
    /// pairs when the graph has none).
    static func balancedQueries(_ g: Graph, count: Int, using rng: inout Xoshiro256) -> [(Int, Int)] {
        let n = g.vertexCount
        var reachable: [(Int, Int)] = [], unreachable: [(Int, Int)] = []
        for s in 0..<n {
            let d = g.distances(from: s)
            for t in 0..<n where t != s {
                if d[t] != nil { reachable.append((s, t)) } else { unreachable.append((s, t)) }
            }
        }
        return (0..<count).map { _ in
            var pool = rng.next() & 1 == 0 ? reachable : unreachable
            if pool.isEmpty { pool = reachable.isEmpty ? unreachable : reachable }
            return pool[Int(rng.next() % UInt64(pool.count))]
        }
    }

    /// The earlier scheme (kept to reproduce older runs): s uniform; with probability ½, when s reaches anything,
    /// t uniform among the vertices s reaches, otherwise t uniform over all vertices.
    static func legacyQueries(_ g: Graph, count: Int, using rng: inout Xoshiro256) -> [(Int, Int)] {
        let n = g.vertexCount
        return (0..<count).map { _ in
            let s = Int(rng.next() % UInt64(n))
            let reachable = g.distances(from: s).enumerated().filter { $0.element != nil && $0.offset != s }
                .map(\.offset)
            let t = rng.next() & 1 == 0 && !reachable.isEmpty ? reachable[Int(rng.next() % UInt64(reachable.count))]
                                                              : Int(rng.next() % UInt64(n))
            return (s, t)
        }
    }

    /// Arms of the given lengths from one start; the goal is the end of the first arm.
    static func branched(lengths: [Int], ids: [Int], vertices: Int) -> (graph: Graph, start: Int, goal: Int) {
        var g = Graph(vertexCount: vertices)
        let start = ids[0]
        var next = 1, goal = start
        for (a, length) in lengths.enumerated() {
            var prev = start
            for _ in 0..<length { g.addEdge(prev, ids[next]); prev = ids[next]; next += 1 }
            if a == 0 { goal = prev }
        }
        return (g, start, goal)
    }

    /// Connectivity prompts: `q` query pairs per graph with labels ±1 (reachable or not); half of them
    /// reachable in expectation with `balancedLabels` (see there for the earlier scheme's rate).
    public func sampleConnectivity(batch: Int, queriesPerGraph q: Int, using rng: inout Xoshiro256) -> ConnectivityBatch {
        let n = vertices
        var adjacency = [Double](repeating: 0, count: batch * n * n)
        var pairs = [Double](repeating: 0, count: batch * q * 2), labels = [Double](repeating: 0, count: batch * q)
        for b in 0..<batch {
            let g = sampleSearch(using: &rng).graph
            for (u, v) in g.edges { adjacency[(b * n + u) * n + v] = 1 }
            let queries = balancedLabels ? GraphTask.balancedQueries(g, count: q, using: &rng)
                                         : GraphTask.legacyQueries(g, count: q, using: &rng)
            for (j, (s, t)) in queries.enumerated() {
                pairs[(b * q + j) * 2] = Double(s); pairs[(b * q + j) * 2 + 1] = Double(t)
                labels[b * q + j] = g.distances(from: s)[t] != nil ? 1 : -1
            }
        }
        return ConnectivityBatch(adjacency: Tensor(shape: [batch, n, n], scalars: adjacency),
                                 pairs: Tensor(shape: [batch, q, 2], scalars: pairs), labels: Tensor(shape: [batch, q], scalars: labels))
    }
}

/// Connectivity prompts: `adjacency [B, V, V]` (the rows are a looped encoder's tokens), query `pairs [B, Q, 2]`
/// (s, t), `labels [B, Q]` (+1 reachable, −1 not).
public struct ConnectivityBatch: Equatable {
    public var adjacency: Tensor
    public var pairs: Tensor
    public var labels: Tensor

    public init(adjacency: Tensor, pairs: Tensor, labels: Tensor) {
        precondition(adjacency.rank == 3 && adjacency.shape[1] == adjacency.shape[2], "ConnectivityBatch: adjacency must be [B, V, V]")
        precondition(pairs.rank == 3 && pairs.shape[2] == 2 && labels.shape == [pairs.shape[0], pairs.shape[1]],
                     "ConnectivityBatch: pairs must be [B, Q, 2] and labels [B, Q]")
        self.adjacency = adjacency
        self.pairs = pairs
        self.labels = labels
    }

    public func graph(_ b: Int) -> Graph {
        let n = adjacency.shape[1]
        var g = Graph(vertexCount: n)
        for u in 0..<n { for v in 0..<n where adjacency.scalars[(b * n + u) * n + v] != 0 { g.addEdge(u, v) } }
        return g
    }

    public func save(to url: URL) throws {
        try NumPy.save([("adjacency", adjacency), ("pairs", pairs), ("labels", labels)], npz: url)
    }

    public static func load(from url: URL) throws -> ConnectivityBatch {
        let a = try NumPy.load(npz: url)
        guard let adjacency = a["adjacency"], let pairs = a["pairs"], let labels = a["labels"] else {
            throw TaskError("\(url.path): a connectivity file needs arrays 'adjacency', 'pairs' and 'labels'; found \(a.keys.sorted())")
        }
        guard adjacency.rank == 3, adjacency.shape[1] == adjacency.shape[2], pairs.rank == 3, pairs.shape[2] == 2,
              pairs.shape[0] == adjacency.shape[0], labels.shape == [pairs.shape[0], pairs.shape[1]] else {
            throw TaskError("\(url.path): shapes adjacency \(adjacency.shape), pairs \(pairs.shape), labels \(labels.shape) do not fit [B, V, V], [B, Q, 2], [B, Q]")
        }
        let v = Double(adjacency.shape[1])
        guard pairs.scalars.allSatisfy({ $0 >= 0 && $0 < v && $0 == $0.rounded() }) else {
            throw TaskError("\(url.path): 'pairs' holds a vertex outside 0..<\(adjacency.shape[1])")
        }
        return ConnectivityBatch(adjacency: adjacency, pairs: pairs, labels: labels)
    }
}

/// Search prompts as token sequences: `tokens [B, T]` (padded with −1), the correct next vertices as
/// multi-hot `targets [B, V]` (any useful child counts), and each prompt's `lookahead [B]`.
public struct SearchBatch: Equatable {
    public var tokens: Tensor
    public var targets: Tensor
    public var lookahead: Tensor

    public init(tokens: Tensor, targets: Tensor, lookahead: Tensor) {
        self.tokens = tokens
        self.targets = targets
        self.lookahead = lookahead
    }

    public func save(to url: URL) throws {
        try NumPy.save([("tokens", tokens), ("targets", targets), ("lookahead", lookahead)], npz: url)
    }

    public static func load(from url: URL) throws -> SearchBatch {
        let a = try NumPy.load(npz: url)
        guard let tokens = a["tokens"], let targets = a["targets"], let lookahead = a["lookahead"] else {
            throw TaskError("\(url.path): a search file needs arrays 'tokens', 'targets' and 'lookahead'; found \(a.keys.sorted())")
        }
        guard tokens.rank == 2, targets.rank == 2, targets.shape[0] == tokens.shape[0], lookahead.shape == [tokens.shape[0]] else {
            throw TaskError("\(url.path): shapes tokens \(tokens.shape), targets \(targets.shape), lookahead \(lookahead.shape) do not fit [B, T], [B, V], [B]")
        }
        return SearchBatch(tokens: tokens, targets: targets, lookahead: lookahead)
    }
}

extension GraphTask {
    /// `batch` search prompts: a graph, start and goal, and a path so far of random length along a shortest
    /// path; the target is every useful next vertex.
    public func sampleSearchPrompts(batch: Int, using rng: inout Xoshiro256) -> SearchBatch {
        var sequences: [[Int]] = [], targets = [Double](repeating: 0, count: batch * vertices), lookahead: [Double] = []
        for b in 0..<batch {
            let (g, s, goal) = sampleSearch(using: &rng)
            // A shortest path s → goal, then a random prefix of it (not yet at the goal) as the path so far.
            let toGoal = Graph(vertexCount: vertices, edges: g.edges.map { ($0.1, $0.0) }).distances(from: goal)
            var path = [s]
            while let last = path.last, last != goal, let d = toGoal[last], d > 0, rng.nextUniform() < 0.5 {
                path.append(g.children(last).first { toGoal[$0] == d - 1 }!)
            }
            if path.last == goal { path.removeLast() }
            for v in SearchTokens.usefulNext(graph: g, path: path, goal: goal) { targets[b * vertices + v] = 1 }
            lookahead.append(Double(g.lookahead(start: path.last!, goal: goal)))
            sequences.append(SearchTokens.encode(graph: g, start: s, goal: goal, path: path, using: &rng))
        }
        let t = sequences.map(\.count).max() ?? 0
        let tokens = sequences.flatMap { seq in seq.map(Double.init) + Array(repeating: -1, count: t - seq.count) }
        return SearchBatch(tokens: Tensor(shape: [batch, t], scalars: tokens), targets: Tensor(shape: [batch, vertices], scalars: targets),
                           lookahead: Tensor(lookahead))
    }
}

/// A search prompt as tokens (Saparov et al.'s layout): each edge as `u v EDGE`, then `QUERY s t`, then
/// `PATH` and the path so far. Vertex ids are tokens 0..<V; the three markers follow.
public enum SearchTokens {
    public static func encode(graph: Graph, start: Int, goal: Int, path: [Int], using rng: inout Xoshiro256) -> [Int] {
        let v = graph.vertexCount
        let (edgeToken, queryToken, pathToken) = (v, v + 1, v + 2)
        var edges = graph.edges
        for i in stride(from: edges.count - 1, to: 0, by: -1) { edges.swapAt(i, Int(rng.next() % UInt64(i + 1))) }  // random order
        return edges.flatMap { [$0.0, $0.1, edgeToken] } + [queryToken, start, goal, pathToken] + path
    }

    /// The correct next vertices after `path` (which starts at the start): every child of the path's end
    /// from which the goal is reachable ("any useful child counts").
    public static func usefulNext(graph: Graph, path: [Int], goal: Int) -> Set<Int> {
        Set(graph.children(path.last!).filter { graph.distances(from: $0)[goal] != nil })
    }
}
