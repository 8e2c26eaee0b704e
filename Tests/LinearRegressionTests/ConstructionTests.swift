import ClassicalLearners
import Foundation
import Models
import NumericCore
import Tasks
import TestSupport
import XCTest

/// The theoretical constructions of REFERENCES §1–5, asserted to machine precision.
final class ConstructionTests: XCTestCase {
    /// Exact algebra in Double on O(1) data (D ≤ 6, n ≤ 16): differences are rounding only, ≲ 1e-14.
    let exact = 1e-12

    func prompts(d: Int = 5, n: Int = 12, batch: Int = 16, seed: UInt64 = 1, noise: Double = 0) -> PromptBatch {
        var rng = Xoshiro256(seed: seed)
        return LinearRegressionTask(dimension: d, points: n, noise: noise).sample(batch: batch, using: &rng)
    }

    func testOneLSALayerIsOneGDStep() {
        let p = prompts()
        let eta = 0.7
        let lsa = LinearSelfAttention.gradientDescent(dimension: 5, steps: 1, learningRate: eta)
        let gd = GradientDescent(steps: 1, learningRate: eta)
        assertClose(lsa.queryTrajectory(p).final, gd.queryTrajectory(p).final, tolerance: exact)
    }

    func testKLayersAreKStepsAndContextHoldsResiduals() {
        let p = prompts(n: 14)
        let (k, eta) = (4, 0.5)
        let lsa = LinearSelfAttention.gradientDescent(dimension: 5, steps: k, learningRate: eta)
        let gd = GradientDescent(steps: k, learningRate: eta)
        let tl = lsa.queryTrajectory(p), tg = gd.queryTrajectory(p)
        XCTAssertEqual(tl.stepCount, k)
        for s in 0..<k { assertClose(tl.predictions[s], tg.predictions[s], tolerance: exact, "layer \(s + 1)") }
        // Context y-entries after layer s are the residuals y − X w_s.
        let n = p.pointCount - 1
        let (cx, cy) = p.context(n)
        let tokens = LinearSelfAttention.tokens(contextXs: cx, contextYs: cy, queries: p.points(n..<(n + 1)).xs)
        let all = lsa.tokenTrajectory(tokens, contextSize: n)
        let weights = gd.weightTrajectory(contextXs: cx, contextYs: cy).weights
        for s in 0..<k {
            let residual = cy - linearPredictions(weights: weights[s], queries: cx)
            let yEntries = all[s].slice(alongAxis: 1, 0..<n).slice(alongAxis: 2, 5..<6).reshaped(to: [16, n])
            assertClose(yEntries, residual, tolerance: exact, "residuals after layer \(s + 1)")
            // and x-entries never change under this construction
            assertClose(all[s].slice(alongAxis: 1, 0..<n).slice(alongAxis: 2, 0..<5), cx, tolerance: 0)
        }
    }

    func testGaugeInvariance() {
        var rng = Xoshiro256(seed: 3)
        let model = LinearSelfAttention(dimension: 5, layers: 2, heads: 2, initStd: 0.3, using: &rng)
        var scaled = model
        scaled.wKQ = model.wKQ * 3.7
        scaled.wPV = model.wPV / 3.7
        let p = prompts()
        let a = model.queryTrajectory(p), b = scaled.queryTrajectory(p)
        for s in 0..<2 { assertClose(a.predictions[s], b.predictions[s], tolerance: exact) }
    }

    func testGDPlusPlusConstructionAndEigenvalueMap() throws {
        let p = prompts(n: 11)
        let (eta, gamma, n) = (0.8, 0.02, 10)
        let lsa = LinearSelfAttention.gdPlusPlus(dimension: 5, steps: 3, learningRate: eta, gamma: gamma, contextSize: n)
        let ref = GDPlusPlus(steps: 3, learningRate: eta, gamma: gamma)
        let tl = lsa.queryTrajectory(p), tr = ref.queryTrajectory(p)
        for s in 0..<3 { assertClose(tl.predictions[s], tr.predictions[s], tolerance: exact, "GD++ step \(s + 1)") }
        // x ← (I − γS)x maps the eigenvalues of S = XᵀX to λ(1 − γλ)².
        let x = p.context(n).xs.slice(alongAxis: 0, 0..<1).reshaped(to: [n, 5])
        let s = matmul(x, x, transposeA: true)
        let t = Tensor.identity(5) - s * gamma
        let xt = matmul(x, t)                                   // rows x_iᵀ(I − γS) = ((I − γS) x_i)ᵀ
        let after = try LinearAlgebra.symmetricEigen(matmul(xt, xt, transposeA: true)).values.scalars.sorted()
        let mapped = try LinearAlgebra.symmetricEigen(s).values.scalars.map { $0 * (1 - gamma * $0) * (1 - gamma * $0) }.sorted()
        for (a, b) in zip(after, mapped) { XCTAssertEqual(a, b, accuracy: 1e-10 * max(1, abs(b))) }
    }

    func testLoopedRestrictedLSAIsPreconditionedGD() {
        var rng = Xoshiro256(seed: 4)
        let a = Tensor.randomNormal([5, 5], standardDeviation: 0.3, using: &rng) + Tensor.identity(5) * 0.5
        let model = RestrictedLoopedLSA(a: a, depth: 6)
        let gd = GradientDescent(steps: 6, stepSize: .fixed(1), preconditioner: a.matrixTransposed())
        let p = prompts(n: 15)
        let tl = model.queryTrajectory(p), tg = gd.queryTrajectory(p)
        for s in 0..<6 { assertClose(tl.predictions[s], tg.predictions[s], tolerance: 1e-11, "loop \(s + 1)") }
        // One loop with A = (S/n)⁻¹ (per prompt) is OLS: check on one prompt.
        let one = p.prompts(0..<1)
        let n = one.pointCount - 1
        let (cx, cy) = one.context(n)
        let x = cx.reshaped(to: [n, 5])
        let ainv = try! LinearAlgebra.inverse(matmul(x, x, transposeA: true) / Double(n))
        let ols = LeastSquares().queryTrajectory(one).final
        assertClose(RestrictedLoopedLSA(a: ainv, depth: 1).queryTrajectory(one).final, ols, tolerance: 1e-10)
        _ = cy
    }

    func testNewtonMatchesClosedFormAndConvergesToPseudoInverse() throws {
        let p = prompts(d: 4, n: 9, batch: 3)
        let (cx, cy) = p.context(8)
        let newton = IterativeNewton(steps: 6, alpha: .frobenius)
        let ws = newton.weightTrajectory(contextXs: cx, contextYs: cy).weights
        for b in 0..<3 {
            let x = cx.slice(alongAxis: 0, b..<(b + 1)).reshaped(to: [8, 4])
            let y = cy.slice(alongAxis: 0, b..<(b + 1)).reshaped(to: [8, 1])
            let s = matmul(x, x, transposeA: true), xty = matmul(x, y, transposeA: true)
            let alpha = 1 / matmul(s, s).norm
            let (lambda, u) = try LinearAlgebra.symmetricEigen(s)
            for k in 0...6 {
                // M_k = U diag((1 − (1 − αλ²)^{2^k}) / λ) Uᵀ
                let diag = lambda.scalars.map { l in (1 - pow(1 - alpha * l * l, pow(2, Double(k)))) / l }
                let mk = matmul(u * Tensor(diag), u, transposeB: true)
                let expected = matmul(mk, xty).reshaped(to: [4])
                assertClose(ws[k].slice(alongAxis: 0, b..<(b + 1)).reshaped(to: [4]), expected, tolerance: 1e-10, "k = \(k)")
            }
        }
        // Enough iterations reach S⁺Xᵀy = OLS (quadratic convergence once αλ_min² is not tiny).
        let converged = IterativeNewton(steps: 40).weightTrajectory(contextXs: cx, contextYs: cy).weights.last!
        assertClose(converged, LeastSquares().weightTrajectory(contextXs: cx, contextYs: cy).weights[0], tolerance: 1e-9)
    }

    func testRidgeIsTheGaussianPosteriorMean() throws {
        for (d, n) in [(6, 4), (4, 9)] {               // n < d and n > d
            let p = prompts(d: d, n: n + 1, batch: 4, noise: 0.5)
            let (cx, cy) = p.context(n)
            let (tau, sigma) = (1.3, 0.5)
            let ridge = Ridge(penalty: sigma * sigma / (tau * tau)).weightTrajectory(contextXs: cx, contextYs: cy).weights[0]
            let bayes = BayesGaussian(priorScale: tau, noise: sigma).weightTrajectory(contextXs: cx, contextYs: cy).weights[0]
            assertClose(ridge, bayes, tolerance: 0)
            for b in 0..<4 {
                // Dual form τ² Xᵀ(τ² XXᵀ + σ² I)⁻¹ y.
                let x = cx.slice(alongAxis: 0, b..<(b + 1)).reshaped(to: [n, d])
                let y = cy.slice(alongAxis: 0, b..<(b + 1)).reshaped(to: [n])
                let k = matmul(x, x, transposeB: true) * (tau * tau) + Tensor.identity(n) * (sigma * sigma)
                let alpha = try LinearAlgebra.solveSPD(k, y)
                let dual = matmul(x, alpha.reshaped(to: [n, 1]), transposeA: true).reshaped(to: [d]) * (tau * tau)
                assertClose(ridge.slice(alongAxis: 0, b..<(b + 1)).reshaped(to: [d]), dual, tolerance: exact, "d=\(d) n=\(n)")
            }
        }
    }

    func testBayesPredictiveVarianceMatchesPosteriorCovariance() throws {
        let p = prompts(d: 3, n: 6, batch: 2, noise: 0.3)
        let (cx, _) = p.context(5)
        let q = p.points(5..<6).xs
        let v = try BayesGaussian(priorScale: 1, noise: 0.3).predictiveVariance(contextXs: cx, queries: q)
        let x = cx.slice(alongAxis: 0, 0..<1).reshaped(to: [5, 3]), xq = q.slice(alongAxis: 0, 0..<1).reshaped(to: [1, 3])
        let post = try LinearAlgebra.inverse(matmul(x, x, transposeA: true) / 0.09 + Tensor.identity(3))
        let expected = 0.09 + matmul(matmul(xq, post), xq, transposeB: true).scalar
        XCTAssertEqual(v[0, 0], expected, accuracy: 1e-12)
    }

    func testGDFromZeroConvergesToMinNormOLS() {
        let p = prompts(d: 6, n: 5, batch: 4)            // 4 context points in 6 dimensions: underdetermined
        let (cx, cy) = p.context(4)
        let gd = GradientDescent(steps: 3000, stepSize: .inverseLipschitz).weightTrajectory(contextXs: cx, contextYs: cy).weights.last!
        let ols = LeastSquares().weightTrajectory(contextXs: cx, contextYs: cy).weights[0]
        assertClose(gd, ols, tolerance: 1e-8)
    }

    func testDiscreteMMSELimits() {
        var rng = Xoshiro256(seed: 9)
        let task = LinearRegressionTask(dimension: 4, points: 8, weights: .pool(size: 5, scale: 1, poolSeed: 77), noise: 0.1)
        let p = task.sample(batch: 6, using: &rng)
        let pool = task.taskPool!
        let (cx, cy) = p.context(7)
        // M = 1: always the one task.
        let single = pool.slice(alongAxis: 0, 0..<1)
        let w1 = DiscreteMMSE(pool: single, noise: 0.1).weightTrajectory(contextXs: cx, contextYs: cy).weights[0]
        assertClose(w1, single.tiledBatch(6).reshaped(to: [6, 4]), tolerance: exact)
        // σ → 0: the posterior concentrates on the true task (the prompts' own w).
        let sharp = DiscreteMMSE(pool: pool, noise: 1e-3).weightTrajectory(contextXs: cx, contextYs: cy).weights[0]
        assertClose(sharp, p.ws!, tolerance: 1e-9)
        // σ → ∞ (or no context): the pool mean.
        let mean = pool.mean(alongAxis: 0).tiledBatch(6)
        let flat = DiscreteMMSE(pool: pool, noise: 1e6).weightTrajectory(contextXs: cx, contextYs: cy).weights[0]
        assertClose(flat, mean, tolerance: 1e-6)
        let empty = DiscreteMMSE(pool: pool, noise: 0.1).weightTrajectory(contextXs: p.context(0).xs, contextYs: p.context(0).ys).weights[0]
        assertClose(empty, mean, tolerance: exact)
    }

    func testOneLayerLSAScalesAsCubeUnderCovariateShift() {
        var rng = Xoshiro256(seed: 5)
        let model = LinearSelfAttention(dimension: 4, layers: 1, initStd: 0.5, using: &rng)
        var base = LinearRegressionTask(dimension: 4, points: 9)
        var r1 = Xoshiro256(seed: 6), r2 = Xoshiro256(seed: 6)
        let p1 = base.sample(batch: 8, using: &r1)
        base.inputScale = 1.7
        let p2 = base.sample(batch: 8, using: &r2)
        // x → c x scales y → c y too, so tokens scale by c and a 1-layer LSA's read-out Δ by c³.
        assertClose(model.queryTrajectory(p2).final, model.queryTrajectory(p1).final * pow(1.7, 3), tolerance: 1e-11)
    }

    func testPermutationInvariance() {
        let p = prompts(n: 10, batch: 4, noise: 0.2)
        let n = 9
        let perm = [3, 0, 8, 1, 5, 2, 7, 4, 6]
        let (cx, cy) = p.context(n)
        func permute(_ t: Tensor) -> Tensor {
            Tensor.concatenate(perm.map { t.slice(alongAxis: 1, $0..<($0 + 1)) }, alongAxis: 1)
        }
        let q = p.points(n..<(n + 1)).xs
        var rng = Xoshiro256(seed: 8)
        let learners: [InContextLearner] = [
            LinearSelfAttention(dimension: 5, layers: 3, heads: 2, initStd: 0.3, using: &rng),
            GradientDescent(steps: 5, learningRate: 0.4), IterativeNewton(steps: 4), Ridge(path: [0.1, 1]),
            LeastSquares(), BayesGaussian(noise: 0.2), Averaging(), NearestNeighbours(k: 3),
            GDPlusPlus(steps: 2, learningRate: 0.5, gamma: 0.01),
            DiscreteMMSE(pool: Tensor.randomNormal([4, 5], using: &rng), noise: 0.5),
        ]
        for l in learners {
            let a = l.trajectory(contextXs: cx, contextYs: cy, queries: q)
            let b = l.trajectory(contextXs: permute(cx), contextYs: permute(cy.reshaped(to: [4, n, 1])).reshaped(to: [4, n]), queries: q)
            for s in 0..<a.stepCount {
                // Reordering a sum changes only rounding: relative to the predictions' scale, ≲ 1e-13.
                let scale = max(1, a.predictions[s].scalars.map(abs).max()!)
                assertClose(a.predictions[s], b.predictions[s], tolerance: 1e-12 * scale, l.name)
            }
        }
    }

    func testLSAGradientMatchesFiniteDifferences() {
        var rng = Xoshiro256(seed: 10)
        let model = LinearSelfAttention(dimension: 3, layers: 2, heads: 2, initStd: 0.4, using: &rng)
        let p = prompts(d: 3, n: 7, batch: 5)
        let (_, g) = valueWithGradient(at: model) { m in m.queryLoss(p) }
        let nKQ = numericalGradient(at: model.wKQ) { w in var m = model; m.wKQ = w; return m.queryLoss(p).scalar }
        let nPV = numericalGradient(at: model.wPV) { w in var m = model; m.wPV = w; return m.queryLoss(p).scalar }
        XCTAssertLessThan(relativeError(g.wKQ, nKQ), gradientCheckTolerance)
        XCTAssertLessThan(relativeError(g.wPV, nPV), gradientCheckTolerance)
        let restricted = RestrictedLoopedLSA(a: Tensor.randomNormal([3, 3], standardDeviation: 0.3, using: &rng), depth: 3)
        let (_, gr) = valueWithGradient(at: restricted) { m in m.model.queryLoss(p) }
        let nA = numericalGradient(at: restricted.a) { a in RestrictedLoopedLSA(a: a, depth: 3).model.queryLoss(p).scalar }
        XCTAssertLessThan(relativeError(gr.a, nA), gradientCheckTolerance)
    }

    func testParameterWalksCoverEveryTensor() {
        var rng = Xoshiro256(seed: 11)
        assertWalkCoversEveryParameter(LinearSelfAttention(dimension: 3, layers: 2, heads: 2, using: &rng))
        assertWalkCoversEveryParameter(RestrictedLoopedLSA(a: Tensor.identity(3), depth: 2))
    }
}
