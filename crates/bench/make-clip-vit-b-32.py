#!/usr/bin/python3
"""Write a CLIP model folder with OpenAI's ViT-B/32 networks and random
weights, for measuring how fast CLIP runs.

    python3 crates/bench/make-clip-vit-b-32.py <bpe_simple_vocab_16e6.txt.gz> <models folder>

writes <models folder>/bench-ViT-B-32 in Immich's layout for ViT-B-32__openai.
No registry reachable from here ships CLIP's weights, but time and memory do
not depend on their values, only on the networks' shapes and operations:

  visual/model.onnx    the image tower: 32x32 patches of a 224x224 photo,
                       12 residual attention blocks of width 768 (12 heads),
                       the class token projected to 512 dimensions
                       (87,849,216 parameters, as OpenAI's)
  textual/model.onnx   the text tower: 77 tokens, 12 causal blocks of width
                       512 (8 heads), the end-of-text token's features
                       projected to 512 dimensions (63,428,096 parameters)

Inputs and outputs are those of Immich's exports, as ci/make-test-clip.py
writes them ("image" float32 [N, 3, 224, 224] and "text" int32 [N, 77] in,
"embedding" float32 [N, 512] out), and so are the other files: config.json,
visual/preprocess_cfg.json and the real tokenizer come from that script.
The weights are random (fixed seed) and the embeddings mean nothing, hence
the name: nobody should take this for the real model.

Needs only numpy and onnx, as ci/make-test-clip.py.
"""

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def load_test_clip():
    """The test model's generator, for the tokenizer and configuration files
    and its conventions; its name is not an importable module name."""
    path = Path(__file__).resolve().parents[2] / "ci" / "make-test-clip.py"
    spec = importlib.util.spec_from_file_location("make_test_clip", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


test_clip = load_test_clip()

MODEL_NAME = "bench-ViT-B-32"
SEED = 20240232
# open_clip's ViT-B-32 configuration, which the test model already carries.
CONFIG = test_clip.model_config()
VISION = CONFIG["vision_cfg"]
TEXT = CONFIG["text_cfg"]
EMBED_DIM = CONFIG["embed_dim"]
# open_clip gives vision towers heads of 64 dimensions.
VISION_HEADS = VISION["width"] // 64
MLP_RATIO = 4
LN_EPSILON = 1e-5
# The sizes of OpenAI's towers (151,277,313 parameters in all with the logit
# scale): a different count means a different network.
VISUAL_PARAMETERS = 87_849_216
TEXTUAL_PARAMETERS = 63_428_096


class Graph:
    """Nodes and initializers of one network, with named weights drawn at
    the scales CLIP initialises them with, so that activations stay in the
    normal float range as a trained model's do (no overflow, no denormals to
    slow the arithmetic down)."""

    def __init__(self, rng):
        self.rng = rng
        self.nodes = []
        self.initializers = []
        self.parameters = 0
        self.count = 0

    def weight(self, name, shape, std, mean=0.0):
        array = (mean + std * self.rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
        self.initializers.append(numpy_helper.from_array(array, name))
        self.parameters += array.size
        return name

    def const(self, name, array):
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, output=None, **attrs):
        self.count += 1
        output = output or f"{op_type.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attrs))
        return output

    def layer_norm(self, x, prefix, width):
        gamma = self.weight(f"{prefix}.weight", [width], 0.02, mean=1.0)
        beta = self.weight(f"{prefix}.bias", [width], 0.02)
        return self.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=LN_EPSILON)

    def linear(self, x, prefix, fan_in, fan_out, std, bias=True):
        # Stored as [in, out], as torch.onnx exports a Linear for MatMul.
        y = self.op("MatMul", [x, self.weight(f"{prefix}.weight", [fan_in, fan_out], std)])
        return self.op("Add", [y, self.weight(f"{prefix}.bias", [fan_out], 0.01)]) if bias else y


def transformer(g, x, prefix, width, heads, layers, mask=None):
    """CLIP's residual attention blocks on x [N, L, width]:
    x + attention(ln_1(x)), then x + mlp(ln_2(x)), with the weight scales of
    CLIP's initialize_parameters."""
    head_dim = width // heads
    attn_std = width**-0.5
    proj_std = width**-0.5 * (2 * layers) ** -0.5
    fc_std = (2 * width) ** -0.5
    qkv_shape = g.const(f"{prefix}.qkv_shape", np.array([0, 0, 3, heads, head_dim], dtype=np.int64))
    merged_shape = g.const(f"{prefix}.merged_shape", np.array([0, 0, width], dtype=np.int64))
    scale = g.const(f"{prefix}.scale", np.array(head_dim**-0.5, dtype=np.float32))
    quick_gelu = g.const(f"{prefix}.quick_gelu", np.array(1.702, dtype=np.float32))
    picks = [g.const(f"{prefix}.pick_{i}", np.array(i, dtype=np.int64)) for i in range(3)]
    for layer in range(layers):
        p = f"{prefix}.resblocks.{layer}"
        h = g.layer_norm(x, f"{p}.ln_1", width)
        qkv = g.linear(h, f"{p}.attn.in_proj", width, 3 * width, attn_std)
        # [N, L, 3, heads, head_dim] -> [3, N, heads, L, head_dim]
        qkv = g.op("Transpose", [g.op("Reshape", [qkv, qkv_shape])], perm=[2, 0, 3, 1, 4])
        q, k, v = (g.op("Gather", [qkv, pick], axis=0) for pick in picks)
        scores = g.op("MatMul", [g.op("Mul", [q, scale]), g.op("Transpose", [k], perm=[0, 1, 3, 2])])
        if mask is not None:
            scores = g.op("Add", [scores, mask])
        attended = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        merged = g.op("Reshape", [g.op("Transpose", [attended], perm=[0, 2, 1, 3]), merged_shape])
        x = g.op("Add", [x, g.linear(merged, f"{p}.attn.out_proj", width, width, proj_std)])

        h = g.layer_norm(x, f"{p}.ln_2", width)
        h = g.linear(h, f"{p}.mlp.c_fc", width, MLP_RATIO * width, fc_std)
        h = g.op("Mul", [h, g.op("Sigmoid", [g.op("Mul", [h, quick_gelu])])])
        x = g.op("Add", [x, g.linear(h, f"{p}.mlp.c_proj", MLP_RATIO * width, width, proj_std)])
    return x


def build_model(name, g, input_info, expected_parameters):
    if g.parameters != expected_parameters:
        sys.exit(f"make-clip-vit-b-32: {name} has {g.parameters:,} parameters, OpenAI's has {expected_parameters:,}")
    output = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", EMBED_DIM])
    graph = helper.make_graph(g.nodes, name, [input_info], [output], initializer=g.initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", test_clip.OPSET)],
        ir_version=test_clip.IR_VERSION,
        producer_name="shoebox crates/bench/make-clip-vit-b-32.py",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def visual_model(rng):
    """OpenAI's VisionTransformer: conv1 (no bias) cuts the photo into 7x7
    patches of 768 features, the class embedding goes in front, then the
    positional embedding, ln_pre, the blocks, ln_post on the class token and
    the projection."""
    width, patch, size = VISION["width"], VISION["patch_size"], VISION["image_size"]
    grid = size // patch
    scale = width**-0.5
    g = Graph(rng)
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, size, size])

    conv = g.weight("visual.conv1.weight", [width, 3, patch, patch], (3 * patch * patch) ** -0.5)
    patches = g.op("Conv", ["image", conv], kernel_shape=[patch, patch], strides=[patch, patch])
    flat = g.const("visual.patches_shape", np.array([0, width, grid * grid], dtype=np.int64))
    patches = g.op("Transpose", [g.op("Reshape", [patches, flat])], perm=[0, 2, 1])
    # The class embedding, repeated for each photo of the batch.
    batch = g.op("Shape", ["image"], start=0, end=1)
    class_shape = g.op("Concat", [batch, g.const("visual.class_tail", np.array([1, width], dtype=np.int64))], axis=0)
    class_embedding = g.weight("visual.class_embedding", [1, 1, width], scale)
    tokens = g.op("Concat", [g.op("Expand", [class_embedding, class_shape]), patches], axis=1)
    x = g.op("Add", [tokens, g.weight("visual.positional_embedding", [grid * grid + 1, width], scale)])
    x = g.layer_norm(x, "visual.ln_pre", width)

    x = transformer(g, x, "visual.transformer", width, VISION_HEADS, VISION["layers"])

    first = g.const("visual.class_index", np.array(0, dtype=np.int64))
    pooled = g.layer_norm(g.op("Gather", [x, first], axis=1), "visual.ln_post", width)
    g.op("MatMul", [pooled, g.weight("visual.proj", [width, EMBED_DIM], scale)], output="embedding")
    return build_model(f"{MODEL_NAME}-visual", g, image, VISUAL_PARAMETERS)


def textual_model(rng):
    """OpenAI's text transformer: token and positional embeddings, causal
    blocks, ln_final, and the features at the end-of-text token (the
    highest id, so argmax finds it, as CLIP does; padding is the same token
    and argmax takes the first) projected into the embedding."""
    width, context, vocab = TEXT["width"], TEXT["context_length"], TEXT["vocab_size"]
    g = Graph(rng)
    text = helper.make_tensor_value_info("text", TensorProto.INT32, ["batch", context])

    x = g.op("Gather", [g.weight("token_embedding.weight", [vocab, width], 0.02), "text"], axis=0)
    x = g.op("Add", [x, g.weight("positional_embedding", [context, width], 0.01)])
    # Each token sees itself and those before it.
    mask = np.triu(np.full((context, context), -np.inf, dtype=np.float32), 1)
    x = transformer(g, x, "transformer", width, TEXT["heads"], TEXT["layers"], g.const("attn_mask", mask))
    x = g.layer_norm(x, "ln_final", width)

    end = g.op("ArgMax", ["text"], axis=1, keepdims=1)
    pooled = g.op("GatherND", [x, end], batch_dims=1)
    g.op("MatMul", [pooled, g.weight("text_projection", [width, EMBED_DIM], width**-0.5)], output="embedding")
    return build_model(f"{MODEL_NAME}-textual", g, text, TEXTUAL_PARAMETERS)


def write_folder(folder, bpe_path):
    merges = test_clip.read_merges(bpe_path)
    vocab = test_clip.build_vocab(merges)
    test_clip.write_json(os.path.join(folder, "config.json"), CONFIG)
    test_clip.write_json(os.path.join(folder, "visual", "preprocess_cfg.json"), test_clip.preprocess_config())
    test_clip.write_json(os.path.join(folder, "textual", "tokenizer.json"), test_clip.tokenizer_json(vocab, merges))
    test_clip.write_json(os.path.join(folder, "textual", "tokenizer_config.json"), test_clip.tokenizer_config(vocab))
    rng = np.random.default_rng(SEED)
    # One network at a time: each is a few hundred megabytes.
    test_clip.write_model(os.path.join(folder, "visual", "model.onnx"), visual_model(rng))
    test_clip.write_model(os.path.join(folder, "textual", "model.onnx"), textual_model(rng))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make-clip-vit-b-32.py <bpe_simple_vocab_16e6.txt.gz> <models folder>")
    bpe_path, models = sys.argv[1], os.path.abspath(sys.argv[2])
    dest = os.path.join(models, MODEL_NAME)
    os.makedirs(models, exist_ok=True)
    work = tempfile.mkdtemp(dir=models, prefix=f".{MODEL_NAME}.")
    try:
        write_folder(work, bpe_path)
        # mkdtemp makes the folder private; the models are not secret.
        os.chmod(work, 0o755)
        test_clip.replace_folder(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    print(dest)


if __name__ == "__main__":
    main()
