#!/usr/bin/env bash
# Release-mode benchmarks, each printed next to the same work in NumPy on this machine, as a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -c "import numpy" 2>/dev/null || python3 -m pip install -q numpy
swift build -c release --product icl-bench
.build/release/icl-bench "$@"
