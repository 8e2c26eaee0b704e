#!/usr/bin/env bash
# Set up, build, and run the flagship comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product icl
.build/release/icl compare --preset flagship --quiet "$@"
.build/release/icl compare --preset looped-flagship --quiet "$@"
