import Analysis
import ClassicalLearners
import Foundation
import Models
import NumericCore
import Tasks

// Graph connectivity: the BFS / k-hop / Boolean-squaring ladder.

extension FamilyReferences {
    /// Connectivity: exact BFS, reachability within k hops for every k, and repeated Boolean squaring of
    /// (I + A) (iterate t reaches 2ᵗ hops) — the ladder a layered model may climb.
    static func graph(_ task: GraphConnectivityTask, _ ctx: EvaluationContext) -> FamilyReferences {
        var refs = FamilyReferences()
        let ys = ctx.query.ys
        let squarings = max(1, Int(log2(Double(max(task.vertices - 1, 1))).rounded(.up)))
        for (key, learner) in [("BFS", ConnectivityLearner.breadthFirstSearch), ("k-hop", .hops(maxHops: task.vertices - 1)),
                               ("squaring", .booleanSquaring(squarings: squarings))] {
            refs.add(key, ctx.run(learner), baseline: learner.name, targets: ys, kind: .sign)
        }
        let positive = Double(ys.scalars.filter { $0 > 0 }.count) / Double(max(ys.scalarCount, 1))
        refs.baselineNotes.append("Connectivity labels: \(Cell.format(positive)) of the evaluation queries are reachable (+1); always answering −1 has error rate \(Cell.format(positive)).")
        refs.layerNotes.append("Targets are ±1 (reachable or not): error rate = fraction of queries answered wrongly; disagree = fraction where model and learner differ. k-hop k: reachable within k edges; squaring t: within 2ᵗ edges.")
        return refs
    }
}
