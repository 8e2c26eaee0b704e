#!/usr/bin/env bash
# Fuzzes the .npy/.npz readers with libFuzzer and AddressSanitizer for a bounded time.
#
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer flags…]      (default 60 s)
#
# Builds Fuzz/NPZFuzz.swift together with the NumericCore sources (one module, so the readers are instrumented)
# and the BLASRuntime C kernels, with the Swift toolchain's own libFuzzer (clang_rt.fuzzer), then runs it seeded
# with the NumPy fixtures and the hostile corpus. New interesting inputs accumulate in .build/fuzz/corpus;
# crashes are written to .build/fuzz/crash-* and make this script fail. Low priority: it is meant to run beside
# other work.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
out=.build/fuzz
mkdir -p "$out/obj" "$out/include" "$out/corpus"
toolchain_bin="$(dirname "$(command -v swiftc)")"
clang="$toolchain_bin/clang"
[ -x "$clang" ] || clang=clang
if ! ls "$(dirname "$toolchain_bin")"/lib/clang/*/lib/*/libclang_rt.fuzzer*.a >/dev/null 2>&1; then
    echo "fuzz: this Swift toolchain ships no libclang_rt.fuzzer; -sanitize=fuzzer needs it" >&2
    exit 1
fi

# BLASRuntime has no module map of its own (SwiftPM writes one); give swiftc the same.
cat > "$out/include/module.modulemap" <<MAP
module BLASRuntime {
    header "$PWD/Sources/BLASRuntime/include/BLASRuntime.h"
    export *
}
MAP
objs=()
for c in Sources/BLASRuntime/*.c; do
    o="$out/obj/$(basename "$c" .c).o"
    nice -n 15 "$clang" -O1 -g -fsanitize=address,fuzzer-no-link -ISources/BLASRuntime/include -c "$c" -o "$o"
    objs+=("$o")
done
nice -n 15 swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name NumericCore \
    -I "$out/include" -I Sources/CLapack -I Sources/CZlib \
    Sources/NumericCore/*.swift Fuzz/NPZFuzz.swift "${objs[@]}" \
    -lopenblas -llapacke -lz -o "$out/npz-fuzz"

# Seeds: what NumPy writes, and every crafted file (valid and hostile).
seeds=("$out/seeds")
mkdir -p "$seeds"
cp Tests/NumericCoreTests/Fixtures/*.np? Tests/NumericCoreTests/Fixtures/hostile/* "$seeds/"
# ASan's allocator returns NULL instead of aborting on absurd sizes only if asked; a crash there is a finding.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=0}"
# Swift's interactive crash backtracer stalls libFuzzer's crash handling; its plain report is enough.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"
echo "fuzz: running $out/npz-fuzz for ${seconds}s" >&2
cd "$out"
nice -n 15 ./npz-fuzz -max_total_time="$seconds" -max_len=2000000 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$@" corpus seeds
