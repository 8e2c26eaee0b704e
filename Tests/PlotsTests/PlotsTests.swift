import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Plots
import XCTest

/// Figures are well-formed SVG, and data land where they should: a known point at its computed pixel, ticks at
/// round numbers, colours at the ends of the scale.
final class PlotsTests: XCTestCase {
    func assertWellFormedXML(_ svg: String, file: StaticString = #filePath, line: UInt = #line) {
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "not well-formed: \(parser.parserError.map { "\($0)" } ?? "?")", file: file, line: line)
    }

    func testLinePlotMapsDataToPixelsAndIsWellFormed() {
        let series = [LinePlot.Series(name: "GD <η = 0.5> & co", points: [(1, 10), (2, 1), (4, 0.1)],
                                      band: [(1, 5, 20), (2, 0.5, 2), (4, 0.05, 0.2)]),
                      LinePlot.Series(name: "OLS", points: [(1, 3), (2, 0.3), (4, 1e-30)])]
        let plot = LinePlot.fitted(title: "error vs k", xLabel: "k", yLabel: "MSE", series: series)
        assertWellFormedXML(plot.svg)
        // Axes: x spans [1, 4] with ticks every 0.5 (a 1-2-5 step); y spans whole decades.
        XCTAssertEqual(plot.x.low, 1)
        XCTAssertEqual(plot.x.high, 4)
        XCTAssertEqual(plot.x.ticks, [1, 1.5, 2, 2.5, 3, 3.5, 4])
        XCTAssertEqual(plot.y.high, 100)
        XCTAssertEqual(plot.y.low, 1e-5, "six decades below the top, so an exact learner's 1e-30 does not squash the rest")
        // y = 10 on a log axis from 1e-5 to 100 is 6/7 of the way up; x = 2 is 1/3 of the way across.
        let (w, h) = (plot.width - plot.margins.left - plot.margins.right, plot.height - plot.margins.top - plot.margins.bottom)
        let p = plot.pixel(x: 2, y: 10)!
        XCTAssertEqual(p.x, plot.margins.left + w / 3, accuracy: 1e-9)
        XCTAssertEqual(p.y, plot.margins.top + (1 - 6.0 / 7.0) * h, accuracy: 1e-9)
        XCTAssertTrue(plot.svg.contains(String(format: "cx=\"%.2f\" cy=\"%.2f\"", p.x, plot.pixel(x: 2, y: 1)!.y)))
        XCTAssertNil(plot.pixel(x: 1, y: 0), "0 has no place on a log axis")
        XCTAssertTrue(plot.svg.contains("GD &lt;η = 0.5&gt; &amp; co"), "labels are escaped")
        XCTAssertTrue(plot.svg.contains("<polygon"), "the band is drawn")
    }

    func testNiceTicksAndLogLabels() {
        let axis = Axis.fitting([0.13, 0.87], label: "x")
        XCTAssertEqual(axis.low, 0.1, accuracy: 1e-12)
        XCTAssertEqual(axis.high, 0.9, accuracy: 1e-12)
        XCTAssertEqual(axis.ticks.count, 4)
        for (t, expected) in zip(axis.ticks, [0.2, 0.4, 0.6, 0.8]) { XCTAssertEqual(t, expected, accuracy: 1e-12) }
        let log = Axis(label: "y", scale: .log10, low: 1e-6, high: 10)
        XCTAssertEqual(log.ticks.map { log.tickLabel($0) }, ["1e-6", "1e-5", "1e-4", "1e-3", "0.01", "0.1", "1", "10"])
    }

    func testHeatmapColoursSpanTheScaleAndIsWellFormed() {
        let map = Heatmap(title: "layer × reference", rowLabels: ["layer 1", "layer 2"], columnLabels: ["GD", "OLS"],
                          values: [[1e-3, 1], [0.1, .nan]], valueLabel: "SPD", logScale: true)
        assertWellFormedXML(map.svg)
        XCTAssertEqual(map.fill(row: 0, column: 0), "#440154", "the smallest value takes the first viridis colour")
        XCTAssertEqual(map.fill(row: 0, column: 1), "#FDE725", "the largest the last")
        XCTAssertEqual(map.fill(row: 1, column: 1), "#BBBBBB", "a missing value is grey")
        XCTAssertEqual(map.range.low, -3, accuracy: 1e-12)
    }
}
