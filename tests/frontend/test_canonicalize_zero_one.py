"""DoReFa-style {0,1} activations (s + 1) / 2 read by binary layers: the fold (the {0,1} x +-1 dot product on
the bits of s) against the unfolded math, by brute force, and compiled C against onnxruntime."""

import itertools

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from bnncc.compiler import lower_model
from bnncc.frontend.canonicalize import canonicalize
from bnncc.passes.chain import reference_session_options
from bnncc.verify import verify_model
from tests.e2e.conftest import assert_bit_exact
from tests.helpers.onnx_models import ModelBuilder

SPELLINGS = ["div", "mul", "mul_add", "relu", "where_div"]


def zero_one(b: ModelBuilder, x: str, spelling: str) -> str:
    """{0,1} of x the ways torch code writes it: (sign(x) + 1) / 2, * 0.5, sign(x) * 0.5 + 0.5, relu(sign(x))."""
    if spelling == "where_div":
        return b.node("Div", [b.node("Add", [b.const(1.0), b.sign(x, "where")]), b.const(2.0)])
    s = b.sign(x, "sign")
    if spelling == "div":
        return b.node("Div", [b.node("Add", [s, b.const(1.0)]), b.const(2.0)])
    if spelling == "mul":
        return b.node("Mul", [b.const(0.5), b.node("Add", [s, b.const(1.0)])])
    if spelling == "mul_add":
        return b.node("Add", [b.node("Mul", [s, b.const(0.5)]), b.const(0.5)])
    return b.node("Relu", [s])


def _run(model: onnx.ModelProto, inputs: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), reference_session_options(),
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.stack([session.run(None, {name: x[None]})[0] for x in inputs])


def _assert_fold_is_exact(model, inputs):
    folded = canonicalize(model)
    signs = {n.output[0] for n in folded.graph.node if n.op_type in ("Sign", "Where")}
    readers = {n.op_type for n in folded.graph.node if signs & set(n.input)}
    assert readers <= {"Conv", "Gemm", "MatMul", "Pad", "MaxPool", "Flatten"}, readers  # no {0,1} step left
    want, got = _run(model, inputs), _run(folded, inputs)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))  # bit for bit
    return folded


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("layer", ["gemm_bias", "gemm_transB0", "matmul", "gemm_alpha"])
def test_dense_fold_equals_unfolded_math_on_every_input(spelling, layer):
    """Every {0,1} pattern of K = 11 inputs (2048): onnxruntime on the folded graph == on the original."""
    k, n = 11, 7
    b = ModelBuilder((k,), seed=3)
    a = zero_one(b, b.start(), spelling)
    rng = np.random.default_rng(1)
    signs = np.where(rng.random((n, k)) < 0.5, -1.0, 1.0)
    if layer == "gemm_alpha":  # per-channel power-of-two scales, as an exporter's BN fold leaves them
        signs = signs * (2.0 ** rng.integers(-3, 3, n))[:, None]
    if layer == "matmul":
        y = b.node("MatMul", [a, b.const(signs.T)])
    elif layer == "gemm_transB0":
        y = b.node("Gemm", [a, b.const(signs.T), b.const(rng.standard_normal(n))])
    else:
        y = b.node("Gemm", [a, b.const(signs), b.const(rng.standard_normal(n))], transB=1)
    model = b.build(y)
    inputs = np.array(list(itertools.product((-1.0, 1.0), repeat=k)), np.float32) * 0.75
    folded = _assert_fold_is_exact(model, inputs)
    linear = [node for node in folded.graph.node if node.op_type in ("Gemm", "MatMul")][0]
    assert linear.input[0] == [n.output[0] for n in folded.graph.node if n.op_type in ("Sign", "Where")][0]


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("pads,stride,dil,bias", [((1, 1, 1, 1), 1, 1, False), ((0, 0, 0, 0), 1, 1, True),
                                                   ((2, 0, 1, 1), 2, 1, True), ((1, 2, 1, 0), 1, 2, False)])
def test_conv_fold_equals_unfolded_math(spelling, pads, stride, dil, bias):
    """Zero padding of a {0,1} map is a -1 pad of the +-1 map; random +-1 inputs, bit-for-bit equal."""
    b = ModelBuilder((5, 7, 6), seed=4)
    a = zero_one(b, b.start(), spelling)
    y = b.conv(a, 5, 9, 3, stride=stride, pads=pads, dil=dil, bias=bias, via="const")
    model = b.build(b.flatten(y))
    inputs = np.where(np.random.default_rng(2).random((300, 5, 7, 6)) < 0.5, -1.0, 1.0).astype(np.float32)
    folded = _assert_fold_is_exact(model, inputs)
    pad_values = [n for n in folded.graph.node if n.op_type == "Pad"]
    assert len(pad_values) == (1 if any(pads) else 0)


def test_fold_through_maxpool_and_flatten_is_exact():
    b = ModelBuilder((4, 6, 6), seed=5)
    a = b.maxpool(zero_one(b, b.start(), "div"))
    y = b.gemm(b.flatten(a), 4 * 3 * 3, 6, bias=True, via="const")
    inputs = np.random.default_rng(3).choice([-2.0, 1.0], (300, 4, 6, 6)).astype(np.float32)
    _assert_fold_is_exact(b.build(y), inputs)


def dorefa_cnn(spelling="div", seed=0, pads=(1, 1, 1, 1)):
    """Real conv -> BN -> {0,1} -> binary conv -> BN -> {0,1} -> maxpool -> binary dense -> BN."""
    b = ModelBuilder((1, 8, 8), seed)
    x = b.batchnorm(b.conv(b.start(), 1, 16, 3, pads=(1, 1, 1, 1)), 16, fan_in=9)
    x = zero_one(b, x, spelling)
    x = b.batchnorm(b.conv(x, 16, 24, 3, pads=pads, bias=True), 24, fan_in=9 * 16 / 2)
    x = b.maxpool(zero_one(b, x, spelling))
    size = 24 * ((8 - 2 + pads[0] + pads[2]) // 2) * ((8 - 2 + pads[1] + pads[3]) // 2)
    return b.build(b.batchnorm(b.gemm(b.flatten(x), size, 10), 10, fan_in=size / 2))


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_dorefa_cnn_is_bit_exact_and_binary(tmp_path, spelling):
    model = dorefa_cnn(spelling)
    assert_bit_exact(model, samples=200)
    onnx.save(model, tmp_path / "m.onnx")
    kernels = [layer.kernel for layer in lower_model(tmp_path / "m.onnx").nodes]
    assert "bnn_pad_bits" in kernels  # the {0,1} map's zero padding, as -1 bits
    assert not [k for k in kernels if k.startswith(("bnn_channel", "bnn_unpack")) or "f32w" in k], kernels
    assert sum("bin" in k for k in kernels) == 2, kernels  # both binary layers read bits


def test_sign_at_zero_gives_one_and_verify_reports_it(tmp_path):
    """ONNX: (Sign(0) + 1) / 2 = 0.5; bnncc's sign(0) = +1 gives 1, the convention verify checks."""
    b = ModelBuilder((16,), seed=6)
    a = zero_one(b, b.start(), "div")
    model = b.build(b.batchnorm(b.gemm(a, 16, 8, bias=True), 8, fan_in=8))
    onnx.save(model, tmp_path / "m.onnx")
    report = verify_model(tmp_path / "m.onnx", samples=200)  # the dyadic grid holds exact zeros
    assert report.ok, report.summary()
    assert report.sign_zero_samples and report.sign_zero_explained


def test_zero_one_tensor_read_by_a_real_op_stays_float_and_exact():
    """A {0,1} tensor that a non-linear op also reads is not folded: computed in float32, still exact."""
    b = ModelBuilder((8, 4, 4), seed=7)
    a = zero_one(b, b.start(), "mul")
    y = b.conv(a, 8, 8, 3, pads=(1, 1, 1, 1), via="const")
    y = b.node("Add", [y, a])
    model = b.build(b.gemm(b.flatten(b.sign(b.batchnorm(y, 8), "where")), 128, 5, via="const"))
    assert [n for n in canonicalize(model).graph.node if n.op_type == "Div" or n.op_type == "Mul"]
    assert_bit_exact(model, samples=100)
