import Analysis
import ClassicalLearners
import Foundation
import Models
import NumericCore
import Plots
import Tasks
import Training

/// The result of `icl compare`: baselines, the per-layer table and error vs context length.
public struct ComparisonReport {
    public var config: ExperimentConfig
    public var baselines: ReportTable
    public var layers: ReportTable
    /// Error (or accuracy) vs number of in-context examples; nil for families with one question per prompt.
    public var contextCurve: ReportTable?
    /// Per layer, how well a linear probe of the hidden state at the query token recovers the label and each
    /// reference's prediction (held-out R²).
    public var probes: ReportTable?
    /// Linear regression: Akyürek et al.'s interpolation threshold (k = d − 1, d, d + 1; model vs OLS and ridge).
    public var interpolation: ReportTable?
    /// A family's own tables after the others (graph search: how the model answers at each lookahead).
    public var extraTables: [ReportTable] = []
    /// The per-layer rows with their verdicts, for code that asks "which algorithm?".
    public var layerRows: [LayerComparison.Row]
    public var history: TrainingHistory?
    /// Numbers that are not results (overflow, NaN) and prompts at an unsafe scale, one line each.
    public var warnings: [String] = []
    /// Error (or accuracy) at every number of in-context examples, per learner (the model first).
    public var curves: [(name: String, values: [Double])] = []
    /// The run's scalar results, deterministic from its config (what a sweep tabulates and the run store keeps):
    /// `model_error` (the last layer's query error), `<reference>_distance` (its best step's distance to the
    /// last layer) and `<reference>_step` (that step: iterations, or ridge's λ), `final_loss`, and per family extras (`dmmse_mse`, `spd_ridge_sigma2`, `implied_eta`, …).
    public var metrics: [String: Double] = [:]

    /// The report's figures as SVG text: error vs number of examples, the layer × reference distance heatmap,
    /// and the training loss at every step (when the model was trained here).
    public var figures: [(file: String, svg: String)] {
        var out: [(String, String)] = []
        let real = config.evaluationTask.targetKind == .real
        if !curves.isEmpty {
            let series = curves.map { c in
                LinePlot.Series(name: c.name, points: c.values.enumerated().dropFirst().map { (Double($0.offset), $0.element) })
            }
            let plot = LinePlot.fitted(title: "\(config.name): \(real ? "error" : "accuracy") vs in-context examples",
                                       xLabel: "in-context examples k", yLabel: real ? "MSE at point k" : "accuracy at point k",
                                       series: series, yScale: real ? .log10 : .linear)
            out.append(("error_vs_examples.svg", plot.svg))
        }
        if let first = layerRows.first {
            let values = layerRows.map { row in row.matches.map(\.match.score) }
            let map = Heatmap(title: "\(config.name): each \(layerRows.count > 1 ? "layer" : "layer") vs each reference (best step)",
                              rowLabels: layerRows.map(\.step), columnLabels: first.matches.map(\.key), values: values,
                              valueLabel: real ? "SPD" : "disagree", logScale: real)
            out.append(("layers_vs_references.svg", map.svg))
        }
        if let h = history, h.losses.count > 1 {
            let plot = LinePlot.fitted(title: "\(config.name): training loss", xLabel: "step", yLabel: "loss",
                                       series: [LinePlot.Series(name: "training loss",
                                                                points: zip(h.steps, h.losses).map { (Double($0), $1) })])
            out.append(("training_loss.svg", plot.svg))
        }
        return out
    }

    /// A self-contained HTML page: the figures inline and the tables.
    public var html: String {
        func esc(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;") }
        func table(_ t: ReportTable) -> String {
            let head: String = "<tr>" + t.columns.map { "<th>\(esc($0))</th>" }.joined() + "</tr>\n"
            let rows: [String] = t.rows.map { r in "<tr>" + r.map { "<td>\(esc($0.plain))</td>" }.joined() + "</tr>" }
            let notes: String = t.notes.isEmpty ? "" : "<ul>" + t.notes.map { "<li>\(esc($0))</li>" }.joined() + "</ul>\n"
            return "<h3>\(esc(t.title))</h3>\n<table>\n" + head + rows.joined(separator: "\n") + "\n</table>\n" + notes
        }
        let tables = self.tables.map(table).joined(separator: "\n")
        return """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>\(esc(config.name))</title>
        <style>body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>
        </head><body>
        <h2>\(esc(config.name))</h2>
        <p>\(esc(config.summary))</p>
        \(figures.map(\.svg).joined(separator: "\n"))
        \(tables)
        </body></html>

        """
    }

    /// Every table, in the order the Markdown report prints them.
    public var tables: [ReportTable] {
        [baselines, layers] + [probes, contextCurve, interpolation].compactMap { $0 } + extraTables
    }

    /// The machine-readable report (`Docs/report.schema.json`): the command, resolved config, code version and
    /// every table.
    public var document: ReportDocument {
        ReportDocument(command: "compare", config: String(decoding: config.jsonData(), as: UTF8.self), tables: tables,
                       warnings: warnings)
    }

    public func render(_ format: ReportTable.Format) -> String {
        switch format {
        case .markdown:
            let head = "## \(config.name)\n\n\(config.summary)\n\n"
            return head + tables.map { $0.render(.markdown) }.joined(separator: "\n")
        case .csv, .json:
            return document.render(format)
        }
    }
}

public enum Comparison {
    /// Trains (or loads) the configured model on its task family, evaluates it and the family's reference
    /// learners on fresh prompts, and lines each layer up with each reference's best-matching step. With
    /// `runDirectory`, writes `config.json`, `model.npz`, `history.csv`/`.json`, the reports (`report.md`, `.json`,
    /// `.csv`, `table_<id>.csv`, `.html`) and figures there (atomically; `Docs/Outputs.md`). `progress` is called after
    /// every training step (a `ProgressReporter`); without it, the trainer prints every `logEvery` steps unless `quiet`.
    public static func run(_ config: ExperimentConfig, modelFile: URL? = nil, runDirectory: URL? = nil,
                           mode: RunDirectory.Mode = .fresh, checkpointEvery: Int = 200,
                           quiet: Bool = false, progress: ((TrainingProgress) -> Void)? = nil) throws -> ComparisonReport {
        try config.validate()
        guard checkpointEvery >= 1 else { throw TaskError("--checkpoint-every must be ≥ 1, got \(checkpointEvery)") }
        if let modelFile { try RunDirectory.verify(weights: modelFile, config: config) }
        let options = RunOptions(modelFile: modelFile, runDirectory: runDirectory, mode: mode, checkpointEvery: checkpointEvery,
                                 quiet: quiet)
        if let search = config.task.graphSearch {
            var model = try SearchComparison.makeModel(config)
            return try run(config, model: &model, options, train: { m, training, resume, policy in
                try Trainer.train(&m, task: search, config: training, label: config.name, resume: resume, checkpoint: policy,
                                  progress: quiet ? nil : progress)
            }, evaluate: { try SearchComparison.evaluate($0, config: config) })
        }
        let family = config.task.family
        var model = config.model.makeModel(dimension: family.inputDimension, points: family.pointCount, seed: config.modelSeed)
        func trainAndEvaluate<M: ICLModel>(_ model: inout M) throws -> ComparisonReport {
            try run(config, model: &model, options, train: { m, training, resume, policy in
                try Trainer.train(&m, task: family, config: training, label: config.name, resume: resume, checkpoint: policy,
                                  progress: quiet ? nil : progress)
            }, evaluate: { try evaluate($0, config: config) })
        }
        return try trainAndEvaluate(&model)
    }

    /// Where a run's model comes from and where it goes: `Comparison.run`'s options.
    struct RunOptions {
        var modelFile: URL?
        var runDirectory: URL?
        var mode: RunDirectory.Mode
        var checkpointEvery: Int
        var quiet: Bool
    }

    /// The run, for any model: load its weights or train it (resuming from the run directory's checkpoint), then
    /// evaluate it, writing the run directory's files as it goes.
    static func run<M: ParameterWalkable>(
        _ config: ExperimentConfig, model: inout M, _ options: RunOptions,
        train: (inout M, TrainingConfig, TrainingState?, CheckpointPolicy?) throws -> TrainingHistory,
        evaluate: (M) throws -> ComparisonReport
    ) throws -> ComparisonReport {
        var history: TrainingHistory?
        // The run directory is taken (locked, checked) before training, so a bad --out fails fast.
        let run = try options.runDirectory.map { try RunDirectory.open($0, config: config, mode: options.mode) }
        defer { run?.unlock() }
        if let run, options.mode != .resume {
            try run.write(config.jsonData(), "config.json")
            try run.writeManifest(config: config, status: "running")
        }
        if let modelFile = options.modelFile {
            try Checkpoint.load(into: &model, from: modelFile)
        } else {
            var training = config.training
            if options.quiet { training.logEvery = 0 }
            var resume: TrainingState?
            if let run, options.mode == .resume { resume = try Checkpoint.loadState(into: &model, from: run.checkpointURL) }
            let policy = run.map { r in
                CheckpointPolicy(every: options.checkpointEvery) { m, state in try Checkpoint.saveState(m, state, to: r.checkpointURL) }
            }
            history = try train(&model, training, resume, policy)
        }
        if let run {
            try Checkpoint.save(model, to: run.url.appendingPathComponent("model.npz"))
            if let history {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                try run.write(try enc.encode(history), "history.json")
                try run.write(Data(history.csv.utf8), "history.csv")
            }
        }
        var report = try evaluate(model)
        report.history = history
        if let loss = history?.losses.last { report.metrics["final_loss"] = loss }
        if let run {
            try run.write(Data(report.render(.markdown).utf8), "report.md")
            try run.write(Data(report.render(.json).utf8), "report.json")
            try run.write(Data(report.render(.csv).utf8), "report.csv")
            for table in report.tables { try run.write(Data(table.render(.csv).utf8), "table_\(table.id).csv") }
            for figure in report.figures { try run.write(Data(figure.svg.utf8), figure.file) }
            try run.write(Data(report.html.utf8), "report.html")
            try run.writeManifest(config: config, status: "done")
        }
        return report
    }

    /// A trained model at its evaluation depth, from a run directory's `config.json` and `model.npz`.
    public static func loadModel(config: ExperimentConfig, weights: URL) throws -> any ICLModel {
        guard config.model.kind != .searchDecoder else {
            throw TaskError("\(weights.path): a search decoder answers search prompts, not (x, y) prompts; re-evaluate it with `icl compare --config C --model M`")
        }
        var model = config.model.makeModel(dimension: config.task.family.inputDimension, points: config.task.family.pointCount,
                                           seed: config.modelSeed)
        try Checkpoint.load(into: &model, from: weights)
        if model.isDepthAdjustable { model.depth = config.model.testDepth }
        return model
    }

    public static func evaluate(_ trained: any ICLModel, config: ExperimentConfig) throws -> ComparisonReport {
        let ev = config.evaluation
        let family = config.evaluationTask.family
        let kind = family.targetKind
        var rng = Xoshiro256(seed: ev.seed)
        let prompts = family.samplePrompts(batch: ev.prompts, using: &rng)
        var tuneRng = Xoshiro256(seed: ev.seed, stream: 1)
        let tuning = family.samplePrompts(batch: ev.prompts, using: &tuneRng)

        var model = trained
        let (trainDepth, evalDepth) = (config.model.trainingDepth, config.model.testDepth)
        if model.isDepthAdjustable { model.depth = evalDepth }
        let n = prompts.pointCount - 1
        let (cx, cy) = prompts.context(n)
        let query = prompts.points(n..<(n + 1))
        let modelTrajectory = model.trajectory(contextXs: cx, contextYs: cy, queries: query.xs)
        var modelWeights: [Tensor]?
        if kind == .real {
            // Implied weights ∂ŷ/∂x_q, fitted from 2D probe queries per prompt.
            var probeRng = Xoshiro256(seed: ev.seed, stream: 2)
            let d = family.inputDimension
            modelWeights = try Metrics.impliedWeights(of: model, contextXs: cx, contextYs: cy,
                                                      probes: Tensor.randomNormal([ev.prompts, 2 * d, d], using: &probeRng))
        }
        let ctx = EvaluationContext(config: config, prompts: prompts, tuning: tuning, model: model,
                                    modelTrajectory: modelTrajectory, modelWeights: modelWeights,
                                    trainDepth: trainDepth, evalDepth: evalDepth)
        let refs = try FamilyReferences.make(ctx)

        // Baselines: the model and each reference's query error at its best step.
        let errorName = kind == .real ? "query MSE" : "query error rate"
        var baselines = ReportTable(id: "baselines", title: "Query error of every learner (\(ev.prompts) fresh prompts, n = \(n) context points)",
                                    columns: ["learner", errorName, "at step"])
        if kind == .real {
            baselines.rows.append([.learner("zero predictor", id: "zero"), .number(Metrics.meanSquaredError(query.ys * 0, query.ys)), .empty])
        }
        for (s, p) in modelTrajectory.predictions.enumerated() where s == modelTrajectory.stepCount - 1 || evalDepth <= 4 {
            baselines.rows.append([.learner(model.name, id: "model"), .number(LayerComparison.error(p, query.ys, kind: kind)),
                                   .step(modelTrajectory.stepLabels[s], modelTrajectory.stepValues[s])])
        }
        baselines.rows += refs.baselineRows
        baselines.notes = refs.baselineNotes

        // Per layer: each reference's best-matching step, and the honest verdict.
        let rows = LayerComparison.rows(model: modelTrajectory, modelWeights: modelWeights, references: refs.references,
                                        targets: query.ys, kind: kind, threshold: ev.matchThreshold, tieMargin: ev.tieMargin)
        var layers = LayerComparison.table(rows, kind: kind, id: "layers",
                                           title: "Which algorithm does each \(model.isDepthAdjustable ? "loop iteration" : "layer") match?")
        var notes: [String] = []
        if kind == .real {
            notes.append("MSE = mean((ŷ − y)²) at the query (von Oswald et al. report ½·MSE); SPD = mean squared difference of predictions; cos = mean cosine of implied weights ∂ŷ/∂x_q (fitted from \(2 * family.inputDimension) probe queries per prompt); ILWD = mean ‖ŵ_model − ŵ_ref‖².")
        }
        notes.append("closest: the reference with the smallest distance if ρ = distance / model error ≤ \(String(format: "%g", ev.matchThreshold)) (else none, with the nearest); references within \(String(format: "%g", 100 * ev.tieMargin)) % of the best are a tie (A ≈ B).")
        notes += refs.layerNotes
        if evalDepth != trainDepth { notes.append("Trained with \(trainDepth) loop iterations, evaluated with \(evalDepth).") }
        layers.notes = notes
        let curve = family.everyPointIsTarget
            ? contextLengthCurve(learner: model, references: refs.curveLearners, prompts: prompts, kind: kind) : nil
        var report = ComparisonReport(config: config, baselines: baselines, layers: layers, contextCurve: curve?.table, layerRows: rows)
        report.curves = curve?.curves ?? []
        report.metrics = refs.metrics
        if let last = rows.last {
            report.metrics["model_error"] = last.error
            for m in last.matches {
                report.metrics[metricName(m.key) + "_distance"] = m.match.score
                if !m.single { report.metrics[metricName(m.key) + "_step"] = m.match.algorithmValue }
            }
        }
        report.probes = try probeTable(model: model, cx: cx, cy: cy, query: query, references: refs.references, rows: rows)
        if case .linearRegression(let task) = config.evaluationTask, family.everyPointIsTarget {
            report.interpolation = interpolationTable(learner: model, prompts: prompts, dimension: task.dimension)
        }
        report.warnings = NumericalHealth.scaleWarnings(prompts, source: "evaluation prompts")
            + ([baselines, layers] + (curve.map { [$0.table] } ?? [])).flatMap(NumericalHealth.tableWarnings)
        return report
    }

    /// A reference key as a metric name: lower case, runs of other characters as one `_` ("ridge λ" → "ridge").
    public static func metricName(_ key: String) -> String {
        var out = ""
        for ch in key.lowercased() {
            if ch.isASCII && (ch.isLetter || ch.isNumber) { out.append(ch) } else if !out.hasSuffix("_") { out.append("_") }
        }
        while out.hasSuffix("_") { out.removeLast() }
        return out.isEmpty ? "reference" : out
    }

    /// Per layer: held-out R² of a ridge probe from the hidden state at the query token to the label and to each
    /// reference's prediction at the step that best matches that layer (Akyürek et al.'s probing), fitted on
    /// half the evaluation prompts.
    static func probeTable(model: any ICLModel, cx: Tensor, cy: Tensor, query: (xs: Tensor, ys: Tensor),
                           references: [ReferenceTrajectory], rows: [LayerComparison.Row]) throws -> ReportTable? {
        let states = model.queryStates(contextXs: cx, contextYs: cy, queries: query.xs)
        guard let first = states.first, first.shape[0] >= 8, states.count == rows.count else { return nil }
        let m = first.shape[0]
        var table = ReportTable(id: "probes", title: "Linear probes of each \(model.stepNoun)'s hidden state at the query (held-out R²)",
                                columns: ["step", "label y"] + references.map { "\($0.key) (matched step)" })
        for (s, h) in states.enumerated() {
            var row: [Cell] = [.step("\(model.stepNoun) \(s + 1)", Double(s + 1))]
            var targets = [query.ys]
            for (r, ref) in references.enumerated() {
                targets.append(ref.trajectory.predictions[rows[s].matches[r].match.algorithmStep])
            }
            for t in targets {
                let r2 = try? Probes.linearProbe(features: h, targets: t.reshaped(to: [m, 1]))
                row.append(r2.map { .number($0) } ?? .empty)
            }
            table.rows.append(row)
        }
        table.notes = ["Ridge probe (λ = 10⁻³ on standardized features, intercept) fitted on the first half of the \(m) evaluation prompts and scored on the second: R² = 1 − SSE/SST; 1 means the \(model.stepNoun) linearly encodes the target. A reference's target is its prediction at the step that best matches this \(model.stepNoun) (the layer table's step)."]
        return table
    }

    /// A reference learner's row label with the numbers its name rounds (GD's steps and η, Newton's iterations,
    /// the neighbours k).
    static func learnerCell(_ learner: InContextLearner) -> Cell {
        switch learner {
        case let gd as GradientDescent:
            var fields: [Cell.Field] = [.init("steps", Double(gd.steps))]
            if case .fixed(let eta) = gd.stepSize { fields.append(.init("learning_rate", eta)) }
            return .learner(gd.name, fields)
        case let newton as IterativeNewton: return .learner(newton.name, [.init("steps", Double(newton.steps))])
        case let nn as NearestNeighbours: return .learner(nn.name, id: "nearest_neighbours", [.init("k", Double(nn.k))])
        default: return .learner(learner.name)
        }
    }

    /// Akyürek et al.'s interpolation threshold: with k = d − 1, d, d + 1 examples (each point predicted from the
    /// ones before it, every evaluation prompt), the model's error beside min-norm OLS's (which spikes at k = d
    /// when labels are noisy) and ridge's with λ = 0.1, and the model's SPD to each: is the model ridge-like
    /// around the threshold? nil when the prompts are too short.
    public static func interpolationTable(learner: InContextLearner, prompts: PromptBatch, dimension d: Int) -> ReportTable? {
        let n = prompts.pointCount
        guard d >= 2, d + 1 < n else { return nil }
        let ridge = Ridge(penalty: 0.1)
        let model = learner.prefixTrajectory(prompts).final
        let ols = LeastSquares().prefixTrajectory(prompts).final
        let ridged = ridge.prefixTrajectory(prompts).final
        var table = ReportTable(id: "interpolation", title: "Around the interpolation threshold k = d = \(d) (\(prompts.batchSize) prompts)",
                                columns: ["k", "model MSE", "OLS MSE", "ridge MSE", "SPD to OLS", "SPD to ridge", "nearer"])
        for k in (d - 1)...(d + 1) {
            func at(_ t: Tensor) -> Tensor { t.slice(alongAxis: 1, k..<(k + 1)) }
            let y = at(prompts.ys)
            let (toOLS, toRidge) = (Metrics.meanSquaredError(at(model), at(ols)), Metrics.meanSquaredError(at(model), at(ridged)))
            table.rows.append([.step("k = \(k)", Double(k)), .number(Metrics.meanSquaredError(at(model), y)),
                               .number(Metrics.meanSquaredError(at(ols), y)), .number(Metrics.meanSquaredError(at(ridged), y)),
                               .number(toOLS), .number(toRidge), .text(toRidge < toOLS ? "ridge" : "OLS")])
        }
        table.notes = ["Akyürek et al. (2023): below and at k = d a trained model tracks ridge rather than min-norm OLS, whose error spikes at k = d when labels are noisy (with noiseless labels OLS is exact from k = d on). Ridge: λ = 0.1; SPD = mean squared difference of the predictions at point k."]
        return table
    }

    /// A mean squared error from this size up is flagged under the context-length table (with its median).
    static let hugeError = 1e6

    /// Error (or accuracy) vs number of in-context examples — each point predicted from the ones before it —
    /// for the model's last layer and the references, with Fu et al.'s error similarity to the model.
    static func contextLengthCurve(learner: InContextLearner, references: [InContextLearner], prompts: PromptBatch,
                                   kind: TargetKind) -> (table: ReportTable, curves: [(name: String, values: [Double])]) {
        let subset = prompts.prompts(0..<min(prompts.batchSize, 300))
        let n = subset.pointCount
        let positions = Array(Set([1, 2, n / 4, n / 2, 3 * n / 4, n - 1].filter { $0 >= 1 && $0 < n })).sorted()
        let metric = kind == .real ? "MSE" : "acc"
        let simE = kind == .real ? ["SimE to model"] : []
        var table = ReportTable(id: "context_length", title: "\(kind == .real ? "Error" : "Accuracy") vs number of in-context examples (\(subset.batchSize) prompts)",
                                columns: ["learner"] + simE + positions.map { "\(metric)@\($0)" })
        let model = learner.prefixTrajectory(subset).final
        let rows = [(learner.name, model)] + references.map { ($0.name, $0.prefixTrajectory(subset).final) }
        var curves: [(name: String, values: [Double])] = []
        var alarms: [String] = []
        for (r, (name, pred)) in rows.enumerated() {
            let curve = kind == .real ? Metrics.errorByContextLength(pred, targets: subset.ys)
                                      : BooleanMetrics.accuracyByPosition(pred, labels: subset.ys)
            curves.append((name, curve))
            let sim: [Cell] = kind == .real ? [.number(Metrics.errorSimilarity(model, pred, targets: subset.ys))] : []
            let label = r == 0 ? .learner(name, id: "model") : learnerCell(references[r - 1])
            table.rows.append([label] + sim + positions.map { .number(curve[$0]) })
            // A mean this large is a few diverging prompts, not a typical error: say so, with the median beside it.
            if kind == .real, let k = positions.first(where: { !(curve[$0] < hugeError) }) {
                let median = Metrics.medianSquaredError(pred.slice(alongAxis: 1, k..<(k + 1)), subset.ys.slice(alongAxis: 1, k..<(k + 1)))
                alarms.append("\(name): MSE@\(k) = \(Cell.format(curve[k])) is a mean over prompts (median \(Cell.format(median)))")
            }
        }
        table.notes = [kind == .real
            ? "MSE@k: the point after k examples, predicted from them; SimE: mean cosine of the error vectors over positions (Fu et al.)."
            : "acc@k: accuracy on the point after k examples, predicted from them (a 0 counts as wrong)."]
        if !alarms.isEmpty {
            table.notes.append(alarms.joined(separator: "; ") + ". A huge mean is a learner diverging on some prompts: a fixed step size tuned with n − 1 examples can exceed 2/λ_max of the loss with fewer examples (GD), so its errors at small k blow up; the median is the typical prompt.")
        }
        return (table, curves)
    }
}
