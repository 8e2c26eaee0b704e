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
# The outputs as a researcher reads them: every preset's JSON against Docs/report.schema.json (jsonschema), its
# CSVs (csv, NumPy) and Markdown equal to it. NumPy and jsonschema come from the system Python when it has them,
# else from a git-ignored virtualenv made once (.venv-ci/).
python=python3
if ! python3 -c "import numpy, jsonschema" 2>/dev/null; then
    if [ ! -x .venv-ci/bin/python ] || ! .venv-ci/bin/python -c "import numpy, jsonschema" 2>/dev/null; then
        if ! python3 -m venv .venv-ci 2>/dev/null; then   # Debian ships venv separately
            SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
            $SUDO apt-get install -y -qq python3-venv >/dev/null
            rm -rf .venv-ci && python3 -m venv .venv-ci
        fi
        .venv-ci/bin/pip install -q numpy jsonschema
    fi
    python=.venv-ci/bin/python
fi
outputs=0
"$python" scripts/check_outputs.py .build/release/icl || outputs=1
[ $outputs -eq 0 ] || status=1
summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1 || true)
if [ -n "$summary" ]; then
    total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    failed=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
    total=$((total + 1)); failed=$((failed + outputs))   # check_outputs.py counts as one test
    echo "$((total - failed)) passed, $failed failed"
fi
exit $status
