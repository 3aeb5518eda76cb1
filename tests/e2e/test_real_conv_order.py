"""The real-input conv's float order (passes/real_order.py): the default order gives onnxruntime's bits for
+-1 weights on arbitrary (non-dyadic) inputs; --fast-real-conv's grouped order stays within rounding."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from bnncc.compiler import compile_model
from bnncc.passes.chain import reference_session_options
from bnncc.verify import run_compiled

pytestmark = pytest.mark.skipif(__import__("shutil").which("gcc") is None, reason="needs gcc")


def _conv_model(c: int, k: int, stride: int, pad: int, c_out: int = 24, hw: int = 11, seed: int = 0):
    rng = np.random.default_rng(seed)
    w = np.where(rng.random((c_out, c, k, k)) < 0.5, -1.0, 1.0).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[pad] * 4, strides=[stride] * 2)
    out_hw = (hw + 2 * pad - k) // stride + 1
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c_out, out_hw, out_hw])],
                              [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def _inputs(size: int, count: int = 6, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((count, size)) * 10.0 ** rng.uniform(-2, 2, (count, size))).astype(np.float32)


def _run_both(tmp_path, model, fast: bool):
    path = tmp_path / "conv.onnx"
    onnx.save(model, path)
    compiled = compile_model(path, tmp_path / ("fast" if fast else "exact"), name="model", fast_real_conv=fast)
    x = _inputs(compiled.input_size)
    got = run_compiled(tmp_path / ("fast" if fast else "exact"), compiled.name, "host", x)
    session = ort.InferenceSession(model.SerializeToString(), reference_session_options(),
                                   providers=["CPUExecutionProvider"])
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    want = np.stack([session.run(None, {"x": row.reshape(shape)})[0].reshape(-1) for row in x])
    return compiled, got.reshape(want.shape), want


@pytest.mark.parametrize("c,k,stride,pad", [(3, 3, 1, 1), (1, 5, 1, 2), (3, 5, 1, 2), (1, 3, 2, 1), (3, 3, 2, 0)])
def test_default_order_is_onnxruntime_bits(tmp_path, c, k, stride, pad):
    compiled, got, want = _run_both(tmp_path, _conv_model(c, k, stride, pad), fast=False)
    assert compiled.layers[0].op == "bnn_conv2d_f32_f32"
    np.testing.assert_array_equal(got.view(np.uint32), (want + np.float32(0)).view(np.uint32))


def test_fast_order_is_grouped_and_within_rounding(tmp_path):
    compiled, got, want = _run_both(tmp_path, _conv_model(3, 3, 1, 1), fast=True)
    assert compiled.layers[0].op == "bnn_conv2d_f32_f32_grouped"
    header = (tmp_path / "fast" / "model.h").read_text()
    assert "#define MODEL_FAST_REAL_CONV 1" in header
    assert (tmp_path / "fast" / "bnn_conv_real_grouped.c").exists()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    assert np.any(got != want)  # a different order: these inputs do show it


def test_default_build_has_no_grouped_code(tmp_path):
    path = tmp_path / "conv.onnx"
    onnx.save(_conv_model(3, 3, 1, 1), path)
    compile_model(path, tmp_path / "out", name="model")
    assert not (tmp_path / "out" / "bnn_conv_real_grouped.c").exists()
    assert "#define MODEL_FAST_REAL_CONV 0" in (tmp_path / "out" / "model.h").read_text()
