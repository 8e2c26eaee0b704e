import Foundation
import NumericCore
import Tasks

/// One reference learner lined up against a model: its trajectory at the evaluation queries and, for
/// learners whose prediction is `wᵀx_q`, its weights per step (for ILWD and the cosine of implied weights).
public struct ReferenceTrajectory {
    /// Short name used in column headers ("GD", "Newton", "ridge", "OLS", "elimination", …).
    public var key: String
    public var trajectory: Trajectory
    public var weights: [Tensor]?

    public init(key: String, trajectory: Trajectory, weights: [Tensor]? = nil) {
        self.key = key
        self.trajectory = trajectory
        self.weights = weights ?? trajectory.weights
    }
}

/// The verdict for one layer: which reference (if any) the layer runs.
public enum Verdict: Equatable, CustomStringConvertible {
    /// No reference is within the match threshold; the nearest one and its relative distance are given.
    case none(nearest: String, relativeDistance: Double)
    case match(String, relativeDistance: Double)
    /// Two or more references within the tie margin of the best.
    case tie([String], relativeDistance: Double)

    /// ρ: the best reference's distance over the model's error.
    public var relativeDistance: Double {
        switch self {
        case .none(_, let r), .match(_, let r), .tie(_, let r): return r
        }
    }

    public var description: String {
        switch self {
        case .none(let nearest, let r): return "none (nearest: \(nearest), ρ = \(Cell.format(r)))"
        case .match(let name, _): return name
        case .tie(let names, _): return names.joined(separator: " ≈ ")
        }
    }
}

/// "Which algorithm does each layer match?" as a pure function of the model's trajectory, the references'
/// trajectories and the targets. Metrics follow the target kind:
/// - real targets: the model's MSE, each reference's best-matching step by squared prediction difference
///   (SPD), and, where both sides have implied weights, ILWD and the mean cosine at that step;
/// - ±1 targets: the model's error rate, each reference's best step by disagreement rate (signs differ).
///
/// The verdict is honest: a reference matches when its distance is at most `threshold` × the model's own
/// error (relative distance ρ = distance / error), and references within `tieMargin` of the best are a tie.
public enum LayerComparison {
    public struct Row {
        public var step: String
        public var error: Double
        /// Per reference: its best step (`single`: a closed form with one step), distance, ILWD and cosine.
        public var matches: [(key: String, match: StepMatch, single: Bool, ilwd: Double?, cosine: Double?)]
        /// Per reference: the number its best step stands for (steps, iterations, λ, hops).
        public var stepValues: [Double] = []
        public var verdict: Verdict
    }

    /// Distance between two prediction tensors for a target kind: SPD, or the rate at which signs differ.
    public static func distance(_ a: Tensor, _ b: Tensor, kind: TargetKind) -> Double {
        kind == .real ? Metrics.predictionDistance(a, b) : Metrics.disagreementRate(a, b)
    }

    /// The model's error against targets: MSE, or the 0–1 error rate of signs (0 counts as wrong).
    public static func error(_ predictions: Tensor, _ targets: Tensor, kind: TargetKind) -> Double {
        kind == .real ? Metrics.meanSquaredError(predictions, targets) : 1 - Metrics.accuracy(predictions, targets)
    }

    public static func rows(model: Trajectory, modelWeights: [Tensor]?, references: [ReferenceTrajectory], targets: Tensor,
                            kind: TargetKind, threshold: Double, tieMargin: Double) -> [Row] {
        // A floor for the model's error, so a perfect model (error 0) still compares relative distances.
        let floor = kind == .real ? 1e-12 * max(Metrics.meanSquaredError(targets * 0, targets), 1e-300)
                                  : 1 / Double(max(targets.scalarCount, 1))
        return model.predictions.enumerated().map { s, preds in
            let err = error(preds, targets, kind: kind)
            var matches: [(String, StepMatch, Bool, Double?, Double?)] = []
            var scored: [(label: String, score: Double)] = []
            var values: [Double] = []
            for ref in references {
                let m = Matching.bestMatches(model: [preds], algorithm: ref.trajectory) { distance($0, $1, kind: kind) }[0]
                var ilwd: Double?, cosine: Double?
                if kind == .real, let mw = modelWeights, let rw = ref.weights {
                    ilwd = Metrics.weightDistance(mw[s], rw[m.algorithmStep])
                    cosine = Metrics.meanCosine(mw[s], rw[m.algorithmStep])
                }
                matches.append((ref.key, m, ref.trajectory.stepCount == 1, ilwd, cosine))
                values.append(ref.trajectory.stepValues[m.algorithmStep])
                let label = ref.trajectory.stepCount == 1 ? ref.key : "\(ref.key) \(m.algorithmLabel)"
                scored.append((label, m.score))
            }
            return Row(step: model.stepLabels[s], error: err, matches: matches, stepValues: values,
                       verdict: verdict(scored, modelError: max(err, floor), threshold: threshold, tieMargin: tieMargin))
        }
    }

    /// The verdict from each reference's best distance: the closest within `threshold` × the model's error,
    /// with a tie when others are within `tieMargin` (relative) of it.
    public static func verdict(_ scored: [(label: String, score: Double)], modelError: Double, threshold: Double,
                               tieMargin: Double) -> Verdict {
        let finite = scored.filter { $0.score.isFinite }.sorted { $0.score < $1.score }
        guard let best = finite.first else { return .none(nearest: "—", relativeDistance: .infinity) }
        let rho = best.score / modelError
        guard rho <= threshold else { return .none(nearest: best.label, relativeDistance: rho) }
        let tied = finite.filter { $0.score <= best.score * (1 + tieMargin) + 1e-300 }.map(\.label)
        return tied.count > 1 ? .tie(tied, relativeDistance: rho) : .match(best.label, relativeDistance: rho)
    }

    /// The rows as a report table: step, error, then per reference its best step (for references with more
    /// than one), distance, and (where weights exist) ILWD and cosine; then the verdict.
    /// In JSON and CSV the step is its number (`step` 2, `step_label` "layer 2"), each reference's best step its
    /// number (`gd_step` 3 for three GD steps, `ridge_step` λ), and the verdict carries ρ (`rho`).
    public static func table(_ rows: [Row], kind: TargetKind, id: String = "layers", title: String) -> ReportTable {
        let dist = kind == .real ? "SPD" : "disagree"
        var columns = ["step", "model \(kind.errorName)"]
        if let first = rows.first {
            for m in first.matches {
                columns += (m.single ? [] : ["\(m.key) step"]) + ["\(m.key) \(dist)"]
                if m.ilwd != nil { columns += ["\(m.key) ILWD", "\(m.key) cos"] }
            }
        }
        columns.append("closest")
        var table = ReportTable(id: id, title: title, columns: columns)
        for (s, r) in rows.enumerated() {
            var cells: [Cell] = [.step(r.step, Double(s + 1)), .number(r.error)]
            for (m, value) in zip(r.matches, r.stepValues) {
                cells += (m.single ? [] : [.step(m.match.algorithmLabel, value)]) + [.number(m.match.score)]
                if let ilwd = m.ilwd, let cos = m.cosine { cells += [.number(ilwd), .number(cos)] }
            }
            cells.append(.tagged(label: r.verdict.description, value: .text(r.verdict.description),
                                 fields: [.init("rho", r.verdict.relativeDistance)]))
            table.rows.append(cells)
        }
        return table
    }
}
