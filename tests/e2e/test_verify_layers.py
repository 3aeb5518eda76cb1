"""`bnncc verify --layers`: every intermediate tensor of the C against onnxruntime, categorized."""

import re
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from bnncc import ir
from bnncc.cli import main
from bnncc.compiler import compile_model
from bnncc.verify_layers import LayerRow, _categorize, verify_layers
from tests.helpers.onnx_models import ModelBuilder, cnn, mlp

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "digits"


def _save(model: onnx.ModelProto, folder: Path) -> Path:
    path = folder / "m.onnx"
    onnx.save(model, path)
    return path


def _assert_binary_layers_identical(report):
    assert report.ok, report.summary()
    assert not report.mismatches
    for row in report.rows:
        if row.kind == "bits":
            assert row.status == "exact", report.summary()
        elif row.kind == "real":  # float outputs: identical or within the verify tolerance
            assert row.status in ("exact", "rounding"), report.summary()
    assert report.output_close == report.samples and report.output_argmax == report.samples


@pytest.mark.parametrize("model", ["mlp.onnx", "cnn.onnx"])
def test_examples_every_binarized_layer_identical(model):
    inputs = np.load(EXAMPLES / "inputs.npy")[:60]
    report = verify_layers(EXAMPLES / model, inputs=inputs)
    _assert_binary_layers_identical(report)
    assert sum(r.compared for r in report.rows) >= 3


@pytest.mark.parametrize("build", [lambda: mlp(seed=3), lambda: mlp(seed=4, sign_form="sign"), lambda: cnn(seed=5)])
def test_helper_models_every_binarized_layer_identical(build, tmp_path):
    report = verify_layers(_save(build(), tmp_path), samples=40)
    _assert_binary_layers_identical(report)


def test_sign_at_zero_reported_apart(tmp_path):
    """A Sign directly on the dyadic-grid input meets exact zeros: counted as sign-at-zero, not differences."""
    b = ModelBuilder((40,), seed=1)
    x = b.sign(b.start(), "sign")
    x = b.gemm(x, 40, 6)
    report = verify_layers(_save(b.build(x), tmp_path), samples=30)
    packed = report.rows[0]
    assert packed.kind == "bits" and packed.status == "exact"
    assert packed.sign_zero > 0  # 1/129 of the grid is 0: ~9 zeros over 30 x 40 values
    assert report.ok and report.first_parting in (None, report.rows[-1])
    assert "sign-at-zero" in report.summary()


def test_corrupted_threshold_is_the_first_parting_layer(tmp_path):
    """Shift one integer threshold of a hidden binary layer in the emitted C: that layer is a MISMATCH."""
    path = _save(cnn(seed=2), tmp_path)
    folder = tmp_path / "c"
    compiled = compile_model(path, folder, name="model")
    source = (folder / "model.c").read_text()
    index = next(i for i, layer in enumerate(compiled.graph.nodes) if layer.kernel.startswith("bnn_conv2d_bin"))
    pattern = re.compile(rf"(static const int32_t l{index}_\w+_thresh\[\d+\] = {{\n\s*)(-?\d+)")
    match = pattern.search(source)
    assert match, "no integer threshold array for the binary conv"
    corrupted = source[:match.start(2)] + str(int(match.group(2)) + 7) + source[match.end(2):]
    (folder / "model.c").write_text(corrupted)
    report = verify_layers(path, samples=40, emitted=folder)
    assert not report.ok
    first = report.first_parting
    compared_at = [r for r in report.rows if r.compared]
    assert first is not None and first.status == "MISMATCH", report.summary()
    # the corrupted layer, or its first compared output (a fused conv writes an internal tensor before a pool)
    assert first.index == min(r.index for r in compared_at if r.index >= index), report.summary()
    assert all(r.status in ("downstream", "exact") for r in report.rows if r.compared and r.index > first.index)
    assert "result: MISMATCH" in report.summary()


def test_cli_layers_exit_codes(tmp_path):
    runner = CliRunner()
    good = runner.invoke(main, ["verify", str(EXAMPLES / "mlp.onnx"), "--layers", "--samples", "20"])
    assert good.exit_code == 0, good.output
    assert "first layer where" in good.output or "identical on every input" in good.output
    assert "result: MATCH" in good.output
    # on a Cortex-M target the layers are traced on that core in QEMU (semihosting writes the arena)
    arm = runner.invoke(main, ["verify", str(EXAMPLES / "cnn.onnx"), "--layers", "--target", "cortex-m0plus",
                               "--inputs", str(EXAMPLES / "inputs.npy")])
    assert arm.exit_code == 0, arm.output
    assert "target cortex-m0plus: 360 inputs, every intermediate tensor" in arm.output
    assert "result: MATCH" in arm.output


def test_cli_layers_exit_1_on_a_mismatch(tmp_path, monkeypatch):
    import bnncc.verify_layers as vl

    real = vl.trace_host

    def corrupt(model_dir, name, graph, inputs, work):
        trace = real(model_dir, name, graph, inputs, work)
        trace[:, 0, :] ^= np.uint32(1)  # flip bit 0 of every word after layer 0
        return trace

    monkeypatch.setattr(vl, "trace_host", corrupt)
    bad = CliRunner().invoke(main, ["verify", str(EXAMPLES / "mlp.onnx"), "--layers", "--samples", "5"])
    assert bad.exit_code == 1, bad.output
    assert "first layer where C and onnxruntime part: layer 0" in bad.output
    assert "result: MISMATCH in layer(s) 0" in bad.output


# --------------------------------------------------------------------------- categories, unit level


def _bits_case(kernel_layer, pre, got_bits, rounded=()):
    graph = ir.Graph(tensors={"x": ir.Tensor("x", (4,), ir.Kind.REAL), "y": ir.Tensor("y", (4,), ir.Kind.BITS)},
                     nodes=[kernel_layer], input="x", output="y")
    row = LayerRow(0, "l", kernel_layer.kernel, "y", "bits", 4)
    binarizer = ir.Binarize("s", ["p"], ["y"], onnx_op="Sign")
    expected = np.where(pre >= 0, 1.0, -1.0).astype(np.float32)
    category = _categorize(row, kernel_layer, graph, "y", np.asarray(got_bits), expected, {"p": pre},
                           {"y": binarizer}, False, set(rounded))
    return category, row


def test_near_zero_flip_of_a_float_sum_is_not_a_mismatch():
    conv = ir.DenseLayer("d", ["x"], ["y"], binary_input=False, out=ir.Threshold(np.zeros(4, np.float32),
                         np.zeros(4, bool), np.zeros(4, bool)))
    assert conv.kernel == "bnn_dense_f32_thresh"
    pre = np.array([3.0, -2.0, 1e-7, -5.0], np.float32)
    category, row = _bits_case(conv, pre, [True, False, False, False])  # the tiny value flipped
    assert category == "near-zero" and row.near_zero_bits == 1
    category, _ = _bits_case(conv, pre, [False, False, True, False])  # 3.0 flipped: far from its threshold
    assert category == "MISMATCH"


def test_bit_flip_of_an_exact_real_input_is_a_mismatch():
    pack = ir.Pack("p", ["x"], ["y"], dims=(4, 1, 1))
    pre = np.array([3.0, -2.0, 1e-7, -5.0], np.float32)
    assert _bits_case(pack, pre, [True, False, False, False])[0] == "MISMATCH"  # no float sum, input exact
    # the same flip after the real input differed by rounding upstream is a near-zero case
    assert _bits_case(pack, pre, [True, False, False, False], rounded={"x"})[0] == "near-zero"


def test_exact_zero_before_sign_is_counted():
    pack = ir.Pack("p", ["x"], ["y"], dims=(4, 1, 1))
    pre = np.array([0.0, -2.0, 0.0, 1.0], np.float32)
    category, row = _bits_case(pack, pre, [True, False, True, True])
    assert category == "exact" and row.sign_zero == 2
