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
        version: ICL.version,
        subcommands: [Compare.self, Train.self, TasksCommand.self, Eval.self, Baselines.self, PresetsCommand.self, BLASCommand.self,
                      SweepCommand.self, RunOne.self, RunsCommand.self],
        defaultSubcommand: nil)

    /// The package version, and the git commit of the checkout the binary was built in when it can be found
    /// (`.build/<config>/icl` inside a git work tree).
    static var version: String {
        let package = "0.6.0"
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let git = dir.appendingPathComponent(".git")
            if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) {
                let ref = head.trimmingCharacters(in: .whitespacesAndNewlines)
                var commit = ref
                if ref.hasPrefix("ref: ") {
                    let name = String(ref.dropFirst(5))
                    commit = (try? String(contentsOf: git.appendingPathComponent(name), encoding: .utf8))?
                        .trimmingCharacters(in: .whitespacesAndNewlines) ?? name
                }
                return "\(package) (commit \(commit.prefix(12)))"
            }
            dir = dir.deletingLastPathComponent()
        }
        return package
    }
}

/// Options shared by commands that resolve a comparison config.
struct ConfigOptions: ParsableArguments {
    @Option(help: "A named preset: \(Presets.names.joined(separator: ", ")) (default flagship; `icl presets` says what each reproduces).")
    var preset: String?
    @Option(help: "A comparison config JSON (e.g. a run directory's config.json).") var config: String?
    @Option(parsing: .unconditional, help: "Override: training steps.") var steps: Int?
    @Option(parsing: .unconditional, help: "Override: training batch size.") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Override: Adam learning rate.") var learningRate: Double?
    @Option(parsing: .unconditional, help: "Override: training and model-initialization seed.") var seed: UInt64?
    @Option(parsing: .unconditional, help: "Override: number of evaluation prompts.") var evalPrompts: Int?

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

/// Refuses an option whose arrays would exceed `ResourceLimits.maxBytes` (`ICL_MAX_MEMORY`), naming it.
func checkSize(_ shape: [Int], _ what: String) throws {
    do { try ResourceLimits.checkAllocation(shape: shape, of: what) } catch let e as ResourceLimitError {
        throw TaskError(e.message)
    }
}

/// Prints numerical warnings on stderr, one line each; under `--strict` any warning is a failure (exit 3).
func report(warnings: [String], strict: Bool) throws {
    for w in warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
    if strict && !warnings.isEmpty {
        FileHandle.standardError.write(Data("icl: \(warnings.count) numerical warning\(warnings.count == 1 ? "" : "s") under --strict\n".utf8))
        throw ExitCode(3)
    }
}

/// What to do with a run directory that already holds something.
struct RunDirectoryOptions: ParsableArguments {
    @Flag(help: "Replace what the --out directory holds.") var overwrite = false
    @Flag(help: "Continue the interrupted run in --out from its last checkpoint (same config), to the same final bits.")
    var resume = false
    @Option(help: "Save a resumable checkpoint every this many training steps.") var checkpointEvery: Int = 200

    func mode() throws -> RunDirectory.Mode {
        if overwrite && resume { throw ValidationError("give either --overwrite or --resume, not both") }
        return overwrite ? .overwrite : resume ? .resume : .fresh
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train (or load) a model and line up each layer with its task family's reference learners.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "Load model weights (.npz) instead of training; the config fixes the architecture.") var model: String?
    @Option(help: "Output format: markdown, csv or json.") var format: ReportTable.Format = .markdown
    @Option(help: "Write a run directory (config.json, model.npz, history.json, report.md, report.json, manifest.json).")
    var out: String?
    @OptionGroup var runOptions: RunDirectoryOptions
    @Flag(help: "No training progress on stderr.") var quiet = false
    @Flag(help: "Fail (exit 3) when a number in the report overflowed or the prompts are at an unsafe scale.") var strict = false

    func validate() throws {
        if model != nil && options.overridesTraining {
            throw ValidationError("--model loads trained weights; --steps, --batch-size and --learning-rate do not apply")
        }
        if out == nil && (runOptions.overwrite || runOptions.resume) { throw ValidationError("--overwrite and --resume need --out") }
        if model != nil && runOptions.resume { throw ValidationError("--resume continues training; --model loads finished weights") }
    }

    func run() throws {
        let config = try options.resolve()
        let report = try Comparison.run(config, modelFile: model.map { URL(fileURLWithPath: $0) },
                                        runDirectory: out.map { URL(fileURLWithPath: $0) }, mode: try runOptions.mode(),
                                        checkpointEvery: runOptions.checkpointEvery, quiet: quiet)
        print(report.render(format), terminator: "")
        try icl.report(warnings: report.warnings, strict: strict)
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a model and write a run directory.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "The run directory to write.") var out: String
    @OptionGroup var runOptions: RunDirectoryOptions
    @Flag(help: "No training progress on stderr.") var quiet = false

    func run() throws {
        let config = try options.resolve()
        let report = try Comparison.run(config, runDirectory: URL(fileURLWithPath: out), mode: try runOptions.mode(),
                                        checkpointEvery: runOptions.checkpointEvery, quiet: quiet)
        let last = report.history?.losses.last.map { Cell.format($0) } ?? "—"
        print("trained \(config.name): final training loss \(last); wrote \(out)/{config.json, model.npz, checkpoint.npz, history.json, report.md, report.json, manifest.json}")
    }
}

struct TasksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tasks", abstract: "Prompt generators.",
                                                    subcommands: [Sample.self])

    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw prompts of any task family and save them as .npz (xs [B,N,D], ys [B,N], and ws [B,D] when known).",
            discussion: """
            Linear regression by default (D = 10, N = 11, x ~ N(0, I), w ~ N(0, I), noiseless). Graph prompts are \
            adjacency rows (x_v = (one-hot v, row v), query (one-hot s, one-hot t)) and also carry the arrays \
            adjacency [B,V,V], pairs [B,1,2], labels [B,1].
            """)
        @Option(help: "Take the task of this preset (other task options override it).") var preset: String?
        @OptionGroup var family: FamilyOptions
        @Option(help: "Prompts B.") var batch: Int = 1000
        @Option(help: "Seed.") var seed: UInt64 = 0
        @Option(help: "Output .npz file.") var out: String

        func run() throws {
            let base = try preset.map { try Presets.named($0).task }
            let task = try family.task(base: base, seed: seed)
            guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1") }
            try checkSize([batch, task.family.pointCount, task.family.inputDimension], "--batch × points × dimension")
            var rng = Xoshiro256(seed: seed)
            let prompts = task.family.samplePrompts(batch: batch, using: &rng)
            var arrays: [(name: String, tensor: Tensor)] = [("xs", prompts.xs), ("ys", prompts.ys)]
            if let ws = prompts.ws { arrays.append(("ws", ws)) }
            if case .graphConnectivity = task {
                let n = prompts.pointCount - 1
                let c = ConnectivityBatch(contextXs: prompts.context(n).xs, queries: prompts.points(n..<(n + 1)).xs,
                                          labels: prompts.points(n..<(n + 1)).ys)
                arrays += [("adjacency", c.adjacency), ("pairs", c.pairs), ("labels", c.labels)]
            }
            try NumPy.save(arrays, npz: URL(fileURLWithPath: out))
            print("wrote \(out) (\(task.familyName)): " + arrays.map { "\($0.name) \($0.tensor.shape)" }.joined(separator: ", "))
        }
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every classical learner (and optionally a trained model) on linear-regression prompts from a .npz file.")
    @Option(help: "Prompts .npz with xs [B,N,D] and ys [B,N] (ws optional).") var prompts: String
    @Option(name: .customLong("run"), help: "A run directory (config.json + model.npz) whose model to include.") var runDirectory: String?
    @Option(help: "Output format: markdown, csv or json.") var format: ReportTable.Format = .markdown
    @Flag(help: "Fail (exit 3) when a number in the table overflowed or the prompts are at an unsafe scale.") var strict = false

    func run() throws {
        let batch = try PromptBatch.load(from: URL(fileURLWithPath: prompts))
        guard batch.pointCount >= 2 else { throw TaskError("\(prompts): prompts need at least 2 points (context and query)") }
        var learners: [(label: String, learner: InContextLearner)] = []
        if let run = runDirectory {
            let dir = URL(fileURLWithPath: run)
            let config = try ExperimentConfig.load(from: dir.appendingPathComponent("config.json"))
            let d = config.task.family.inputDimension
            guard d == batch.dimension else {
                throw TaskError("\(run): the model was trained on \(config.task.familyName) prompts with D = \(d); \(prompts) has D = \(batch.dimension)")
            }
            let model = try Comparison.loadModel(config: config, weights: dir.appendingPathComponent("model.npz"))
            learners.append((model.name, model))
        }
        // Each GD row runs the step size line-searched for its own number of steps.
        for steps in [1, 20] {
            let eta = LineSearch.bestGradientDescentStep(prompts: batch, steps: steps).learningRate
            learners.append(("GD, \(steps) step\(steps == 1 ? "" : "s") (η = \(Cell.format(eta)), line-searched for \(steps))",
                             GradientDescent(steps: steps, learningRate: eta)))
        }
        learners += [("Newton, 8 iterations", IterativeNewton(steps: 8)), ("ridge (λ = 0.1)", Ridge(penalty: 0.1)),
                     ("OLS (min-norm)", LeastSquares()), ("averaging", Averaging()), ("3-nearest neighbours", NearestNeighbours(k: 3))]
        var table = ReportTable(title: "Learners on \(prompts) (B = \(batch.batchSize), N = \(batch.pointCount), D = \(batch.dimension))",
                                columns: ["learner", "query MSE (last point)", "prefix MSE at n = 1", "n = N/2", "n = N−1"])
        let n = batch.pointCount
        for (label, l) in learners {
            let prefix = l.prefixTrajectory(batch)
            let curve = Metrics.errorByContextLength(prefix.final, targets: batch.ys)
            let q = Metrics.meanSquaredError(prefix.final.slice(alongAxis: 1, (n - 1)..<n), batch.ys.slice(alongAxis: 1, (n - 1)..<n))
            table.rows.append([.text(label), .number(q), .number(curve[1]), .number(curve[n / 2]), .number(curve[n - 1])])
        }
        table.notes = ["Each GD row's η is line-searched on these prompts for that many steps, at n = N − 1 examples; each point is predicted from the ones before it."]
        if table.rows.contains(where: { $0.contains { if case .number(let x) = $0 { return !(abs(x) < 1e6) } else { return false } } }) {
            table.notes.append("A huge or non-finite value means a learner diverged there: a fixed step size tuned with N − 1 examples can exceed 2/λ_max of the loss with fewer examples (GD), so its prefix errors at small n blow up.")
        }
        print(table.render(format), terminator: "")
        try icl.report(warnings: NumericalHealth.scaleWarnings(batch, source: prompts) + NumericalHealth.tableWarnings(table), strict: strict)
    }
}

struct PresetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "presets", abstract: "List the named presets.")
    func run() throws {
        for name in Presets.names {
            let c = try Presets.named(name)
            print("\(name) [\(c.task.familyName), \(c.model.kind)]: \(c.summary)")
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
        abstract: "Per-position accuracy (or error) of every reference learner of a task family (no model).",
        discussion: "Families boolean (default), fourier and graph; for linear regression and Gaussian mixtures use `icl tasks sample` and `icl eval`.")
    @OptionGroup var family: FamilyOptions
    @Option(help: "Prompts (graphs: one graph per prompt, 8 queries each).") var prompts: Int = 2000
    @Option(help: "Seed.") var seed: UInt64 = 0
    @Option(help: "Save the prompts as .npz too.") var out: String?
    @Option(help: "graph: also save search prompts (tokens, targets, lookahead) as .npz.") var searchOut: String?
    @Option(help: "Output format: markdown, csv or json.") var format: ReportTable.Format = .markdown
    @Flag(help: "Only draw and save the prompts (--out / --search-out); no evaluation.") var noTable = false

    func validate() throws {
        if noTable && out == nil && searchOut == nil { throw ValidationError("--no-table needs --out (or --search-out) to save the prompts") }
    }

    func run() throws {
        guard prompts >= 1 else { throw ValidationError("--prompts must be ≥ 1") }
        let task = try family.task(defaultFamily: "boolean")
        try checkSize([prompts, task.family.pointCount, task.family.inputDimension], "--prompts × points × dimension")
        if searchOut != nil, task.familyName != "graph" { throw ValidationError("--search-out applies to --family graph only") }
        switch task {
        case .boolean(let t): try booleanBaselines(t)
        case .fourier(let t): try fourierBaselines(t)
        case .graphConnectivity(let t): try graphBaselines(t.graphs)
        default: throw ValidationError("icl baselines covers boolean, fourier and graph; for --family \(task.familyName) use `icl tasks sample` and `icl eval`")
        }
    }

    func booleanBaselines(_ task: BooleanTask) throws {
        var rng = Xoshiro256(seed: seed)
        let batch = task.sample(batch: prompts, using: &rng)
        if let out { try batch.save(to: URL(fileURLWithPath: out)) }
        if noTable { return }
        let points = task.points
        let marks = [1, 5, 10, 20, 40, points / 2, points - 1].filter { $0 >= 1 && $0 < points }
        let positions = Array(Set(marks)).sorted()
        var table = ReportTable(title: "\(task.functionClass.name) (n = \(task.variables), \(points) points, \(prompts) prompts)",
                                columns: ["learner", "mean accuracy"] + positions.map { "acc@\($0)" })
        for learner in BooleanBaselines.learners(for: task.functionClass, conventions: task.conventions) {
            let acc = BooleanMetrics.accuracyByPosition(learner.prefixTrajectory(batch).final, labels: batch.ys,
                                                        conventions: task.conventions)
            table.rows.append([.text(learner.name), .number(acc.reduce(0, +) / Double(acc.count))] + positions.map { .number(acc[$0]) })
        }
        let positive = Double(batch.ys.scalars.filter { $0 > 0 }.count) / Double(batch.ys.scalarCount)
        let ties = task.conventions == .workbench ? "a prediction of 0 counts as wrong" : "a tie (0) scores ½, as the reference code's averaging does"
        table.notes = ["acc@k: accuracy on point k predicted from points 0..<k (\(ties)); conventions: \(task.conventions.rawValue).",
                       "Labels: \(Cell.format(positive)) of all points are +1 (balancing \(task.balanced ? "on" : "off"))."]
        print(table.render(format), terminator: "")
    }

    func fourierBaselines(_ task: FourierTask) throws {
        var rng = Xoshiro256(seed: seed)
        let (batch, frequencies) = task.sample(batch: prompts, using: &rng)
        if let out { try batch.save(to: URL(fileURLWithPath: out)) }
        if noTable { return }
        let points = task.points
        let positions = Array(Set([1, 5, 10, 20, points / 2, points - 1].filter { $0 >= 1 && $0 < points })).sorted()
        let kind = task.frequencyPrior == nil ? "single" : "mixture"
        var table = ReportTable(title: "Fourier \(kind) (max frequency \(task.maxFrequency), \(points) points, \(prompts) prompts)",
                                columns: ["learner"] + positions.map { "MSE@\($0)" })
        let learners: [InContextLearner] = [
            FourierBayes.modelAverage(task),
            FourierBayes.oracle(task, frequencies: frequencies),
            FourierBayes.leastSquares(frequency: task.maxFrequency, constantTerm: task.hasConstantTerm),
            NearestNeighbours(k: 1),
        ]
        for learner in learners {
            let curve = Metrics.errorByContextLength(learner.prefixTrajectory(batch).final, targets: batch.ys)
            table.rows.append([.text(learner.name)] + positions.map { .number(curve[$0]) })
        }
        table.notes = ["MSE@k: squared error on point k predicted from points 0..<k; x ~ U(−\(Cell.format(task.halfPeriod)), \(Cell.format(task.halfPeriod)))."]
        print(table.render(format), terminator: "")
    }

    func graphBaselines(_ task: GraphTask) throws {
        var rng = Xoshiro256(seed: seed)
        let batch = task.sampleConnectivity(batch: prompts, queriesPerGraph: 8, using: &rng)
        if let out { try batch.save(to: URL(fileURLWithPath: out)) }
        if let searchOut { try task.sampleSearchPrompts(batch: prompts, using: &rng).save(to: URL(fileURLWithPath: searchOut)) }
        if noTable { return }
        let vertices = task.vertices
        var table = ReportTable(title: "connectivity on \(task.distribution) graphs (\(vertices) vertices, \(prompts) graphs × 8 queries)",
                                columns: ["learner", "step", "accuracy"])
        let squarings = Int(Foundation.log2(Double(max(vertices - 1, 1))).rounded(.up))
        for learner in [ConnectivityLearner.breadthFirstSearch, .booleanSquaring(squarings: squarings), .hops(maxHops: vertices - 1)] {
            let t = learner.trajectory(batch)
            for (label, pred) in zip(t.stepLabels, t.predictions) {
                let correct = zip(pred.scalars, batch.labels.scalars).filter { $0 == $1 }.count
                table.rows.append([.text(t.learner), .text(label), .number(Double(correct) / Double(batch.labels.scalarCount))])
            }
        }
        let positive = Double(batch.labels.scalars.filter { $0 > 0 }.count) / Double(batch.labels.scalarCount)
        table.notes = ["Boolean squaring iterate t reaches 2ᵗ hops; ⌈log₂(V − 1)⌉ = \(squarings) squarings decide every query.",
                       "Labels: \(Cell.format(positive)) of the queries are reachable (+1)."]
        print(table.render(format), terminator: "")
    }
}
