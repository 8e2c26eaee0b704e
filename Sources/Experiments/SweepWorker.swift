import Foundation
import Tasks

/// One point of a sweep, run by whichever process is asked to (`icl run-one`: a local worker or a Slurm
/// array task): claim it in the store, train and compare into its run directory, record the results.
public enum SweepWorker {
    public enum Outcome: Equatable {
        case ran(id: Int64), alreadyDone(id: Int64), busyElsewhere(host: String, pid: Int64)
    }

    /// Runs point `index` of `sweep`, its run directory under `root`. A run directory left by an interrupted
    /// attempt is resumed from its checkpoint (same final bits); a failure is recorded with its error and
    /// rethrown; SIGTERM / SIGINT (Slurm's time limit, `scancel`, Ctrl-C) record the run as interrupted.
    public static func run(sweep: ExpandedSweep, index: Int, store: RunStore, root: URL, codeVersion: String,
                           checkpointEvery: Int = 200) throws -> Outcome {
        guard sweep.points.indices.contains(index) else {
            throw TaskError("sweep \(sweep.name) has points 0…\(sweep.points.count - 1); there is no point \(index)")
        }
        let point = sweep.points[index]
        let dir = sweep.runDirectory(root: root, point: point)
        let env = ProcessInfo.processInfo.environment
        let job = env["SLURM_ARRAY_JOB_ID"].map { "\($0)_\(env["SLURM_ARRAY_TASK_ID"] ?? "?")" } ?? env["SLURM_JOB_ID"]
        switch try store.claim(point.config, runDirectory: dir.path, codeVersion: codeVersion, slurmJob: job) {
        case .done(let id): return .alreadyDone(id: id)
        case .busy(_, let host, let pid): return .busyElsewhere(host: host, pid: pid)
        case .claimed(let id, _):
            let heart = Heartbeat(storePath: store.path, id: id)
            let signals = interruptHandlers(storePath: store.path, id: id)
            defer { heart.stop(); signals.cancel() }
            do {
                let resumable = FileManager.default.fileExists(atPath: dir.appendingPathComponent("checkpoint.npz").path)
                    && FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path)
                let report = try Comparison.run(point.config, runDirectory: dir, mode: resumable ? .resume : .overwrite,
                                                checkpointEvery: checkpointEvery, quiet: true)
                try store.finish(id: id, result: RunStore.Result(history: report.history, layers: report.layerRows,
                                                                 metrics: report.metrics))
                return .ran(id: id)
            } catch {
                try? store.end(id: id, status: .failed, error: "\(error)")
                throw error
            }
        }
    }

    /// Marks the run interrupted and exits on SIGTERM or SIGINT (exit status 128 + signal, as a shell reports).
    static func interruptHandlers(storePath: String, id: Int64) -> InterruptWatcher {
        InterruptWatcher { sig in
            if let store = try? RunStore(path: storePath) { try? store.end(id: id, status: .interrupted, error: "signal \(sig)") }
            exit(128 + sig)
        }
    }
}

/// Runs `action(signal)` on a thread of its own when SIGTERM or SIGINT arrives. The signal handler only writes
/// the signal's number to a pipe (all a handler may safely do); a watcher thread reads it and acts. (A
/// DispatchSource is not enough on Linux: it blocks the signal in one thread only, and the signal may be
/// delivered to any other — a BLAS or heartbeat thread — and lost.) One watcher at a time.
public final class InterruptWatcher: @unchecked Sendable {
    public init(_ action: @escaping @Sendable (Int32) -> Void) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        interruptPipeWriteEnd = fds[1]
        let readEnd = fds[0]
        Thread {
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) != 1 {}
            action(Int32(byte))
        }.start()
        for sig in [SIGTERM, SIGINT] {
            signal(sig) { s in
                var b = UInt8(truncatingIfNeeded: s)
                _ = write(interruptPipeWriteEnd, &b, 1)
            }
        }
    }

    /// Restores the default dispositions (the watcher thread stays parked on its pipe).
    public func cancel() {
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
    }
}

/// The write end of the interrupt pipe, for the signal handler (a C function pointer cannot capture).
nonisolated(unsafe) var interruptPipeWriteEnd: Int32 = -1

/// Refreshes a running run's heartbeat from a thread of its own (its own connection), so a worker that dies
/// without a word — `kill -9`, a node lost — is recognized as interrupted after `RunStore.staleAfter`.
final class Heartbeat: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false

    init(storePath: String, id: Int64) {
        let thread = Thread { [self] in
            guard let store = try? RunStore(path: storePath) else { return }
            while true {
                for _ in 0..<Int(RunStore.heartbeatInterval * 10) {
                    Thread.sleep(forTimeInterval: 0.1)
                    if isStopped { return }
                }
                try? store.heartbeat(id: id)
            }
        }
        thread.start()
    }

    var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }
    func stop() { lock.lock(); stopped = true; lock.unlock() }
}
