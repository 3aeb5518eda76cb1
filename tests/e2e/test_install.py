"""`pip install .` (not editable) into a fresh venv, then `bnncc compile` from another folder."""

import os
import subprocess
import venv
from pathlib import Path

import onnx
import pytest

from tests.helpers.onnx_models import cnn

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_install_carries_templates_and_runtime(tmp_path):
    env_dir = tmp_path / "venv"
    # System site-packages provide the heavy dependencies; bnncc itself comes from the wheel.
    venv.EnvBuilder(with_pip=True, system_site_packages=True).create(env_dir)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps"]
    result = subprocess.run([*pip, str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    onnx.save(cnn(seed=2), elsewhere / "m.onnx")
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([str(env_dir / "bin" / "bnncc"), "compile", "m.onnx", "-o", "out"], cwd=elsewhere,
                            capture_output=True, text=True, env=clean_env)
    assert result.returncode == 0, result.stderr
    where = subprocess.run([str(env_dir / "bin" / "python"), "-c", "import bnncc.resources as r; print(r.runtime_dir())"],
                           cwd=elsewhere, capture_output=True, text=True, env=clean_env).stdout
    assert str(env_dir) in where, f"runtime_c resolved outside the installed wheel: {where}"
    assert (elsewhere / "out" / "m.c").exists() and (elsewhere / "out" / "bnn.h").exists()
