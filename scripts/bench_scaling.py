"""The depth-scaling table of LSA training: the workbench, PyTorch eager (float64 and float32) and JAX (float64),
measured in the same run, interleaved, best of --repeats per configuration.

Workbench: `icl-bench --train --layers L --dimension D --points N [--looped T] --batch B --steps S` (one JSON line).
PyTorch: ../shared/peers/a_lsa_depth.py (a looped LSA at T iterations does the work of its T-layer stack, so its
peer is the T-layer stack). JAX: scripts/peers/lsa_depth_jax.py, the same model under one jax.jit.
The peers need a virtualenv: python3 -m venv .venv-peers && .venv-peers/bin/pip install -r ../shared/peers/requirements.txt

With --gpt, the GPT table instead: `icl-bench --gpt` (4 blocks of width 64, 4 heads, interleaved d = 5 prompts of 11
points, B = 64, Adam 1e-4, every-prefix loss, fresh prompts) against ../shared/peers/b_gpt_train.py (PyTorch eager,
float64 and float32, 1 and 2 threads), best of each; then the looped transformer, `icl-bench --gpt --looped 12`
(one block applied 12 times with input injection, paired layout of the same 22 tokens, loss at the last iteration)
against ../shared/peers/c_looped_train.py (interleaved, loss averaged over the last 5 iterations; both
backpropagate through all 12).

Usage: python3 scripts/bench_scaling.py [--quick] [--gpt] [--repeats 3] [--python .venv-peers/bin/python] [--no-jax]
"""
import argparse, json, os, platform, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, ".build/release/icl-bench")


def grid(quick):
    if quick:   # the points the speed targets name
        points = [(10, 10, l, None) for l in (1, 4, 12)] + [(10, 10, 1, 12), (20, 40, 4, None)]
        return points + [(10, 10, 1, 6)]
    points = []
    for d in (5, 10, 20, 40):
        for n in (10, 40, 160):
            points += [(d, n, l, None) for l in (1, 4, 12)] + [(d, n, 1, t) for t in (6, 12)]
    return points


def steps_for(d, n, depth):
    cost = depth * (n + 1) * (d + 1) ** 2      # multiply-adds per prompt per step, up to a constant
    return 20 if cost < 3e4 else 8 if cost < 3e5 else 4 if cost < 3e6 else 2


def run(cmd, env=None, timeout=1800, cwd_peers=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd_peers or ROOT)
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith("RESULT "):
            line = line[7:]
        if line.startswith("{"):
            return json.loads(line)
    sys.stderr.write(f"no result from {' '.join(cmd)}:\n{out.stderr[-2000:]}\n")
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="only the configurations the speed targets name")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=2048)
    p.add_argument("--python", default=os.path.join(ROOT, ".venv-peers/bin/python"))
    p.add_argument("--peers", default=os.path.join(ROOT, "../shared/peers"))
    p.add_argument("--no-jax", action="store_true")
    p.add_argument("--gpt", action="store_true", help="the GPT training table instead of the LSA depth table")
    a = p.parse_args()
    have_peers = os.path.exists(a.python) and subprocess.run(
        [a.python, "-c", "import torch"], capture_output=True).returncode == 0
    have_jax = have_peers and not a.no_jax and subprocess.run(
        [a.python, "-c", "import jax, optax"], capture_output=True).returncode == 0
    torch_script = os.path.join(a.peers, "a_lsa_depth.py")
    if have_peers and not os.path.exists(torch_script):
        have_peers = False
    env1 = dict(os.environ)

    # Which kernels each side runs.
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    print(f"# LSA training, depth scaling (B = {a.batch}, float64 unless noted; best of {a.repeats} interleaved runs)\n")
    print(f"- machine: {cpu}, {os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}")
    blas = subprocess.run([BENCH, "--blas"], capture_output=True, text=True).stdout.strip()
    print(f"- workbench: LSA layers run its own lane-packed kernel (8 prompts per AVX-512 vector; no BLAS call); {blas}")
    if have_peers:
        tinfo = subprocess.run([a.python, "-c", "import torch,re; c=torch.__config__.show(); "
                                "b=re.search(r'BLAS_INFO=(\\w+)', c); m=re.search(r'CPU capability usage: (\\w+)', c); "
                                "print(torch.__version__, 'BLAS', b.group(1) if b else '?', 'ISA', "
                                "torch.backends.cpu.get_cpu_capability())"], capture_output=True, text=True).stdout.strip()
        print(f"- PyTorch eager {tinfo} (batched matmuls), the better of 1 and 2 threads")
    else:
        print("- PyTorch: not installed (python3 -m venv .venv-peers && .venv-peers/bin/pip install -r ../shared/peers/requirements.txt)")
    if have_jax:
        jinfo = subprocess.run([a.python, "-c", "import jax; print(jax.__version__, jax.devices()[0].platform)"],
                               capture_output=True, text=True).stdout.strip()
        print(f"- JAX {jinfo} (XLA:CPU, its own dot kernels), the whole step under jax.jit")
    print()

    if a.gpt:
        return gpt_table(a, have_peers)
    rows = []
    for (d, n, layers, looped) in grid(a.quick):
        depth = looped or layers
        s = steps_for(d, n, depth)
        best = {}
        for _ in range(a.repeats):
            cmd = [BENCH, "--train", "--layers", str(layers), "--dimension", str(d), "--points", str(n),
                   "--batch", str(a.batch), "--steps", str(s + 3)] + (["--looped", str(looped)] if looped else [])
            r = run(cmd, env1)
            if r: best["ours"] = min(best.get("ours", 1e18), r["median_step_ms"])
            if have_peers:
                # PyTorch at 1 and 2 threads, the better kept: on a busy 2-core machine its 2-thread runs spin-wait
                # and collapse, which would flatter the ratio.
                for dtype in ("float64", "float32"):
                    for threads in ("1", "2"):
                        r = run([a.python, torch_script, "--d", str(d), "--N", str(n), "--layers", str(depth),
                                 "--B", str(a.batch), "--steps", str(s), "--warmup", "2", "--dtype", dtype, "--lr", "1e-5",
                                 "--threads", threads])
                        if r: best["torch_" + dtype] = min(best.get("torch_" + dtype, 1e18), r["median_ms"])
            if have_jax:
                r = run([a.python, os.path.join(ROOT, "scripts/peers/lsa_depth_jax.py"), "--d", str(d), "--N", str(n),
                         "--layers", str(depth), "--B", str(a.batch), "--steps", str(s), "--warmup", "2", "--lr", "1e-5"])
                if r: best["jax"] = min(best.get("jax", 1e18), r["median_ms"])
        rows.append((d, n, layers, looped, best))
        model = f"looped T = {looped}" if looped else f"{layers} layer{'s' if layers > 1 else ''}"
        sys.stderr.write(f"  d={d} N={n} {model}: {best}\n")

    def cell(x): return f"{x:.1f}" if x is not None else "—"
    def ratio(ref, ours): return f"{ref / ours:.2f}×" if ref is not None and ours else "—"
    print("| d | N | model | workbench ms | PyTorch f64 ms | PyTorch f32 ms | JAX f64 ms | vs PyTorch f64 | vs PyTorch f32 | vs JAX |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for d, n, layers, looped, b in rows:
        model = f"looped T = {looped}" if looped else f"{layers} layer{'s' if layers > 1 else ''}"
        ours = b.get("ours")
        print(f"| {d} | {n} | {model} | {cell(ours)} | {cell(b.get('torch_float64'))} | {cell(b.get('torch_float32'))} | "
              f"{cell(b.get('jax'))} | {ratio(b.get('torch_float64'), ours)} | {ratio(b.get('torch_float32'), ours)} | "
              f"{ratio(b.get('jax'), ours)} |")
    one = {(d, n): b.get("ours") for d, n, l, t, b in rows if l == 1 and t is None}
    twelve = {(d, n): b.get("ours") for d, n, l, t, b in rows if l == 12}
    for key, v in twelve.items():
        if one.get(key) and v:
            print(f"\nd = {key[0]}, N = {key[1]}: the 12-layer step costs {v / one[key]:.1f}× the 1-layer step.")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


def gpt_table(a, have_peers):
    """GPT 4 × 64 and the looped 12× block, training steps/s: the workbench (1 or 2 micro-batches, 1 or 2
    threads) vs PyTorch eager float64 and float32 (1 or 2 threads), interleaved and best of `repeats`."""
    models = [("GPT 4 × 64", [], "b_gpt_train.py"), ("looped 12× (1 block)", ["--looped", "12"], "c_looped_train.py")]
    for title, extra, peer in models:
        best = {}
        def keep(key, value):
            if value: best[key] = max(best.get(key, 0), value)
        for _ in range(a.repeats):
            for threads in (1, 2):
                for mb in (1, 2):
                    env = dict(os.environ, ICL_NUM_THREADS=str(threads))
                    r = run([BENCH, "--gpt", *extra, "--micro-batches", str(mb), "--steps", "40"], env)
                    keep(f"workbench, {threads} thread{'s' if threads > 1 else ''}, {mb} micro-batch{'es' if mb > 1 else ''}",
                         r and r["steps_per_s"])
            if have_peers:
                for dtype in ("float64", "float32"):
                    for threads in (1, 2):
                        r = run([a.python, os.path.join(a.peers, peer), "--dtype", dtype, "--impl", "torch", "--steps", "40",
                                 "--warmup", "5", "--threads", str(threads)], cwd_peers=a.peers)
                        keep(f"PyTorch eager {dtype}, {threads} thread{'s' if threads > 1 else ''}",
                             r and r.get("steps_per_s_median"))
        torch64 = max([v for k, v in best.items() if "float64" in k] or [0])
        torch32 = max([v for k, v in best.items() if "float32" in k] or [0])
        print(f"\n| {title} training (B = 64, float64 unless noted) | steps/s | vs best PyTorch f64 | vs best PyTorch f32 |")
        print("|---|---:|---:|---:|")
        for k, v in best.items():
            r64 = f"{v / torch64:.2f}×" if torch64 else "—"
            r32 = f"{v / torch32:.2f}×" if torch32 else "—"
            print(f"| {k} | {v:.1f} | {r64} | {r32} |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")

if __name__ == "__main__":
    main()
