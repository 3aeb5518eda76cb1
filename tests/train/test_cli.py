import json

import pytest

from tests.helpers.tools import require_tools

pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from bnncc.train.cli import train_command  # noqa: E402


# Two epochs of width 32 are far from convergence, where accuracy differs between seeds and CPUs
# (seeds 0-4: mlp 0.68-0.80; the cnn at lr 1e-2 only 0.30-0.38, hence lr 3e-2: 0.44-0.63).
@pytest.mark.parametrize("arch,optimizer,extra", [
    ("mlp", "bop2nd-unbiased", ["--ste", "swish"]),
    ("cnn", "adam", ["--xnor-scale", "--ste", "approx", "--lr", "3e-2"])])
def test_train_command_writes_model_and_metrics(tmp_path, arch, optimizer, extra):
    out, metrics = tmp_path / "m.onnx", tmp_path / "metrics.json"
    result = CliRunner().invoke(train_command, [
        "--arch", arch, "--optimizer", optimizer, "--epochs", "2", "--width", "32", "-o", str(out),
        "--metrics", str(metrics), "--no-progress"] + extra)
    assert result.exit_code == 0, result.output
    assert out.is_file() and "test accuracy" in result.output
    data = json.loads(metrics.read_text())
    assert data["config"]["optimizer"] == optimizer and len(data["history"]) == 2
    # chance is 0.1: twice chance shows that it trained, far under every seed above
    assert data["test_accuracy"] > 0.2 and data["onnx_check"]["argmax_agree"] == data["onnx_check"]["samples"]


@pytest.mark.parametrize("args,message", [
    (["--dataset", "mnist"], "--mnist-dir"),
    (["--dataset", "mnist", "--mnist-dir", "."], "not found"),
    (["--optimizer", "bop", "--xnor-scale"], "--optimizer adam"),
])
def test_user_errors_exit_2_with_one_line_and_write_nothing(tmp_path, args, message):
    result = CliRunner().invoke(train_command, args + ["-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.onnx").exists()


def test_train_through_the_bnncc_command_group(tmp_path):
    from bnncc.cli import main

    out = tmp_path / "m.onnx"
    result = CliRunner().invoke(main, ["train", "--epochs", "1", "--width", "16", "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert out.is_file()


def test_importing_the_command_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, bnncc.train.cli; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_train_with_verify_compiles_and_checks_the_c(tmp_path):
    require_tools("cc")
    out, metrics = tmp_path / "m.onnx", tmp_path / "metrics.json"
    result = CliRunner().invoke(train_command, [
        "--optimizer", "bop", "--epochs", "1", "--width", "16", "-o", str(out), "--metrics", str(metrics),
        "--no-progress", "--verify"])
    assert result.exit_code == 0, result.output
    assert "verify (host C vs onnxruntime" in result.output and result.output.rstrip().endswith("ok")
    assert json.loads(metrics.read_text())["verify_ok"] is True


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_trained_models_verify_on_host_and_cortex_m4(tmp_path, arch):
    require_tools("cc", "arm-none-eabi-gcc", "qemu-system-arm")
    out, metrics = tmp_path / "m.onnx", tmp_path / "metrics.json"
    result = CliRunner().invoke(train_command, [
        "--arch", arch, "--epochs", "1", "--width", "32", "-o", str(out), "--metrics", str(metrics),
        "--no-progress", "--verify", "--verify-on", "host", "--verify-on", "cortex-m4"])
    assert result.exit_code == 0, result.output
    assert json.loads(metrics.read_text())["verify"] == {"host": True, "cortex-m4": True}


def test_train_on_mnist_idx_files(tmp_path):
    import gzip
    import struct

    import numpy as np

    from bnncc.train.data import MNIST_FILES

    rng = np.random.default_rng(0)
    for part, n in (("train", 40), ("test", 10)):
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        images = rng.integers(0, 40, size=(n, 12, 12), dtype=np.uint8)
        images[np.arange(n), labels, labels] = 255   # a learnable mark: the label's diagonal pixel
        for key, array in ((f"{part}_images", images), (f"{part}_labels", labels)):
            header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            (tmp_path / (MNIST_FILES[key] + ".gz")).write_bytes(gzip.compress(header + array.tobytes()))
    out = tmp_path / "mnist.onnx"
    result = CliRunner().invoke(train_command, [
        "--dataset", "mnist", "--mnist-dir", str(tmp_path), "--arch", "cnn", "--epochs", "1", "--width", "16",
        "--batch-size", "8", "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    import onnx

    dims = [d.dim_value for d in onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 1, 12, 12]


def test_package_exports_load_lazily():
    import subprocess
    import sys

    code = ("import sys, bnncc.train; assert 'torch' not in sys.modules; "
            "from bnncc.train import Bop, BinaryMLP, export_onnx; assert 'torch' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_schedules_on_the_command_line_are_applied_and_stored(tmp_path):
    out, metrics = tmp_path / "m.onnx", tmp_path / "metrics.json"
    result = CliRunner().invoke(train_command, [
        "--optimizer", "bop2nd", "--epochs", "3", "--width", "16", "--schedule", "step",
        "--schedule", "tau=cosine:1e-3:1e-5", "--schedule", "sigma=exponential:1e-2:1e-4",
        "-o", str(out), "--metrics", str(metrics), "--no-progress"])
    assert result.exit_code == 0, result.output
    data = json.loads(metrics.read_text())
    assert data["config"]["schedule"] == "step"
    assert data["config"]["schedules"] == {"tau": "cosine:1e-3:1e-5", "sigma": "exponential:1e-2:1e-4"}
    taus = [h["hyper_parameters"]["tau"] for h in data["history"]]
    sigmas = [h["hyper_parameters"]["sigma"] for h in data["history"]]
    assert taus == pytest.approx([1e-3, 5.05e-4, 1e-5]) and sigmas == pytest.approx([1e-2, 1e-3, 1e-4])


@pytest.mark.parametrize("args,message", [
    (["--schedule", "linear"], "--schedule linear"),
    (["--schedule", "tau=cosine:x"], "not a number"),
    (["--schedule", "beta=cosine"], "cannot schedule 'beta'"),
    (["--schedule", "tau=cosine"], "no hyper-parameter 'tau'"),          # adam has no tau
    (["--optimizer", "bop", "--stochastic", "weights"], "--optimizer adam"),
])
def test_schedule_and_stochastic_user_errors(tmp_path, args, message):
    result = CliRunner().invoke(train_command, args + ["--epochs", "1", "--width", "8",
                                                       "-o", str(tmp_path / "m.onnx"), "--no-progress"])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("arch,extra", [("bireal", ["--binary-first"]), ("reactnet", ["--dynamo", "--external-data"]),
                                        ("densenet", []), ("bnfree", ["--agc", "0.05", "--ste", "approx"])])
def test_train_mixed_precision_archs(tmp_path, arch, extra):
    out, metrics = tmp_path / "m.onnx", tmp_path / "metrics.json"
    result = CliRunner().invoke(train_command, [
        "--arch", arch, "--epochs", "10" if arch == "bnfree" else "3", "--width", "128", "-o", str(out), "--metrics", str(metrics),
        "--no-progress"] + extra)
    assert result.exit_code == 0, result.output
    data = json.loads(metrics.read_text())
    assert data["config"]["arch"] == arch and data["test_accuracy"] > 0.3  # chance is 0.1
    assert data["onnx_check"]["argmax_agree"] == data["onnx_check"]["samples"]
    assert data["config"]["real_first"] is (False if "--binary-first" in extra else None)
    assert data["config"]["agc"] == {"bnfree": 0.05}.get(arch, 0.0)  # bnfree defaults to 0.1
    assert (tmp_path / "m.onnx.data").exists() == ("--external-data" in extra)


@pytest.mark.parametrize("args,message", [
    (["--arch", "bnfree", "--optimizer", "bop"], "--optimizer adam"),
    (["--external-data"], "--dynamo"),
    (["--arch", "float-mlp", "--optimizer", "bop"], "no binary weights"),
    (["--arch", "float-mlp", "--stochastic", "weights"], "no binary weights"),
])
def test_mixed_precision_user_errors(tmp_path, args, message):
    result = CliRunner().invoke(train_command, args + ["-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("optimizer,extra", [("pbop", []), ("adam", ["--stochastic", "all"]),
                                             ("bop2nd", ["--schedule", "tau=cosine:1e-3:1e-5"])])
def test_pbop_and_stochastic_models_export_and_verify_on_host(tmp_path, optimizer, extra):
    require_tools("cc")
    out, metrics = tmp_path / "m.onnx", tmp_path / "metrics.json"
    result = CliRunner().invoke(train_command, [
        "--optimizer", optimizer, "--epochs", "2", "--width", "16", "-o", str(out), "--metrics", str(metrics),
        "--no-progress", "--verify"] + extra)
    assert result.exit_code == 0, result.output
    data = json.loads(metrics.read_text())
    assert data["verify_ok"] is True and data["config"]["optimizer"] == optimizer


def test_train_mixed_arch_with_verify_on_host(tmp_path):
    require_tools("cc")
    out, metrics = tmp_path / "m.onnx", tmp_path / "metrics.json"
    result = CliRunner().invoke(train_command, [
        "--arch", "reactnet", "--epochs", "1", "--width", "64", "-o", str(out), "--metrics", str(metrics),
        "--no-progress", "--verify"])
    assert result.exit_code == 0, result.output
    assert json.loads(metrics.read_text())["verify"] == {"host": True}
