import Foundation
import _Differentiation

/// Updates a model in place from a gradient.
public protocol Optimizer {
    associatedtype Model: ParameterWalkable
    mutating func update(_ model: inout Model, along gradient: Model.TangentVector)
}

/// Stochastic gradient descent with optional momentum (PyTorch's convention: `v ← μ v + g`, `θ ← θ − lr v`).
public struct SGD<Model: ParameterWalkable>: Optimizer {
    public var learningRate: Double
    public var momentum: Double
    var velocity: [Tensor] = []

    public init(for model: Model, learningRate: Double, momentum: Double = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public mutating func update(_ model: inout Model, along gradient: Model.TangentVector) {
        let paths = model.parameterPaths
        if velocity.isEmpty { velocity = paths.map { Tensor(zeros: model[keyPath: $0.value].shape) } }
        for (i, p) in paths.enumerated() {
            let g = model.gradient(gradient, at: p)
            var step = g
            if momentum != 0 {
                velocity[i] = Tensor.zipBroadcast(velocity[i], g, "SGD") { v, g in momentum * v + g }
                step = velocity[i]
            }
            let lr = learningRate
            model[keyPath: p.value] = Tensor.zipBroadcast(model[keyPath: p.value], step, "SGD") { $0 - lr * $1 }
        }
    }
}

/// Adam (Kingma & Ba 2015) with bias correction, PyTorch's defaults and update:
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `θ ← θ − lr · m̂ / (√v̂ + ε)` with `m̂ = m/(1−β₁ᵗ)`,
/// `v̂ = v/(1−β₂ᵗ)`. Optional decoupled weight decay (AdamW) and global-norm gradient clipping.
public struct Adam<Model: ParameterWalkable>: Optimizer {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// AdamW's decoupled weight decay: `θ ← θ − lr · λ θ` before the Adam step (0 = plain Adam).
    public var weightDecay: Double
    /// If set, gradients whose global norm exceeds this are scaled down to it before the step.
    public var maxGradientNorm: Double?
    /// Steps taken so far.
    public private(set) var step = 0
    var firstMoments: [Tensor] = []
    var secondMoments: [Tensor] = []

    public init(for model: Model, learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8, weightDecay: Double = 0, maxGradientNorm: Double? = nil) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.maxGradientNorm = maxGradientNorm
    }

    /// The moment estimates `(m, v)` per parameter in walk order (empty before the first step): with `step`,
    /// everything a resumed run needs to continue bit for bit.
    public var moments: (first: [Tensor], second: [Tensor]) { (firstMoments, secondMoments) }

    /// Restores the state saved from `step` and `moments` (a checkpoint of a run being resumed).
    public mutating func restore(step: Int, first: [Tensor], second: [Tensor]) {
        precondition(first.count == second.count, "Adam.restore: \(first.count) first and \(second.count) second moments")
        self.step = step
        firstMoments = first
        secondMoments = second
    }

    public mutating func update(_ model: inout Model, along gradient: Model.TangentVector) {
        let paths = model.parameterPaths
        if firstMoments.isEmpty {
            firstMoments = paths.map { Tensor(zeros: model[keyPath: $0.value].shape) }
            secondMoments = firstMoments
        }
        var clip = 1.0
        if let maxNorm = maxGradientNorm {
            let norm = model.gradientNorm(gradient)
            if norm > maxNorm { clip = maxNorm / norm }
        }
        step += 1
        let (b1, b2, eps, lr, wd) = (beta1, beta2, epsilon, learningRate, weightDecay)
        let c1 = 1 - pow(b1, Double(step)), c2 = 1 - pow(b2, Double(step))
        for (i, p) in paths.enumerated() {
            let g = model.gradient(gradient, at: p)
            var theta = model[keyPath: p.value]
            firstMoments[i].scalars.withUnsafeMutableBufferPointer { m in
                secondMoments[i].scalars.withUnsafeMutableBufferPointer { v in
                    theta.scalars.withUnsafeMutableBufferPointer { t in
                        g.scalars.withUnsafeBufferPointer { g in
                            for j in 0..<t.count {
                                let gj = g[j] * clip
                                m[j] = b1 * m[j] + (1 - b1) * gj
                                v[j] = b2 * v[j] + (1 - b2) * gj * gj
                                if wd != 0 { t[j] -= lr * wd * t[j] }
                                t[j] -= lr * (m[j] / c1) / ((v[j] / c2).squareRoot() + eps)
                            }
                        }
                    }
                }
            }
            model[keyPath: p.value] = theta
        }
    }
}
