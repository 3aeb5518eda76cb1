import json

import pytest

pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from bnncc.train.cli import train_command  # noqa: E402


@pytest.mark.parametrize("arch,optimizer", [("mlp", "bop2nd-unbiased"), ("cnn", "adam")])
def test_train_command_writes_model_and_metrics(tmp_path, arch, optimizer):
    out, metrics = tmp_path / "m.onnx", tmp_path / "metrics.json"
    result = CliRunner().invoke(train_command, [
        "--arch", arch, "--optimizer", optimizer, "--epochs", "2", "--width", "32", "-o", str(out),
        "--metrics", str(metrics), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "test accuracy" in result.output
    data = json.loads(metrics.read_text())
    assert data["config"]["optimizer"] == optimizer and len(data["history"]) == 2
    # chance is 0.1; two epochs of a tiny model already beat it clearly
    assert data["test_accuracy"] > 0.3 and data["onnx_check"]["argmax_agree"] == data["onnx_check"]["samples"]


def test_mnist_without_directory_is_a_user_error(tmp_path):
    from bnncc.errors import BnnccError

    result = CliRunner().invoke(train_command, ["--dataset", "mnist", "-o", str(tmp_path / "m.onnx")])
    assert isinstance(result.exception, BnnccError)
    assert not (tmp_path / "m.onnx").exists()


def test_importing_the_command_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, bnncc.train.cli; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
