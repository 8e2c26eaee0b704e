import ArgumentParser
import Analysis
import Experiments
import Foundation
import NumericCore
import Tasks

/// Where the run store is, and so where sweeps put their run directories (beside it).
struct StoreOptions: ParsableArguments {
    @Option(help: "The run store (SQLite); sweeps write their run directories beside it, in DIR/SWEEP/. (default: $ICL_STORE or runs/store.sqlite)")
    var store: String?

    var path: String { store ?? ProcessInfo.processInfo.environment["ICL_STORE"] ?? "runs/store.sqlite" }
    var root: URL { URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent() }
    func open() throws -> RunStore { try RunStore(path: URL(fileURLWithPath: path).standardizedFileURL.path) }
    /// Opens an existing store only (reading commands do not create one by mistake).
    func openExisting() throws -> RunStore {
        guard FileManager.default.fileExists(atPath: path) else { throw TaskError("\(path): no run store there (pass --store)") }
        return try open()
    }
}

/// A sweep given as a file or as a preset name.
struct SweepSource: ParsableArguments {
    @Argument(help: "A sweep file (JSON: name, preset or base, axes, mode, slurm).") var file: String?
    @Option(help: "A named sweep: \(SweepPresets.names.joined(separator: ", ")).") var preset: String?

    func load() throws -> ExpandedSweep {
        switch (file, preset) {
        case (let f?, nil): return try ExpandedSweep.load(from: URL(fileURLWithPath: f))
        case (nil, let p?): return try SweepPresets.named(p)
        default: throw ValidationError("give a sweep file or --preset NAME (one of them)")
        }
    }
}

/// The path of this executable, for workers and batch scripts (when it was rebuilt while running, Linux names
/// the old file "PATH (deleted)": the new one at PATH is used).
var executablePath: String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    return exe.hasSuffix(" (deleted)") ? String(exe.dropLast(" (deleted)".count)) : exe
}

/// Writes the expanded sweep's spec to ROOT/NAME/sweep.json (what workers read) and records it in the store.
func prepare(_ sweep: ExpandedSweep, store: RunStore, root: URL) throws -> URL {
    let dir = root.appendingPathComponent(sweep.name)
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("logs"), withIntermediateDirectories: true)
    let spec = dir.appendingPathComponent("sweep.json")
    if (try? String(contentsOf: spec, encoding: .utf8)) != sweep.specJSON {
        try NumPy.writeAtomically(Data(sweep.specJSON.utf8), to: spec)
    }
    try store.register(sweep: sweep, root: root.path)
    return spec
}

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep", abstract: "Expand a sweep into runs and run them here (--local N) or on Slurm (--slurm).",
        subcommands: [SweepRun.self, SweepStatus.self], defaultSubcommand: SweepRun.self)
}

struct SweepRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run every point of a sweep not yet done in the store (the default subcommand).",
        discussion: """
        Each point is an ordinary run directory (STORE_DIR/SWEEP/INDEX-HASH) plus a row in the store. Points already \
        done (same config hash) are skipped, so running a sweep again resumes it; failed and interrupted points are \
        redone. --local N runs N worker processes here; --slurm submits one job array (`icl run-one` per task) for \
        the points still to do, so running it again resubmits only the failed or missing ones.
        """)
    @OptionGroup var source: SweepSource
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Worker processes on this machine (without --slurm: 1 by default).") var local: Int?
    @Flag(help: "Submit a Slurm job array (sbatch) instead of running here.") var slurm = false
    @Option(help: "Slurm: time limit per task (HH:MM:SS; default from the sweep file, else 01:00:00).") var time: String?
    @Option(help: "Slurm: memory per task (e.g. 4G; default from the sweep file, else 4G).") var memory: String?
    @Option(help: "Slurm: CPUs per task (default from the sweep file, else 2).") var cpus: Int?
    @Option(help: "Slurm: at most this many tasks at once (the array's %N).") var throttle: Int?
    @Option(help: "Slurm: partition.") var partition: String?
    @Flag(help: "Slurm: wait until every submitted task has finished (polls the store and squeue).") var wait = false
    @Flag(help: "Only list the points and what the store says of each.") var dryRun = false
    @Option(help: "Save a resumable checkpoint every this many training steps.") var checkpointEvery: Int = 200

    func validate() throws {
        if let local, local < 1 { throw ValidationError("--local needs N ≥ 1 workers, got \(local)") }
        if slurm && local != nil { throw ValidationError("give either --local N or --slurm, not both") }
        if !slurm && (time != nil || memory != nil || cpus != nil || throttle != nil || partition != nil || wait) {
            throw ValidationError("--time, --memory, --cpus, --throttle, --partition and --wait apply to --slurm")
        }
        if let throttle, throttle < 1 { throw ValidationError("--throttle must be ≥ 1") }
        if let cpus, cpus < 1 { throw ValidationError("--cpus must be ≥ 1") }
        if checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be ≥ 1") }
    }

    func run() throws {
        let sweep = try source.load()
        if dryRun {
            // Reads the store if there is one; creates nothing.
            let exists = FileManager.default.fileExists(atPath: storeOptions.path)
            try printStatus(sweep, store: exists ? try storeOptions.open() : try RunStore(path: ":memory:"))
            return
        }
        let store = try storeOptions.open()
        let root = storeOptions.root
        let spec = try prepare(sweep, store: store, root: root)
        if slurm {
            var o = sweep.slurm
            if let time { o.time = time }
            if let memory { o.memory = memory }
            if let cpus { o.cpus = cpus }
            if let throttle { o.throttle = throttle }
            if let partition { o.partition = partition }
            try SlurmBackend.submit(sweep, spec: spec, store: store, root: root, options: o, wait: wait,
                                    checkpointEvery: checkpointEvery)
        } else {
            try LocalBackend(sweep: sweep, spec: spec, store: store, root: root, workers: local ?? 1,
                             checkpointEvery: checkpointEvery).run()
        }
    }
}

struct SweepStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "What the store (and squeue/sacct, for Slurm submissions) says of each point.")
    @OptionGroup var source: SweepSource
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let sweep = try source.load()
        let store = try storeOptions.openExisting()
        try printStatus(sweep, store: store)
        let jobs = try store.slurmJobs(sweep: sweep.name)
        guard !jobs.isEmpty else { return }
        print("\nSlurm submissions: " + jobs.map { "job \($0.jobID) (points \($0.indices))" }.joined(separator: "; "))
        let ids = jobs.map(\.jobID).joined(separator: ",")
        if let q = SlurmBackend.command("squeue", ["-h", "-r", "-j", ids, "-o", "%i %T %M %R"]) {
            print(q.isEmpty ? "squeue: none of these jobs is queued or running" : "squeue:\n" + q)
        }
        if let a = SlurmBackend.command("sacct", ["-n", "-P", "-X", "-j", ids, "-o", "JobID,State,ExitCode,Elapsed"]), !a.isEmpty {
            print("sacct:\n" + a)
        }
    }
}

/// The point table: index, axis values, status, and the run's error or model error.
func printStatus(_ sweep: ExpandedSweep, store: RunStore) throws {
    let states = try store.pointStatus(sweep)
    var counts: [String: Int] = [:]
    print("| point | " + sweep.axisPaths.joined(separator: " | ") + " | status | run | note |")
    print("|---|" + String(repeating: "---|", count: sweep.axisPaths.count) + "---|---|---|")
    for p in sweep.points {
        let s = states[p.index] ?? ("missing", nil)
        counts[s.status, default: 0] += 1
        let note = s.status == "failed" ? (s.run?.error ?? "") : s.run?.metrics["model_error"].map { "model_error \(Cell.format($0))" } ?? ""
        print("| \(p.index) | " + p.axes.map(\.value).joined(separator: " | ") + " | \(s.status) | \(s.run.map { String($0.id) } ?? "—") | \(note) |")
    }
    let order = ["done", "running", "failed", "interrupted", "missing"]
    print("\n\(sweep.name): \(sweep.points.count) points; " + order.compactMap { k in counts[k].map { "\($0) \(k)" } }.joined(separator: ", "))
}

struct RunOne: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-one", abstract: "Run one point of a sweep file (what local workers and Slurm array tasks call).")
    @Argument(help: "The sweep file.") var sweep: String
    @Argument(help: "The point's index (default: $SLURM_ARRAY_TASK_ID).") var index: Int?
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Save a resumable checkpoint every this many training steps.") var checkpointEvery: Int = 200

    func run() throws {
        guard let i = index ?? ProcessInfo.processInfo.environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init) else {
            throw ValidationError("give the point's INDEX (or run inside a Slurm array task)")
        }
        let s = try ExpandedSweep.load(from: URL(fileURLWithPath: sweep))
        let store = try storeOptions.open()
        switch try SweepWorker.run(sweep: s, index: i, store: store, root: storeOptions.root, codeVersion: ICL.version,
                                   checkpointEvery: checkpointEvery) {
        case .ran(let id): print("\(s.name) point \(i): done (run \(id))")
        case .alreadyDone(let id): print("\(s.name) point \(i): already done (run \(id)); skipped")
        case .busyElsewhere(let host, let pid):
            print("\(s.name) point \(i): running in pid \(pid) on \(host); skipped")
            throw ExitCode(LocalBackend.busyExitCode)
        }
    }
}

/// `--local N`: N `icl run-one` child processes, a progress line, and a summary. A child is a process of its
/// own, so killing this parent (even with -9) leaves the store consistent: a claimed run whose process is gone
/// counts as interrupted and is redone by the next `icl sweep`.
struct LocalBackend {
    /// `run-one`'s exit status when another live process is running the point (try again later).
    static let busyExitCode: Int32 = 75

    var sweep: ExpandedSweep
    var spec: URL
    var store: RunStore
    var root: URL
    var workers: Int
    var checkpointEvery: Int

    func run() throws {
        let states = try store.pointStatus(sweep)
        var queue = sweep.points.map(\.index).filter { states[$0]?.status != "done" }
        let skipped = sweep.points.count - queue.count
        var running: [Int: (process: Process, started: Date)] = [:]
        var retryAt: [Int: Date] = [:]
        var failed: [Int] = []
        var durations: [Double] = []
        let started = Date()
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / workers)
        let children = ChildRegistry()
        let signals = children.forwardSignals()
        defer { signals.cancel() }
        let tty = isatty(2) == 1
        var lastLine = ""
        if skipped > 0 { log("\(sweep.name): \(skipped) of \(sweep.points.count) points already done; skipped") }

        while !queue.isEmpty || !running.isEmpty || !retryAt.isEmpty {
            // Points another live process was running come back when it may have finished.
            for (i, t) in retryAt where t <= Date() { retryAt[i] = nil; queue.append(i) }
            while running.count < workers, !queue.isEmpty {
                let i = queue.removeFirst()
                let p = Process()
                p.executableURL = URL(fileURLWithPath: executablePath)
                p.arguments = ["run-one", spec.path, String(i), "--store", store.path, "--checkpoint-every", String(checkpointEvery)]
                var env = ProcessInfo.processInfo.environment
                if env["ICL_NUM_THREADS"] == nil { env["ICL_NUM_THREADS"] = String(threads) }
                p.environment = env
                let logURL = root.appendingPathComponent(sweep.name).appendingPathComponent("logs").appendingPathComponent("\(i).log")
                _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
                let handle = try FileHandle(forWritingTo: logURL)
                p.standardOutput = handle
                p.standardError = handle
                do { try p.run() } catch {
                    throw TaskError("cannot start a worker (\(executablePath) run-one): \(error.localizedDescription)")
                }
                try? handle.close()
                children.add(p.processIdentifier)
                running[i] = (p, Date())
            }
            Thread.sleep(forTimeInterval: 0.2)
            for (i, r) in running where !r.process.isRunning {
                running[i] = nil
                children.remove(r.process.processIdentifier)
                switch r.process.terminationStatus {
                case 0: durations.append(Date().timeIntervalSince(r.started))
                case LocalBackend.busyExitCode: retryAt[i] = Date().addingTimeInterval(2)
                default: failed.append(i)
                }
            }
            let done = skipped + durations.count
            let left = sweep.points.count - done - failed.count - running.count
            var line = "\(sweep.name): \(done)/\(sweep.points.count) done, \(failed.count) failed, \(running.count) running, \(left) left"
            if !durations.isEmpty {
                let mean = durations.reduce(0, +) / Double(durations.count)
                let eta = mean * Double(left + running.count) / Double(workers)
                line += ", ETA \(LocalBackend.duration(eta))"
            }
            // On a terminal the line is redrawn with the elapsed time; in a log, a line when a count changes.
            let counts = "\(done) \(failed.count) \(running.count)"
            if tty {
                line += " (\(LocalBackend.duration(Date().timeIntervalSince(started))) elapsed)"
                if line != lastLine { FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8)) }
                lastLine = line
            } else if counts != lastLine {
                FileHandle.standardError.write(Data((line + "\n").utf8))
                lastLine = counts
            }
        }
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
        if !failed.isEmpty {
            let final = try store.pointStatus(sweep)
            for i in failed.sorted() {
                log("point \(i) failed: \(final[i]?.run?.error ?? "see \(root.path)/\(sweep.name)/logs/\(i).log")")
            }
            throw TaskError("\(sweep.name): \(failed.count) of \(sweep.points.count) points failed; run the sweep again to redo them")
        }
        print("\(sweep.name): all \(sweep.points.count) points done; store \(store.path)")
    }

    func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(String(format: "%02d", t % 3600 / 60))m" : t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
    }
}

/// The live children's pids, so SIGINT / SIGTERM to the parent reaches them (they record "interrupted").
final class ChildRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var pids = Set<Int32>()
    func add(_ pid: Int32) { lock.lock(); pids.insert(pid); lock.unlock() }
    func remove(_ pid: Int32) { lock.lock(); pids.remove(pid); lock.unlock() }

    func forwardSignals() -> InterruptWatcher {
        InterruptWatcher { [self] sig in
            lock.lock()
            let all = pids
            lock.unlock()
            for p in all { kill(p, SIGTERM) }
            // Give the workers a moment to record "interrupted" (Foundation reaps them, so no waitpid here).
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, all.contains(where: { kill($0, 0) == 0 }) { Thread.sleep(forTimeInterval: 0.05) }
            FileHandle.standardError.write(Data("\nsweep interrupted; run it again to resume\n".utf8))
            exit(128 + sig)
        }
    }
}
