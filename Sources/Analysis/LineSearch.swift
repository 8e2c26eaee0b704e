import Foundation
import NumericCore
import Tasks
import ClassicalLearners

/// Tuned step sizes, so that classical baselines are compared at their best (von Oswald et al. line-search
/// the GD learning rate before comparing).
public enum LineSearch {
    /// Minimizes `loss(x)` over `x ∈ [low, high]` on a log grid, then refines by golden-section search in
    /// log space around the best grid point. Returns the argmin and its loss.
    public static func minimizeLog(low: Double, high: Double, gridPoints: Int = 24, refinements: Int = 30,
                                   _ loss: (Double) -> Double) -> (argmin: Double, loss: Double) {
        let (l0, l1) = (Foundation.log(low), Foundation.log(high))
        let grid = (0..<gridPoints).map { l0 + (l1 - l0) * Double($0) / Double(gridPoints - 1) }
        let values = grid.map { loss(Foundation.exp($0)) }
        var best = 0
        for i in values.indices where values[i] < values[best] || values[best].isNaN { best = i }
        var (a, b) = (grid[max(best - 1, 0)], grid[min(best + 1, gridPoints - 1)])
        let phi = (5.0.squareRoot() - 1) / 2
        var c = b - phi * (b - a), d = a + phi * (b - a)
        var fc = loss(Foundation.exp(c)), fd = loss(Foundation.exp(d))
        for _ in 0..<refinements {
            if fc < fd { b = d; d = c; fd = fc; c = b - phi * (b - a); fc = loss(Foundation.exp(c)) }
            else { a = c; c = d; fc = fd; d = a + phi * (b - a); fd = loss(Foundation.exp(d)) }
        }
        let candidates = [(Foundation.exp(grid[best]), values[best]), (Foundation.exp(c), fc), (Foundation.exp(d), fd)]
        let winner = candidates.filter { !$0.1.isNaN }.min { $0.1 < $1.1 } ?? candidates[0]
        return (winner.0, winner.1)
    }

    /// The GD step size η minimizing the query MSE after `steps` steps on `prompts` (last point = query),
    /// searched over `[10⁻³, 4] / λ̄` with `λ̄` the mean eigenvalue of the loss Hessian.
    public static func bestGradientDescentStep(prompts: PromptBatch, steps: Int, lossScaling: LossScaling = .mean)
        -> (learningRate: Double, loss: Double) {
        let n = prompts.pointCount - 1
        let (cx, cy) = prompts.context(n)
        let q = prompts.points(n..<(n + 1))
        // Mean eigenvalue of the Hessian: tr(S)/D per prompt, divided by n for the mean-scaled loss.
        let traceOverD = cx.squared().sum().scalar / Double(prompts.batchSize * prompts.dimension)
        let meanEigen = max(lossScaling == .mean ? traceOverD / Double(max(n, 1)) : traceOverD, 1e-12)
        let r = minimizeLog(low: 1e-3 / meanEigen, high: 4 / meanEigen) { eta in
            let gd = GradientDescent(steps: steps, learningRate: eta, lossScaling: lossScaling)
            let mse = Metrics.meanSquaredError(gd.trajectory(contextXs: cx, contextYs: cy, queries: q.xs).final, q.ys)
            return mse.isFinite ? mse : .infinity
        }
        return (r.argmin, r.loss)
    }

    /// GD++'s best (η, γ) for `steps` steps: a log grid over γ (γ = 0, plain GD, included), with η line-searched
    /// at each γ. γ multiplies the unnormalized XᵀX, so it is searched relative to 1/λ̄(XᵀX).
    public static func bestGDPlusPlus(prompts: PromptBatch, steps: Int, gammaGrid: Int = 12)
        -> (learningRate: Double, gamma: Double, loss: Double) {
        let n = prompts.pointCount - 1
        let (cx, cy) = prompts.context(n)
        let q = prompts.points(n..<(n + 1))
        let traceOverD = max(cx.squared().sum().scalar / Double(prompts.batchSize * prompts.dimension), 1e-12)
        let gd = bestGradientDescentStep(prompts: prompts, steps: steps)
        var best = (learningRate: gd.learningRate, gamma: 0.0, loss: gd.loss)
        let meanEigen = traceOverD / Double(max(n, 1))
        for i in 0..<gammaGrid {
            let gamma = 1e-3 / traceOverD * Foundation.pow(10, 2.5 * Double(i) / Double(gammaGrid - 1))   // up to ~0.3/λ̄
            let r = minimizeLog(low: 1e-3 / meanEigen, high: 4 / meanEigen, gridPoints: 16, refinements: 20) { eta in
                let pred = GDPlusPlus(steps: steps, learningRate: eta, gamma: gamma)
                    .trajectory(contextXs: cx, contextYs: cy, queries: q.xs).final
                let mse = Metrics.meanSquaredError(pred, q.ys)
                return mse.isFinite ? mse : .infinity
            }
            if r.loss < best.loss { best = (r.argmin, gamma, r.loss) }
        }
        return best
    }

    /// The best `c` for `steps` steps of GD preconditioned by `cI` (the looped restricted LSA's `A = cI`),
    /// which is GD with η = c.
    public static func bestIsotropicPreconditioner(prompts: PromptBatch, steps: Int) -> (c: Double, loss: Double) {
        let r = bestGradientDescentStep(prompts: prompts, steps: steps)
        return (r.learningRate, r.loss)
    }
}
