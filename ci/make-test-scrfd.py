#!/usr/bin/python3
"""Write a tiny stand-in for insightface's SCRFD face detector.

    python3 ci/make-test-scrfd.py <output model.onnx>

Immich's face packs (buffalo_l: insightface's det_10g.onnx) detect faces
with SCRFD. No package registry ships its weights, so the tests get a
hand-built network with the same signature:

  input   "input.1"  float32 [1, 3, 640, 640]  the photo letterboxed at the top
                                               left, RGB, (x - 127.5) / 128
  outputs, in this order, at strides 8, 16 and 32 (80x80, 40x40 and 20x20
  cells, two anchors a cell, cell-major):
          scores     float32 [12800, 1], [3200, 1], [800, 1]
          boxes      float32 [12800, 4], [3200, 4], [800, 4]   distances from
                     the anchor (the cell's top-left corner) to the left, top,
                     right and bottom sides, in strides
          landmarks  float32 [12800, 10], [3200, 10], [800, 10]  five (x, y)
                     offsets from the anchor, in strides

What it "detects" is predictable: a red square filling a 32x32 cell of the
letterbox. At stride 32 each cell's score is the cell's mean of
(R - G/2 - B/2) / 2 over the normalised input, clipped to [0, 1]: 1 for pure
red, 0 for grey, white or black. Every anchor's box is its cell (distances
0, 0, 1, 1) and its landmarks sit at fixed places in the cell: eyes at
(0.3, 0.35) and (0.7, 0.35), nose (0.5, 0.55), mouth corners (0.35, 0.75) and
(0.65, 0.75). The other strides score nothing.

Needs only numpy and onnx (Debian: python3-numpy python3-onnx). The bytes
written depend only on this script.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module  # noqa: E402

write_model = import_module("make-test-arcface").write_model

SIZE = 640
STRIDES = (8, 16, 32)
ANCHORS = 2
# det_10g.onnx's output names, in its order.
SCORE_NAMES = ("448", "471", "494")
BOX_NAMES = ("451", "474", "497")
POINT_NAMES = ("454", "477", "500")
LANDMARKS = np.array([0.3, 0.35, 0.7, 0.35, 0.5, 0.55, 0.35, 0.75, 0.65, 0.75], dtype=np.float32)
OPSET = 17
IR_VERSION = 8


def anchors(stride):
    return (SIZE // stride) ** 2 * ANCHORS


def detector_model():
    photo = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, SIZE, SIZE])
    outputs = []
    nodes = []
    initializers = [
        # (R - G/2 - B/2) / 2 as a 1x1 convolution.
        numpy_helper.from_array(np.array([0.5, -0.25, -0.25], dtype=np.float32).reshape(1, 3, 1, 1), "redness"),
        numpy_helper.from_array(np.array([anchors(32) // ANCHORS, 1], dtype=np.int64), "cells"),
        numpy_helper.from_array(np.array([anchors(32), 1], dtype=np.int64), "per_anchor"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
    ]
    nodes += [
        helper.make_node("Conv", ["input.1", "redness"], ["red"]),
        helper.make_node("AveragePool", ["red"], ["cell_red"], kernel_shape=[32, 32], strides=[32, 32]),
        helper.make_node("Clip", ["cell_red", "zero", "one"], ["cell_score"]),
        # [1, 1, 20, 20] -> [400, 1] -> both anchors of a cell -> [800, 1]
        helper.make_node("Reshape", ["cell_score", "cells"], ["per_cell"]),
        helper.make_node("Concat", ["per_cell", "per_cell"], ["per_cell_anchor"], axis=1),
        helper.make_node("Reshape", ["per_cell_anchor", "per_anchor"], [SCORE_NAMES[2]]),
    ]
    for level, stride in enumerate(STRIDES):
        n = anchors(stride)
        if stride != 32:
            initializers.append(numpy_helper.from_array(np.zeros((n, 1), dtype=np.float32), f"scores_{stride}"))
            nodes.append(helper.make_node("Identity", [f"scores_{stride}"], [SCORE_NAMES[level]]))
        boxes = np.tile(np.array([0.0, 0.0, 1.0, 1.0], dtype=np.float32), (n, 1))
        points = np.tile(LANDMARKS, (n, 1))
        initializers += [
            numpy_helper.from_array(boxes, f"boxes_{stride}"),
            numpy_helper.from_array(points, f"points_{stride}"),
        ]
        nodes += [
            helper.make_node("Identity", [f"boxes_{stride}"], [BOX_NAMES[level]]),
            helper.make_node("Identity", [f"points_{stride}"], [POINT_NAMES[level]]),
        ]
    for names, width in ((SCORE_NAMES, 1), (BOX_NAMES, 4), (POINT_NAMES, 10)):
        for level, stride in enumerate(STRIDES):
            outputs.append(helper.make_tensor_value_info(names[level], TensorProto.FLOAT, [anchors(stride), width]))
    graph = helper.make_graph(nodes, "test-scrfd", [photo], outputs, initializer=initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="shoebox ci/make-test-scrfd.py",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-test-scrfd.py <output model.onnx>")
    write_model(os.path.abspath(sys.argv[1]), detector_model())


if __name__ == "__main__":
    main()
