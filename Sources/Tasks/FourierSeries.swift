import Foundation
import NumericCore

/// Fourier-series regression (Panwar et al. 2024): x ~ U(−L, L) and
/// `f(x) = (a₀ + Σ_{k∈R} a_k cos(kπx/L) + b_k sin(kπx/L)) / √|R|` with N(0, s²) coefficients over a set R of
/// frequencies. The single class has R = 1…N_max and a constant term a₀. A mixture draws an index K from a prior
/// over 1…N_max per prompt and has no constant term; `band` says which frequencies K switches on:
///
/// | task | R | P(K) | P(k ∈ R) |
/// |---|---|---|---|
/// | `.mixture` (Panwar et al.) | 1…K (K is the top frequency N) | uniform | (N_max − k + 1)/N_max |
/// | `.lowFrequencyBiased` | 1…K | ∝ 2^{−K} | 2^{1−k}(1 − 2^{k−1−N_max})/(1 − 2^{−N_max}) |
/// | `.highFrequencyBiased` | K…N_max (K is the lowest frequency M) | uniform | k/N_max |
///
/// `.highFrequencyBiased` is the Bayesian-prism code's `fourier_series_complexity_bias` task
/// (`FourierSeriesWHighFreqBias`: `min_frequencies ~ U{1…N_max}`, scaled by 1/√(N_max − M + 1)); the workbench's
/// older "complexity-biased" prior, `.complexityBiased`, is `.lowFrequencyBiased` — the opposite bias.
public struct FourierTask: Codable, Equatable, Sendable {
    /// The largest max frequency accepted (papers use N ≤ 10).
    public static let maxFrequencyCap = 200
    /// Which frequencies a mixture's drawn index K switches on. JSON: `"upToK"` or `"fromK"`.
    public enum FrequencyBand: String, Codable, Sendable {
        /// R = 1…K: K is the highest frequency N.
        case upToK
        /// R = K…maxFrequency: K is the lowest frequency M.
        case fromK
    }

    public var maxFrequency: Int
    public var halfPeriod: Double
    public var points: Int
    /// nil: the single class with R = 1…maxFrequency; otherwise prior weights over K = 1…maxFrequency.
    public var frequencyPrior: [Double]?
    /// Which frequencies K switches on (mixtures only). Absent from JSON: `.upToK`.
    public var band: FrequencyBand
    /// Standard deviation s of the coefficients' Gaussian prior (1 in Panwar et al.).
    public var coefficientScale: Double

    public init(maxFrequency: Int = 10, halfPeriod: Double = 5, points: Int = 41, frequencyPrior: [Double]? = nil,
                band: FrequencyBand = .upToK, coefficientScale: Double = 1) {
        self.maxFrequency = maxFrequency
        self.halfPeriod = halfPeriod
        self.points = points
        self.frequencyPrior = frequencyPrior
        self.band = band
        self.coefficientScale = coefficientScale
    }

    enum CodingKeys: String, CodingKey {
        case maxFrequency, halfPeriod, points, frequencyPrior, band, coefficientScale
    }

    /// Configs written before `band` existed decode with `.upToK`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(maxFrequency: try c.decode(Int.self, forKey: .maxFrequency),
                  halfPeriod: try c.decode(Double.self, forKey: .halfPeriod),
                  points: try c.decode(Int.self, forKey: .points),
                  frequencyPrior: try c.decodeIfPresent([Double].self, forKey: .frequencyPrior),
                  band: try c.decodeIfPresent(FrequencyBand.self, forKey: .band) ?? .upToK,
                  coefficientScale: try c.decode(Double.self, forKey: .coefficientScale))
    }

    /// The mixture with a uniform prior over N (Panwar et al.): R = 1…N, N ~ U{1…maxFrequency}.
    public static func mixture(maxFrequency: Int = 10, points: Int = 41) -> FourierTask {
        FourierTask(maxFrequency: maxFrequency, points: points,
                    frequencyPrior: Array(repeating: 1.0 / Double(maxFrequency), count: maxFrequency))
    }

    /// The low-frequency-biased mixture: R = 1…N with P(N) = 2^{−N} / Σ_{j=1}^{N_max} 2^{−j}.
    public static func lowFrequencyBiased(maxFrequency: Int = 10, points: Int = 41) -> FourierTask {
        let w = (1...maxFrequency).map { pow(2, -Double($0)) }
        let z = w.reduce(0, +)
        return FourierTask(maxFrequency: maxFrequency, points: points, frequencyPrior: w.map { $0 / z })
    }

    /// The high-frequency-biased mixture of the Bayesian-prism code: R = M…N_max with M ~ U{1…N_max},
    /// f scaled by 1/√(N_max − M + 1).
    public static func highFrequencyBiased(maxFrequency: Int = 10, points: Int = 41) -> FourierTask {
        FourierTask(maxFrequency: maxFrequency, points: points,
                    frequencyPrior: Array(repeating: 1.0 / Double(maxFrequency), count: maxFrequency), band: .fromK)
    }

    /// The workbench's earlier name for `lowFrequencyBiased` (P(N) ∝ 2^{−N}), kept for existing callers; prefer
    /// the new name: "complexity bias" in the prism code means the opposite, `highFrequencyBiased`.
    public static func complexityBiased(maxFrequency: Int = 10, points: Int = 41) -> FourierTask {
        lowFrequencyBiased(maxFrequency: maxFrequency, points: points)
    }

    public var hasConstantTerm: Bool { frequencyPrior == nil }

    /// The frequencies R that index K switches on: 1…K for `.upToK`, K…maxFrequency for `.fromK`.
    public static func frequencies(index k: Int, band: FrequencyBand, maxFrequency: Int) -> Range<Int> {
        band == .upToK ? 1..<(k + 1) : k..<(maxFrequency + 1)
    }

    /// This task's frequencies R for index K (the single class: 1…maxFrequency).
    public func frequencies(index k: Int) -> Range<Int> {
        FourierTask.frequencies(index: k, band: hasConstantTerm ? .upToK : band, maxFrequency: maxFrequency)
    }

    public func validate() throws {
        guard maxFrequency >= 1 else { throw TaskError("fourier: max frequency must be ≥ 1, got \(maxFrequency)") }
        // The model average solves one (2N + 1)-feature system per candidate N and prompt: cubic in N.
        guard maxFrequency <= FourierTask.maxFrequencyCap else {
            throw TaskError("fourier: max frequency \(maxFrequency) is over the cap of \(FourierTask.maxFrequencyCap) (the Bayesian model average costs O(N⁴) per prompt)")
        }
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
        features(x, band: 1..<(max(n, 0) + 1), halfPeriod: l, constant: constant)
    }

    /// Features `[cos(kπx/L), sin(kπx/L)]_{k∈band}`, preceded by 1 when `constant`; not yet scaled.
    public static func features(_ x: Double, band: Range<Int>, halfPeriod l: Double, constant: Bool) -> [Double] {
        var f: [Double] = constant ? [1] : []
        for k in band {
            f.append(Foundation.cos(Double(k) * .pi * x / l))
            f.append(Foundation.sin(Double(k) * .pi * x / l))
        }
        return f
    }

    /// Prompts: `xs [B, T, 1]`, `ys [B, T]`, `ws [B, 2·maxFrequency + 1]` = (a₀, a₁, b₁, …) with zeros outside R;
    /// and each prompt's index K (N for `.upToK`, M for `.fromK`; maxFrequency for the single class).
    public func sample(batch: Int, using rng: inout Xoshiro256) -> (prompts: PromptBatch, frequencies: [Int]) {
        let width = 2 * maxFrequency + 1
        var xs = [Double](repeating: 0, count: batch * points), ys = xs
        var ws = [Double](repeating: 0, count: batch * width)
        var frequencies: [Int] = []
        for p in 0..<batch {
            var k = maxFrequency
            if let prior = frequencyPrior {
                var u = rng.nextUniform(), i = 0
                while i < prior.count - 1 && u >= prior[i] { u -= prior[i]; i += 1 }
                k = i + 1
            }
            frequencies.append(k)
            let band = self.frequencies(index: k)
            // (a₀, a_k, b_k for k ∈ R), drawn in that order; a₀ = 0 without a constant term.
            var coefficients = [hasConstantTerm ? coefficientScale * rng.nextNormal() : 0]
            for _ in band { coefficients += [coefficientScale * rng.nextNormal(), coefficientScale * rng.nextNormal()] }
            ws[p * width] = coefficients[0]
            for (j, frequency) in band.enumerated() {
                ws[p * width + 2 * frequency - 1] = coefficients[2 * j + 1]
                ws[p * width + 2 * frequency] = coefficients[2 * j + 2]
            }
            for t in 0..<points {
                let x = halfPeriod * (2 * rng.nextUniform() - 1)
                let f = FourierTask.features(x, band: band, halfPeriod: halfPeriod, constant: true)
                xs[p * points + t] = x
                let sum = zip(f, coefficients).reduce(0) { $0 + $1.0 * $1.1 }
                ys[p * points + t] = sum / Double(band.count).squareRoot()
            }
        }
        let prompts = try! PromptBatch(xs: Tensor(shape: [batch, points, 1], scalars: xs),
                                       ys: Tensor(shape: [batch, points], scalars: ys), ws: nil)
        return (prompts, frequencies)
    }
}
