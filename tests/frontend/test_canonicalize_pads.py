"""daBNN / BMXNet / Larq padding: Pad(-1 | +1 | 0) before Conv(pads=0), bit-exact against onnxruntime."""

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from bnncc.compiler import lower_model
from bnncc.errors import BnnccError
from tests.e2e.conftest import assert_bit_exact
from tests.helpers.onnx_models import ModelBuilder


def _pad(b: ModelBuilder, x, pads, value, opset_attr=False):
    """ONNX Pad on H and W: pads = (top, left, bottom, right)."""
    top, left, bottom, right = pads
    full = [0, 0, top, left, 0, 0, bottom, right]
    if opset_attr:  # opset < 11 keeps pads and value in attributes
        return b.node("Pad", [x], pads=full, value=float(value), mode="constant")
    name = b._name("pads")
    b.inits.append(numpy_helper.from_array(np.array(full, np.int64), name))
    return b.node("Pad", [x, name, b.const(value)], mode="constant")


def _padded_cnn(values, seed=0, opset=17, conv_pads=(0, 0, 0, 0), channels=(16, 40, 33)):
    """Real conv -> sign -> [Pad(v) -> binary conv -> BN -> sign] per value -> dense."""
    b = ModelBuilder((1, 8, 8), seed, opset=opset)
    c1, c2, c3 = channels
    form = "where" if opset >= 12 else "less"  # GreaterOrEqual is opset 12
    x = b.conv(b.start(), 1, c1, 3, pads=(1, 1, 1, 1))
    x = b.sign(b.batchnorm(x, c1, fan_in=9), form)
    c_in, size = c1, 8
    for value, c_out in zip(values, (c2, c3)):
        pad = (1, 1, 1, 1) if value is not None else (0, 0, 0, 0)
        if value is not None:
            x = _pad(b, x, pad, value, opset_attr=opset < 11)
        x = b.conv(x, c_in, c_out, 3, pads=conv_pads)
        size = size + 2 * pad[0] + conv_pads[0] + conv_pads[2] - 2
        x = b.sign(b.batchnorm(x, c_out, fan_in=9 * c_in), form)
        c_in = c_out
    x = b.flatten(x)
    x = b.gemm(x, c_in * size * size, 10, bias=opset < 11)  # Gemm-9 needs C
    return b.build(b.batchnorm(x, 10, fan_in=c_in * size * size))


@pytest.mark.parametrize("values", [(-1.0, -1.0), (1.0, 1.0), (0.0, 0.0), (-1.0, 1.0), (0.0, -1.0)],
                         ids=["minus", "plus", "zero", "minus_plus", "zero_minus"])
def test_pad_before_conv_is_exact(values):
    assert_bit_exact(_padded_cnn(values), samples=200)


def test_pad_minus_one_then_zero_padded_conv_is_exact():
    """Mixed: the conv adds its own zero ring outside a -1 ring."""
    assert_bit_exact(_padded_cnn((-1.0, 1.0), seed=2, conv_pads=(1, 1, 1, 1)), samples=200)


@pytest.mark.parametrize("opset", [10, 13, 18])
def test_pad_across_opsets(opset):
    assert_bit_exact(_padded_cnn((-1.0, 0.0), seed=1, opset=opset), samples=100)


def test_pad_kinds_after_lowering(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(_padded_cnn((0.0, -1.0)), path)
    kernels = [layer.kernel for layer in lower_model(path).nodes]
    assert kernels.count("bnn_pad_bits") == 1  # the 0 pad became the first binary conv's own padding


def test_asymmetric_pad_and_odd_channels_are_exact():
    b = ModelBuilder((3, 7, 7), 4)
    x = b.conv(b.start(), 3, 37, 3)
    x = b.sign(b.batchnorm(x, 37, fan_in=27))
    x = _pad(b, x, (0, 1, 2, 1), 1.0)
    x = b.conv(x, 37, 5, 3, stride=2)
    x = b.flatten(b.sign(b.batchnorm(x, 5, fan_in=9 * 37)))
    assert_bit_exact(b.build(b.batchnorm(b.gemm(x, 5 * 3 * 3, 4), 4, fan_in=45)), samples=200)


def test_real_input_pad_with_a_value():
    b = ModelBuilder((2, 6, 6), 5)
    x = _pad(b, b.start(), (1, 1, 1, 1), 0.75)
    x = b.sign(b.batchnorm(b.conv(x, 2, 8, 3), 8, fan_in=18))
    x = b.flatten(x)
    assert_bit_exact(b.build(b.batchnorm(b.gemm(x, 8 * 36, 5), 5, fan_in=288)), samples=200)


def test_zero_pad_of_bits_without_a_conv_is_refused(tmp_path):
    b = ModelBuilder((1, 6, 6), 6)
    x = b.sign(b.batchnorm(b.conv(b.start(), 1, 8, 3, pads=(1, 1, 1, 1)), 8, fan_in=9))
    x = b.maxpool(_pad(b, x, (1, 1, 1, 1), 0.0))
    x = b.flatten(x)
    path = tmp_path / "m.onnx"
    onnx.save(b.build(b.gemm(x, 8 * 16, 3)), path)
    with pytest.raises(BnnccError, match="value 0 is not \\+-1"):
        lower_model(path)


def test_channel_pad_is_refused(tmp_path):
    b = ModelBuilder((1, 6, 6), 6)
    x = b.sign(b.batchnorm(b.conv(b.start(), 1, 8, 3), 8, fan_in=9))
    name = b._name("pads")
    b.inits.append(numpy_helper.from_array(np.array([0, 1, 0, 0, 0, 0, 0, 0], np.int64), name))
    x = b.node("Pad", [x, name, b.const(-1.0)])
    x = b.flatten(x)
    path = tmp_path / "m.onnx"
    onnx.save(b.build(b.gemm(x, 9 * 16, 3)), path)
    with pytest.raises(BnnccError, match="only the spatial axes"):
        lower_model(path)
