"""Mixed precision end to end (issue 8): every new op on its own, checked against onnxruntime, and one
block of each of Bi-Real, ReActNet, BinaryDenseNet and BN-free nets on host and cortex-m4.

Per-op models apply the op straight to the model input (exact float32 values), then a sign: the compiled
bits must equal onnxruntime's exactly (an elementwise float op is the same IEEE operation in both), except
where ONNX Sign meets an exact 0. Windowed float sums (average pools, real convs) are compared with the
usual tolerance on a real output instead.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from bnncc import ir
from bnncc.compiler import lower_model
from bnncc.verify import verify_model
from tests.e2e.conftest import assert_bit_exact, compile_and_run
from tests.helpers import mixed_models as mm
from tests.targets.conftest import needs_qemu

SHAPE = (5, 6, 6)


def _signed(build, shape=SHAPE, seed=0, sign="sign"):
    """A model: input -> build(b, x) -> sign -> flatten; returns the proto."""
    b = mm.MixedBuilder(shape, seed)
    y = build(b, b.start())
    return b.build(b.flatten(b.sign(y, sign)))


def _assert_signs_exact(model, samples=200):
    """Continuous random inputs (no exact zeros to speak of); every sign must agree where ONNX met no 0."""
    size = int(np.prod([d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]))
    inputs = (np.random.default_rng(0).standard_normal((samples, size)) * 2).astype(np.float32)
    c_out, ref, original, zeros = compile_and_run(model, inputs=inputs)
    clean = zeros == 0
    assert np.array_equal(c_out[clean], ref[clean])
    assert clean.sum() >= samples * 0.9


def _kernels(model, tmp_path):
    onnx.save(model, tmp_path / "m.onnx")
    return [layer.kernel for layer in lower_model(tmp_path / "m.onnx").nodes]


def _channel_gate(b, x):
    """A (1, C, 1, 1) computed tensor (squeeze-excitation style): mean over H, W plus a constant."""
    return b.node("Add", [b.chan(5), b.node("ReduceMean", [x], axes=[2, 3], keepdims=1)])


def _first_channel(b, x):
    """A (1, 1, H, W) computed tensor: channel 0 of x through an exact selection conv."""
    w = np.zeros((1, 5, 1, 1), np.float32)
    w[0, 0] = 1.0
    return b.node("Conv", [x, b.const(w)], kernel_shape=[1, 1])


ELEMENTWISE = {
    "bn": lambda b, x: b.bn(x, 5),
    "add-const": lambda b, x: b.node("Add", [x, b.chan(5)]),
    "const-sub": lambda b, x: b.node("Sub", [b.chan(5), x]),
    "mul-then-add": lambda b, x: b.node("Add", [b.node("Mul", [x, b.chan(5, 1.0)]), b.chan(5)]),
    "div": lambda b, x: b.node("Div", [b.node("Add", [x, b.chan(5)]), b.chan(5, 0.5, 1.0)]),
    "relu": lambda b, x: b.node("Sub", [b.node("Relu", [x]), b.const(0.25)]),
    "prelu": lambda b, x: b.node("Add", [b.prelu(x, 5), b.chan(5)]),
    "leaky": lambda b, x: b.node("Add", [b.node("LeakyRelu", [x], alpha=0.2), b.chan(5)]),
    "clip": lambda b, x: b.node("Sub", [b.node("Clip", [x, b.const(-0.5), b.const(0.5)]), b.chan(5)]),
    "rprelu": lambda b, x: b.rprelu(x, 5),
    "add-two": lambda b, x: b.add(b.node("Mul", [x, b.chan(5, 1.0)]), b.node("Add", [x, b.chan(5)])),
    "sub-two": lambda b, x: b.node("Sub", [b.node("Relu", [x]), b.node("Add", [x, b.chan(5)])]),
    "mul-two": lambda b, x: b.node("Sub", [b.node("Mul", [x, b.node("Add", [x, b.chan(5)])]), b.chan(5)]),
    "mul-per-channel-tensor": lambda b, x: b.node("Sub", [b.node("Mul", [x, _channel_gate(b, x)]), b.chan(5)]),
    "div-two": lambda b, x: b.node("Div", [b.node("Add", [x, b.chan(5)]), b.node("Add", [b.node("Relu", [x]),
                                                                                       b.const(0.5)])]),
    "plane-broadcast": lambda b, x: b.node("Sub", [b.node("Mul", [x, _first_channel(b, x)]), b.chan(5)]),
    "scalar-tensor-broadcast": lambda b, x: b.node("Sub", [b.node("Add", [x, b.node("ReduceMean", [_first_channel(
        b, x)], axes=[2, 3], keepdims=1)]), b.chan(5)]),
    "rsign-negative-scale": lambda b, x: b.node("Sub", [b.node("Mul", [x, b.chan(5, 1.0)]), b.chan(5)]),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_op_then_sign_is_bit_exact(name):
    _assert_signs_exact(_signed(ELEMENTWISE[name]))


def test_rsign_folds_into_the_pack_threshold(tmp_path):
    model = _signed(lambda b, x: b.node("Sub", [x, b.chan(5)]))
    assert _kernels(model, tmp_path)[0] == "bnn_pack_thresh_chw_f32"
    _assert_signs_exact(model)


def test_negative_scale_before_sign_folds_as_flipped_channels(tmp_path):
    model = _signed(lambda b, x: b.node("Add", [b.node("Mul", [x, b.const(np.array([1, -2, 3, -0.5, 0.0]).reshape(
        1, 5, 1, 1))]), b.chan(5)]))
    graph_kernels = _kernels(model, tmp_path)
    assert graph_kernels[0] == "bnn_pack_thresh_chw_f32"
    _assert_signs_exact(model)


def test_strict_binarizer_on_a_real_tensor():
    b = mm.MixedBuilder(SHAPE, 9)
    x = b.node("Relu", [b.node("Add", [b.start(), b.chan(5)])])  # many exact zeros
    y = b.node("Where", [b.node("Greater", [x, b.const(0.0)]), b.const(1.0), b.const(-1.0)])
    assert_bit_exact(b.build(b.flatten(y)), samples=200)


def test_one_packed_copy_is_shared_by_every_binary_consumer(tmp_path):
    b = mm.MixedBuilder(SHAPE, 1)
    x = b.node("Add", [b.start(), b.chan(5)])
    s1, s2 = b.sign(x, "sign"), b.sign(x, "sign")
    y1 = b.batchnorm(b.conv(s1, 5, 4, 3, pads=(1, 1, 1, 1)), 4, fan_in=45)
    y2 = b.batchnorm(b.conv(s2, 5, 4, 1), 4, fan_in=5)
    model = b.build(b.flatten(b.add(y1, y2)))
    kernels = _kernels(model, tmp_path)
    assert kernels.count("bnn_pack_chw_f32") == 1
    assert_bit_exact(model, samples=200)


@pytest.mark.parametrize("odd", [(5, 3), (32, 7), (13, 40, 11)])
def test_concat_of_bits_with_any_channel_counts(odd, tmp_path):
    b = mm.MixedBuilder((sum(odd), 4, 4), 2)
    x = b.start()
    parts, offset = [], 0
    for c in odd:
        w = np.zeros((c, sum(odd), 1, 1), np.float32)
        w[np.arange(c), offset + np.arange(c)] = 1.0  # a 1x1 selection conv: real, exact
        offset += c
        parts.append(b.sign(b.node("Conv", [x, b.const(w)], kernel_shape=[1, 1]), "sign"))
    y = b.concat(*parts)
    y = b.batchnorm(b.conv(y, sum(odd), 6, 3, pads=(1, 1, 1, 1)), 6, fan_in=9 * sum(odd))
    model = b.build(b.flatten(b.sign(y)))
    assert "bnn_concat_bits" in _kernels(model, tmp_path)
    _assert_signs_exact(model)


def test_concat_of_real_tensors_and_of_bits_with_reals(tmp_path):
    b = mm.MixedBuilder(SHAPE, 3)
    x = b.start()
    y = b.concat(b.node("Add", [x, b.chan(5)]), b.sign(x, "sign"), b.node("Relu", [x]))
    model = b.build(b.flatten(b.sign(b.node("Sub", [y, b.chan(15)]), "sign")))
    kernels = _kernels(model, tmp_path)
    assert "bnn_concat_f32" in kernels and "bnn_unpack_bits_chw_f32" in kernels
    _assert_signs_exact(model)


POOLS = {
    "avg-2x2": dict(k=2, stride=2),
    "avg-3x3-pad-include": dict(k=3, stride=1, pads=(1, 1, 1, 1), count_include_pad=1),
    "avg-3x3-pad-exclude": dict(k=3, stride=2, pads=(1, 1, 1, 1), count_include_pad=0),
    "avg-ceil": dict(k=3, stride=2, ceil_mode=1),
    "avg-ceil-pad-include": dict(k=3, stride=2, pads=(1, 1, 0, 0), ceil_mode=1, count_include_pad=1),
}


@pytest.mark.parametrize("opset", [17, 19])
@pytest.mark.parametrize("name", sorted(POOLS))
def test_average_pools_equal_onnxruntime_bit_for_bit(name, opset, tmp_path):
    """AveragePool-7..18 runs in MLAS's order (bnn_avgpool_mlas_f32), AveragePool-19 in the plain one."""
    b = mm.MixedBuilder((3, 7, 7), 4, opset=opset)
    y = b.avgpool(b.start(), **POOLS[name])
    model = b.build(b.flatten(y))
    kernel = _kernels(model, tmp_path)[0]
    both = POOLS[name].get("ceil_mode") and POOLS[name].get("count_include_pad")
    assert kernel == ("bnn_avgpool_mlas_f32" if opset < 19 and not both else "bnn_avgpool_f32")
    inputs = np.random.default_rng(1).standard_normal((100, 3 * 7 * 7)).astype(np.float32)
    c_out, _, original, _ = compile_and_run(model, inputs=inputs)
    assert np.array_equal(c_out, original)


@pytest.mark.parametrize("keepdims", [0, 1])
def test_global_average_pool_and_reduce_mean(keepdims):
    b = mm.MixedBuilder((4, 5, 3), 5)
    g = b.flatten(b.gap(b.start()))
    r = b.node("ReduceMean", [b.start()], axes=[2, 3], keepdims=keepdims)
    if keepdims:
        r = b.flatten(r)
    assert_bit_exact(b.build(b.node("Concat", [g, r], axis=1)), samples=200)


def test_real_maxpool_relu_and_real_convs(tmp_path):
    b = mm.MixedBuilder((4, 8, 8), 6)
    x = b.node("Relu", [b.maxpool(b.start())])
    x = b.real_conv(x, 4, 4, 3, pad=1, group=4)  # depthwise
    x = b.real_conv(x, 4, 6, 1, bias=False)
    y = b.node("MatMul", [b.flatten(x), b.const(b.rng.standard_normal((6 * 16, 5)))])
    model = b.build(y)
    kernels = _kernels(model, tmp_path)
    assert kernels.count("bnn_conv2d_f32w_f32") == 2 and "bnn_maxpool_f32" in kernels
    assert_bit_exact(model, samples=200)


def test_binary_layer_with_real_output_keeps_onnx_op_order(tmp_path):
    """conv -> BN -> Add const -> Mul const -> sign of a residual: only BN folds into the conv's affine."""
    b = mm.MixedBuilder((8, 5, 5), 7)
    s = b.sign(b.start(), "sign")
    y = b.batchnorm(b.conv(s, 8, 8, 3, pads=(1, 1, 1, 1)), 8, fan_in=72)
    y = b.node("Mul", [b.node("Add", [y, b.chan(8)]), b.chan(8, 0.3, 1.0)])
    y = b.add(y, b.start())
    model = b.build(b.flatten(b.sign(y, "sign")))
    graph = lower_model(_save(model, tmp_path))
    conv = next(layer for layer in graph.nodes if isinstance(layer, ir.ConvLayer))
    assert conv.kernel == "bnn_conv2d_bin_f32" and conv.source == (conv.name, conv.source[1])
    _assert_signs_exact(model)


def _save(model, tmp_path):
    onnx.save(model, tmp_path / "m.onnx")
    return tmp_path / "m.onnx"


def test_in_place_elementwise_layers_shrink_the_arena(tmp_path):
    b = mm.MixedBuilder((8, 8, 8), 8)
    x = b.start()
    for _ in range(4):
        x = b.rprelu(x, 8)
    graph = lower_model(_save(b.build(b.flatten(x)), tmp_path))
    # 12 elementwise layers on one 2 KiB tensor: one buffer (the last writes the caller's output)
    assert graph.arena_bytes == 8 * 8 * 8 * 4


BLOCKS = {"bireal": mm.bireal, "reactnet": mm.reactnet, "densenet": mm.densenet, "bnfree": mm.bnfree}


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_block_on_host(name, tmp_path):
    path = _save(BLOCKS[name](), tmp_path)
    report = verify_model(path, samples=300)
    assert report.ok, report.summary()
    assert report.argmax_agree == 300 and report.worst_ratio <= 1e-4


@pytest.mark.qemu
@needs_qemu
@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_block_on_cortex_m4(name, tmp_path):
    path = _save(BLOCKS[name](), tmp_path)
    report = verify_model(path, samples=40, target="cortex-m4")
    assert report.ok, report.summary()
    assert report.argmax_agree == 40 and report.worst_ratio <= 1e-4
