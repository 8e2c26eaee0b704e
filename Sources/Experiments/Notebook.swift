import Analysis
import Foundation
import NumericCore
import Plots

/// A notebook's report: a header cell (claim, paper, setting), prose cells, tables and figures, and the table
/// that puts the paper's numbers beside ours — written as `report.md` plus SVG figures into one folder, so a
/// repository browser renders it. `--quick` (seconds, for the test suite) and `--out DIR` come from the
/// command line.
public struct Notebook {
    public let directory: URL
    public let quick: Bool
    var markdown = ""
    var figures: [(file: String, svg: String)] = []

    /// Reads `--quick` and `--out DIR` from `arguments`; the default folder is `defaultDirectory`.
    public init(title: String, paper: String, claim: String, setting: [(String, String)],
                defaultDirectory: String, arguments: [String] = CommandLine.arguments) {
        quick = arguments.contains("--quick")
        if let i = arguments.firstIndex(of: "--out"), i + 1 < arguments.count {
            directory = URL(fileURLWithPath: arguments[i + 1])
        } else {
            directory = URL(fileURLWithPath: defaultDirectory)
        }
        markdown = "# \(title)\n\n**Paper.** \(paper)\n\n**Claim.** \(claim)\n\n"
        markdown += "**Setting\(quick ? " (quick mode: a short run for the test suite; the committed report is the full run)" : "")**\n\n"
        markdown += "| | |\n|---|---|\n" + setting.map { "| \($0.0) | \($0.1) |" }.joined(separator: "\n") + "\n\n"
    }

    /// In quick mode, `config` cut down to seconds: `steps` training steps of 256 prompts, 300 evaluation prompts.
    public func shortened(_ config: ExperimentConfig, steps: Int) -> ExperimentConfig {
        guard quick else { return config }
        var c = config
        c.training.steps = steps
        c.training.batchSize = 256
        c.evaluation.prompts = 300
        return c
    }

    public mutating func prose(_ text: String) { markdown += text + "\n\n" }

    public mutating func table(_ t: ReportTable) { markdown += t.render(.markdown) + "\n" }

    /// A figure: written as `file` beside the report and shown in it.
    public mutating func figure(_ file: String, svg: String, caption: String) {
        figures.append((file, svg))
        markdown += "![\(caption)](\(file))\n\n*\(caption)*\n\n"
    }

    /// The paper's numbers beside ours: `(quantity, paper, ours, note)`.
    public mutating func paperVersusOurs(_ rows: [(String, String, String, String)]) {
        markdown += "### The paper's numbers beside ours\n\n| quantity | paper | ours | note |\n|---|---|---|---|\n"
        markdown += rows.map { "| \($0.0) | \($0.1) | \($0.2) | \($0.3) |" }.joined(separator: "\n") + "\n\n"
    }

    /// Writes `report.md` and the figures (each atomically) and prints where.
    public func write() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for f in figures { try NumPy.writeAtomically(Data(f.svg.utf8), to: directory.appendingPathComponent(f.file)) }
        try NumPy.writeAtomically(Data(markdown.utf8), to: directory.appendingPathComponent("report.md"))
        print("wrote \(directory.path)/report.md and \(figures.count) figure\(figures.count == 1 ? "" : "s")")
    }
}
