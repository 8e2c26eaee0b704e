#!/usr/bin/env bash
# The whole test suite, optimized (numeric Swift in debug builds is many times slower). The suite is XCTest;
# Swift Testing is disabled so the run closes on XCTest's summary, echoed as one plain line at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test -c release --skip-build --disable-swift-testing 2>&1 | tee "$log" || status=$?
summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1 || true)
if [ -n "$summary" ]; then
    total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    failed=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
    echo "$((total - failed)) passed, $failed failed"
fi
exit $status
