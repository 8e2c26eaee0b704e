import ClassicalLearners
import NumericCore
import Tasks
import XCTest

/// GD and iterative Newton run 8 prompts per vector (BLASRuntime/ClassicalLanes.c). Each lane must compute
/// exactly what one prompt at a time computes: the scalar GD loop, and Newton–Schulz as batched matmuls.
final class ClassicalKernelTests: XCTestCase {
    /// 13 prompts (a full group of 8 and a partial one), d = 5 (a specialized width) and d = 3 (the general body).
    func prompts(d: Int, seed: UInt64) -> (xs: Tensor, ys: Tensor) {
        var rng = Xoshiro256(seed: seed)
        let p = LinearRegressionTask(dimension: d, points: 9, noise: 0.1).sample(batch: 13, using: &rng)
        return (p.xs, p.ys)
    }

    func testGradientDescentLanesAreTheScalarLoopBitForBit() {
        for d in [3, 5] {
            let (xs, ys) = prompts(d: d, seed: UInt64(d))
            var rng = Xoshiro256(seed: 9)
            let pre = Tensor.randomNormal([d, d], standardDeviation: 0.3, using: &rng)
            let w0 = Tensor.randomNormal([d], using: &rng)
            for (gd, scaleOfS) in [(GradientDescent(steps: 7, learningRate: 0.1), 1 / 9.0),
                                   (GradientDescent(steps: 7, stepSize: .inverseLipschitz, lossScaling: .sum), 1.0),
                                   (GradientDescent(steps: 7, stepSize: .fixed(0.05), preconditioner: pre, initialWeights: w0), 1 / 9.0)] {
                let kernel = gd.weightTrajectory(contextXs: xs, contextYs: ys).weights
                let (s, xty) = gramStatistics(xs, ys)
                for p in 0..<13 {
                    // The reference: one prompt, plain Swift loops, left to right.
                    let sp = Array(s.scalars[(p * d * d)..<((p + 1) * d * d)]), bp = Array(xty.scalars[(p * d)..<((p + 1) * d)])
                    let eta: Double
                    switch gd.stepSize {
                    case .fixed(let e): eta = e
                    case .inverseLipschitz:
                        var work: [Double] = []
                        let top = sp.withUnsafeBufferPointer { SmallDense.largestEigenvalue(ofSymmetric: $0.baseAddress!, n: d, work: &work) }
                        eta = 1 / (top * scaleOfS)
                    }
                    var w = gd.initialWeights?.scalars ?? [Double](repeating: 0, count: d)
                    for k in 0..<7 {
                        var g = bp.map { -$0 }
                        for j in 0..<d { for i in 0..<d { g[i] += w[j] * sp[j * d + i] } }
                        for i in 0..<d { g[i] *= scaleOfS }
                        if let pre = gd.preconditioner?.scalars {
                            g = (0..<d).map { i in var acc = 0.0; for j in 0..<d { acc += pre[i * d + j] * g[j] }; return acc }
                        }
                        for i in 0..<d { w[i] -= eta * g[i] }
                        XCTAssertEqual(Array(kernel[k].scalars[(p * d)..<((p + 1) * d)]), w, "\(gd.name) d=\(d) prompt \(p) step \(k)")
                    }
                }
            }
        }
    }

    func testNewtonLanesAreBatchedMatmulsBitForBit() {
        for d in [3, 5] {
            let (xs, ys) = prompts(d: d, seed: UInt64(10 + d))
            let newton = IterativeNewton(steps: 4)
            let kernel = newton.weightTrajectory(contextXs: xs, contextYs: ys).weights
            // The reference: M₀ = αS with Fu et al.'s α = 1/‖SSᵀ‖_F, then 2M − MSM as batched matmuls.
            let (s, xty) = gramStatistics(xs, ys)
            let s2 = matmul(s, s)
            let alphas = (0..<13).map { p in 1 / s2.scalars[(p * d * d)..<((p + 1) * d * d)].reduce(0) { $0 + $1 * $1 }.squareRoot() }
            var m = s * Tensor(shape: [13, 1, 1], scalars: alphas)
            let b = xty.reshaped(to: [13, d, 1])
            XCTAssertEqual(kernel[0].scalars, matmul(m, b).scalars, "d=\(d) k=0")
            for k in 1...4 {
                m = m * 2 - matmul(matmul(m, s), m)
                XCTAssertEqual(kernel[k].scalars, matmul(m, b).scalars, "d=\(d) k=\(k)")
            }
        }
    }
}
