import Experiments
import Foundation
import NumericCore
import XCTest

/// Sweeps end to end through the `icl` binary: concurrent writers, kill -9 and resume, the runs commands, Slurm.
final class SweepTests: CLITestCase {
    var storePath: String { dir.appendingPathComponent("store.sqlite").path }

    func writeSweep(_ name: String, steps: Int, seeds: [Int], layers: [Int] = [1]) throws -> String {
        let file = dir.appendingPathComponent("\(name).json")
        try Data("""
            {"name": "\(name)", "preset": "ci-tiny", "set": {"training.steps": \(steps)},
             "axes": [{"path": "model.layers", "values": \(layers)}, {"path": "seed", "values": \(seeds)}]}
            """.utf8).write(to: file)
        return file.path
    }

    /// Eight processes race for the same 40 runs, each claiming and finishing through the workers' code path:
    /// every run is recorded exactly once, with all of its history, and the file stays sound.
    /// Both journal modes: WAL (the default) and DELETE (for stores on network filesystems).
    func testEightConcurrentWritersNeverLoseOrDuplicateARow() throws {
        for journal in ["WAL", "DELETE"] { try raceWriters(journal: journal) }
    }

    func raceWriters(journal: String) throws {
        let storePath = dir.appendingPathComponent("\(journal)/store.sqlite").path
        let (writers, rows, steps) = (8, 40, 100)
        let procs = try (0..<writers).map { w in
            let p = Process()
            p.executableURL = binary
            p.arguments = ["runs", "stress-writer", "--store", storePath, "--rows", "\(rows)", "--steps", "\(steps)", "--writer", "\(w)"]
            p.environment = ProcessInfo.processInfo.environment.merging(["ICL_STORE_JOURNAL": journal]) { $1 }
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            return (process: p, out: out, err: err)
        }
        var claimed = 0
        for p in procs {
            let r = finish(p)
            XCTAssertEqual(r.status, 0, r.err)
            claimed += Int(r.out.split(separator: " ").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "") ?? -1000
        }
        XCTAssertEqual(claimed, rows, "each run claimed by exactly one writer")
        let store = try RunStore(path: storePath)
        XCTAssertEqual(try store.integrityCheck(), "ok")
        XCTAssertEqual(try store.db.query("PRAGMA journal_mode").first?.values.first?.text?.uppercased(), journal)
        let runs = try store.runs()
        XCTAssertEqual(runs.count, rows)
        XCTAssertTrue(runs.allSatisfy { $0.status == "done" && $0.attempts == 1 })
        XCTAssertEqual(Set(runs.compactMap { $0.metrics["k"] }), Set((0..<rows).map(Double.init)))
        let history = try store.db.query("SELECT COUNT(*) AS n, COUNT(DISTINCT run_id) AS r FROM history").first!
        XCTAssertEqual(history["n"].int, Int64(rows * steps))
        XCTAssertEqual(history["r"].int, Int64(rows))
    }

    /// A local sweep killed with -9 (the parent and its workers) resumes: every point exactly once, done, and
    /// with the same metrics, bit for bit, as the same sweep run without interruption.
    func testLocalSweepKilledWithSIGKILLResumesEveryRunExactlyOnce() throws {
        let sweep = try writeSweep("killed", steps: 2500, seeds: [0, 1, 2, 3, 4])
        let parent = try start(["sweep", sweep, "--local", "2", "--store", storePath, "--checkpoint-every", "100"])
        // Wait until one run is done and another is running, then kill everything.
        var store: RunStore?
        let deadline = Date().addingTimeInterval(120)
        var killedWorkers: [Int64] = []
        while Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            if store == nil, FileManager.default.fileExists(atPath: storePath) { store = try? RunStore(path: storePath) }
            guard let s = store, let runs = try? s.runs() else { continue }
            let running = runs.filter { $0.status == "running" }
            if runs.contains(where: { $0.status == "done" }) && !running.isEmpty {
                kill(parent.process.processIdentifier, SIGKILL)
                killedWorkers = running.compactMap(\.pid)
                for pid in killedWorkers { kill(Int32(pid), SIGKILL) }
                break
            }
        }
        _ = finish(parent)
        XCTAssertFalse(killedWorkers.isEmpty, "the sweep was killed while a worker was training")
        let before = try XCTUnwrap(store).runs()
        XCTAssertTrue(before.contains { $0.status == "running" }, "the killed workers left rows marked running")
        XCTAssertLessThan(before.filter { $0.status == "done" }.count, 5)

        let resumed = try icl(["sweep", sweep, "--local", "2", "--store", storePath, "--checkpoint-every", "100"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        let after = try RunStore(path: storePath).runs(sweep: "killed")
        XCTAssertEqual(after.count, 5)
        XCTAssertEqual(after.map { $0.points.map(\.index) }, [[0], [1], [2], [3], [4]], "each point answered by one run")
        XCTAssertTrue(after.allSatisfy { $0.status == "done" })
        XCTAssertTrue(after.contains { $0.attempts == 2 }, "an interrupted run was redone")
        XCTAssertEqual(try RunStore(path: storePath).db.query("SELECT COUNT(*) AS n FROM history").first?["n"].int, 5 * 2500)

        // The same sweep, uninterrupted, in another store: identical metrics (training resumes to the same bits).
        let other = dir.appendingPathComponent("other/store.sqlite").path
        let clean = try icl(["sweep", sweep, "--local", "1", "--store", other])
        XCTAssertEqual(clean.status, 0, clean.err)
        let reference = try RunStore(path: other).runs(sweep: "killed")
        XCTAssertEqual(after.map(\.metrics), reference.map(\.metrics))
        XCTAssertEqual(after.map(\.hash), reference.map(\.hash))
    }

    /// Two sweeps of the same points at once share the work (a point running in the other is waited for, not
    /// run twice); SIGTERM to a sweep reaches its worker, which records the run as interrupted.
    func testTwoSweepsShareTheWorkAndSIGTERMRecordsInterrupted() throws {
        let sweep = try writeSweep("shared", steps: 1500, seeds: [0, 1, 2])
        let a = try start(["sweep", sweep, "--local", "1", "--store", storePath])
        Thread.sleep(forTimeInterval: 0.3)
        let b = try start(["sweep", sweep, "--local", "1", "--store", storePath])
        let (ra, rb) = (finish(a), finish(b))
        XCTAssertEqual(ra.status, 0, ra.err)
        XCTAssertEqual(rb.status, 0, rb.err)
        let runs = try RunStore(path: storePath).runs(sweep: "shared")
        XCTAssertEqual(runs.count, 3)
        XCTAssertTrue(runs.allSatisfy { $0.status == "done" && $0.attempts == 1 }, "\(runs.map { ($0.status, $0.attempts) })")

        let slow = try writeSweep("stopped", steps: 100_000, seeds: [0])
        let c = try start(["sweep", slow, "--local", "1", "--store", storePath])
        let store = try RunStore(path: storePath)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? store.runs(sweep: "stopped").first?.status) != "running" { Thread.sleep(forTimeInterval: 0.05) }
        kill(c.process.processIdentifier, SIGTERM)
        let rc = finish(c)
        XCTAssertEqual(rc.status, 128 + SIGTERM, rc.err)
        let stopped = try XCTUnwrap(store.runs(sweep: "stopped").first)
        XCTAssertEqual(stopped.status, "interrupted")
        XCTAssertEqual(stopped.error, "signal \(SIGTERM)")
    }

    /// `icl runs list / show / table / export / plot` read back what a sweep wrote.
    func testRunsCommandsReadTheStore() throws {
        let sweep = try writeSweep("small", steps: 100, seeds: [0, 1], layers: [1, 2])
        let r = try icl(["sweep", sweep, "--local", "2", "--store", storePath])
        XCTAssertEqual(r.status, 0, r.err)
        let again = try icl(["sweep", sweep, "--local", "2", "--store", storePath])
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertTrue(again.err.contains("4 of 4 points already done; skipped"), again.err)
        // Another sweep containing the same runs (by config hash) finds them done, before it is ever run.
        let renamed = try String(contentsOfFile: sweep, encoding: .utf8).replacingOccurrences(of: "\"small\"", with: "\"again\"")
        let other = dir.appendingPathComponent("again.json").path
        try renamed.write(toFile: other, atomically: true, encoding: .utf8)
        let dry = try icl(["sweep", other, "--dry-run", "--store", storePath])
        XCTAssertTrue(dry.out.contains("again: 4 points; 4 done"), dry.out)

        let list = try icl(["runs", "list", "--store", storePath, "--sweep", "small", "--where", "model.layers=2"])
        XCTAssertEqual(list.status, 0, list.err)
        XCTAssertTrue(list.out.hasSuffix("2 runs\n"), list.out)
        let table = try icl(["runs", "table", "--store", storePath, "--sweep", "small", "--metrics", "model_error,final_loss",
                             "--format", "csv"])
        XCTAssertEqual(table.status, 0, table.err)
        let lines = table.out.split(separator: "\n")
        // CSV headers are identifiers (the report schema's rule: "model.layers" → "model_layers").
        XCTAssertEqual(lines.first, "id,status,model_layers,seed,model_error,final_loss")
        XCTAssertEqual(lines.count, 5)
        // The table agrees with the run directory's report.json (the store holds the same numbers).
        let store = try RunStore(path: storePath)
        let run = try XCTUnwrap(store.runs(sweep: "small").first)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run.runDirectory! + "/report.json"))) as! [String: Any]
        let rows = ((report["tables"] as! [String: Any])["layers"] as! [String: Any])["rows"] as! [[String: Any]]
        // 2 ulps: Foundation's JSON parser on Linux is not correctly rounded in the last bit (the store holds the
        // Double itself).
        let fromReport = try XCTUnwrap(rows.last?["model_mse"] as? Double)
        XCTAssertEqual(fromReport, run.metrics["model_error"]!, accuracy: 2 * fromReport.ulp, "report.json and the store agree")

        // The per-layer table and the metrics agree: the last layer's GD match is gd_step / gd_distance.
        let gdLast = try XCTUnwrap(store.layers(id: run.id).matches.filter { $0["reference"].text == "GD" }.last)
        XCTAssertEqual(run.metrics["gd_step"], Double(gdLast["best_step"].text ?? ""))
        XCTAssertEqual(run.metrics["gd_distance"], gdLast["distance"].double)
        let show = try icl(["runs", "show", "\(run.id)", "--store", storePath])
        XCTAssertEqual(show.status, 0, show.err)
        for s in ["status: done", "training: 100 steps", "model_error = ", "| layer 1 |", "\"modelSeed\""] {
            XCTAssertTrue(show.out.contains(s), "show lacks \(s):\n\(show.out)")
        }
        let csv = dir.appendingPathComponent("t.csv").path, npz = dir.appendingPathComponent("t.npz").path
        XCTAssertEqual(try icl(["runs", "export", "--store", storePath, "--sweep", "small", "--out", csv]).status, 0)
        let exported = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(exported.count, 5)
        let e = try icl(["runs", "export", "--store", storePath, "--sweep", "small", "--out", npz])
        XCTAssertEqual(e.status, 0, e.err)
        XCTAssertTrue(e.out.contains("text columns left out: status"), e.out)
        // Histories as [R, S] arrays: the store's loss, step for step, is the run directory's history.
        let hist = dir.appendingPathComponent("h.npz")
        XCTAssertEqual(try icl(["runs", "export", "--history", "--store", storePath, "--sweep", "small", "--out", hist.path]).status, 0)
        let arrays = try NumPy.load(npz: hist)
        XCTAssertEqual(arrays["loss"]?.shape, [4, 100])
        let csvHistory = try String(contentsOfFile: run.runDirectory! + "/history.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        let losses = csvHistory.map { Double($0.split(separator: ",")[1])! }
        XCTAssertEqual(Array(arrays["loss"]!.scalars[0..<100]), losses, "the first run's loss at every step")
        let svg = dir.appendingPathComponent("p.svg").path
        let p = try icl(["runs", "plot", "--store", storePath, "--sweep", "small", "--x", "seed", "--y", "model_error", "--out", svg])
        XCTAssertEqual(p.status, 0, p.err)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.contains("model.layers=1") && text.contains("model.layers=2"), "one line per other axis value")

        // Bad input: one error line, non-zero exit, nothing written.
        for (args, expected) in [(["runs", "list", "--store", dir.appendingPathComponent("none.sqlite").path], "no run store there"),
                                 (["runs", "table", "--store", storePath, "--status", "finished"], "--status must be"),
                                 (["runs", "export", "--store", storePath, "--out", dir.appendingPathComponent("x.txt").path], "must end in .npz or .csv"),
                                 (["runs", "plot", "--store", storePath, "--x", "seed", "--y", "nope", "--out", dir.appendingPathComponent("q.svg").path], "no run has metric nope"),
                                 (["sweep", "--store", storePath], "give a sweep file or --preset")] {
            let b = try icl(args)
            XCTAssertNotEqual(b.status, 0, "\(args)")
            XCTAssertTrue(b.err.contains(expected), "\(args): \(b.err)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("q.svg").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("none.sqlite").path))
    }

    /// The same sweep through a real Slurm (`scripts/slurm-local.sh start`, as `.ci/run` does) and through
    /// `--local`: every point lands in the store with identical metrics; a failed point is resubmitted alone.
    func testSlurmBackendMatchesLocalAndResubmitsOnlyWhatFailed() throws {
        let sinfo = Process()
        sinfo.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sinfo.arguments = ["sinfo", "-h", "-o", "%T"]
        let pipe = Pipe()
        sinfo.standardOutput = pipe
        sinfo.standardError = Pipe()
        try sinfo.run()
        let states = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        sinfo.waitUntilExit()
        guard sinfo.terminationStatus == 0, states.contains("idle") || states.contains("mixed") || states.contains("alloc") else {
            throw XCTSkip("SKIPPED: no Slurm cluster answers here (sinfo: exit \(sinfo.terminationStatus)); start one with `bash scripts/slurm-local.sh start` (as .ci/run does)")
        }
        let sweep = try writeSweep("viaslurm", steps: 150, seeds: [0, 1], layers: [1, 2])
        let slurmStore = dir.appendingPathComponent("slurm/store.sqlite").path
        let s = try icl(["sweep", sweep, "--slurm", "--wait", "--memory", "500M", "--time", "00:05:00", "--throttle", "2",
                         "--store", slurmStore])
        XCTAssertEqual(s.status, 0, s.err + s.out)
        let l = try icl(["sweep", sweep, "--local", "2", "--store", storePath])
        XCTAssertEqual(l.status, 0, l.err)
        let viaSlurm = try RunStore(path: slurmStore).runs(sweep: "viaslurm"), local = try RunStore(path: storePath).runs(sweep: "viaslurm")
        XCTAssertEqual(viaSlurm.count, 4)
        XCTAssertTrue(viaSlurm.allSatisfy { $0.status == "done" && $0.slurmJob != nil }, "\(viaSlurm.map(\.slurmJob))")
        XCTAssertEqual(viaSlurm.map(\.hash), local.map(\.hash))
        XCTAssertEqual(viaSlurm.map(\.metrics), local.map(\.metrics), "bit-identical results on both backends")
        XCTAssertFalse(viaSlurm[0].metrics.isEmpty)

        // One point marked failed: the next --slurm submits exactly that one.
        let store = try RunStore(path: slurmStore)
        try store.db.execute("UPDATE runs SET status = 'failed', error = 'test' WHERE id = ?1", [.int(viaSlurm[2].id)])
        let again = try icl(["sweep", sweep, "--slurm", "--wait", "--memory", "500M", "--store", slurmStore])
        XCTAssertEqual(again.status, 0, again.err + again.out)
        XCTAssertTrue(again.out.contains("array of 1 task"), again.out)
        let script = try String(contentsOfFile: dir.appendingPathComponent("slurm/viaslurm/array-2.sbatch").path, encoding: .utf8)
        XCTAssertTrue(script.contains("#SBATCH --array=2\n"), script)
        let redone = try RunStore(path: slurmStore).runs(sweep: "viaslurm")
        XCTAssertEqual(redone.map(\.metrics), local.map(\.metrics))
        XCTAssertEqual(redone[2].attempts, 2)
        let status = try icl(["sweep", "status", sweep, "--store", slurmStore])
        XCTAssertTrue(status.out.contains("viaslurm: 4 points; 4 done"), status.out)
        XCTAssertTrue(status.out.contains("Slurm submissions: job"), status.out)
    }
}
