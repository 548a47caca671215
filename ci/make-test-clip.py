#!/usr/bin/python3
"""Write a tiny CLIP model folder in Immich's machine-learning layout.

    python3 ci/make-test-clip.py <bpe_simple_vocab_16e6.txt.gz> <output folder>

Real CLIP weights are hundreds of megabytes and no package registry ships
them, so the tests get a stand-in that exercises everything around the
networks for real:

  config.json, visual/preprocess_cfg.json   ViT-B-32__openai's values
  textual/tokenizer.json                    OpenAI CLIP's real BPE tokenizer,
  textual/tokenizer_config.json             as Hugging Face converts it
  textual/model.onnx, visual/model.onnx     hand-built networks with the real
                                            input and output signatures

The networks are chosen so a test can predict the embeddings: the words
"red", "green" and "blue" point along dimensions 0, 1 and 2 of the text
embedding and every other word along dimension 3; a photo's embedding is its
normalised mean red, green and blue in dimensions 0 to 2. So a search for
"red" ranks a red photo above a blue one.

Needs only numpy and onnx (Debian: python3-numpy python3-onnx; onnx 1.12 is
the oldest supported, hence opset 17 and IR version 8).
"""

import gzip
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CONTEXT_LENGTH = 77
EMBED_DIM = 512
VOCAB_SIZE = 49408
IMAGE_SIZE = 224
START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
COLOUR_WORDS = ("red", "green", "blue")
COLOUR_WEIGHT = 5.0
OPSET = 17
IR_VERSION = 8

# OpenAI's simple_tokenizer pattern, special tokens included as in
# openai/clip-vit-base-patch32's file (today's CLIPConverter leaves them out;
# either way the added-token matcher takes them out of the text first).
SPLIT_PATTERN = (
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|"
    r"[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"
)


def byte_alphabet():
    """GPT-2's bytes_to_unicode, in its order (which fixes the first 256 ids):
    printable Latin-1 bytes stand for themselves, the rest are moved above 255
    so that no byte is spelt as whitespace or a control character."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    moved = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(len(moved))]


def read_merges(bpe_path):
    """CLIP uses only as many merges from the file (after its version line)
    as fit a vocabulary of 49,408: two spellings of each byte, the merges,
    and the two special tokens."""
    merge_count = VOCAB_SIZE - 2 * 256 - 2
    with gzip.open(bpe_path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")[1 : 1 + merge_count]
    merges = [tuple(line.split()) for line in lines]
    bad = [line for line, merge in zip(lines, merges) if len(merge) != 2]
    if bad:
        sys.exit(f"make-test-clip: {bpe_path}: not a BPE merges file (line {bad[0]!r})")
    return merges


def build_vocab(merges):
    alphabet = byte_alphabet()
    tokens = alphabet + [c + "</w>" for c in alphabet] + ["".join(m) for m in merges] + [START_TOKEN, END_TOKEN]
    vocab = {token: i for i, token in enumerate(tokens)}
    if len(vocab) != VOCAB_SIZE:
        sys.exit(f"make-test-clip: the merges give {len(vocab)} distinct tokens, CLIP has {VOCAB_SIZE}")
    return vocab


def added_token(content, token_id=None):
    token = {
        "content": content,
        "single_word": False,
        "lstrip": False,
        "rstrip": False,
        "normalized": True,
        "special": True,
    }
    return token if token_id is None else {"id": token_id, **token}


def tokenizer_json(vocab, merges):
    """The tokenizers-library file transformers' CLIPConverter writes for
    openai/clip-vit-base-patch32, in the field order tokenizers saves.
    Merges are "a b" strings, as on the Hub; tokenizers reads both forms."""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(t, vocab[t]) for t in (START_TOKEN, END_TOKEN)],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "NFC"},
                {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
                {"type": "Lowercase"},
            ],
        },
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": SPLIT_PATTERN}, "behavior": "Removed", "invert": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            ],
        },
        "post_processor": {
            "type": "RobertaProcessing",
            "sep": [END_TOKEN, vocab[END_TOKEN]],
            "cls": [START_TOKEN, vocab[START_TOKEN]],
            "trim_offsets": False,
            "add_prefix_space": False,
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": END_TOKEN,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "</w>",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [" ".join(m) for m in merges],
        },
    }


def tokenizer_config(vocab):
    """Immich reads pad_token from here to pad to the context length."""
    return {
        "add_prefix_space": False,
        "added_tokens_decoder": {str(vocab[t]): added_token(t) for t in (START_TOKEN, END_TOKEN)},
        "bos_token": START_TOKEN,
        "clean_up_tokenization_spaces": True,
        "do_lower_case": True,
        "eos_token": END_TOKEN,
        "errors": "replace",
        "model_max_length": CONTEXT_LENGTH,
        "pad_token": END_TOKEN,
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": END_TOKEN,
    }


def model_config():
    return {
        "embed_dim": EMBED_DIM,
        "vision_cfg": {"image_size": IMAGE_SIZE, "layers": 12, "width": 768, "patch_size": 32},
        "text_cfg": {"context_length": CONTEXT_LENGTH, "vocab_size": VOCAB_SIZE, "width": 512, "heads": 8, "layers": 12},
    }


def preprocess_config():
    return {
        "size": [IMAGE_SIZE, IMAGE_SIZE],
        "mode": "RGB",
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711],
        "interpolation": "bicubic",
        "resize_mode": "shortest",
        "fill_color": 0,
    }


def widen(rows):
    """A projection into the embedding that copies `rows` features into its
    first dimensions and leaves the rest zero."""
    return np.eye(rows, EMBED_DIM, dtype=np.float32)


def token_features(vocab):
    """One row per token: a colour word marks its own dimension, any other
    word the "something else" dimension, and the start, end and padding
    token nothing, so that the embedding counts words, not padding."""
    table = np.zeros((VOCAB_SIZE, 4), dtype=np.float32)
    table[:, 3] = 1.0
    for dim, word in enumerate(COLOUR_WORDS):
        table[vocab[word + "</w>"]] = COLOUR_WEIGHT * np.eye(4, dtype=np.float32)[dim]
    table[[vocab[START_TOKEN], vocab[END_TOKEN]]] = 0.0
    return table


def build_model(name, nodes, input_info, initializers):
    output = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", EMBED_DIM])
    graph = helper.make_graph(nodes, name, [input_info], [output], initializer=initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="shoebox ci/make-test-clip.py",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def textual_model(vocab):
    """Sums the token features over the context and widens them to the
    embedding: "a red photo" comes out as [5, 0, 0, 2, 0, ...]."""
    text = helper.make_tensor_value_info("text", TensorProto.INT32, ["batch", CONTEXT_LENGTH])
    nodes = [
        helper.make_node("Gather", ["token_features", "text"], ["features"], axis=0),
        helper.make_node("ReduceSum", ["features", "context_axis"], ["counts"], keepdims=0),
        helper.make_node("MatMul", ["counts", "text_projection"], ["embedding"]),
    ]
    initializers = [
        numpy_helper.from_array(token_features(vocab), "token_features"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "context_axis"),
        numpy_helper.from_array(widen(4), "text_projection"),
    ]
    return build_model("test-clip-textual", nodes, text, initializers)


def visual_model():
    """Averages each normalised channel over the image and widens the three
    means to the embedding: a pure red photo comes out as about
    [1.93, -1.75, -1.48, 0, ...]."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, IMAGE_SIZE, IMAGE_SIZE])
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["channel_means"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["channel_means", "image_projection"], ["embedding"]),
    ]
    return build_model("test-clip-visual", nodes, image, [numpy_helper.from_array(widen(3), "image_projection")])


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=2)
        f.write("\n")


def write_model(path, model):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def write_folder(folder, bpe_path):
    merges = read_merges(bpe_path)
    vocab = build_vocab(merges)
    write_json(os.path.join(folder, "config.json"), model_config())
    write_json(os.path.join(folder, "visual", "preprocess_cfg.json"), preprocess_config())
    write_json(os.path.join(folder, "textual", "tokenizer.json"), tokenizer_json(vocab, merges))
    write_json(os.path.join(folder, "textual", "tokenizer_config.json"), tokenizer_config(vocab))
    write_model(os.path.join(folder, "textual", "model.onnx"), textual_model(vocab))
    write_model(os.path.join(folder, "visual", "model.onnx"), visual_model())


def replace_folder(new, dest):
    """Moves the finished folder into place so that a reader never sees a
    half-written one; an older folder there is replaced."""
    if not os.path.exists(dest):
        os.rename(new, dest)
        return
    old = tempfile.mkdtemp(dir=os.path.dirname(dest), prefix=f".{os.path.basename(dest)}.old.")
    os.rename(dest, os.path.join(old, "model"))
    os.rename(new, dest)
    shutil.rmtree(old)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make-test-clip.py <bpe_simple_vocab_16e6.txt.gz> <output folder>")
    bpe_path, dest = sys.argv[1], os.path.abspath(sys.argv[2])
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    work = tempfile.mkdtemp(dir=os.path.dirname(dest), prefix=f".{os.path.basename(dest)}.")
    try:
        write_folder(work, bpe_path)
        # mkdtemp makes the folder private; the models are not secret.
        os.chmod(work, 0o755)
        replace_folder(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


if __name__ == "__main__":
    main()
