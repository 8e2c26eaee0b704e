import Foundation

/// Figures as SVG text: pure functions from data to a string, no global state. Colours are the Okabe–Ito
/// palette (distinguishable with every common colour-vision deficiency); text is escaped.
public enum SVG {
    /// Okabe & Ito's colour-blind-safe palette.
    public static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func number(_ x: Double) -> String { String(format: "%.2f", x) }

    static func document(width: Double, height: Double, title: String, body: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(number(width))" height="\(number(height))" \
        viewBox="0 0 \(number(width)) \(number(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <title>\(escape(title))</title>
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(number(width / 2))" y="20" text-anchor="middle" font-size="14" font-weight="bold">\(escape(title))</text>
        \(body)</svg>

        """
    }
}
