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
