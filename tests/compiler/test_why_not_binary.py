"""`inspect` says why a layer is not binary, naming the channel and what is wrong with it."""

import numpy as np
import onnx

from bnncc.compiler import lower_model
from bnncc.inspect import layer_rows
from tests.helpers.onnx_models import ModelBuilder


def test_inspect_names_the_channel_that_is_not_binary(tmp_path):
    b = ModelBuilder((16,), seed=1)
    x = b.sign(b.batchnorm(b.gemm(b.start(), 16, 12), 12))
    weight = np.where(b.rng.standard_normal((8, 12)) >= 0, 1.0, -1.0)
    weight[7, :3] *= 0.5
    weight[7, 3:5] *= 2.0
    model = b.build(b.node("Gemm", [x, b.const(weight)], transB=1))
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    rows = layer_rows(lower_model(path))
    last = [r for r in rows if "gemm" in r.name][-1]
    assert "3 distinct magnitudes in output channel 7" in last.why
    first = [r for r in rows if "gemm" in r.name][0]
    assert "+-1" in first.why or "alpha" in first.why
