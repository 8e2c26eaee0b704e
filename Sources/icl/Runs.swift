import Analysis
import ArgumentParser
import Experiments
import Foundation
import NumericCore
import Plots
import Tasks
import Training

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "Read the run store: list, show, table, plot, export.",
        subcommands: [RunsList.self, RunsShow.self, RunsTable.self, RunsPlot.self, RunsExport.self, StoreWriter.self])
}

/// Which runs: a sweep's, a status, config fields equal to values.
struct RunFilter: ParsableArguments {
    @Option(help: "Only this sweep's runs (in point order).") var sweep: String?
    @Option(help: "Only runs with this status: running, done, failed, interrupted.") var status: String?
    @Option(name: .customLong("where"), parsing: .singleValue,
            help: "Only runs whose config has PATH=VALUE (e.g. task.weights.size=16, model.layers=2, seed=0); repeatable.")
    var conditions: [String] = []

    func select(_ store: RunStore) throws -> [RunStore.Run] {
        if let status, RunStore.Status(rawValue: status) == nil {
            throw ValidationError("--status must be running, done, failed or interrupted, got '\(status)'")
        }
        let pairs = try conditions.map { c -> (String, String) in
            guard let eq = c.firstIndex(of: "="), eq != c.startIndex else { throw ValidationError("--where takes PATH=VALUE, got '\(c)'") }
            return (String(c[..<eq]), String(c[c.index(after: eq)...]))
        }
        return try store.runs(sweep: sweep, status: status).filter { run in
            pairs.allSatisfy { path, value in
                guard let v = field(run, path) else { return false }
                if let a = Double(v), let b = Double(value) { return a == b }
                return v == value || v == "\"\(value)\""
            }
        }
    }
}

/// A config field of a run as JSON text ("seed" is training.seed), or nil when the config has no such key.
func field(_ run: RunStore.Run, _ path: String) -> String? {
    guard var node = run.config else { return nil }
    for key in (path == "seed" ? "training.seed" : path).split(separator: ".") {
        guard let object = node as? [String: Any], let next = object[String(key)] else { return nil }
        node = next
    }
    if let s = node as? String { return "\"\(s)\"" }
    guard let data = try? JSONSerialization.data(withJSONObject: node, options: [.fragmentsAllowed, .sortedKeys]) else { return nil }
    return String(decoding: data, as: UTF8.self)
}

/// A field as a table cell: a number when it is one, else its JSON text.
func fieldCell(_ run: RunStore.Run, _ path: String) -> Cell {
    guard let v = field(run, path) else { return .empty }
    if let i = Int(v) { return .integer(i) }
    if let d = Double(v) { return .number(d) }
    return .text(v.hasPrefix("\"") ? String(v.dropFirst().dropLast()) : v)
}

/// The config fields that vary over a sweep's runs (its axes), for default columns.
func axisPaths(_ store: RunStore, sweep: String?) throws -> [String] {
    guard let sweep, let row = try store.db.query("SELECT spec_json FROM sweeps WHERE name = ?1", [.text(sweep)]).first,
          let spec = row["spec_json"].text else { return [] }
    return (try? ExpandedSweep.expand(Data(spec.utf8), source: sweep).axisPaths) ?? []
}

struct RunsList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "One line per run: id, status, name, main metric.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var filter: RunFilter

    func run() throws {
        let store = try storeOptions.openExisting()
        let runs = try filter.select(store)
        for r in runs {
            let when = r.startedAt.map { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: $0)) } ?? "—"
            let what = r.status == "failed" ? "error: \(r.error ?? "?")" : r.metrics["model_error"].map { "model_error \(Cell.format($0))" } ?? ""
            print("\(r.id)\t\(r.status)\t\(r.name)\t\(when)\t\(r.host ?? "—")\t\(what)")
        }
        print("\(runs.count) run\(runs.count == 1 ? "" : "s")")
    }
}

struct RunsShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Everything the store holds of one run.")
    @Argument(help: "The run's id (from `icl runs list`).") var id: Int64
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let store = try storeOptions.openExisting()
        guard let r = try store.run(id: id) else { throw TaskError("\(store.path): no run \(id)") }
        func date(_ t: Double?) -> String { t.map { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: $0)) } ?? "—" }
        print("""
        run \(r.id): \(r.name)
        status: \(r.status)\(r.error.map { " (\($0))" } ?? ""), attempts \(r.attempts)
        config hash: \(r.hash); seed \(r.seed.map(String.init) ?? "—"); code \(r.codeVersion ?? "—")
        machine: \(r.host ?? "—") pid \(r.pid.map(String.init) ?? "—")\(r.slurmJob.map { ", Slurm job \($0)" } ?? "")
        started \(date(r.startedAt)), ended \(date(r.endedAt))\(r.startedAt.flatMap { s in r.endedAt.map { String(format: " (%.1f s)", $0 - s) } } ?? "")
        run directory: \(r.runDirectory ?? "—")
        sweeps: \(r.points.isEmpty ? "—" : r.points.map { "\($0.sweep) #\($0.index)" }.joined(separator: ", "))
        """)
        let history = try store.history(id: id)
        if let first = history.first, let last = history.last {
            print("training: \(history.count) steps, loss \(Cell.format(first["loss"].double ?? .nan)) → \(Cell.format(last["loss"].double ?? .nan))")
        }
        if !r.metrics.isEmpty {
            print("\nmetrics:")
            for (k, v) in r.metrics.sorted(by: { $0.key < $1.key }) { print("  \(k) = \(v)") }
        }
        let (layers, matches) = try store.layers(id: id)
        if !layers.isEmpty {
            let refs = Array(Set(matches.compactMap { $0["reference"].text })).sorted()
            var t = ReportTable(title: "Per layer: model error, each reference's best step (distance), closest",
                                columns: ["layer", "model error"] + refs + ["closest"])
            for l in layers {
                let n = l["layer"].int
                let cells: [Cell] = refs.map { ref in
                    guard let m = matches.first(where: { $0["layer"].int == n && $0["reference"].text == ref }) else { return .empty }
                    return .text("\(m["best_step"].text ?? "") (\(Cell.format(m["distance"].double ?? .nan)))")
                }
                t.rows.append([.text(l["label"].text ?? ""), .number(l["model_error"].double ?? .nan)] + cells + [.text(l["closest"].text ?? "")])
            }
            print("\n" + t.render(.markdown), terminator: "")
        }
        print("\nconfig:\n\(r.configJSON)")
    }
}

struct RunsTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table", abstract: "One row per run: chosen config fields and metrics as columns (Markdown, CSV or JSON).")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var filter: RunFilter
    @Option(help: "Config fields as columns, comma-separated (default: the sweep's axes).") var fields: String?
    @Option(help: "Metrics as columns, comma-separated (default: every metric the runs have).") var metrics: String?
    @Option(help: "Output format: markdown, csv or json.") var format: ReportTable.Format = .markdown

    func run() throws {
        let store = try storeOptions.openExisting()
        let runs = try filter.select(store)
        let table = try makeTable(store, runs)
        print(table.render(format), terminator: "")
    }

    func makeTable(_ store: RunStore, _ runs: [RunStore.Run]) throws -> ReportTable {
        let f = try fields.map(split) ?? axisPaths(store, sweep: filter.sweep)
        let m = try metrics.map(split) ?? Array(Set(runs.flatMap(\.metrics.keys))).sorted()
        var t = ReportTable(title: "Runs\(filter.sweep.map { " of sweep \($0)" } ?? "") (\(runs.count))",
                            columns: ["id", "status"] + f + m)
        for r in runs {
            t.rows.append([.integer(Int(r.id)), .text(r.status)] + f.map { fieldCell(r, $0) }
                          + m.map { r.metrics[$0].map { .number($0) } ?? .empty })
        }
        return t
    }
}

func split(_ list: String) throws -> [String] {
    let parts = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    guard !parts.isEmpty else { throw ValidationError("an empty list: '\(list)'") }
    return parts
}

struct RunsPlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot", abstract: "A metric against a config field, one line per value of the other axes (SVG).",
        discussion: "Runs at the same x in the same line (other seeds) are averaged; the title says over how many.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var filter: RunFilter
    @Option(help: "The config field on the x axis (e.g. task.weights.size).") var x: String
    @Option(help: "Metrics on the y axis, comma-separated (one line each).") var y: String
    @Option(help: "One line per value of these fields, comma-separated (default: the sweep's other axes, less seed).")
    var by: String?
    @Flag(help: "Log-scale x axis.") var logX = false
    @Flag(help: "Linear y axis (default log).") var linearY = false
    @Option(help: "The SVG file to write.") var out: String

    func run() throws {
        let store = try storeOptions.openExisting()
        let runs = try filter.select(store).filter { $0.status == "done" }
        guard !runs.isEmpty else { throw TaskError("no finished runs match; `icl runs list` shows what the store holds") }
        let metrics = try split(y)
        let groups = try by.map(split) ?? axisPaths(store, sweep: filter.sweep).filter { $0 != x && $0 != "seed" }
        var series: [String: [Double: [Double]]] = [:]
        var order: [String] = []
        var averaged = 1
        for r in runs {
            guard let xs = field(r, x), let xv = Double(xs) else {
                throw TaskError("run \(r.id): config field '\(x)' is \(field(r, x) ?? "absent"), not a number")
            }
            let label = groups.map { "\($0)=\(field(r, $0) ?? "—")" }.joined(separator: ", ")
            for metric in metrics {
                guard let v = r.metrics[metric] else { continue }
                let name = [metrics.count > 1 || groups.isEmpty ? metric : nil, label.isEmpty ? nil : label].compactMap { $0 }.joined(separator: ", ")
                if series[name] == nil { order.append(name) }
                series[name, default: [:]][xv, default: []].append(v)
                averaged = max(averaged, series[name]![xv]!.count)
            }
        }
        guard !order.isEmpty else { throw TaskError("no run has metric \(metrics.joined(separator: " or ")); `icl runs show ID` lists a run's metrics") }
        let lines = order.map { name in
            LinePlot.Series(name: name, points: series[name]!.sorted { $0.key < $1.key }.map { ($0.key, $0.value.reduce(0, +) / Double($0.value.count)) })
        }
        let title = "\(filter.sweep ?? "runs"): \(metrics.joined(separator: ", ")) vs \(x)" + (averaged > 1 ? " (mean of up to \(averaged) runs)" : "")
        let plot = LinePlot.fitted(title: title, xLabel: x, yLabel: metrics.count == 1 ? metrics[0] : "value", series: lines,
                                   xScale: logX ? .log10 : .linear, yScale: linearY ? .linear : .log10)
        try NumPy.writeAtomically(Data(plot.svg.utf8), to: URL(fileURLWithPath: out))
        print("wrote \(out): \(lines.count) line\(lines.count == 1 ? "" : "s"), \(runs.count) runs")
    }
}

struct RunsExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "The runs table as .npz (numeric columns, one array each) or .csv (every column), for NumPy and pandas.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var filter: RunFilter
    @Option(help: "Config fields, comma-separated (default: the sweep's axes).") var fields: String?
    @Option(help: "Metrics, comma-separated (default: all).") var metrics: String?
    @Option(help: "Output file: .npz or .csv.") var out: String
    @Flag(help: "Export the training histories instead: .npz arrays id [R], step [S], loss / gradient_norm / learning_rate [R, S] (NaN where a run has no such step); .csv one row per run and step.")
    var history = false

    func run() throws {
        let store = try storeOptions.openExisting()
        let runs = try filter.select(store)
        if history { return try exportHistories(store, runs) }
        var tableCommand = RunsTable()
        tableCommand.filter = filter
        tableCommand.fields = fields
        tableCommand.metrics = metrics
        let t = try tableCommand.makeTable(store, runs)
        let url = URL(fileURLWithPath: out)
        switch url.pathExtension {
        case "csv":
            // Full precision (Double.description round-trips), not the table's 4 digits.
            var csv = t.columns.joined(separator: ",") + "\n"
            for row in t.rows {
                csv += row.map { c -> String in
                    switch c {
                    case .number(let v): return v.description
                    case .integer(let i): return String(i)
                    case .text(let s): return CSV.quote(s)
                    case .tagged(let label, _, _): return CSV.quote(label)
                    case .empty: return ""
                    }
                }.joined(separator: ",") + "\n"
            }
            try NumPy.writeAtomically(Data(csv.utf8), to: url)
            print("wrote \(out): \(t.rows.count) rows × \(t.columns.count) columns")
        case "npz":
            var arrays: [(name: String, tensor: Tensor)] = []
            var skipped: [String] = []
            for (j, name) in t.columns.enumerated() {
                let values = t.rows.map { row -> Double? in
                    switch row[j] {
                    case .number(let v): return v
                    case .integer(let i): return Double(i)
                    case .empty: return .nan
                    case .text: return nil
                    case .tagged(_, let value, _): return value.number
                    }
                }
                if values.contains(where: { $0 == nil }) { skipped.append(name); continue }
                arrays.append((name, Tensor(shape: [t.rows.count], scalars: values.map { $0! })))
            }
            try NumPy.save(arrays, npz: url)
            print("wrote \(out): \(arrays.count) arrays of \(t.rows.count) runs (missing values NaN)" + (skipped.isEmpty ? "" : "; text columns left out: \(skipped.joined(separator: ", ")) (use .csv)"))
        default:
            throw ValidationError("--out must end in .npz or .csv, got '\(out)'")
        }
    }
}

extension RunsExport {
    func exportHistories(_ store: RunStore, _ runs: [RunStore.Run]) throws {
        let url = URL(fileURLWithPath: out)
        guard url.pathExtension == "npz" || url.pathExtension == "csv" else {
            throw ValidationError("--out must end in .npz or .csv, got '\(out)'")
        }
        let columns = ["loss", "gradient_norm", "learning_rate"]
        let histories = try runs.map { try store.history(id: $0.id) }
        if url.pathExtension == "csv" {
            var csv = "id,step," + columns.joined(separator: ",") + "\n"
            for (r, h) in zip(runs, histories) {
                for row in h {
                    csv += "\(r.id),\(row["step"].int ?? -1)," + columns.map { row[$0].double.map { $0.description } ?? "" }.joined(separator: ",") + "\n"
                }
            }
            try NumPy.writeAtomically(Data(csv.utf8), to: url)
            print("wrote \(out): \(histories.map(\.count).reduce(0, +)) rows (\(runs.count) runs)")
            return
        }
        // One column per step any run recorded (the trainer numbers them 1…S); NaN where a run has no such step.
        let steps = Array(Set(histories.flatMap { $0.compactMap { $0["step"].int } })).sorted()
        let column = Dictionary(uniqueKeysWithValues: steps.enumerated().map { ($1, $0) })
        try checkSize([runs.count, steps.count, columns.count], "runs × steps × columns")
        var arrays: [(name: String, tensor: Tensor)] = [("id", Tensor(runs.map { Double($0.id) })),
                                                        ("step", Tensor(steps.map(Double.init)))]
        for c in columns {
            var values = [Double](repeating: .nan, count: runs.count * steps.count)
            for (r, h) in histories.enumerated() {
                for row in h {
                    guard let s = row["step"].int, let j = column[s] else { continue }
                    values[r * steps.count + j] = row[c].double ?? .nan
                }
            }
            arrays.append((c, Tensor(shape: [runs.count, steps.count], scalars: values)))
        }
        try NumPy.save(arrays, npz: url)
        print("wrote \(out): \(runs.count) runs × \(steps.count) steps")
    }
}

/// A writer for the store's concurrency test: claims and finishes `rows` runs (the same configs in every writer,
/// so writers race for each claim) through the code path workers use, with a synthetic history of `steps` rows.
struct StoreWriter: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stress-writer", abstract: "(test) Race other writers for the same runs.",
                                                    shouldDisplay: false)
    @OptionGroup var storeOptions: StoreOptions
    @Option var rows: Int = 20
    @Option var steps: Int = 50
    @Option var writer: Int = 0

    func run() throws {
        let store = try storeOptions.open()
        var claimed = 0
        for k in 0..<rows {
            var config = try Presets.named("ci-tiny")
            config.training.seed = UInt64(k)
            config.name = "stress-\(k)"
            guard case .claimed(let id, _) = try store.claim(config, runDirectory: "-", codeVersion: "test") else { continue }
            claimed += 1
            var h = TrainingHistory()
            for s in 0..<steps { h.steps.append(s); h.losses.append(Double(k) + Double(s) / 1000) }
            try store.finish(id: id, result: RunStore.Result(history: h, layers: [], metrics: ["k": Double(k), "writer": Double(writer)]))
        }
        print("writer \(writer) claimed \(claimed)")
    }
}
