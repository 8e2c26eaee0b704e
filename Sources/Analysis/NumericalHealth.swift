import Foundation
import NumericCore
import Tasks

/// Numbers that should not be printed as if they were results: a learner or metric that overflowed to
/// ±∞ or NaN, and prompts whose scale puts every learner in overflow or underflow territory. Each warning is
/// one line naming what went wrong; the CLI prints them on stderr (and exits non-zero under `--strict`).
public enum NumericalHealth {
    /// Inputs and labels whose magnitude leaves the range where squares and products of a few hundred terms
    /// stay representable (≈ 1e±100 squared is 1e±200, near Double's limits).
    public static let safeRange: ClosedRange<Double> = 1e-100...1e100
    /// Scales at which the workbench's learners and line searches are tuned; outside, results are still
    /// computed but the user is told to standardize.
    public static let comfortableRange: ClosedRange<Double> = 1e-6...1e6

    /// Warnings about the scale of prompts: the largest |x| and |y|, and all-zero or vanishing labels.
    public static func scaleWarnings(_ prompts: PromptBatch, source: String) -> [String] {
        var warnings: [String] = []
        for (name, t) in [("xs", prompts.xs), ("ys", prompts.ys)] {
            let largest = t.scalars.reduce(0) { max($0, abs($1)) }
            if largest == 0 {
                warnings.append("\(source): every entry of \(name) is 0; errors and distances will be 0 whatever the learner")
            } else if !comfortableRange.contains(largest) {
                let severity = safeRange.contains(largest) ? "far outside" : "beyond"
                warnings.append("\(source): \(name) reaches |\(name.dropLast())| = \(Cell.format(largest)), \(severity) the range the learners are tuned for (about 1); standardize the prompts (divide x and y by their standard deviations) before comparing")
            }
        }
        return warnings
    }

    /// Warnings for every non-finite number in a report table, naming the row (the learner or step) and the column.
    public static func tableWarnings(_ table: ReportTable) -> [String] {
        var warnings: [String] = []
        for row in table.rows {
            let label = row.first?.plain ?? "?"
            for (column, cell) in zip(table.columns, row) {
                if case .number(let x) = cell, !x.isFinite {
                    warnings.append("\(label): \(column) is \(x) in \"\(table.title)\" (the computation overflowed or divided by zero)")
                }
            }
        }
        return warnings
    }
}
