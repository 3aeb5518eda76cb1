"""`pip install .` (not editable) into a fresh venv, then `bnncc compile` from another folder.

The venv does not see the caller's site-packages (a user's venv has no dependencies in its base interpreter,
CI's interpreter has them all): bnncc comes from the wheel only, and the dependencies are borrowed from
whatever interpreter runs the tests, by a .pth written after the install.
"""

import os
import subprocess
import sys
import venv
from pathlib import Path

import onnx
import pytest

from tests.helpers.onnx_models import cnn

ROOT = Path(__file__).resolve().parents[2]


def caller_site_dirs() -> list[str]:
    """The site-packages folders of the interpreter running the tests: where onnx, onnxruntime ... live.

    Listed in a .pth they are plain sys.path entries: their own .pth files (the editable bnncc) are not run."""
    return [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]


@pytest.mark.slow
def test_wheel_install_carries_templates_and_runtime(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = str(env_dir / "bin" / "python")
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(ROOT)],
                            capture_output=True, text=True, env=clean_env)
    assert result.returncode == 0, result.stderr[-2000:]
    # Only now, so that pip never sees (or offers to uninstall) the caller's bnncc.
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, env=clean_env).stdout.strip()
    (Path(purelib) / "_bnncc_test_dependencies.pth").write_text("\n".join(caller_site_dirs()) + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    onnx.save(cnn(seed=2), elsewhere / "m.onnx")
    where = subprocess.run(
        [python, "-c", "import bnncc, bnncc.resources as r, onnxruntime\n"
                       "print(bnncc.__file__, r.runtime_dir(), r.templates_dir(), sep='\\n')"],
        cwd=elsewhere, capture_output=True, text=True, env=clean_env)
    assert where.returncode == 0, where.stderr
    for path in where.stdout.split():
        assert Path(path).resolve().is_relative_to(env_dir.resolve()), f"{path} is not from the installed wheel"
    result = subprocess.run([str(env_dir / "bin" / "bnncc"), "compile", "m.onnx", "-o", "out"], cwd=elsewhere,
                            capture_output=True, text=True, env=clean_env)
    assert result.returncode == 0, result.stderr
    assert (elsewhere / "out" / "m.c").exists() and (elsewhere / "out" / "bnn.h").exists()
