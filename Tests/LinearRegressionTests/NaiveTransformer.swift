import Foundation
import Models
import NumericCore
import TestSupport
import XCTest
import _Differentiation

// Naive references for the transformer tests (GPT, looped, graph models): every piece of a pre-LN block as
// explicit loops, and a finite-difference check of any model's gradient, parameter by parameter.

/// Naive multi-head masked attention: explicit loops, softmax by rows.
func naiveAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, mask: Tensor) -> Tensor {
    let (b, t, w) = (q.shape[0], q.shape[1], q.shape[2])
    let dh = w / heads
    var out = Tensor(zeros: [b, t, w])
    for p in 0..<b { for h in 0..<heads { for i in 0..<t {
        var scores = [Double](repeating: -.infinity, count: t)
        for j in 0..<t where mask[i, j] == 0 {
            scores[j] = (0..<dh).reduce(0.0) { $0 + q[p, i, h * dh + $1] * k[p, j, h * dh + $1] } / Double(dh).squareRoot()
        }
        let mx = scores.max()!
        guard mx > -.infinity else { continue }
        let e = scores.map { Foundation.exp($0 - mx) }
        let z = e.reduce(0, +)
        for j in 0..<t { for d in 0..<dh { out.scalars[(p * t + i) * w + h * dh + d] += e[j] / z * v[p, j, h * dh + d] } }
    } } }
    return out
}

/// `x W + b` on the last axis, by loops.
func naiveDense(_ x: Tensor, _ d: Dense) -> Tensor {
    let (rows, din, dout) = (x.scalarCount / x.shape[x.rank - 1], d.weight.shape[0], d.weight.shape[1])
    var out = [Double](repeating: 0, count: rows * dout)
    for r in 0..<rows { for o in 0..<dout {
        out[r * dout + o] = d.bias.scalars[o] + (0..<din).reduce(0.0) { $0 + x.scalars[r * din + $1] * d.weight.scalars[$1 * dout + o] }
    } }
    return Tensor(shape: Array(x.shape.dropLast()) + [dout], scalars: out)
}

/// LayerNorm (biased variance, ε = 1e-5) of each row, by loops.
func naiveLayerNorm(_ x: Tensor, _ ln: LayerNorm) -> Tensor {
    let w = x.shape[x.rank - 1]
    var out = x.scalars
    for r in 0..<(x.scalarCount / w) {
        let row = Array(x.scalars[(r * w)..<((r + 1) * w)])
        let mu = row.reduce(0, +) / Double(w)
        let v = row.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(w)
        for j in 0..<w { out[r * w + j] = (row[j] - mu) / (v + 1e-5).squareRoot() * ln.gain.scalars[j] + ln.bias.scalars[j] }
    }
    return Tensor(shape: x.shape, scalars: out)
}

/// GELU, tanh form.
func naiveGELU(_ x: Tensor) -> Tensor {
    x.map { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }
}

/// A pre-LN block by loops: `h = x + W_O MHA(LN₁ x)`, `h + W₂ GELU(W₁ LN₂ h)`.
func naiveBlock(_ blk: GPTBlock, _ x: Tensor, mask: Tensor) -> Tensor {
    let a = naiveLayerNorm(x, blk.norm1)
    let att = naiveAttention(naiveDense(a, blk.query), naiveDense(a, blk.key), naiveDense(a, blk.value), heads: blk.heads, mask: mask)
    let h = Tensor(shape: x.shape, scalars: zip(x.scalars, naiveDense(att, blk.projection).scalars).map(+))
    let mlp = naiveDense(naiveGELU(naiveDense(naiveLayerNorm(h, blk.norm2), blk.expand)), blk.contract)
    return Tensor(shape: x.shape, scalars: zip(h.scalars, mlp.scalars).map(+))
}

/// Every parameter's gradient of `loss` at `m` against central finite differences (relative error 1e-6, or both
/// below 1e-7 where the loss does not depend on the parameter).
func assertParameterGradientsMatchFiniteDifferences<M: ParameterWalkable>(
    _ m: M, _ message: String = "", file: StaticString = #filePath, line: UInt = #line,
    loss: @escaping @differentiable(reverse) (M) -> Tensor
) {
    let (_, g) = valueWithGradient(at: m, of: loss)
    for path in m.parameterPaths where m[keyPath: path.value].scalarCount > 0 {
        let numeric = numericalGradient(at: m[keyPath: path.value]) { w in
            var n = m; n[keyPath: path.value] = w; return loss(n).scalar
        }
        let analytic = m.gradient(g, at: path)
        if numeric.norm < 1e-7 {
            XCTAssertLessThan(analytic.norm, 1e-7, "\(message) \(path.name)", file: file, line: line)
        } else {
            XCTAssertLessThan(relativeError(analytic, numeric), 1e-6, "\(message) \(path.name)", file: file, line: line)
        }
    }
}
