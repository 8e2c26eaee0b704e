import Analysis
import ClassicalLearners
import Foundation
import Models
import NumericCore
import Tasks

/// Saparov et al.'s (2025) question of a trained search decoder: how often is its next vertex a useful child, and
/// how does that fall with the lookahead (the BFS rounds needed to tell the goal's branch from the dead ones)?
/// The report's tables: accuracy per lookahead of the model and the references (BFS, a random child), and of
/// the model's own read-out after every layer. `Comparison.run` trains the model and writes the run directory.
enum SearchComparison {
    /// The decoder of `config.model` for the training task, with positions for the longest prompt of either the
    /// training or the evaluation distribution.
    static func makeModel(_ config: ExperimentConfig) throws -> SearchDecoder {
        guard let task = config.task.graphSearch, let test = config.evaluationTask.graphSearch,
              config.model.kind == .searchDecoder else {
            throw TaskError("model: the graph-search family is read by kind searchDecoder (got \(config.model.kind))")
        }
        guard test.vertices == task.vertices else {
            throw TaskError("evaluation: the evaluation graphs have \(test.vertices) vertices, the training graphs \(task.vertices); the read-out is over V vertices")
        }
        return config.model.makeSearchDecoder(vertices: task.vertices, maxTokens: max(task.maxTokens, test.maxTokens),
                                              seed: config.modelSeed)
    }

    /// Prompts per forward pass at evaluation (bounds the attention probabilities held at once).
    static let chunk = 256

    static func evaluate(_ model: SearchDecoder, config: ExperimentConfig) throws -> ComparisonReport {
        let ev = config.evaluation
        guard let test = config.evaluationTask.graphSearch else { throw TaskError("evaluation: not a graph-search task") }
        var rng = Xoshiro256(seed: ev.seed)
        let batch = test.sample(batch: ev.prompts, using: &rng)
        let lookahead = batch.lookahead.scalars.map { Int($0) }
        let levels = Array(Set(lookahead)).sorted()

        // The model's hits after every layer, in chunks of prompts.
        var layerHits = [[Bool]](repeating: [], count: model.depth)
        var answers: [Int] = []
        for start in stride(from: 0, to: ev.prompts, by: chunk) {
            let part = batch.prompts(start..<min(start + chunk, ev.prompts))
            let logits = model.logits(try model.checked(part))
            for l in 0..<model.depth { layerHits[l] += searchHits(logits: logits[l], targets: part.targets) }
            answers += searchAnswers(logits: logits[model.depth - 1])
        }
        let modelRates = layerHits.map { $0.map { $0 ? 1.0 : 0.0 } }
        let references = try SearchLearner.allCases.map { ($0, try $0.hitRates(batch, vertices: test.vertices)) }

        /// Mean hit rate over all prompts and per lookahead level.
        func cells(_ rates: [Double]) -> [Cell] {
            [.number(mean(rates))] + levels.map { .number(mean(rates, lookahead: lookahead, at: $0)) }
        }
        let columns = ["accuracy"] + levels.map { "acc@lookahead \($0)" }
        let counts = levels.map { level in "\(lookahead.filter { $0 == level }.count) at lookahead \(level)" }
        let describe = "\(ev.prompts) prompts of \(GraphSearchTask.familyName) \(test.distribution) on \(test.vertices) vertices, evaluation seed \(ev.seed)"

        var baselines = ReportTable(id: "baselines", title: "Next-vertex accuracy by lookahead (\(describe))",
                                    columns: ["learner"] + columns)
        baselines.rows.append([.learner(model.name, id: "model")] + cells(modelRates[model.depth - 1]))
        for (learner, rates) in references { baselines.rows.append([.learner(learner.name)] + cells(rates)) }
        baselines.notes = [
            "A prediction is right when its vertex is a useful child of the path's end (one from which the goal is reachable); the model answers argmax of its logits. Prompts: \(counts.joined(separator: ", ")).",
            "Lookahead (Saparov et al.): the BFS rounds from the path's end needed to tell the goal's branch from every dead branch; 0 when every child is useful.",
            "BFS is exact by construction; random child is the chance level of a move that knows the graph but not the goal.",
        ]

        var layers = ReportTable(id: "layers", title: "The model's own read-out after each layer",
                                 columns: ["step"] + columns)
        for (l, rates) in modelRates.enumerated() {
            layers.rows.append([.step("layer \(l + 1)", Double(l + 1))] + cells(rates))
        }
        layers.notes = ["Each layer's residual stream at the prompt's last token through the final LayerNorm and the read-out (the last layer is the model's answer)."]

        var report = ComparisonReport(config: config, baselines: baselines, layers: layers, contextCurve: nil, layerRows: [])
        let final = modelRates[model.depth - 1]
        let chance = references.first { $0.0 == .randomChild }!.1
        report.extraTables = [try answerTable(batch, answers: answers, hits: final, chance: chance, vertices: test.vertices,
                                              levels: levels)]
        report.metrics["model_error"] = 1 - mean(final)
        for level in levels { report.metrics["accuracy_lookahead_\(level)"] = mean(final, lookahead: lookahead, at: level) }
        return report
    }

    /// The mean of `xs`, or of the prompts whose lookahead is `level` (levels are those present, so never empty).
    static func mean(_ xs: [Double], lookahead: [Int]? = nil, at level: Int = 0) -> Double {
        let r = lookahead.map { l in xs.indices.filter { l[$0] == level }.map { xs[$0] } } ?? xs
        return r.reduce(0, +) / Double(r.count)
    }

    /// How the model answers at each lookahead: how often its vertex is a child of the path's end at all (a legal
    /// move) and how often it is the goal itself, beside its accuracy and the random child's.
    static func answerTable(_ batch: SearchBatch, answers: [Int], hits: [Double], chance: [Double], vertices v: Int,
                            levels: [Int]) throws -> ReportTable {
        let x = try EdgeListTokens(batch.tokens, vocabulary: v + 3)
        let lookahead = batch.lookahead.scalars.map { Int($0) }
        var child = [Double](), goal = [Double]()
        for (q, answer) in answers.enumerated() {
            let tokens = Array(x.ids[(q * x.length)..<(q * x.length + x.lengths[q])])
            let (g, _, target, path) = try SearchTokens.decode(tokens, vertices: v)
            child.append(g.children(path.last!).contains(answer) ? 1 : 0)
            goal.append(answer == target ? 1 : 0)
        }
        var table = ReportTable(id: "answers", title: "How the model answers at each lookahead",
                                columns: ["lookahead", "accuracy", "random child", "answers a child", "answers the goal"])
        for level in levels {
            table.rows.append([.step("lookahead \(level)", Double(level))]
                              + [hits, chance, child, goal].map { .number(mean($0, lookahead: lookahead, at: level)) })
        }
        table.notes = ["answers a child: the model's vertex is an out-neighbour of the path's end (a legal move, right or wrong); answers the goal: it is the goal itself, right only when the goal is a child (lookahead 1, and at lookahead 0 when the goal is next)."]
        return table
    }
}
