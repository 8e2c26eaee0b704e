import Experiments
import Foundation
import NumericCore
import Tasks

/// `--slurm`: one `sbatch --array` job for the points still to do, each task `icl run-one SWEEP $SLURM_ARRAY_TASK_ID`.
/// The store must be on a filesystem every node sees (for several nodes on NFS/Lustre, set
/// `ICL_STORE_JOURNAL=DELETE`: SQLite's WAL needs shared memory, which network filesystems do not give).
enum SlurmBackend {
    static func submit(_ sweep: ExpandedSweep, spec: URL, store: RunStore, root: URL, options o: ExpandedSweep.SlurmOptions,
                       wait: Bool, checkpointEvery: Int) throws {
        let states = try store.pointStatus(sweep)
        let todo = sweep.points.map(\.index).filter { i in
            let s = states[i]?.status ?? "missing"
            return s != "done" && s != "running"
        }
        let alive = sweep.points.map(\.index).filter { states[$0]?.status == "running" }
        guard !todo.isEmpty else {
            print("\(sweep.name): nothing to submit (\(sweep.points.count - alive.count) done, \(alive.count) running)")
            if wait && !alive.isEmpty { try waitFor(alive, sweep: sweep, store: store, jobID: nil, since: 0) }
            return
        }
        let dir = root.appendingPathComponent(sweep.name)
        let logs = dir.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let env = ProcessInfo.processInfo.environment
        var lines = [
            "#!/bin/bash",
            "# Written by `icl sweep --slurm` for sweep \(sweep.name): one array task per point still to do.",
            "#SBATCH --job-name=icl-\(sweep.name)",
            "#SBATCH --array=\(arraySpec(todo))\(o.throttle.map { "%\($0)" } ?? "")",
            "#SBATCH --time=\(o.time)",
            "#SBATCH --mem=\(o.memory)",
            "#SBATCH --cpus-per-task=\(o.cpus)",
            "#SBATCH --ntasks=1",
            "#SBATCH --output=\(logs.path)/slurm-%A_%a.log",
        ]
        if let p = o.partition { lines.append("#SBATCH --partition=\(p)") }
        lines += o.extra.map { "#SBATCH \($0)" }
        lines += [
            "export ICL_NUM_THREADS=${SLURM_CPUS_PER_TASK:-\(o.cpus)}",
        ]
        if let journal = env["ICL_STORE_JOURNAL"] { lines.append("export ICL_STORE_JOURNAL=\(journal)") }
        lines.append("exec \(quote(executablePath)) run-one \(quote(spec.path)) \"$SLURM_ARRAY_TASK_ID\" --store \(quote(store.path)) --checkpoint-every \(checkpointEvery)")
        let script = lines.joined(separator: "\n") + "\n"
        let n = (try? FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("array-") }.count) ?? 0
        let scriptURL = dir.appendingPathComponent("array-\(n + 1).sbatch")
        try NumPy.writeAtomically(Data(script.utf8), to: scriptURL)

        let submitted = Date().timeIntervalSince1970
        let (status, out, err) = run("sbatch", ["--parsable", scriptURL.path])
        guard status == 0 else {
            throw TaskError("sbatch failed (exit \(status)): \(err.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last ?? "no message"); the script is \(scriptURL.path)")
        }
        let jobID = String(out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first ?? "")
        try store.recordSlurmJob(sweep: sweep.name, jobID: jobID, indices: todo, script: scriptURL.path)
        print("\(sweep.name): submitted job \(jobID), array of \(todo.count) task\(todo.count == 1 ? "" : "s") (\(scriptURL.path)); `icl sweep status` follows it")
        if wait { try waitFor(todo + alive, sweep: sweep, store: store, jobID: jobID, since: submitted - 1) }
    }

    /// Polls the store until every point of `indices` is done or failed (in an attempt started after `since`: a
    /// resubmitted point still shows its old failure until its task starts), or the job has left the queue.
    static func waitFor(_ indices: [Int], sweep: ExpandedSweep, store: RunStore, jobID: String?, since: Double) throws {
        var lastLine = ""
        var goneSince: Date?
        while true {
            let states = try store.pointStatus(sweep)
            let s = indices.map { i -> String in
                guard let (status, run) = states[i] else { return "missing" }
                return status != "done" && (run?.startedAt ?? 0) < since ? "queued" : status
            }
            let done = s.filter { $0 == "done" }.count, failed = s.filter { $0 == "failed" || $0 == "interrupted" }.count
            let line = "\(sweep.name): \(done)/\(indices.count) done, \(failed) failed, \(indices.count - done - failed) left"
            if line != lastLine { FileHandle.standardError.write(Data((line + "\n").utf8)); lastLine = line }
            if done + failed == indices.count { break }
            if let jobID {
                // The job gone from squeue while points are missing: they will not come (grace for the last writes).
                let queued = command("squeue", ["-h", "-r", "-j", jobID, "-o", "%i"]) ?? ""
                if queued.isEmpty { goneSince = goneSince ?? Date() } else { goneSince = nil }
                if let g = goneSince, Date().timeIntervalSince(g) > 10 { break }
            }
            Thread.sleep(forTimeInterval: 1)
        }
        let states = try store.pointStatus(sweep)
        let bad = indices.filter { states[$0]?.status != "done" }
        guard bad.isEmpty else {
            throw TaskError("\(sweep.name): points \(bad.map(String.init).joined(separator: ", ")) did not finish; `icl sweep status` shows why, `icl sweep --slurm` resubmits them")
        }
        print("\(sweep.name): all \(indices.count) submitted points done")
    }

    /// `0-3,5,7-9`: runs of consecutive indices.
    static func arraySpec(_ indices: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let xs = indices.sorted()
        while i < xs.count {
            var j = i
            while j + 1 < xs.count, xs[j + 1] == xs[j] + 1 { j += 1 }
            parts.append(i == j ? "\(xs[i])" : "\(xs[i])-\(xs[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// Runs a program found on PATH; (exit status, stdout, stderr); status 127 when it is not there.
    static func run(_ program: String, _ args: [String]) -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return (127, "", "\(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// A program's trimmed stdout, or nil when it failed or is not installed.
    static func command(_ program: String, _ args: [String]) -> String? {
        let (status, out, _) = run(program, args)
        return status == 0 ? out.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }
}
