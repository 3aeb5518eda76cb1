"""`bnncc compile --target` refuses a model that cannot fit the target, with the numbers, writing nothing."""

import subprocess
import sys

import onnx

from tests.helpers.onnx_models import ModelBuilder


def test_model_too_large_for_target_is_refused(tmp_path):
    b = ModelBuilder((2048,), seed=0)
    x = b.sign(b.batchnorm(b.gemm(b.start(), 2048, 2300, via="folded"), 2300, fan_in=2048))
    onnx.save(b.build(b.gemm(x, 2300, 10, via="folded")), tmp_path / "big.onnx")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "bnncc.cli", "compile", str(tmp_path / "big.onnx"), "-o", str(out),
                             "--target", "cortex-m55"], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "does not fit cortex-m55" in result.stderr and "flash" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    # The same model fits the M4's 4 MiB board.
    result = subprocess.run([sys.executable, "-m", "bnncc.cli", "compile", str(tmp_path / "big.onnx"), "-o", str(out),
                             "--target", "cortex-m4"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
