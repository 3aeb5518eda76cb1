"""A seeded catalogue of malformed or unsupported ONNX inputs, each with the cause its error must name.

Every case writes its file(s) into a folder and returns the path to hand to the CLI. The `cause` is a
regular expression (case-insensitive) that the one-line `error: ...` message must match, so a case
checks not only "exit 2, no traceback" but that the message points at the right problem.

The same seed always gives the same files: random bytes, cut points and weights come from
numpy Generators seeded per case.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tests.helpers.onnx_models import ModelBuilder, cnn, mlp

FLOAT = TensorProto.FLOAT

# Garbage may fail to parse, parse to an empty model, or parse to a model the checker rejects.
UNREADABLE = r"not a readable ONNX model|holds no graph nodes|fails the ONNX checker"
NOT_BINARY = r"weights are not binary"


@dataclass(frozen=True)
class BadCase:
    name: str
    category: str
    write: Callable[[Path], Path]  # folder -> the model path to pass to the CLI
    cause: str  # regex the message must match
    nodes: tuple[str, ...] = ()  # node names (and ops) the message must list, all of them


# ------------------------------------------------------------------------------------------ writing
def _save(model: onnx.ModelProto, name: str = "model.onnx") -> Callable[[Path], Path]:
    data = model.SerializeToString()
    return _raw(data, name)


def _raw(data: bytes, name: str = "model.onnx") -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return write


def _graph(b: ModelBuilder, output: str | list[str], inputs=None, opsets=None, ir_version: int = 8,
           graph_name: str = "bad") -> onnx.ModelProto:
    """A model from a builder's nodes with NO checker run: the bad ones are the point."""
    outputs = [output] if isinstance(output, str) else output
    inputs = inputs if inputs is not None else [helper.make_tensor_value_info("input", FLOAT, b.input_shape)]
    graph = helper.make_graph(b.nodes, graph_name, inputs,
                              [helper.make_tensor_value_info(o, FLOAT, [1, None]) for o in outputs],
                              initializer=b.inits)
    model = helper.make_model(graph, opset_imports=opsets or [helper.make_opsetid("", b.opset)])
    model.ir_version = ir_version
    return model


def _mlp_head(seed: int, k: int = 16, n: int = 12) -> tuple[ModelBuilder, str]:
    """input (1, k) -> Gemm -> BN -> sign: a valid binary prefix to hang a bad tail on."""
    b = ModelBuilder((k,), seed)
    x = b.gemm(b.start(), k, n, bias=True)
    x = b.sign(b.batchnorm(x, n, fan_in=k))
    return b, x


def _cnn_head(seed: int, c: int = 8) -> tuple[ModelBuilder, str]:
    """input (1, 1, 8, 8) -> Conv 3x3 -> BN -> sign (c, 8, 8)."""
    b = ModelBuilder((1, 8, 8), seed)
    x = b.conv(b.start(), 1, c, 3, pads=(1, 1, 1, 1))
    x = b.sign(b.batchnorm(x, c, fan_in=9))
    return b, x


def _finish_mlp(b: ModelBuilder, x: str, k: int, n: int = 10) -> str:
    x = b.gemm(x, k, n)
    return b.batchnorm(x, n, fan_in=k)


# --------------------------------------------------------------------------------------- categories
def missing_files() -> list[BadCase]:
    def nothing(name):
        return lambda folder: folder / name

    def a_folder(folder: Path) -> Path:
        (folder / "model_dir.onnx").mkdir()
        return folder / "model_dir.onnx"

    def dangling(folder: Path) -> Path:
        os.symlink(folder / "gone.onnx", folder / "link.onnx")
        return folder / "link.onnx"

    return [
        BadCase("missing-file", "missing", nothing("no_such_model.onnx"), r"does not exist"),
        BadCase("missing-folder", "missing", nothing("no/such/folder/model.onnx"), r"does not exist"),
        BadCase("missing-spaces", "missing", nothing("my model (v2).onnx"), r"does not exist"),
        BadCase("folder-not-file", "missing", a_folder, r"is a folder"),
        BadCase("dangling-symlink", "missing", dangling, r"does not exist"),
    ]


def garbage_bytes(seed: int) -> list[BadCase]:
    rng = np.random.default_rng(seed)
    cases = [
        BadCase("empty-file", "garbage", _raw(b""), UNREADABLE),
        BadCase("whitespace", "garbage", _raw(b" \n\t \n"), UNREADABLE),
        BadCase("text", "garbage", _raw(b"this is not a model\n"), UNREADABLE),
        BadCase("json", "garbage", _raw(json.dumps({"graph": {"node": []}}).encode()), UNREADABLE),
        BadCase("onnx-textproto", "garbage",
                _raw(b'ir_version: 8\ngraph { node { op_type: "Relu" input: "x" output: "y" } }\n'), UNREADABLE),
        BadCase("npy-file", "garbage", _raw(b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, "
                                            b"'shape': (3,), }" + b" " * 40 + b"\n" + b"\x00" * 12), UNREADABLE),
        BadCase("zip-header", "garbage", _raw(b"PK\x03\x04" + bytes(rng.integers(0, 256, 200, np.uint8))),
                UNREADABLE),
        BadCase("elf-header", "garbage", _raw(b"\x7fELF\x02\x01\x01" + b"\x00" * 57), UNREADABLE),
        BadCase("zlib-of-model", "garbage", _raw(zlib.compress(mlp(seed).SerializeToString())), UNREADABLE),
        BadCase("all-0xff", "garbage", _raw(b"\xff" * 300), UNREADABLE),
        BadCase("all-zero", "garbage", _raw(b"\x00" * 300), UNREADABLE),
        BadCase("utf16-text", "garbage", _raw("ir_version: 8".encode("utf-16")), UNREADABLE),
    ]
    for i in range(30):
        size = int(rng.choice([1, 2, 3, 7, 16, 64, 255, 1024, 4096, 20000]))
        data = bytes(rng.integers(0, 256, size, np.uint8))
        cases.append(BadCase(f"random-bytes-{i}-{size}B", "garbage", _raw(data), UNREADABLE))
    return cases


def truncated(seed: int) -> list[BadCase]:
    """Valid models cut short at many points: inside headers, names, weights, the opset list."""
    rng = np.random.default_rng(seed)
    cases = []
    for label, model, count in (("mlp", mlp(seed), 40), ("cnn", cnn(seed), 20)):
        data = model.SerializeToString()
        cuts = sorted(set([1, 2, 3, 5, 8, 13, len(data) - 1, len(data) - 2, len(data) - 5]
                          + [int(c) for c in rng.integers(4, len(data) - 1, count)]))
        for cut in cuts[:count]:
            cases.append(BadCase(f"truncated-{label}-{cut}of{len(data)}", "truncated", _raw(data[:cut]),
                                 UNREADABLE))
    good = mlp(seed).SerializeToString()
    cases += [
        BadCase("trailing-garbage", "truncated", _raw(good + b"\xff\xff\xff\xff\x0f"), UNREADABLE),
        BadCase("two-models-concatenated", "truncated", _raw(good + good), UNREADABLE),
        BadCase("model-with-zlib-tail", "truncated", _raw(good[: len(good) // 2] + zlib.compress(good)), UNREADABLE),
    ]
    return cases


def wrong_messages(seed: int) -> list[BadCase]:
    """Valid protobufs of another ONNX message type saved as a .onnx file."""
    model = mlp(seed)
    tensor = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    messages = {
        "graph": model.graph,
        "node": model.graph.node[0],
        "tensor": tensor,
        "value-info": model.graph.input[0],
        "opset-id": model.opset_import[0],
        "attribute": helper.make_attribute("alpha", 1.0),
        "function": onnx.FunctionProto(name="f", domain="local", node=[model.graph.node[0]]),
        "sequence": onnx.SequenceProto(name="s", tensor_values=[tensor]),
        "type": model.graph.input[0].type,
    }
    return [BadCase(f"wrong-message-{k}", "wrong-message", _raw(m.SerializeToString()), UNREADABLE)
            for k, m in messages.items()]


def checker_failures(seed: int) -> list[BadCase]:
    cases = []

    def add(name, model, cause):
        cases.append(BadCase(name, "checker", _save(model), cause))

    b, x = _mlp_head(seed)
    good = _graph(b, _finish_mlp(b, x, 12))

    def variant(name: str, cause: str, mutate: Callable[[onnx.ModelProto], object]) -> None:
        model = onnx.ModelProto()
        model.CopyFrom(good)
        mutate(model)
        add(name, model, cause)

    def reverse_nodes(m: onnx.ModelProto) -> None:
        nodes = list(m.graph.node)
        del m.graph.node[:]
        m.graph.node.extend(nodes[::-1])

    first_gemm = next(i for i, n in enumerate(good.graph.node) if n.op_type == "Gemm")
    variant("ir-version-0", r"ir_version", lambda m: setattr(m, "ir_version", 0))
    variant("ir-version-99", r"ir_version 99", lambda m: setattr(m, "ir_version", 99))
    variant("no-opset-import", r"opset_import", lambda m: m.ClearField("opset_import"))
    variant("opset-99", r"opset 99", lambda m: setattr(m.opset_import[0], "version", 99))
    variant("empty-graph-name", r"'name' of 'graph'", lambda m: setattr(m.graph, "name", ""))
    variant("no-graph-output", r"exactly one output", lambda m: m.graph.ClearField("output"))
    variant("undefined-node-input", rf"'nowhere' of node: name: {good.graph.node[first_gemm].name} OpType: Gemm",
            lambda m: m.graph.node[first_gemm].input.__setitem__(0, "nowhere"))
    variant("duplicate-output-name", r"single static assignment",
            lambda m: m.graph.node[2].output.__setitem__(0, m.graph.node[1].output[0]))
    variant("nodes-out-of-order", r"topologically sorted", reverse_nodes)
    variant("initializer-short-raw-data", r"raw_data size .* too small",
            lambda m: setattr(m.graph.initializer[0], "raw_data", m.graph.initializer[0].raw_data[:-4]))
    variant("duplicate-initializer", r"initializer name is not unique",
            lambda m: m.graph.initializer.append(m.graph.initializer[0]))
    variant("input-undefined-type", r"element type UNDEFINED",
            lambda m: setattr(m.graph.input[0].type.tensor_type, "elem_type", 0))
    variant("empty-op-type", r"'op_type' of 'node'", lambda m: setattr(m.graph.node[0], "op_type", ""))
    variant("unknown-default-domain-op", r"No Op registered for Frobnicate",
            lambda m: setattr(m.graph.node[first_gemm], "op_type", "Frobnicate"))
    variant("attribute-wrong-type", r"Mismatched attribute type .*transB",
            lambda m: m.graph.node[first_gemm].attribute[0].CopyFrom(helper.make_attribute("transB", 1.0)))
    variant("initializer-unknown-dtype", r"data type 999", lambda m: setattr(m.graph.initializer[0], "data_type", 999))
    # A Cast without its required `to` attribute.
    b = ModelBuilder((8,), seed)
    y = b.node("Cast", [b.start()])
    add("missing-required-attribute", _graph(b, y), r"Required attribute 'to' is missing")
    # Gemm whose weight does not match the input length: shape inference rejects it.
    b = ModelBuilder((16,), seed)
    y = b.node("Gemm", [b.start(), b.const(np.ones((10, 12)))], transB=1)
    add("gemm-k-mismatch", _graph(b, y), r"shape inference failed: .*op_type:Gemm.*Dimension mismatch")
    # BatchNorm with fewer scale values than channels.
    b = ModelBuilder((16,), seed)
    y = b.gemm(b.start(), 16, 12)
    y = b.node("BatchNormalization", [y] + [b.const(np.ones(5)) for _ in range(4)])
    add("batchnorm-channel-mismatch", _graph(b, y), r"shape inference failed: .*op_type:BatchNormalization")
    # Conv whose weight expects 3 input channels on a 1-channel image.
    b = ModelBuilder((1, 8, 8), seed)
    y = b.node("Conv", [b.start(), b.const(np.ones((4, 3, 3, 3)))], kernel_shape=[3, 3])
    add("conv-channel-mismatch", _graph(b, y), r"input has 1 channels, weights expect 3")
    # Bias vectors whose length does not match the output channels (shape inference lets these through).
    b = ModelBuilder((16,), seed)
    y = b.gemm(b.start(), 16, 12)
    y = b.node("Gemm", [b.node("Sign", [y]), b.const(np.ones((10, 12))), b.const(np.ones(7))], transB=1)
    add("gemm-bias-length", _graph(b, y), r"C of shape \(7,\) does not broadcast")
    b = ModelBuilder((1, 8, 8), seed)
    y = b.node("Conv", [b.start(), b.const(np.ones((4, 1, 3, 3))), b.const(np.ones(3))], kernel_shape=[3, 3])
    add("conv-bias-length", _graph(b, y), r"bias has 3 values for 4 output channels")
    # Gemm scale factors that are not finite or zero.
    for label, alpha, beta, cause in (("alpha-nan", np.nan, 1.0, r"alpha \* B holds 160 non-finite"),
                                      ("alpha-inf", np.inf, 1.0, r"alpha \* B holds 160 non-finite"),
                                      ("beta-nan", 1.0, np.nan, r"beta \* C holds 10 non-finite")):
        b = ModelBuilder((16,), seed)
        y = b.node("Gemm", [b.start(), b.const(np.ones((10, 16))), b.const(np.ones(10))], transB=1, alpha=alpha,
                   beta=beta)
        add(f"gemm-{label}", _graph(b, y), cause)
    # Names that are not valid UTF-8: the checker accepts them, protobuf returns bytes.
    for label, field in (("node-name", "name"), ("node-output", "output")):
        b, x = _mlp_head(seed)
        out = _finish_mlp(b, x, 12)
        model = _graph(b, out)
        node = model.graph.node[2]
        marker = node.name if field == "name" else node.output[0]
        data = model.SerializeToString().replace(marker.encode(), marker.encode()[:-1] + b"\xff")
        cases.append(BadCase(f"invalid-utf8-{label}", "checker", _raw(data), r"not valid UTF-8"))
    # Conv kernel larger than the image.
    b = ModelBuilder((1, 4, 4), seed)
    y = b.node("Conv", [b.start(), b.const(np.ones((4, 1, 7, 7)))], kernel_shape=[7, 7])
    add("conv-kernel-larger-than-image", _graph(b, y), r"window \(7, 7\) does not fit input \(4, 4\)")
    return cases


_UNARY_UNSUPPORTED = ["Tanh", "Sigmoid", "Exp", "Abs", "Neg", "Floor", "Ceil", "Round",
                      "HardSigmoid", "Softplus", "Elu", "Selu", "Erf", "Cos", "Reciprocal", "Softsign",
                      "HardSwish", "Sin"]


def unsupported_ops(seed: int) -> list[BadCase]:
    """Valid ONNX that bnncc cannot compile; every offending node must be listed by name and op."""
    rng = np.random.default_rng(seed)
    cases = []
    for i, op in enumerate(_UNARY_UNSUPPORTED):
        b, x = _mlp_head(seed + i)
        y = b.node(op, [x])
        name = b.nodes[-1].name
        out = _finish_mlp(b, y, 12)
        cases.append(BadCase(f"unsupported-{op}", "unsupported", _save(_graph(b, out)),
                             r"unsupported construct", (f"node '{name}' (op {op})",)))
    # Several unsupported ops at once, placed along one chain: all must be listed, not the first only.
    for i in range(12):
        count = 2 + i % 4
        ops = [str(o) for o in rng.choice(_UNARY_UNSUPPORTED, count, replace=False)]
        b, x = _cnn_head(seed + 100 + i)
        listed = []
        for op in ops:
            x = b.node(op, [x])
            listed.append(f"node '{b.nodes[-1].name}' (op {op})")
        x = b.flatten(x)
        out = _finish_mlp(b, x, 8 * 8 * 8)
        cases.append(BadCase(f"unsupported-{count}-at-once-{i}", "unsupported", _save(_graph(b, out)),
                             rf"uses {count} unsupported construct", tuple(listed)))
    # Ops in other positions: a live Softsign after a (supported) average pool, LRN, a Resize, reductions
    # and pools in forms bnncc does not take. (A Transpose keeping the batch axis first is a relayout now.)
    b, x = _cnn_head(seed)
    y = b.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
    z = b.node("Softsign", [y])
    w = b.node("LRN", [z], size=3)
    listed = tuple(f"'{n.name}' (op {n.op_type})" for n in b.nodes[-2:])
    out = _finish_mlp(b, b.flatten(w), 8 * 4 * 4)
    cases.append(BadCase("unsupported-pool-softsign-lrn", "unsupported", _save(_graph(b, out)),
                         r"uses 2 unsupported construct", listed))
    b, x = _cnn_head(seed)
    y = b.node("GlobalMaxPool", [x])
    listed = (f"'{b.nodes[-1].name}' (op GlobalMaxPool)",)
    out = _finish_mlp(b, b.flatten(y), 8)
    cases.append(BadCase("unsupported-global-max-pool", "unsupported", _save(_graph(b, out)),
                         r"unsupported construct", listed))
    b, x = _cnn_head(seed)
    y = b.node("ReduceMean", [x], axes=[1], keepdims=0)
    listed = (f"'{b.nodes[-1].name}' (op ReduceMean)",)
    out = _finish_mlp(b, b.flatten(y), 64)
    cases.append(BadCase("unsupported-reduce-mean-channels", "unsupported", _save(_graph(b, out)),
                         r"only a mean over H and W", listed))
    b, x = _cnn_head(seed)
    scales = b.const(np.array([1, 1, 2, 2]))
    y = b.node("Resize", [x, "", scales], mode="nearest")
    out = _finish_mlp(b, b.flatten(y), 8 * 16 * 16)
    cases.append(BadCase("unsupported-resize", "unsupported", _save(_graph(b, out)),
                         r"unsupported construct", (f"'{b.nodes[-5].name}' (op Resize)",)))
    # Nodes without names are still listed, by op and position.
    b, x = _mlp_head(seed)
    b.nodes.append(helper.make_node("Exp", [x], ["r"]))
    b.nodes.append(helper.make_node("Tanh", ["r"], ["t"]))
    out = _finish_mlp(b, "t", 12)
    cases.append(BadCase("unsupported-unnamed-nodes", "unsupported", _save(_graph(b, out)),
                         r"uses 2 unsupported construct", ("(op Exp)", "(op Tanh)")))
    # Custom domains (Brevitas/QONNX style quantizers, vendor ops).
    for domain, op in (("qonnx.custom_op.general", "Quant"), ("com.microsoft", "QuickGelu"),
                       ("com.example.bnn", "BinaryDense")):
        b, x = _mlp_head(seed)
        node = helper.make_node(op, [x], ["custom_out"], name="my_custom", domain=domain)
        b.nodes.append(node)
        out = _finish_mlp(b, "custom_out", 12)
        model = _graph(b, out, opsets=[helper.make_opsetid("", 17), helper.make_opsetid(domain, 1)])
        # Nothing downstream is blamed for the unknown shape the custom op leaves behind.
        if op == "Quant":  # a QONNX quantizer is lowered to standard ops (canonicalize/qonnx_quantizers.py)
            cases.append(BadCase("custom-domain-Quant", "unsupported", _save(model), r"the scale input is missing",
                                 ("node 'my_custom' (op Quant)",)))
            continue
        cases.append(BadCase(f"custom-domain-{op}", "unsupported", _save(model), r"uses 1 unsupported construct",
                             (f"node 'my_custom' (op {domain}.{op}): custom domain",)))
    # A custom op followed by an unsupported standard op: both listed.
    b, x = _mlp_head(seed)
    b.nodes.append(helper.make_node("Quant", [x], ["q"], name="quant", domain="com.example.bnn"))
    y = b.node("Tanh", ["q"])
    out = _finish_mlp(b, y, 12)
    model = _graph(b, out, opsets=[helper.make_opsetid("", 17), helper.make_opsetid("com.example.bnn", 1)])
    cases.append(BadCase("custom-domain-then-tanh", "unsupported", _save(model), r"uses 2 unsupported construct",
                         ("'quant' (op com.example.bnn.Quant)", "(op Tanh)")))
    # A custom quantizer on the weights: the constant subgraph cannot be folded.
    b = ModelBuilder((16,), seed)
    # (QONNX's own BipolarQuant/Quant are lowered to standard ops; a vendor quantizer is not.)
    b.nodes.append(helper.make_node("BipolarQuant", [b.const(b.rng.standard_normal((10, 16))), b.const(1.0)],
                                    ["wq"], name="weight_quant", domain="com.example.bnn"))
    y = b.node("Gemm", [b.start(), "wq"], transB=1)
    model = _graph(b, y, opsets=[helper.make_opsetid("", 17), helper.make_opsetid("com.example.bnn", 1)])
    cases.append(BadCase("custom-domain-weight-quantizer", "unsupported", _save(model),
                         r"custom-domain op\(s\) that cannot be folded",
                         ("'weight_quant' (op com.example.bnn.BipolarQuant)",)))
    return cases


def non_binary_weights(seed: int) -> list[BadCase]:
    rng = np.random.default_rng(seed)

    def signs(shape):
        s = np.where(rng.standard_normal(shape) >= 0, 1.0, -1.0)
        return s.astype(np.float32)

    # Weights that are finite but not +-alpha per channel compile as float32 layers (issue 8; tested in
    # tests/e2e/test_mixed_precision.py). Non-finite weights are still refused.
    variants: list[tuple[str, Callable[[tuple], np.ndarray], str]] = [
        ("nan", lambda s: _set_flat(signs(s), 2, np.nan), r"non-finite"),
        ("inf", lambda s: _set_flat(signs(s), 2, np.inf), r"non-finite"),
        ("minus-inf", lambda s: _set_flat(signs(s), 0, -np.inf), r"non-finite"),
        ("gaussian-nan", lambda s: _set_flat(rng.standard_normal(s), 1, np.nan), r"non-finite"),
    ]
    cases = []
    for label, make, cause in variants:
        # Dense, second layer (binary input).
        b, x = _mlp_head(seed)
        w = b.const(make((10, 12)))
        out = b.node("Gemm", [x, w], transB=1)
        gemm = b.nodes[-1].name
        cases.append(BadCase(f"nonbinary-gemm-{label}", "non-binary", _save(_graph(b, out)), cause,
                             (f"'{gemm}' (op Gemm)",)))
        # Conv, first layer (real input).
        b = ModelBuilder((1, 6, 6), seed)
        y = b.node("Conv", [b.start(), b.const(make((4, 1, 3, 3)))], kernel_shape=[3, 3])
        conv = b.nodes[-1].name
        y = b.sign(b.batchnorm(y, 4, fan_in=9))
        cases.append(BadCase(f"nonbinary-conv-{label}", "non-binary", _save(_graph(b, y)), cause,
                             (f"'{conv}' (op Conv)",)))
    # The binary weight is right but BatchNorm parameters are not finite numbers.
    for label, field, value, cause in (("nan-gamma", 0, np.nan, r"scale holds 1 non-finite"),
                                       ("inf-mean", 2, np.inf, r"mean holds 1 non-finite"),
                                       ("nan-var", 3, np.nan, r"var holds 1 non-finite"),
                                       ("negative-var", 3, -4.0, r"var \+ epsilon is not positive on 1 channel")):
        b, x = _mlp_head(seed)
        y = b.gemm(x, 12, 10)
        y = b.batchnorm(y, 10, fan_in=12)
        bn = b.nodes[-1]
        arr = numpy_helper.to_array(next(t for t in b.inits if t.name == bn.input[1 + field])).copy()
        arr[3] = value
        idx = next(i for i, t in enumerate(b.inits) if t.name == bn.input[1 + field])
        b.inits[idx] = numpy_helper.from_array(arr.astype(np.float32), bn.input[1 + field])
        y = b.sign(y)
        out = _finish_mlp(b, y, 10)
        cases.append(BadCase(f"batchnorm-{label}", "non-binary", _save(_graph(b, out)),
                             cause, (f"'{bn.name}' (op BatchNormalization)",)))
    return cases


def _int64(b: ModelBuilder, values) -> str:
    """An int64 initializer (shapes, axes): ModelBuilder.const makes float32 only."""
    name = b._name("shape")
    b.inits.append(numpy_helper.from_array(np.asarray(values, np.int64), name))
    return name


def _set_flat(arr: np.ndarray, index: int, value: float) -> np.ndarray:
    arr = np.array(arr, np.float64)
    arr.reshape(-1)[index] = value
    return arr


def _scale_flat(arr: np.ndarray, index: int, factor: float) -> np.ndarray:
    """One weight's magnitude off by `factor`: just beyond the 0.5 % a folded scale may drift."""
    arr = np.array(arr, np.float64)
    arr.reshape(-1)[index] *= factor
    return arr


def shapes(seed: int) -> list[BadCase]:
    cases = []

    def mlp_input(dims):
        b, x = _mlp_head(seed)
        out = _finish_mlp(b, x, 12)
        return _graph(b, out, inputs=[helper.make_tensor_value_info("input", FLOAT, dims)])

    def cnn_input(dims):
        b, x = _cnn_head(seed)
        out = _finish_mlp(b, b.flatten(x), 8 * 8 * 8)
        return _graph(b, out, inputs=[helper.make_tensor_value_info("input", FLOAT, dims)])

    dynamic = r"has a dynamic dimension"
    for label, dims in (("H", [1, 1, "H", 8]), ("W", [1, 1, 8, "W"]), ("HW", ["N", 1, "height", "width"]),
                        ("C", [1, "C", 8, 8]), ("unnamed-H", [1, 1, None, 8])):
        cases.append(BadCase(f"dynamic-{label}", "shape", _save(cnn_input(dims)), dynamic))
    cases.append(BadCase("dynamic-features", "shape", _save(mlp_input([1, "features"])), dynamic))
    cases.append(BadCase("input-without-shape", "shape", _save(mlp_input(None)), r"Field 'shape' of 'type' is required"))
    for batch in (2, 8):
        cases.append(BadCase(f"batch-{batch}-mlp", "shape", _save(mlp_input([batch, 16])), rf"batch {batch}"))
        cases.append(BadCase(f"batch-{batch}-cnn", "shape", _save(cnn_input([batch, 1, 8, 8])), rf"batch {batch}"))
    cases.append(BadCase("input-size-0", "shape", _save(mlp_input([1, 0])), r"size 0 in dimension 1"))
    cases.append(BadCase("input-size-0-spatial", "shape", _save(cnn_input([1, 1, 0, 8])), r"size 0 in dimension 2"))
    cases.append(BadCase("scalar-input", "shape", _save(mlp_input([])), r"shape inference failed: .*rank 0"))
    cases.append(BadCase("input-rank-mismatch", "shape", _save(mlp_input([1, 4, 4])), r"shape inference failed: .*rank 3"))
    # Non-float inputs: the generated C takes float.
    for label, dtype in (("int64", TensorProto.INT64), ("double", TensorProto.DOUBLE),
                         ("float16", TensorProto.FLOAT16), ("bool", TensorProto.BOOL)):
        b = ModelBuilder((16,), seed)
        x = b.node("Cast", [b.start()], to=FLOAT)
        out = _finish_mlp(b, x, 16)
        model = _graph(b, out, inputs=[helper.make_tensor_value_info("input", dtype, [1, 16])])
        cases.append(BadCase(f"input-{label}", "shape", _save(model), rf"element type {label.upper()}; .*float32"))
    # A double-precision model end to end.
    b = ModelBuilder((16,), seed)
    w = numpy_helper.from_array(np.where(b.rng.standard_normal((10, 16)) >= 0, 1.0, -1.0), "w64")
    b.inits.append(w)
    b.nodes.append(helper.make_node("Gemm", ["input", "w64"], ["y64"], name="gemm64", transB=1))
    graph = helper.make_graph(b.nodes, "g", [helper.make_tensor_value_info("input", TensorProto.DOUBLE, [1, 16])],
                              [helper.make_tensor_value_info("y64", TensorProto.DOUBLE, [1, None])], initializer=b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    cases.append(BadCase("double-model", "shape", _save(model), r"element type DOUBLE"))
    return cases


def graph_structure(seed: int) -> list[BadCase]:
    cases = []

    def add(name, model, cause, *nodes):
        cases.append(BadCase(name, "structure", _save(model), cause, nodes))

    # Two inputs, both used by an Add; one unused; no real input at all.
    b, x = _mlp_head(seed)
    y = b.node("Add", [x, "second"])
    out = _finish_mlp(b, y, 12)
    add("two-inputs", _graph(b, out, inputs=[helper.make_tensor_value_info("input", FLOAT, [1, 16]),
                                             helper.make_tensor_value_info("second", FLOAT, [1, 12])]),
        r"exactly one input.*2")
    b, x = _mlp_head(seed)
    out = _finish_mlp(b, x, 12)
    add("two-inputs-one-unused", _graph(b, out, inputs=[helper.make_tensor_value_info("input", FLOAT, [1, 16]),
                                                        helper.make_tensor_value_info("spare", FLOAT, [1, 3])]),
        r"exactly one input.*spare")
    b = ModelBuilder((16,), seed)
    y = b.node("Sign", [b.const(np.ones((1, 4)))])
    add("no-input", _graph(b, y, inputs=[]), r"exactly one input.*none")
    # Two outputs, and an output that is the input, or a constant.
    b, x = _mlp_head(seed)
    out = _finish_mlp(b, x, 12)
    add("two-outputs", _graph(b, [out, x]), r"exactly one output.*2")
    b, x = _cnn_head(seed)
    p = b.maxpool(x)
    out = _finish_mlp(b, b.flatten(p), 8 * 4 * 4)
    add("two-outputs-cnn", _graph(b, [p, out]), r"exactly one output")
    b = ModelBuilder((16,), seed)
    y = b.node("Identity", [b.start()])
    add("output-is-input-identity", _graph(b, y), r"output is its input")
    b = ModelBuilder((16,), seed)
    y = b.node("Dropout", [b.node("Identity", [b.start()])])
    add("output-is-input-dropout", _graph(b, y), r"output is its input")
    b = ModelBuilder((16,), seed)
    b.nodes.append(helper.make_node("Identity", ["input"], ["unused"], name="idle"))
    graph = helper.make_graph(b.nodes, "g", [helper.make_tensor_value_info("input", FLOAT, [1, 16])],
                              [helper.make_tensor_value_info("input", FLOAT, [1, 16])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    add("graph-output-named-as-input", model, r"output is its input")
    b = ModelBuilder((16,), seed)
    y = b.flatten(b.start())
    add("output-is-flattened-input", _graph(b, y), r"output is its input")
    b, x = _cnn_head(seed)
    b.nodes.append(helper.make_node("Split", [x], ["half1", "half2"], name="split", axis=1))
    y = b.node("Div", ["half1", "half2"])
    out = _finish_mlp(b, b.flatten(b.sign(y)), 4 * 8 * 8)
    # the Div of the two halves is supported: only the Split is listed
    add("split-then-divide", _graph(b, out), r"uses 1 unsupported construct", "'split' (op Split)")
    b = ModelBuilder((16,), seed)
    y = b.node("Gemm", [b.start(), b.const(np.ones((0, 16)))], transB=1)
    add("gemm-no-outputs", _graph(b, y), r"weight is empty", f"'{b.nodes[-1].name}' (op Gemm)")
    b = ModelBuilder((1, 8, 8), seed)
    y = b.node("Conv", [b.start(), b.const(np.ones((0, 1, 3, 3)))], kernel_shape=[3, 3])
    add("conv-no-outputs", _graph(b, y), r"weight is empty", f"'{b.nodes[-1].name}' (op Conv)")
    b = ModelBuilder((16,), seed)
    b.nodes.append(helper.make_node("Sign", ["input"], ["s"], name="unused_sign"))
    c = b.node("Sign", [b.const(np.ones((1, 4)))])
    add("output-is-constant", _graph(b, c), r"does not depend on the input")
    return cases


def unsupported_forms(seed: int) -> list[BadCase]:
    """Supported ops used in a form the kernels do not cover: each names the node, the op and the reason."""
    cases = []

    def add(name, model, cause, *nodes):
        cases.append(BadCase(name, "form", _save(model), cause, tuple(nodes)))

    def conv_model(c_in, build, hw=8):
        b = ModelBuilder((c_in, hw, hw), seed)
        y = build(b)
        name = b.nodes[-1].name
        y = b.sign(b.batchnorm(y, 4, fan_in=9))
        return _graph(b, y), name

    def w(b, shape):
        return b.const(np.where(b.rng.standard_normal(shape) >= 0, 1.0, -1.0))

    for groups in (2,):  # group 4 of 4 channels is depthwise: supported (float32 layer)
        model, name = conv_model(4, lambda b: b.node("Conv", [b.start(), w(b, (4, 4 // groups, 3, 3))],
                                                     kernel_shape=[3, 3], group=groups))
        add(f"group-conv-{groups}", model, rf"group={groups}", f"'{name}' (op Conv)")
    # 1-D and 3-D convolutions and pools.
    b = ModelBuilder((2, 16), seed)
    y = b.node("Conv", [b.start(), w(b, (4, 2, 3))], kernel_shape=[3])
    add("conv-1d", _graph(b, y), r"2-D|\(C, H, W\)", f"'{b.nodes[-1].name}' (op Conv)")
    b = ModelBuilder((2, 16), seed)
    y = b.node("Conv", [b.start(), w(b, (4, 2, 3))], kernel_shape=[3])
    y = b.sign(b.batchnorm(y, 4, fan_in=6))
    y = b.node("Flatten", [y], axis=1)
    out = _finish_mlp(b, y, 4 * 14)
    add("conv-1d-in-mlp", _graph(b, out), r"2-D|\(C, H, W\)", "(op Conv)")
    b = ModelBuilder((2, 6, 6, 6), seed)
    y = b.node("Conv", [b.start(), w(b, (4, 2, 3, 3, 3))], kernel_shape=[3, 3, 3])
    add("conv-3d", _graph(b, y), r"2-D|\(C, H, W\)", f"'{b.nodes[-1].name}' (op Conv)")
    b = ModelBuilder((2, 16), seed)
    y = b.node("MaxPool", [b.start()], kernel_shape=[2], strides=[2])
    add("maxpool-1d", _graph(b, y), r"2-D|\(C, H, W\)", f"'{b.nodes[-1].name}' (op MaxPool)")
    b = ModelBuilder((2, 6, 6, 6), seed)
    y = b.node("MaxPool", [b.start()], kernel_shape=[2, 2, 2])
    add("maxpool-3d", _graph(b, y), r"2-D|\(C, H, W\)", f"'{b.nodes[-1].name}' (op MaxPool)")
    # Gemm transA, and linear layers whose weights are computed from the input.
    # (1, K)^T @ (1, N) is a (K, N) outer product: shape inference accepts it, bnncc must not.
    b = ModelBuilder((16,), seed)
    y = b.node("Gemm", [b.start(), w(b, (1, 10))], transA=1)
    add("gemm-transA-first", _graph(b, y), r"transA", f"'{b.nodes[-1].name}' (op Gemm)")
    b, x = _mlp_head(seed)
    y = b.node("Gemm", [x, w(b, (1, 10))], transA=1)
    add("gemm-transA-second", _graph(b, y), r"transA", f"'{b.nodes[-1].name}' (op Gemm)")
    b, x = _mlp_head(seed, k=12, n=12)
    column = b.node("Reshape", [x, _int64(b, [12, 1])])
    y = b.node("MatMul", [x, column])
    add("matmul-two-computed", _graph(b, y), r"must be a constant", f"'{b.nodes[-1].name}' (op MatMul)")
    b = ModelBuilder((1, 8, 8), seed)
    y = b.node("Conv", [b.start(), b.node("Reshape", [b.start(), _int64(b, [1, 1, 8, 8])])], kernel_shape=[8, 8])
    add("conv-weight-from-input", _graph(b, y), r"must be a constant", f"'{b.nodes[-1].name}' (op Conv)")
    # Two computed tensors: broadcasts other than full, (C, 1, 1), (1, H, W) or scalar are refused.
    for op in ("Add", "Mul", "Sub", "Div"):
        b, x = _cnn_head(seed)
        y = b.conv(x, 8, 8, 3, pads=(1, 1, 1, 1))
        y = b.batchnorm(y, 8, fan_in=72)
        y = b.node("MaxPool", [y], kernel_shape=[1, 8])  # (8, 8, 1) against (8, 8, 8)
        r = b.node(op, [y, x])
        name = b.nodes[-1].name
        out = _finish_mlp(b, b.flatten(b.sign(r)), 8 * 8 * 8)
        cause = r"only equal shapes, \(C, 1, 1\), \(1, H, W\) or scalar"
        add(f"two-computed-{op}", _graph(b, out), cause, f"'{name}' (op {op})")
    # Where forms that are not binarizers.
    def where_case(label, build, cause=r"only the binarizer form Where\(x >= 0, 1, -1\)"):
        b, x = _mlp_head(seed)
        y = b.gemm(x, 12, 10)
        y = b.batchnorm(y, 10, fan_in=12)
        y = build(b, y)
        out = _finish_mlp(b, y, 10)
        add(f"where-{label}", _graph(b, out), cause, "Where")

    zero = lambda b: b.const(0.0)  # noqa: E731
    where_case("two-and-minus-one", lambda b, y: b.node("Where", [b.node("GreaterOrEqual", [y, zero(b)]),
                                                                  b.const(2.0), b.const(-1.0)]))
    where_case("one-and-zero", lambda b, y: b.node("Where", [b.node("GreaterOrEqual", [y, zero(b)]),
                                                             b.const(1.0), b.const(0.0)]))
    where_case("passes-x", lambda b, y: b.node("Where", [b.node("GreaterOrEqual", [y, zero(b)]),
                                                         y, b.const(-1.0)]), r"X must be a constant")
    where_case("threshold-half", lambda b, y: b.node("Where", [b.node("GreaterOrEqual", [y, b.const(0.5)]),
                                                               b.const(1.0), b.const(-1.0)]))
    where_case("negative-sign", lambda b, y: b.node("Where", [b.node("Less", [y, zero(b)]),
                                                              b.const(1.0), b.const(-1.0)]), r"-sign")
    where_case("cond-from-cast", lambda b, y: b.node("Where", [b.node("Cast", [y], to=TensorProto.BOOL),
                                                               b.const(1.0), b.const(-1.0)]))
    where_case("per-channel-values", lambda b, y: b.node("Where", [b.node("Greater", [y, zero(b)]),
                                                                   b.const(np.linspace(1, 2, 10)),
                                                                   b.const(-1.0)]))
    where_case("compare-two-computed", lambda b, y: b.node("Where", [b.node("Greater", [y, b.node("Neg", [y])]),
                                                                     b.const(1.0), b.const(-1.0)]))

    def lone_comparison(b, y):
        b.node("GreaterOrEqual", [y, zero(b)])  # a comparison feeding nothing the compiler knows
        return b.node("Sign", [y])

    where_case("dangling-comparison", lone_comparison, r"comparison")
    # Clip: bounds must be constant scalars and not NaN (a clip that changes the sign is a float clamp).
    def clip_case(label, bounds, cause):
        b, x = _mlp_head(seed)
        y = b.batchnorm(b.gemm(x, 12, 10), 10, fan_in=12)
        y = b.node("Clip", [y] + bounds(b, y))
        clip = b.nodes[-1].name
        add(f"clip-{label}", _graph(b, _finish_mlp(b, b.sign(y), 10)), cause, f"'{clip}' (op Clip)")

    clip_case("vector-min", lambda b, y: [b.const([-1.0, -2.0]), b.const(1.0)], r"min must be a scalar")
    clip_case("nan-max", lambda b, y: [b.const(-1.0), b.const(np.nan)], r"max holds 1 non-finite")
    clip_case("computed-min", lambda b, y: [y, b.const(1.0)], r"min must be a constant")
    b, x = _mlp_head(seed)
    y = b.node("Cast", [x], to=TensorProto.INT32)
    cast = b.nodes[-1].name
    y = b.node("Cast", [y], to=FLOAT)
    add("cast-to-int32", _graph(b, _finish_mlp(b, y, 12)), r"only casts to float32", f"'{cast}' (op Cast)")
    # Attributes and forms outside the kernels.
    b, x = _mlp_head(seed)
    y = b.gemm(x, 12, 10)
    bn = b.node("BatchNormalization", [y] + [b.const(np.ones(10)) for _ in range(4)], training_mode=1)
    add("batchnorm-training-mode", _graph(b, bn), r"training_mode",
        "BatchNormalization")
    b, x = _mlp_head(seed)
    b.nodes.append(helper.make_node("Dropout", [x], ["d", "mask"], name="drop"))
    out = _finish_mlp(b, "d", 12)
    add("dropout-mask-output", _graph(b, out), r"mask", "'drop' (op Dropout)")
    b, x = _cnn_head(seed)
    b.nodes.append(helper.make_node("MaxPool", [x], ["p", "idx"], name="pool_idx", kernel_shape=[2, 2],
                                    strides=[2, 2]))
    out = _finish_mlp(b, b.flatten("p"), 8 * 4 * 4)
    add("maxpool-indices", _graph(b, out), r"Indices", "'pool_idx' (op MaxPool)")
    b = ModelBuilder((1, 7, 7), seed)
    y = b.conv(b.start(), 1, 4, 3, pads=(1, 1, 1, 1))
    y = b.node("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    add("maxpool-ceil-mode", _graph(b, b.sign(y)), r"ceil_mode", "(op MaxPool)")
    b, x = _cnn_head(seed)
    y = b.node("Flatten", [x], axis=2)
    add("flatten-axis-2", _graph(b, y), r"axis", "(op Flatten)")
    b, x = _cnn_head(seed)
    y = b.node("Reshape", [x, _int64(b, [1, 32, 4, 2])])
    add("reshape-not-flatten", _graph(b, y), r"not a flatten", "(op Reshape)")
    b, x = _cnn_head(seed)
    y = b.node("Reshape", [x, _int64(b, [2, 256])])
    add("reshape-batch-2", _graph(b, y), r"batch 1", "(op Reshape)")
    b, x = _cnn_head(seed)
    y = b.node("Softmax", [x], axis=1)
    add("softmax-feature-map", _graph(b, y), r"softmax", "(op Softmax)")
    # (a strict binarizer on a real tensor and a per-channel Add after a pool compile since issue 8)
    b, x = _mlp_head(seed)
    y = b.gemm(x, 12, 10)
    y = b.node("Div", [b.const(np.ones(10)), y])
    div = b.nodes[-1].name
    add("div-constant-first", _graph(b, b.sign(y)), r"dividing a constant", f"'{div}' (op Div)")
    b, x = _mlp_head(seed)
    y = b.gemm(x, 12, 10)
    y = b.node("Div", [y, b.const(np.where(np.arange(10) % 4 == 1, 0.0, 2.0))])
    div = b.nodes[-1].name
    add("div-by-zero", _graph(b, b.sign(y)), r"divides by zero on 3 channel\(s\) \(first: channel 1\)",
        f"'{div}' (op Div)")
    b, x = _mlp_head(seed)
    y = b.node("Gemm", [x, b.const(np.where(b.rng.standard_normal((10, 12)) >= 0, 3e38, -3e38))], transB=1)
    gemm = b.nodes[-1].name
    add("binary-weights-overflow-float32", _graph(b, b.sign(b.batchnorm(y, 10, fan_in=12))),
        r"fan-in 12 overflow float32", f"'{gemm}' (op Gemm)")
    b, x = _cnn_head(seed)
    y = b.conv(x, 8, 4, 3)
    y = b.node("Mul", [y, b.const(np.ones((1, 4, 6, 6)))])
    add("mul-not-per-channel", _graph(b, y), r"per-channel", "(op Mul)")
    b, x = _cnn_head(seed)
    y = b.node("Conv", [x, w(b, (4, 8, 3, 3))], kernel_shape=[3, 3], auto_pad="SAME_WHATEVER")
    add("conv-bad-auto-pad", _graph(b, y), r"auto_pad=SAME_WHATEVER is not supported", "(op Conv)")
    b, x = _cnn_head(seed)
    y = b.node("Conv", [x, w(b, (4, 8, 3, 3))], kernel_shape=[3, 3], strides=[0, 0])
    add("conv-stride-0", _graph(b, y), r"strides must only contain positive", "conv")
    b, x = _cnn_head(seed)
    y = b.node("Conv", [x, w(b, (4, 8, 3, 3))], kernel_shape=[3, 3], pads=[-1, -1, -1, -1])
    add("conv-negative-pads", _graph(b, y), r"pads must not contain negative", "conv")
    b, x = _cnn_head(seed)
    y = b.node("Conv", [x, w(b, (4, 8, 3, 3))], kernel_shape=[3, 3], dilations=[5, 5])
    add("conv-dilation-too-large", _graph(b, y), r"window \(3, 3\) does not fit", "(op Conv)")
    return cases


def external_data(seed: int) -> list[BadCase]:
    """Models whose weights live in a side file that is missing, short, or outside the model folder."""
    cases = []

    def with_external(label, mutate, cause):
        def write(folder: Path) -> Path:
            model = mlp(seed, sizes=(64, 96, 10))
            sub = folder / label
            sub.mkdir()
            onnx.save_model(model, sub / "model.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                            location="weights.bin", size_threshold=64)
            mutate(sub)
            return sub / "model.onnx"

        cases.append(BadCase(f"external-{label}", "external", write, cause))

    missing = r"cannot load the external data .*weights\.bin"
    short = r"cannot load the external data .*exceeds available data"
    with_external("missing", lambda sub: (sub / "weights.bin").unlink(), missing)
    with_external("empty", lambda sub: (sub / "weights.bin").write_bytes(b""), short)
    with_external("short", lambda sub: (sub / "weights.bin").write_bytes((sub / "weights.bin").read_bytes()[:100]),
                  short)
    with_external("is-folder", lambda sub: ((sub / "weights.bin").unlink(), (sub / "weights.bin").mkdir()), missing)

    def relocate(location):
        def mutate(sub: Path) -> None:
            model = onnx.load(sub / "model.onnx", load_external_data=False)
            for tensor in model.graph.initializer:
                for entry in tensor.external_data:
                    if entry.key == "location":
                        entry.value = location
            (sub / "model.onnx").write_bytes(model.SerializeToString())

        return mutate

    with_external("path-traversal", relocate("../../../../etc/passwd"), r"external data .*points outside")
    with_external("absolute-path", relocate("/etc/hostname"), r"external data .*absolute path")
    with_external("renamed", relocate("other_weights.bin"), r"external data .*other_weights\.bin")
    return cases


def all_cases(seed: int = 20261127) -> list[BadCase]:
    cases = (missing_files() + garbage_bytes(seed) + truncated(seed) + wrong_messages(seed)
             + checker_failures(seed) + unsupported_ops(seed) + non_binary_weights(seed) + shapes(seed)
             + graph_structure(seed) + unsupported_forms(seed) + external_data(seed))
    names = [c.name for c in cases]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate case names: {sorted(duplicates)}")
    return cases
