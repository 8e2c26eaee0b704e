"""NumPy side of icl-bench: the same operations, same sizes, timed the same way (best of repeats).
Prints one JSON object per line: {"name": ..., "seconds": ...}. Called by icl-bench; runs standalone too."""
import json, sys, time
import numpy as np

def best_time(fn, repeats, inner=1):
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        ts.append((time.perf_counter() - t) / inner)
    return min(ts)  # the minimum: the least noisy estimator on a shared machine

def emit(name, seconds):
    print(json.dumps({"name": name, "seconds": seconds}), flush=True)

rng = np.random.default_rng(0)
for n in (64, 256, 1024):
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    emit(f"gemm{n}", best_time(lambda: a @ b, 5, inner=max(1, 2000000 // n**3 * 10)))

B, N, E = 2048, 11, 11
a, b = rng.standard_normal((B, N, N)), rng.standard_normal((B, N, N))
emit("batched", best_time(lambda: np.matmul(a, b), 7, inner=5))

# One linear-self-attention layer (von Oswald layout): tokens Z [B, N, E], the last token is the query.
# out = Z + (Z W_KQᵀ) C W_PVᵀ / n, with C = Σ_context e eᵀ; prediction = −out[:, −1, −1]; loss = mean((ŷ − y)²).
Z = rng.standard_normal((B, N, E)); y = rng.standard_normal(B)
wkq, wpv = rng.standard_normal((E, E)) * 0.1, rng.standard_normal((E, E)) * 0.1
mask = np.ones((1, N, 1)); mask[0, -1, 0] = 0
n_ctx = N - 1

def forward_parts():
    ctx = Z * mask
    C = np.matmul(ctx.transpose(0, 2, 1), ctx)
    QC = np.matmul(Z @ wkq.T, C)
    out = Z + (QC @ wpv.T) / n_ctx
    pred = -out[:, -1, -1]
    return C, QC, out, pred, np.mean((pred - y) ** 2)

def forward():
    return forward_parts()[-1]

def forward_backward():
    C, QC, out, pred, loss = forward_parts()
    dpred = 2 * (pred - y) / B
    dout = np.zeros_like(out); dout[:, -1, -1] = -dpred
    dU = dout / n_ctx                                   # U = QC W_PVᵀ
    dwpv = (dU.reshape(-1, E).T @ QC.reshape(-1, E))
    dQC = dU @ wpv
    dQ = np.matmul(dQC, C.transpose(0, 2, 1))
    dwkq = dQ.reshape(-1, E).T @ Z.reshape(-1, E)
    return loss, dwkq, dwpv

emit("lsa_forward", best_time(forward, 7, inner=5))
emit("lsa_forward_backward", best_time(forward_backward, 7, inner=5))
