import Foundation
import NumericCore

/// A JSON value with its keys in the order they were given (so reports read in table order), written with
/// full-precision numbers (Swift's shortest representation that reads back to the same Double).
public indirect enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    /// A finite number (callers map NaN and ±∞ to null; JSON has no such numbers).
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])
    /// Text that is already JSON (an encoded config), spliced in as it is.
    case raw(String)

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered() == b.rendered() }

    var isScalar: Bool {
        switch self {
        case .array, .object, .raw: return false
        default: return true
        }
    }

    /// Two-space indented JSON; arrays of scalars and objects of scalars (a table's row) stay on one line.
    public func rendered(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .number(let x): return x.isFinite ? CSV.format(x) : "null"
        case .string(let s): return JSONValue.quote(s)
        case .raw(let text): return text.trimmingCharacters(in: .whitespacesAndNewlines)
                .replacingOccurrences(of: "\n", with: "\n" + indent)
        case .array(let items):
            if items.isEmpty { return "[]" }
            if items.allSatisfy(\.isScalar) {
                return "[" + items.map { $0.rendered() }.joined(separator: ", ") + "]"
            }
            return "[\n" + items.map { inner + $0.rendered(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let pairs):
            if pairs.isEmpty { return "{}" }
            if pairs.allSatisfy({ $0.1.isScalar }) {
                return "{" + pairs.map { JSONValue.quote($0.0) + ": " + $0.1.rendered() }.joined(separator: ", ") + "}"
            }
            return "{\n" + pairs.map { inner + JSONValue.quote($0.0) + ": " + $0.1.rendered(indent: inner) }
                .joined(separator: ",\n") + "\n" + indent + "}"
        }
    }

    static func quote(_ s: String) -> String { JSONText.quote(s) }
}

/// The package version, and the git commit of the checkout the running binary was built in when it can be
/// found (the binary under `.build/…` inside a git work tree); written into every report.
public enum CodeVersion {
    public static let package = "0.6.0"

    public static let commit: String? = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            let git = dir.appendingPathComponent(".git")
            if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) {
                let ref = head.trimmingCharacters(in: .whitespacesAndNewlines)
                guard ref.hasPrefix("ref: ") else { return ref }
                let name = String(ref.dropFirst(5))
                if let loose = try? String(contentsOf: git.appendingPathComponent(name), encoding: .utf8) {
                    return loose.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                // A ref packed by `git gc`: "<sha> <ref>" lines in packed-refs.
                let packed = (try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8)) ?? ""
                return packed.split(separator: "\n").first { $0.hasSuffix(" " + name) }.map { String($0.prefix(40)) }
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    /// `0.6.0 (commit 0123456789ab)`, or the package version alone.
    public static var description: String { commit.map { "\(package) (commit \($0.prefix(12)))" } ?? package }

    public static var json: JSONValue {
        .object([("package", .string(package)), ("commit", commit.map { .string($0) } ?? .null)])
    }
}

/// What every command's `--format json` / `--format csv` writes: the tables of one report with the command, the
/// resolved config and the code version. The JSON follows `Docs/report.schema.json` (`schema_version` says
/// which); the CSV is one tidy table, a `table` column naming each row's table and the union of their columns.
public struct ReportDocument {
    /// Bumped when a key is renamed or removed or its meaning changes (adding keys does not bump it).
    public static let schemaVersion = 1

    public var command: String
    /// The resolved config as JSON text (a comparison's `config.json`; the options of `eval` or `baselines`).
    public var config: String
    public var tables: [ReportTable]
    public var warnings: [String]

    public init(command: String, config: String, tables: [ReportTable], warnings: [String] = []) {
        self.command = command
        self.config = config
        self.tables = tables
        self.warnings = warnings
    }

    public var json: String {
        let doc: JSONValue = .object([
            ("schema", .string("icl-report")), ("schema_version", .integer(ReportDocument.schemaVersion)),
            ("command", .string(command)), ("code_version", CodeVersion.json), ("config", .raw(config)),
            ("tables", .object(tables.map { ($0.id, $0.json) })),
            ("warnings", .array(warnings.map { .string($0) })),
        ])
        return doc.rendered() + "\n"
    }

    /// The tables stacked: `table` first, then every table's columns in order of first appearance (a column
    /// another table shares, such as `learner` or `step`, is one column); a table's rows are empty where it
    /// lacks a column.
    public var csv: String {
        var header = ["table"]
        for t in tables { for c in t.flatColumns where !header.contains(c.key) { header.append(c.key) } }
        var rows: [[ReportTable.Value]] = []
        for t in tables {
            let keys = t.flatColumns.map(\.key)
            for values in t.flatRows {
                var row = [ReportTable.Value](repeating: .null, count: header.count)
                row[0] = .string(t.id)
                for (k, v) in zip(keys, values) { row[header.firstIndex(of: k)!] = v }
                rows.append(row)
            }
        }
        return CSV.render(header: header, rows: rows)
    }

    public func render(_ format: ReportTable.Format) -> String {
        switch format {
        case .markdown: return tables.map { $0.render(.markdown) }.joined(separator: "\n")
        case .csv: return csv
        case .json: return json
        }
    }
}
