// One pre-LayerNorm GPT-2 block, forward and pullback, as two fused calls (Models.GPTBlock's kernel):
//
//   a = LN₁(x),  [Q K V] = a W_QKV + b_QKV,  O_h = softmax(Q_h K_hᵀ/√d_h + M) V_h,  h = x + O W_O + b_O,
//   u = LN₂(h),  f = u W₁ + b₁,  out = h + GELU(f) W₂ + b₂.
//
// The products are row-major dgemm calls over all B·T tokens at once; biases and residuals are added inside
// passes that touch the rows anyway (the lane packing, LayerNorm, GELU), never in a pass of their own.
// Attention runs 8 prompts per vector (the lane layout of Lanes.h: the mask is shared, so every lane takes
// the same branches), skipping masked pairs; softmax's exp runs in vector lanes (Exp.h). The forward keeps
// only what the pullback cannot cheaply recompute (x̂, 1/σ, Q K V, P, O, GELU(f) and GELU′(f)): LN(x) = x̂ ⊙ γ + β
// is rebuilt in the backward. Everything runs in a fixed order on the calling
// thread: the caller splits prompts over threads (Models/Transformer.swift).
#include "BLASRuntime.h"
#include "Exp.h"
#include "Lanes.h"
#include <cblas.h>
#include <math.h>

static const double LN_EPSILON = 1e-5;

// The parameter layout (see BLASRuntime.h).
typedef struct { long ln1g, ln1b, wqkv, bqkv, wo, bo, ln2g, ln2b, w1, b1, w2, b2, total; } param_offsets;

static param_offsets param_layout(long w) {
    param_offsets o;
    long at = 0;
    o.ln1g = at; at += w;         o.ln1b = at; at += w;
    o.wqkv = at; at += 3 * w * w; o.bqkv = at; at += 3 * w;
    o.wo = at;   at += w * w;     o.bo = at;   at += w;
    o.ln2g = at; at += w;         o.ln2b = at; at += w;
    o.w1 = at;   at += 4 * w * w; o.b1 = at;   at += 4 * w;
    o.w2 = at;   at += 4 * w * w; o.b2 = at;   at += w;
    o.total = at;
    return o;
}

// What the forward keeps for the pullback, for M = B·T tokens in G = ⌈B/8⌉ lane groups; every section starts
// on a 64-byte boundary (the buffer itself must be 64-byte aligned).
typedef struct { long qkv, probs, xhat1, rstd1, att, xhat2, rstd2, g, dgelu, total; } saved_offsets;

static long round8(long n) { return (n + 7) / 8 * 8; }

static saved_offsets saved_layout(long b, long t, long w, long heads) {
    const long m = b * t, g = (b + LANES - 1) / LANES;
    saved_offsets s;
    long at = 0;
    s.qkv = at;    at += g * t * 3 * w * LANES;          // Q K V, lane layout [G, T, 3W, 8]
    s.probs = at;  at += g * heads * t * t * LANES;      // P, lane layout [G, H, T, T, 8]
    s.xhat1 = at;  at += round8(m * w);
    s.rstd1 = at;  at += round8(m);
    s.att = at;    at += round8(m * w);
    s.xhat2 = at;  at += round8(m * w);
    s.rstd2 = at;  at += round8(m);
    s.g = at;      at += round8(4 * m * w);         // GELU(f)
    s.dgelu = at;  at += round8(4 * m * w);         // GELU′(f)
    s.total = at;
    return s;
}

long icl_gpt_block_parameter_count(long w) { return param_layout(w).total; }
long icl_gpt_block_saved_count(long b, long t, long w, long heads) { return saved_layout(b, t, w, heads).total; }

// Uninitialized, 64-byte aligned.
static double *checked_malloc(long count) {
    double *p = aligned_alloc(sizeof(vd), (size_t)round8(count > 0 ? count : 1) * sizeof(double));
    if (!p) abort();
    return p;
}

// Σ x[j] and Σ x[j] y[j] over a row, in 8 interleaved partial sums (so they vectorize) combined pairwise.
static inline __attribute__((always_inline)) double row_sum(const double *x, long n) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, tail = 0;
    long j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[j + k];
    for (; j < n; j++) tail += x[j];
    return (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) + tail;
}

static inline __attribute__((always_inline)) double row_dot(const double *x, const double *y, long n) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, tail = 0;
    long j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[j + k] * y[j + k];
    for (; j < n; j++) tail += x[j] * y[j];
    return (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) + tail;
}

// One row: x̂ = (x − μ)/σ (σ² the biased variance + ε, as PyTorch's LayerNorm), y = x̂ ⊙ gain + bias; returns 1/σ.
static inline __attribute__((always_inline)) double normalize_row(const double *x, long w, const double *gain,
                                                                  const double *bias, double *xhat, double *y) {
    const double mu = row_sum(x, w) / (double)w;
    for (long j = 0; j < w; j++) xhat[j] = x[j] - mu;
    const double s = 1.0 / sqrt(row_dot(xhat, xhat, w) / (double)w + LN_EPSILON);
    for (long j = 0; j < w; j++) {
        xhat[j] *= s;
        y[j] = xhat[j] * gain[j] + bias[j];
    }
    return s;
}

ICL_CLONES
static void layer_norm_forward(const double *x, long m, long w, const double *gain, const double *bias, double *xhat,
                               double *rstd, double *y) {
    for (long r = 0; r < m; r++) rstd[r] = normalize_row(x + r * w, w, gain, bias, xhat + r * w, y + r * w);
}

// From dy: dx += (1/σ)(ĝ − mean ĝ − x̂ mean(ĝ ⊙ x̂)) with ĝ = dy ⊙ gain; dgain = Σ_rows dy ⊙ x̂, dbias = Σ_rows dy.
ICL_CLONES
static void layer_norm_backward(const double *dy, const double *xhat, const double *rstd, long m, long w,
                                const double *gain, double *dx, double *dgain, double *dbias, double *scratch) {
    memset(dgain, 0, (size_t)w * sizeof(double));
    memset(dbias, 0, (size_t)w * sizeof(double));
    for (long r = 0; r < m; r++) {
        const double *gr = dy + r * w, *hr = xhat + r * w;
        for (long j = 0; j < w; j++) {
            dgain[j] += gr[j] * hr[j];
            dbias[j] += gr[j];
            scratch[j] = gr[j] * gain[j];
        }
        const double mg = row_sum(scratch, w) / (double)w, mgx = row_dot(scratch, hr, w) / (double)w, s = rstd[r];
        double *dr = dx + r * w;
        for (long j = 0; j < w; j++) dr[j] += s * (scratch[j] - mg - hr[j] * mgx);
    }
}

// h = (O W_O, in `out`) + x + b_O, then LN₂(h) → x̂₂, 1/σ₂, u, and `out` = h + b₂ (the second residual's start),
// one row at a time while it is in cache.
ICL_CLONES
static void residual_layer_norm(double *out, const double *x, const double *bo, const double *b2, long m, long w,
                                const double *gain, const double *bias, double *xhat, double *rstd, double *u) {
    for (long r = 0; r < m; r++) {
        double *hr = out + r * w;
        for (long j = 0; j < w; j++) hr[j] += x[r * w + j] + bo[j];
        rstd[r] = normalize_row(hr, w, gain, bias, xhat + r * w, u + r * w);
        for (long j = 0; j < w; j++) hr[j] += b2[j];
    }
}

// f + b₁ by rows → g = GELU(f) = ½ f (1 + tanh u), u = √(2/π)(f + 0.044715 f³) (as icl_gelu_forward), and the
// derivative GELU′(f) = ½ (1 + tanh u) + ½ f (1 − tanh² u) √(2/π)(1 + 3 · 0.044715 f²) for the pullback.
ICL_CLONES
static void bias_gelu_forward(const double *f, const double *b1, long m, long n, double *g, double *dgelu) {
    const double c = 0.7978845608028654;   // √(2/π)
    for (long r = 0; r < m; r++)
        for (long j = 0; j < n; j++) {
            const long i = r * n + j;
            const double fi = f[i] + b1[j];
            const double t = 1.0 - 2.0 / (icl_exp(2.0 * c * (fi + 0.044715 * fi * fi * fi)) + 1.0);
            g[i] = 0.5 * fi * (1.0 + t);
            dgelu[i] = 0.5 * (1.0 + t) + 0.5 * fi * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * fi * fi);
        }
}

ICL_CLONES
static void multiply(double *x, const double *y, long n) {
    for (long i = 0; i < n; i++) x[i] *= y[i];
}

ICL_CLONES
static void column_sums(const double *x, long m, long n, double *out) {
    memset(out, 0, (size_t)n * sizeof(double));
    for (long r = 0; r < m; r++)
        for (long j = 0; j < n; j++) out[j] += x[r * n + j];
}

// rows [m, w] = x̂ ⊙ gain + bias (LayerNorm's output rebuilt from what the forward kept).
ICL_CLONES
static void affine_rows(const double *xhat, long m, long w, const double *gain, const double *bias, double *out) {
    for (long r = 0; r < m; r++)
        for (long j = 0; j < w; j++) out[r * w + j] = xhat[r * w + j] * gain[j] + bias[j];
}

// Masked multi-head softmax attention on one lane group: Q, K, V from qkv [T, 3W] vectors; writes att [T, W]
// vectors and the probabilities [H, T, T] vectors (0 where masked). `s` is scratch for T vectors. A token that
// may attend nothing gets zeros.
ICL_CLONES
static void attention_forward_lanes(const vd *qkv, long t, long w, long heads, const double *mask, vd *probs, vd *att,
                                    vd *s) {
    const long dh = w / heads, ld = 3 * w;
    const double scale = 1.0 / sqrt((double)dh);
    memset(att, 0, (size_t)(t * w) * sizeof(vd));
    for (long hd = 0; hd < heads; hd++)
        for (long i = 0; i < t; i++) {
            vd *row = probs + (hd * t + i) * t;
            const double *mi = mask + i * t;
            const vd *qi = qkv + i * ld + hd * dh;
            vd mx = (vd){0} - INFINITY;
            long allowed = 0;
            for (long j = 0; j < t; j++) {
                row[j] = (vd){0};
                s[j] = (vd){0} - 708.0;   // masked: any finite value, zeroed after the exp
                if (mi[j] == -INFINITY) continue;
                const vd *kj = qkv + j * ld + w + hd * dh;
                vd acc = (vd){0};
                for (long d = 0; d < dh; d++) acc += qi[d] * kj[d];
                acc = acc * scale + mi[j];
                s[j] = acc;
                mx = __builtin_elementwise_max(mx, acc);
                allowed++;
            }
            if (allowed == 0) continue;   // attends nothing: probabilities and output stay 0
            for (long j = 0; j < t; j++) s[j] -= mx;
            double *flat = (double *)s;
            for (long k = 0; k < t * LANES; k++) flat[k] = icl_exp(flat[k]);
            vd sum = (vd){0};
            for (long j = 0; j < t; j++)
                if (mi[j] != -INFINITY) sum += s[j];
            const vd inv = 1.0 / sum;
            vd *oi = att + i * w + hd * dh;
            for (long j = 0; j < t; j++) {
                if (mi[j] == -INFINITY) continue;
                const vd pj = s[j] * inv, *vj = qkv + j * ld + 2 * w + hd * dh;
                row[j] = pj;
                for (long d = 0; d < dh; d++) oi[d] += pj * vj[d];
            }
        }
}

// S = Q Kᵀ/√d + M, P = softmax(S) by rows, O = P V, so dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)),
// dQ = dS K/√d, dK = dSᵀ Q/√d; one lane group, adding into dqkv [T, 3W] vectors. `dp` is scratch for T vectors.
ICL_CLONES
static void attention_backward_lanes(const vd *qkv, const vd *probs, const vd *datt, long t, long w, long heads,
                                     const double *mask, vd *dqkv, vd *dp) {
    const long dh = w / heads, ld = 3 * w;
    const double scale = 1.0 / sqrt((double)dh);
    for (long hd = 0; hd < heads; hd++)
        for (long i = 0; i < t; i++) {
            const vd *row = probs + (hd * t + i) * t, *gi = datt + i * w + hd * dh, *qi = qkv + i * ld + hd * dh;
            const double *mi = mask + i * t;
            vd *dqi = dqkv + i * ld + hd * dh;
            vd dot = (vd){0};
            for (long j = 0; j < t; j++) {
                if (mi[j] == -INFINITY) continue;
                const vd *vj = qkv + j * ld + 2 * w + hd * dh;
                vd acc = (vd){0};
                for (long d = 0; d < dh; d++) acc += gi[d] * vj[d];
                dp[j] = acc;
                dot += row[j] * acc;
            }
            for (long j = 0; j < t; j++) {
                if (mi[j] == -INFINITY) continue;
                const vd pij = row[j], sij = pij * (dp[j] - dot) * scale;
                const vd *kj = qkv + j * ld + w + hd * dh;
                vd *dkj = dqkv + j * ld + w + hd * dh, *dvj = dqkv + j * ld + 2 * w + hd * dh;
                for (long d = 0; d < dh; d++) {
                    dvj[d] += pij * gi[d];
                    dqi[d] += sij * kj[d];
                    dkj[d] += sij * qi[d];
                }
            }
        }
}

static void gemm(int ta, int tb, long m, long n, long k, const double *a, long lda, const double *b, long ldb, double beta,
                 double *c, long ldc) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0,
                a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

ICL_CLONES
void icl_gpt_block_forward(const double *x, long b, long t, long w, long heads, const double *mask,
                           const double *params, double *out, double *saved) {
    const param_offsets P = param_layout(w);
    const saved_offsets S = saved_layout(b, t, w, heads);
    const long m = b * t, groups = (b + LANES - 1) / LANES;
    const double *pr = params;
    double *sv = saved;
    double *a = checked_malloc(round8(m * w) + round8(3 * m * w) + t * w * LANES + t * LANES + round8(4 * m * w));
    double *qkv = a + round8(m * w), *attp = qkv + round8(3 * m * w), *s = attp + t * w * LANES, *f = s + t * LANES;
    // Attention: O = MHA(LN₁(x)); Q K V's bias is added in the lane layout, while a group is in cache.
    layer_norm_forward(x, m, w, pr + P.ln1g, pr + P.ln1b, sv + S.xhat1, sv + S.rstd1, a);
    gemm(0, 0, m, 3 * w, w, a, w, pr + P.wqkv, 3 * w, 0.0, qkv, 3 * w);
    for (long gr = 0; gr < groups; gr++) {
        const long p0 = gr * LANES, lanes = b - p0 < LANES ? b - p0 : LANES;
        vd *qkvp = (vd *)(sv + S.qkv) + gr * t * 3 * w;
        pack(qkv + p0 * t * 3 * w, lanes, t * 3 * w, qkvp);
        for (long i = 0; i < t; i++)
            for (long c = 0; c < 3 * w; c++) qkvp[i * 3 * w + c] += pr[P.bqkv + c];
        attention_forward_lanes(qkvp, t, w, heads, mask, (vd *)(sv + S.probs) + gr * heads * t * t, (vd *)attp, (vd *)s);
        unpack((const vd *)attp, lanes, t * w, sv + S.att + p0 * t * w);
    }
    // h = x + O W_O + b_O and u = LN₂(h) in one pass; `out` leaves it holding h + b₂.
    gemm(0, 0, m, w, w, sv + S.att, w, pr + P.wo, w, 0.0, out, w);
    residual_layer_norm(out, x, pr + P.bo, pr + P.b2, m, w, pr + P.ln2g, pr + P.ln2b, sv + S.xhat2, sv + S.rstd2, a);
    // MLP: out = h + b₂ + GELU(u W₁ + b₁) W₂.
    gemm(0, 0, m, 4 * w, w, a, w, pr + P.w1, 4 * w, 0.0, f, 4 * w);
    bias_gelu_forward(f, pr + P.b1, m, 4 * w, sv + S.g, sv + S.dgelu);
    gemm(0, 0, m, w, 4 * w, sv + S.g, 4 * w, pr + P.w2, w, 1.0, out, w);
    free(a);
}

void icl_gpt_block_backward(long b, long t, long w, long heads, const double *mask, const double *params,
                            const double *saved, const double *dout, double *dx, double *grads) {
    const param_offsets P = param_layout(w);
    const saved_offsets S = saved_layout(b, t, w, heads);
    const long m = b * t, groups = (b + LANES - 1) / LANES;
    const double *pr = params, *sv = saved;
    double *gr = grads;
    double *df = checked_malloc(round8(4 * m * w) + round8(m * w) + round8(3 * m * w) + t * w * LANES + t * 3 * w * LANES
                                + t * LANES + round8(w));
    double *dtmp = df + round8(4 * m * w), *dqkv = dtmp + round8(m * w), *dattp = dqkv + round8(3 * m * w);
    double *dqkvp = dattp + t * w * LANES, *dp = dqkvp + t * 3 * w * LANES, *scratch = dp + t * LANES;
    // MLP (dx holds dh from here on, starting with the residual's dout).
    memcpy(dx, dout, (size_t)(m * w) * sizeof(double));
    gemm(1, 0, 4 * w, w, m, sv + S.g, 4 * w, dout, w, 0.0, gr + P.w2, w);
    column_sums(dout, m, w, gr + P.b2);
    gemm(0, 1, m, 4 * w, w, dout, w, pr + P.w2, w, 0.0, df, 4 * w);
    multiply(df, sv + S.dgelu, m * 4 * w);
    affine_rows(sv + S.xhat2, m, w, pr + P.ln2g, pr + P.ln2b, dtmp);   // u = LN₂(h)
    gemm(1, 0, w, 4 * w, m, dtmp, w, df, 4 * w, 0.0, gr + P.w1, 4 * w);
    column_sums(df, m, 4 * w, gr + P.b1);
    gemm(0, 1, m, w, 4 * w, df, 4 * w, pr + P.w1, 4 * w, 0.0, dtmp, w);
    layer_norm_backward(dtmp, sv + S.xhat2, sv + S.rstd2, m, w, pr + P.ln2g, dx, gr + P.ln2g, gr + P.ln2b, scratch);
    // Attention.
    gemm(1, 0, w, w, m, sv + S.att, w, dx, w, 0.0, gr + P.wo, w);
    column_sums(dx, m, w, gr + P.bo);
    gemm(0, 1, m, w, w, dx, w, pr + P.wo, w, 0.0, dtmp, w);
    for (long g = 0; g < groups; g++) {
        const long p0 = g * LANES, lanes = b - p0 < LANES ? b - p0 : LANES;
        pack(dtmp + p0 * t * w, lanes, t * w, (vd *)dattp);
        memset(dqkvp, 0, (size_t)(t * 3 * w) * sizeof(vd));
        attention_backward_lanes((const vd *)(sv + S.qkv) + g * t * 3 * w, (const vd *)(sv + S.probs) + g * heads * t * t,
                                 (const vd *)dattp, t, w, heads, mask, (vd *)dqkvp, (vd *)dp);
        unpack((const vd *)dqkvp, lanes, t * 3 * w, dqkv + p0 * t * 3 * w);
    }
    affine_rows(sv + S.xhat1, m, w, pr + P.ln1g, pr + P.ln1b, dtmp);   // a = LN₁(x)
    gemm(1, 0, w, 3 * w, m, dtmp, w, dqkv, 3 * w, 0.0, gr + P.wqkv, 3 * w);
    column_sums(dqkv, m, 3 * w, gr + P.bqkv);
    gemm(0, 1, m, w, 3 * w, dqkv, 3 * w, pr + P.wqkv, 3 * w, 0.0, dtmp, w);
    layer_norm_backward(dtmp, sv + S.xhat1, sv + S.rstd1, m, w, pr + P.ln1g, dx, gr + P.ln1g, gr + P.ln1b, scratch);
    free(df);
}
