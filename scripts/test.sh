#!/usr/bin/env bash
# The whole test suite, optimized (numeric Swift in debug builds is many times slower).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --build-tests
swift test -c release --skip-build
