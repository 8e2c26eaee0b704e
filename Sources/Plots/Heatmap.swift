import Foundation

/// A heatmap: a matrix of values (layer × algorithm step distances, a learned weight matrix) as coloured cells
/// with row and column labels and a colour bar. The colour map is sequential and colour-blind safe (viridis
/// stops); `logScale` colours by log₁₀ of positive values.
public struct Heatmap: Equatable, Sendable {
    public var title: String
    public var rowLabels: [String]
    public var columnLabels: [String]
    public var values: [[Double]]
    public var valueLabel: String
    public var logScale: Bool
    public var cell = 28.0

    public init(title: String, rowLabels: [String], columnLabels: [String], values: [[Double]], valueLabel: String,
                logScale: Bool = false) {
        precondition(values.count == rowLabels.count && values.allSatisfy { $0.count == columnLabels.count },
                     "Heatmap: \(values.count) rows of values for \(rowLabels.count) labels, each needs \(columnLabels.count) columns")
        self.title = title
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.values = values
        self.valueLabel = valueLabel
        self.logScale = logScale
    }

    static let viridis: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]

    /// The colour of a fraction in [0, 1] along the viridis stops.
    public static func colour(_ f: Double) -> String {
        let t = min(max(f.isFinite ? f : 0, 0), 1) * Double(viridis.count - 1)
        let i = min(Int(t), viridis.count - 2), u = t - Double(i)
        let (a, b) = (viridis[i], viridis[i + 1])
        return String(format: "#%02X%02X%02X", Int((a.0 + (b.0 - a.0) * u).rounded()), Int((a.1 + (b.1 - a.1) * u).rounded()),
                      Int((a.2 + (b.2 - a.2) * u).rounded()))
    }

    func transformed(_ v: Double) -> Double? {
        guard v.isFinite else { return nil }
        if logScale { return v > 0 ? log10(v) : nil }
        return v
    }

    /// The range the colours span.
    public var range: (low: Double, high: Double) {
        let t = values.flatMap { $0 }.compactMap(transformed)
        guard let lo = t.min(), let hi = t.max() else { return (0, 1) }
        return lo == hi ? (lo - 0.5, hi + 0.5) : (lo, hi)
    }

    /// The fill of cell (row, column): its value's place in the range (a grey for a missing value).
    public func fill(row: Int, column: Int) -> String {
        guard let v = transformed(values[row][column]) else { return "#BBBBBB" }
        let r = range
        return Heatmap.colour((v - r.low) / (r.high - r.low))
    }

    public var svg: String {
        let n = SVG.number
        let left = 12 + 7 * Double(rowLabels.map(\.count).max() ?? 4), top = 40.0
        let (w, h) = (Double(columnLabels.count) * cell, Double(rowLabels.count) * cell)
        var body = ""
        for (r, label) in rowLabels.enumerated() {
            body += "<text x=\"\(n(left - 6))\" y=\"\(n(top + (Double(r) + 0.6) * cell))\" text-anchor=\"end\">\(SVG.escape(label))</text>\n"
            for c in columnLabels.indices {
                body += "<rect x=\"\(n(left + Double(c) * cell))\" y=\"\(n(top + Double(r) * cell))\" width=\"\(n(cell))\" height=\"\(n(cell))\" fill=\"\(fill(row: r, column: c))\"><title>\(SVG.escape("\(label), \(columnLabels[c]): \(values[r][c])"))</title></rect>"
            }
            body += "\n"
        }
        for (c, label) in columnLabels.enumerated() {
            let x = left + (Double(c) + 0.5) * cell, y = top + h + 12
            body += "<text x=\"\(n(x))\" y=\"\(n(y))\" text-anchor=\"end\" transform=\"rotate(-45 \(n(x)) \(n(y)))\">\(SVG.escape(label))</text>\n"
        }
        // Colour bar with its end values.
        let barX = left + w + 24, r = range
        for k in 0..<20 {
            let f = 1 - Double(k) / 19
            body += "<rect x=\"\(n(barX))\" y=\"\(n(top + Double(k) * h / 20))\" width=\"14\" height=\"\(n(h / 20 + 0.5))\" fill=\"\(Heatmap.colour(f))\"/>"
        }
        let fmt = { (v: Double) in String(format: "%.3g", self.logScale ? pow(10, v) : v) }
        body += "\n<text x=\"\(n(barX + 18))\" y=\"\(n(top + 10))\">\(SVG.escape(fmt(r.high)))</text>"
        body += "<text x=\"\(n(barX + 18))\" y=\"\(n(top + h))\">\(SVG.escape(fmt(r.low)))</text>"
        body += "<text x=\"\(n(barX + 7))\" y=\"\(n(top + h + 18))\" text-anchor=\"middle\">\(SVG.escape(valueLabel))</text>\n"
        let longest = Double(columnLabels.map(\.count).max() ?? 4) * 6
        let width = max(barX + 110, 8 * Double(title.count) + 40)   // room for the title, bold at 14 px
        return SVG.document(width: width, height: top + h + longest + 30, title: title, body: body)
    }
}
