import Foundation

/// Why an input was refused for asking for more memory than the workbench allows; the message names what
/// asked, how many bytes it needed, the cap, and how to raise the cap.
public struct ResourceLimitError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The one cap on how much memory a single input (a `.npy`/`.npz` file, a config) may make the workbench
/// allocate, so a hostile or mistaken input fails with a clear error instead of exhausting memory or wrapping
/// an `Int` size.
///
/// The cap is `maxBytes`: `ICL_MAX_MEMORY` when set (plain bytes or a number with a binary suffix, e.g.
/// `4G`, `512M`, `1073741824`), else 1 GiB. Sizes are always computed with overflow-checked arithmetic, so an
/// absurd shape such as `(2**61, 8)` is refused instead of wrapping to a small number.
public enum ResourceLimits {
    /// The environment variable that sets `maxBytes`.
    public static let environmentVariable = "ICL_MAX_MEMORY"

    /// The cap when `ICL_MAX_MEMORY` is unset: 1 GiB, ten times the largest prompt file the presets write.
    public static let defaultMaxBytes = 1 << 30

    /// The most bytes one input may ask for. Read once from `ICL_MAX_MEMORY` (a malformed value is reported on
    /// standard error and the default used); assignable at start-up or in tests (it is not synchronized).
    nonisolated(unsafe) public static var maxBytes: Int = {
        guard let text = ProcessInfo.processInfo.environment[environmentVariable] else { return defaultMaxBytes }
        guard let bytes = parseByteCount(text) else {
            let warning = "warning: \(environmentVariable)='\(text)' is not a byte count such as 4G, 512M or "
                + "1073741824; using the default \(describe(bytes: defaultMaxBytes))\n"
            FileHandle.standardError.write(Data(warning.utf8))
            return defaultMaxBytes
        }
        return bytes
    }()

    /// A positive byte count written as plain digits or digits followed by K, M, G or T (powers of 1024, any
    /// case, optionally followed by `B` or `iB`): `"4G"`, `"512MiB"`, `"1073741824"`. `nil` when malformed, zero,
    /// or beyond `Int.max`.
    public static func parseByteCount(_ text: String) -> Int? {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces).uppercased())
        for suffix in ["IB", "B"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
            digits = digits.dropLast(suffix.count)
            break
        }
        var shift = 0
        if let last = digits.last, let power = ["K": 10, "M": 20, "G": 30, "T": 40][String(last)] {
            shift = power
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int(digits), value > 0 else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : bytes
    }

    /// `Π factors`, or `nil` when a factor is negative or the product overflows `Int`.
    public static func checkedProduct(_ factors: [Int]) -> Int? {
        var product = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (p, overflow) = product.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            product = p
        }
        return product
    }

    /// The bytes of `count` elements of `bytesEach` bytes, or a `ResourceLimitError` naming `what` when that is
    /// negative, overflows, or exceeds `limit` (default `maxBytes`).
    @discardableResult
    public static func checkAllocation(count: Int, bytesEach: Int = MemoryLayout<Double>.size, of what: String,
                                       limit: Int = maxBytes) throws -> Int {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: bytesEach)
        guard count >= 0, bytesEach >= 0, !overflow else {
            throw ResourceLimitError("\(what): \(count) elements of \(bytesEach) bytes overflows a 64-bit size, far "
                + "over the \(describe(bytes: limit)) limit")
        }
        guard bytes <= limit else {
            throw ResourceLimitError("\(what) needs \(describe(bytes: bytes)) (\(bytes) bytes), over the "
                + "\(describe(bytes: limit)) limit; if that is intended, raise it with \(environmentVariable) "
                + "(e.g. \(environmentVariable)=\(suggestedLimit(for: bytes)))")
        }
        return bytes
    }

    /// The bytes of an array of `shape` with `bytesEach`-byte elements, checked as `checkAllocation(count:)`;
    /// a shape whose element count overflows `Int` is refused with the shape in the message.
    @discardableResult
    public static func checkAllocation(shape: [Int], bytesEach: Int = MemoryLayout<Double>.size, of what: String,
                                       limit: Int = maxBytes) throws -> Int {
        guard let count = checkedProduct(shape) else {
            throw ResourceLimitError("\(what): shape \(shape) has a negative extent or more elements than an Int "
                + "can count")
        }
        return try checkAllocation(count: count, bytesEach: bytesEach, of: "\(what): shape \(shape)", limit: limit)
    }

    /// `bytes` in the largest binary unit that keeps it ≥ 1, e.g. `"1.5 GiB"`.
    public static func describe(bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f", value) + " " + units[unit]
    }

    /// A round `ICL_MAX_MEMORY` value (whole GiB, at least 1G) that admits `bytes`.
    static func suggestedLimit(for bytes: Int) -> String {
        let gib = bytes / (1 << 30) + (bytes % (1 << 30) == 0 ? 0 : 1)
        return "\(max(gib, 1))G"
    }
}
