#!/usr/bin/env bash
# Every measurement of docs/design.md §1, in sequence; one JSON line per run in $OUT/results.jsonl.
# Usage: npm run build && bash bench/design/run-all.sh SIZES...   (SIZES: 1m 10m; 10m takes ~40 min)
# QK_DIST selects another build of Quiltkit; SQLITE_DIR a folder where `npm install better-sqlite3@12`
# was run (never this project: it is not a dependency). Needs ~2.5× the manifest size free per size.
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/qk-design}
SQLITE_DIR=${SQLITE_DIR:-/tmp/sqlite-bench}
mkdir -p "$OUT"
tag() { sed "s/^{/{\"size\":\"$1\",\"nodeFlags\":\"$2\",/" >> "$OUT/results.jsonl"; }
for size in "$@"; do
  n=$([ "$size" = 10m ] && echo 10000000 || echo 1000000)
  in="$OUT/m$size.jsonl"
  sorted="$OUT/m$size.sorted.jsonl"
  [ -f "$in" ] || node "$D/gen-manifest.mjs" "$n" "$in" | tag "$size" ""
  for b in 200 500; do
    node "$D/sort-external.mjs" "$in" "$sorted" --budget-mib $b --tmp "$OUT" | tag "$size" ""
  done
  node --max-old-space-size=768 "$D/sort-external.mjs" "$in" "$sorted" --budget-mib 200 --tmp "$OUT" \
    | tag "$size" "--max-old-space-size=768"
  if [ -d "$SQLITE_DIR/node_modules/better-sqlite3" ]; then
    for mode in orderby pk; do
      node "$D/sort-sqlite.mjs" "$in" "$OUT/m$size.sqlite.jsonl" --mode $mode --cache-mib 200 --sqlite-dir "$SQLITE_DIR" | tag "$size" ""
      cmp "$OUT/m$size.sqlite.jsonl" "$sorted" && rm "$OUT/m$size.sqlite.jsonl"
    done
  fi
  node "$D/browse-index.mjs" "$sorted" "$OUT/m$size.qkbi" | tag "$size" ""
  node "$D/diff-merge.mjs" --make-v2 "$sorted" "$OUT/m$size.v2.jsonl" > /dev/null
  node "$D/diff-merge.mjs" "$sorted" "$OUT/m$size.v2.jsonl" | tag "$size" ""
done
