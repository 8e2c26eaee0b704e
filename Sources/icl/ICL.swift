import Analysis
import ArgumentParser
import ClassicalLearners
import Experiments
import Foundation
import Models
import NumericCore
import Tasks
import Training

@main
struct ICL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "icl",
        abstract: "The in-context learning workbench: which algorithm does this transformer run in its forward pass?",
        discussion: """
        Start with `icl presets`, then `icl compare --preset NAME`. Reports, run-directory files, model.npz arrays \
        and the JSON schema: Docs/Outputs.md.

        Environment: ICL_MAX_MEMORY (allocation cap for untrusted sizes, default 1G), ICL_NUM_THREADS (worker \
        threads, default all cores; results do not depend on it), ICL_BLAS_AUTOSELECT=0 (keep OpenBLAS's kernel \
        choice), OPENBLAS_CORETYPE (respected), COLUMNS (width of help and the progress bar).
        """,
        version: ICL.version,
        subcommands: [Compare.self, Train.self, TasksCommand.self, Eval.self, Baselines.self, PresetsCommand.self, BLASCommand.self,
                      SweepCommand.self, RunOne.self, RunsCommand.self],
        defaultSubcommand: nil)

    /// The package version, and the git commit of the checkout the binary was built in when it can be found.
    static var version: String { CodeVersion.description }

    /// ArgumentParser's main, except that every error is one line: it follows a usage error with the command's
    /// usage, which `--help` gives anyway and which buries the message in a log.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }   // --help, --version, exit 3
            FileHandle.standardError.write(Data("Error: \(message(for: error))\n".utf8))
            Foundation.exit(exitCode(for: error).rawValue)
        }
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
    @Option(parsing: .unconditional, help: "Save a resumable checkpoint every this many training steps.") var checkpointEvery: Int = 200

    func mode() throws -> RunDirectory.Mode {
        if overwrite && resume { throw ValidationError("give either --overwrite or --resume, not both") }
        return overwrite ? .overwrite : resume ? .resume : .fresh
    }
}

/// The presets with their one-line summaries, for `--help`.
let presetList = Presets.names.map { "  \($0)\(String(repeating: " ", count: max(1, 30 - $0.count)))\(Presets.tagline($0))" }
    .joined(separator: "\n")

/// How training reports its progress on stderr.
struct ProgressOptions: ParsableArguments {
    @Flag(help: "No training progress on stderr (the same as --progress none).") var quiet = false
    @Option(help: "Training progress on stderr: auto (a bar on a terminal, plain lines otherwise), bar, plain, json (a JSON object a line, for scripts) or none; lines every training.logEvery steps (a tenth of the run if 0).")
    var progress: ProgressMode = .auto

    var silent: Bool { quiet || progress == .none }

    /// The renderer to hand the trainer (nil: silent). Plain and JSON lines come every `logEvery` steps, or
    /// every tenth of the run when the config's `logEvery` is 0.
    func reporter(every: Int, steps: Int) -> ProgressReporter? {
        silent ? nil : ProgressReporter(mode: progress, every: every > 0 ? every : max(steps / 10, 1))
    }
}

extension ProgressMode: ExpressibleByArgument {}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train (or load) a model and line up each layer with its task family's reference learners.",
        discussion: """
        Presets (--preset NAME; flagship when neither --preset nor --config is given; `icl presets` says more):
        \(presetList)

        --format json follows Docs/report.schema.json and --format csv is one tidy table with a `table` column \
        (Docs/Outputs.md lists every key); --out also writes report.csv and one table_<id>.csv per table.
        """)
    @OptionGroup var options: ConfigOptions
    @Option(help: "Load model weights (.npz) instead of training; the config fixes the architecture.") var model: String?
    @Option(help: "Output format: markdown, csv or json (schema in Docs/Outputs.md).") var format: ReportTable.Format = .markdown
    @Option(help: "Write a run directory (config.json, model.npz, history.csv/json, report.md/json/csv/html, figures, manifest.json; Docs/Outputs.md).")
    var out: String?
    @OptionGroup var runOptions: RunDirectoryOptions
    @OptionGroup var progressOptions: ProgressOptions
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
        let progress = progressOptions.reporter(every: config.training.logEvery, steps: config.training.steps)
        defer { progress?.close() }
        let report = try Comparison.run(config, modelFile: model.map { URL(fileURLWithPath: $0) },
                                        runDirectory: out.map { URL(fileURLWithPath: $0) }, mode: try runOptions.mode(),
                                        checkpointEvery: runOptions.checkpointEvery, quiet: progressOptions.silent,
                                        progress: progress.map { p in { p.observe($0) } })
        print(report.render(format), terminator: "")
        try icl.report(warnings: report.warnings, strict: strict)
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model and write a run directory.",
        discussion: "Presets: as `icl compare --help` lists them (flagship by default). The run directory's files are listed in Docs/Outputs.md.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "The run directory to write.") var out: String
    @OptionGroup var runOptions: RunDirectoryOptions
    @OptionGroup var progressOptions: ProgressOptions

    func run() throws {
        let config = try options.resolve()
        let progress = progressOptions.reporter(every: config.training.logEvery, steps: config.training.steps)
        defer { progress?.close() }
        let report = try Comparison.run(config, runDirectory: URL(fileURLWithPath: out), mode: try runOptions.mode(),
                                        checkpointEvery: runOptions.checkpointEvery, quiet: progressOptions.silent,
                                        progress: progress.map { p in { p.observe($0) } })
        let last = report.history?.losses.last.map { Cell.format($0) } ?? "—"
        print("trained \(config.name): final training loss \(last); wrote \(out)/{config.json, model.npz, checkpoint.npz, history.csv, history.json, report.md, report.json, report.csv, manifest.json, …}")
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
        @Option(parsing: .unconditional, help: "Prompts B.") var batch: Int = 1000
        @Option(parsing: .unconditional, help: "Seed of the prompts (and of a pool's tasks).") var seed: UInt64 = 0
        @Option(help: "Output .npz file.") var out: String

        func run() throws {
            let base = try preset.map { try Presets.named($0).task }
            let task = try family.task(base: base, seed: seed)
            guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1, got \(batch)") }
            try checkSize([batch, task.family.pointCount, task.family.inputDimension], "--batch × points × dimension")
            var rng = Xoshiro256(seed: seed)
            if let search = task.graphSearch {
                let s = search.sample(batch: batch, using: &rng)
                try s.save(to: URL(fileURLWithPath: out))
                print("wrote \(out) (\(task.familyName)): tokens \(s.tokens.shape), targets \(s.targets.shape), lookahead \(s.lookahead.shape)")
                return
            }
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
    @Option(help: "Output format: markdown, csv or json (schema in Docs/Outputs.md).") var format: ReportTable.Format = .markdown
    @Flag(help: "Fail (exit 3) when a number in the table overflowed or the prompts are at an unsafe scale.") var strict = false

    func run() throws {
        let batch = try PromptBatch.load(from: URL(fileURLWithPath: prompts))
        guard batch.pointCount >= 2 else { throw TaskError("\(prompts): prompts need at least 2 points (context and query)") }
        var learners: [(label: String, learner: InContextLearner)] = []
        var labels: [Cell] = []
        if let run = runDirectory {
            let dir = URL(fileURLWithPath: run)
            let config = try ExperimentConfig.load(from: dir.appendingPathComponent("config.json"))
            let d = config.task.family.inputDimension
            guard d == batch.dimension else {
                throw TaskError("\(run): the model was trained on \(config.task.familyName) prompts with D = \(d); \(prompts) has D = \(batch.dimension)")
            }
            let model = try Comparison.loadModel(config: config, weights: dir.appendingPathComponent("model.npz"))
            learners.append((model.name, model))
            labels.append(.learner(model.name, id: "model"))
        }
        // Each GD row runs the step size line-searched for its own number of steps.
        for steps in [1, 20] {
            let eta = LineSearch.bestGradientDescentStep(prompts: batch, steps: steps).learningRate
            let label = "GD, \(steps) step\(steps == 1 ? "" : "s") (η = \(Cell.format(eta)), line-searched for \(steps))"
            learners.append((label, GradientDescent(steps: steps, learningRate: eta)))
            labels.append(.learner(label, id: "gd", [.init("steps", Double(steps)), .init("learning_rate", eta)]))
        }
        learners += [("Newton, 8 iterations", IterativeNewton(steps: 8)), ("ridge (λ = 0.1)", Ridge(penalty: 0.1)),
                     ("OLS (min-norm)", LeastSquares()), ("averaging", Averaging()), ("3-nearest neighbours", NearestNeighbours(k: 3))]
        labels += [.learner("Newton, 8 iterations", [.init("steps", 8)]), .learner("ridge (λ = 0.1)", [.init("ridge_penalty", 0.1)]),
                   .learner("OLS (min-norm)"), .learner("averaging"), .learner("3-nearest neighbours", id: "nearest_neighbours", [.init("k", 3)])]
        let n = batch.pointCount
        var table = ReportTable(id: "eval", title: "Learners on \(prompts) (B = \(batch.batchSize), N = \(batch.pointCount), D = \(batch.dimension))",
                                columns: ["learner", "query MSE (last point)", "prefix MSE at n = 1", "n = N/2", "n = N−1"],
                                keys: ["learner", "query_mse", "prefix_mse_at_1", "prefix_mse_at_\(n / 2)", "prefix_mse_at_\(n - 1)"])
        for ((_, l), label) in zip(learners, labels) {
            let prefix = l.prefixTrajectory(batch)
            let curve = Metrics.errorByContextLength(prefix.final, targets: batch.ys)
            let q = Metrics.meanSquaredError(prefix.final.slice(alongAxis: 1, (n - 1)..<n), batch.ys.slice(alongAxis: 1, (n - 1)..<n))
            table.rows.append([label, .number(q), .number(curve[1]), .number(curve[n / 2]), .number(curve[n - 1])])
        }
        table.notes = ["Each GD row's η is line-searched on these prompts for that many steps, at n = N − 1 examples; each point is predicted from the ones before it."]
        if table.rows.contains(where: { $0.contains { if case .number(let x) = $0 { return !(abs(x) < 1e6) } else { return false } } }) {
            table.notes.append("A huge or non-finite value means a learner diverged there: a fixed step size tuned with N − 1 examples can exceed 2/λ_max of the loss with fewer examples (GD), so its prefix errors at small n blow up.")
        }
        let warnings = NumericalHealth.scaleWarnings(batch, source: prompts) + NumericalHealth.tableWarnings(table)
        let config: JSONValue = .object([("prompts", .string(prompts)), ("run", runDirectory.map { .string($0) } ?? .null),
                                         ("batch", .integer(batch.batchSize)), ("points", .integer(n)),
                                         ("dimension", .integer(batch.dimension))])
        print(ReportDocument(command: "eval", config: config.rendered(), tables: [table], warnings: warnings).render(format),
              terminator: "")
        try icl.report(warnings: warnings, strict: strict)
    }
}

struct PresetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "presets", abstract: "List the named presets, one line each.")
    @Flag(help: "Each preset's full summary (what it reproduces) instead of one line.") var details = false
    func run() throws {
        for name in Presets.names {
            let c = try Presets.named(name)
            let pad = String(repeating: " ", count: max(1, 30 - name.count))
            print(details ? "\(name) [\(c.task.familyName), \(c.model.kind)]: \(c.summary)"
                          : "\(name)\(pad)\(Presets.tagline(name))\(name == "flagship" ? " (the default)" : "")")
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
    @Option(parsing: .unconditional, help: "Prompts (graphs: one graph per prompt, 8 queries each).") var prompts: Int = 2000
    @Option(parsing: .unconditional, help: "Seed of the prompts.") var seed: UInt64 = 0
    @Option(help: "Save the prompts as .npz too.") var out: String?
    @Option(help: "graph: also save search prompts (tokens, targets, lookahead) as .npz.") var searchOut: String?
    @Option(help: "Output format: markdown, csv or json (schema in Docs/Outputs.md).") var format: ReportTable.Format = .markdown
    @Flag(help: "Only draw and save the prompts (--out / --search-out); no evaluation.") var noTable = false

    func validate() throws {
        if noTable && out == nil && searchOut == nil { throw ValidationError("--no-table needs --out (or --search-out) to save the prompts") }
    }

    func run() throws {
        guard prompts >= 1 else { throw ValidationError("--prompts must be ≥ 1, got \(prompts)") }
        let task = try family.task(defaultFamily: "boolean")
        try checkSize([prompts, task.family.pointCount, task.family.inputDimension], "--prompts × points × dimension")
        if searchOut != nil, task.familyName != "graph" { throw ValidationError("--search-out applies to --family graph only") }
        let table: ReportTable?
        switch task {
        case .boolean(let t): table = try booleanBaselines(t)
        case .fourier(let t): table = try fourierBaselines(t)
        case .graphConnectivity(let t): table = try graphBaselines(t.graphs)
        default: throw ValidationError("icl baselines covers boolean, fourier and graph; for --family \(task.familyName) use `icl tasks sample` and `icl eval`")
        }
        guard let table else { return }
        // JSON and CSV carry the resolved task and options, so the numbers can be reproduced from the file alone.
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let config: JSONValue = .object([("task", .raw(String(decoding: try enc.encode(task), as: UTF8.self))),
                                         ("prompts", .integer(prompts)), ("seed", .raw(String(seed)))])
        print(ReportDocument(command: "baselines", config: config.rendered(), tables: [table]).render(format), terminator: "")
    }

    func booleanBaselines(_ task: BooleanTask) throws -> ReportTable? {
        var rng = Xoshiro256(seed: seed)
        let batch = task.sample(batch: prompts, using: &rng)
        if let out { try batch.save(to: URL(fileURLWithPath: out)) }
        if noTable { return nil }
        let points = task.points
        let marks = [1, 5, 10, 20, 40, points / 2, points - 1].filter { $0 >= 1 && $0 < points }
        let positions = Array(Set(marks)).sorted()
        var table = ReportTable(id: "baselines", title: "\(task.functionClass.name) (n = \(task.variables), \(points) points, \(prompts) prompts)",
                                columns: ["learner", "mean accuracy"] + positions.map { "acc@\($0)" })
        for learner in BooleanBaselines.learners(for: task.functionClass, conventions: task.conventions) {
            let acc = BooleanMetrics.accuracyByPosition(learner.prefixTrajectory(batch).final, labels: batch.ys,
                                                        conventions: task.conventions)
            table.rows.append([.learner(learner.name), .number(acc.reduce(0, +) / Double(acc.count))] + positions.map { .number(acc[$0]) })
        }
        let positive = Double(batch.ys.scalars.filter { $0 > 0 }.count) / Double(batch.ys.scalarCount)
        let ties = task.conventions == .workbench ? "a prediction of 0 counts as wrong" : "a tie (0) scores ½, as the reference code's averaging does"
        table.notes = ["acc@k: accuracy on point k predicted from points 0..<k (\(ties)); conventions: \(task.conventions.rawValue).",
                       "Labels: \(Cell.format(positive)) of all points are +1 (balancing \(task.balanced ? "on" : "off"))."]
        return table
    }

    func fourierBaselines(_ task: FourierTask) throws -> ReportTable? {
        var rng = Xoshiro256(seed: seed)
        let (batch, frequencies) = task.sample(batch: prompts, using: &rng)
        if let out { try batch.save(to: URL(fileURLWithPath: out)) }
        if noTable { return nil }
        let points = task.points
        let positions = Array(Set([1, 5, 10, 20, points / 2, points - 1].filter { $0 >= 1 && $0 < points })).sorted()
        let kind = task.frequencyPrior == nil ? "single" : "mixture"
        var table = ReportTable(id: "baselines", title: "Fourier \(kind) (max frequency \(task.maxFrequency), \(points) points, \(prompts) prompts)",
                                columns: ["learner"] + positions.map { "MSE@\($0)" })
        let learners: [InContextLearner] = [
            FourierBayes.modelAverage(task),
            FourierBayes.oracle(task, frequencies: frequencies),
            FourierBayes.leastSquares(frequency: task.maxFrequency, constantTerm: task.hasConstantTerm),
            NearestNeighbours(k: 1),
        ]
        for learner in learners {
            let curve = Metrics.errorByContextLength(learner.prefixTrajectory(batch).final, targets: batch.ys)
            table.rows.append([.learner(learner.name)] + positions.map { .number(curve[$0]) })
        }
        table.notes = ["MSE@k: squared error on point k predicted from points 0..<k; x ~ U(−\(Cell.format(task.halfPeriod)), \(Cell.format(task.halfPeriod)))."]
        return table
    }

    func graphBaselines(_ task: GraphTask) throws -> ReportTable? {
        var rng = Xoshiro256(seed: seed)
        let batch = task.sampleConnectivity(batch: prompts, queriesPerGraph: 8, using: &rng)
        if let out { try batch.save(to: URL(fileURLWithPath: out)) }
        if let searchOut { try task.sampleSearchPrompts(batch: prompts, using: &rng).save(to: URL(fileURLWithPath: searchOut)) }
        if noTable { return nil }
        let vertices = task.vertices
        var table = ReportTable(id: "baselines", title: "connectivity on \(task.distribution) graphs (\(vertices) vertices, \(prompts) graphs × 8 queries)",
                                columns: ["learner", "step", "accuracy"])
        let squarings = Int(Foundation.log2(Double(max(vertices - 1, 1))).rounded(.up))
        for learner in [ConnectivityLearner.breadthFirstSearch, .booleanSquaring(squarings: squarings), .hops(maxHops: vertices - 1)] {
            let t = learner.trajectory(batch)
            for (s, (label, pred)) in zip(t.stepLabels, t.predictions).enumerated() {
                let correct = zip(pred.scalars, batch.labels.scalars).filter { $0 == $1 }.count
                table.rows.append([.learner(t.learner), .step(label, t.stepValues[s]), .number(Double(correct) / Double(batch.labels.scalarCount))])
            }
        }
        let positive = Double(batch.labels.scalars.filter { $0 > 0 }.count) / Double(batch.labels.scalarCount)
        table.notes = ["Boolean squaring iterate t reaches 2ᵗ hops; ⌈log₂(V − 1)⌉ = \(squarings) squarings decide every query.",
                       "Labels: \(Cell.format(positive)) of the queries are reachable (+1)."]
        return table
    }
}
