#ifndef ICL_BLAS_RUNTIME_H
#define ICL_BLAS_RUNTIME_H

/// CPU features that matter for OpenBLAS kernel choice (bit mask).
enum {
    ICL_CPU_AVX2_FMA = 1,   ///< AVX2 and FMA3, with the OS saving YMM state
    ICL_CPU_AVX512 = 2,     ///< AVX-512 F/CD/DQ/BW/VL, with the OS saving ZMM state
};

/// The features of the CPU this process runs on (cpuid + xgetbv); 0 on non-x86 machines.
int icl_cpu_features(void);

/// The OpenBLAS core type the workbench would select, or NULL to leave OpenBLAS's choice alone.
///
/// Pure decision, exposed for tests: a suggestion is made only when the user (or machine) has not set
/// OPENBLAS_CORETYPE (`env_coretype == NULL`), OpenBLAS fell back to a generic pre-AVX2 kernel
/// (`corename` such as "Prescott"), and the CPU verifiably supports the better kernel's instructions.
const char *icl_blas_suggested_coretype(const char *corename, int cpu_features, const char *env_coretype);

/// The core type the workbench selected at start-up by re-executing the process, or NULL when it did not.
const char *icl_blas_selected_coretype(void);



/// `batch` independent row-major products C_t = op(A_t) op(B_t), each C_t of shape [m, n], for matrices
/// small enough that a BLAS call's overhead dominates; with `shared_b`, every product uses the one B.
/// Dispatches on the CPU's instruction set at load time.
void icl_small_gemm_batch(const double *a, const double *b, double *c,
                          long batch, long m, long n, long k, int transpose_a, int transpose_b, int shared_b);

/// C[k, n] = Σ_{r in [row_begin, row_end)} X[r, :]ᵀ Y[r, :] for row-major X [rows, k], Y [rows, n].
void icl_rows_outer_sum(const double *x, const double *y, double *c, long row_begin, long row_end, long k, long n);
/// One linear-self-attention layer on `count` prompts' tokens, updating rows row_start..<t from the first n
/// (context) tokens: out_r = z_r + (1/n) Σ_h z_r A_hᵀ C B_hᵀ, C = Σ_{i<n} z_i z_iᵀ, with A = W_KQ and B = W_PV
/// given as [heads, e, e]. Prompts run lane-packed in groups of 8; a prompt's result does not depend on its
/// group. Layout 0: z [count, t, e], out [count, t − row_start, e]. Layout 1 (the lane layout):
/// z [count / 8, t, e, 8] and out [count / 8, t − row_start, e, 8], prompt p at group p / 8, lane p % 8
/// (count a multiple of 8).
void icl_lsa_forward_batch(const double *z, long count, long t, long e, long n, long row_start, const double *wkq,
                           const double *wpv, long heads, double *out, int lane_layout);

/// The pullback of icl_lsa_forward_batch for incoming gradient g (shaped as out): writes dz (shaped as z;
/// skipped when dz is NULL) and adds into dwkq and dwpv [heads, e, e] the batch's sum, in a fixed order.
void icl_lsa_backward_batch(const double *z, long count, long t, long e, long n, long row_start, const double *wkq,
                            const double *wpv, long heads, const double *g, double *dz, double *dwkq, double *dwpv,
                            int lane_layout);

/// x [count, m] into the lane layout xp [⌈count / 8⌉, m, 8] (missing lanes zero), and back.
void icl_lanes_pack(const double *x, long count, long m, double *xp);
void icl_lanes_unpack(const double *xp, long count, long m, double *x);

/// One prompt's layer in attention form (scores against the context, then a weighted sum): the same values as
/// the packed form, cheaper when few rows are updated. Scratch: 3e + n doubles forward, 5e + 2n backward.
void icl_lsa_forward_attention(const double *z, long t, long e, long n, long row_start, const double *wkq,
                               const double *wpv, long heads, double *out, double *scratch);
void icl_lsa_backward_attention(const double *z, long t, long e, long n, long row_start, const double *wkq,
                                const double *wpv, long heads, const double *g, double *dz, double *dwkq, double *dwpv,
                                double *scratch);

/// Gradient descent on `count` prompts' least-squares losses, every iterate: from S [count, d, d] (symmetric),
/// Xᵀy [count, d], per-prompt step sizes eta [count], w_{k+1} = w_k − η P (scale · (S w_k − Xᵀy)) with an
/// optional preconditioner pre [d, d] (NULL: none) from w0 [d]; iterate k of prompt p goes to out[k] + p d.
/// The same bits as the scalar loop, one prompt at a time (8 run per vector).
void icl_gd_trajectory(const double *s, const double *xty, const double *eta, double scale, const double *pre,
                       const double *w0, long count, long d, long steps, double *const *out);

/// Iterative Newton on `count` prompts, every iterate: M₀ = α_p S_p, M_{k+1} = 2 M_k − M_k S_p M_k, and
/// w_k = M_k Xᵀy to out[k] + p d for k = 0…steps. The same bits as the batched small-matrix products.
void icl_newton_trajectory(const double *s, const double *xty, const double *alpha, long count, long d, long steps,
                           double *const *out);

/// GELU with the tanh approximation, ½ x (1 + tanh u), u = √(2/π)(x + 0.044715 x³), over n values; tanh u is kept
/// for the backward. icl_gelu_backward: dx = g · dGELU/dx from x and tanh u.
void icl_gelu_forward(const double *x, long n, double *out, double *tanh_u);
void icl_gelu_backward(const double *x, const double *tanh_u, const double *g, long n, double *dx);

/// One pre-LayerNorm GPT-2 block on `b` prompts of `t` tokens of width `w` (GPTBlock.c):
/// `a = LN₁(x)`, `[Q K V] = a W_QKV + b_QKV`, `O = MHA(Q, K, V; mask)`, `h = x + O W_O + b_O`,
/// `out = h + GELU(LN₂(h) W₁ + b₁) W₂ + b₂`, with `mask [t, t]` additive (0 or −∞).
/// `params` holds, in this order: ln₁ gain [w], ln₁ bias [w], W_QKV [w, 3w] (the columns of W_Q, W_K, W_V side by
/// side), b_QKV [3w], W_O [w, w], b_O [w], ln₂ gain [w], ln₂ bias [w], W₁ [w, 4w], b₁ [4w], W₂ [4w, w], b₂ [w]
/// (icl_gpt_block_parameter_count(w) doubles). `saved` (icl_gpt_block_saved_count doubles, 64-byte aligned)
/// receives what the pullback needs. Single-threaded, fixed order.
long icl_gpt_block_parameter_count(long w);
long icl_gpt_block_saved_count(long b, long t, long w, long heads);
void icl_gpt_block_forward(const double *x, long b, long t, long w, long heads, const double *mask,
                           const double *params, double *out, double *saved);
/// The pullback for incoming `dout` [b, t, w]: writes dx [b, t, w] and the parameter gradients `grads` in the
/// layout of `params`.
void icl_gpt_block_backward(long b, long t, long w, long heads, const double *mask, const double *params,
                            const double *saved, const double *dout, double *dx, double *grads);

#endif
