import Foundation
import Models
import NumericCore
import Tasks
import Training

/// A run directory as a unit. While a run writes it, a lock file (`.lock`, created exclusively, holding the
/// writer's pid) keeps a second run out; the run's files are each written atomically; `manifest.json` — the
/// config's hash, the status, and a hash of every file — is written last, so a directory without a "done"
/// manifest is an unfinished run. `checkpoint.npz` holds the model, Adam's state, the prompt generator and the
/// history every `checkpointEvery` steps, so `--resume` continues an interrupted run to the same final bits.
public struct RunDirectory {
    public enum Mode: String, Sendable {
        /// The directory must not exist or be empty.
        case fresh
        /// Replace whatever the directory holds.
        case overwrite
        /// Continue the run whose checkpoint the directory holds (same config).
        case resume
    }

    public struct Manifest: Codable, Equatable {
        /// The hash of what determines the weights: task, model, training (less `logEvery`) and model seed.
        public var configHash: String
        /// "running" while training, "done" when every file is written.
        public var status: String
        /// File name → FNV-1a 64-bit hash of its bytes (integrity, not security).
        public var files: [String: String]
    }

    public let url: URL
    let lockURL: URL

    /// The hash of the parts of a config that determine the trained weights (evaluation settings may change
    /// between training and a later analysis of the same weights).
    public static func weightsHash(_ config: ExperimentConfig) -> String {
        struct Identity: Encodable { let task: TaskConfig, model: ModelSpec, training: TrainingConfig, modelSeed: UInt64 }
        var training = config.training
        training.logEvery = 0
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return hash(try! enc.encode(Identity(task: config.task, model: config.model, training: training, modelSeed: config.modelSeed)))
    }

    /// FNV-1a 64 of bytes, as 16 hex digits.
    public static func hash(_ data: Data) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return String(format: "%016llx", h)
    }

    /// Takes the directory for a run of `config`: refuses a non-empty directory unless `mode` says what to do
    /// with it, refuses one another live run holds, removes stray temporary files of dead runs.
    public static func open(_ url: URL, config: ExperimentConfig, mode: Mode) throws -> RunDirectory {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw TaskError("\(url.path): exists and is not a directory")
        }
        do { try fm.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw TaskError("\(url.path): cannot create the run directory (\(FileErrors.cause(creating: url.path, error)))")
        }
        let run = RunDirectory(url: url, lockURL: url.appendingPathComponent(".lock"))
        try run.lock()
        do {
            run.removeStrayTemporaries()
            let visible = try fm.contentsOfDirectory(atPath: url.path).filter { !$0.hasPrefix(".") }
            switch mode {
            case .fresh:
                guard visible.isEmpty else {
                    throw TaskError("\(url.path): already holds a run (\(visible.sorted().joined(separator: ", "))); pass --overwrite to replace it or --resume to continue it")
                }
            case .overwrite:
                for f in visible { try fm.removeItem(at: url.appendingPathComponent(f)) }
            case .resume:
                guard fm.fileExists(atPath: run.checkpointURL.path) else {
                    throw TaskError("\(url.path): nothing to resume (no checkpoint.npz)")
                }
                let saved = try ExperimentConfig.load(from: url.appendingPathComponent("config.json"))
                guard weightsHash(saved) == weightsHash(config) else {
                    throw TaskError("\(url.path): its config.json differs from this run's config; resume with --config \(url.path)/config.json")
                }
            }
        } catch {
            run.unlock()
            throw error
        }
        return run
    }

    public var checkpointURL: URL { url.appendingPathComponent("checkpoint.npz") }

    /// Writes `data` as `name` in the directory, atomically.
    public func write(_ data: Data, _ name: String) throws {
        try NumPy.writeAtomically(data, to: url.appendingPathComponent(name))
    }

    /// Writes the manifest: the config's hash and a hash of every visible file. Written last.
    public func writeManifest(config: ExperimentConfig, status: String) throws {
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: url.path) where !name.hasPrefix(".") && name != "manifest.json" {
            files[name] = RunDirectory.hash(try Data(contentsOf: url.appendingPathComponent(name)))
        }
        let manifest = Manifest(configHash: RunDirectory.weightsHash(config), status: status, files: files)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(try enc.encode(manifest), "manifest.json")
    }

    /// Checks that `weights` belongs to a finished run of `config`: the manifest beside it must say "done",
    /// carry the config's hash, and hash the weights file as it is now.
    public static func verify(weights: URL, config: ExperimentConfig) throws {
        let dir = weights.deletingLastPathComponent()
        let manifestURL = dir.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: manifestURL) else { return }   // weights from elsewhere: nothing to check
        guard let m = try? JSONDecoder().decode(Manifest.self, from: data) else {
            throw TaskError("\(manifestURL.path): not a run manifest")
        }
        guard m.status == "done" else { throw TaskError("\(dir.path): the run did not finish (status \(m.status)); its weights are not final") }
        guard m.configHash == weightsHash(config) else {
            throw TaskError("\(weights.path): these weights were trained with another config than the one given (manifest hash \(m.configHash)); pass --config \(dir.path)/config.json")
        }
        let name = weights.lastPathComponent
        if let expected = m.files[name], expected != hash(try Data(contentsOf: weights)) {
            throw TaskError("\(weights.path): changed since the run wrote it (hash differs from the manifest)")
        }
    }

    // MARK: lock

    func lock() throws {
        let pid = ProcessInfo.processInfo.processIdentifier
        for _ in 0..<2 {
            let fd = Foundation.open(lockURL.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if fd >= 0 {
                let text = "\(pid)\n"
                _ = text.withCString { Foundation.write(fd, $0, strlen($0)) }
                close(fd)
                return
            }
            guard errno == EEXIST else { throw TaskError("\(url.path): cannot create the lock file (\(String(cString: strerror(errno))))") }
            let holder = (try? String(contentsOf: lockURL, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if let holder, RunDirectory.isAlive(holder) {
                throw TaskError("\(url.path): another run (pid \(holder)) is writing this directory")
            }
            if holder == nil {
                // Created but its pid not yet written: another run is taking the lock right now, unless the file is
                // old (a writer that died between the two steps).
                let modified = (try? FileManager.default.attributesOfItem(atPath: lockURL.path)[.modificationDate]) as? Date
                if let modified, Date().timeIntervalSince(modified) < 10 {
                    throw TaskError("\(url.path): another run is taking this directory")
                }
            }
            try? FileManager.default.removeItem(at: lockURL)   // a stale lock of a dead run
        }
        throw TaskError("\(url.path): could not take the lock")
    }

    public func unlock() { try? FileManager.default.removeItem(at: lockURL) }

    /// A zombie (exited, not yet reaped) is not alive: it will never release its lock.
    static func isAlive(_ pid: Int32) -> Bool { (kill(pid, 0) == 0 || errno == EPERM) && !RunStore.isZombie(pid) }

    /// Removes `.NAME.tmp-PID` files whose writer is no longer alive.
    func removeStrayTemporaries() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return }
        for name in names where name.hasPrefix(".") {
            guard let r = name.range(of: ".tmp-", options: .backwards), let pid = Int32(name[r.upperBound...]),
                  !RunDirectory.isAlive(pid) else { continue }
            try? FileManager.default.removeItem(at: url.appendingPathComponent(name))
        }
    }
}
