"""Board presets build and run: the example models verify exactly on QEMU's real-board machines,
bench counts instructions there, and every preset without an emulator links the example CNN within
its board's flash and RAM."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bnncc.compiler import compile_model
from bnncc.errors import BnnccError
from bnncc.targets.bench import bench_model, format_bench
from bnncc.targets.boards import all_boards, get_board
from bnncc.verify import verify_model
from tests.helpers.tools import require_tools
from tests.targets.conftest import needs_qemu

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits"
EMULATED = [b.name for b in all_boards() if b.emulated]
NOT_EMULATED = [b.name for b in all_boards() if not b.emulated]

needs_arm_gcc = pytest.mark.usefixtures("arm_gcc")  # fails (naming the package) if it is missing


@pytest.fixture(scope="module")
def compiled_cnn(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn")
    compiled = compile_model(DIGITS / "cnn.onnx", out)
    layers = [{"name": layer.name, "op": layer.op, "binary_macs": layer.binary_macs} for layer in compiled.layers]
    return out, compiled.name, layers


@pytest.mark.qemu
@needs_qemu
@pytest.mark.parametrize("board", EMULATED)
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_example_model_is_exact_on_board(model, board):
    inputs = np.load(DIGITS / "inputs.npy")[:24]
    report = verify_model(DIGITS / f"{model}.onnx", inputs=inputs, board=board)
    assert report.ok, report.summary()
    assert report.argmax_agree == 24 and report.worst_ratio <= 1e-4
    assert f"on board {board}" in report.target


@pytest.mark.qemu
@needs_qemu
def test_bench_counts_instructions_on_board_machines(compiled_cnn):
    model_dir, name, layers = compiled_cnn
    # The same Cortex-M3 code on two different machines executes the same instructions.
    results = [bench_model(model_dir, name, None, layers, board=get_board(b))
               for b in ("stm32vldiscovery", "lm3s6965evb")]
    assert results[0]["machine"] == "stm32vldiscovery" and results[1]["machine"] == "lm3s6965evb"
    assert results[0]["total"]["instructions"] == results[1]["total"]["instructions"] > 0
    assert results[0]["board"]["ram_bytes"] == 8192
    assert "board stm32vldiscovery (STM32F100RB), -Os: flash" in format_bench(results[0])


def test_verify_refuses_a_board_without_emulator():
    with pytest.raises(BnnccError, match="board pico has no emulator"):
        verify_model(DIGITS / "mlp.onnx", samples=2, board="pico")


@needs_arm_gcc
@pytest.mark.parametrize("board", NOT_EMULATED)
def test_preset_links_the_example_cnn_within_its_sizes(compiled_cnn, board):
    model_dir, name, layers = compiled_cnn
    preset = get_board(board)
    result = bench_model(model_dir, name, None, layers, board=preset)
    assert result["total"]["instructions"] is None and result["machine"] == board
    for opt in ("O2", "Os"):
        total = result["memory"][opt]["total"]
        assert 0 < total["flash"] <= preset.flash.size
        assert 0 < total["ram"] <= preset.ram.size
    text = format_bench(result)
    assert re.search(rf"board {board} \(.*\), -Os: flash [\d,]+ of {preset.flash.size:,} B", text), text
    assert f"RAM {result['memory']['Os']['total']['ram']:,} of {preset.ram.size:,} B" in text


@pytest.mark.qemu
@needs_qemu
def test_board_project_make_run(tmp_path):
    require_tools("make")
    out = tmp_path / "out"
    compile_model(DIGITS / "cnn.onnx", out, target="cortex-m4", board="netduinoplus2")
    assert "-M netduinoplus2" in (out / "Makefile").read_text()
    build = subprocess.run(["make", "-s"], cwd=out, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    run = subprocess.run(["make", "-s", "run"], cwd=out, capture_output=True, text=True, timeout=120)
    console = run.stdout + run.stderr
    assert run.returncode == 0, console
    assert re.search(r"class \d", console) and re.search(r"instructions [1-9]\d*", console), console
