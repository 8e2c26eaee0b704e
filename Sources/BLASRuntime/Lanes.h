// Lane packing shared by the kernels that run 8 prompts per vector (LinearSelfAttentionPacked.c,
// ClassicalLanes.c): entry j of 8 prompts' rows [m] is one vector X[j], lane l = prompt l of the group.
#ifndef ICL_LANES_H
#define ICL_LANES_H
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define ICL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ICL_CLONES
#endif
#define INLINE static inline __attribute__((always_inline))

enum { LANES = 8 };
typedef double vd __attribute__((vector_size(LANES * sizeof(double))));

static vd *alloc_vd(long count) {
    vd *p = aligned_alloc(sizeof(vd), (size_t)(count > 0 ? count : 1) * sizeof(vd));
    if (!p) abort();
    memset(p, 0, (size_t)(count > 0 ? count : 1) * sizeof(vd));
    return p;
}

// Lane packing is an 8 × 8 transpose: block j of 8 prompts' rows [m] becomes 8 vectors X[j..j+8].
typedef double vdu __attribute__((vector_size(LANES * sizeof(double)), aligned(sizeof(double))));   // unaligned

INLINE void transpose8(vd r[8]) {
    vd t0 = __builtin_shufflevector(r[0], r[1], 0, 8, 2, 10, 4, 12, 6, 14), t1 = __builtin_shufflevector(r[0], r[1], 1, 9, 3, 11, 5, 13, 7, 15);
    vd t2 = __builtin_shufflevector(r[2], r[3], 0, 8, 2, 10, 4, 12, 6, 14), t3 = __builtin_shufflevector(r[2], r[3], 1, 9, 3, 11, 5, 13, 7, 15);
    vd t4 = __builtin_shufflevector(r[4], r[5], 0, 8, 2, 10, 4, 12, 6, 14), t5 = __builtin_shufflevector(r[4], r[5], 1, 9, 3, 11, 5, 13, 7, 15);
    vd t6 = __builtin_shufflevector(r[6], r[7], 0, 8, 2, 10, 4, 12, 6, 14), t7 = __builtin_shufflevector(r[6], r[7], 1, 9, 3, 11, 5, 13, 7, 15);
    vd u0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13), u2 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
    vd u1 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13), u3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
    vd u4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13), u6 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
    vd u5 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13), u7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
    r[0] = __builtin_shufflevector(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11); r[4] = __builtin_shufflevector(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15);
    r[1] = __builtin_shufflevector(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11); r[5] = __builtin_shufflevector(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15);
    r[2] = __builtin_shufflevector(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11); r[6] = __builtin_shufflevector(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15);
    r[3] = __builtin_shufflevector(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11); r[7] = __builtin_shufflevector(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15);
}

// Prompts p0..<p0+lanes of x [*, m] into X [m] vectors (missing lanes zero).
INLINE void pack(const double *restrict x, long lanes, long m, vd *restrict X) {
    long j = 0;
    for (; j + LANES <= m; j += LANES) {
        vd r[8];
        if (lanes == LANES)
            for (long l = 0; l < LANES; l++) r[l] = *(const vdu *)(x + l * m + j);
        else
            for (long l = 0; l < LANES; l++) r[l] = l < lanes ? (vd)*(const vdu *)(x + l * m + j) : (vd){0};
        transpose8(r);
        for (long q = 0; q < LANES; q++) X[j + q] = r[q];
    }
    for (; j < m; j++) {
        vd v = {0};
        for (long l = 0; l < lanes; l++) v[l] = x[l * m + j];
        X[j] = v;
    }
}

// X [m] vectors back into the first `lanes` prompts of x [*, m].
INLINE void unpack(const vd *restrict X, long lanes, long m, double *restrict x) {
    long j = 0;
    for (; j + LANES <= m; j += LANES) {
        vd r[8];
        for (long q = 0; q < LANES; q++) r[q] = X[j + q];
        transpose8(r);
        if (lanes == LANES)
            for (long l = 0; l < LANES; l++) *(vdu *)(x + l * m + j) = r[l];
        else
            for (long l = 0; l < lanes; l++) *(vdu *)(x + l * m + j) = r[l];
    }
    for (; j < m; j++)
        for (long l = 0; l < lanes; l++) x[l * m + j] = X[j][l];
}

#endif
