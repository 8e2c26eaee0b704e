import Foundation
import Models
import NumericCore
import Tasks
import Training
import _Differentiation

/// LSA training throughput in the peers' setting: B = 2048 prompts of N = 10 context points and a query,
/// D = 10, one layer, one head, init N(0, 0.02²), Adam lr 1e-3, fresh prompts drawn every step.
func lsaTrainingBenchmark(steps: Int, breakdown: Bool) -> (stepsPerSecond: Double, firstLoss: Double, lastLoss: Double) {
    let task = LinearRegressionTask(dimension: 10, points: 11)
    var rng = Xoshiro256(seed: 0)
    var model = LinearSelfAttention(dimension: 10, layers: 1, heads: 1, initStd: 0.02, using: &rng)
    if breakdown {
        var r = Xoshiro256(seed: 1)
        let p = task.sample(batch: 2048, using: &r)
        let sample = bestSeconds(repeats: 10) { var r2 = Xoshiro256(seed: 2); _ = task.sample(batch: 2048, using: &r2) }
        let n = 10
        let (cx, cy) = p.context(n)
        let q = p.points(n..<(n + 1)).xs
        let z = LinearSelfAttention.tokens(contextXs: cx, contextYs: cy, queries: q)
        let tok = bestSeconds(repeats: 10) { _ = LinearSelfAttention.tokens(contextXs: cx, contextYs: cy, queries: q) }
        let ctxTime = bestSeconds(repeats: 10) { _ = p.context(n); _ = p.points(n..<(n + 1)) }
        let fused = bestSeconds(repeats: 10) { _ = Tensor.linearSelfAttention(tokens: z, wKQ: model.wKQ, wPV: model.wPV, contextSize: n, fromRow: n) }
        var buf = [Double](repeating: 0, count: 245_760)
        let fill = bestSeconds(repeats: 10) { var r3 = Xoshiro256(seed: 3); buf.withUnsafeMutableBufferPointer { r3.fillNormal($0) } }
        let raw = bestSeconds(repeats: 10) { var r3 = Xoshiro256(seed: 3); var acc: UInt64 = 0; for _ in 0..<245_760 { acc &+= r3.next() }; buf[0] = Double(acc) }
        print(String(format: "  rng (ms): 245k normals %.3f, 245k raw 64-bit draws %.3f", fill * 1e3, raw * 1e3))
        let (_, pb) = valueWithPullback(at: model.wKQ, model.wPV) { a, v in Tensor.linearSelfAttention(tokens: z, wKQ: a, wPV: v, contextSize: n, fromRow: n) }
        let g = Tensor(repeating: 1, shape: [2048, 1, 11])
        let fusedBack = bestSeconds(repeats: 10) { _ = pb(g) }
        let (_, pbl) = valueWithPullback(at: model) { $0.queryLoss(p) }
        let lossBack = bestSeconds(repeats: 10) { _ = pbl(Tensor(1)) }
        print(String(format: "  pieces (ms): slicing %.3f, tokens %.3f, fused layer (query rows) %.3f, its pullback %.3f, whole-loss pullback %.3f", ctxTime * 1e3, tok * 1e3, fused * 1e3, fusedBack * 1e3, lossBack * 1e3))
        // The two evaluation orders of the query-row layer (the automatic choice's cost model weighs these).
        for order in [LSAEvaluationOrder.covariance, .attention] {
            LSAEvaluationOrder.current = order
            let f = bestSeconds(repeats: 10) { _ = Tensor.linearSelfAttention(tokens: z, wKQ: model.wKQ, wPV: model.wPV, contextSize: n, fromRow: n) }
            let (_, pbo) = valueWithPullback(at: z, model.wKQ, model.wPV) { z, a, v in Tensor.linearSelfAttention(tokens: z, wKQ: a, wPV: v, contextSize: n, fromRow: n) }
            let b = bestSeconds(repeats: 10) { _ = pbo(g) }
            print(String(format: "  query-row layer, %@ form (ms): forward %.3f, pullback %.3f", "\(order)", f * 1e3, b * 1e3))
        }
        LSAEvaluationOrder.current = .automatic
        let fwd = bestSeconds(repeats: 10) { _ = model.queryLoss(p) }
        let fb = bestSeconds(repeats: 10) { _ = valueWithGradient(at: model) { $0.queryLoss(p) } }
        print(String(format: "  breakdown (ms): sample %.3f, forward %.3f, forward+backward %.3f", sample * 1e3, fwd * 1e3, fb * 1e3))
    }
    let config = TrainingConfig(steps: steps, batchSize: 2048, learningRate: 1e-3, seed: 0, logEvery: 0)
    let start = DispatchTime.now().uptimeNanoseconds
    let history = try! Trainer.train(&model, task: task, config: config)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return (Double(steps) / seconds, history.losses.first ?? .nan, history.losses.last ?? .nan)
}

/// One configuration of LSA training for the depth-scaling table: a stack of `layers` full LSA layers (or one
/// layer looped `looped` times), D, N context points + a query, B prompts, Adam, fresh prompts every step.
struct TrainingPoint {
    var layers = 1, dimension = 10, points = 10, looped: Int? = nil, batch = 2048, steps = 50
    var given = false

    /// `{"bench": "lsa_train", …, "median_step_ms": …, "steps_per_s": …}` from the per-step times of one run
    /// (the first steps, which warm caches and the allocator, are left out of the median).
    func run() -> String {
        let task = LinearRegressionTask(dimension: dimension, points: points + 1)
        var rng = Xoshiro256(seed: 0)
        let config = TrainingConfig(steps: steps, batchSize: batch, learningRate: 1e-3, seed: 0, logEvery: 0)
        let history: TrainingHistory
        if let t = looped {
            var model = Looped(body: LSALayer(dimension: dimension, heads: 1, initStd: 0.02, using: &rng), depth: t)
            history = try! Trainer.train(&model, task: task, config: config)
        } else {
            var model = Stack(layers: (0..<layers).map { _ in LSALayer(dimension: dimension, heads: 1, initStd: 0.02, using: &rng) })
            history = try! Trainer.train(&model, task: task, config: config)
        }
        let times = zip(history.seconds.dropFirst(), history.seconds).map { $0 - $1 }.dropFirst(min(3, max(steps - 4, 0)))
        let sorted = times.sorted()
        let median = sorted.isEmpty ? history.seconds.last ?? .nan : sorted[sorted.count / 2]
        let loopedText = looped.map(String.init) ?? "null"
        return "{\"bench\": \"lsa_train\", \"layers\": \(looped == nil ? layers : 1), \"looped\": \(loopedText), \"d\": \(dimension), "
            + "\"N\": \(points), \"B\": \(batch), \"steps\": \(steps), \"threads\": \(Parallel.workerCount), "
            + String(format: "\"median_step_ms\": %.3f, \"steps_per_s\": %.2f}", median * 1e3, 1 / median)
    }
}

/// GPT training throughput in the peer's setting (shared/peers/b_gpt_train.py): d = 5, 11 points interleaved
/// as 22 tokens, 4 pre-LN blocks of width 64 with 4 heads, B = 64, Adam lr 1e-4, the loss at every x token,
/// fresh prompts every step; `microBatches` splits each batch over the cores (the same bits at any thread
/// count). With `looped`, one block applied that many times with input injection (c_looped_train.py's model).
struct GPTPoint {
    var layers = 4, width = 64, heads = 4, batch = 64, steps = 40, microBatches = 1
    var looped: Int? = nil

    func run() -> String {
        let task = LinearRegressionTask(dimension: 5, points: 11)
        var rng = Xoshiro256(seed: 0)
        let config = TrainingConfig(steps: steps, batchSize: batch, learningRate: 1e-4, seed: 0, logEvery: 0,
                                    objective: .everyPrefix, microBatches: microBatches)
        let history: TrainingHistory
        if let t = looped {
            var model = LoopedTransformer(dimension: 5, width: width, heads: heads, depth: t, preBlocks: 0, postBlocks: 0,
                                          window: nil, std: 0.02, using: &rng)
            history = try! Trainer.train(&model, task: task, config: config)
        } else {
            var model = GPT(dimension: 5, width: width, layers: layers, heads: heads, layout: .interleaved, points: 11, using: &rng)
            history = try! Trainer.train(&model, task: task, config: config)
        }
        let times = zip(history.seconds.dropFirst(), history.seconds).map { $0 - $1 }.dropFirst(min(5, max(steps - 4, 0)))
        let sorted = times.sorted()
        let median = sorted.isEmpty ? history.seconds.last ?? .nan : sorted[sorted.count / 2]
        return "{\"bench\": \"\(looped == nil ? "gpt_train" : "looped_transformer_train")\", \"layers\": \(looped == nil ? layers : 1), "
            + "\"looped\": \(looped.map(String.init) ?? "null"), \"width\": \(width), \"heads\": \(heads), \"B\": \(batch), "
            + "\"micro_batches\": \(microBatches), \"steps\": \(steps), \"threads\": \(Parallel.workerCount), "
            + String(format: "\"median_step_ms\": %.3f, \"steps_per_s\": %.2f}", median * 1e3, 1 / median)
    }
}
