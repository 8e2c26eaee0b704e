// One linear-self-attention layer for one prompt, forward and backward, fused: every intermediate of an
// in-context prompt (T ≈ 11 tokens of width E ≈ 11) stays in L1. Row-token form, for rows r ≥ row_start:
//     out_r = z_r + (1/n) Σ_h z_r A_hᵀ C B_hᵀ,   C = Σ_{i < n} z_i z_iᵀ   (A = W_KQ, B = W_PV)
// which is the column form z_j ← z_j + (1/n) Σ_h B_h C A_h z_j of von Oswald et al.
#include "BLASRuntime.h"
#include <stddef.h>

// Dot products over a token's E entries may be summed in vector lanes (reassociated): results are
// deterministic for a given CPU's code path, and differ from strict left-to-right order only by rounding.
#pragma clang fp reassociate(on)

#if defined(__x86_64__) && defined(__clang__)
#define ICL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ICL_CLONES
#endif

static void covariance(const double *z, long n, long e, double *c) {
    for (long a = 0; a < e * e; a++) c[a] = 0;
    for (long i = 0; i < n; i++) {
        const double *zi = z + i * e;
        for (long a = 0; a < e; a++) {
            const double za = zi[a];
            for (long b = 0; b < e; b++) c[a * e + b] += za * zi[b];
        }
    }
}

// Y = rows Aᵀ and W = Y C for R rows.
static void projections(const double *rows, long r_count, long e, const double *a, const double *c, double *y, double *w) {
    for (long r = 0; r < r_count; r++) {
        const double *zr = rows + r * e;
        double *yr = y + r * e, *wr = w + r * e;
        for (long b = 0; b < e; b++) {
            double s = 0;
            for (long k = 0; k < e; k++) s += zr[k] * a[b * e + k];
            yr[b] = s;
        }
        for (long b = 0; b < e; b++) wr[b] = 0;
        for (long k = 0; k < e; k++) {
            const double yk = yr[k];
            for (long b = 0; b < e; b++) wr[b] += yk * c[k * e + b];
        }
    }
}

ICL_CLONES
void icl_lsa_forward(const double *z, long t, long e, long n, long row_start, const double *wkq, const double *wpv,
                     long heads, double *out, double *scratch) {
    const long r_count = t - row_start;
    const double *rows = z + row_start * e;
    const double scale = 1.0 / (double)(n > 0 ? n : 1);
    double *c = scratch, *y = c + e * e, *w = y + r_count * e;
    covariance(z, n, e, c);
    for (long i = 0; i < r_count * e; i++) out[i] = rows[i];
    for (long h = 0; h < heads; h++) {
        const double *a = wkq + h * e * e, *bm = wpv + h * e * e;
        projections(rows, r_count, e, a, c, y, w);
        for (long r = 0; r < r_count; r++) {
            const double *wr = w + r * e;
            double *o = out + r * e;
            for (long b = 0; b < e; b++) {
                double s = 0;
                for (long k = 0; k < e; k++) s += wr[k] * bm[b * e + k];
                o[b] += scale * s;
            }
        }
    }
}

ICL_CLONES
void icl_lsa_backward(const double *z, long t, long e, long n, long row_start, const double *wkq, const double *wpv,
                      long heads, const double *g, double *dz, double *dwkq, double *dwpv, double *scratch) {
    const long r_count = t - row_start;
    const double *rows = z + row_start * e;
    const double scale = 1.0 / (double)(n > 0 ? n : 1);
    double *c = scratch, *dc = c + e * e, *y = dc + e * e, *w = y + r_count * e, *dw = w + r_count * e,
           *dy = dw + r_count * e;
    covariance(z, n, e, c);
    for (long a = 0; a < e * e; a++) dc[a] = 0;
    double *drows = dz ? dz + row_start * e : NULL;                          // dz = NULL: tokens are constants
    if (drows) for (long i = 0; i < r_count * e; i++) drows[i] += g[i];      // the residual path
    for (long h = 0; h < heads; h++) {
        const double *a = wkq + h * e * e, *bm = wpv + h * e * e;
        double *da = dwkq + h * e * e, *db = dwpv + h * e * e;
        projections(rows, r_count, e, a, c, y, w);
        for (long r = 0; r < r_count; r++) {
            const double *gr = g + r * e, *wr = w + r * e, *yr = y + r * e, *zr = rows + r * e;
            double *dwr = dw + r * e, *dyr = dy + r * e;
            // U = W Bᵀ with dU = g/n:  dB += dUᵀ W,  dW = dU B.
            for (long k = 0; k < e; k++) dwr[k] = 0;
            for (long b = 0; b < e; b++) {
                const double du = scale * gr[b];
                for (long k = 0; k < e; k++) { db[b * e + k] += du * wr[k]; dwr[k] += du * bm[b * e + k]; }
            }
            // W = Y C:  dY = dW Cᵀ = dW C (C symmetric),  dC += Yᵀ dW.
            for (long k = 0; k < e; k++) {
                double s = 0;
                for (long b = 0; b < e; b++) s += dwr[b] * c[k * e + b];
                dyr[k] = s;
                if (!drows) continue;
                const double yk = yr[k];
                for (long b = 0; b < e; b++) dc[k * e + b] += yk * dwr[b];
            }
            // Y = rows Aᵀ:  dA += dYᵀ rows,  drows += dY A.
            for (long b = 0; b < e; b++) {
                const double d = dyr[b];
                for (long k = 0; k < e; k++) da[b * e + k] += d * zr[k];
                if (drows) for (long k = 0; k < e; k++) drows[r * e + k] += d * a[b * e + k];
            }
        }
    }
    // C = Σ_{i<n} z_i z_iᵀ:  dz_i += (dC + dCᵀ) z_i.
    for (long i = 0; i < n && dz; i++) {
        const double *zi = z + i * e;
        double *dzi = dz + i * e;
        for (long k = 0; k < e; k++) {
            double s = 0;
            for (long b = 0; b < e; b++) s += (dc[k * e + b] + dc[b * e + k]) * zi[b];
            dzi[k] += s;
        }
    }
}

// One row's attention against the context: y = z_r Aᵀ, s_i = z_i · y (i < n), u = Σ_i s_i z_i.
static inline __attribute__((always_inline)) void attend(const double *z, const double *zr, long n, long e,
                                                         const double *a, double *y, double *s, double *u) {
    for (long b = 0; b < e; b++) {
        double acc = 0;
        for (long k = 0; k < e; k++) acc += zr[k] * a[b * e + k];
        y[b] = acc;
    }
    for (long k = 0; k < e; k++) u[k] = 0;
    for (long i = 0; i < n; i++) {
        const double *zi = z + i * e;
        double acc = 0;
        for (long k = 0; k < e; k++) acc += zi[k] * y[k];
        s[i] = acc;
        for (long k = 0; k < e; k++) u[k] += acc * zi[k];
    }
}

// The same layer in attention form, cheaper when few rows are updated (the last layer reads out only the
// queries): per row r and head h, y = z_r A_hᵀ, s_i = z_i · y (i < n), u = Σ_i s_i z_i, out_r += (1/n) u B_hᵀ.
ICL_CLONES
void icl_lsa_forward_attention(const double *z, long t, long e, long n, long row_start, const double *wkq,
                               const double *wpv, long heads, double *out, double *scratch) {
    const long r_count = t - row_start;
    const double scale = 1.0 / (double)(n > 0 ? n : 1);
    double *y = scratch, *s = y + e, *u = s + (n > 0 ? n : 1);
    for (long r = 0; r < r_count; r++) {
        const double *zr = z + (row_start + r) * e;
        double *o = out + r * e;
        for (long k = 0; k < e; k++) o[k] = zr[k];
        for (long h = 0; h < heads; h++) {
            const double *a = wkq + h * e * e, *bm = wpv + h * e * e;
            attend(z, zr, n, e, a, y, s, u);
            for (long b = 0; b < e; b++) {
                double acc = 0;
                for (long k = 0; k < e; k++) acc += u[k] * bm[b * e + k];
                o[b] += scale * acc;
            }
        }
    }
}

ICL_CLONES
void icl_lsa_backward_attention(const double *z, long t, long e, long n, long row_start, const double *wkq,
                                const double *wpv, long heads, const double *g, double *dz, double *dwkq, double *dwpv,
                                double *scratch) {
    const long r_count = t - row_start;
    const double scale = 1.0 / (double)(n > 0 ? n : 1);
    const long nn = n > 0 ? n : 1;
    double *y = scratch, *s = y + e, *u = s + nn, *du = u + e, *ds = du + e, *dy = ds + nn;
    for (long r = 0; r < r_count; r++) {
        const double *zr = z + (row_start + r) * e, *gr = g + r * e;
        double *dzr = dz ? dz + (row_start + r) * e : NULL;                  // dz = NULL: tokens are constants
        if (dzr) for (long k = 0; k < e; k++) dzr[k] += gr[k];               // the residual path
        for (long h = 0; h < heads; h++) {
            const double *a = wkq + h * e * e, *bm = wpv + h * e * e;
            double *da = dwkq + h * e * e, *db = dwpv + h * e * e;
            attend(z, zr, n, e, a, y, s, u);                                // recompute y, s, u
            // out += (1/n) u Bᵀ:  du = (1/n) g B,  dB += (1/n) gᵀ u.
            for (long k = 0; k < e; k++) du[k] = 0;
            for (long b = 0; b < e; b++) {
                const double gb = scale * gr[b];
                for (long k = 0; k < e; k++) { du[k] += gb * bm[b * e + k]; db[b * e + k] += gb * u[k]; }
            }
            // u = Σ_i s_i z_i and s_i = z_i · y:  ds_i = du · z_i;  dz_i += s_i du + ds_i y;  dy = Σ_i ds_i z_i.
            for (long k = 0; k < e; k++) dy[k] = 0;
            for (long i = 0; i < n; i++) {
                const double *zi = z + i * e;
                double acc = 0;
                for (long k = 0; k < e; k++) acc += du[k] * zi[k];
                ds[i] = acc;
                for (long k = 0; k < e; k++) dy[k] += acc * zi[k];
                if (dz) {
                    double *dzi = dz + i * e;
                    for (long k = 0; k < e; k++) dzi[k] += s[i] * du[k] + acc * y[k];
                }
            }
            // y = z_r Aᵀ:  dA += dyᵀ z_r,  dz_r += dy A.
            for (long b = 0; b < e; b++) {
                const double d = dy[b];
                for (long k = 0; k < e; k++) da[b * e + k] += d * zr[k];
                if (dzr) for (long k = 0; k < e; k++) dzr[k] += d * a[b * e + k];
            }
        }
    }
}
