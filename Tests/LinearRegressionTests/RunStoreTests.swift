import Experiments
import Foundation
import Tasks
import Training
import XCTest

/// The run store as a library: migrations, the claim rule, and sweep expansion.
final class RunStoreTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("icl-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testMigrationsBringAnOldStoreUpToDateAndANewerOneIsRefused() throws {
        let path = dir.appendingPathComponent("s.sqlite").path
        do {
            let v1 = try RunStore(path: path, migrateTo: 1)
            XCTAssertEqual(try v1.version, 1)
            XCTAssertThrowsError(try v1.slurmJobs(sweep: "x"), "version 1 has no slurm_jobs table")
            let config = try Presets.named("ci-tiny")
            guard case .claimed(let id, 1) = try v1.claim(config, runDirectory: "d", codeVersion: "v1") else { return XCTFail() }
            try v1.finish(id: id, result: RunStore.Result(history: nil, layers: [], metrics: ["m": 1.5]))
        }
        let now = try RunStore(path: path)
        XCTAssertEqual(try now.version, RunStore.schemaVersion)
        XCTAssertEqual(try now.slurmJobs(sweep: "x").count, 0)
        XCTAssertEqual(try now.runs().map(\.metrics), [["m": 1.5]], "rows written under version 1 survive the migration")
        try now.db.execute("PRAGMA user_version = 99")
        XCTAssertThrowsError(try RunStore(path: path)) { XCTAssertTrue("\($0)".contains("schema version 99"), "\($0)") }
    }

    func testClaimRule() throws {
        let store = try RunStore(path: dir.appendingPathComponent("s.sqlite").path)
        let config = try Presets.named("ci-tiny")
        let me = ProcessInfo.processInfo.processIdentifier
        guard case .claimed(let id, 1) = try store.claim(config, runDirectory: "d", codeVersion: "t") else { return XCTFail() }
        // The name is not part of a run's identity; a live owner keeps it.
        var renamed = config
        renamed.name = "other name"
        XCTAssertEqual(try store.claim(renamed, runDirectory: "d", codeVersion: "t", pid: me + 1),
                       .busy(id: id, host: RunStore.hostName, pid: Int64(me)))
        // Results can only be written by the owner.
        XCTAssertThrowsError(try store.finish(id: id, result: .init(history: nil, layers: [], metrics: [:]), pid: me + 1))
        // An owner that is gone (a pid that exited) leaves the run to the next claim: a second attempt.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        try store.db.execute("UPDATE runs SET pid = ?1", [.int(Int64(gone.processIdentifier))])
        XCTAssertEqual(try store.claim(config, runDirectory: "d", codeVersion: "t"), .claimed(id: id, attempt: 2))
        // A stale heartbeat counts as gone on another host too.
        try store.db.execute("UPDATE runs SET host = 'elsewhere', heartbeat_at = heartbeat_at - 1000")
        XCTAssertEqual(try store.claim(config, runDirectory: "d", codeVersion: "t"), .claimed(id: id, attempt: 3))
        var h = TrainingHistory()
        h.steps = [0, 1]
        h.losses = [2, 1]
        try store.finish(id: id, result: .init(history: h, layers: [], metrics: ["model_error": 0.25]))
        XCTAssertEqual(try store.claim(config, runDirectory: "d", codeVersion: "t"), .done(id: id))
        XCTAssertEqual(try store.history(id: id).map { $0["loss"].double }, [2, 1])
        // A failed run is redone by the next claim, its old results forgotten.
        try store.db.execute("UPDATE runs SET status = 'failed'")
        XCTAssertEqual(try store.claim(config, runDirectory: "d", codeVersion: "t"), .claimed(id: id, attempt: 4))
        XCTAssertEqual(try store.history(id: id).count, 0)
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testSweepExpansionProductZipAndErrors() throws {
        func expand(_ json: String) throws -> ExpandedSweep { try ExpandedSweep.expand(Data(json.utf8), source: "s.json") }
        let product = try expand("""
            {"name": "p", "preset": "ci-tiny", "set": {"training.steps": 50},
             "axes": [{"path": "model.layers", "values": [1, 2, 3]}, {"path": "seed", "values": [0, 7]}]}
            """)
        XCTAssertEqual(product.points.count, 6)
        // Row-major, the last axis fastest; "seed" sets both seeds; "set" applies to every point.
        XCTAssertEqual(product.points.map(\.config.model.layers), [1, 1, 2, 2, 3, 3])
        XCTAssertEqual(product.points.map(\.config.training.seed), [0, 7, 0, 7, 0, 7])
        XCTAssertEqual(product.points.map(\.config.modelSeed), [0, 7, 0, 7, 0, 7])
        XCTAssertTrue(product.points.allSatisfy { $0.config.training.steps == 50 })
        XCTAssertEqual(Set(product.points.map(\.hash)).count, 6)
        let zipped = try expand("""
            {"name": "z", "preset": "ci-tiny", "mode": "zip",
             "axes": [{"path": "model.layers", "values": [1, 2]}, {"path": "seed", "values": [0, 7]}]}
            """)
        XCTAssertEqual(zipped.points.map { [$0.config.model.layers, Int($0.config.modelSeed)] }, [[1, 0], [2, 7]])
        let errors = [
            (#"{"name": "x", "preset": "ci-tiny", "axes": [{"path": "model.layerz", "values": [1]}]}"#, "unknown key 'model.layerz'"),
            (#"{"name": "x", "preset": "ci-tiny", "axes": [{"path": "model.layers", "values": [2, 2]}]}"#, "points 0 and 1 are the same run"),
            (#"{"name": "x", "preset": "nope"}"#, "unknown preset"),
            (#"{"name": "x/y", "preset": "ci-tiny"}"#, "'name' must be"),
            (#"{"name": "x", "preset": "ci-tiny", "axis": []}"#, "unknown key 'axis'"),
            (#"{"name": "x", "preset": "ci-tiny", "mode": "zip", "axes": [{"path": "seed", "values": [1]}, {"path": "model.layers", "values": [1, 2]}]}"#, "one length"),
            (#"{"name": "x", "preset": "ci-tiny", "axes": [{"path": "model.layers", "values": [0]}]}"#, "point 0 (model.layers=0): model: layers"),
        ]
        for (json, expected) in errors {
            XCTAssertThrowsError(try expand(json), json) { XCTAssertTrue("\($0)".contains(expected), "\($0) should contain \(expected)") }
        }
        for name in SweepPresets.names { XCTAssertGreaterThan(try SweepPresets.named(name).points.count, 1, name) }
    }
}
