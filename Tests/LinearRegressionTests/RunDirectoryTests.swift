import Foundation
import NumericCore
import XCTest

/// Run directories as units: killed runs resume to the same bits, concurrent runs into one directory cannot
/// both succeed, a finished run is not overwritten by accident, weights are checked against their config.
final class RunDirectoryTests: CLITestCase {
    let training = ["--preset", "ci-tiny", "--steps", "6000", "--batch-size", "256", "--checkpoint-every", "100", "--quiet"]

    func weights(_ run: URL) throws -> [String: [UInt64]] {
        try NumPy.load(npz: run.appendingPathComponent("model.npz")).mapValues { $0.scalars.map(\.bitPattern) }
    }

    func testResumeAfterKillGivesTheSameFinalBits() throws {
        let whole = dir.appendingPathComponent("whole"), killed = dir.appendingPathComponent("killed")
        let w = try icl(["train"] + training + ["--out", whole.path])
        XCTAssertEqual(w.status, 0, w.err)
        // Kill -9 once the first checkpoint exists, mid-training.
        let r = try start(["train"] + training + ["--out", killed.path])
        let checkpoint = killed.appendingPathComponent("checkpoint.npz")
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: checkpoint.path) && Date() < deadline { usleep(2_000) }
        kill(r.process.processIdentifier, SIGKILL)
        _ = finish(r)
        let manifest = try String(contentsOf: killed.appendingPathComponent("manifest.json"), encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"running\""), "the run was killed before it finished: \(manifest)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed.appendingPathComponent("model.npz").path))
        // Without a flag, the interrupted directory is refused; with --resume it finishes.
        let again = try icl(["train"] + training + ["--out", killed.path])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.err.contains("--resume"), again.err)
        let resumed = try icl(["train"] + training + ["--out", killed.path, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertEqual(try weights(killed), try weights(whole), "resumed weights are bit-identical to the uninterrupted run")
        // The history holds every step (loss, gradient norm, learning rate), not only the logged ones, and the
        // resumed run's losses are the uninterrupted run's.
        func losses(_ run: URL) throws -> [String] {
            let rows = try String(contentsOf: run.appendingPathComponent("history.csv"), encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(rows.first, "step,loss,gradient_norm,learning_rate,seconds")
            return rows.dropFirst().map { $0.split(separator: ",").prefix(4).joined(separator: ",") }
        }
        let (a, b) = (try losses(whole), try losses(killed))
        XCTAssertEqual(a.count, 6000)
        XCTAssertEqual(a, b)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: killed.path).filter { $0.contains(".tmp-") || $0 == ".lock" }
        XCTAssertEqual(leftovers, [], "stray temporary files and the lock are gone")
        // A resume with another config is refused.
        let other = try icl(["train", "--preset", "ci-tiny", "--steps", "10", "--out", killed.path, "--resume", "--quiet"])
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.err.contains("differs from this run's config"), other.err)
    }

    func testTwoConcurrentRunsIntoOneDirectoryCannotBothSucceed() throws {
        let out = dir.appendingPathComponent("shared")
        let args = ["train", "--preset", "ci-tiny", "--steps", "3000", "--batch-size", "256", "--quiet", "--out", out.path]
        let a = try start(args), b = try start(args)
        let (ra, rb) = (finish(a), finish(b))
        XCTAssertEqual([ra.status, rb.status].filter { $0 == 0 }.count, 1, "exactly one succeeds: \(ra.err) | \(rb.err)")
        let loser = ra.status == 0 ? rb : ra
        XCTAssertTrue(loser.err.contains("another run") || loser.err.contains("already holds a run"), loser.err)
    }

    func testWeightsAreCheckedAgainstTheirConfig() throws {
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try icl(["train", "--preset", "ci-tiny", "--quiet", "--out", run.path]).status, 0)
        let model = run.appendingPathComponent("model.npz").path
        let ok = try icl(["compare", "--config", run.appendingPathComponent("config.json").path, "--model", model,
                          "--eval-prompts", "50"])
        XCTAssertEqual(ok.status, 0, "evaluation settings may change: \(ok.err)")
        let wrong = try icl(["compare", "--preset", "ci-tiny", "--seed", "3", "--model", model])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.err.contains("trained with another config"), wrong.err)
        // A stray temporary file of a dead writer is removed by the next run; --overwrite replaces the run.
        let stray = run.appendingPathComponent(".model.npz.tmp-999999")
        FileManager.default.createFile(atPath: stray.path, contents: Data([1, 2, 3]))
        let over = try icl(["train", "--preset", "ci-tiny", "--quiet", "--steps", "20", "--out", run.path, "--overwrite"])
        XCTAssertEqual(over.status, 0, over.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stray.path))
    }
}
