// Notebook 02 — Bhattamishra et al. (2024): which learner is optimal for which Boolean class?
// Run: swift run -c release notebook-08-boolean-baselines
// Prints the mean per-position accuracy of every reference learner on every class (n = 12, 40 points).
import Analysis
import ClassicalLearners
import Foundation
import NumericCore
import Tasks

print("| class | " + ["exact learner", "nearest neighbour", "averaging", "perceptron", "null"].joined(separator: " | ") + " |")
print("|---|---|---|---|---|---|")
for name in BooleanFunctionClass.names {
    let c = try BooleanFunctionClass.named(name, k: 3)
    var rng = Xoshiro256(seed: 7)
    let batch = BooleanTask(variables: 12, points: 40, functionClass: c).sample(batch: 300, using: &rng)
    let learners = BooleanBaselines.learners(for: c)
    let exact = learners.count > 5 ? learners[0] : nil
    let rest = Array(learners.suffix(5)).enumerated().filter { $0.offset != 1 }.map(\.element)   // one nearest neighbour
    let cells = ([exact] + rest.map { Optional($0) }).map { learner -> String in
        guard let learner else { return "—" }
        let acc = BooleanMetrics.accuracyByPosition(learner.prefixTrajectory(batch).final, labels: batch.ys)
        return String(format: "%.3f", acc.reduce(0, +) / Double(acc.count))
    }
    print("| \(name) | " + cells.joined(separator: " | ") + " |")
}
