// One linear-self-attention layer over a batch of prompts, lane-packed: prompts travel in groups of
// LANES, entry (token j, feature k) of the group's 8 prompts is one vector, and every per-prompt product
// becomes a vector FMA with the shared weights broadcast. Nothing reduces across lanes but the weight
// gradients, once per call, so e = 11 (an awkward width for vector dot products) runs at full vector width.
// Row-token form (von Oswald et al., column form z_j ← z_j + (1/n) Σ_h B_h C A_h z_j), rows r ≥ row_start:
//     out_r = z_r + (1/n) Σ_h u_r,   y_r = z_r A_hᵀ,  w_r = y_r C,  u_r = w_r B_hᵀ,   C = Σ_{i<n} z_i z_iᵀ
// (A = W_KQ, B = W_PV). Each lane's arithmetic is in a fixed order, so a prompt's result does not depend
// on which group or lane it lands in, nor on the thread count.
// Tokens come either as [count, t, e] (packed into groups on the fly: an 8 × 8 transpose per block) or
// already in the lane layout [count / 8, t, e, 8] that stacks and loops keep between layers (copied in and
// out contiguously). Group g starts at offset 8 g t e in both.
#include "BLASRuntime.h"
#include "Lanes.h"

// C = Σ_{i<n} z_i z_iᵀ (upper triangle computed, mirrored), i in blocks of 4 so that each row of C is loaded
// and stored once per block.
INLINE void covariance(const vd *restrict Z, long n, long e, vd *restrict C) {
    for (long a = 0; a < e * e; a++) C[a] = (vd){0};
    for (long i0 = 0; i0 < n; i0 += 4) {
        const long ib = n - i0 < 4 ? n - i0 : 4;
        for (long a = 0; a < e; a++) {
            vd *row = C + a * e;
            for (long i = i0; i < i0 + ib; i++) {
                const vd *zi = Z + i * e;
                const vd za = zi[a];
                for (long b = a; b < e; b++) row[b] += za * zi[b];
            }
        }
    }
    for (long a = 0; a < e; a++)
        for (long b = 0; b < a; b++) C[a * e + b] = C[b * e + a];
}

// x [e] times a scalar matrix M [e, e] given transposed (mt[k * e + b] = M[b, k]): y_b = Σ_k x_k M[b, k].
// (With m instead of mt, the same loop gives y_b = Σ_k x_k M[k, b].)
INLINE void times_mt(const vd *restrict x, const double *restrict mt, long e, vd *restrict y) {
    for (long b = 0; b < e; b++) y[b] = (vd){0};
    for (long k = 0; k < e; k++) {
        const vd xk = x[k];
        const double *row = mt + k * e;
        for (long b = 0; b < e; b++) y[b] += xk * row[b];
    }
}

// x [e] times a per-prompt symmetric matrix C [e, e]: y_b = Σ_k x_k C[k, b].
INLINE void times_c(const vd *restrict x, const vd *restrict C, long e, vd *restrict y) {
    for (long b = 0; b < e; b++) y[b] = (vd){0};
    for (long k = 0; k < e; k++) {
        const vd xk = x[k];
        const vd *row = C + k * e;
        for (long b = 0; b < e; b++) y[b] += xk * row[b];
    }
}

// M[b, k] += Σ_rr u[rr, b] v[rr, k] over a block of rb rows (rb ≤ ROWS): row b of M is loaded once per block.
enum { ROWS = 4 };
INLINE void outer_add_rows(const vd *restrict u, const vd *restrict v, long rb, long e, vd *restrict m) {
    for (long b = 0; b < e; b++) {
        vd *row = m + b * e;
        for (long rr = 0; rr < rb; rr++) {
            const vd ub = u[rr * e + b];
            const vd *vr = v + rr * e;
            for (long k = 0; k < e; k++) row[k] += ub * vr[k];
        }
    }
}

static double *transposed(const double *m, long heads, long e) {
    double *t = malloc((size_t)(heads * e * e > 0 ? heads * e * e : 1) * sizeof(double));
    if (!t) abort();
    for (long h = 0; h < heads; h++)
        for (long b = 0; b < e; b++)
            for (long k = 0; k < e; k++) t[h * e * e + k * e + b] = m[h * e * e + b * e + k];
    return t;
}

// One group's rows of m entries in: transposed from [count, m], or copied from the lane layout.
INLINE void load_group(const double *x, long lanes, long m, int lane_layout, vd *restrict X) {
    if (lane_layout) memcpy(X, x, (size_t)m * sizeof(vd));
    else pack(x, lanes, m, X);
}
INLINE void store_group(const vd *restrict X, long lanes, long m, int lane_layout, double *x) {
    if (lane_layout) memcpy(x, X, (size_t)m * sizeof(vd));
    else unpack(X, lanes, m, x);
}

INLINE void forward_body(const double *z, long count, long t, long e, long n, long row_start, const double *wkq,
                         const double *wpv, long heads, double *out, int lane_layout) {
    const long r_count = t - row_start;
    const double scale = 1.0 / (double)(n > 0 ? n : 1);
    double *at = transposed(wkq, heads, e), *bt = transposed(wpv, heads, e);
    vd *Z = alloc_vd(t * e), *O = alloc_vd(r_count * e), *C = alloc_vd(e * e), *y = alloc_vd(3 * e);
    vd *w = y + e, *u = w + e;
    for (long p0 = 0; p0 < count; p0 += LANES) {
        const long lanes = count - p0 < LANES ? count - p0 : LANES;
        load_group(z + p0 * t * e, lanes, t * e, lane_layout, Z);
        covariance(Z, n, e, C);
        for (long r = 0; r < r_count; r++) {
            const vd *zr = Z + (row_start + r) * e;
            vd *o = O + r * e;
            for (long b = 0; b < e; b++) o[b] = zr[b];
            for (long h = 0; h < heads; h++) {
                times_mt(zr, at + h * e * e, e, y);
                times_c(y, C, e, w);
                times_mt(w, bt + h * e * e, e, u);
                for (long b = 0; b < e; b++) o[b] += scale * u[b];
            }
        }
        store_group(O, lanes, r_count * e, lane_layout, out + p0 * r_count * e);
    }
    free(Z); free(O); free(C); free(y); free(at); free(bt);
}

INLINE void backward_body(const double *z, long count, long t, long e, long n, long row_start, const double *wkq,
                          const double *wpv, long heads, const double *g, double *dz, double *dwkq, double *dwpv,
                          int lane_layout) {
    const long r_count = t - row_start, ee = e * e;
    const double scale = 1.0 / (double)(n > 0 ? n : 1);
    double *at = transposed(wkq, heads, e), *bt = transposed(wpv, heads, e);
    vd *Z = alloc_vd(t * e), *G = alloc_vd(r_count * e), *dZ = alloc_vd(t * e), *C = alloc_vd(ee), *dC = alloc_vd(ee);
    vd *dA = alloc_vd(heads * ee), *dB = alloc_vd(heads * ee), *tmp = alloc_vd(5 * ROWS * e + e);
    vd *y = tmp, *w = y + ROWS * e, *du = w + ROWS * e, *dw = du + ROWS * e, *dy = dw + ROWS * e, *dza = dy + ROWS * e;
    for (long p0 = 0; p0 < count; p0 += LANES) {
        const long lanes = count - p0 < LANES ? count - p0 : LANES;
        load_group(z + p0 * t * e, lanes, t * e, lane_layout, Z);
        load_group(g + p0 * r_count * e, lanes, r_count * e, lane_layout, G);
        covariance(Z, n, e, C);
        if (dz) {
            for (long a = 0; a < ee; a++) dC[a] = (vd){0};
            for (long a = 0; a < t * e; a++) dZ[a] = (vd){0};
            for (long a = 0; a < r_count * e; a++) dZ[row_start * e + a] = G[a];      // the residual path
        }
        // Rows in blocks of ROWS: the per-row vectors first, then each weight-gradient outer product summed
        // over the block while its rows of dA, dB, dC stay in registers.
        for (long r0 = 0; r0 < r_count; r0 += ROWS) {
            const long rb = r_count - r0 < ROWS ? r_count - r0 : ROWS;
            const vd *zr0 = Z + (row_start + r0) * e;                         // the block's rows, contiguous
            for (long a = 0; a < rb * e; a++) du[a] = scale * G[r0 * e + a];
            for (long h = 0; h < heads; h++) {
                const double *a = wkq + h * ee, *bm = wpv + h * ee;
                for (long rr = 0; rr < rb; rr++) {
                    const long o = rr * e;
                    times_mt(zr0 + o, at + h * ee, e, y + o);                   // recompute y = z_r Aᵀ, w = y C
                    times_c(y + o, C, e, w + o);
                    times_mt(du + o, bm, e, dw + o);                            // u = w Bᵀ:  dw = du B
                    times_c(dw + o, C, e, dy + o);                              // w = y C:  dy = dw C (C symmetric)
                    if (dz) {                                                   // y = z_r Aᵀ:  dz_r += dy A
                        vd *dzr = dZ + (row_start + r0 + rr) * e;
                        times_mt(dy + o, a, e, dza);
                        for (long k = 0; k < e; k++) dzr[k] += dza[k];
                    }
                }
                outer_add_rows(du, w, rb, e, dB + h * ee);                      // dB += duᵀ w
                if (dz) outer_add_rows(y, dw, rb, e, dC);                      // dC += yᵀ dw
                outer_add_rows(dy, zr0, rb, e, dA + h * ee);                    // dA += dyᵀ z_r
            }
        }
        if (dz) {
            // C = Σ_{i<n} z_i z_iᵀ:  dz_i += S z_i with S = dC + dCᵀ (symmetric).
            for (long k = 0; k < e; k++)
                for (long b = k; b < e; b++) { const vd s = dC[k * e + b] + dC[b * e + k]; dC[k * e + b] = s; dC[b * e + k] = s; }
            for (long i = 0; i < n; i++) {
                vd *dzi = dZ + i * e, *s_zi = dza;
                times_c(Z + i * e, dC, e, s_zi);
                for (long k = 0; k < e; k++) dzi[k] += s_zi[k];
            }
            store_group(dZ, lanes, t * e, lane_layout, dz + p0 * t * e);
        }
    }
    // The weight gradients: lanes summed in order 0..7 (prompt order within each group's accumulator).
    for (long a = 0; a < heads * ee; a++) {
        double sa = 0, sb = 0;
        for (int l = 0; l < LANES; l++) { sa += dA[a][l]; sb += dB[a][l]; }
        dwkq[a] += sa;
        dwpv[a] += sb;
    }
    free(Z); free(G); free(dZ); free(C); free(dC); free(dA); free(dB); free(tmp); free(at); free(bt);
}

// Specialized copies for the common token widths (d = 5, 10, 20: e = 6, 11, 21) and both layouts, where the
// compiler keeps a row's e vectors in registers and unrolls the inner loops; any other width runs the general
// body.
#define ICL_BY_WIDTH(body, ...)                                                                              \
    do {                                                                                                     \
        if (lane_layout) switch (e) {                                                                        \
            case 6: body(z, count, t, 6, __VA_ARGS__, 1); break;                                             \
            case 11: body(z, count, t, 11, __VA_ARGS__, 1); break;                                           \
            case 21: body(z, count, t, 21, __VA_ARGS__, 1); break;                                           \
            default: body(z, count, t, e, __VA_ARGS__, 1); break;                                            \
            }                                                                                                \
        else switch (e) {                                                                                    \
            case 6: body(z, count, t, 6, __VA_ARGS__, 0); break;                                             \
            case 11: body(z, count, t, 11, __VA_ARGS__, 0); break;                                           \
            case 21: body(z, count, t, 21, __VA_ARGS__, 0); break;                                           \
            default: body(z, count, t, e, __VA_ARGS__, 0); break;                                            \
            }                                                                                                \
    } while (0)

ICL_CLONES
void icl_lsa_forward_batch(const double *z, long count, long t, long e, long n, long row_start, const double *wkq,
                           const double *wpv, long heads, double *out, int lane_layout) {
    ICL_BY_WIDTH(forward_body, n, row_start, wkq, wpv, heads, out);
}

ICL_CLONES
void icl_lsa_backward_batch(const double *z, long count, long t, long e, long n, long row_start, const double *wkq,
                            const double *wpv, long heads, const double *g, double *dz, double *dwkq, double *dwpv,
                            int lane_layout) {
    ICL_BY_WIDTH(backward_body, n, row_start, wkq, wpv, heads, g, dz, dwkq, dwpv);
}

ICL_CLONES
void icl_lanes_pack(const double *x, long count, long m, double *xp) {
    vd *X = alloc_vd(m);
    for (long p0 = 0; p0 < count; p0 += LANES) {
        pack(x + p0 * m, count - p0 < LANES ? count - p0 : LANES, m, X);
        memcpy(xp + p0 * m, X, (size_t)m * sizeof(vd));
    }
    free(X);
}

ICL_CLONES
void icl_lanes_unpack(const double *xp, long count, long m, double *x) {
    vd *X = alloc_vd(m);
    for (long p0 = 0; p0 < count; p0 += LANES) {
        memcpy(X, xp + p0 * m, (size_t)m * sizeof(vd));
        unpack(X, count - p0 < LANES ? count - p0 : LANES, m, x + p0 * m);
    }
    free(X);
}
