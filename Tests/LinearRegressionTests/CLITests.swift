import Foundation
import NumericCore
import XCTest

/// Runs the `icl` executable built next to the test bundle, in a fresh temporary directory per test.
class CLITestCase: XCTestCase {
    var binary: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("icl") }
    var dir: URL!

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw XCTSkip("icl is not built next to the test bundle (build with `swift build --build-tests`)")
        }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("icl-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func start(_ args: [String]) throws -> (process: Process, out: Pipe, err: Pipe) {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return (p, out, err)
    }

    func finish(_ r: (process: Process, out: Pipe, err: Pipe)) -> (status: Int32, out: String, err: String) {
        let o = r.out.fileHandleForReading.readDataToEndOfFile(), e = r.err.fileHandleForReading.readDataToEndOfFile()
        r.process.waitUntilExit()
        return (r.process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func icl(_ args: [String]) throws -> (status: Int32, out: String, err: String) { finish(try start(args)) }
}

/// The `icl` executable end to end: outputs parse, bad input gives one clear error line and a non-zero exit.
final class CLITests: CLITestCase {
    func testCompareJSONAndTrainThenReload() throws {
        let r = try icl(["compare", "--preset", "ci-tiny", "--format", "json", "--quiet"])
        XCTAssertEqual(r.status, 0, r.err)
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        let layers = ((json["tables"] as! [String: Any])["layers"] as! [String: Any])["rows"] as! [[String: Any]]
        XCTAssertEqual(layers.first?["closest"] as? String, "GD 1")
        XCTAssertEqual(layers.first?["gd_step"] as? Int, 1)
        // Train into a run directory, then compare from its config and weights: the same numbers.
        let run = dir.appendingPathComponent("run").path
        let t = try icl(["train", "--preset", "ci-tiny", "--out", run, "--quiet"])
        XCTAssertEqual(t.status, 0, t.err)
        for f in ["config.json", "model.npz", "history.json", "history.csv", "report.md", "report.json", "report.html",
                  "manifest.json", "checkpoint.npz", "error_vs_examples.svg", "layers_vs_references.svg", "training_loss.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/\(f)"), f)
        }
        let again = try icl(["compare", "--config", "\(run)/config.json", "--model", "\(run)/model.npz", "--format", "csv"])
        XCTAssertEqual(again.status, 0, again.err)
        // The tidy CSV: `table` first; the model's baseline row carries its error at full precision, the same
        // bits as the trained run's report.csv.
        let lines = again.out.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("table,learner,learner_label,"), lines[0])
        let first = try String(contentsOfFile: "\(run)/report.csv", encoding: .utf8)
        let modelRow = try XCTUnwrap(lines.first { $0.hasPrefix("baselines,model,") })
        XCTAssertTrue(first.contains(modelRow), "reloaded model reproduces the trained one: \(modelRow)")
    }

    func testSampleThenEvalPrompts() throws {
        let file = dir.appendingPathComponent("p.npz").path
        let s = try icl(["tasks", "sample", "--dimension", "4", "--points", "9", "--batch", "50", "--noise", "0.1", "--out", file])
        XCTAssertEqual(s.status, 0, s.err)
        let e = try icl(["eval", "--prompts", file, "--format", "json"])
        XCTAssertEqual(e.status, 0, e.err)
        let json = try JSONSerialization.jsonObject(with: Data(e.out.utf8)) as! [String: Any]
        let table = (json["tables"] as! [String: Any])["eval"] as! [String: Any]
        let rows = table["rows"] as! [[String: Any]]
        XCTAssertTrue(rows.contains { $0["learner"] as? String == "ols" && $0["learner_label"] as? String == "OLS (min-norm)" })
        // Each GD row is identified by its step count and runs the η tuned for that count, so 20 steps do
        // not diverge at the query (they did when they reused the 1-step η).
        let gd = rows.filter { $0["learner"] as? String == "gd" }
        let gd1 = try XCTUnwrap(gd.first { $0["steps"] as? Int == 1 }), gd20 = try XCTUnwrap(gd.first { $0["steps"] as? Int == 20 })
        XCTAssertLessThan(gd20["query_mse"] as! Double, gd1["query_mse"] as! Double, e.out)
        XCTAssertNotEqual(gd1["learning_rate"] as? Double, gd20["learning_rate"] as? Double)
    }

    func testBadInputGivesOneClearErrorAndNonZeroExit() throws {
        let cases: [([String], String)] = [
            (["compare", "--preset", "nope"], "unknown preset 'nope'"),
            (["compare", "--preset", "ci-tiny", "--model", "x.npz", "--steps", "3"], "do not apply"),
            (["compare", "--preset", "ci-tiny", "--config", "c.json"], "not both"),
            (["eval", "--prompts", dir.appendingPathComponent("missing.npz").path], "cannot read"),
            (["tasks", "sample", "--dimension", "3", "--weights", "sparse", "--sparsity", "5", "--out", dir.appendingPathComponent("s.npz").path], "k = 5"),
            (["tasks", "sample", "--inputs", "cauchy", "--out", dir.appendingPathComponent("s.npz").path], "unknown --inputs"),
        ]
        let familyCases: [([String], String)] = [
            (["baselines", "--class", "sparse-parity", "--k", "12", "--variables", "10"], "k = 12"),
            (["baselines", "--class", "xor"], "unknown Boolean class 'xor'"),
            (["baselines", "--points", "0"], "points must be ≥ 1"),
            (["baselines", "--family", "graph", "--vertices", "60"], "token budget"),
            (["baselines", "--family", "graph", "--graph", "star", "--vertices", "5"], "needs 13 vertices"),
            (["baselines", "--family", "fourier", "--max-frequency", "0"], "max frequency"),
        ]
        for (args, expected) in cases + familyCases {
            let r = try icl(args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.err.contains(expected), "\(args): \(r.err)")
        }
        // NaN in a prompt file names the array.
        var ys = Tensor(zeros: [2, 3])
        ys.scalars[4] = .nan
        let bad = dir.appendingPathComponent("nan.npz")
        try NumPy.save([("xs", Tensor(zeros: [2, 3, 2])), ("ys", ys)], npz: bad)
        let r = try icl(["eval", "--prompts", bad.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("ys contains a non-finite value"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("s.npz").path), "nothing half-written")
    }

    func testNumbersThatAreNotResultsAreReported() throws {
        // Prompts at 1e150 overflow the learners' squares; at 1e-300 every error underflows to 0. Both are
        // computed, but each gets a warning line, and --strict turns them into a failure (exit 3).
        var rng = Xoshiro256(seed: 1)
        for (scale, expected) in [(1e150, "standardize"), (1e-300, "standardize")] {
            let xs = Tensor.randomNormal([20, 6, 3], using: &rng) * scale
            var ys = Tensor(zeros: [20, 6])
            for i in 0..<ys.scalarCount { ys.scalars[i] = xs.scalars[3 * i] + xs.scalars[3 * i + 1] }
            let file = dir.appendingPathComponent("scale.npz")
            try NumPy.save([("xs", xs), ("ys", ys)], npz: file)
            let plain = try icl(["eval", "--prompts", file.path])
            XCTAssertEqual(plain.status, 0, plain.err)
            XCTAssertTrue(plain.err.contains("warning:") && plain.err.contains(expected), "\(scale): \(plain.err)")
            let strict = try icl(["eval", "--prompts", file.path, "--strict"])
            XCTAssertEqual(strict.status, 3, "\(scale): \(strict.err)")
        }
        // Degenerate prompt sets are input errors, not an exit 0 with η = nan and MSE 0.
        let empty = dir.appendingPathComponent("empty.npz")
        try NumPy.save([("xs", Tensor(zeros: [2, 4, 0])), ("ys", Tensor(zeros: [2, 4]))], npz: empty)
        let r = try icl(["eval", "--prompts", empty.path])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, "one error line: \(r.err)")
    }

    func testOversizedOptionsFailNamingThem() throws {
        let out = dir.appendingPathComponent("o.npz").path
        let cases: [([String], String)] = [
            (["tasks", "sample", "--batch", "100000000", "--out", out], "--batch × points × dimension"),
            (["tasks", "sample", "--dimension", "1000000000000", "--out", out], "--batch × points × dimension"),
            (["tasks", "sample", "--points", "1000000000000", "--out", out], "--batch × points × dimension"),
            (["compare", "--preset", "ci-tiny", "--batch-size", "1000000000000"], "training.batchSize"),
            (["compare", "--preset", "ci-tiny", "--eval-prompts", "1000000000000"], "evaluation.prompts"),
            (["baselines", "--prompts", "1000000000000"], "--prompts × points × dimension"),
            (["baselines", "--family", "fourier", "--max-frequency=-1"], "max frequency must be ≥ 1"),
            (["baselines", "--family", "fourier", "--max-frequency", "100000"], "over the cap"),
        ]
        for (args, expected) in cases {
            let start = Date()
            let r = try icl(args)
            XCTAssertTrue(r.status == 1 || r.status == 64, "\(args): a usage or input error, not a crash: \(r.status) \(r.err)")
            XCTAssertTrue(r.err.contains(expected), "\(args): \(r.err)")
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, "\(args) fails fast")
        }
        // Config fields: the message names the field.
        for (key, value, expected) in [("\"dimension\" : 3", "\"dimension\" : 100000", "task dimension"),
                                       ("\"layers\" : 1", "\"layers\" : 1000000", "model.layers"),
                                       ("\"newtonSteps\" : 8", "\"newtonSteps\" : 1000000000", "evaluation.newtonSteps")] {
            let config = dir.appendingPathComponent("c.json")
            let base = try icl(["train", "--preset", "ci-tiny", "--steps", "1", "--quiet", "--out", dir.appendingPathComponent("r").path,
                                "--overwrite"])
            XCTAssertEqual(base.status, 0, base.err)
            let text = try String(contentsOf: dir.appendingPathComponent("r/config.json"), encoding: .utf8)
            XCTAssertTrue(text.contains(key), key)
            try text.replacingOccurrences(of: key, with: value).write(to: config, atomically: true, encoding: .utf8)
            let r = try icl(["compare", "--config", config.path])
            XCTAssertEqual(r.status, 1, "\(value): \(r.err)")
            XCTAssertTrue(r.err.contains(expected) && r.err.contains("ICL_MAX_MEMORY"), "\(value): \(r.err)")
        }
    }

    func testHostilePromptFilesAreRefusedQuicklyWithBoundedMemory() throws {
        // Every crafted .npz of the reader's corpus (overflowing shapes, zip bombs, truncations, bad offsets, …)
        // through the CLI: exit 1, one error line, within 1 s. Peak memory: getrusage(RUSAGE_CHILDREN) reports
        // the largest resident set of any child this process has waited for, so < 200 MB after the loop bounds
        // every one of these runs (and the other tests' children) at once.
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../NumericCoreTests/Fixtures/hostile").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0.hasSuffix(".npz") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 20)
        for name in files {
            let start = Date()
            let r = try icl(["eval", "--prompts", corpus.appendingPathComponent(name).path])
            let seconds = Date().timeIntervalSince(start)
            XCTAssertEqual(r.status, 1, "\(name): \(r.err)")
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, "\(name): one error line: \(r.err)")
            XCTAssertLessThan(seconds, 1, "\(name) took \(seconds) s")
        }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage)
        XCTAssertLessThan(usage.ru_maxrss, 200 * 1024, "largest child resident set \(usage.ru_maxrss) KiB")
    }

    func testVersionNegativeNumbersAndFileSystemErrors() throws {
        let v = try icl(["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertTrue(v.out.hasPrefix("0."), v.out)
        // "-1" after a space is a value (and then an invalid one), not a missing value.
        let neg = try icl(["tasks", "sample", "--dimension", "-1", "--out", dir.appendingPathComponent("n.npz").path])
        XCTAssertNotEqual(neg.status, 0)
        XCTAssertTrue(neg.err.contains("dimension must be ≥ 1, got -1"), neg.err)
        for (args, expected) in [(["tasks", "sample", "--batch", "-1"], "--batch must be ≥ 1, got -1"),
                                 (["baselines", "--prompts", "-5"], "--prompts must be ≥ 1, got -5"),
                                 (["baselines", "--class", "sparse-parity", "--k", "-2", "--variables", "6"], "k = -2"),
                                 (["compare", "--preset", "ci-tiny", "--steps", "-3"], "steps must be ≥ 0, got -3"),
                                 (["train", "--preset", "ci-tiny", "--checkpoint-every", "-4", "--out", dir.appendingPathComponent("c").path],
                                  "--checkpoint-every must be ≥ 1, got -4")] {
            let r = try icl(args + (args[0] == "tasks" ? ["--out", dir.appendingPathComponent("n.npz").path] : []))
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.err.contains(expected) && r.err.split(separator: "\n").count == 1, "\(args): \(r.err)")
        }
        // Each file-system failure is one line naming the path and the cause.
        let file = dir.appendingPathComponent("plain")
        FileManager.default.createFile(atPath: file.path, contents: Data())
        let cases: [([String], String)] = [
            (["tasks", "sample", "--batch", "2", "--out", file.appendingPathComponent("x.npz").path], "is a file, not a directory"),
            (["tasks", "sample", "--batch", "2", "--out", dir.appendingPathComponent("missing/x.npz").path], "no such directory"),
            (["tasks", "sample", "--batch", "2", "--out", dir.path], "it is a directory"),
            (["train", "--preset", "ci-tiny", "--quiet", "--out", file.path], "exists and is not a directory"),
            (["eval", "--prompts", dir.path], "it is a directory"),
        ]
        for (args, expected) in cases {
            let r = try icl(args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.err)")
            let lines = r.err.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(args): \(r.err)")
            XCTAssertTrue(r.err.contains(expected) && !r.err.contains("NSCocoaErrorDomain"), "\(args): \(r.err)")
        }
    }

    func testEveryNotebookRunsInQuickModeAndWritesItsReport() throws {
        for name in ["notebook-01-von-oswald", "notebook-02-mahankali", "notebook-03-zhang-frei-bartlett", "notebook-04-gatmiry",
                     "notebook-05-fu", "notebook-08-boolean-baselines"] {
            let notebook = binary.deletingLastPathComponent().appendingPathComponent(name)
            guard FileManager.default.isExecutableFile(atPath: notebook.path) else { throw XCTSkip("\(name) not built") }
            let out = dir.appendingPathComponent(name)
            let p = Process()
            p.executableURL = notebook
            p.arguments = ["--quick", "--out", out.path]
            p.standardOutput = Pipe()
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, name)
            let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
            for expected in ["**Paper.**", "**Claim.**", "**Setting", "| quantity | paper | ours | note |", "!["] {
                XCTAssertTrue(report.contains(expected), "\(name): \(expected)")
            }
            let figures = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".svg") }
            XCTAssertFalse(figures.isEmpty, name)
            for f in figures { XCTAssertTrue(report.contains("(\(f))"), "\(name) shows \(f)") }
        }
    }

    func testNotebookQuickModeWritesItsReportAndFigures() throws {
        let notebook = binary.deletingLastPathComponent().appendingPathComponent("notebook-01-von-oswald")
        guard FileManager.default.isExecutableFile(atPath: notebook.path) else { throw XCTSkip("notebook not built") }
        let out = dir.appendingPathComponent("nb01")
        let p = Process()
        p.executableURL = notebook
        p.arguments = ["--quick", "--out", out.path]
        p.standardOutput = Pipe()
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        for expected in ["**Claim.**", "**Setting", "| quantity | paper | ours | note |", "!["] {
            XCTAssertTrue(report.contains(expected), expected)
        }
        // The construction section states the measured difference between the constructed layer and GD, ≤ 1e-12.
        let match = report.range(of: #"at most \*\*([0-9.e+-]+)\*\*"#, options: .regularExpression)
        let number = match.map { String(report[$0]).components(separatedBy: "**")[1] }.flatMap(Double.init)
        XCTAssertNotNil(number, report)
        XCTAssertLessThan(number ?? 1, 1e-12)
        for figure in ["error_vs_examples.svg", "layers_vs_references.svg", "training_loss.svg"] {
            let svg = try String(contentsOf: out.appendingPathComponent(figure), encoding: .utf8)
            XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("</svg>"), figure)
            XCTAssertTrue(report.contains("(\(figure))"), "the report shows \(figure)")
        }
    }
}
