import Analysis
import Experiments
import Foundation
import NumericCore
import Training
import XCTest

/// The machine-readable outputs: every report's JSON is valid against `Docs/report.schema.json`, keys are
/// identifiers, a column holds one type, NaN / ±∞ are null with a flag, and CSV and JSON carry the same bits.
final class OutputSchemaTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    func schema() throws -> JSONSchemaValidator {
        let data = try Data(contentsOf: OutputSchemaTests.repository.appendingPathComponent("Docs/report.schema.json"))
        return JSONSchemaValidator(root: try ExactJSON.parse(data) as! [String: Any])
    }

    /// A preset shrunk to seconds: the schema is about the shape of the report, which does not depend on how
    /// long the model trained (2 steps of 16 prompts, 40 evaluation prompts).
    static func shrunk(_ name: String) throws -> ExperimentConfig {
        var c = try Presets.named(name)
        c.training.steps = 2
        c.training.batchSize = 16
        c.evaluation.prompts = 40
        return c
    }

    /// Checks one report document beyond the schema: unique keys, one type per column, rows keyed by exactly
    /// the columns, every `nonfinite` entry pointing at a null, and the CSV holding the JSON's numbers bit for bit.
    func checkDocument(_ doc: ReportDocument, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let validator = try schema()
        let json = try ExactJSON.parse(Data(doc.json.utf8)) as! [String: Any]
        XCTAssertEqual(validator.errors(json), [], what, file: file, line: line)
        let tables = json["tables"] as! [String: Any]
        XCTAssertEqual(Set(tables.keys), Set(doc.tables.map(\.id)), what)
        for table in doc.tables {
            let t = tables[table.id] as! [String: Any]
            let columns = (t["columns"] as! [[String: Any]]).map { ($0["key"] as! String, $0["type"] as! String) }
            XCTAssertEqual(Set(columns.map(\.0)).count, columns.count, "\(what) \(table.id): unique keys \(columns.map(\.0))")
            let rows = t["rows"] as! [[String: Any]]
            XCTAssertEqual(rows.count, table.rows.count)
            let flagged = Set((t["nonfinite"] as! [[String: Any]]).map { "\($0["row"]!)/\($0["key"]!)" })
            for (i, row) in rows.enumerated() {
                XCTAssertEqual(Set(row.keys), Set(columns.map(\.0)), "\(what) \(table.id) row \(i)")
                for (key, type) in columns {
                    let v = row[key]!
                    if v is NSNull { continue }
                    XCTAssertEqual(type == "string", v is String, "\(what) \(table.id).\(key) row \(i): \(v) in a \(type) column")
                }
            }
            for entry in flagged {
                let parts = entry.split(separator: "/")
                XCTAssertTrue(rows[Int(parts[0])!][String(parts[1])] is NSNull, "\(what): flagged \(entry) is null")
            }
            // The per-table CSV and the JSON: the same numbers, bit for bit (NaN and ±∞ spelled out in the CSV).
            let csv = table.render(.csv).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
            let header = OutputSchemaTests.parseCSVLine(csv[0])
            XCTAssertEqual(header, columns.map(\.0), "\(what) \(table.id)")
            for (i, line) in csv.dropFirst().enumerated() {
                for (key, field) in zip(header, OutputSchemaTests.parseCSVLine(line)) {
                    let v = rows[i][key]!
                    if let n = v as? NSNumber, !(v is String) {
                        XCTAssertEqual(Double(field)?.bitPattern, n.doubleValue.bitPattern, "\(what) \(table.id).\(key) row \(i)")
                    } else if v is NSNull {
                        XCTAssertTrue(field.isEmpty || flagged.contains("\(i)/\(key)"), "\(what) \(table.id).\(key) row \(i): \(field)")
                        if !field.isEmpty { XCTAssertFalse(Double(field)!.isFinite) }
                    } else {
                        XCTAssertEqual(field, v as? String)
                    }
                }
            }
        }
    }

    /// One CSV line with RFC 4180 quoting (the reports' fields hold no newlines).
    static func parseCSVLine(_ line: String) -> [String] {
        var fields: [String] = [], current = "", quoted = false
        var chars = Array(line)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" { if chars.first == "\"" { current.append("\""); chars = chars.dropFirst() } else { quoted = false } }
                else { current.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { fields.append(current); current = "" }
            else { current.append(c) }
        }
        return fields + [current]
    }

    func testEveryPresetsReportIsValidAgainstTheSchema() throws {
        for name in Presets.names {
            let config = try OutputSchemaTests.shrunk(name)
            let report = try Comparison.run(config, quiet: true)
            try checkDocument(report.document, name)
            // The resolved config and the code version travel with the numbers.
            let json = try ExactJSON.parse(Data(report.render(.json).utf8)) as! [String: Any]
            struct Envelope: Decodable { let config: ExperimentConfig }
            XCTAssertEqual(try JSONDecoder().decode(Envelope.self, from: Data(report.render(.json).utf8)).config, config, name)
            XCTAssertEqual((json["code_version"] as! [String: Any])["package"] as? String, CodeVersion.package)
            XCTAssertEqual(json["schema_version"] as? Int, ReportDocument.schemaVersion)
        }
    }

    func testTheValidatorRejectsBrokenReports() throws {
        // The schema check is not vacuous: each of these breaks one rule of the schema.
        let validator = try schema()
        let report = try Comparison.run(try OutputSchemaTests.shrunk("ci-tiny"), quiet: true)
        let good = try ExactJSON.parse(Data(report.render(.json).utf8)) as! [String: Any]
        XCTAssertEqual(validator.errors(good), [])
        func layers(_ edit: (inout [String: Any]) -> Void) -> [String: Any] {
            var doc = good, tables = good["tables"] as! [String: Any], t = tables["layers"] as! [String: Any]
            edit(&t)
            tables["layers"] = t
            doc["tables"] = tables
            return doc
        }
        var noVersion = good
        noVersion["schema_version"] = nil
        let badKey = layers { t in var rows = t["rows"] as! [[String: Any]]; rows[0]["GD (η = 0.6)"] = 1.0; t["rows"] = rows }
        let nested = layers { t in var rows = t["rows"] as! [[String: Any]]; rows[0]["gd_spd"] = [1.0]; t["rows"] = rows }
        let nanString = layers { t in t["nonfinite"] = [["row": 0, "key": "gd_spd", "value": "NaN"]] }
        for (name, doc) in [("no schema_version", noVersion), ("a label as key", badKey), ("an array value", nested),
                            ("a bad non-finite flag", nanString)] {
            XCTAssertFalse(validator.errors(doc).isEmpty, name)
        }
    }

    func testIdentifiersFullPrecisionAndNonFiniteValues() throws {
        var t = ReportTable(id: "demo", title: "demo", columns: ["learner", "query MSE", "acc@5"])
        let eta = 0.64913204775018
        t.rows = [[.learner("GD, 1 step (η = 0.6491, line-searched)", id: "gd", [.init("steps", 1), .init("learning_rate", eta)]),
                   .number(0.1 + 0.2), .number(.nan)],
                  [.learner("OLS (min-norm)"), .number(-.infinity), .number(1e-300)]]
        let doc = ReportDocument(command: "eval", config: "{}", tables: [t])
        try checkDocument(doc, "demo")
        let json = try ExactJSON.parse(Data(doc.json.utf8)) as! [String: Any]
        let table = (json["tables"] as! [String: Any])["demo"] as! [String: Any]
        let rows = table["rows"] as! [[String: Any]]
        XCTAssertEqual(rows[0]["learner"] as? String, "gd")
        XCTAssertEqual(rows[0]["learner_label"] as? String, "GD, 1 step (η = 0.6491, line-searched)")
        XCTAssertEqual(rows[0]["steps"] as? Int, 1)
        XCTAssertEqual((rows[0]["learning_rate"] as? Double)?.bitPattern, eta.bitPattern, "the label rounds η; the field does not")
        XCTAssertEqual((rows[0]["query_mse"] as? Double)?.bitPattern, (0.1 + 0.2).bitPattern)
        XCTAssertEqual(rows[1]["learner"] as? String, "ols")
        XCTAssertTrue(rows[1]["steps"] is NSNull, "a field a row lacks is null")
        XCTAssertTrue(rows[0]["acc_at_5"] is NSNull && rows[1]["query_mse"] is NSNull)
        let flags = (table["nonfinite"] as! [[String: Any]]).map { "\($0["row"]!) \($0["key"]!) \($0["value"]!)" }
        XCTAssertEqual(flags, ["0 acc_at_5 nan", "1 query_mse -inf"])
        XCTAssertEqual(doc.csv.split(separator: "\n").map(String.init), [
            "table,learner,learner_label,steps,learning_rate,query_mse,acc_at_5",
            "demo,gd,\"GD, 1 step (η = 0.6491, line-searched)\",1,0.64913204775018,0.30000000000000004,nan",
            "demo,ols,OLS (min-norm),,,-inf,1e-300",
        ])
        XCTAssertEqual(t.render(.markdown).split(separator: "\n")[4], "| OLS (min-norm) | -inf | 1.000e-300 |")
        // Labels become identifiers by one rule.
        for (label, key) in [("model MSE", "model_mse"), ("acc@5", "acc_at_5"), ("GD on x SPD", "gd_on_x_spd"),
                             ("ridge λ", "ridge_lambda"), ("prefix MSE at n = 1", "prefix_mse_at_n_1"), ("1-NN", "1_nn")] {
            XCTAssertEqual(Cell.key(label), key)
        }
    }

    func testHugeContextErrorsAreExplainedWithTheirMedian() throws {
        // Multi-step GD at the η line-searched with n − 1 examples diverges with one or two examples on some
        // prompts (looped-flagship: 6 steps); one GD step (flagship) cannot. The note comes exactly with a huge
        // value, and names a median far below the mean.
        for (name, diverges) in [("looped-flagship", true), ("flagship", false)] {
            var config = try OutputSchemaTests.shrunk(name)
            config.evaluation.prompts = 300
            let curve = try XCTUnwrap(try Comparison.run(config, quiet: true).contextCurve)
            let huge = curve.rows.contains { $0.contains { ($0.number ?? 0) >= 1e6 } }
            XCTAssertEqual(huge, diverges, name)
            let note = curve.notes.first { $0.contains("median") }
            XCTAssertEqual(note != nil, diverges, "\(name): \(curve.notes)")
            if let note, let r = note.range(of: #"= ([0-9.e+]+) is a mean over prompts \(median ([0-9.e+]+)\)"#, options: .regularExpression) {
                let numbers = note[r].split(whereSeparator: { " ()=".contains($0) }).compactMap { Double($0) }
                XCTAssertLessThan(numbers[1], numbers[0] / 100, note)
            } else if diverges { XCTFail("no mean and median in the note") }
        }
    }
}
