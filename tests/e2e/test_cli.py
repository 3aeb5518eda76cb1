"""The CLI exactly as a user runs it."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from tests.helpers.onnx_models import ModelBuilder, cnn

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "digits"


def bnncc(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bnncc.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_compile_inspect_verify_roundtrip(tmp_path):
    onnx.save(cnn(seed=11), tmp_path / "m.onnx")
    result = bnncc("compile", tmp_path / "m.onnx", "-o", tmp_path / "out", "--name", "net")
    assert result.returncode == 0, result.stderr
    assert {"net.h", "net.c", "bnn.h"} <= {p.name for p in (tmp_path / "out").iterdir()}
    header = (tmp_path / "out" / "net.h").read_text()
    for symbol in ("NET_INPUT_SIZE 64", "NET_OUTPUT_SIZE 10", "NET_ARENA_BYTES", "int net_run(const float *input, float *output);"):
        assert symbol in header
    result = bnncc("inspect", tmp_path / "m.onnx")
    assert result.returncode == 0 and "bnn_conv2d_bin_thresh" in result.stdout and "arena" in result.stdout
    result = bnncc("verify", tmp_path / "m.onnx", "--samples", "300")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "argmax agrees with onnxruntime: 300/300" in result.stdout and "MATCH" in result.stdout


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_example_models_verify_on_every_shipped_input(name):
    inputs = EXAMPLES / "inputs.npy"
    count = np.load(inputs).shape[0]
    assert count >= 300
    result = bnncc("verify", EXAMPLES / f"{name}.onnx", "--inputs", inputs)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"argmax agrees with onnxruntime: {count}/{count}" in result.stdout


def test_sign_at_zero_is_reported_separately(tmp_path):
    # Sign directly on an integer accumulator: exact zeros are frequent (even fan-in).
    b = ModelBuilder((16,), seed=12)
    x = b.sign(b.start(), "where")
    x = b.sign(b.gemm(x, 16, 24), "sign")
    x = b.gemm(x, 24, 5)
    onnx.save(b.build(x), tmp_path / "z.onnx")
    inspect = bnncc("inspect", tmp_path / "z.onnx")
    assert "warning:" in inspect.stdout and "exact 0" in inspect.stdout
    result = bnncc("verify", tmp_path / "z.onnx", "--samples", "300")
    assert result.returncode == 0, result.stdout
    assert "sign-at-zero: on" in result.stdout and "every difference explained" in result.stdout


def test_verify_fails_on_a_real_mismatch(tmp_path, monkeypatch):
    """A wrong threshold must be caught: patch the lowering to shift one threshold."""
    import bnncc.passes.thresholds as thresholds
    from bnncc.verify import verify_model

    original = thresholds.integer_thresholds

    def broken(*args, **kwargs):
        t = original(*args, **kwargs)
        t.values[0] += 1
        return t

    import importlib

    monkeypatch.setattr(importlib.import_module("bnncc.passes.lower"), "integer_thresholds", broken)
    b = ModelBuilder((16,), seed=13)
    x = b.sign(b.batchnorm(b.gemm(b.start(), 16, 32), 32, fan_in=16))
    x = b.sign(b.batchnorm(b.gemm(x, 32, 32), 32, fan_in=32, zero_gamma=False))
    onnx.save(b.build(b.gemm(x, 32, 4)), tmp_path / "m.onnx")
    report = verify_model(tmp_path / "m.onnx", samples=300)
    assert not report.ok and report.mismatched


def test_unknown_target_is_a_usage_error(tmp_path):
    onnx.save(cnn(seed=1), tmp_path / "m.onnx")
    result = bnncc("compile", tmp_path / "m.onnx", "-o", tmp_path / "o", "--target", "cortex-a53")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()
