// e^x in vector lanes (Cody–Waite range reduction, Taylor series to degree 13, the exponent set by bits),
// within 2 ulp of libm's; shared by the GELU and softmax kernels so that loops calling it vectorize.
#ifndef ICL_EXP_H
#define ICL_EXP_H

// e^x for x clamped to [−708, 708] (beyond it GELU's tanh is ±1 to the last bit, and a softmax weight
// e^{s − max} below e^{−708} is 0 after normalization either way).
static inline __attribute__((always_inline)) double icl_exp(double x) {
    x = x < -708.0 ? -708.0 : x > 708.0 ? 708.0 : x;
    const double k = __builtin_rint(x * 1.4426950408889634);
    double r = x - k * 6.93147180369123816490e-01;          // ln 2, high part: k · ln2_hi is exact
    r = r - k * 1.90821492927058770002e-10;                 // ln 2, low part
    double p = 1.0 / 6227020800.0;                          // 1/13!
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    union { double d; long long i; } scale = { .i = ((long long)k + 1023) << 52 };
    return p * scale.d;
}
#endif
