#!/usr/bin/env bash
# Runs the sort measurements of docs/design.md in sequence; one JSON line per run in $OUT/results.jsonl.
# Usage: QK_DIST=/path/to/dist bash bench/design/run-all.sh SIZES...   (SIZES: 1m 10m)
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/qk-design}
mkdir -p "$OUT"
tag() { sed "s/^{/{\"size\":\"$1\",\"nodeFlags\":\"$2\",/"; }
for size in "$@"; do
  n=$([ "$size" = 10m ] && echo 10000000 || echo 1000000)
  in="$OUT/m$size.jsonl"
  [ -f "$in" ] || node "$D/gen-manifest.mjs" "$n" "$in" >> "$OUT/results.jsonl"
  for b in 200 500; do
    node "$D/sort-external.mjs" "$in" "$OUT/m$size.sorted.jsonl" --budget-mib $b --tmp "$OUT" | tag "$size" "" >> "$OUT/results.jsonl"
  done
  node --max-old-space-size=768 "$D/sort-external.mjs" "$in" "$OUT/m$size.sorted.jsonl" --budget-mib 200 --tmp "$OUT" \
    | tag "$size" "--max-old-space-size=768" >> "$OUT/results.jsonl"
  node "$D/sort-sqlite.mjs" "$in" "$OUT/m$size.sqlite.jsonl" --mode orderby --cache-mib 200 | tag "$size" "" >> "$OUT/results.jsonl"
  cmp "$OUT/m$size.sorted.jsonl" "$OUT/m$size.sqlite.jsonl" && rm "$OUT/m$size.sqlite.jsonl"
done
