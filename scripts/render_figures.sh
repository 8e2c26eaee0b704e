#!/usr/bin/env bash
# Renders every notebook figure (and, given run directories as arguments, their figures) to PNG with rsvg-convert
# (Debian's librsvg2-bin, installed if missing), into .build/figures/, so a person can look at them.
#   bash scripts/render_figures.sh [RUN_DIR …]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v rsvg-convert >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq librsvg2-bin >/dev/null
fi
out=.build/figures
mkdir -p "$out"
count=0
for svg in Notebooks/*/report/*.svg; do
    name="$(basename "$(dirname "$(dirname "$svg")")")-$(basename "${svg%.svg}").png"
    rsvg-convert -o "$out/$name" "$svg"
    count=$((count + 1))
done
for dir in "$@"; do
    for svg in "$dir"/*.svg; do
        [ -e "$svg" ] || continue
        rsvg-convert -o "$out/$(basename "$dir")-$(basename "${svg%.svg}").png" "$svg"
        count=$((count + 1))
    done
done
echo "rendered $count figures into $out/"
