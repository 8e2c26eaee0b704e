import Analysis
import ClassicalLearners
import Foundation
import Models
import NumericCore
import Tasks

// Boolean functions: each class's exact learner and the baselines Bhattamishra et al. compare with.

extension FamilyReferences {
    /// Bhattamishra et al.: the class's exact learner (elimination, GF(2) elimination, the Bayes vote, …),
    /// nearest neighbour, averaging, the perceptron and the null classifier.
    static func boolean(_ task: BooleanTask, _ ctx: EvaluationContext) -> FamilyReferences {
        var refs = FamilyReferences()
        let learners = BooleanBaselines.learners(for: task.functionClass, conventions: task.conventions)
        // Column keys: the name without its parenthesis ("elimination (conjunctions)" → "elimination"),
        // unless two learners would share it.
        let short = learners.map { String($0.name.split(separator: "(").first ?? "").trimmingCharacters(in: .whitespaces) }
        for (learner, key) in zip(learners, short) {
            let unique = short.filter { $0 == key }.count == 1
            refs.add(unique ? key : learner.name, ctx.run(learner), baseline: learner.name, targets: ctx.query.ys, kind: .sign)
            refs.curveLearners.append(learner)
        }
        refs.layerNotes.append("Targets are ±1: error rate = fraction of queries where sign(ŷ) ≠ y (a 0 counts as wrong); disagree = fraction where the signs of model and learner differ. The model is trained with the logistic loss on its read-out.")
        return refs
    }
}
