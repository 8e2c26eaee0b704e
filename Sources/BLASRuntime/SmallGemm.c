// Batched products of tiny matrices (in-context prompts: 11 × 11), where a BLAS call's fixed cost exceeds
// the arithmetic. Four products run side by side, one per SIMD lane: the operands of four batch entries are
// packed so that lane l holds entry t + l, and every multiply-add is full width with no remainder loops,
// whatever m, n, k are. Compiled for AVX-512, AVX2+FMA and baseline x86-64 and picked at load time
// (target_clones on the x86-64 ISA levels, chosen by CPU features, not CPU model), so one binary is fast on every CPU. Each output depends only on its own inputs, in a
// fixed summation order (p = 0, 1, …), so results do not depend on lanes, batch splitting or threads.
#include "BLASRuntime.h"
#include <stdlib.h>

#if defined(__x86_64__) && defined(__clang__)
#define ICL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ICL_CLONES
#endif

typedef double v4 __attribute__((vector_size(32)));

// `count` lanes of four doubles on a 64-byte (cache line) boundary, or NULL. C11's aligned_alloc requires the size
// to be a multiple of the alignment (glibc tolerates other sizes, AddressSanitizer does not), so round it up.
static v4 *icl_alloc_lanes(size_t count) {
    size_t bytes = sizeof(v4) * count;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

// op(A)[i, p] and op(B)[p, j] of a row-major [m, k] / [k, n] product, with optional transposes.
#define OPA(A, i, p) ((transpose_a) ? (A)[(p) * m + (i)] : (A)[(i) * k + (p)])
#define OPB(B, p, j) ((transpose_b) ? (B)[(j) * k + (p)] : (B)[(p) * n + (j)])

static void icl_gemm_one(const double *A, const double *B, double *C, long m, long n, long k,
                         int transpose_a, int transpose_b) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            double s = 0;
            for (long p = 0; p < k; p++) s += OPA(A, i, p) * OPB(B, p, j);
            C[i * n + j] = s;
        }
}

// out[q][l] = x_l[q] for q < count: four contiguous arrays interleaved into lanes, four elements at a
// time through a 4 × 4 transpose in registers.
static inline __attribute__((always_inline)) void pack4(const double *x0, const double *x1, const double *x2,
                                                         const double *x3, v4 *out, long count) {
    long q = 0;
    for (; q + 4 <= count; q += 4) {
        v4 r0, r1, r2, r3;
        __builtin_memcpy(&r0, x0 + q, sizeof(v4)); __builtin_memcpy(&r1, x1 + q, sizeof(v4));
        __builtin_memcpy(&r2, x2 + q, sizeof(v4)); __builtin_memcpy(&r3, x3 + q, sizeof(v4));
        const v4 lo01 = __builtin_shufflevector(r0, r1, 0, 4, 2, 6), hi01 = __builtin_shufflevector(r0, r1, 1, 5, 3, 7);
        const v4 lo23 = __builtin_shufflevector(r2, r3, 0, 4, 2, 6), hi23 = __builtin_shufflevector(r2, r3, 1, 5, 3, 7);
        out[q] = __builtin_shufflevector(lo01, lo23, 0, 1, 4, 5);
        out[q + 1] = __builtin_shufflevector(hi01, hi23, 0, 1, 4, 5);
        out[q + 2] = __builtin_shufflevector(lo01, lo23, 2, 3, 6, 7);
        out[q + 3] = __builtin_shufflevector(hi01, hi23, 2, 3, 6, 7);
    }
    for (; q < count; q++) out[q] = (v4){x0[q], x1[q], x2[q], x3[q]};
}

ICL_CLONES
void icl_small_gemm_batch(const double *a, const double *b, double *c,
                          long batch, long m, long n, long k, int transpose_a, int transpose_b, int shared_b) {
    const long sa = m * k, sb = shared_b ? 0 : k * n, sc = m * n;
    long t = 0;
    v4 *ap = NULL, *bp = NULL;
    if (batch >= 4 && k > 0) {
        ap = icl_alloc_lanes((size_t)(sa + k * n));
        bp = ap ? ap + sa : NULL;
    }
    int packed_b = 0;   // a shared B is packed once, the same value in every lane
    for (; ap && t + 4 <= batch; t += 4) {
        const double *a0 = a + t * sa, *a1 = a0 + sa, *a2 = a1 + sa, *a3 = a2 + sa;
        const double *b0 = b + t * sb, *b1 = b0 + sb, *b2 = b1 + sb, *b3 = b2 + sb;
        if (transpose_a) {
            for (long i = 0; i < m; i++)
                for (long p = 0; p < k; p++) {
                    const long o = p * m + i;
                    ap[i * k + p] = (v4){a0[o], a1[o], a2[o], a3[o]};
                }
        } else {
            pack4(a0, a1, a2, a3, ap, sa);             // op(A) is row-major [m, k]: a straight interleave
        }
        if (!packed_b) {
            if (transpose_b) {
                for (long p = 0; p < k; p++)
                    for (long j = 0; j < n; j++) {
                        const long o = j * k + p;
                        bp[p * n + j] = (v4){b0[o], b1[o], b2[o], b3[o]};
                    }
            } else {
                pack4(b0, b1, b2, b3, bp, sb == 0 ? k * n : sb);
            }
        }
        packed_b = shared_b;
        // Two rows of C at a time, four columns each: eight independent accumulators per step of p, so
        // the multiply-adds pipeline and each packed B value loaded serves two rows.
        long i = 0;
        for (; i + 2 <= m; i += 2) {
            const v4 *ai = ap + i * k, *ai2 = ai + k;
            long j = 0;
            for (; j + 4 <= n; j += 4) {
                v4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};
                for (long p = 0; p < k; p++) {
                    const v4 x = ai[p], x2 = ai2[p];
                    const v4 *bj = bp + p * n + j;
                    const v4 c0 = bj[0], c1 = bj[1], c2 = bj[2], c3 = bj[3];
                    s0 += x * c0; s1 += x * c1; s2 += x * c2; s3 += x * c3;
                    t0 += x2 * c0; t1 += x2 * c1; t2 += x2 * c2; t3 += x2 * c3;
                }
                for (int l = 0; l < 4; l++) {
                    double *ci = c + (t + l) * sc + i * n + j, *ci2 = ci + n;
                    ci[0] = s0[l]; ci[1] = s1[l]; ci[2] = s2[l]; ci[3] = s3[l];
                    ci2[0] = t0[l]; ci2[1] = t1[l]; ci2[2] = t2[l]; ci2[3] = t3[l];
                }
            }
            for (; j < n; j++) {
                v4 s = {0}, s2 = {0};
                for (long p = 0; p < k; p++) { const v4 bv = bp[p * n + j]; s += ai[p] * bv; s2 += ai2[p] * bv; }
                for (int l = 0; l < 4; l++) { c[(t + l) * sc + i * n + j] = s[l]; c[(t + l) * sc + (i + 1) * n + j] = s2[l]; }
            }
        }
        for (; i < m; i++) {
            const v4 *ai = ap + i * k;
            long j = 0;
            for (; j + 4 <= n; j += 4) {
                v4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
                for (long p = 0; p < k; p++) {
                    const v4 x = ai[p];
                    const v4 *bj = bp + p * n + j;
                    s0 += x * bj[0]; s1 += x * bj[1]; s2 += x * bj[2]; s3 += x * bj[3];
                }
                for (int l = 0; l < 4; l++) {
                    double *ci = c + (t + l) * sc + i * n + j;
                    ci[0] = s0[l]; ci[1] = s1[l]; ci[2] = s2[l]; ci[3] = s3[l];
                }
            }
            for (; j < n; j++) {
                v4 s = {0};
                for (long p = 0; p < k; p++) s += ai[p] * bp[p * n + j];
                for (int l = 0; l < 4; l++) c[(t + l) * sc + i * n + j] = s[l];
            }
        }
    }
    free(ap);
    for (; t < batch; t++) icl_gemm_one(a + t * sa, b + t * sb, c + t * sc, m, n, k, transpose_a, transpose_b);
}

// C[k, n] = Σ_r X[r, :]ᵀ Y[r, :] over rows [row_begin, row_end) of X [rows, k] and Y [rows, n] (the weight
// gradient of a weight shared by many tokens). Four rows are summed per lane, lanes are added at the end:
// the summation order depends only on the row range, never on threads.
ICL_CLONES
void icl_rows_outer_sum(const double *x, const double *y, double *c, long row_begin, long row_end, long k, long n) {
    v4 *acc = icl_alloc_lanes((size_t)(k * n + k + n));
    if (!acc) {
        for (long i = 0; i < k * n; i++) c[i] = 0;
        for (long r = row_begin; r < row_end; r++)
            for (long i = 0; i < k; i++)
                for (long j = 0; j < n; j++) c[i * n + j] += x[r * k + i] * y[r * n + j];
        return;
    }
    v4 *xp = acc + k * n, *yp = xp + k;
    for (long i = 0; i < k * n; i++) acc[i] = (v4){0, 0, 0, 0};
    long r = row_begin;
    for (; r + 4 <= row_end; r += 4) {
        for (long i = 0; i < k; i++)
            xp[i] = (v4){x[r * k + i], x[(r + 1) * k + i], x[(r + 2) * k + i], x[(r + 3) * k + i]};
        for (long j = 0; j < n; j++)
            yp[j] = (v4){y[r * n + j], y[(r + 1) * n + j], y[(r + 2) * n + j], y[(r + 3) * n + j]};
        for (long i = 0; i < k; i++) {
            const v4 xi = xp[i];
            v4 *ci = acc + i * n;
            for (long j = 0; j < n; j++) ci[j] += xi * yp[j];
        }
    }
    for (long i = 0; i < k * n; i++) c[i] = (acc[i][0] + acc[i][1]) + (acc[i][2] + acc[i][3]);
    for (; r < row_end; r++)
        for (long i = 0; i < k; i++)
            for (long j = 0; j < n; j++) c[i * n + j] += x[r * k + i] * y[r * n + j];
    free(acc);
}
