/// Whose conventions a Boolean task and its learners follow: the workbench's, or those of Bhattamishra et al.'s
/// released code (`satwik77/incontext-bool`), where the two differ in ways that move reported numbers.
/// JSON: `"workbench"` or `"bhattamishra"`. Docs/Conventions.md lists every difference and why the default is
/// the workbench's.
///
/// | what | `.workbench` (default) | `.bhattamishra` |
/// |---|---|---|
/// | parity label | `χ_S(x) = Π_{i∈S} xᵢ` (`χ_∅ = +1`) | +1 iff odd #{i ∈ S: xᵢ = +1}; `−χ_S` for even abs(S) |
/// | forced 3-DNF term / 3-CNF clause | drawn per example | drawn once per prompt |
/// | null classifier | the context's majority label (0 on a tie) | always −1 |
/// | exact ties¹ | predict 0, scored wrong | predict 0, scored ½ |
/// | averaging with no context | 0 (wrong) | −1 |
///
/// ¹ averaging's `ŵ·x = 0`, a perceptron margin of 0, a GF(2) query outside the row space, a tied Bayes vote.
///
/// Why ½ for a tie: the reference scores `sign(prediction) == y` on float32 arithmetic, where an exact tie of
/// the averaging learner comes out as ±(rounding error) or 0 — right about half the time, in a way that
/// depends on summation order. ½ is the deterministic expectation of that coin. The reference hard-codes a 0
/// prediction for the first point of its nearest-neighbour baselines, which it scores wrong; so under
/// `.bhattamishra` a 0 with no context still scores 0 (`BooleanMetrics.accuracyByPosition`).
public enum BooleanConventions: String, Codable, CaseIterable, Sendable {
    case workbench
    case bhattamishra

    /// Parses a name (`workbench`, `bhattamishra`), for the CLI edge.
    public static func named(_ name: String) throws -> BooleanConventions {
        guard let c = BooleanConventions(rawValue: name) else {
            let available = allCases.map(\.rawValue).joined(separator: ", ")
            throw TaskError("unknown conventions '\(name)'; available: \(available)")
        }
        return c
    }
}
