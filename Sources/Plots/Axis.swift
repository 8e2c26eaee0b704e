import Foundation

/// A plot axis: the data range, linear or logarithmic, and its ticks at round numbers.
public struct Axis: Equatable, Sendable {
    public enum Scale: Equatable, Sendable { case linear, log10 }

    public var label: String
    public var scale: Scale
    public var low: Double
    public var high: Double

    public init(label: String, scale: Scale = .linear, low: Double, high: Double) {
        self.label = label
        self.scale = scale
        self.low = low
        self.high = high
    }

    /// An axis spanning `values` (finite, and positive on a log axis), padded to round ends.
    public static func fitting(_ values: [Double], label: String, scale: Scale = .linear) -> Axis {
        let usable = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        guard var lo = usable.min(), var hi = usable.max() else { return Axis(label: label, scale: scale, low: scale == .log10 ? 1 : 0, high: scale == .log10 ? 10 : 1) }
        if scale == .log10 {
            lo = pow(10, Foundation.floor(log10(lo)))
            hi = pow(10, Foundation.ceil(log10(hi)))
            if lo == hi { hi = lo * 10 }
        } else {
            if lo == hi { lo -= 0.5; hi += 0.5 }
            let step = Axis.niceStep((hi - lo) / 5)
            lo = Foundation.floor(lo / step) * step
            hi = Foundation.ceil(hi / step) * step
        }
        return Axis(label: label, scale: scale, low: lo, high: hi)
    }

    /// A step of 1, 2 or 5 × 10ᵏ near `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, Foundation.floor(log10(raw)))
        let f = raw / magnitude
        return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * magnitude
    }

    /// Where `value` falls on the axis, 0 at `low` and 1 at `high` (nil for a non-positive value on a log axis).
    public func fraction(_ value: Double) -> Double? {
        switch scale {
        case .linear: return high == low ? 0.5 : (value - low) / (high - low)
        case .log10:
            guard value > 0, low > 0 else { return nil }
            return (log10(value) - log10(low)) / (log10(high) - log10(low))
        }
    }

    /// Tick values at round numbers inside the range.
    public var ticks: [Double] {
        switch scale {
        case .log10:
            let a = Int(Foundation.floor(log10(low))), b = Int(Foundation.ceil(log10(high)))
            let every = max(1, (b - a) / 6)
            return stride(from: a, through: b, by: every).map { pow(10, Double($0)) }.filter { $0 >= low * 0.999 && $0 <= high * 1.001 }
        case .linear:
            let step = Axis.niceStep((high - low) / 5)
            var t = Foundation.ceil(low / step - 1e-9) * step, out: [Double] = []
            while t <= high + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
            return out
        }
    }

    /// A tick's label: integers plainly, others with few digits, powers of ten as 10^k.
    public func tickLabel(_ v: Double) -> String {
        if scale == .log10 {
            let k = Int(log10(v).rounded())
            return k >= -2 && k <= 3 ? Axis.plain(v) : "1e\(k)"
        }
        return Axis.plain(v)
    }

    static func plain(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
        return String(format: "%g", v)
    }
}
