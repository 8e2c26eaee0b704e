#!/usr/bin/env bash
# Regenerates every notebook's report (full mode: the paper-size runs) into Notebooks/NN-Topic/report/.
#   bash scripts/notebooks.sh            regenerate
#   bash scripts/notebooks.sh --check    regenerate and show what changed against the committed reports
#   bash scripts/notebooks.sh --quick    seconds-long runs into a temporary folder (what the tests run)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
mode="${1:-}"
for target in notebook-01-von-oswald notebook-02-mahankali notebook-03-zhang-frei-bartlett notebook-04-gatmiry notebook-05-fu notebook-08-boolean-baselines; do
    if [ "$mode" = "--quick" ]; then
        out=$(mktemp -d)
        ".build/release/$target" --quick --out "$out"
    else
        ".build/release/$target"
    fi
done
if [ "$mode" = "--check" ]; then
    git --no-pager diff --stat -- Notebooks
    git --no-pager diff -U0 -- 'Notebooks/*/report/report.md' | grep -E '^[-+]\|' || echo "reports: no table changed"
fi
