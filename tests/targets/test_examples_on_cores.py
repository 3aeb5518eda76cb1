"""Both shipped example models are bit-exact against onnxruntime on all six emulated cores."""

from pathlib import Path

import numpy as np
import pytest

from bnncc.verify import verify_model
from tests.targets.conftest import needs_qemu

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits"
CORES = ["cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"]

pytestmark = [pytest.mark.qemu, needs_qemu]


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_example_model_is_exact_on_core(model, core):
    inputs = np.load(DIGITS / "inputs.npy")[:24]
    report = verify_model(DIGITS / f"{model}.onnx", inputs=inputs, target=core)
    assert report.ok, report.summary()
    assert report.argmax_agree == 24 and report.worst_ratio <= 1e-4
