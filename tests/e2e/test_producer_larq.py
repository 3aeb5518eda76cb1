"""A real Larq binary CNN, converted by tf2onnx, compiles and verifies on host and cortex-m4.

TensorFlow, tf-keras, larq and tf2onnx live in their own venv (they pin numpy/protobuf/onnx differently
from the main environment); .ci/run creates it. The export runs in that venv's python; the ONNX file it
writes is compiled and verified here."""

import os
import subprocess
from pathlib import Path

import onnx
import pytest

from bnncc.verify import verify_model

LARQ_PYTHON = Path(os.environ.get("BNNCC_LARQ_PYTHON", "/opt/bnncc-larq/bin/python"))
INSTALL = ("python3 -m venv /opt/bnncc-larq && /opt/bnncc-larq/bin/pip install tensorflow-cpu tf-keras larq "
           "tf2onnx (the Larq step of .ci/run; or point BNNCC_LARQ_PYTHON at a python that has them)")


@pytest.fixture(scope="module")
def larq_onnx(tmp_path_factory):
    if not LARQ_PYTHON.exists():
        pytest.fail(f"the Larq venv is missing ({LARQ_PYTHON}); install it with: {INSTALL}")
    out = tmp_path_factory.mktemp("larq") / "larq_cnn.onnx"
    script = Path(__file__).parent / "larq" / "export_larq_cnn.py"
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    result = subprocess.run([str(LARQ_PYTHON), str(script), str(out)], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, f"the Larq export failed:\n{result.stderr[-3000:]}"
    return out


@pytest.mark.parametrize("target", ["host", pytest.param("cortex-m4", marks=pytest.mark.qemu)])
def test_larq_tf2onnx_cnn_verifies(larq_onnx, target):
    ops = {n.op_type for n in onnx.load(str(larq_onnx)).graph.node}
    assert "Sign" in ops  # ste_sign as tf2onnx writes it
    report = verify_model(larq_onnx, samples=300, target=target)
    assert report.ok, report.summary()
    assert report.argmax_agree == 300
