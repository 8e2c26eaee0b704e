import Foundation
import NumericCore
import Training
import XCTest

/// `icl` as a researcher's script sees it: full training histories, progress for terminals, logs and scripts,
/// and golden help, preset list and file-system errors.
///
/// Golden files live in `Fixtures/golden/`; after an intended change, regenerate them with
/// `ICL_UPDATE_GOLDEN=1 swift test -c release --filter OutputCLITests` and review the diff.
final class OutputCLITests: CLITestCase {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/golden")

    /// Runs `icl` with a fixed terminal width (ArgumentParser wraps help at `COLUMNS`) and no TTY.
    func iclFixedWidth(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["COLUMNS"] = "120"
        env["LINES"] = "50"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return finish((p, out, err))
    }

    func assertGolden(_ text: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = OutputCLITests.golden.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["ICL_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: OutputCLITests.golden, withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        if text != expected {
            let a = text.split(separator: "\n", omittingEmptySubsequences: false)
            let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let i = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
            XCTFail("\(name) differs from its golden file at line \(i + 1):\n got: \(i < a.count ? a[i] : "<end>")\nwant: \(i < b.count ? b[i] : "<end>")\n(ICL_UPDATE_GOLDEN=1 regenerates)",
                    file: file, line: line)
        }
    }

    func testHelpAndPresetsMatchTheirGoldenFiles() throws {
        for (args, name) in [(["--help"], "help.txt"), (["compare", "--help"], "compare_help.txt"),
                             (["tasks", "sample", "--help"], "tasks_sample_help.txt"), (["presets"], "presets.txt")] {
            let r = try iclFixedWidth(args)
            XCTAssertEqual(r.status, 0, r.err)
            try assertGolden(r.out, name)
        }
        // Every preset is in `compare --help`, and every option with a default shows it.
        let help = try iclFixedWidth(["compare", "--help"]).out
        for preset in try iclFixedWidth(["presets"]).out.split(separator: "\n").map({ String($0.split(separator: " ")[0]) }) {
            XCTAssertTrue(help.contains("  \(preset) "), preset)
        }
        for expected in ["default: markdown)", "default: auto)", "(default: 200)"] { XCTAssertTrue(help.contains(expected), expected) }
    }

    func testFileSystemErrorsAreOneLineNamingPathAndCause() throws {
        // One line each, the temporary directory written as $DIR; the causes that cannot be staged portably
        // (read-only file system, no space, permission as root) are checked through FileErrors below.
        let file = dir.appendingPathComponent("file")
        FileManager.default.createFile(atPath: file.path, contents: Data("x".utf8))
        let full = dir.appendingPathComponent("full")
        XCTAssertEqual(try icl(["train", "--preset", "ci-tiny", "--steps", "1", "--quiet", "--out", full.path]).status, 0)
        let cases: [[String]] = [
            ["train", "--preset", "ci-tiny", "--quiet", "--out", file.path],
            ["train", "--preset", "ci-tiny", "--quiet", "--out", full.path],
            ["train", "--preset", "ci-tiny", "--quiet", "--out", file.appendingPathComponent("run").path],
            ["tasks", "sample", "--batch", "2", "--out", dir.path],
            ["tasks", "sample", "--batch", "2", "--out", dir.appendingPathComponent("missing/p.npz").path],
            ["tasks", "sample", "--batch", "2", "--out", file.appendingPathComponent("p.npz").path],
            ["eval", "--prompts", dir.path],
            ["eval", "--prompts", dir.appendingPathComponent("missing.npz").path],
            ["eval", "--prompts", file.appendingPathComponent("p.npz").path],
            ["compare", "--config", dir.path],
            ["compare", "--config", dir.appendingPathComponent("missing.json").path],
            ["tasks", "sample", "--dimension", "-1", "--out", dir.appendingPathComponent("n.npz").path],
        ]
        var transcript = ""
        for args in cases {
            let r = try icl(args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, "\(args): \(r.err)")
            let shown = (["icl"] + args).joined(separator: " ") + "\n" + r.err
            transcript += shown.replacingOccurrences(of: dir.path, with: "$DIR")
        }
        let causes: [(String, String)] = [
            ("EACCES", FileErrors.describe(EACCES, directory: "/data")), ("EROFS", FileErrors.describe(EROFS, directory: "/data")),
            ("ENOSPC", FileErrors.describe(ENOSPC, directory: "/data")), ("EDQUOT", FileErrors.describe(EDQUOT, directory: "/data")),
            ("Cocoa 516", FileErrors.describe(NSError(domain: NSCocoaErrorDomain, code: 516), directory: "/data")),
            ("Cocoa 640", FileErrors.describe(NSError(domain: NSCocoaErrorDomain, code: 640), directory: "/data")),
            ("Cocoa 642", FileErrors.describe(NSError(domain: NSCocoaErrorDomain, code: 642), directory: "/data")),
        ]
        transcript += "\n# causes FileErrors names for errors the CLI cases above cannot stage\n"
        transcript += causes.map { "\($0.0): \($0.1)" }.joined(separator: "\n") + "\n"
        try assertGolden(transcript, "file_system_errors.txt")
        // Permission can be staged only without root (root writes anywhere): a read-only directory.
        if getuid() != 0 {
            let locked = dir.appendingPathComponent("locked")
            try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
            chmod(locked.path, 0o555)
            defer { chmod(locked.path, 0o755) }
            let r = try icl(["tasks", "sample", "--batch", "2", "--out", locked.appendingPathComponent("p.npz").path])
            XCTAssertEqual(r.err, "Error: \(locked.path)/p.npz: cannot write file (permission denied in \(locked.path))\n")
        }
        XCTAssertFalse(transcript.contains("NSCocoaErrorDomain") || transcript.contains("error 256"))
    }

    func testHistoryHasEveryStepAndTheLossCurveDrawsIt() throws {
        // logEvery (100 in ci-tiny) only decides what is printed: history.csv and history.json hold all 250
        // steps, and training_loss.svg draws one point per step.
        let run = dir.appendingPathComponent("run")
        // ci-tiny with logEvery 100 (the preset's is 0).
        let first = dir.appendingPathComponent("first"), config = dir.appendingPathComponent("c.json")
        XCTAssertEqual(try icl(["train", "--preset", "ci-tiny", "--steps", "1", "--quiet", "--out", first.path]).status, 0)
        let text = try String(contentsOf: first.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(text.contains("\"logEvery\" : 0"), text)
        try text.replacingOccurrences(of: "\"logEvery\" : 0", with: "\"logEvery\" : 100").write(to: config, atomically: true, encoding: .utf8)
        let r = try icl(["train", "--config", config.path, "--steps", "250", "--progress", "plain", "--out", run.path])
        XCTAssertEqual(r.status, 0, r.err)
        let csv = try String(contentsOf: run.appendingPathComponent("history.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv[0], "step,loss,gradient_norm,learning_rate,seconds")
        XCTAssertEqual(csv.count, 251)
        XCTAssertEqual(csv.dropFirst().map { Int($0.split(separator: ",")[0])! }, Array(1...250))
        let json = try ExactJSON.parse(Data(contentsOf: run.appendingPathComponent("history.json"))) as! [String: Any]
        XCTAssertEqual((json["losses"] as! [Double]).count, 250)
        XCTAssertEqual((json["losses"] as! [Double]).map(\.bitPattern), csv.dropFirst().map { Double($0.split(separator: ",")[1])!.bitPattern })
        let svg = try String(contentsOf: run.appendingPathComponent("training_loss.svg"), encoding: .utf8)
        let range = try XCTUnwrap(svg.range(of: #"<polyline points="[^"]*""#, options: .regularExpression))
        let points = svg[range].dropFirst("<polyline points=\"".count).dropLast()
        XCTAssertEqual(points.split(separator: " ").count, 250, "one vertex per step")
        // Plain progress (stderr is a pipe): the first step, every logEvery-th (100 here) and the last, with an ETA.
        let lines = r.err.split(separator: "\n")
        XCTAssertEqual(lines.map { String($0.split(separator: "/")[0].split(separator: " ").last!) }, ["1", "100", "200", "250"], r.err)
        XCTAssertTrue(lines.allSatisfy { $0.contains("ETA") }, r.err)
    }

    func testProgressModes() throws {
        // JSON lines for scripts: one object per logged step, each parsable, with the step and ETA.
        let j = try icl(["compare", "--preset", "ci-tiny", "--steps", "250", "--progress", "json"])
        XCTAssertEqual(j.status, 0, j.err)
        let events = try j.err.split(separator: "\n").map { try ExactJSON.parse(Data($0.utf8)) as! [String: Any] }
        // ci-tiny's logEvery is 0: the lines then come every tenth of the run.
        XCTAssertEqual(events.map { $0["step"] as! Int }, [1] + Array(stride(from: 25, through: 250, by: 25)))
        XCTAssertTrue(events.allSatisfy { $0["event"] as? String == "step" && $0["eta_seconds"] as? Double != nil && $0["loss"] as? Double != nil })
        XCTAssertEqual(events.last?["eta_seconds"] as? Double, 0)
        // --quiet and --progress none: nothing on stderr.
        for flag in [["--quiet"], ["--progress", "none"]] {
            let q = try icl(["compare", "--preset", "ci-tiny", "--steps", "50"] + flag)
            XCTAssertEqual(q.status, 0, q.err)
            XCTAssertEqual(q.err, "", "\(flag)")
        }
        // The bar: redrawn in place with a carriage return, never wider than the terminal, one newline at the end.
        var written = ""
        let bar = ProgressReporter(mode: .bar, every: 100, write: { written += $0 }, terminalWidth: 60)
        for step in 1...300 {
            bar.observe(TrainingProgress(label: "ci-tiny", step: step, steps: 300, firstStep: 1, loss: 1 / Double(step),
                                         gradientNorm: 1, learningRate: 0.01, seconds: Double(step) * 0.05))
        }
        let frames = written.split(separator: "\r").map(String.init)
        XCTAssertGreaterThan(frames.count, 100)
        XCTAssertLessThan(frames.count, 200, "at most ten redraws a second")
        XCTAssertTrue(frames.allSatisfy { $0.trimmingCharacters(in: .newlines).count <= 59 }, frames.first!)
        XCTAssertTrue(frames.last!.hasSuffix("ETA 0:00\n") && frames.last!.contains("300/300 100%"), frames.last!)
        XCTAssertEqual(written.filter { $0 == "\n" }.count, 1)
        bar.close()
        XCTAssertEqual(written.filter { $0 == "\n" }.count, 1, "a finished bar is already closed")
        // A run that stops early (a non-finite loss) leaves the bar open; close() ends the line.
        written = ""
        let stopped = ProgressReporter(mode: .bar, every: 100, write: { written += $0 }, terminalWidth: 60)
        stopped.observe(TrainingProgress(label: "x", step: 1, steps: 10, firstStep: 1, loss: 1, gradientNorm: 1,
                                         learningRate: 0.01, seconds: 0.01))
        stopped.close()
        XCTAssertTrue(written.hasPrefix("\r") && written.hasSuffix("\n"), written)
        XCTAssertEqual(ProgressReporter.clock(3725), "1:02:05")
    }
}
