"""JAX counterpart of ../shared/peers/a_lsa_depth.py: a stack of L full linear-self-attention layers (all rows
updated, the query token masked out of keys/values), fresh prompts x ~ N(0, I), w ~ N(0, I) every step, Adam
lr 1e-3 (optax), the whole step (sampling, forward, backward, update) under one jax.jit.

Usage: python lsa_depth_jax.py --d 10 --N 10 --layers 4 --B 2048 --steps 30 [--dtype float32]
Prints one line: RESULT {"d", "N", "layers", "median_ms", ...} (median step time after warm-up).
"""
import argparse, json, statistics, time

p = argparse.ArgumentParser()
p.add_argument("--d", type=int, default=10); p.add_argument("--N", type=int, default=10)
p.add_argument("--layers", type=int, default=1); p.add_argument("--B", type=int, default=2048)
p.add_argument("--steps", type=int, default=30); p.add_argument("--warmup", type=int, default=5)
p.add_argument("--dtype", default="float64"); p.add_argument("--lr", type=float, default=1e-3)
a = p.parse_args()

import jax
if a.dtype == "float64":
    jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import optax

dt = jnp.float64 if a.dtype == "float64" else jnp.float32
d, N, B, L = a.d, a.N, a.B, a.layers
D, T = d + 1, N + 1
key = jax.random.PRNGKey(0)
keys = jax.random.split(key, 2 * L + 1)
params = [0.02 * jax.random.normal(k, (D, D), dt) for k in keys[1:]]
mask = jnp.ones((T, 1), dt).at[N].set(0.0)
opt = optax.adam(a.lr)
state = opt.init(params)


def loss_fn(ws, x, y):
    z = jnp.concatenate([x, y * mask], -1)
    for l in range(L):
        w_pv, w_kq = ws[2 * l], ws[2 * l + 1]
        att = z @ w_kq @ jnp.swapaxes(z, 1, 2)
        v = (z * mask) @ w_pv.T
        z = z + (jnp.swapaxes(att, 1, 2) @ v) / N
    return jnp.mean((z[:, N, d] - y[:, N, 0]) ** 2)


@jax.jit
def step(ws, st, k):
    k, kx, kw = jax.random.split(k, 3)
    x = jax.random.normal(kx, (B, T, d), dt)
    w = jax.random.normal(kw, (B, d, 1), dt)
    loss, g = jax.value_and_grad(loss_fn)(ws, x, x @ w)
    upd, st = opt.update(g, st, ws)
    return optax.apply_updates(ws, upd), st, k, loss


t0 = time.perf_counter()
params, state, key, loss0 = step(params, state, keys[0]); jax.block_until_ready(loss0)
first = time.perf_counter() - t0
for _ in range(a.warmup):
    params, state, key, loss = step(params, state, key)
jax.block_until_ready(loss)
ts = []
for _ in range(a.steps):
    t = time.perf_counter()
    params, state, key, loss = step(params, state, key)
    jax.block_until_ready(loss)
    ts.append(time.perf_counter() - t)
print("RESULT " + json.dumps(dict(d=d, N=N, layers=L, first_s=first, median_ms=1e3 * statistics.median(ts),
      min_ms=1e3 * min(ts), loss0=float(loss0), loss1=float(loss), jax=jax.__version__)), flush=True)
