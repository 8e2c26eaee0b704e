import ClassicalLearners
import Foundation
import NumericCore
import Tasks
import XCTest

final class GraphTests: XCTestCase {
    /// Transitive closure by Floyd–Warshall: an algorithm independent of the BFS the labels come from.
    func closure(_ g: Graph) -> [[Bool]] {
        var r = g.reflexiveAdjacency
        let n = g.vertexCount
        for k in 0..<n { for i in 0..<n where r[i][k] { for j in 0..<n where r[k][j] { r[i][j] = true } } }
        return r
    }

    func testConnectivityLabelsEqualTransitiveClosure() {
        var rng = Xoshiro256(seed: 1)
        for distribution in [GraphTask.Distribution.erdosRenyi(p: 0.12), .randomDAG(p: 0.2), .star(branches: 3, armLength: 3)] {
            let batch = GraphTask(vertices: 12, distribution: distribution).sampleConnectivity(batch: 40, queriesPerGraph: 10, using: &rng)
            for b in 0..<40 {
                let r = closure(batch.graph(b))
                for j in 0..<10 {
                    let (s, t) = (Int(batch.pairs[b, j, 0]), Int(batch.pairs[b, j, 1]))
                    XCTAssertEqual(batch.labels[b, j], r[s][t] ? 1 : -1)
                }
            }
            let reachable = batch.labels.scalars.filter { $0 > 0 }.count
            XCTAssertGreaterThan(reachable, 100, "queries are balanced toward reachable pairs")
        }
    }

    func testBalancedLabelsAreHalfPositiveAndTheEarlierRateIsAsDocumented() {
        let (graphs, q) = (500, 8)
        // Given the graphs, labels are independent: fair coins with balanced labels, Bernoulli(p_g) before. The
        // binomial standard error of the rate over 4,000 queries is ≤ 0.5/√4000 ≈ 0.008; 4 of them.
        let fourSigma = 4 * 0.5 / Double(graphs * q).squareRoot()
        let distributions: [GraphTask.Distribution] = [
            .balanced(maxLookahead: 4, branches: 3), .erdosRenyi(p: 0.12), .randomDAG(p: 0.2),
            .star(branches: 3, armLength: 3),
        ]
        for (i, distribution) in distributions.enumerated() {
            var rng = Xoshiro256(seed: 30 + UInt64(i))
            let task = GraphTask(vertices: 20, distribution: distribution)
            let batch = task.sampleConnectivity(batch: graphs, queriesPerGraph: q, using: &rng)
            for b in 0..<graphs {
                let r = closure(batch.graph(b))
                for j in 0..<q {
                    let (s, t) = (Int(batch.pairs[b, j, 0]), Int(batch.pairs[b, j, 1]))
                    XCTAssertNotEqual(s, t)
                    XCTAssertEqual(batch.labels[b, j], r[s][t] ? 1 : -1)
                }
            }
            let rate = Double(batch.labels.scalars.filter { $0 > 0 }.count) / Double(graphs * q)
            XCTAssertEqual(rate, 0.5, accuracy: fourSigma, "\(distribution)")
        }
        // The earlier scheme on balanced-lookahead graphs: per graph, P(+1) = (1/V) Σ_s [½ + ½ (|R_s| + 1)/V] over
        // the vertices s that reach some R_s ≠ ∅, and 1/V (t = s) for the others.
        var rng = Xoshiro256(seed: 40)
        let task = GraphTask(vertices: 20, distribution: .balanced(maxLookahead: 4, branches: 3), balancedLabels: false)
        let legacy = task.sampleConnectivity(batch: graphs, queriesPerGraph: q, using: &rng)
        var expected = 0.0
        for b in 0..<graphs {
            let r = closure(legacy.graph(b))
            let v = Double(r.count)
            for row in r {
                let reach = Double(row.filter { $0 }.count)         // R_s plus s itself
                expected += (reach > 1 ? 0.5 + 0.5 * reach / v : 1 / v) / v / Double(graphs)
            }
        }
        let rate = Double(legacy.labels.scalars.filter { $0 > 0 }.count) / Double(graphs * q)
        XCTAssertEqual(rate, expected, accuracy: fourSigma)
        XCTAssertEqual(expected, 0.19, accuracy: 0.02, "the documented rate: far from half")
    }

    func testLogSquaringsReachDistanceDAndNoFewerOnAChain() {
        for d in [1, 2, 3, 5, 8, 13] {
            let chain = Graph(vertexCount: d + 1, edges: (0..<d).map { ($0, $0 + 1) })
            let batch = ConnectivityBatch(adjacency: Tensor(shape: [1, d + 1, d + 1], scalars: chain.adjacency.flatMap { $0.map { $0 ? 1 : 0 } }),
                                          pairs: Tensor(shape: [1, 1, 2], scalars: [0, Double(d)]), labels: Tensor(shape: [1, 1], scalars: [1]))
            let needed = Int(Foundation.log2(Double(d)).rounded(.up))
            let t = ConnectivityLearner.booleanSquaring(squarings: needed).trajectory(batch)
            XCTAssertEqual(t.final[0, 0], 1, "⌈log₂ \(d)⌉ = \(needed) squarings reach distance \(d)")
            if needed > 0 { XCTAssertEqual(t.predictions[needed - 1][0, 0], -1, "\(needed - 1) squarings do not") }
        }
    }

    func testHopLadderConvergesToBFS() {
        var rng = Xoshiro256(seed: 2)
        let batch = GraphTask(vertices: 10, distribution: .erdosRenyi(p: 0.15)).sampleConnectivity(batch: 50, queriesPerGraph: 8, using: &rng)
        let hops = ConnectivityLearner.hops(maxHops: 9).trajectory(batch)
        let accuracy = hops.predictions.map { p in Double(zip(p.scalars, batch.labels.scalars).filter { $0 == $1 }.count) }
        XCTAssertEqual(accuracy, accuracy.sorted(), "more hops never hurt")
        XCTAssertEqual(hops.final, ConnectivityLearner.breadthFirstSearch.trajectory(batch).final, "V − 1 hops is BFS")
    }

    func testBalancedAndStarGeneratorsHitTheLookahead() throws {
        var rng = Xoshiro256(seed: 3)
        var seen = Set<Int>()
        let task = GraphTask(vertices: 30, distribution: .balanced(maxLookahead: 6, branches: 3))
        for _ in 0..<200 {
            let (g, s, goal) = task.sampleSearch(using: &rng)
            let l = g.lookahead(start: s, goal: goal)
            XCTAssertEqual(l, g.distances(from: s)[goal]!, "the dead branches are as long as the path")
            seen.insert(l)
        }
        XCTAssertEqual(seen, Set(1...6), "lookahead uniform over 1…6")
        let star = GraphTask(vertices: 13, distribution: .star(branches: 3, armLength: 4))
        let (g, s, goal) = star.sampleSearch(using: &rng)
        XCTAssertEqual(g.lookahead(start: s, goal: goal), 4)
        // The only useful first move is the goal's arm; the token layout is 3 per edge, 4 for the query, then the path.
        XCTAssertEqual(SearchTokens.usefulNext(graph: g, path: [s], goal: goal).count, 1)
        let tokens = SearchTokens.encode(graph: g, start: s, goal: goal, path: [s], using: &rng)
        XCTAssertEqual(tokens.count, 3 * 12 + 4 + 1)
        XCTAssertEqual(Array(tokens.suffix(5)), [14, s, goal, 15, s])
    }

    func testSearchPromptsTargetEveryUsefulChild() throws {
        var rng = Xoshiro256(seed: 4)
        let task = GraphTask(vertices: 14, distribution: .randomDAG(p: 0.25))
        let batch = task.sampleSearchPrompts(batch: 30, using: &rng)
        XCTAssertEqual(batch.tokens.shape[0], 30)
        for b in 0..<30 {
            let row = (0..<batch.tokens.shape[1]).map { Int(batch.tokens[b, $0]) }.filter { $0 >= 0 }
            // Decode: triples (u, v, EDGE) up to QUERY s t PATH p…
            let query = row.firstIndex(of: 15)!
            var g = Graph(vertexCount: 14)
            for e in stride(from: 0, to: query, by: 3) { XCTAssertEqual(row[e + 2], 14); g.addEdge(row[e], row[e + 1]) }
            let goal = row[query + 2], path = Array(row[(query + 4)...])
            XCTAssertEqual(row[query + 3], 16)
            XCTAssertEqual(path.first, row[query + 1], "the path starts at the start")
            for v in 0..<14 {
                let useful = g.adjacency[path.last!][v] && g.distances(from: v)[goal] != nil
                XCTAssertEqual(batch.targets[b, v], useful ? 1 : 0)
            }
            XCTAssertGreaterThan(batch.targets.slice(alongAxis: 0, b..<(b + 1)).sum().scalar, 0, "some child leads to the goal")
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("search-\(UUID().uuidString).npz")
        try batch.save(to: url)
        XCTAssertEqual(try SearchBatch.load(from: url), batch)
        try? FileManager.default.removeItem(at: url)
        let conn = task.sampleConnectivity(batch: 5, queriesPerGraph: 3, using: &rng)
        try conn.save(to: url)
        XCTAssertEqual(try ConnectivityBatch.load(from: url), conn)
        try NumPy.save([("adjacency", conn.adjacency), ("pairs", conn.pairs * 100), ("labels", conn.labels)], npz: url)
        XCTAssertThrowsError(try ConnectivityBatch.load(from: url)) { XCTAssertTrue("\($0)".contains("outside"), "\($0)") }
        try? FileManager.default.removeItem(at: url)
    }

    func testBadParametersAreNamed() {
        XCTAssertThrowsError(try GraphTask(vertices: 5, distribution: .star(branches: 3, armLength: 3)).validate()) {
            XCTAssertTrue("\($0)".contains("needs 10 vertices"), "\($0)")
        }
        XCTAssertThrowsError(try GraphTask(vertices: 100, distribution: .erdosRenyi(p: 0.1), tokenBudget: 4096).validate()) {
            XCTAssertTrue("\($0)".contains("token budget"), "\($0)")
        }
        XCTAssertThrowsError(try GraphTask(vertices: 1, distribution: .randomDAG(p: 0.5)).validate())
    }
}
