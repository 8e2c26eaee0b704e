import Analysis
import ClassicalLearners
import Models
import NumericCore
import Tasks

// Gaussian-mixture regression (Panwar et al.): the linear ladder plus the mixture's exact posterior mean.

extension FamilyReferences {
    static func gaussianMixture(_ task: GaussianMixtureTask, _ ctx: EvaluationContext) throws -> FamilyReferences {
        var (refs, _) = linearLadder(ctx)
        let d = task.dimension
        let noise = max(task.noise, 1e-3)
        let bayes = GaussianMixtureBayes(means: task.means.map { Tensor(shape: [d], scalars: $0) }, mixing: task.mixing,
                                         covariance: Tensor.identity(d) * (task.scale * task.scale), noise: noise)
        refs.add("PME", ctx.run(bayes), baseline: "mixture posterior mean (exact Bayes, σ = \(Cell.format(noise)))",
                 fields: [.init("noise", noise)], targets: ctx.query.ys, kind: .real)
        refs.curveLearners.insert(bayes, at: 0)
        refs.layerNotes.append("PME: the exact posterior mean of the \(task.means.count)-component Gaussian mixture of regressions (Panwar et al.), component weights by evidence.")
        return refs
    }
}
