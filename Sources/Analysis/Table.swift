import Foundation

/// One value of a report table.
public indirect enum Cell: Equatable {
    case text(String)
    case number(Double)
    case integer(Int)
    case empty
    /// A value with a display label and numbers behind it. Markdown and HTML show `label`; JSON and CSV write
    /// `value` under the column's key, `label` under `<key>_label` and each field under its own key, so
    /// "GD, 1 step (η = 0.6491, line-searched)" reads `learner: "gd", steps: 1, learning_rate: 0.64913…`.
    case tagged(label: String, value: Cell, fields: [Field])

    /// A named number behind a tagged cell (full precision, unlike its label).
    public struct Field: Equatable {
        public var key: String
        public var value: Double
        public init(_ key: String, _ value: Double) {
            self.key = key
            self.value = value
        }
    }

    /// A learner's row label: its identifier (by default the label up to the first " (" or ",", made an
    /// identifier: "OLS (min-norm)" → "ols") and the numbers its label rounds.
    public static func learner(_ label: String, id: String? = nil, _ fields: [Field] = []) -> Cell {
        let head = label.prefix { $0 != "(" && $0 != "," }
        return .tagged(label: label, value: .text(id ?? key(String(head))), fields: fields)
    }

    /// A step label with its number ("layer 2" → 2, "λ=15.8" → 15.848…, "k=3" → 3).
    public static func step(_ label: String, _ value: Double) -> Cell {
        .tagged(label: label, value: .number(value), fields: [])
    }

    public var plain: String {
        switch self {
        case .text(let s): return s
        case .integer(let i): return String(i)
        case .number(let x): return Cell.format(x)
        case .empty: return ""
        case .tagged(let label, _, _): return label
        }
    }

    /// The number in this cell (a tagged cell's value), if it holds one.
    public var number: Double? {
        switch self {
        case .number(let x): return x
        case .integer(let i): return Double(i)
        case .tagged(_, let v, _): return v.number
        default: return nil
        }
    }

    /// How tables print a number: four decimals between 1e-3 and 1e5, else three significant decimals in
    /// scientific notation; 0, inf, -inf and nan as such.
    public static func format(_ x: Double) -> String {
        if x == 0 { return "0" }
        if !x.isFinite { return String(x) }
        let a = abs(x)
        return a >= 1e-3 && a < 1e5 ? String(format: "%.4f", x) : String(format: "%.3e", x)
    }

    /// A display label as an identifier: lower case ASCII letters, digits and `_` ("model MSE" → "model_mse",
    /// "acc@5" → "acc_at_5", "GD on x" → "gd_on_x", "λ" → "lambda").
    public static func key(_ label: String) -> String {
        let words: [Character: String] = ["@": " at ", "λ": "lambda", "η": "eta", "ρ": "rho", "σ": "sigma", "κ": "kappa",
                                          "²": "2", "≈": " approx "]
        var out = ""
        for ch in label.lowercased() {
            if let w = words[ch] { out += w; continue }
            if ch.isASCII && (ch.isLetter || ch.isNumber) { out.append(ch) } else { out.append(" ") }
        }
        return out.split(separator: " ").joined(separator: "_")
    }
}

/// A titled table with notes, rendered as Markdown for people and as identifier-keyed JSON / CSV for programs
/// (pure functions of the value; the schema is `Docs/report.schema.json`).
public struct ReportTable: Equatable {
    /// The table's identifier in JSON and CSV ("baselines", "layers", "probes", "context_length", …).
    public var id: String
    public var title: String
    /// Display labels, as Markdown prints them.
    public var columns: [String]
    public var rows: [[Cell]]
    /// Lines printed under the table (chosen step sizes, conventions, …).
    public var notes: [String]
    /// Column identifiers for JSON and CSV; nil: each label made an identifier (`Cell.key`).
    public var columnKeys: [String]?

    public init(id: String = "table", title: String, columns: [String], rows: [[Cell]] = [], notes: [String] = [],
                keys: [String]? = nil) {
        self.id = id
        self.title = title
        self.columns = columns
        self.rows = rows
        self.notes = notes
        self.columnKeys = keys
    }

    public enum Format: String, CaseIterable, Codable { case markdown, csv, json }

    public var keys: [String] { columnKeys ?? columns.map(Cell.key) }

    /// One column of the machine-readable table. A tagged column adds `<key>_label` and one column per field.
    public struct Column: Equatable {
        public var key: String
        public var label: String
        /// "string" or "number" (every value of the column is that or null).
        public var type: String
    }

    /// The columns of JSON and CSV: each column's key, then for a tagged column its `<key>_label` and its
    /// fields in order of first appearance.
    public var flatColumns: [Column] {
        var out: [Column] = []
        for (c, (key, label)) in zip(keys, columns).enumerated() {
            let cells = rows.map { c < $0.count ? $0[c] : .empty }
            let values = cells.map { cell -> Cell in if case .tagged(_, let v, _) = cell { return v } else { return cell } }
            let numeric = values.contains { $0.number != nil }
            out.append(Column(key: key, label: label, type: numeric ? "number" : "string"))
            // `<key>_label` only where a label says more than the value (not for "closest", whose label is its value).
            var fieldKeys: [String] = []
            var labelled = false
            for cell in cells {
                guard case .tagged(let label, let value, let fields) = cell else { continue }
                if case .text(label) = value {} else { labelled = true }
                for f in fields where !fieldKeys.contains(f.key) { fieldKeys.append(f.key) }
            }
            if labelled { out.append(Column(key: "\(key)_label", label: "\(label) (label)", type: "string")) }
            out += fieldKeys.map { Column(key: $0, label: $0, type: "number") }
        }
        return out
    }

    /// A machine-readable value: a string, a number (any Double, non-finite included) or nothing.
    public enum Value: Equatable {
        case string(String), number(Double), null
    }

    /// Each row as values in `flatColumns` order.
    public var flatRows: [[Value]] {
        let columns = flatColumns
        let index = Dictionary(columns.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { a, _ in a })
        func value(_ cell: Cell) -> Value {
            switch cell {
            case .text(let s): return .string(s)
            case .number(let x): return .number(x)
            case .integer(let i): return .number(Double(i))
            case .empty: return .null
            case .tagged(_, let v, _): return value(v)
            }
        }
        return rows.map { row in
            var out = [Value](repeating: .null, count: columns.count)
            for (key, cell) in zip(keys, row) {
                guard let i = index[key] else { continue }
                out[i] = value(cell)
                if case .tagged(let label, _, let fields) = cell {
                    if let l = index["\(key)_label"] { out[l] = .string(label) }
                    for f in fields { out[index[f.key]!] = .number(f.value) }
                }
            }
            return out
        }
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .markdown:
            var out = "### \(title)\n\n| " + columns.joined(separator: " | ") + " |\n"
            out += "|" + columns.map { _ in "---" }.joined(separator: "|") + "|\n"
            for r in rows { out += "| " + r.map(\.plain).joined(separator: " | ") + " |\n" }
            if !notes.isEmpty { out += "\n" + notes.map { "- \($0)" }.joined(separator: "\n") + "\n" }
            return out
        case .csv:
            return CSV.render(header: flatColumns.map(\.key), rows: flatRows)
        case .json:
            return json.rendered() + "\n"
        }
    }

    /// The table as JSON: `{"id", "title", "columns": [{"key", "label", "type"}], "rows": [{key: value}],
    /// "nonfinite": [{"row", "key", "value"}], "notes"}`. A NaN or ±∞ is `null` in its row and listed in
    /// `nonfinite` with "nan", "inf" or "-inf" (JSON has no such numbers).
    public var json: JSONValue {
        let columns = flatColumns
        var nonfinite: [JSONValue] = []
        let rows: [JSONValue] = flatRows.enumerated().map { r, values in
            .object(zip(columns, values).map { column, v in
                switch v {
                case .string(let s): return (column.key, .string(s))
                case .null: return (column.key, .null)
                case .number(let x):
                    if x.isFinite { return (column.key, .number(x)) }
                    nonfinite.append(.object([("row", .integer(r)), ("key", .string(column.key)), ("value", .string("\(x)"))]))
                    return (column.key, .null)
                }
            })
        }
        return .object([
            ("id", .string(id)), ("title", .string(title)),
            ("columns", .array(columns.map { .object([("key", .string($0.key)), ("label", .string($0.label)), ("type", .string($0.type))]) })),
            ("rows", .array(rows)), ("nonfinite", .array(nonfinite)), ("notes", .array(notes.map { .string($0) })),
        ])
    }
}

/// CSV as Python's `csv` module and pandas read it: RFC 4180 quoting, numbers at full precision (Swift's
/// shortest representation that reads back to the same Double), `nan`, `inf`, `-inf` as such, empty for null.
public enum CSV {
    public static func quote(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    public static func field(_ v: ReportTable.Value) -> String {
        switch v {
        case .string(let s): return quote(s)
        case .number(let x): return format(x)
        case .null: return ""
        }
    }

    /// Full precision: an integral value as an integer (`3`, not `3.0`), any other as Swift's shortest
    /// round-tripping form (`0.6825913690189949`, `1e-05`, `inf`, `nan`).
    public static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
    }

    public static func render(header: [String], rows: [[ReportTable.Value]]) -> String {
        ([header.map(quote).joined(separator: ",")] + rows.map { $0.map(field).joined(separator: ",") })
            .joined(separator: "\n") + "\n"
    }
}
