import Foundation

/// One value of a report table.
public enum Cell: Equatable, Encodable {
    case text(String)
    case number(Double)
    case integer(Int)
    case empty

    public var plain: String {
        switch self {
        case .text(let s): return s
        case .integer(let i): return String(i)
        case .number(let x): return Cell.format(x)
        case .empty: return ""
        }
    }

    public static func format(_ x: Double) -> String {
        if x == 0 { return "0" }
        if !x.isFinite { return String(x) }
        let a = abs(x)
        return a >= 1e-3 && a < 1e5 ? String(format: "%.4f", x) : String(format: "%.3e", x)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let s): try c.encode(s)
        case .integer(let i): try c.encode(i)
        case .number(let x): if x.isFinite { try c.encode(x) } else { try c.encode(String(x)) }
        case .empty: try c.encodeNil()
        }
    }
}

/// A titled table with notes, rendered as Markdown, CSV or JSON (pure functions of the value).
public struct ReportTable: Encodable, Equatable {
    public var title: String
    public var columns: [String]
    public var rows: [[Cell]]
    /// Lines printed under the table (chosen step sizes, conventions, …).
    public var notes: [String]

    public init(title: String, columns: [String], rows: [[Cell]] = [], notes: [String] = []) {
        self.title = title
        self.columns = columns
        self.rows = rows
        self.notes = notes
    }

    public enum Format: String, CaseIterable, Codable { case markdown, csv, json }

    public func render(_ format: Format) -> String {
        switch format {
        case .markdown:
            var out = "### \(title)\n\n| " + columns.joined(separator: " | ") + " |\n"
            out += "|" + columns.map { _ in "---" }.joined(separator: "|") + "|\n"
            for r in rows { out += "| " + r.map(\.plain).joined(separator: " | ") + " |\n" }
            if !notes.isEmpty { out += "\n" + notes.map { "- \($0)" }.joined(separator: "\n") + "\n" }
            return out
        case .csv:
            func quote(_ s: String) -> String {
                s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
            }
            return ([columns.map(quote).joined(separator: ",")] + rows.map { $0.map { quote($0.plain) }.joined(separator: ",") })
                .joined(separator: "\n") + "\n"
        case .json:
            struct Row: Encodable {
                let columns: [String], cells: [Cell]
                func encode(to encoder: Encoder) throws {
                    var c = encoder.container(keyedBy: Key.self)
                    for (k, v) in zip(columns, cells) { try c.encode(v, forKey: Key(k)) }
                }
                struct Key: CodingKey {
                    var stringValue: String; var intValue: Int? { nil }
                    init(_ s: String) { stringValue = s }
                    init?(stringValue: String) { self.stringValue = stringValue }
                    init?(intValue: Int) { nil }
                }
            }
            struct Doc: Encodable { let title: String; let rows: [Row]; let notes: [String] }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let doc = Doc(title: title, rows: rows.map { Row(columns: columns, cells: $0) }, notes: notes)
            return String(decoding: try! enc.encode(doc), as: UTF8.self) + "\n"
        }
    }
}
