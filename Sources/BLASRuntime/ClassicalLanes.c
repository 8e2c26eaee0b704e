// Classical learners' iterations, lane-packed: 8 prompts per vector, so every per-prompt d × d product is
// full-width vector arithmetic with no horizontal sums, and a prompt's matrices stay in cache for all steps.
// Each lane computes exactly what the one-prompt-at-a-time code computed before (same order, same fused or
// unfused multiply-adds), so the iterates are the same bits.
#include "BLASRuntime.h"
#include "Lanes.h"

// Gradient descent: g = scale · (S_p w − b_p), g ← P g (optional preconditioner), w ← w − η_p g. The scalar
// Swift loop it replaces had no fused multiply-adds, so contraction is off here.
INLINE void gd_body(const double *s, const double *xty, const double *eta, double scale, const double *pre,
                    const double *w0, long count, long d, long steps, double *const *out) {
#pragma clang fp contract(off)
    vd *S = alloc_vd(d * d), *b = alloc_vd(d), *w = alloc_vd(d), *g = alloc_vd(d), *pg = alloc_vd(d), *et = alloc_vd(1);
    for (long p0 = 0; p0 < count; p0 += LANES) {
        const long lanes = count - p0 < LANES ? count - p0 : LANES;
        pack(s + p0 * d * d, lanes, d * d, S);
        pack(xty + p0 * d, lanes, d, b);
        pack(eta + p0, lanes, 1, et);
        for (long i = 0; i < d; i++) w[i] = (vd){0} + w0[i];
        for (long k = 0; k < steps; k++) {
            // ∇L(w) = scale · (S w − Xᵀy), as Σ_j w_j S[j, :] (S is symmetric): contiguous rows.
            for (long i = 0; i < d; i++) g[i] = -b[i];
            for (long j = 0; j < d; j++) {
                const vd wj = w[j];
                const vd *row = S + j * d;
                for (long i = 0; i < d; i++) g[i] += wj * row[i];
            }
            for (long i = 0; i < d; i++) g[i] *= scale;
            if (pre) {
                for (long i = 0; i < d; i++) {
                    vd acc = {0};
                    for (long j = 0; j < d; j++) acc += pre[i * d + j] * g[j];
                    pg[i] = acc;
                }
                for (long i = 0; i < d; i++) g[i] = pg[i];
            }
            for (long i = 0; i < d; i++) w[i] -= et[0] * g[i];
            unpack(w, lanes, d, out[k] + p0 * d);
        }
    }
    free(S); free(b); free(w); free(g); free(pg); free(et);
}

ICL_CLONES
void icl_gd_trajectory(const double *s, const double *xty, const double *eta, double scale, const double *pre,
                       const double *w0, long count, long d, long steps, double *const *out) {
    switch (d) {   // specialized for the papers' common dimensions (registers hold g and w)
    case 5: gd_body(s, xty, eta, scale, pre, w0, count, 5, steps, out); break;
    case 10: gd_body(s, xty, eta, scale, pre, w0, count, 10, steps, out); break;
    case 20: gd_body(s, xty, eta, scale, pre, w0, count, 20, steps, out); break;
    default: gd_body(s, xty, eta, scale, pre, w0, count, d, steps, out); break;
    }
}

// Iterative Newton (Newton–Schulz): M₀ = α_p S_p, M_{k+1} = 2 M_k − (M_k S_p) M_k, w_k = M_k Xᵀy. Each product
// sums p = 0, 1, … with fused multiply-adds, as the batched small-matrix kernel (SmallGemm.c) it replaces.
INLINE void product(const vd *restrict a, const vd *restrict b, long m, long k, long n, vd *restrict c) {
    for (long i = 0; i < m; i++) {
        vd *ci = c + i * n;
        for (long j = 0; j < n; j++) ci[j] = (vd){0};
        for (long p = 0; p < k; p++) {
            const vd x = a[i * k + p];
            const vd *bp = b + p * n;
            for (long j = 0; j < n; j++) ci[j] += x * bp[j];
        }
    }
}

INLINE void newton_body(const double *s, const double *xty, const double *alpha, long count, long d, long steps,
                        double *const *out) {
#pragma clang fp contract(on)
    vd *S = alloc_vd(d * d), *M = alloc_vd(d * d), *T = alloc_vd(d * d), *U = alloc_vd(d * d);
    vd *b = alloc_vd(d), *w = alloc_vd(d), *al = alloc_vd(1);
    for (long p0 = 0; p0 < count; p0 += LANES) {
        const long lanes = count - p0 < LANES ? count - p0 : LANES;
        pack(s + p0 * d * d, lanes, d * d, S);
        pack(xty + p0 * d, lanes, d, b);
        pack(alpha + p0, lanes, 1, al);
        for (long i = 0; i < d * d; i++) M[i] = S[i] * al[0];
        product(M, b, d, d, 1, w);
        unpack(w, lanes, d, out[0] + p0 * d);
        for (long k = 1; k <= steps; k++) {
            product(M, S, d, d, d, T);
            product(T, M, d, d, d, U);
            for (long i = 0; i < d * d; i++) M[i] = 2 * M[i] - U[i];
            product(M, b, d, d, 1, w);
            unpack(w, lanes, d, out[k] + p0 * d);
        }
    }
    free(S); free(M); free(T); free(U); free(b); free(w); free(al);
}

ICL_CLONES
void icl_newton_trajectory(const double *s, const double *xty, const double *alpha, long count, long d, long steps,
                           double *const *out) {
    switch (d) {
    case 5: newton_body(s, xty, alpha, count, 5, steps, out); break;
    case 10: newton_body(s, xty, alpha, count, 10, steps, out); break;
    case 20: newton_body(s, xty, alpha, count, 20, steps, out); break;
    default: newton_body(s, xty, alpha, count, d, steps, out); break;
    }
}
