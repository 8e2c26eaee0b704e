#!/usr/bin/env bash
# Builds the package and its tests with AddressSanitizer (Swift and the C kernels alike) and runs the XCTest suite
# under it; any sanitizer report aborts the test process, so a pass means a clean run.
#
#   scripts/asan.sh [debug|release] [XCTEST FILTER]     e.g. scripts/asan.sh release NumericCoreTests
#
# debug (the default) keeps Swift's own bounds checks on unsafe buffers as well; release is what ships, where
# those checks are compiled out and ASan is the only net. In debug, SpineTests is skipped: its trajectories are
# pinned bit for bit from optimized builds, and -Onone rounds differently in the last place (it fails the same
# way without ASan). Each configuration has its own build directory (.build/asan-CONFIG), so the normal build is
# left alone. Low priority: it is meant to run beside other work.
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-debug}"
case "$config" in debug|release) ;; *) echo "usage: $0 [debug|release] [filter]" >&2; exit 2 ;; esac
bash scripts/setup.sh
scratch=".build/asan-$config"
nice -n 15 swift build --build-tests -c "$config" --sanitize=address --scratch-path "$scratch"
# Leak checking is off: the Swift runtime's and OpenBLAS's one-time allocations live until exit by design.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1:abort_on_error=1}"
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"
args=()
[ $# -gt 1 ] && args+=(--filter "$2")
[ "$config" = debug ] && args+=(--skip SpineTests)
nice -n 15 swift test --skip-build -c "$config" --sanitize=address --scratch-path "$scratch" \
    --disable-swift-testing "${args[@]}"
