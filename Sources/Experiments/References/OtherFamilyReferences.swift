import Analysis
import Foundation
import ClassicalLearners
import Models
import NumericCore
import Tasks

// Boolean functions, Fourier series and graph connectivity: each family's exact learner and the baselines
// its paper compares with.

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

    /// Panwar et al.: the Bayesian model average over frequency classes, the oracle that knows each prompt's
    /// N, min-norm least squares with N_max, 1-nearest neighbour; and, because a linear read-out of a scalar
    /// x can only be linear in x, line-searched GD and OLS on x itself.
    static func fourier(_ task: FourierTask, _ ctx: EvaluationContext) throws -> FamilyReferences {
        var rng = Xoshiro256(seed: ctx.config.evaluation.seed)
        let frequencies = task.sample(batch: ctx.prompts.batchSize, using: &rng).frequencies   // the same draw as the prompts
        let ys = ctx.query.ys
        var refs = FamilyReferences()
        let bma = FourierBayes.modelAverage(task)
        let oracle = FourierBayes.oracle(task, frequencies: frequencies)
        let minNorm = FourierBayes.leastSquares(frequency: task.maxFrequency, halfPeriod: task.halfPeriod,
                                                constantTerm: task.hasConstantTerm)
        let (eta, _) = LineSearch.bestGradientDescentStep(prompts: ctx.tuning, steps: ctx.trainDepth)
        let gd = GradientDescent(steps: max(10, 3 * ctx.evalDepth), learningRate: eta)
        refs.add("BMA", ctx.run(bma), baseline: bma.name, targets: ys, kind: .real)
        refs.add("oracle", ctx.run(oracle), baseline: oracle.name, targets: ys, kind: .real)
        refs.add("min-norm", ctx.run(minNorm), baseline: minNorm.name, targets: ys, kind: .real)
        refs.add("1-NN", ctx.run(NearestNeighbours(k: 1)), baseline: "1-nearest neighbour", targets: ys, kind: .real)
        refs.add("GD on x", ctx.run(gd), baseline: "GD on x (η = \(Cell.format(eta)), line-searched for \(ctx.trainDepth) step\(ctx.trainDepth == 1 ? "" : "s"))",
                 targets: ys, kind: .real)
        refs.add("OLS on x", ctx.run(LeastSquares()), baseline: "OLS on x (linear in x)", targets: ys, kind: .real)
        refs.curveLearners = [bma, oracle, minNorm, NearestNeighbours(k: 1), LeastSquares()]
        refs.layerNotes.append("Fourier features: BMA = exact Bayesian model average over N (evidence weights), oracle = Bayes with each prompt's true N, min-norm = least squares on N_max = \(task.maxFrequency) features; GD / OLS on x treat x itself as a 1-D linear-regression input.")
        return refs
    }

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
