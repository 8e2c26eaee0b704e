#!/usr/bin/env bash
# Release-mode benchmarks, each printed next to the same work by a peer (NumPy, PyTorch, JAX) measured in the
# same run, as a ratio.
#   bash scripts/bench.sh                      core ops, LSA training, classical learners vs NumPy (icl-bench)
#   bash scripts/bench.sh --scaling [--quick]  the depth-scaling table: workbench vs PyTorch eager f64/f32 and JAX
#   bash scripts/bench.sh --install-peers      PyTorch + JAX into .venv-peers (git-ignored; ~4 minutes)
# Other arguments go to icl-bench (e.g. --train --layers 12 for one point, --classical).
set -euo pipefail
cd "$(dirname "$0")/.."
peers=../shared/peers
if [ "${1:-}" = "--install-peers" ]; then
    python3 -m venv .venv-peers && .venv-peers/bin/pip install -q -r "$peers/requirements.txt"
    exit 0
fi
bash scripts/setup.sh
python3 -c "import numpy" 2>/dev/null || python3 -m pip install -q numpy
swift build -c release --product icl-bench
if [ "${1:-}" = "--scaling" ]; then
    shift
    exec python3 scripts/bench_scaling.py --peers "$peers" "$@"
fi
.build/release/icl-bench "$@"
