"""The committed digits example models meet the accuracy targets and keep the documented input contract."""

from pathlib import Path

import numpy as np
import onnx
import pytest

ort = pytest.importorskip("onnxruntime")

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits"
TARGETS = {"mlp": ((1, 64), 0.97), "cnn": ((1, 1, 8, 8), 0.98)}


@pytest.fixture(scope="module")
def test_set():
    inputs, labels = np.load(DIGITS / "inputs.npy"), np.load(DIGITS / "labels.npy")
    return inputs, labels


def test_inputs_are_the_preprocessed_held_out_split(test_set):
    from bnncc.train.data import load_digits_split

    inputs, labels = test_set
    assert inputs.dtype == np.float32 and inputs.shape == (360, 64) and labels.shape == (360,)
    split = load_digits_split(seed=0)
    assert np.array_equal(inputs, split.x_test) and np.array_equal(labels, split.y_test)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_example_model_accuracy_and_contract(test_set, name):
    shape, target = TARGETS[name]
    path = DIGITS / f"{name}.onnx"
    model = onnx.load(str(path))
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == list(shape)
    assert model.opset_import[0].version >= 13
    assert "Sign" not in {n.op_type for n in model.graph.node}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs, labels = test_set
    predictions = [int(session.run(None, {"input": x.reshape(shape)})[0].argmax()) for x in inputs]
    assert np.mean(np.array(predictions) == labels) >= target
