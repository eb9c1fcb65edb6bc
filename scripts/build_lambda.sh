#!/usr/bin/env bash
# Build the Lambda artefacts that terraform/ deploys:
#   build/lambda/orchestrator.zip  lambda/orchestrator/*.py (handler.py) + the homebrew_sync package, at the zip root
#   build/lambda/sync.zip          lambda/sync/*.py (handler.py) + the homebrew_sync package
#   build/lambda/layer.zip         python/ with requirements.txt installed for the Lambda platform
#
# Usage: scripts/build_lambda.sh [--skip-layer]
#   --skip-layer   rebuild only the two function zips (the layer changes only with requirements.txt)
# Environment: BUILD_DIR (default build/lambda), SOURCE_ROOT (default the repository root),
#   PYTHON (default python3), LAMBDA_PYTHON_VERSION (default 3.12),
#   LAMBDA_PLATFORM (default manylinux2014_x86_64, matching the functions' x86_64 architecture).
#
# Zips are reproducible (sorted entries, fixed timestamps), so an unchanged source keeps its
# source_code_hash and `terraform apply` does not redeploy it.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCE_ROOT="${SOURCE_ROOT:-$REPO_ROOT}"
BUILD_DIR="${BUILD_DIR:-$REPO_ROOT/build/lambda}"
PYTHON="${PYTHON:-python3}"
LAMBDA_PYTHON_VERSION="${LAMBDA_PYTHON_VERSION:-3.12}"
LAMBDA_PLATFORM="${LAMBDA_PLATFORM:-manylinux2014_x86_64}"
BUILD_LAYER=1

for arg in "$@"; do
  case "$arg" in
    --skip-layer) BUILD_LAYER=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done

for path in lambda/orchestrator/handler.py lambda/sync/handler.py shared/homebrew_sync/__init__.py; do
  if [[ ! -f "$SOURCE_ROOT/$path" ]]; then
    echo "missing $SOURCE_ROOT/$path" >&2
    exit 1
  fi
done

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$BUILD_DIR"

# zip_dir SRC_DIR OUT_ZIP: reproducible zip of SRC_DIR's contents (no __pycache__ or .pyc files).
zip_dir() {
  "$PYTHON" - "$1" "$2" <<'PY'
import os
import sys
import zipfile

src, out = sys.argv[1], sys.argv[2]
entries = []
for base, dirs, files in os.walk(src):
    dirs[:] = sorted(d for d in dirs if d != "__pycache__")
    entries += [os.path.join(base, f) for f in files if not f.endswith((".pyc", ".pyo"))]
tmp = out + ".tmp"
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
    for path in sorted(entries, key=lambda p: os.path.relpath(p, src)):
        info = zipfile.ZipInfo(os.path.relpath(path, src), date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as handle:
            zf.writestr(info, handle.read())
os.replace(tmp, out)
print(f"{out}: {len(entries)} files, {os.path.getsize(out)} bytes")
PY
}

build_function() {
  local name="$1"
  local dir="$STAGE/$name"
  mkdir -p "$dir"
  find "$SOURCE_ROOT/lambda/$name" -maxdepth 1 -type f -name '*.py' -exec cp {} "$dir/" \;
  cp -R "$SOURCE_ROOT/shared/homebrew_sync" "$dir/homebrew_sync"
  zip_dir "$dir" "$BUILD_DIR/$name.zip"
}

build_function orchestrator
build_function sync

if [[ "$BUILD_LAYER" == 1 ]]; then
  mkdir -p "$STAGE/layer/python"
  "$PYTHON" -m pip install \
    --quiet \
    --disable-pip-version-check \
    --no-compile \
    --platform "$LAMBDA_PLATFORM" \
    --only-binary=:all: \
    --implementation cp \
    --python-version "$LAMBDA_PYTHON_VERSION" \
    --target "$STAGE/layer/python" \
    -r "$SOURCE_ROOT/requirements.txt"
  zip_dir "$STAGE/layer" "$BUILD_DIR/layer.zip"
fi
