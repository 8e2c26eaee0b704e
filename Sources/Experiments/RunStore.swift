import Analysis
import Foundation
import Tasks
import Training

/// The run store: one SQLite database that records every run — its config (JSON and hash), code version, seed,
/// machine, process, times, status, training history, per-layer comparison, final metrics and run directory —
/// and which sweep points it answers. Every write is one transaction; any number of processes (local workers,
/// Slurm array tasks) may write at once (WAL, a busy timeout, retried `BEGIN IMMEDIATE`).
///
/// A run is identified by its config hash (everything but `name` and `summary`), so a sweep re-run, or another
/// sweep that contains the same point, finds the run already done. A worker *claims* a run before training it:
/// the claim succeeds when the run is new, failed, interrupted, or `running` in a process that is gone (same
/// host and its pid dead, or a heartbeat older than `staleAfter`), and is refused while it is done or alive
/// elsewhere. So a sweep killed with `kill -9` resumes with every run exactly once.
public final class RunStore {
    public enum Status: String, CaseIterable, Sendable { case running, done, failed, interrupted }

    public let db: SQLiteDatabase
    public var path: String { db.path }
    /// A `running` run whose heartbeat is older than this (seconds) counts as interrupted, wherever it ran.
    public var staleAfter: Double = 300
    /// How often a running worker refreshes its heartbeat (seconds).
    public static let heartbeatInterval: Double = 20

    /// The schema, one migration per version; `PRAGMA user_version` holds how many have been applied.
    /// Append, never edit: a store written by an older icl is brought up to date when opened.
    static let migrations: [String] = [
        // 1: runs, their history, per-layer results, metrics; sweeps and their points.
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            config_hash TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            config_json TEXT NOT NULL,
            code_version TEXT,
            seed INTEGER,
            host TEXT,
            pid INTEGER,
            slurm_job TEXT,
            run_dir TEXT,
            status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            started_at REAL,
            heartbeat_at REAL,
            ended_at REAL,
            metrics_json TEXT);
        CREATE TABLE history (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            step INTEGER NOT NULL, loss REAL, gradient_norm REAL, learning_rate REAL, seconds REAL,
            PRIMARY KEY (run_id, step));
        CREATE TABLE layers (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            layer INTEGER NOT NULL, label TEXT NOT NULL, model_error REAL, closest TEXT,
            PRIMARY KEY (run_id, layer));
        CREATE TABLE layer_matches (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            layer INTEGER NOT NULL, reference TEXT NOT NULL, best_step TEXT, distance REAL, ilwd REAL, cosine REAL,
            PRIMARY KEY (run_id, layer, reference));
        CREATE TABLE metrics (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            name TEXT NOT NULL, value REAL,
            PRIMARY KEY (run_id, name));
        CREATE TABLE sweeps (name TEXT PRIMARY KEY, spec_json TEXT NOT NULL, root TEXT NOT NULL, updated_at REAL NOT NULL);
        CREATE TABLE sweep_points (
            sweep TEXT NOT NULL REFERENCES sweeps(name) ON DELETE CASCADE,
            idx INTEGER NOT NULL, config_hash TEXT NOT NULL, axes_json TEXT NOT NULL,
            PRIMARY KEY (sweep, idx));
        CREATE INDEX sweep_points_hash ON sweep_points(config_hash);
        """,
        // 2: Slurm submissions, so `icl sweep status` can ask squeue/sacct about them.
        """
        CREATE TABLE slurm_jobs (
            sweep TEXT NOT NULL, job_id TEXT NOT NULL, indices TEXT NOT NULL, script TEXT NOT NULL, submitted_at REAL NOT NULL,
            PRIMARY KEY (sweep, job_id));
        """,
    ]
    public static var schemaVersion: Int { migrations.count }

    /// Opens the store at `path` (creating it and its directory), bringing its schema up to date. A new store
    /// is made in WAL mode, or with a rollback journal under `ICL_STORE_JOURNAL=DELETE` (stores on network
    /// filesystems); an existing store keeps its mode unless `ICL_STORE_JOURNAL` says otherwise.
    public init(path: String, migrateTo version: Int = RunStore.schemaVersion) throws {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        let requested = ProcessInfo.processInfo.environment["ICL_STORE_JOURNAL"]
        db = try SQLiteDatabase(path: path, journal: requested ?? ((size ?? 0) == 0 ? "WAL" : nil))
        try migrate(to: version)
    }

    func migrate(to target: Int) throws {
        try db.transaction {
            let current = Int(try db.query("PRAGMA user_version").first?.values.first?.int ?? 0)
            guard current <= RunStore.schemaVersion else {
                throw TaskError("\(path): the run store has schema version \(current); this icl knows up to "
                                + "\(RunStore.schemaVersion) (a newer icl wrote it)")
            }
            guard current < target else { return }
            for v in current..<target {
                for statement in RunStore.migrations[v].split(separator: ";")
                where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    try db.execute(String(statement))
                }
            }
            try db.execute("PRAGMA user_version = \(target)")
        }
    }

    public var version: Int { get throws { Int(try db.query("PRAGMA user_version").first?.values.first?.int ?? 0) } }

    // MARK: identity

    /// The hash that identifies a run: its config less `name` and `summary` (canonical JSON, FNV-1a 64).
    public static func configHash(_ config: ExperimentConfig) -> String {
        var c = config
        c.name = ""
        c.summary = ""
        return RunDirectory.hash(c.jsonData())
    }

    public static var hostName: String { ProcessInfo.processInfo.hostName }
    static var now: Double { Date().timeIntervalSince1970 }

    // MARK: sweeps

    /// Records a sweep and its points (replacing the points of an earlier version of the same sweep).
    public func register(sweep: ExpandedSweep, root: String) throws {
        try db.transaction {
            try db.execute("""
                INSERT INTO sweeps(name, spec_json, root, updated_at) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT(name) DO UPDATE SET spec_json = excluded.spec_json, root = excluded.root, updated_at = excluded.updated_at
                """, [.text(sweep.name), .text(sweep.specJSON), .text(root), .double(RunStore.now)])
            try db.execute("DELETE FROM sweep_points WHERE sweep = ?1", [.text(sweep.name)])
            for p in sweep.points {
                try db.execute("INSERT INTO sweep_points(sweep, idx, config_hash, axes_json) VALUES (?1, ?2, ?3, ?4)",
                               [.text(sweep.name), .int(Int64(p.index)), .text(p.hash), .text(p.axesJSON)])
            }
        }
    }

    // MARK: claiming and finishing a run

    public enum Claim: Equatable {
        /// This process now owns the run (new, or redone after failing or being interrupted).
        case claimed(id: Int64, attempt: Int)
        /// Already finished; nothing to do.
        case done(id: Int64)
        /// Running in a live process elsewhere.
        case busy(id: Int64, host: String, pid: Int64)
    }

    /// Claims the run of `config` for this process (see the type's documentation for the rule).
    public func claim(_ config: ExperimentConfig, runDirectory: String, codeVersion: String,
                      slurmJob: String? = nil, pid: Int32 = ProcessInfo.processInfo.processIdentifier,
                      host: String = RunStore.hostName) throws -> Claim {
        let hash = RunStore.configHash(config)
        let json = String(decoding: config.jsonData(), as: UTF8.self)
        let now = RunStore.now
        return try db.transaction {
            let rows = try db.query("SELECT id, status, host, pid, heartbeat_at, attempts FROM runs WHERE config_hash = ?1", [.text(hash)])
            let common: [SQLValue] = [.text(config.name), .text(json), .text(codeVersion), .int(Int64(config.training.seed)),
                                      .text(host), .int(Int64(pid)), slurmJob.map { .text($0) } ?? .null, .text(runDirectory),
                                      .double(now)]
            guard let row = rows.first else {
                try db.execute("""
                    INSERT INTO runs(config_hash, name, config_json, code_version, seed, host, pid, slurm_job, run_dir,
                                     started_at, heartbeat_at, status, attempts)
                    VALUES (?10, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 'running', 1)
                    """, common + [.text(hash)])
                return .claimed(id: db.lastInsertID, attempt: 1)
            }
            let id = row["id"].int!
            switch Status(rawValue: row["status"].text ?? "") {
            case .done: return .done(id: id)
            case .running where isAlive(host: row["host"].text ?? "", pid: row["pid"].int ?? 0, heartbeat: row["heartbeat_at"].double ?? 0):
                return .busy(id: id, host: row["host"].text ?? "?", pid: row["pid"].int ?? 0)
            default:
                // New attempt: forget the old attempt's partial results.
                for table in ["history", "layers", "layer_matches", "metrics"] {
                    try db.execute("DELETE FROM \(table) WHERE run_id = ?1", [.int(id)])
                }
                let attempt = Int(row["attempts"].int ?? 0) + 1
                try db.execute("""
                    UPDATE runs SET name = ?1, config_json = ?2, code_version = ?3, seed = ?4, host = ?5, pid = ?6,
                        slurm_job = ?7, run_dir = ?8, started_at = ?9, heartbeat_at = ?9, ended_at = NULL, error = NULL,
                        metrics_json = NULL, status = 'running', attempts = ?10
                    WHERE id = ?11
                    """, common + [.int(Int64(attempt)), .int(id)])
                return .claimed(id: id, attempt: attempt)
            }
        }
    }

    /// Whether the process recorded for a `running` run is still at work.
    func isAlive(host: String, pid: Int64, heartbeat: Double) -> Bool {
        if host == RunStore.hostName, let p = Int32(exactly: pid) {
            return RunDirectory.isAlive(p) && RunStore.now - heartbeat < staleAfter
        }
        return RunStore.now - heartbeat < staleAfter
    }

    /// A process that has exited but not been reaped (a worker whose parent was killed, in a container whose
    /// init does not reap) still answers `kill(pid, 0)`; Linux's /proc says it is a zombie.
    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.range(of: ")", options: .backwards) else { return false }
        return stat[close.upperBound...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Refreshes a running run's heartbeat.
    public func heartbeat(id: Int64) throws {
        try db.transaction {
            try db.execute("UPDATE runs SET heartbeat_at = ?1 WHERE id = ?2 AND status = 'running'",
                           [.double(RunStore.now), .int(id)])
        }
    }

    /// What a finished run leaves: its history, per-layer table and metrics.
    public struct Result {
        public var history: TrainingHistory?
        public var layers: [LayerComparison.Row]
        public var metrics: [String: Double]
        public init(history: TrainingHistory?, layers: [LayerComparison.Row], metrics: [String: Double]) {
            self.history = history
            self.layers = layers
            self.metrics = metrics
        }
    }

    /// Records a claimed run as done with its results, in one transaction. Refused when this process no longer
    /// owns the claim (another worker took the run over after this one's heartbeat went stale).
    public func finish(id: Int64, result: Result, pid: Int32 = ProcessInfo.processInfo.processIdentifier,
                       host: String = RunStore.hostName) throws {
        try db.transaction {
            let owner = try db.query("SELECT status, pid, host FROM runs WHERE id = ?1", [.int(id)]).first
            guard let owner, owner["status"].text == "running", owner["pid"].int == Int64(pid), owner["host"].text == host else {
                throw TaskError("run \(id): another worker took this run over; its results are not recorded twice")
            }
            if let h = result.history {
                let rows = h.steps.indices.map { i -> [SQLValue] in
                    func at(_ xs: [Double]) -> SQLValue { i < xs.count ? .double(xs[i]) : .null }
                    return [.int(id), .int(Int64(h.steps[i])), at(h.losses), at(h.gradientNorms), at(h.learningRates), at(h.seconds)]
                }
                try db.executeMany("""
                    INSERT INTO history(run_id, step, loss, gradient_norm, learning_rate, seconds)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    """, rows)
            }
            for (l, row) in result.layers.enumerated() {
                try db.execute("INSERT INTO layers(run_id, layer, label, model_error, closest) VALUES (?1, ?2, ?3, ?4, ?5)",
                               [.int(id), .int(Int64(l + 1)), .text(row.step), .double(row.error), .text(row.verdict.description)])
                for m in row.matches {
                    try db.execute("""
                        INSERT INTO layer_matches(run_id, layer, reference, best_step, distance, ilwd, cosine)
                        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                        """, [.int(id), .int(Int64(l + 1)), .text(m.key), .text(m.match.algorithmLabel), .double(m.match.score),
                              m.ilwd.map { .double($0) } ?? .null, m.cosine.map { .double($0) } ?? .null])
                }
            }
            for (name, value) in result.metrics.sorted(by: { $0.key < $1.key }) {
                try db.execute("INSERT INTO metrics(run_id, name, value) VALUES (?1, ?2, ?3)", [.int(id), .text(name), .double(value)])
            }
            try db.execute("UPDATE runs SET status = 'done', ended_at = ?1, heartbeat_at = ?1, metrics_json = ?2 WHERE id = ?3",
                           [.double(RunStore.now), .text(RunStore.metricsJSON(result.metrics)), .int(id)])
        }
    }

    /// Records a claimed run as failed (with its error) or interrupted.
    public func end(id: Int64, status: Status, error: String? = nil) throws {
        try db.transaction {
            try db.execute("UPDATE runs SET status = ?1, error = ?2, ended_at = ?3 WHERE id = ?4 AND status = 'running'",
                           [.text(status.rawValue), error.map { .text($0) } ?? .null, .double(RunStore.now), .int(id)])
        }
    }

    /// Metrics as JSON with sorted keys and every digit (`Double.description` round-trips).
    static func metricsJSON(_ metrics: [String: Double]) -> String {
        "{" + metrics.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value.isFinite ? $0.value.description : "null")" }
            .joined(separator: ", ") + "}"
    }

    // MARK: reading

    /// One run as the store holds it.
    public struct Run {
        public var id: Int64
        public var hash: String
        public var name: String
        public var status: String
        public var configJSON: String
        public var runDirectory: String?
        public var host: String?
        public var pid: Int64?
        public var slurmJob: String?
        public var codeVersion: String?
        public var seed: Int64?
        public var attempts: Int64
        public var error: String?
        public var startedAt: Double?
        public var endedAt: Double?
        public var metrics: [String: Double]
        /// Sweep memberships: (sweep, index).
        public var points: [(sweep: String, index: Int)] = []
        public var config: Any? { try? JSONSerialization.jsonObject(with: Data(configJSON.utf8)) }
    }

    static let runColumns = "id, config_hash, name, status, config_json, run_dir, host, pid, slurm_job, code_version, "
        + "seed, attempts, error, started_at, ended_at"

    func run(from r: SQLRow) -> Run {
        Run(id: r["id"].int!, hash: r["config_hash"].text ?? "", name: r["name"].text ?? "", status: r["status"].text ?? "",
            configJSON: r["config_json"].text ?? "{}", runDirectory: r["run_dir"].text, host: r["host"].text,
            pid: r["pid"].int, slurmJob: r["slurm_job"].text, codeVersion: r["code_version"].text, seed: r["seed"].int,
            attempts: r["attempts"].int ?? 0, error: r["error"].text, startedAt: r["started_at"].double,
            endedAt: r["ended_at"].double, metrics: [:])
    }

    /// Runs, oldest first, optionally only a sweep's (in point order) or one status.
    public func runs(sweep: String? = nil, status: String? = nil) throws -> [Run] {
        var sql: String
        var params: [SQLValue] = []
        if let sweep {
            sql = "SELECT r.*, p.idx FROM sweep_points p JOIN runs r ON r.config_hash = p.config_hash WHERE p.sweep = ?1"
            params.append(.text(sweep))
            if let status { sql += " AND r.status = ?2"; params.append(.text(status)) }
            sql += " ORDER BY p.idx"
        } else {
            sql = "SELECT \(RunStore.runColumns) FROM runs"
            if let status { sql += " WHERE status = ?1"; params.append(.text(status)) }
            sql += " ORDER BY id"
        }
        var out: [Run] = []
        var byID: [Int64: Int] = [:]
        for r in try db.query(sql, params) {
            if let i = byID[r["id"].int!] {   // one run answering two points of a sweep
                out[i].points.append((sweep!, Int(r["idx"].int!)))
                continue
            }
            var run = run(from: r)
            if let sweep { run.points = [(sweep, Int(r["idx"].int!))] }
            byID[run.id] = out.count
            out.append(run)
        }
        let metrics = sweep == nil ? try db.query("SELECT run_id, name, value FROM metrics")
            : try db.query("""
                SELECT m.run_id, m.name, m.value FROM metrics m
                WHERE m.run_id IN (SELECT r.id FROM sweep_points p JOIN runs r ON r.config_hash = p.config_hash WHERE p.sweep = ?1)
                """, [.text(sweep!)])
        for m in metrics {
            guard let i = byID[m["run_id"].int!] else { continue }
            out[i].metrics[m["name"].text!] = m["value"].double ?? .nan
        }
        return out
    }

    public func run(id: Int64) throws -> Run? {
        guard let r = try db.query("SELECT \(RunStore.runColumns) FROM runs WHERE id = ?1", [.int(id)]).first else { return nil }
        var run = run(from: r)
        for m in try db.query("SELECT name, value FROM metrics WHERE run_id = ?1 ORDER BY name", [.int(id)]) {
            run.metrics[m["name"].text!] = m["value"].double ?? .nan
        }
        run.points = try db.query("SELECT sweep, idx FROM sweep_points WHERE config_hash = ?1 ORDER BY sweep, idx", [.text(run.hash)])
            .map { ($0["sweep"].text!, Int($0["idx"].int!)) }
        return run
    }

    /// The status of every point of an expanded sweep, by index, looked up by config hash (so runs that another
    /// sweep did count, registered or not): "missing" when no run exists yet, "interrupted" for a `running` run
    /// whose process is gone.
    public func pointStatus(_ sweep: ExpandedSweep) throws -> [Int: (status: String, run: Run?)] {
        var byHash: [String: Run] = [:]
        for r in try db.query("SELECT * FROM runs WHERE config_hash IN (SELECT value FROM json_each(?1))",
                              [.text(jsonArray(sweep.points.map(\.hash)))]) {
            let run = run(from: r)
            byHash[run.hash] = run
        }
        var out: [Int: (String, Run?)] = [:]
        for p in sweep.points {
            guard var r = byHash[p.hash] else { out[p.index] = ("missing", nil); continue }
            for m in try db.query("SELECT name, value FROM metrics WHERE run_id = ?1", [.int(r.id)]) {
                r.metrics[m["name"].text!] = m["value"].double ?? .nan
            }
            let alive = r.status == "running"
                ? isAlive(host: r.host ?? "", pid: r.pid ?? 0, heartbeat: try heartbeat(of: r.id)) : true
            out[p.index] = (alive ? r.status : "interrupted", r)
        }
        return out
    }

    func jsonArray(_ strings: [String]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: strings), as: UTF8.self)
    }

    func heartbeat(of id: Int64) throws -> Double {
        try db.query("SELECT heartbeat_at FROM runs WHERE id = ?1", [.int(id)]).first?["heartbeat_at"].double ?? 0
    }

    public func history(id: Int64) throws -> [SQLRow] {
        try db.query("SELECT step, loss, gradient_norm, learning_rate, seconds FROM history WHERE run_id = ?1 ORDER BY step", [.int(id)])
    }

    public func layers(id: Int64) throws -> (layers: [SQLRow], matches: [SQLRow]) {
        (try db.query("SELECT layer, label, model_error, closest FROM layers WHERE run_id = ?1 ORDER BY layer", [.int(id)]),
         try db.query("""
            SELECT layer, reference, best_step, distance, ilwd, cosine FROM layer_matches
            WHERE run_id = ?1 ORDER BY layer, reference
            """, [.int(id)]))
    }

    public func recordSlurmJob(sweep: String, jobID: String, indices: [Int], script: String) throws {
        try db.transaction {
            try db.execute("INSERT OR REPLACE INTO slurm_jobs(sweep, job_id, indices, script, submitted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                           [.text(sweep), .text(jobID), .text(indices.map(String.init).joined(separator: ",")), .text(script),
                            .double(RunStore.now)])
        }
    }

    public func slurmJobs(sweep: String) throws -> [(jobID: String, indices: String)] {
        try db.query("SELECT job_id, indices FROM slurm_jobs WHERE sweep = ?1 ORDER BY submitted_at", [.text(sweep)])
            .map { ($0["job_id"].text!, $0["indices"].text!) }
    }

    /// SQLite's own consistency check ("ok" when the file is sound).
    public func integrityCheck() throws -> String {
        try db.query("PRAGMA integrity_check").map { $0.values.first?.text ?? "" }.joined(separator: "; ")
    }
}
