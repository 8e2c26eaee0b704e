import Analysis
import ArgumentParser
import ClassicalLearners
import Experiments
import Foundation
import Models
import NumericCore
import Tasks

@main
struct ICL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "icl",
        abstract: "The in-context learning workbench: which algorithm does this transformer run in its forward pass?",
        subcommands: [Compare.self, Train.self, TasksCommand.self, Eval.self, Baselines.self, PresetsCommand.self, BLASCommand.self],
        defaultSubcommand: nil)
}

/// Options shared by commands that resolve a comparison config.
struct ConfigOptions: ParsableArguments {
    @Option(help: "A named preset (see `icl presets`).") var preset: String?
    @Option(help: "A comparison config JSON (e.g. a run directory's config.json).") var config: String?
    @Option(help: "Override: training steps.") var steps: Int?
    @Option(help: "Override: training batch size.") var batchSize: Int?
    @Option(help: "Override: Adam learning rate.") var learningRate: Double?
    @Option(help: "Override: training and model-initialization seed.") var seed: UInt64?
    @Option(help: "Override: number of evaluation prompts.") var evalPrompts: Int?

    func resolve(defaultPreset: String = "flagship") throws -> ComparisonConfig {
        if preset != nil && config != nil { throw ValidationError("give either --preset or --config, not both") }
        var c = try config.map { try ComparisonConfig.load(from: URL(fileURLWithPath: $0)) }
            ?? Presets.named(preset ?? defaultPreset)
        if let steps { c.training.steps = steps }
        if let batchSize { c.training.batchSize = batchSize }
        if let learningRate { c.training.learningRate = learningRate }
        if let seed { c.training.seed = seed; c.modelSeed = seed }
        if let evalPrompts { c.evaluation.prompts = evalPrompts }
        try c.validate()
        return c
    }

    var overridesTraining: Bool { steps != nil || batchSize != nil || learningRate != nil }
}

extension ReportTable.Format: ExpressibleByArgument {}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train (or load) a model and line up each layer with GD, Newton, ridge and OLS.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "Load model weights (.npz) instead of training; the config fixes the architecture.") var model: String?
    @Option(help: "Output format: markdown, csv or json.") var format: ReportTable.Format = .markdown
    @Option(help: "Write a run directory (config.json, model.npz, history.json, report.md, report.json).") var out: String?
    @Flag(help: "No training progress on stderr.") var quiet = false

    func validate() throws {
        if model != nil && options.overridesTraining {
            throw ValidationError("--model loads trained weights; --steps, --batch-size and --learning-rate do not apply")
        }
    }

    func run() throws {
        let config = try options.resolve()
        let report = try Comparison.run(config, modelFile: model.map { URL(fileURLWithPath: $0) },
                                        runDirectory: out.map { URL(fileURLWithPath: $0) }, quiet: quiet)
        print(report.render(format), terminator: "")
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a model and write a run directory.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "The run directory to write.") var out: String
    @Flag(help: "No training progress on stderr.") var quiet = false

    func run() throws {
        let config = try options.resolve()
        let report = try Comparison.run(config, runDirectory: URL(fileURLWithPath: out), quiet: quiet)
        let last = report.history?.losses.last.map { Cell.format($0) } ?? "—"
        print("trained \(config.name): final training loss \(last); wrote \(out)/{config.json, model.npz, history.json, report.md, report.json}")
    }
}

struct TasksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tasks", abstract: "Prompt generators.",
                                                    subcommands: [Sample.self])

    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw linear-regression prompts and save them as .npz (xs [B,N,D], ys [B,N], ws [B,D]).")
        @Option(help: "Take the task of this preset (other task options override it).") var preset: String?
        @Option(help: "Input dimension D.") var dimension: Int?
        @Option(help: "Points per prompt N.") var points: Int?
        @Option(help: "Inputs: gaussian, uniform, ill-conditioned.") var inputs: String?
        @Option(help: "Condition number κ for ill-conditioned inputs.") var kappa: Double = 100
        @Option(help: "Weights: gaussian, sparse, pool.") var weights: String?
        @Option(help: "Non-zeros k for sparse weights.") var sparsity: Int = 2
        @Option(help: "Pool size M for pool weights.") var poolSize: Int = 64
        @Option(help: "Label noise σ.") var noise: Double?
        @Option(help: "Evaluation-time covariate shift: x ← c·x.") var inputScale: Double?
        @Option(help: "Prompts B.") var batch: Int = 1000
        @Option(help: "Seed.") var seed: UInt64 = 0
        @Option(help: "Output .npz file.") var out: String

        func run() throws {
            var task = try preset.map { try Presets.named($0).task } ?? LinearRegressionTask(dimension: 10, points: 11)
            if let dimension { task.dimension = dimension }
            if let points { task.points = points }
            if let noise { task.noise = noise }
            if let inputScale { task.inputScale = inputScale }
            switch inputs {
            case nil: break
            case "gaussian": task.inputs = .isotropicGaussian
            case "uniform": task.inputs = .uniform(halfWidth: 0.5)
            case "ill-conditioned": task.inputs = .illConditioned(kappa: kappa, randomBasis: true)
            case let other?: throw ValidationError("unknown --inputs '\(other)'; use gaussian, uniform or ill-conditioned")
            }
            switch weights {
            case nil: break
            case "gaussian": task.weights = .gaussian(scale: 1)
            case "sparse": task.weights = .sparse(nonZeros: sparsity, scale: 1)
            case "pool": task.weights = .pool(size: poolSize, scale: 1, poolSeed: seed &+ 1)
            case let other?: throw ValidationError("unknown --weights '\(other)'; use gaussian, sparse or pool")
            }
            guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1") }
            try task.validate()
            var rng = Xoshiro256(seed: seed)
            let prompts = task.sample(batch: batch, using: &rng)
            try prompts.save(to: URL(fileURLWithPath: out))
            print("wrote \(out): xs \(prompts.xs.shape), ys \(prompts.ys.shape), ws \(prompts.ws!.shape)")
        }
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every classical learner (and optionally a trained model) on prompts from a .npz file.")
    @Option(help: "Prompts .npz with xs [B,N,D] and ys [B,N] (ws optional).") var prompts: String
    @Option(name: .customLong("run"), help: "A run directory (config.json + model.npz) whose model to include.") var runDirectory: String?
    @Option(help: "Output format: markdown, csv or json.") var format: ReportTable.Format = .markdown

    func run() throws {
        let batch = try PromptBatch.load(from: URL(fileURLWithPath: prompts))
        guard batch.pointCount >= 2 else { throw TaskError("\(prompts): prompts need at least 2 points (context and query)") }
        var learners: [InContextLearner] = []
        if let run = runDirectory {
            let dir = URL(fileURLWithPath: run)
            let config = try ComparisonConfig.load(from: dir.appendingPathComponent("config.json"))
            guard config.task.dimension == batch.dimension else {
                throw TaskError("\(run): the model was trained with D = \(config.task.dimension), the prompts have D = \(batch.dimension)")
            }
            var model = ComparisonModel(config.model, dimension: batch.dimension, seed: config.modelSeed)
            try model.load(from: dir.appendingPathComponent("model.npz"))
            learners.append(model.atDepth(config.model.evaluationDepth ?? (config.model.kind == .lsa ? config.model.layers : config.model.depth)))
        }
        let eta = LineSearch.bestGradientDescentStep(prompts: batch, steps: 1).learningRate
        learners += [GradientDescent(steps: 1, learningRate: eta), GradientDescent(steps: 20, learningRate: eta),
                     IterativeNewton(steps: 8), Ridge(penalty: 0.1), LeastSquares(), Averaging(), NearestNeighbours(k: 3)]
        var table = ReportTable(title: "Learners on \(prompts) (B = \(batch.batchSize), N = \(batch.pointCount), D = \(batch.dimension))",
                                columns: ["learner", "query MSE (last point)", "prefix MSE at n = 1", "n = N/2", "n = N−1"])
        let n = batch.pointCount
        for l in learners {
            let prefix = l.prefixTrajectory(batch)
            let curve = Metrics.errorByContextLength(prefix.final, targets: batch.ys)
            let q = Metrics.meanSquaredError(prefix.final.slice(alongAxis: 1, (n - 1)..<n), batch.ys.slice(alongAxis: 1, (n - 1)..<n))
            table.rows.append([.text(l.name), .number(q), .number(curve[1]), .number(curve[n / 2]), .number(curve[n - 1])])
        }
        table.notes = ["GD's η = \(Cell.format(eta)) is line-searched for one step on these prompts; each point is predicted from the ones before it."]
        print(table.render(format), terminator: "")
    }
}

struct PresetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "presets", abstract: "List the named presets.")
    func run() throws {
        for name in Presets.names {
            let c = try Presets.named(name)
            print("\(name): \(c.summary)")
        }
    }
}

struct BLASCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blas", abstract: "Which BLAS kernel this machine runs.")
    func run() {
        print(BLASInfo.summary)
        print(BLASInfo.configuration)
    }
}

struct Baselines: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-position accuracy of every reference learner of a task family (no model).")
    @Option(help: "Task family: boolean, graph or fourier.") var family: String = "boolean"
    @Option(help: "Fourier: max frequency N.") var maxFrequency: Int = 10
    @Option(help: "Fourier: single, mixture or complexity-bias.") var fourier: String = "mixture"
    @Option(help: "Graph distribution: erdos-renyi, dag, star, balanced.") var graph: String = "erdos-renyi"
    @Option(help: "Graph vertices.") var vertices: Int = 16
    @Option(help: "Edge probability (erdos-renyi, dag).") var p: Double = 0.1
    @Option(help: "Star arms / balanced branches.") var branches: Int = 3
    @Option(help: "Star arm length / balanced maximum lookahead.") var length: Int = 4
    @Option(name: .customLong("class"), help: "Boolean class: \(BooleanFunctionClass.names.joined(separator: ", ")).") var functionClass: String = "conjunction"
    @Option(help: "k: sparse-parity support, sparse-disjunction literals, nearest-neighbour random prefix.") var k: Int = 2
    @Option(help: "Variables n.") var variables: Int = 28
    @Option(help: "Points per prompt.") var points: Int = 70
    @Option(help: "Prompts.") var prompts: Int = 2000
    @Flag(help: "Put the teaching sequence first (conjunctions).") var teachingSequence = false
    @Flag(help: "Turn off the balancing of labels.") var unbalanced = false
    @Option(help: "Seed.") var seed: UInt64 = 0
    @Option(help: "Save the prompts as .npz too.") var out: String?
    @Option(help: "Graph family: also save search prompts (tokens, targets, lookahead) as .npz.") var searchOut: String?
    @Option(help: "Output format: markdown, csv or json.") var format: ReportTable.Format = .markdown
    @Flag(help: "Only draw and save the prompts (--out / --search-out); no evaluation.") var noTable = false

    func validate() throws {
        if noTable && out == nil && searchOut == nil { throw ValidationError("--no-table needs --out (or --search-out) to save the prompts") }
    }

    func run() throws {
        guard prompts >= 1 else { throw ValidationError("--prompts must be ≥ 1") }
        if family == "graph" { return try graphBaselines() }
        if family == "fourier" { return try fourierBaselines() }
        guard family == "boolean" else { throw ValidationError("unknown --family '\(family)'; available: boolean, graph, fourier") }
        let c = try BooleanFunctionClass.named(functionClass, k: k)
        let task = BooleanTask(variables: variables, points: points, functionClass: c, balanced: !unbalanced,
                               teachingSequence: teachingSequence)
        try task.validate()
        var rng = Xoshiro256(seed: seed)
        let batch = task.sample(batch: prompts, using: &rng)
        if let out { try batch.save(to: URL(fileURLWithPath: out)) }
        if noTable { return }
        let marks = [1, 5, 10, 20, 40, points / 2, points - 1].filter { $0 >= 1 && $0 < points }
        let positions = Array(Set(marks)).sorted()
        var table = ReportTable(title: "\(functionClass) (n = \(variables), \(points) points, \(prompts) prompts)",
                                columns: ["learner", "mean accuracy"] + positions.map { "acc@\($0)" })
        for learner in BooleanMetrics.learners(for: c) {
            let acc = BooleanMetrics.accuracyByPosition(learner.prefixTrajectory(batch).final, labels: batch.ys)
            table.rows.append([.text(learner.name), .number(acc.reduce(0, +) / Double(acc.count))] + positions.map { .number(acc[$0]) })
        }
        table.notes = ["acc@k: accuracy on point k predicted from points 0..<k (a prediction of 0 counts as wrong)."]
        print(table.render(format), terminator: "")
    }

    func fourierBaselines() throws {
        var task: FourierTask
        switch fourier {
        case "single": task = FourierTask(maxFrequency: maxFrequency, points: points)
        case "mixture": task = FourierTask.mixture(maxFrequency: maxFrequency, points: points)
        case "complexity-bias": task = FourierTask.complexityBiased(maxFrequency: maxFrequency, points: points)
        default: throw ValidationError("unknown --fourier '\(fourier)'; use single, mixture or complexity-bias")
        }
        try task.validate()
        var rng = Xoshiro256(seed: seed)
        let (batch, frequencies) = task.sample(batch: prompts, using: &rng)
        if let out { try batch.save(to: URL(fileURLWithPath: out)) }
        if noTable { return }
        let positions = Array(Set([1, 5, 10, 20, points / 2, points - 1].filter { $0 >= 1 && $0 < points })).sorted()
        var table = ReportTable(title: "Fourier \(fourier) (max frequency \(maxFrequency), \(points) points, \(prompts) prompts)",
                                columns: ["learner"] + positions.map { "MSE@\($0)" })
        let learners: [InContextLearner] = [
            FourierBayes.modelAverage(task),
            FourierBayes(candidates: [], constantTerm: task.hasConstantTerm, oracleFrequencies: frequencies),
            FourierBayes.leastSquares(frequency: maxFrequency, constantTerm: task.hasConstantTerm),
            NearestNeighbours(k: 1),
        ]
        for learner in learners {
            let curve = Metrics.errorByContextLength(learner.prefixTrajectory(batch).final, targets: batch.ys)
            table.rows.append([.text(learner.name)] + positions.map { .number(curve[$0]) })
        }
        table.notes = ["MSE@k: squared error on point k predicted from points 0..<k; x ~ U(−5, 5)."]
        print(table.render(format), terminator: "")
    }

    func graphBaselines() throws {
        let distribution: GraphTask.Distribution
        switch graph {
        case "erdos-renyi": distribution = .erdosRenyi(p: p)
        case "dag": distribution = .randomDAG(p: p)
        case "star": distribution = .star(branches: branches, armLength: length)
        case "balanced": distribution = .balanced(maxLookahead: length, branches: branches)
        default: throw ValidationError("unknown --graph '\(graph)'; use erdos-renyi, dag, star or balanced")
        }
        let task = GraphTask(vertices: vertices, distribution: distribution)
        try task.validate()
        var rng = Xoshiro256(seed: seed)
        let batch = task.sampleConnectivity(batch: prompts, queriesPerGraph: 8, using: &rng)
        if let out { try batch.save(to: URL(fileURLWithPath: out)) }
        if let searchOut { try task.sampleSearchPrompts(batch: prompts, using: &rng).save(to: URL(fileURLWithPath: searchOut)) }
        if noTable { return }
        var table = ReportTable(title: "connectivity on \(graph) graphs (\(vertices) vertices, \(prompts) graphs × 8 queries)",
                                columns: ["learner", "step", "accuracy"])
        let squarings = Int(Foundation.log2(Double(max(vertices - 1, 1))).rounded(.up))
        for learner in [ConnectivityLearner.breadthFirstSearch, .booleanSquaring(squarings: squarings), .hops(maxHops: vertices - 1)] {
            let t = learner.trajectory(batch)
            for (label, pred) in zip(t.stepLabels, t.predictions) {
                let correct = zip(pred.scalars, batch.labels.scalars).filter { $0 == $1 }.count
                table.rows.append([.text(t.learner), .text(label), .number(Double(correct) / Double(batch.labels.scalarCount))])
            }
        }
        table.notes = ["Boolean squaring iterate t reaches 2ᵗ hops; ⌈log₂(V − 1)⌉ = \(squarings) squarings decide every query."]
        print(table.render(format), terminator: "")
    }
}
