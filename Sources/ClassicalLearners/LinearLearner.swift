import NumericCore
import Tasks

/// A learner whose prediction is linear in the query, `ŷ = wᵀ x_q`: it reports its weights after each
/// step, and predictions follow from them (so implied weights are exact, not fitted).
public protocol LinearInContextLearner: InContextLearner {
    /// Step labels, step values and weights `[B, D]` after each step, from a context `[B, n, D]`, `[B, n]`.
    func weightTrajectory(contextXs: Tensor, contextYs: Tensor) -> (labels: [String], values: [Double], weights: [Tensor])
}

extension LinearInContextLearner {
    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        let (labels, values, weights) = weightTrajectory(contextXs: contextXs, contextYs: contextYs)
        return Trajectory(learner: name, stepLabels: labels, stepValues: values,
                          predictions: weights.map { linearPredictions(weights: $0, queries: queries) },
                          weights: weights)
    }
}

/// `ŷ[b, q] = Σ_d queries[b, q, d] · w[b, d]`: `[B, Q]`.
public func linearPredictions(weights: Tensor, queries: Tensor) -> Tensor {
    let (b, q, d) = (queries.shape[0], queries.shape[1], queries.shape[2])
    precondition(weights.shape == [b, d], "linearPredictions: weights \(weights.shape) do not match queries \(queries.shape)")
    var out = [Double](repeating: 0, count: b * q)
    queries.scalars.withUnsafeBufferPointer { xq in
        weights.scalars.withUnsafeBufferPointer { w in
            out.withUnsafeMutableBufferPointer { o in
                for p in 0..<b {
                    for j in 0..<q {
                        var s = 0.0
                        for k in 0..<d { s += xq[(p * q + j) * d + k] * w[p * d + k] }
                        o[p * q + j] = s
                    }
                }
            }
        }
    }
    return Tensor(shape: [b, q], scalars: out)
}

/// Per-prompt sufficient statistics of least squares: `S = XᵀX [B, D, D]` and `Xᵀy [B, D]`.
public func gramStatistics(_ xs: Tensor, _ ys: Tensor) -> (s: Tensor, xty: Tensor) {
    let (b, n, d) = (xs.shape[0], xs.shape[1], xs.shape[2])
    let s = matmul(xs, xs, transposeA: true)
    let xty = matmul(xs, ys.reshaped(to: [b, n, 1]), transposeA: true).reshaped(to: [b, d])
    return (s, xty)
}

/// The largest eigenvalue of every prompt's `S [B, D, D]` (symmetric PSD), computed on all cores.
func largestEigenvalues(_ s: Tensor) -> [Double] {
    let (b, d) = (s.shape[0], s.shape[1])
    var out = [Double](repeating: 0, count: b)
    out.withUnsafeMutableBufferPointer { o in
        let ob = o.baseAddress!
        s.scalars.withUnsafeBufferPointer { sp in
            forPromptChunks(b) { range in
                var work: [Double] = []
                for p in range { ob[p] = SmallDense.largestEigenvalue(ofSymmetric: sp.baseAddress! + p * d * d, n: d, work: &work) }
            }
        }
    }
    return out
}

/// Runs `body(range)` over prompt index ranges on the machine's cores; each call writes only its own
/// prompts' outputs, so results do not depend on threading.
func forPromptChunks(_ count: Int, _ body: (Range<Int>) -> Void) {
    Parallel.forChunks(count: count, workers: count >= 64 ? Parallel.workerCount : 1, body)
}

/// `steps` tensors of `shape` that `fill` writes in place — prompt chunks concurrently, each step through its
/// pointer — with no copy afterwards (the step arrays are built nested, so every storage is live while `fill`
/// runs). `zeroed: false` is for kernels that write every entry.
func weightTensors(steps: Int, shape: [Int], zeroed: Bool = true,
                   _ fill: ([UnsafeMutablePointer<Double>]) -> Void) -> [Tensor] {
    let count = shape.reduce(1, *)
    var pointers: [UnsafeMutablePointer<Double>] = [], arrays: [[Double]] = []
    func make(_ k: Int) {
        if k == steps { fill(pointers); return }
        arrays.append([Double](unsafeUninitializedCapacity: max(count, 1)) { buffer, initialized in
            if zeroed { buffer.initialize(repeating: 0) }
            pointers.append(buffer.baseAddress!)
            make(k + 1)
            initialized = count
        })
    }
    make(0)
    return arrays.reversed().map { Tensor(shape: shape, scalars: $0) }   // the innermost (last) step is appended first
}

func formatStep(_ x: Double) -> String {
    if x == x.rounded() && abs(x) < 1e6 { return String(Int(x)) }
    return String(format: "%.4g", x)
}

import Foundation
