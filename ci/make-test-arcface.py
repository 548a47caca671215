#!/usr/bin/python3
"""Write a tiny stand-in for a face recognition (ArcFace) network.

    python3 ci/make-test-arcface.py <output model.onnx>

Real ArcFace weights (Immich's buffalo_l/recognition/model.onnx is
insightface's w600k_r50.onnx) are large and no package registry ships them,
so the tests get a hand-built network with the same signature:

  input   "input.1"  float32 [batch, 3, 112, 112]  an aligned 112x112 RGB face
                                                   crop, NCHW, each value
                                                   (x - 127.5) / 127.5
  output  "683"      float32 [batch, 512]          the embedding

The embedding is the crop's coarse colour layout, so a test can predict it
and it depends on *where* things are in the crop, which is what tests of face
alignment need: each channel is averaged over an 8x8 grid of 14x14-pixel cells
and the 3 x 8 x 8 = 192 cell means, in channel, row, column order, are the
first 192 dimensions; the other 320 are zero. That is, dimension
64 * c + 8 * row + col is the mean of channel c over rows 14 * row to
14 * row + 13 and columns 14 * col to 14 * col + 13 of the input. A crop of one
colour v comes out as 192 values of (v - 127.5) / 127.5 and then zeros; the
same face aligned twice gives nearly the same embedding, and a crop shifted
by a few pixels, or of another face, a different one.

Needs only numpy and onnx (Debian: python3-numpy python3-onnx; onnx 1.12 is
the oldest supported, hence opset 17 and IR version 8). The bytes written
depend only on this script.
"""

import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_NAME = "input.1"
OUTPUT_NAME = "683"  # w600k_r50.onnx's names for its input and output
CROP_SIZE = 112
CHANNELS = 3
CELL = 14
GRID = CROP_SIZE // CELL
FEATURES = CHANNELS * GRID * GRID
EMBED_DIM = 512
OPSET = 17
IR_VERSION = 8


def projection():
    """Copies the 192 cell means into the first dimensions of the embedding
    and leaves the rest zero."""
    return np.eye(FEATURES, EMBED_DIM, dtype=np.float32)


def recognition_model():
    crop = helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", CHANNELS, CROP_SIZE, CROP_SIZE])
    embedding = helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", EMBED_DIM])
    nodes = [
        # [batch, 3, 112, 112] -> [batch, 3, 8, 8]: the mean of each cell
        helper.make_node("AveragePool", [INPUT_NAME], ["cell_means"], kernel_shape=[CELL, CELL], strides=[CELL, CELL]),
        # -> [batch, 192], in channel, row, column order
        helper.make_node("Flatten", ["cell_means"], ["layout"], axis=1),
        # -> [batch, 512]
        helper.make_node("MatMul", ["layout", "projection"], [OUTPUT_NAME]),
    ]
    graph = helper.make_graph(
        nodes,
        "test-arcface",
        [crop],
        [embedding],
        initializer=[numpy_helper.from_array(projection(), "projection")],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="shoebox ci/make-test-arcface.py",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def write_model(dest, model):
    """Writes beside the destination and renames, so that a reader never sees
    a half-written model; an older one there is replaced."""
    folder = os.path.dirname(dest)
    os.makedirs(folder, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(dest)}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
        # mkstemp makes the file private; the model is not secret.
        os.chmod(part, 0o644)
        os.replace(part, dest)
    except BaseException:
        try:
            os.unlink(part)
        except FileNotFoundError:
            pass
        raise


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-test-arcface.py <output model.onnx>")
    write_model(os.path.abspath(sys.argv[1]), recognition_model())


if __name__ == "__main__":
    main()
