import Foundation
import _Differentiation

// The loss of a prediction whose correct answer is a set (Saparov et al.'s graph search: any useful child of
// the current vertex is a right next move).

/// Cross-entropy against a set of correct classes, averaged over rows r:
/// `L = mean_r(−log Σ_{c ∈ U_r} softmax(z_r)_c) = mean_r(logΣexp(z_r) − logΣexp_{c ∈ U_r}(z_r))`, the negative log
/// of the probability that a class drawn from the model's softmax is correct. `logits [.., C]`, `targets` of
/// the same shape, multi-hot (`targets[r, c] ≠ 0` marks c ∈ U_r); every row needs at least one correct class.
/// With one correct class per row it is `softmaxCrossEntropy`.
@differentiable(reverse, wrt: logits)
public func setCrossEntropy(logits: Tensor, targets: Tensor) -> Tensor {
    setCrossEntropyForward(logits: logits, targets: targets).loss
}

/// The loss and, per row, the softmax over all classes (`p`) and the softmax renormalized over the correct set
/// (`q`), both `[rows · C]`: what the pullback needs.
func setCrossEntropyForward(logits: Tensor, targets: Tensor) -> (loss: Tensor, p: [Double], q: [Double]) {
    precondition(logits.shape == targets.shape && logits.rank >= 1,
                 "setCrossEntropy: logits \(logits.shape) and targets \(targets.shape) must share a shape [.., C]")
    let c = logits.shape[logits.rank - 1], rows = c == 0 ? 0 : logits.scalarCount / c
    var p = [Double](repeating: 0, count: rows * c), q = p
    var total = 0.0
    for r in 0..<rows {
        let base = r * c
        var mx = -Double.infinity, mxSet = -Double.infinity
        for j in 0..<c {
            let z = logits.scalars[base + j]
            mx = Swift.max(mx, z)
            if targets.scalars[base + j] != 0 { mxSet = Swift.max(mxSet, z) }
        }
        precondition(mxSet > -.infinity, "setCrossEntropy: row \(r) has no correct class (an all-zero target)")
        // Each log-sum-exp is shifted by its own maximum, so neither overflows.
        var s = 0.0, sSet = 0.0
        for j in 0..<c {
            let z = logits.scalars[base + j]
            p[base + j] = Foundation.exp(z - mx)
            s += p[base + j]
            if targets.scalars[base + j] != 0 { q[base + j] = Foundation.exp(z - mxSet); sSet += q[base + j] }
        }
        for j in 0..<c { p[base + j] /= s; q[base + j] /= sSet }
        total += (mx + Foundation.log(s)) - (mxSet + Foundation.log(sSet))
    }
    return (Tensor(total / Double(Swift.max(rows, 1))), p, q)
}

// L = mean_r(logΣexp(z_r) − logΣexp_{U_r}(z_r)), so dz_r = g (softmax(z_r) − q_r) / rows with q_r the softmax of z_r
// restricted to U_r (zero outside it).
@derivative(of: setCrossEntropy, wrt: logits)
public func _vjpSetCrossEntropy(logits: Tensor, targets: Tensor) -> (value: Tensor, pullback: (Tensor) -> Tensor) {
    let (loss, p, q) = setCrossEntropyForward(logits: logits, targets: targets)
    let c = logits.shape[logits.rank - 1], rows = c == 0 ? 0 : logits.scalarCount / c
    let shape = logits.shape
    return (loss, { g in
        let scale = g.scalar / Double(Swift.max(rows, 1))
        return Tensor(shape: shape, scalars: (0..<p.count).map { (p[$0] - q[$0]) * scale })
    })
}
