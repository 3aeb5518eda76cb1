"""Brevitas binary MLP and CNN, trained a few epochs on scikit-learn digits inside the test, exported with
export_qonnx (BipolarQuant on weights and activations), compile and verify on host and cortex-m4."""

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")
datasets = pytest.importorskip("sklearn.datasets")

from brevitas import nn as qnn  # noqa: E402
from brevitas.export import export_qonnx  # noqa: E402
from brevitas.quant import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst  # noqa: E402

from tests.helpers.digits_training import digits, train_on_digits  # noqa: E402
from bnncc.verify import random_inputs, verify_model  # noqa: E402

nn = torch.nn
pytestmark = pytest.mark.torch

# Power-of-two weight scales keep onnxruntime's float sums of scaled +-1 products exact, so its signs
# are the mathematically exact ones that the integer C computes (see the README's producer table).
WEIGHTS = dict(weight_quant=SignedBinaryWeightPerTensorConst, weight_scaling_const=0.5)
ACTS = dict(act_quant=SignedBinaryActPerTensorConst)


def mlp():
    return nn.Sequential(
        qnn.QuantLinear(64, 96, bias=False, **WEIGHTS), nn.BatchNorm1d(96), qnn.QuantIdentity(**ACTS),
        qnn.QuantLinear(96, 48, bias=True, **WEIGHTS), nn.BatchNorm1d(48), qnn.QuantIdentity(**ACTS),
        qnn.QuantLinear(48, 10, bias=True, **WEIGHTS), nn.BatchNorm1d(10))


def cnn():
    return nn.Sequential(
        qnn.QuantConv2d(1, 16, 3, padding=1, bias=False, **WEIGHTS), nn.BatchNorm2d(16), qnn.QuantIdentity(**ACTS),
        nn.MaxPool2d(2),
        qnn.QuantConv2d(16, 32, 3, padding=1, bias=False, **WEIGHTS), nn.BatchNorm2d(32), qnn.QuantIdentity(**ACTS),
        nn.MaxPool2d(2), nn.Flatten(),
        qnn.QuantLinear(32 * 4, 10, bias=True, **WEIGHTS), nn.BatchNorm1d(10))


@pytest.fixture(scope="module", params=["mlp", "cnn"])
def brevitas_model(request, tmp_path_factory):
    torch.set_num_threads(1)
    make, shape = {"mlp": (mlp, (64,)), "cnn": (cnn, (1, 8, 8))}[request.param]
    model, accuracy = train_on_digits(make(), shape, epochs=4, seed=0)
    assert accuracy > 0.5, f"training did not converge ({accuracy:.2f})"  # a wide margin: digits reach ~0.9
    path = tmp_path_factory.mktemp("brevitas") / f"brevitas_{request.param}.onnx"
    export_qonnx(model, torch.zeros(1, *shape), str(path))
    ops = {(n.domain, n.op_type) for n in onnx.load(str(path)).graph.node}
    assert ("qonnx.custom_op.general", "BipolarQuant") in ops
    return path


@pytest.mark.parametrize("target", ["host", pytest.param("cortex-m4", marks=pytest.mark.qemu)])
def test_brevitas_binary_model_verifies(brevitas_model, target):
    pixels, _ = digits()
    inputs = np.concatenate([pixels[:300], random_inputs(64, 200, seed=3)])
    report = verify_model(brevitas_model, inputs=inputs, target=target)
    assert report.ok, report.summary()
    assert report.argmax_agree == len(inputs)
    assert report.worst_ratio <= 1e-4
    assert "QONNX" in report.reference


def test_lowered_quantizers_match_qonnx_executor(brevitas_model):
    """The verify reference (quantizers lowered to standard ops, run by onnxruntime) equals qonnx's executor."""
    qonnx_exec = pytest.importorskip("qonnx.core.onnx_exec")
    from qonnx.core.modelwrapper import ModelWrapper

    from bnncc.verify import Reference

    wrapper = ModelWrapper(str(brevitas_model))
    name_in, name_out = wrapper.graph.input[0].name, wrapper.graph.output[0].name
    shape = [d.dim_value for d in wrapper.graph.input[0].type.tensor_type.shape.dim]
    inputs = random_inputs(int(np.prod(shape)), 20, seed=4)
    ours = Reference(brevitas_model).run(inputs)[0]
    theirs = np.array([qonnx_exec.execute_onnx(wrapper, {name_in: x.reshape(shape)})[name_out].reshape(-1)
                       for x in inputs])
    np.testing.assert_array_equal(ours, theirs)
