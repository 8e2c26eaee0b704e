import Foundation
import NumericCore

/// Fourier-series regression (Panwar et al. 2024): x ~ U(−L, L) and
/// `f(x) = (a₀ + Σ_{k≤N} a_k cos(kπx/L) + b_k sin(kπx/L)) / √N` with N(0, 1) coefficients.
/// The single class fixes N (with a constant term); the mixture draws N from a prior over 1…maxFrequency
/// (no constant term) — uniform, or decreasing for the complexity-bias variant.
public struct FourierTask: Codable, Equatable, Sendable {
    public var maxFrequency: Int
    public var halfPeriod: Double
    public var points: Int
    /// nil: the single class with N = maxFrequency; otherwise prior weights over N = 1…maxFrequency.
    public var frequencyPrior: [Double]?
    /// Standard deviation of the coefficients' Gaussian prior (1 in Panwar et al.).
    public var coefficientScale: Double

    public init(maxFrequency: Int = 10, halfPeriod: Double = 5, points: Int = 41, frequencyPrior: [Double]? = nil,
                coefficientScale: Double = 1) {
        self.maxFrequency = maxFrequency
        self.halfPeriod = halfPeriod
        self.points = points
        self.frequencyPrior = frequencyPrior
        self.coefficientScale = coefficientScale
    }

    /// The mixture with a uniform prior over N.
    public static func mixture(maxFrequency: Int = 10, points: Int = 41) -> FourierTask {
        FourierTask(maxFrequency: maxFrequency, points: points, frequencyPrior: Array(repeating: 1.0 / Double(maxFrequency), count: maxFrequency))
    }

    /// The complexity-bias variant: P(N) ∝ 2^{−N}.
    public static func complexityBiased(maxFrequency: Int = 10, points: Int = 41) -> FourierTask {
        let w = (1...maxFrequency).map { pow(2, -Double($0)) }
        let z = w.reduce(0, +)
        return FourierTask(maxFrequency: maxFrequency, points: points, frequencyPrior: w.map { $0 / z })
    }

    public var hasConstantTerm: Bool { frequencyPrior == nil }

    public func validate() throws {
        guard maxFrequency >= 1 else { throw TaskError("fourier: max frequency must be ≥ 1, got \(maxFrequency)") }
        guard halfPeriod > 0 else { throw TaskError("fourier: half period L must be > 0, got \(halfPeriod)") }
        guard points >= 1 else { throw TaskError("fourier: points must be ≥ 1, got \(points)") }
        guard coefficientScale > 0 else { throw TaskError("fourier: the coefficient scale must be > 0, got \(coefficientScale)") }
        if let p = frequencyPrior {
            guard p.count == maxFrequency, p.allSatisfy({ $0 >= 0 }), abs(p.reduce(0, +) - 1) < 1e-9 else {
                throw TaskError("fourier: the frequency prior needs \(maxFrequency) non-negative weights summing to 1")
            }
        }
    }

    /// Features `[cos(kπx/L), sin(kπx/L)]_{k=1…n}`, preceded by 1 when `constant`; not yet scaled by 1/√N.
    public static func features(_ x: Double, frequencies n: Int, halfPeriod l: Double, constant: Bool) -> [Double] {
        var f: [Double] = constant ? [1] : []
        for k in 1...max(n, 1) where n >= 1 {
            f.append(Foundation.cos(Double(k) * .pi * x / l))
            f.append(Foundation.sin(Double(k) * .pi * x / l))
        }
        return f
    }

    /// Prompts: `xs [B, T, 1]`, `ys [B, T]`, `ws [B, 2·maxFrequency + 1]` = (a₀, a₁, b₁, …) with zeros past N;
    /// and each prompt's N.
    public func sample(batch: Int, using rng: inout Xoshiro256) -> (prompts: PromptBatch, frequencies: [Int]) {
        let width = 2 * maxFrequency + 1
        var xs = [Double](repeating: 0, count: batch * points), ys = xs
        var ws = [Double](repeating: 0, count: batch * width)
        var frequencies: [Int] = []
        for p in 0..<batch {
            var n = maxFrequency
            if let prior = frequencyPrior {
                var u = rng.nextUniform(), k = 0
                while k < prior.count - 1 && u >= prior[k] { u -= prior[k]; k += 1 }
                n = k + 1
            }
            frequencies.append(n)
            let coefficients = (0..<(2 * n + 1)).map { i in i == 0 && !hasConstantTerm ? 0 : coefficientScale * rng.nextNormal() }
            for i in 0..<(2 * n + 1) { ws[p * width + i] = coefficients[i] }
            for t in 0..<points {
                let x = halfPeriod * (2 * rng.nextUniform() - 1)
                let f = FourierTask.features(x, frequencies: n, halfPeriod: halfPeriod, constant: true)
                xs[p * points + t] = x
                ys[p * points + t] = zip(f, coefficients).reduce(0) { $0 + $1.0 * $1.1 } / Double(n).squareRoot()
            }
        }
        let prompts = try! PromptBatch(xs: Tensor(shape: [batch, points, 1], scalars: xs), ys: Tensor(shape: [batch, points], scalars: ys),
                                       ws: nil)
        return (prompts, frequencies)
    }
}
