"""The compiler works with PyTorch absent: nothing under `bnncc` imports torch unless training is asked for."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
from click.testing import CliRunner
from bnncc.cli import main
runner = CliRunner()
for args in (["--help"], ["inspect", "examples/digits/mlp.onnx"],
             ["verify", "examples/digits/mlp.onnx", "--samples", "20"]):
    result = runner.invoke(main, args)
    assert result.exit_code == 0, (args, result.output, result.exception)
print("ok")
"""


def test_compiler_cli_runs_without_torch():
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stdout + result.stderr
