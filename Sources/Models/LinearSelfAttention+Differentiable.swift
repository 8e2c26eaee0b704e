import NumericCore
import _Differentiation

// `LinearSelfAttention.init(wKQ:wPV:…)` must be differentiable for `RestrictedLoopedLSA.model`.
extension LinearSelfAttention {
    @derivative(of: init(wKQ:wPV:heads:depth:tokenClamp:), wrt: (wKQ, wPV))
    public static func _vjpInit(wKQ: Tensor, wPV: Tensor, heads: Int, depth: Int?, tokenClamp: Double?)
        -> (value: LinearSelfAttention, pullback: (TangentVector) -> (Tensor, Tensor)) {
        (LinearSelfAttention(wKQ: wKQ, wPV: wPV, heads: heads, depth: depth, tokenClamp: tokenClamp),
         { v in (v.wKQ, v.wPV) })
    }
}
