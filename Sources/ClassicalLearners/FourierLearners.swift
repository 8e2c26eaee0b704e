import Foundation
import NumericCore
import Tasks

/// Bayesian learners for Fourier-series regression. Under the prior f = Φ_N a/√N, a ~ N(0, I), f is a Gaussian
/// process with kernel K = Φ_N Φ_Nᵀ / N, so the noiseless posterior mean at x_q is k_qᵀ K⁻¹ y: the
/// minimum-norm least-squares fit on the Fourier features, which is how it is computed (SVD-based, exact also
/// when the context determines f). The evidence 𝒩(y; 0, K + jitter·I) weighs the candidate N's.
public struct FourierBayes: InContextLearner {
    /// Candidate indices K with prior weights (one candidate: the single-class Bayes predictor). Candidate K
    /// uses the frequencies `FourierTask.frequencies(index: K, band: band, maxFrequency: maxFrequency)`.
    public var candidates: [(frequency: Int, prior: Double)]
    public var halfPeriod: Double
    public var constantTerm: Bool
    /// Which frequencies K switches on: 1…K (`.upToK`, K = N) or K…maxFrequency (`.fromK`, K = M).
    public var band: FourierTask.FrequencyBand
    /// The top frequency of a `.fromK` band.
    public var maxFrequency: Int
    /// Added to K's diagonal (numerical noise; REFERENCES suggests ~1e-8).
    public var jitter: Double
    /// Per-prompt true index K, for the oracle that knows it (overrides `candidates`).
    public var oracleFrequencies: [Int]?

    public init(candidates: [(frequency: Int, prior: Double)], halfPeriod: Double = 5, constantTerm: Bool,
                band: FourierTask.FrequencyBand = .upToK, maxFrequency: Int? = nil, jitter: Double = 1e-8,
                oracleFrequencies: [Int]? = nil) {
        self.candidates = candidates
        self.halfPeriod = halfPeriod
        self.constantTerm = constantTerm
        self.band = band
        self.maxFrequency = maxFrequency ?? (candidates.map(\.frequency) + (oracleFrequencies ?? [])).max() ?? 1
        self.jitter = jitter
        self.oracleFrequencies = oracleFrequencies
    }

    /// Min-norm least squares on the features of max frequency N (the single class's Bayes predictor).
    public static func leastSquares(frequency n: Int, halfPeriod: Double = 5, constantTerm: Bool = true) -> FourierBayes {
        FourierBayes(candidates: [(n, 1)], halfPeriod: halfPeriod, constantTerm: constantTerm)
    }

    /// The exact Bayesian model average for a task's frequency prior.
    public static func modelAverage(_ task: FourierTask) -> FourierBayes {
        let prior = task.frequencyPrior ?? Array(repeating: 1.0 / Double(task.maxFrequency), count: task.maxFrequency)
        return FourierBayes(candidates: prior.enumerated().map { ($0.offset + 1, $0.element) }, halfPeriod: task.halfPeriod,
                            constantTerm: task.hasConstantTerm, band: task.hasConstantTerm ? .upToK : task.band,
                            maxFrequency: task.maxFrequency)
    }

    /// The oracle that knows each prompt's index K (`frequencies`, as returned by `FourierTask.sample`).
    public static func oracle(_ task: FourierTask, frequencies: [Int]) -> FourierBayes {
        FourierBayes(candidates: [], halfPeriod: task.halfPeriod, constantTerm: task.hasConstantTerm,
                     band: task.hasConstantTerm ? .upToK : task.band, maxFrequency: task.maxFrequency,
                     oracleFrequencies: frequencies)
    }

    public var name: String {
        if oracleFrequencies != nil { return band == .upToK ? "oracle (true N)" : "oracle (true lowest frequency M)" }
        if candidates.count == 1 {
            let r = FourierTask.frequencies(index: candidates[0].frequency, band: band, maxFrequency: maxFrequency)
            return band == .upToK ? "least squares on N = \(r.upperBound - 1) features"
                                  : "least squares on frequencies \(r.lowerBound)…\(r.upperBound - 1)"
        }
        return band == .upToK ? "Bayesian model average over N" : "Bayesian model average over M"
    }

    /// Posterior weights β_N ∝ prior_N · 𝒩(y; 0, K_N) for one context, and each candidate's posterior mean at the queries.
    public func posterior(context x: [Double], y: [Double], queries: [Double], frequencies: [(Int, Double)]) -> (weights: [Double], means: [[Double]]) {
        var logw: [Double] = [], means: [[Double]] = []
        for (n, prior) in frequencies {
            let r = FourierTask.frequencies(index: n, band: band, maxFrequency: maxFrequency)
            let phi = x.map { FourierTask.features($0, band: r, halfPeriod: halfPeriod, constant: constantTerm) }
            let phiQ = queries.map { FourierTask.features($0, band: r, halfPeriod: halfPeriod, constant: constantTerm) }
            let m = x.count
            if m == 0 { logw.append(Foundation.log(max(prior, 1e-300))); means.append(queries.map { _ in 0 }); continue }
            var k = Tensor(zeros: [m, m])
            for i in 0..<m {
                for j in 0..<m { k.scalars[i * m + j] = zip(phi[i], phi[j]).reduce(0) { $0 + $1.0 * $1.1 } / Double(r.count) }
            }
            for i in 0..<m { k.scalars[i * m + i] += jitter }
            guard let alpha = try? LinearAlgebra.solveSPD(k, Tensor(y)), let logdet = try? LinearAlgebra.logDeterminantSPD(k) else {
                logw.append(-.infinity); means.append(queries.map { _ in 0 }); continue
            }
            let quad = zip(y, alpha.scalars).reduce(0) { $0 + $1.0 * $1.1 }
            logw.append(Foundation.log(max(prior, 1e-300)) - 0.5 * (quad + logdet + Double(m) * Foundation.log(2 * .pi)))
            // Posterior mean = minimum-norm least squares on the features (the jitter-free limit of k_qᵀ K⁻¹ y).
            let coefficients = (try? LinearAlgebra.leastSquares(Tensor(phi), Tensor(y))) ?? Tensor(zeros: [phi[0].count])
            means.append(phiQ.map { fq in zip(fq, coefficients.scalars).reduce(0) { $0 + $1.0 * $1.1 } })
        }
        let mx = logw.max() ?? 0
        let w = logw.map { Foundation.exp($0 - mx) }
        let z = w.reduce(0, +)
        return (w.map { $0 / z }, means)
    }

    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        let (b, n, q) = (contextXs.shape[0], contextXs.shape[1], queries.shape[1])
        var out = [Double](repeating: 0, count: b * q)
        for p in 0..<b {
            let x = Array(contextXs.scalars[(p * n)..<((p + 1) * n)]), y = Array(contextYs.scalars[(p * n)..<((p + 1) * n)])
            let xq = Array(queries.scalars[(p * q)..<((p + 1) * q)])
            let cands = oracleFrequencies.map { [($0[p], 1.0)] } ?? candidates.map { ($0.frequency, $0.prior) }
            let (w, means) = posterior(context: x, y: y, queries: xq, frequencies: cands)
            for j in 0..<q { out[p * q + j] = zip(w, means).reduce(0) { $0 + $1.0 * $1.1[j] } }
        }
        return Trajectory(learner: name, stepLabels: ["1"], stepValues: [1], predictions: [Tensor(shape: [b, q], scalars: out)])
    }

    /// The frequency probe (Panwar et al.): a learner's predictions on a `grid`-point grid over [−L, L), their
    /// discrete Fourier transform, and the normalized power of frequencies 0…grid/2, per prompt `[B, grid/2 + 1]`.
    public static func frequencyProbe(_ learner: InContextLearner, contextXs: Tensor, contextYs: Tensor,
                                      halfPeriod l: Double = 5, grid: Int = 40) -> Tensor {
        let b = contextXs.shape[0]
        let xs = (0..<grid).map { -l + 2 * l * Double($0) / Double(grid) }
        let queries = Tensor(shape: [b, grid, 1], scalars: (0..<b).flatMap { _ in xs })
        let pred = learner.trajectory(contextXs: contextXs, contextYs: contextYs, queries: queries).final
        let bins = grid / 2 + 1
        var out = [Double](repeating: 0, count: b * bins)
        for p in 0..<b {
            var power = [Double](repeating: 0, count: bins)
            for k in 0..<bins {
                var re = 0.0, im = 0.0
                for t in 0..<grid {
                    let angle = -2 * Double.pi * Double(k * t) / Double(grid)
                    re += pred.scalars[p * grid + t] * Foundation.cos(angle)
                    im += pred.scalars[p * grid + t] * Foundation.sin(angle)
                }
                power[k] = re * re + im * im
            }
            let total = power.reduce(0, +)
            for k in 0..<bins { out[p * bins + k] = total > 0 ? power[k] / total : 0 }
        }
        return Tensor(shape: [b, bins], scalars: out)
    }
}

/// The exact Bayes predictor for a Gaussian mixture of linear regressions, w ~ Σᵢ αᵢ 𝒩(μᵢ, Σ), y = wᵀx + ε:
/// conjugate posterior means per component, mixed by evidence weights βᵢ ∝ αᵢ 𝒩(y; Xμᵢ, XΣXᵀ + σ²I).
public struct GaussianMixtureBayes: LinearInContextLearner {
    public var means: [Tensor]
    public var mixing: [Double]
    public var covariance: Tensor
    public var noise: Double

    public init(means: [Tensor], mixing: [Double], covariance: Tensor, noise: Double) {
        precondition(means.count == mixing.count && !means.isEmpty, "GaussianMixtureBayes: one mixing weight per component")
        precondition(noise > 0, "GaussianMixtureBayes: σ must be > 0")
        self.means = means
        self.mixing = mixing
        self.covariance = covariance
        self.noise = noise
    }

    public var name: String { "Gaussian-mixture Bayes (\(means.count) components)" }

    /// Posterior component weights `[B, K]` and the per-component posterior means.
    public func componentPosterior(contextXs xs: Tensor, contextYs ys: Tensor) throws -> (weights: Tensor, means: [Tensor]) {
        let (b, n, d) = (xs.shape[0], xs.shape[1], xs.shape[2])
        let k = means.count
        var weights = [Double](repeating: 0, count: b * k)
        var post = [[Double]](repeating: [Double](repeating: 0, count: b * d), count: k)
        for p in 0..<b {
            let x = Tensor(shape: [n, d], scalars: Array(xs.scalars[(p * n * d)..<((p + 1) * n * d)]))
            let y = Tensor(shape: [n], scalars: Array(ys.scalars[(p * n)..<((p + 1) * n)]))
            let xs2 = matmul(x, covariance)                                               // X Σ
            var c = matmul(xs2, x, transposeB: true)                                     // X Σ Xᵀ + σ² I
            for i in 0..<n { c.scalars[i * n + i] += noise * noise }
            let logdet = n > 0 ? try LinearAlgebra.logDeterminantSPD(c) : 0
            var logw = [Double](repeating: 0, count: k)
            for i in 0..<k {
                let r = n > 0 ? y - matmul(x, means[i].reshaped(to: [d, 1])).reshaped(to: [n]) : Tensor(zeros: [0])
                let alpha = n > 0 ? try LinearAlgebra.solveSPD(c, r) : Tensor(zeros: [0])
                let quad = n > 0 ? (r * alpha).sum().scalar : 0
                logw[i] = Foundation.log(mixing[i]) - 0.5 * (quad + logdet + Double(n) * Foundation.log(2 * .pi))
                let m = n > 0 ? means[i] + matmul(xs2, alpha.reshaped(to: [n, 1]), transposeA: true).reshaped(to: [d]) : means[i]
                for j in 0..<d { post[i][p * d + j] = m.scalars[j] }
            }
            let mx = logw.max()!
            let w = logw.map { Foundation.exp($0 - mx) }
            let z = w.reduce(0, +)
            for i in 0..<k { weights[p * k + i] = w[i] / z }
        }
        return (Tensor(shape: [b, k], scalars: weights), post.map { Tensor(shape: [b, d], scalars: $0) })
    }

    public func weightTrajectory(contextXs xs: Tensor, contextYs ys: Tensor) -> (labels: [String], values: [Double], weights: [Tensor]) {
        let (b, d) = (xs.shape[0], xs.shape[2])
        // Inputs are validated finite and XΣXᵀ + σ²I is positive definite, so the solves succeed.
        let (w, m) = try! componentPosterior(contextXs: xs, contextYs: ys)
        var out = [Double](repeating: 0, count: b * d)
        for p in 0..<b { for i in 0..<means.count { for j in 0..<d { out[p * d + j] += w.scalars[p * means.count + i] * m[i].scalars[p * d + j] } } }
        return (["1"], [1], [Tensor(shape: [b, d], scalars: out)])
    }
}
