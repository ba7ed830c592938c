#!/usr/bin/env bash
# Install quilt3 (the reference implementation the interop tests compare against) into a virtualenv in
# ~/.cache/quiltkit/venv-quilt3-<version>, or reuse it when the pinned version is already there.
# Run from anywhere: `bash scripts/quilt3.sh`.
#
# The version is pinned (the spec and vectors are from quilt3 8.0.0); the stamp file <venv>/quilt3.version
# is written last, so a half-built virtualenv is never reused, and test/helpers/quilt3.ts only picks the
# virtualenv's python when the stamp is there. QUILTKIT_PYTHON chooses the Python that creates it (python3).
set -euo pipefail
cd "$(dirname "$0")/.."

QUILT3_VERSION="8.0.0"
# A per-user cache, not the clone: every checkout and CI run on this machine reuses one virtualenv.
# (scripts/versitygw.sh puts its binary in .../quiltkit/bin; the virtualenv sits beside it.)
TOOLS_DIR="${QUILTKIT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/quiltkit}"
VENV="$TOOLS_DIR/venv-quilt3-$QUILT3_VERSION"
PY="$VENV/bin/python"
STAMP="$VENV/quilt3.version"
BASE_PYTHON="${QUILTKIT_PYTHON:-python3}"

# Reuse: the stamp says the pinned version, and the interpreter still runs (a removed or upgraded base
# Python leaves a virtualenv whose bin/python is a dangling link).
if [[ -x "$PY" && -f "$STAMP" && "$(cat "$STAMP")" == "quilt3==$QUILT3_VERSION" ]] && "$PY" -c "" 2>/dev/null; then
  echo "== quilt3 $QUILT3_VERSION: reusing $VENV ($("$PY" --version 2>&1))"
  exit 0
fi

if ! command -v "$BASE_PYTHON" >/dev/null 2>&1; then
  echo "quilt3.sh: '$BASE_PYTHON' is not on the PATH; install Python 3.9 or newer (or set QUILTKIT_PYTHON)." >&2
  exit 1
fi
if ! "$BASE_PYTHON" -c "import sys, venv; sys.exit(sys.version_info < (3, 9))" 2>/dev/null; then
  echo "quilt3.sh: $("$BASE_PYTHON" --version 2>&1) cannot create a virtualenv for quilt3 $QUILT3_VERSION (needs Python >= 3.9 with the venv module; on Debian/Ubuntu: apt-get install python3-venv)." >&2
  exit 1
fi

mkdir -p "$TOOLS_DIR"
# One installer at a time per virtualenv (two CI jobs on one machine), when flock is available.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$VENV.lock"
  flock 9
  # Someone else may have finished it while we waited.
  if [[ -x "$PY" && -f "$STAMP" && "$(cat "$STAMP")" == "quilt3==$QUILT3_VERSION" ]] && "$PY" -c "" 2>/dev/null; then
    echo "== quilt3 $QUILT3_VERSION: reusing $VENV ($("$PY" --version 2>&1))"
    exit 0
  fi
fi

echo "== quilt3 $QUILT3_VERSION: installing into $VENV with $("$BASE_PYTHON" --version 2>&1)"
start=$(date +%s)
rm -rf "$VENV"
"$BASE_PYTHON" -m venv "$VENV"
"$PY" -m pip install --quiet --disable-pip-version-check --no-input "quilt3==$QUILT3_VERSION"
# Importable, and the version asked for: only then is it stamped.
"$PY" -c "import sys, quilt3; sys.exit(quilt3.__version__ != sys.argv[1] and 'quilt3 ' + quilt3.__version__ + ' installed, not ' + sys.argv[1])" "$QUILT3_VERSION"
echo "quilt3==$QUILT3_VERSION" >"$STAMP"
end=$(date +%s)
echo "== quilt3 $QUILT3_VERSION: installed in $((end - start))s -> $PY"
