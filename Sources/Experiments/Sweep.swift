import Foundation
import Tasks

/// A sweep file: a base config and axes, expanded into runs.
///
/// ```json
/// {"name": "pool-sizes",
///  "preset": "raventos-pool",                     // or "base": {a config}
///  "axes": [{"path": "task.weights.size", "values": [1, 4, 16]},
///           {"path": "model.layers", "values": [1, 2]},
///           {"path": "seed", "values": [0, 1]}],   // "seed" sets training.seed and modelSeed together
///  "set": {"training.steps": 1000},               // fixed changes to the base
///  "mode": "product",                             // or "zip": the i-th value of every axis together
///  "slurm": {"time": "00:20:00", "memory": "2G", "throttle": 8, "cpus": 2, "partition": "cpu"}}
/// ```
/// An axis path names a key of the config JSON (`icl compare --format json` shows them); a path the config does
/// not read is an error naming it. Points are numbered row-major: the last axis varies fastest.
public struct ExpandedSweep {
    public struct Point {
        public var index: Int
        public var config: ExperimentConfig
        public var hash: String
        /// The axis values of this point, in axis order: (path, value as JSON text).
        public var axes: [(path: String, value: String)]
        public var axesJSON: String {
            "{" + axes.map { "\"\($0.path)\": \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    /// Batch-system requests, from the sweep file (`"slurm": {…}`), overridable by options.
    public struct SlurmOptions: Equatable {
        public var time: String = "01:00:00"
        public var memory: String = "4G"
        public var cpus: Int = 2
        /// At most this many array tasks at once (`--array=…%throttle`); nil: no limit.
        public var throttle: Int? = nil
        public var partition: String? = nil
        /// Extra `#SBATCH` lines, verbatim (e.g. "--account=abc").
        public var extra: [String] = []
        public init() {}
    }

    public var name: String
    /// The sweep file as given, canonical JSON (the store keeps it; workers re-expand it).
    public var specJSON: String
    public var axisPaths: [String]
    public var points: [Point]
    public var slurm: SlurmOptions

    /// Reads and expands a sweep file.
    public static func load(from url: URL) throws -> ExpandedSweep {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TaskError("\(url.path): cannot read the sweep file (\(error.localizedDescription))")
        }
        return try expand(data, source: url.path)
    }

    /// Expands a sweep given as JSON; every problem names `source` and the key or point at fault.
    public static func expand(_ data: Data, source: String) throws -> ExpandedSweep {
        guard let spec = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TaskError("\(source): not a JSON object (a sweep file is {\"name\", \"preset\" or \"base\", \"axes\", …})")
        }
        let known: Set = ["name", "summary", "preset", "base", "set", "axes", "mode", "slurm"]
        if let bad = spec.keys.sorted().first(where: { !known.contains($0) }) {
            throw TaskError("\(source): unknown key '\(bad)' (keys: \(known.sorted().joined(separator: ", ")))")
        }
        guard let name = spec["name"] as? String, !name.isEmpty,
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }), !name.hasPrefix(".") else {
            throw TaskError("\(source): 'name' must be a non-empty string of letters, digits, '-', '_' or '.' (it names a folder)")
        }
        // The base config, as JSON to edit.
        var base: [String: Any]
        switch (spec["preset"], spec["base"]) {
        case (let p as String, nil):
            base = try JSONSerialization.jsonObject(with: try Presets.named(p).jsonData()) as! [String: Any]
        case (nil, let b as [String: Any]):
            // Validate the base alone first, so its problems are not reported as a point's.
            let bData = try JSONSerialization.data(withJSONObject: b)
            _ = try StrictJSON.decode(ExperimentConfig.self, from: bData, source: "\(source): base")
            base = b
        default:
            throw TaskError("\(source): give exactly one of 'preset' (a name from `icl presets`) and 'base' (a config object)")
        }
        base["name"] = name
        if let summary = spec["summary"] as? String { base["summary"] = summary }
        // Fixed changes to the base, as paths: {"training.steps": 1000}.
        guard let fixed = spec["set"] as? [String: Any] ?? (spec["set"] == nil ? [:] : nil) else {
            throw TaskError("\(source): 'set' must be an object of path → value, e.g. {\"training.steps\": 1000}")
        }
        for (path, value) in fixed.sorted(by: { $0.key < $1.key }) { apply(&base, path, value) }
        let mode = spec["mode"] as? String ?? "product"
        guard mode == "product" || mode == "zip" else { throw TaskError("\(source): mode must be \"product\" or \"zip\", got '\(mode)'") }
        guard let axes = spec["axes"] as? [[String: Any]] ?? (spec["axes"] == nil ? [] : nil) else {
            throw TaskError("\(source): 'axes' must be a list of {\"path\": \"a.b.c\", \"values\": [...]}")
        }
        var paths: [String] = []
        var values: [[Any]] = []
        for (i, axis) in axes.enumerated() {
            guard let path = axis["path"] as? String, !path.isEmpty, let vs = axis["values"] as? [Any], !vs.isEmpty,
                  axis.count == 2 else {
                throw TaskError("\(source): axis \(i + 1) must be {\"path\": \"a.b.c\", \"values\": [at least one value]}")
            }
            guard !paths.contains(path) else { throw TaskError("\(source): axis '\(path)' is given twice") }
            paths.append(path)
            values.append(vs)
        }
        if mode == "zip", let n = values.first?.count, let bad = zip(paths, values).first(where: { $0.1.count != n }) {
            throw TaskError("\(source): mode zip needs axes of one length; '\(paths[0])' has \(n) values, '\(bad.0)' has \(bad.1.count)")
        }
        // Every combination, last axis fastest (checked: a sweep of billions of points is a mistake, not a plan).
        var combos: [[Int]] = [[]]
        if mode == "zip" {
            combos = (0..<(values.first?.count ?? 1)).map { i in values.map { _ in i } }
        } else {
            for vs in values {
                combos = combos.flatMap { c in vs.indices.map { c + [$0] } }
                guard combos.count <= 100_000 else { throw TaskError("\(source): more than 100,000 points; split the sweep") }
            }
        }
        var points: [Point] = []
        var seen: [String: Int] = [:]
        for (index, combo) in combos.enumerated() {
            var json = base
            var axisValues: [(String, String)] = []
            for (a, v) in combo.enumerated() {
                let value = values[a][v]
                let text = String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]),
                                  as: UTF8.self)
                axisValues.append((paths[a], text))
                apply(&json, paths[a], value)
            }
            let label = axisValues.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
            json["name"] = axisValues.isEmpty ? name : "\(name)[\(label)]"
            let config = try StrictJSON.decode(ExperimentConfig.self, from: try JSONSerialization.data(withJSONObject: json),
                                               source: "\(source): point \(index) (\(label))")
            do { try config.validate() } catch let e as TaskError { throw TaskError("\(source): point \(index) (\(label)): \(e.message)") }
            let hash = RunStore.configHash(config)
            if let other = seen[hash] {
                throw TaskError("\(source): points \(other) and \(index) are the same run "
                                + "(an axis path changes nothing, or repeats a value)")
            }
            seen[hash] = index
            points.append(Point(index: index, config: config, hash: hash, axes: axisValues))
        }
        let canonical = String(decoding: try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys, .prettyPrinted]),
                               as: UTF8.self)
        return ExpandedSweep(name: name, specJSON: canonical, axisPaths: paths, points: points,
                             slurm: try slurmOptions(spec["slurm"], source: source))
    }

    /// Sets a config path; `seed` sets both the training seed and the model's initialization seed.
    static func apply(_ json: inout [String: Any], _ path: String, _ value: Any) {
        if path == "seed" {
            set(&json, ["training", "seed"], value)
            set(&json, ["modelSeed"], value)
        } else {
            set(&json, path.split(separator: ".").map(String.init), value)
        }
    }

    /// Sets `value` at `path` in a JSON object, creating objects on the way.
    static func set(_ object: inout [String: Any], _ path: [String], _ value: Any) {
        guard let key = path.first else { return }
        if path.count == 1 { object[key] = value; return }
        var child = object[key] as? [String: Any] ?? [:]
        set(&child, Array(path.dropFirst()), value)
        object[key] = child
    }

    static func slurmOptions(_ value: Any?, source: String) throws -> SlurmOptions {
        var o = SlurmOptions()
        guard let value else { return o }
        guard let s = value as? [String: Any] else { throw TaskError("\(source): 'slurm' must be an object") }
        for (k, v) in s {
            switch (k, v) {
            case ("time", let t as String): o.time = t
            case ("memory", let m as String): o.memory = m
            case ("cpus", let c as Int) where c >= 1: o.cpus = c
            case ("throttle", let t as Int) where t >= 1: o.throttle = t
            case ("partition", let p as String): o.partition = p
            case ("extra", let e as [String]): o.extra = e
            default:
                throw TaskError("\(source): slurm.\(k): expected time \"HH:MM:SS\", memory \"4G\", cpus ≥ 1, throttle ≥ 1, "
                                + "partition \"name\" or extra [\"--flag=value\"]")
            }
        }
        return o
    }

    /// The sweep's runs' directories live in `root/NAME/`, one per point: `INDEX-HASH`.
    public func runDirectory(root: URL, point: Point) -> URL {
        root.appendingPathComponent(name).appendingPathComponent(String(format: "%04d-", point.index) + point.hash)
    }
}
