"""QONNX quantizers (BipolarQuant, 1-bit signed Quant/IntQuant, in the qonnx and older onnx.brevitas
domains) lower to standard ops with qonnx's semantics, and compile bit-exactly."""

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from bnncc.frontend.canonicalize import canonicalize
from bnncc.frontend.canonicalize.qonnx_quantizers import lower_quantizers
from bnncc.verify import random_inputs
from tests.e2e.conftest import assert_bit_exact
from tests.helpers.onnx_models import ModelBuilder


def _quant(b, x, op, domain, scale, zero=0.0, bits=1.0, signed=1):
    inputs = [x, b.const(scale)]
    if op != "BipolarQuant":
        inputs += [b.const(zero), b.const(bits)]
    out = b._name(op.lower())
    extra = {} if op == "BipolarQuant" else {"signed": signed, "narrow": 0, "rounding_mode": "ROUND"}
    b.nodes.append(helper.make_node(op, inputs, [out], name=out + "_node", domain=domain, **extra))
    return out


def _model(op, domain, weight_scale):
    b = ModelBuilder((1, 8, 8), seed=7)
    latent = lambda shape: b.const(b.rng.standard_normal(shape).astype(np.float32), "latent")  # noqa: E731
    w1 = _quant(b, latent((12, 1, 3, 3)), op, domain, weight_scale)
    x = b.node("Conv", [b.start(), w1], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    x = _quant(b, b.batchnorm(x, 12, fan_in=9), op, domain, 1.0)
    w2 = _quant(b, latent((16, 12, 3, 3)), op, domain, np.full((16, 1, 1, 1), weight_scale, np.float32))
    x = b.node("Conv", [x, w2], kernel_shape=[3, 3])
    x = _quant(b, b.batchnorm(x, 16, fan_in=108), op, domain, 1.0)
    x = b.flatten(x)
    w3 = _quant(b, latent((10, 16 * 36)), op, domain, weight_scale)
    out = b.batchnorm(b.node("Gemm", [x, w3], transB=1), 10, fan_in=576)
    graph = helper.make_graph(b.nodes, "bnn", [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT,
                                                                             b.input_shape)],
                              [helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, [1, 10])], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(domain, 1)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("op,domain", [("BipolarQuant", "qonnx.custom_op.general"),
                                       ("BipolarQuant", "onnx.brevitas"),
                                       ("Quant", "qonnx.custom_op.general"),
                                       ("Quant", "onnx.brevitas"),
                                       ("IntQuant", "qonnx.custom_op.general")])
@pytest.mark.parametrize("weight_scale", [1.0, 0.25])
def test_quantized_bnn_is_bit_exact(op, domain, weight_scale):
    model = _model(op, domain, weight_scale)
    canonical = canonicalize(onnx.shape_inference.infer_shapes(model))
    assert not any(n.domain for n in canonical.graph.node)
    assert_bit_exact(model, samples=150)


@pytest.mark.parametrize("bits,signed,zero,scale", [(1, 1, 0.0, 0.3), (1, 1, 0.5, 2.0), (4, 1, 0.0, 0.3),
                                                    (3, 0, 1.0, 0.7)])
def test_lowering_matches_qonnx_executor(bits, signed, zero, scale):
    """Each Quant variant, lowered to standard ops and run by onnxruntime, equals qonnx's own executor."""
    qonnx_exec = pytest.importorskip("qonnx.core.onnx_exec")
    from qonnx.core.modelwrapper import ModelWrapper
    import onnxruntime as ort

    inits = [numpy_helper.from_array(np.float32(v), n) for v, n in ((scale, "s"), (zero, "z"), (bits, "b"))]
    node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], domain="qonnx.custom_op.general",
                            signed=signed, narrow=0, rounding_mode="ROUND")
    graph = helper.make_graph([node], "q", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 64])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("qonnx.custom_op.general", 1)])
    lowered = lower_quantizers(model)
    session = ort.InferenceSession(lowered.SerializeToString(), providers=["CPUExecutionProvider"])
    wrapper = ModelWrapper(model)
    x = np.concatenate([random_inputs(64, 8, seed=1), np.zeros((1, 64), np.float32)]) * np.float32(0.37)
    for row in x:
        ours = session.run(None, {"x": row.reshape(1, 64)})[0]
        theirs = qonnx_exec.execute_onnx(wrapper, {"x": row.reshape(1, 64)})["y"]
        np.testing.assert_array_equal(ours, theirs)
