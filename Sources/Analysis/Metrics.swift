import Foundation
import NumericCore
import Tasks

/// The comparison metrics of von Oswald et al., Akyürek et al. and Fu et al. Predictions are `[B, Q]`,
/// weights `[B, D]`; every metric averages over prompts (and queries).
public enum Metrics {
    /// Mean squared error `mean((ŷ − y)²)`.
    public static func meanSquaredError(_ predictions: Tensor, _ targets: Tensor) -> Double {
        precondition(predictions.shape == targets.shape, "meanSquaredError: \(predictions.shape) vs \(targets.shape)")
        return zip(predictions.scalars, targets.scalars).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            / Double(max(predictions.scalarCount, 1))
    }

    /// The median of the squared errors `(ŷ − y)²`: the typical prompt's error where a few diverging prompts
    /// make the mean huge (NaN sorts last, so it counts as a large error).
    public static func medianSquaredError(_ predictions: Tensor, _ targets: Tensor) -> Double {
        precondition(predictions.shape == targets.shape, "medianSquaredError: \(predictions.shape) vs \(targets.shape)")
        let squares = zip(predictions.scalars, targets.scalars).map { ($0 - $1) * ($0 - $1) }
            .sorted { $0 < $1 || (!$0.isNaN && $1.isNaN) }
        guard !squares.isEmpty else { return .nan }
        let m = squares.count / 2
        return squares.count % 2 == 1 ? squares[m] : (squares[m - 1] + squares[m]) / 2
    }

    /// Squared prediction difference, Akyürek et al.'s SPD: `mean((A₁(x′) − A₂(x′))²)` (divide by D for
    /// their normalization). von Oswald et al.'s "prediction difference" is its mean absolute version.
    public static func predictionDistance(_ a: Tensor, _ b: Tensor) -> Double { meanSquaredError(a, b) }

    /// Implied-weight distance (ILWD): `mean_b ‖ŵ_A − ŵ_B‖²`.
    public static func weightDistance(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape && a.rank == 2, "weightDistance: \(a.shape) vs \(b.shape)")
        let (n, d) = (a.shape[0], a.shape[1])
        var s = 0.0
        for i in 0..<(n * d) { let e = a.scalars[i] - b.scalars[i]; s += e * e }
        return s / Double(max(n, 1))
    }

    /// Mean cosine similarity of per-prompt vectors (sensitivities ∂ŷ/∂x_q, i.e. implied weights, or Fu et
    /// al.'s error vectors). A zero vector has cosine 0 with anything.
    public static func meanCosine(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape && a.rank == 2, "meanCosine: \(a.shape) vs \(b.shape)")
        let (n, d) = (a.shape[0], a.shape[1])
        var total = 0.0
        for p in 0..<n {
            var dot = 0.0, na = 0.0, nb = 0.0
            for j in 0..<d {
                let x = a.scalars[p * d + j], y = b.scalars[p * d + j]
                dot += x * y; na += x * x; nb += y * y
            }
            total += na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
        }
        return total / Double(max(n, 1))
    }

    /// Fu et al.'s error similarity SimE(A, B): the mean over prompts of the cosine between the two
    /// learners' error vectors `E = [ŷ_k − y_k]_{k=1…N−1}` (each point predicted from the ones before it).
    /// Inputs are prefix predictions `[B, N]`; position 0 (no context) is left out.
    public static func errorSimilarity(_ a: Tensor, _ b: Tensor, targets: Tensor) -> Double {
        let n = targets.shape[1]
        let ea = (a - targets).slice(alongAxis: 1, 1..<n), eb = (b - targets).slice(alongAxis: 1, 1..<n)
        return meanCosine(ea, eb)
    }

    /// Mean squared error at every prefix length, `[N]`: the error-vs-context-length curve of prefix
    /// predictions `[B, N]` (divide by D for Garg et al.'s normalization).
    public static func errorByContextLength(_ predictions: Tensor, targets: Tensor) -> [Double] {
        let (b, n) = (targets.shape[0], targets.shape[1])
        return (0..<n).map { k in
            (0..<b).reduce(0.0) { s, p in let e = predictions.scalars[p * n + k] - targets.scalars[p * n + k]; return s + e * e } / Double(b)
        }
    }

    /// Implied weights of any learner whose prediction is linear in the query (a linear learner, or an LSA
    /// read-out): least-squares fit of its predictions at `probes [B, P, D]` (P ≥ D), per step, `[B, D]`.
    /// Exact for learners that are linear in `x_q`; for others, the best linear fit (Akyürek et al.).
    public static func impliedWeights(of learner: InContextLearner, contextXs: Tensor, contextYs: Tensor,
                                      probes: Tensor) throws -> [Tensor] {
        let t = learner.trajectory(contextXs: contextXs, contextYs: contextYs, queries: probes)
        if let w = t.weights { return w }
        let (b, p, d) = (probes.shape[0], probes.shape[1], probes.shape[2])
        precondition(p >= d, "impliedWeights: need at least D = \(d) probes, got \(p)")
        return try t.predictions.map { pred in
            var out = [Double](repeating: 0, count: b * d)
            for i in 0..<b {
                let x = Tensor(shape: [p, d], scalars: Array(probes.scalars[(i * p * d)..<((i + 1) * p * d)]))
                let y = Tensor(shape: [p], scalars: Array(pred.scalars[(i * p)..<((i + 1) * p)]))
                let w = try LinearAlgebra.leastSquares(x, y)
                for j in 0..<d { out[i * d + j] = w.scalars[j] }
            }
            return Tensor(shape: [b, d], scalars: out)
        }
    }
}

/// The step of an algorithm's trajectory that best matches one step of a model's.
public struct StepMatch: Codable, Equatable {
    public var modelStep: Int
    public var algorithmStep: Int
    public var algorithmLabel: String
    public var algorithmValue: Double
    /// The matching score (a distance, or a similarity when higher is better).
    public var score: Double
}

public enum Matching {
    /// For each step of `model`, the step of `algorithm` with the smallest `distance` (or largest, when
    /// `higherIsBetter`), ties to the earliest step (Fu et al.'s convention).
    public static func bestMatches(model: [Tensor], algorithm: Trajectory, higherIsBetter: Bool = false,
                                   _ score: (Tensor, Tensor) -> Double) -> [StepMatch] {
        model.enumerated().map { (m, pm) in
            var best = 0, bestScore = score(pm, algorithm.predictions[0])
            for s in 1..<algorithm.stepCount {
                let v = score(pm, algorithm.predictions[s])
                if higherIsBetter ? v > bestScore : v < bestScore { best = s; bestScore = v }
            }
            return StepMatch(modelStep: m + 1, algorithmStep: best, algorithmLabel: algorithm.stepLabels[best],
                             algorithmValue: algorithm.stepValues[best], score: bestScore)
        }
    }
}

extension Metrics {
    /// Fraction of predictions whose sign matches the ±1 target; a prediction of exactly 0 is wrong.
    public static func accuracy(_ predictions: Tensor, _ targets: Tensor) -> Double {
        precondition(predictions.shape == targets.shape, "accuracy: \(predictions.shape) vs \(targets.shape)")
        var right = 0
        for (p, y) in zip(predictions.scalars, targets.scalars) where p != 0 && (p > 0) == (y > 0) { right += 1 }
        return Double(right) / Double(max(predictions.scalarCount, 1))
    }

    /// Fraction of positions where two ±1 predictors disagree (signs differ; 0 is its own sign).
    public static func disagreementRate(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape, "disagreementRate: \(a.shape) vs \(b.shape)")
        func sign(_ v: Double) -> Int { v > 0 ? 1 : v < 0 ? -1 : 0 }
        var differ = 0
        for (x, y) in zip(a.scalars, b.scalars) where sign(x) != sign(y) { differ += 1 }
        return Double(differ) / Double(max(a.scalarCount, 1))
    }
}
