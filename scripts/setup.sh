#!/usr/bin/env bash
# Installs what the workbench needs on a Debian machine (idempotent): BLAS/LAPACKE, zlib and SQLite headers.
# The Swift 6 toolchain itself must already be on PATH.
set -euo pipefail
packages=(liblapacke-dev libopenblas-dev zlib1g-dev libsqlite3-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
    echo "setup: no 'swift' on PATH; install the Swift 6 toolchain (swift.org) first" >&2
    exit 1
fi
