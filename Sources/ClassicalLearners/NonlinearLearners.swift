import Foundation
import NumericCore
import Tasks

/// k-nearest neighbours: the mean label of the k context points closest to the query (Euclidean; ties to
/// the smaller index); 0 with no context.
public struct NearestNeighbours: InContextLearner {
    public var k: Int
    public init(k: Int = 1) {
        precondition(k >= 1, "NearestNeighbours: k must be ≥ 1")
        self.k = k
    }
    public var name: String { "\(k)-NN" }

    public func trajectory(contextXs xs: Tensor, contextYs ys: Tensor, queries: Tensor) -> Trajectory {
        let (b, n, d) = (xs.shape[0], xs.shape[1], xs.shape[2])
        let q = queries.shape[1]
        var out = [Double](repeating: 0, count: b * q)
        for p in 0..<b where n > 0 {
            for j in 0..<q {
                var dist: [(Double, Int)] = []
                for i in 0..<n {
                    var s = 0.0
                    for t in 0..<d { let e = xs.scalars[(p * n + i) * d + t] - queries.scalars[(p * q + j) * d + t]; s += e * e }
                    dist.append((s, i))
                }
                dist.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
                let kk = min(k, n)
                out[p * q + j] = dist[0..<kk].reduce(0) { $0 + ys.scalars[p * n + $1.1] } / Double(kk)
            }
        }
        return Trajectory(learner: name, stepLabels: ["1"], stepValues: [1], predictions: [Tensor(shape: [b, q], scalars: out)])
    }
}

/// GD++ (von Oswald et al.'s curvature correction): each step takes a GD step on the current tokens
/// (`y ← y − (η/n) Σᵢ yᵢ xᵢᵀ x`, read out at the query as `−y`) and then transforms every input,
/// context and query alike, by `x ← (I − γ XᵀX) x` — what an LSA layer with `P = diag(−γI, η/n)` computes.
public struct GDPlusPlus: InContextLearner {
    public var steps: Int
    public var learningRate: Double
    public var gamma: Double

    public init(steps: Int, learningRate: Double, gamma: Double) {
        self.steps = steps
        self.learningRate = learningRate
        self.gamma = gamma
    }
    public var name: String { "GD++ (η = \(String(format: "%.4g", learningRate)), γ = \(String(format: "%.4g", gamma)))" }

    public func trajectory(contextXs: Tensor, contextYs: Tensor, queries: Tensor) -> Trajectory {
        let (b, n) = (contextXs.shape[0], contextXs.shape[1])
        let q = queries.shape[1]
        var x = Tensor.concatenate([contextXs, queries], alongAxis: 1)                     // [B, n+Q, D]
        var y = Tensor.concatenate([contextYs, Tensor(zeros: [b, q])], alongAxis: 1)       // [B, n+Q]
        var preds: [Tensor] = []
        let ctxMask = Tensor(shape: [1, n + q, 1], scalars: (0..<(n + q)).map { $0 < n ? 1 : 0 })
        for _ in 0..<steps {
            let xc = x * ctxMask
            // y_j −= (η/n) Σ_i y_i x_iᵀ x_j  (context i only)
            let yw = matmul(xc, (y.reshaped(to: [b, n + q, 1]) * ctxMask), transposeA: true)   // [B, D, 1]
            let delta = matmul(x, yw).reshaped(to: [b, n + q]) * (learningRate / Double(max(n, 1)))
            y = y - delta
            // x_j ← (I − γ Σ_i x_i x_iᵀ) x_j
            let s = matmul(xc, xc, transposeA: true)                                             // [B, D, D]
            x = x - matmul(x, s) * gamma
            preds.append(-y.slice(alongAxis: 1, n..<(n + q)))
        }
        return Trajectory(learner: name, stepLabels: (1...steps).map(String.init),
                          stepValues: (1...steps).map(Double.init), predictions: preds)
    }
}
