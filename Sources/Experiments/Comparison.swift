import Analysis
import ClassicalLearners
import Foundation
import Models
import NumericCore
import Tasks
import Training

/// A model under comparison, whatever its kind.
public enum ComparisonModel {
    case lsa(LinearSelfAttention)
    case restricted(RestrictedLoopedLSA)

    public init(_ spec: ModelSpec, dimension d: Int, seed: UInt64) {
        var rng = Xoshiro256(seed: seed)
        switch spec.kind {
        case .lsa:
            self = .lsa(LinearSelfAttention(dimension: d, layers: spec.layers, heads: spec.heads, initStd: spec.initStd,
                                            tokenClamp: spec.tokenClamp, using: &rng))
        case .looped:
            self = .lsa(LinearSelfAttention(dimension: d, layers: spec.depth, heads: spec.heads, looped: true,
                                            initStd: spec.initStd, tokenClamp: spec.tokenClamp, using: &rng))
        case .restricted:
            self = .restricted(RestrictedLoopedLSA(a: Tensor.randomNormal([d, d], standardDeviation: spec.initStd, using: &rng),
                                                   depth: spec.depth, symmetric: spec.symmetricPreconditioner ?? false))
        }
    }

    /// The model with its evaluation depth (looped models may loop longer at test time).
    public func atDepth(_ depth: Int) -> InContextLearner {
        switch self {
        case .lsa(var m): m.depth = depth; return m
        case .restricted(var m): m.depth = depth; return m
        }
    }

    public var namedParameters: [(name: String, value: Tensor)] {
        switch self { case .lsa(let m): return m.namedParameters; case .restricted(let m): return m.namedParameters }
    }

    mutating func train(task: LinearRegressionTask, config: TrainingConfig, label: String) throws -> TrainingHistory {
        switch self {
        case .lsa(var m): let h = try Trainer.train(&m, task: task, config: config, label: label); self = .lsa(m); return h
        case .restricted(var m): let h = try Trainer.train(&m, task: task, config: config, label: label); self = .restricted(m); return h
        }
    }

    public func save(to url: URL) throws {
        switch self { case .lsa(let m): try Checkpoint.save(m, to: url); case .restricted(let m): try Checkpoint.save(m, to: url) }
    }

    public mutating func load(from url: URL) throws {
        switch self {
        case .lsa(var m): try Checkpoint.load(into: &m, from: url); self = .lsa(m)
        case .restricted(var m): try Checkpoint.load(into: &m, from: url); self = .restricted(m)
        }
    }
}

/// The result of `icl compare`: baselines and the per-layer table.
public struct ComparisonReport {
    public var config: ComparisonConfig
    public var baselines: ReportTable
    public var layers: ReportTable
    public var contextCurve: ReportTable
    public var history: TrainingHistory?

    public func render(_ format: ReportTable.Format) -> String {
        switch format {
        case .markdown:
            let head = "## \(config.name)\n\n\(config.summary)\n\n"
            return head + baselines.render(.markdown) + "\n" + layers.render(.markdown) + "\n" + contextCurve.render(.markdown)
        case .csv:
            return layers.render(.csv)
        case .json:
            let b = baselines.render(.json).trimmingCharacters(in: .whitespacesAndNewlines)
            let l = layers.render(.json).trimmingCharacters(in: .whitespacesAndNewlines)
            let c = contextCurve.render(.json).trimmingCharacters(in: .whitespacesAndNewlines)
            let cfg = String(decoding: config.jsonData(), as: UTF8.self)
            return "{\n\"config\": \(cfg),\n\"baselines\": \(b),\n\"layers\": \(l),\n\"contextLength\": \(c)\n}\n"
        }
    }
}

public enum Comparison {
    /// Trains (or loads) the configured model, evaluates it and every classical learner on fresh prompts,
    /// and lines each layer up with each algorithm's best-matching iterate. With `runDirectory`, writes
    /// `config.json`, `model.npz`, `history.json` and the reports there (each file atomically).
    public static func run(_ config: ComparisonConfig, modelFile: URL? = nil, runDirectory: URL? = nil,
                           quiet: Bool = false) throws -> ComparisonReport {
        try config.validate()
        var model = ComparisonModel(config.model, dimension: config.task.dimension, seed: config.modelSeed)
        var history: TrainingHistory?
        if let dir = runDirectory {
            // Fail before training, not after, if the run directory cannot be written.
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try NumPy.writeAtomically(config.jsonData(), to: dir.appendingPathComponent("config.json"))
        }
        if let modelFile {
            try model.load(from: modelFile)
        } else {
            var training = config.training
            if quiet { training.logEvery = 0 }
            history = try model.train(task: config.task, config: training, label: config.name)
        }
        if let dir = runDirectory {
            try model.save(to: dir.appendingPathComponent("model.npz"))
            if let history {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                try NumPy.writeAtomically(try enc.encode(history), to: dir.appendingPathComponent("history.json"))
            }
        }
        var report = try evaluate(model, config: config)
        report.history = history
        if let dir = runDirectory {
            try NumPy.writeAtomically(Data(report.render(.markdown).utf8), to: dir.appendingPathComponent("report.md"))
            try NumPy.writeAtomically(Data(report.render(.json).utf8), to: dir.appendingPathComponent("report.json"))
        }
        return report
    }

    static func evaluate(_ model: ComparisonModel, config: ComparisonConfig) throws -> ComparisonReport {
        let ev = config.evaluation
        let task = ev.task ?? config.task          // an evaluation-time shift, if configured
        let d = task.dimension
        var rng = Xoshiro256(seed: ev.seed)
        let prompts = task.sample(batch: ev.prompts, using: &rng)
        var tuneRng = Xoshiro256(seed: ev.seed, stream: 1)
        let tuning = task.sample(batch: ev.prompts, using: &tuneRng)
        var probeRng = Xoshiro256(seed: ev.seed, stream: 2)
        let probes = Tensor.randomNormal([ev.prompts, 2 * d, d], using: &probeRng)

        let n = prompts.pointCount - 1
        let (cx, cy) = prompts.context(n)
        let query = prompts.points(n..<(n + 1))
        let trainDepth = config.model.kind == .lsa ? config.model.layers : config.model.depth
        let evalDepth = config.model.evaluationDepth ?? trainDepth
        let learner = model.atDepth(evalDepth)
        let modelTrajectory = learner.trajectory(contextXs: cx, contextYs: cy, queries: query.xs)
        let modelWeights = try Metrics.impliedWeights(of: learner, contextXs: cx, contextYs: cy, probes: probes)

        // Classical learners, with GD's step size line-searched for as many steps as the model has layers.
        let (eta, _) = LineSearch.bestGradientDescentStep(prompts: tuning, steps: trainDepth)
        let gdSteps = ev.gradientDescentSteps ?? max(10, 3 * evalDepth)
        let gd = GradientDescent(steps: gdSteps, learningRate: eta)
        let newton = IterativeNewton(steps: ev.newtonSteps)
        let ridge = Ridge(path: Ridge.logPath(from: ev.ridgeLow, to: ev.ridgeHigh, count: ev.ridgePoints))
        let algorithms: [(String, LinearInContextLearner)] = [("GD", gd), ("Newton", newton), ("ridge", ridge), ("OLS", LeastSquares())]
        var trajectories: [String: Trajectory] = [:]
        var weights: [String: [Tensor]] = [:]
        for (key, alg) in algorithms {
            let t = alg.trajectory(contextXs: cx, contextYs: cy, queries: query.xs)
            trajectories[key] = t
            weights[key] = t.weights
        }

        // Baselines: each learner's query MSE at its best step.
        var baselines = ReportTable(title: "Query error of every learner (\(ev.prompts) fresh prompts, n = \(n) context points)",
                                    columns: ["learner", "query MSE", "at step"])
        baselines.rows.append([.text("zero predictor"), .number(Metrics.meanSquaredError(query.ys * 0, query.ys)), .empty])
        for (s, p) in modelTrajectory.predictions.enumerated() where s == modelTrajectory.stepCount - 1 || evalDepth <= 4 {
            baselines.rows.append([.text(learner.name), .number(Metrics.meanSquaredError(p, query.ys)), .text(modelTrajectory.stepLabels[s])])
        }
        let gdK = trajectories["GD"]!.predictions[trainDepth - 1]
        baselines.rows.append([.text("GD, \(trainDepth) step\(trainDepth == 1 ? "" : "s") (η = \(Cell.format(eta)), line-searched)"),
                               .number(Metrics.meanSquaredError(gdK, query.ys)), .integer(trainDepth)])
        for key in ["Newton", "ridge"] {
            let t = trajectories[key]!
            let errs = t.predictions.map { Metrics.meanSquaredError($0, query.ys) }
            let best = errs.indices.min { errs[$0] < errs[$1] }!
            baselines.rows.append([.text(key == "ridge" ? "ridge (best λ on the path)" : "Newton (best iterate)"), .number(errs[best]), .text(t.stepLabels[best])])
        }
        baselines.rows.append([.text("OLS (min-norm)"), .number(Metrics.meanSquaredError(trajectories["OLS"]!.final, query.ys)), .empty])
        if case .pool = task.weights, let pool = task.taskPool {
            // Raventós et al.: below the task-diversity threshold a model tracks dMMSE, above it ridge.
            let dmmse = DiscreteMMSE(pool: pool, noise: max(task.noise, 1e-3)).trajectory(contextXs: cx, contextYs: cy, queries: query.xs)
            let ridge = Ridge(penalty: max(task.noise * task.noise, 1e-6)).trajectory(contextXs: cx, contextYs: cy, queries: query.xs)
            let final = modelTrajectory.final
            baselines.rows.append([.text("dMMSE (the pool's posterior mean)"), .number(Metrics.meanSquaredError(dmmse.final, query.ys)), .empty])
            baselines.notes.append("Task pool of M = \(pool.shape[0]): SPD(model, dMMSE) = \(Cell.format(Metrics.predictionDistance(final, dmmse.final))), SPD(model, ridge λ = σ²) = \(Cell.format(Metrics.predictionDistance(final, ridge.final))).")
        }
        if task.noise > 0, case .gaussian(let tau) = task.weights {
            let bayes = BayesGaussian(priorScale: tau, noise: task.noise).trajectory(contextXs: cx, contextYs: cy, queries: query.xs)
            baselines.rows.append([.text("Bayes posterior mean (ridge λ = σ²/τ² = \(Cell.format(task.noise * task.noise / (tau * tau))))"),
                                   .number(Metrics.meanSquaredError(bayes.final, query.ys)), .empty])
        }

        // Per layer: the best-matching iterate of each algorithm by squared prediction difference, with the
        // cosine of implied weights (sensitivities) at that iterate.
        var layers = ReportTable(
            title: "Which algorithm does each \(config.model.kind == .lsa ? "layer" : "loop iteration") match?",
            columns: ["step", "model MSE", "GD step", "GD SPD", "GD ILWD", "GD cos", "Newton k", "Newton SPD", "Newton cos",
                      "ridge λ", "ridge SPD", "OLS SPD", "OLS cos", "closest"])
        for (s, preds) in modelTrajectory.predictions.enumerated() {
            var row: [Cell] = [.text(modelTrajectory.stepLabels[s]), .number(Metrics.meanSquaredError(preds, query.ys))]
            var closest = ("", Double.infinity)
            for key in ["GD", "Newton", "ridge", "OLS"] {
                let t = trajectories[key]!
                let m = Matching.bestMatches(model: [preds], algorithm: t, Metrics.predictionDistance)[0]
                let cosine = Metrics.meanCosine(modelWeights[s], weights[key]![m.algorithmStep])
                switch key {
                case "GD": row += [.text(m.algorithmLabel), .number(m.score),
                                   .number(Metrics.weightDistance(modelWeights[s], weights[key]![m.algorithmStep])), .number(cosine)]
                case "Newton": row += [.text(m.algorithmLabel), .number(m.score), .number(cosine)]
                case "ridge": row += [.number(m.algorithmValue), .number(m.score)]
                default: row += [.number(m.score), .number(cosine)]
                }
                let label = key == "OLS" ? "OLS" : "\(key) \(m.algorithmLabel)"
                if m.score < closest.1 { closest = (label, m.score) }
            }
            row.append(.text(closest.0))
            layers.rows.append(row)
        }
        layers.notes = notes(model: model, config: config, eta: eta, learner: learner, modelWeights: modelWeights,
                             cx: cx, cy: cy, query: query, tuning: tuning, evalDepth: evalDepth, trainDepth: trainDepth)
        if ev.task != nil { layers.notes.append("Evaluated on a shifted distribution (evaluation.task), trained on the configured task.") }
        return ComparisonReport(config: config, baselines: baselines, layers: layers,
                                contextCurve: contextLengthCurve(learner: learner, prompts: prompts, gdStep: eta, trainDepth: trainDepth))
    }

    /// Error vs number of in-context examples (each point predicted from the ones before it) for the model's
    /// last layer and the classical learners, with Fu et al.'s error similarity to the model.
    static func contextLengthCurve(learner: InContextLearner, prompts: PromptBatch, gdStep eta: Double, trainDepth: Int) -> ReportTable {
        let subset = prompts.prompts(0..<min(prompts.batchSize, 300))
        let n = subset.pointCount
        let positions = Array(Set([1, 2, n / 4, n / 2, 3 * n / 4, n - 1].filter { $0 >= 1 && $0 < n })).sorted()
        var table = ReportTable(title: "Error vs number of in-context examples (\(subset.batchSize) prompts)",
                                columns: ["learner", "SimE to model"] + positions.map { "MSE@\($0)" })
        let model = learner.prefixTrajectory(subset).final
        let learners: [InContextLearner] = [GradientDescent(steps: trainDepth, learningRate: eta), IterativeNewton(steps: 8),
                                            LeastSquares(), Averaging()]
        let rows = [(learner.name, model)] + learners.map { ($0.name, $0.prefixTrajectory(subset).final) }
        for (name, pred) in rows {
            let curve = Metrics.errorByContextLength(pred, targets: subset.ys)
            table.rows.append([.text(name), .number(Metrics.errorSimilarity(model, pred, targets: subset.ys))] + positions.map { .number(curve[$0]) })
        }
        table.notes = ["MSE@k: the point after k examples, predicted from them; SimE: mean cosine of the error vectors over positions (Fu et al.)."]
        return table
    }

    static func notes(model: ComparisonModel, config: ComparisonConfig, eta: Double, learner: InContextLearner,
                      modelWeights: [Tensor], cx: Tensor, cy: Tensor, query: (xs: Tensor, ys: Tensor),
                      tuning: PromptBatch, evalDepth: Int, trainDepth: Int) -> [String] {
        let task = config.task
        var notes = [
            "MSE = mean((ŷ − y)²) at the query (von Oswald et al. report ½·MSE); SPD = mean squared difference of predictions; cos = mean cosine of implied weights ∂ŷ/∂x_q (fitted from \(2 * task.dimension) probe queries per prompt).",
            "GD: L(w) = (1/2n)‖y − Xw‖² from w = 0, η = \(Cell.format(eta)) line-searched for \(trainDepth) step\(trainDepth == 1 ? "" : "s") on separate prompts; Newton: Newton–Schulz with α = 1/‖SSᵀ‖_F (Fu et al.'s code), k = 0…\(config.evaluation.newtonSteps); ridge: (XᵀX + λI)⁻¹Xᵀy.",
        ]
        if evalDepth != trainDepth { notes.append("Trained with \(trainDepth) loop iterations, evaluated with \(evalDepth).") }
        let n = cx.shape[1], d = task.dimension
        if modelWeights.count >= 1 {
            // The step size a 1-layer (or first-layer) model implements: fit ŵ_model ≈ η̂ · (1/n) Σ yᵢxᵢ.
            let avg = Averaging().weightTrajectory(contextXs: cx, contextYs: cy).weights[0]
            let w = modelWeights[0]
            var num = 0.0, den = 0.0
            for i in 0..<w.scalarCount { num += w.scalars[i] * avg.scalars[i]; den += avg.scalars[i] * avg.scalars[i] }
            var line = "First layer as one GD step: implied step size η̂ = \(Cell.format(num / max(den, 1e-300)))"
            if case .isotropicGaussian = task.inputs, config.model.kind == .lsa, config.model.layers == 1 {
                let s2 = task.noise * task.noise
                line += " (Mahankali et al.'s optimum n/(n + d + 1 + σ²) = \(Cell.format(Double(n) / (Double(n + d + 1) + s2))))"
            }
            notes.append(line + ".")
        }
        if case .restricted(let m) = model {
            let a = m.preconditioner
            let c = (0..<d).reduce(0.0) { $0 + a.scalars[$1 * d + $1] } / Double(d)
            let offDiagonal = (a - Tensor.identity(d) * c).norm / max(a.norm, 1e-300)
            let antisymmetric = ((a - a.matrixTransposed()) / 2).norm / max(a.norm, 1e-300)
            let best = LineSearch.bestIsotropicPreconditioner(prompts: tuning, steps: trainDepth)
            let trained = Metrics.meanSquaredError(RestrictedLoopedLSA(a: a, depth: trainDepth)
                .trajectory(contextXs: cx, contextYs: cy, queries: query.xs).final, query.ys)
            let bestOnEval = Metrics.meanSquaredError(GradientDescent(steps: trainDepth, learningRate: best.c)
                .trajectory(contextXs: cx, contextYs: cy, queries: query.xs).final, query.ys)
            notes.append("Learned preconditioner\(m.symmetric ? " (constrained symmetric)" : ""): c = tr(A)/d = \(Cell.format(c)), ‖A − cI‖/‖A‖ = \(Cell.format(offDiagonal)) (antisymmetric part ‖(A − Aᵀ)/2‖/‖A‖ = \(Cell.format(antisymmetric))); best isotropic c for \(trainDepth) loops = \(Cell.format(best.c)); loss at T = \(trainDepth): trained \(Cell.format(trained)) vs best cI \(Cell.format(bestOnEval)) (ratio \(Cell.format(trained / bestOnEval))).")
        }
        return notes
    }
}
