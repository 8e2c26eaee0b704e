import Analysis
import ClassicalLearners
import Models
import NumericCore
import Tasks

// Linear regression: GD with its step size line-searched for as many steps as the model has layers, iterative
// Newton, the ridge λ path, OLS (the "linear ladder", shared with Gaussian mixtures); dMMSE for a task pool,
// the Bayes posterior mean for noisy Gaussian tasks.

extension FamilyReferences {
    /// GD (line-searched for the model's training depth), Newton, ridge path, OLS: the linear ladder.
    static func linearLadder(_ ctx: EvaluationContext) -> (refs: FamilyReferences, eta: Double) {
        let ev = ctx.config.evaluation
        let (eta, _) = LineSearch.bestGradientDescentStep(prompts: ctx.tuning, steps: ctx.trainDepth)
        let gd = GradientDescent(steps: ev.gradientDescentSteps ?? max(10, 3 * ctx.evalDepth), learningRate: eta)
        let ridge = Ridge(path: Ridge.logPath(from: ev.ridgeLow, to: ev.ridgeHigh, count: ev.ridgePoints))
        var refs = FamilyReferences()
        let ys = ctx.query.ys
        let gdT = ctx.run(gd)
        refs.references.append(ReferenceTrajectory(key: "GD", trajectory: gdT))
        let k = ctx.trainDepth
        refs.baselineRows.append([.learner("GD, \(k) step\(k == 1 ? "" : "s") (η = \(Cell.format(eta)), line-searched)", id: "gd",
                                           [.init("steps", Double(k)), .init("learning_rate", eta)]),
                                  .number(Metrics.meanSquaredError(gdT.predictions[k - 1], ys)), .step(String(k), Double(k))])
        for (key, learner, label) in [("Newton", IterativeNewton(steps: ev.newtonSteps) as InContextLearner, "Newton (best iterate)"),
                                      ("ridge", ridge, "ridge (best λ on the path)")] {
            refs.add(key, ctx.run(learner), baseline: label, targets: ys, kind: .real)
        }
        refs.add("OLS", ctx.run(LeastSquares()), baseline: "OLS (min-norm)", targets: ys, kind: .real)
        refs.curveLearners = [GradientDescent(steps: k, learningRate: eta), IterativeNewton(steps: 8), LeastSquares(), Averaging(),
                              NearestNeighbours(k: 3)]
        refs.layerNotes = [
            "GD: L(w) = (1/2n)‖y − Xw‖² from w = 0, η = \(Cell.format(eta)) line-searched for \(k) step\(k == 1 ? "" : "s") on separate prompts (GD k: k steps at that η); Newton: Newton–Schulz with α = 1/‖SSᵀ‖_F (Fu et al.'s code), k = 0…\(ev.newtonSteps); ridge: (XᵀX + λI)⁻¹Xᵀy.",
        ]
        return (refs, eta)
    }

    static func linearRegression(_ task: LinearRegressionTask, _ ctx: EvaluationContext) throws -> FamilyReferences {
        var (refs, eta) = linearLadder(ctx)
        let (cx, cy) = ctx.context
        let ys = ctx.query.ys
        // Raventós et al.: below the task-diversity threshold a model tracks dMMSE, above it ridge. The pool is the
        // evaluation task's, or else the training task's (a pool-trained model tested on fresh tasks).
        let pooled = [task, ctx.config.task.linearRegression].compactMap { $0 }.first { t in
            if case .pool = t.weights { return true } else { return false }
        }
        if let pooled, let pool = pooled.taskPool {
            let dmmse = ctx.run(DiscreteMMSE(pool: pool, noise: max(task.noise, 1e-3)))
            let ridge = ctx.run(Ridge(penalty: max(task.noise * task.noise, 1e-6)))
            let final = ctx.modelTrajectory.final
            refs.baselineRows.append([.learner("dMMSE (the pool's posterior mean)"), .number(Metrics.meanSquaredError(dmmse.final, ys)), .empty])
            refs.metrics["dmmse_mse"] = Metrics.meanSquaredError(dmmse.final, ys)
            refs.metrics["ridge_sigma2_mse"] = Metrics.meanSquaredError(ridge.final, ys)
            refs.metrics["spd_dmmse"] = Metrics.predictionDistance(final, dmmse.final)
            refs.metrics["spd_ridge_sigma2"] = Metrics.predictionDistance(final, ridge.final)
            refs.baselineNotes.append("Task pool of M = \(pool.shape[0]): SPD(model, dMMSE) = \(Cell.format(Metrics.predictionDistance(final, dmmse.final))), SPD(model, ridge λ = σ²) = \(Cell.format(Metrics.predictionDistance(final, ridge.final))).")
        }
        if task.noise > 0, case .gaussian(let tau) = task.weights {
            let bayes = ctx.run(BayesGaussian(priorScale: tau, noise: task.noise))
            let lambda = task.noise * task.noise / (tau * tau)
            refs.baselineRows.append([.learner("Bayes posterior mean (ridge λ = σ²/τ² = \(Cell.format(lambda)))", id: "bayes",
                                               [.init("ridge_penalty", lambda)]),
                                      .number(Metrics.meanSquaredError(bayes.final, ys)), .empty])
        }
        refs.layerNotes += impliedStepNotes(task, ctx, eta: eta, cx: cx, cy: cy, metrics: &refs.metrics)
        if ctx.config.evaluation.task != nil {
            refs.layerNotes.append("Evaluated on a shifted distribution (evaluation.task), trained on the configured task.")
        }
        return refs
    }

    /// The step size a first layer implements (a fit of ŵ_model ≈ η̂ · (1/n) Σ yᵢxᵢ), and what the
    /// restricted model's preconditioner learned.
    static func impliedStepNotes(_ task: LinearRegressionTask, _ ctx: EvaluationContext, eta: Double,
                                 cx: Tensor, cy: Tensor, metrics: inout [String: Double]) -> [String] {
        var notes: [String] = []
        let (n, d) = (cx.shape[1], task.dimension)
        let spec = ctx.config.model
        if let weights = ctx.modelWeights, !weights.isEmpty {
            let avg = Averaging().weightTrajectory(contextXs: cx, contextYs: cy).weights[0]
            let w = weights[0]
            var num = 0.0, den = 0.0
            for i in 0..<w.scalarCount { num += w.scalars[i] * avg.scalars[i]; den += avg.scalars[i] * avg.scalars[i] }
            var line = "First layer as one GD step: implied step size η̂ = \(Cell.format(num / max(den, 1e-300)))"
            metrics["implied_eta"] = num / max(den, 1e-300)
            if case .isotropicGaussian = task.inputs, spec.kind == .lsa, spec.layers == 1 {
                let s2 = task.noise * task.noise
                metrics["mahankali_eta"] = Double(n) / (Double(n + d + 1) + s2)
                line += " (Mahankali et al.'s optimum n/(n + d + 1 + σ²) = \(Cell.format(Double(n) / (Double(n + d + 1) + s2))))"
            }
            notes.append(line + ".")
        }
        if let m = ctx.model as? RestrictedLoopedLSA {
            let a = m.preconditioner
            let c = (0..<d).reduce(0.0) { $0 + a.scalars[$1 * d + $1] } / Double(d)
            let offDiagonal = (a - Tensor.identity(d) * c).norm / max(a.norm, 1e-300)
            let antisymmetric = ((a - a.matrixTransposed()) / 2).norm / max(a.norm, 1e-300)
            let k = ctx.trainDepth
            let best = LineSearch.bestIsotropicPreconditioner(prompts: ctx.tuning, steps: k)
            let ys = ctx.query.ys
            let trained = Metrics.meanSquaredError(ctx.run(RestrictedLoopedLSA(a: a, depth: k)).final, ys)
            let bestOnEval = Metrics.meanSquaredError(ctx.run(GradientDescent(steps: k, learningRate: best.c)).final, ys)
            notes.append("Learned preconditioner\(m.symmetric ? " (constrained symmetric)" : ""): c = tr(A)/d = \(Cell.format(c)), ‖A − cI‖/‖A‖ = \(Cell.format(offDiagonal)) (antisymmetric part ‖(A − Aᵀ)/2‖/‖A‖ = \(Cell.format(antisymmetric))); best isotropic c for \(k) loops = \(Cell.format(best.c)); loss at T = \(k): trained \(Cell.format(trained)) vs best cI \(Cell.format(bestOnEval)) (ratio \(Cell.format(trained / bestOnEval))).")
        }
        return notes
    }
}
