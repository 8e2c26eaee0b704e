// One linear-self-attention layer for one prompt in attention form, forward and backward, fused: every
// intermediate of an in-context prompt stays in L1. Row-token form, for rows r ≥ row_start:
//     out_r = z_r + (1/n) Σ_h Σ_{i<n} (z_i · z_r A_hᵀ) z_i B_hᵀ    (A = W_KQ, B = W_PV)
// the same values as the covariance form of LinearSelfAttentionPacked.c, cheaper when few rows are updated
// (the last layer reads out only the queries).
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
