#!/usr/bin/env bash
# Build versitygw (the S3 gateway the S3 integration tests run against) into ~/.cache/quiltkit/bin, or reuse
# the binary when the pinned version is already there. Run from anywhere: `bash scripts/versitygw.sh`.
#
# The version is pinned; the stamp file ~/.cache/quiltkit/bin/versitygw.version records what was built, and the
# test global setup (test/global-s3.ts) reads it to report which server ran.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSITYGW_VERSION="v1.7.0"
# A per-user cache, not the clone: every checkout and CI run on this machine reuses one build.
BIN_DIR="${QUILTKIT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/quiltkit/bin}"
BIN="$BIN_DIR/versitygw"
STAMP="$BIN_DIR/versitygw.version"

if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$VERSITYGW_VERSION" ]]; then
  echo "== versitygw $VERSITYGW_VERSION: reusing $BIN"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "versitygw.sh: 'go' is not on the PATH; install Go 1.25 or newer to build versitygw." >&2
  exit 1
fi

echo "== versitygw $VERSITYGW_VERSION: building with $(go version) (GOBIN=$BIN_DIR)"
mkdir -p "$BIN_DIR"
rm -f "$STAMP"
start=$(date +%s)
# CGO off: a static binary, no C toolchain needed.
CGO_ENABLED=0 GOBIN="$BIN_DIR" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
end=$(date +%s)
echo "$VERSITYGW_VERSION" >"$STAMP"
echo "== versitygw $VERSITYGW_VERSION: built in $((end - start))s -> $BIN"
