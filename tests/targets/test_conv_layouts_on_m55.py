"""Binary convs on cortex-m55 with channel groups interleaved in blocks of 4 and 2
(bnn_conv2d_bin_thresh_sliced_gi) are bit-exact against onnxruntime: 64, 96, 128, 224 and 256
outputs (blocks 2, 2+1, 4, 4+2+1, 4+4), windows of 3x3 with borders, 1x1 with stride 2, dilation 2,
and one wider than the Helium fold buffer (3x3x256 = 2304 bits, 128 carries a fold)."""

from __future__ import annotations

import pytest

from bnncc.compiler import lower_model
from bnncc.verify import verify_model
from tests.helpers.onnx_models import ModelBuilder
from tests.targets.conftest import needs_qemu

pytestmark = [pytest.mark.qemu, needs_qemu]


def _stack(layers, hw, seed):
    """sign -> (conv -> BN -> sign)* -> flatten; layers: (c_out, k, stride, pad, dil)."""
    c = 32
    b = ModelBuilder((c, hw, hw), seed)
    x = b.sign(b.start())
    for c_out, k, stride, pad, dil in layers:
        x = b.conv(x, c, c_out, k, stride=stride, pads=(pad,) * 4, dil=dil)
        x = b.sign(b.batchnorm(x, c_out, fan_in=k * k * c))
        c = c_out
    return b.build(b.flatten(x))


@pytest.mark.parametrize("layers,hw", [
    ([(64, 3, 1, 1, 1), (96, 3, 1, 1, 1), (128, 3, 2, 1, 1), (64, 1, 1, 0, 1)], 8),
    ([(256, 3, 1, 1, 1), (224, 3, 1, 1, 2), (64, 1, 2, 0, 1)], 5),
])
def test_group_interleaved_conv_is_exact_on_m55(tmp_path, layers, hw):
    import onnx
    path = tmp_path / "convs.onnx"
    onnx.save(_stack(layers, hw, seed=len(layers) * hw), path)
    kernels = [layer.kernel for layer in lower_model(path, "cortex-m55").nodes if "conv2d_bin" in layer.kernel]
    assert kernels and all(k == "bnn_conv2d_bin_thresh_sliced_gi" for k in kernels)
    report = verify_model(path, samples=30, target="cortex-m55")
    assert report.ok and not report.mismatched, report.summary()
    assert report.max_abs_diff == 0.0, report.summary()  # +-1 outputs: bit-exact


def _first_layer(stride, seed):
    """sign(BN(conv(real input))) -> binary conv -> flatten: the real-input first layer runs on Helium
    four output pixels at a time (bnn_conv_real.c), the rest as above."""
    import numpy as np  # noqa: F401
    import numpy as np
    b = ModelBuilder((3, 11, 10), seed)
    x = b.conv(b.start(), 3, 40, 3, stride=stride, pads=(1, 1, 1, 1))
    # half the channels with threshold 0 (a denormal sum flushed to 0 would flip their bit)
    gamma, beta = np.ones(40), np.zeros(40)
    mean, var = np.zeros(40), np.ones(40)
    beta[20:] = b.rng.standard_normal(20)
    x = b.node("BatchNormalization", [x, b.const(gamma), b.const(beta), b.const(mean), b.const(var)], epsilon=1e-5)
    return b.build(b.flatten(b.sign(x)))


@pytest.mark.parametrize("stride", [1, 2])
def test_helium_first_layer_is_exact_on_m55(tmp_path, stride):
    """Random inputs take the vector path; inputs with denormals and values below 2^-103 (Helium
    flushes denormals) take the scalar loop: both match onnxruntime bit for bit."""
    import numpy as np
    import onnx
    path = tmp_path / "first.onnx"
    onnx.save(_first_layer(stride, seed=stride), path)
    rng = np.random.default_rng(stride)
    normal = rng.standard_normal((20, 3, 11, 10)).astype(np.float32)
    tiny = (rng.standard_normal((6, 3, 11, 10)) * 1e-38).astype(np.float32)  # denormal sums
    tiny[:, :, ::3] = np.float32(2.0 ** -110) * rng.choice([-1, 1], (6, 3, 4, 10))
    for inputs in (normal, tiny):
        report = verify_model(path, inputs=inputs, target="cortex-m55")
        assert report.ok and not report.mismatched, report.summary()
        assert report.max_abs_diff == 0.0, report.summary()
