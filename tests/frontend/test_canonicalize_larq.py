"""Larq models as tf2onnx writes them, built with onnx.helper: NHWC input and Transposes around each conv,
ste_sign as Sign(Sign(x) + c), BatchNorm as Mul/Add on NHWC tensors, pad_values=+-1 as a Pad, and the
NHWC flatten before the dense layer. Each canonicalizes to the standard forms and runs bit-exactly."""

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from bnncc.frontend.canonicalize import canonicalize
from tests.e2e.conftest import assert_bit_exact
from tests.helpers.onnx_models import ModelBuilder

NCHW, NHWC = [0, 3, 1, 2], [0, 2, 3, 1]


def _ste_sign(b, x, c=0.1, form="add"):
    inner = b.node("Sign", [x])
    shifted = b.node("Add", [inner, b.const(c)] if form == "add" else [b.const(c), inner])
    return b.node("Sign", [shifted])


def _nhwc_bn(b, x, c):
    """BatchNorm as tf2onnx often leaves it: x * s + t with (C,) constants on an NHWC tensor."""
    scale = b.rng.uniform(0.5, 2.0, c) * np.where(b.rng.random(c) < 0.3, -1, 1)
    shift = b.rng.standard_normal(c) * 3
    return b.node("Add", [b.node("Mul", [x, b.const(scale)]), b.const(shift)])


def _pad(b, x, value):
    name = b._name("pads")
    b.inits.append(numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), name))
    return b.node("Pad", [x, name, b.const(value)], mode="constant")


def larq_cnn(seed=0, c=0.1, pad_value=-1.0, form="add"):
    b = ModelBuilder((8, 8, 1), seed)  # NHWC input, one channel
    x = b.node("Transpose", [b.start()], perm=NCHW)
    x = b.node("Transpose", [b.conv(x, 1, 16, 3, pads=(1, 1, 1, 1))], perm=NHWC)
    x = _ste_sign(b, _nhwc_bn(b, x, 16), c, form)
    x = b.node("Transpose", [x], perm=NCHW)
    if pad_value is not None:  # larq pad_values: the conv itself is "valid"
        x = _pad(b, x, pad_value)
    x = b.node("Transpose", [b.conv(x, 16, 24, 3)], perm=NHWC)
    x = _ste_sign(b, _nhwc_bn(b, x, 24), c, form)
    x = b.node("Transpose", [x], perm=NCHW)
    x = b.node("Transpose", [b.maxpool(x)], perm=NHWC)
    size = 4 if pad_value is not None else 3
    x = b.node("Reshape", [x, _int64(b, [1, -1])])
    x = b.node("MatMul", [x, b.binary_weights((24 * size * size, 10), via="const")])
    return b.build(_nhwc_bn(b, x, 10))


def _int64(b, values):
    name = b._name("shape")
    b.inits.append(numpy_helper.from_array(np.array(values, np.int64), name))
    return name


@pytest.mark.parametrize("c,pad_value,form", [(0.1, -1.0, "add"), (0.1, 1.0, "add_swapped"),
                                              (-0.1, None, "add"), (0.5, -1.0, "add")])
def test_larq_style_graph_is_bit_exact(c, pad_value, form):
    model = larq_cnn(c=c, pad_value=pad_value, form="add" if form == "add" else "swapped")
    canonical = canonicalize(onnx.shape_inference.infer_shapes(model))
    ops = [n.op_type for n in canonical.graph.node]
    assert "Transpose" not in ops, ops
    assert ops.count("Where") == 2  # both ste_signs became binarizers (the other Signs are on weights)
    assert_bit_exact(model, samples=200)


def test_ste_sign_with_a_large_offset_is_not_a_binarizer():
    """Sign(Sign(x) + 1.5) is +1 for x = -1 too: not a sign of x, so it is left alone (and refused later)."""
    model = larq_cnn(c=1.5)
    canonical = canonicalize(onnx.shape_inference.infer_shapes(model))
    assert "Where" not in [n.op_type for n in canonical.graph.node]
