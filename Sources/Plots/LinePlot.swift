import Foundation

/// A line plot: several series with markers, optional shaded bands (e.g. ± standard error), linear or log axes
/// with ticks at round numbers, labelled axes, a title and a legend.
public struct LinePlot: Equatable, Sendable {
    public struct Series: Equatable, Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Optional band around the line: `(x, low, high)`.
        public var band: [(x: Double, low: Double, high: Double)]

        public init(name: String, points: [(x: Double, y: Double)], band: [(x: Double, low: Double, high: Double)] = []) {
            self.name = name
            self.points = points
            self.band = band
        }

        public static func == (a: Series, b: Series) -> Bool {
            a.name == b.name && a.points.elementsEqual(b.points) { $0.x == $1.x && $0.y == $1.y }
                && a.band.elementsEqual(b.band) { $0.x == $1.x && $0.low == $1.low && $0.high == $1.high }
        }
    }

    public var title: String
    public var x: Axis
    public var y: Axis
    public var series: [Series]
    public var width: Double = 680
    public var height: Double = 400
    /// Plot-area margins: left, right (room for the legend), top, bottom.
    public var margins = (left: 70.0, right: 200.0, top: 35.0, bottom: 50.0)

    public init(title: String, x: Axis, y: Axis, series: [Series]) {
        self.title = title
        self.x = x
        self.y = y
        self.series = series
    }

    /// A plot whose axes fit the data (log y by default, as errors span decades).
    public static func fitted(title: String, xLabel: String, yLabel: String, series: [Series],
                              xScale: Axis.Scale = .linear, yScale: Axis.Scale = .log10) -> LinePlot {
        let xs = series.flatMap { $0.points.map(\.x) }
        var ys = series.flatMap { $0.points.map(\.y) + $0.band.flatMap { [$0.low, $0.high] } }
        if yScale == .log10, let top = ys.filter({ $0.isFinite && $0 > 0 }).max() {
            // An exact learner's 1e-30 would squash every other curve: the axis spans six decades below the top,
            // and smaller values sit on the bottom edge.
            ys = ys.map { $0 > 0 ? max($0, top * 1e-6) : $0 }
        }
        var plot = LinePlot(title: title, x: .fitting(xs, label: xLabel, scale: xScale), y: .fitting(ys, label: yLabel, scale: yScale),
                            series: series)
        // Room for the longest legend entry (about 6.6 px a character at 12 px).
        let legend = 50 + 6.6 * Double(series.map(\.name.count).max() ?? 0)
        if legend > plot.margins.right {
            plot.width += legend - plot.margins.right
            plot.margins.right = legend
        }
        return plot
    }

    public static func == (a: LinePlot, b: LinePlot) -> Bool {
        a.title == b.title && a.x == b.x && a.y == b.y && a.series == b.series && a.width == b.width && a.height == b.height
    }

    /// The pixel of a data point (nil if it cannot be drawn: non-finite, or ≤ 0 on a log axis). Values outside the
    /// axes are clamped to the plot area's edge.
    public func pixel(x vx: Double, y vy: Double) -> (x: Double, y: Double)? {
        guard vx.isFinite, vy.isFinite, let fx = x.fraction(vx), let fy = y.fraction(vy) else { return nil }
        let (w, h) = (width - margins.left - margins.right, height - margins.top - margins.bottom)
        return (margins.left + min(max(fx, 0), 1) * w, margins.top + (1 - min(max(fy, 0), 1)) * h)
    }

    public var svg: String {
        let n = SVG.number
        let (left, top) = (margins.left, margins.top)
        let (right, bottom) = (width - margins.right, height - margins.bottom)
        var body = "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(right - left))\" height=\"\(n(bottom - top))\" fill=\"none\" stroke=\"#444\"/>\n"
        for t in x.ticks {
            guard let p = pixel(x: t, y: y.low) ?? pixel(x: t, y: y.high) else { continue }
            body += "<line x1=\"\(n(p.x))\" y1=\"\(n(top))\" x2=\"\(n(p.x))\" y2=\"\(n(bottom))\" stroke=\"#ddd\"/>"
            body += "<text x=\"\(n(p.x))\" y=\"\(n(bottom + 16))\" text-anchor=\"middle\">\(SVG.escape(x.tickLabel(t)))</text>\n"
        }
        for t in y.ticks {
            guard let p = pixel(x: x.low, y: t) else { continue }
            body += "<line x1=\"\(n(left))\" y1=\"\(n(p.y))\" x2=\"\(n(right))\" y2=\"\(n(p.y))\" stroke=\"#ddd\"/>"
            body += "<text x=\"\(n(left - 6))\" y=\"\(n(p.y + 4))\" text-anchor=\"end\">\(SVG.escape(y.tickLabel(t)))</text>\n"
        }
        body += "<text x=\"\(n((left + right) / 2))\" y=\"\(n(height - 12))\" text-anchor=\"middle\">\(SVG.escape(x.label))</text>\n"
        body += "<text x=\"16\" y=\"\(n((top + bottom) / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(n((top + bottom) / 2)))\">\(SVG.escape(y.label))</text>\n"
        for (i, s) in series.enumerated() {
            let colour = SVG.palette[i % SVG.palette.count]
            let upper = s.band.compactMap { pixel(x: $0.x, y: $0.high) }, lower = s.band.compactMap { pixel(x: $0.x, y: $0.low) }
            if !upper.isEmpty && upper.count == lower.count {
                let outline = (upper + lower.reversed()).map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
                body += "<polygon points=\"\(outline)\" fill=\"\(colour)\" fill-opacity=\"0.18\" stroke=\"none\"/>\n"
            }
            let pts = s.points.compactMap { pixel(x: $0.x, y: $0.y) }
            if pts.count > 1 {
                body += "<polyline points=\"\(pts.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " "))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            }
            // Markers when they can be told apart (a loss curve of thousands of steps is a line).
            if pts.count <= 60 { for p in pts { body += "<circle cx=\"\(n(p.x))\" cy=\"\(n(p.y))\" r=\"3\" fill=\"\(colour)\"/>" } }
            let ly = top + 10 + Double(i) * 18
            body += "\n<line x1=\"\(n(right + 12))\" y1=\"\(n(ly))\" x2=\"\(n(right + 32))\" y2=\"\(n(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
            body += "<text x=\"\(n(right + 38))\" y=\"\(n(ly + 4))\">\(SVG.escape(s.name))</text>\n"
        }
        return SVG.document(width: width, height: height, title: title, body: body)
    }
}
