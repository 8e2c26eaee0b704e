import Analysis
import ClassicalLearners
import Foundation
import Models
import NumericCore
import Tasks

// Fourier series: the Bayesian model average, the oracle, min-norm least squares, nearest neighbour, and what
// a linear read-out of x can do.

extension FamilyReferences {
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
                 fields: [.init("learning_rate", eta)], targets: ys, kind: .real)
        refs.add("OLS on x", ctx.run(LeastSquares()), baseline: "OLS on x (linear in x)", targets: ys, kind: .real)
        refs.curveLearners = [bma, oracle, minNorm, NearestNeighbours(k: 1), LeastSquares()]
        refs.layerNotes.append("Fourier features: BMA = exact Bayesian model average over N (evidence weights), oracle = Bayes with each prompt's true N, min-norm = least squares on N_max = \(task.maxFrequency) features; GD / OLS on x treat x itself as a 1-D linear-regression input.")
        return refs
    }
}
