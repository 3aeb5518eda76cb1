"""The four committed mixed-precision example models (examples/mixed): contract, accuracy, and the compiled C
against onnxruntime on the 360 held-out digits on the host and on 40 of them on each of the six emulated cores."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from tests.helpers.tools import require_tools
from bnncc.verify import verify_model

ort = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]
MIXED = ROOT / "examples" / "mixed"
DIGITS = ROOT / "examples" / "digits"
ARCHS = ["bireal", "bnfree", "densenet", "reactnet"]
CORES = ["cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"]
# Wide floors (chance is 0.1): the exact figures are in metrics.json and may move by a sample between CPUs.
FLOORS = {"bireal": 0.9, "reactnet": 0.9, "densenet": 0.9, "bnfree": 0.85}


@pytest.fixture(scope="module")
def test_set():
    return np.load(DIGITS / "inputs.npy"), np.load(DIGITS / "labels.npy")


@pytest.fixture(scope="module")
def metrics():
    return json.loads((MIXED / "metrics.json").read_text())


@pytest.mark.parametrize("arch", ARCHS)
def test_example_contract_and_accuracy(test_set, metrics, arch):
    path = MIXED / f"{arch}.onnx"
    data = path.with_name(path.name + ".data")
    assert (arch == "reactnet") == data.exists()  # the one model through the dynamo exporter
    assert path.stat().st_size + (data.stat().st_size if data.exists() else 0) < 64 * 1024
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 1, 8, 8]
    ops = {n.op_type for n in model.graph.node}
    assert "Sign" not in ops and "Where" in ops
    assert ("BatchNormalization" in ops) == (arch in ("bireal", "densenet"))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs, labels = test_set
    predictions = np.array([int(session.run(None, {"input": x.reshape(1, 1, 8, 8)})[0].argmax()) for x in inputs])
    accuracy = float(np.mean(predictions == labels))
    assert accuracy >= FLOORS[arch]
    assert abs(accuracy - metrics[arch]["test_accuracy"]) <= 2 / len(labels)


def test_metrics_record_the_rerun_over_three_seeds(metrics):
    for arch in ARCHS:
        rerun = metrics[arch]["rerun"]
        assert rerun["seeds"] == [0, 1, 2] and len(rerun["test_accuracy"]) == 3
        assert rerun["min"] <= rerun["mean"] <= rerun["max"]
        assert metrics[arch]["onnx_check"]["argmax_agree"] == 360


@pytest.mark.parametrize("arch", ARCHS)
def test_example_c_matches_onnxruntime_on_host(test_set, arch):
    require_tools("cc")
    inputs, _ = test_set
    report = verify_model(MIXED / f"{arch}.onnx", inputs=inputs, target="host")
    assert report.ok, report.summary()
    assert report.samples == 360 and report.argmax_agree == 360 and report.worst_ratio <= 1e-4


@pytest.mark.qemu
@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("arch", ARCHS)
def test_example_c_matches_onnxruntime_on_core(test_set, arch, core):
    require_tools("arm-none-eabi-gcc", "qemu-system-arm")
    inputs, _ = test_set
    report = verify_model(MIXED / f"{arch}.onnx", inputs=inputs[:40], target=core)
    assert report.ok, report.summary()
    assert report.argmax_agree == 40 and report.worst_ratio <= 1e-4
