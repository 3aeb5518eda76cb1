"""Board presets: the memory maps, option resolution, the fit check and `bnncc compile --board`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from bnncc.errors import BnnccError
from bnncc.targets import get_target
from bnncc.targets.boards import (
    BOARD_NAMES,
    all_boards,
    check_board_fits,
    get_board,
    parse_region,
    select_board,
)
from tests.helpers.onnx_models import ModelBuilder

ROOT = Path(__file__).resolve().parents[2]
CNN = ROOT / "examples" / "digits" / "cnn.onnx"
KIB, MIB = 1024, 1024 * 1024


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bnncc.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


# (board, core, flash origin, flash size, RAM origin, RAM size), from the vendors' memory maps.
FACTS = [
    ("netduinoplus2", "cortex-m4", 0x08000000, 1 * MIB, 0x20000000, 128 * KIB),
    ("stm32vldiscovery", "cortex-m3", 0x08000000, 128 * KIB, 0x20000000, 8 * KIB),
    ("lm3s6965evb", "cortex-m3", 0x00000000, 256 * KIB, 0x20000000, 64 * KIB),
    ("microbit", "cortex-m0plus", 0x00000000, 256 * KIB, 0x20000000, 16 * KIB),
    ("stm32f746g-disco", "cortex-m7", 0x08000000, 1 * MIB, 0x20010000, 256 * KIB),
    ("nucleo-h743zi", "cortex-m7", 0x08000000, 2 * MIB, 0x24000000, 512 * KIB),
    ("nrf52840-dk", "cortex-m4", 0x00000000, 1 * MIB, 0x20000000, 256 * KIB),
    ("adafruit-m4", "cortex-m4", 0x00004000, 512 * KIB - 16 * KIB, 0x20000000, 192 * KIB),
    ("pico", "cortex-m0plus", 0x10000100, 2 * MIB - 256, 0x20000000, 256 * KIB),
]


@pytest.mark.parametrize("name, core, flash_origin, flash_size, ram_origin, ram_size", FACTS)
def test_memory_maps(name, core, flash_origin, flash_size, ram_origin, ram_size):
    board = get_board(name)
    assert board.target == core
    assert (board.flash.origin, board.flash.size) == (flash_origin, flash_size)
    assert (board.ram.origin, board.ram.size) == (ram_origin, ram_size)


def test_every_board_is_listed_with_sound_regions():
    assert set(BOARD_NAMES) == {f[0] for f in FACTS}
    for board in all_boards():
        get_target(board.target)
        regions = [board.flash, board.ram, *([board.stack_region] if board.stack_region else []),
                   *board.other_ram]
        spans = sorted((r.origin, r.origin + r.size) for r in regions)
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert end <= start, f"{board.name}: overlapping regions"


def test_tightly_coupled_ram_holds_the_stack():
    assert get_board("stm32f746g-disco").stack_region.name == "DTCM"
    assert get_board("nucleo-h743zi").stack_region.origin == 0x20000000
    assert get_board("pico").stack_region.origin == 0x20041000  # SCRATCH_Y, as the Pico SDK does
    # QEMU 7.2's netduinoplus2 maps no CCM: the stack stays in SRAM so the image runs there too.
    assert get_board("netduinoplus2").stack_region is None
    assert [r.name for r in get_board("netduinoplus2").other_ram] == ["CCM"]


def test_emulated_boards():
    assert {b.name for b in all_boards() if b.emulated} == {
        "netduinoplus2", "stm32vldiscovery", "lm3s6965evb", "microbit"}


def test_board_picks_the_core_and_refuses_a_conflicting_target():
    assert select_board("netduinoplus2", None) == ("cortex-m4", get_board("netduinoplus2"))
    assert select_board("netduinoplus2", "cortex-m4")[0] == "cortex-m4"
    with pytest.raises(BnnccError, match="board netduinoplus2 has a cortex-m4.*--target cortex-m3 conflicts"):
        select_board("netduinoplus2", "cortex-m3")


def test_old_board_meanings_still_work():
    assert select_board("qemu", None) == ("host", "qemu")
    assert select_board("generic", "cortex-m7") == ("cortex-m7", "generic")


def test_custom_board():
    target, board = select_board("custom", "cortex-m4", "0x08000000:512K", "0x20000000:0x20000")
    assert target == "cortex-m4"
    assert (board.flash.origin, board.flash.size) == (0x08000000, 512 * KIB)
    assert (board.ram.origin, board.ram.size) == (0x20000000, 128 * KIB)
    assert parse_region("0:1M", "--flash").size == MIB
    with pytest.raises(BnnccError, match="needs --target"):
        select_board("custom", None, "0x08000000:512K", "0x20000000:128K")
    with pytest.raises(BnnccError, match="ORIGIN:SIZE"):
        select_board("custom", "cortex-m4", "0x08000000", "0x20000000:128K")
    with pytest.raises(BnnccError, match="overlap"):
        select_board("custom", "cortex-m4", "0x20000000:512K", "0x20000000:128K")
    with pytest.raises(BnnccError, match="custom only"):
        select_board("microbit", None, "0:1K", None)


def test_unknown_board_lists_the_valid_ones():
    with pytest.raises(BnnccError) as info:
        get_board("arduino-uno")
    for name in (*BOARD_NAMES, "custom", "qemu", "generic"):
        assert name in str(info.value)


def test_fit_check_names_the_numbers():
    board = get_board("stm32vldiscovery")
    check_board_fits(board, 100 * KIB, 4 * KIB)
    with pytest.raises(BnnccError) as info:
        check_board_fits(board, 200_000, 1000)
    assert "200000 B flash (have 131072)" in str(info.value)
    with pytest.raises(BnnccError) as info:
        check_board_fits(board, 1000, 7000)
    assert "7000 B RAM + 2048 B stack (have 8192)" in str(info.value)


def test_boards_command_lists_every_board_with_its_memory():
    result = _cli("boards")
    assert result.returncode == 0, result.stderr
    for board in all_boards():
        assert board.name in result.stdout
    assert "0x08000000" in result.stdout and "DTCM 128 KiB @ 0x20000000" in result.stdout


def test_compile_board_writes_its_memory_map(tmp_path):
    out = tmp_path / "out"
    result = _cli("compile", str(CNN), "-o", str(out), "--board", "nucleo-h743zi")
    assert result.returncode == 0, result.stderr
    linker = (out / "linker.ld").read_text()
    assert "ORIGIN = 0x08000000, LENGTH = 2097152" in linker
    assert "ORIGIN = 0x24000000, LENGTH = 524288" in linker
    assert "DTCM  (rw)  : ORIGIN = 0x20000000, LENGTH = 131072" in linker
    assert "} > DTCM" in linker
    assert "-mcpu=cortex-m7" in (out / "Makefile").read_text()
    assert "qemu" not in (out / "Makefile").read_text().lower()


def test_compile_board_refuses_a_conflicting_target(tmp_path):
    out = tmp_path / "out"
    result = _cli("compile", str(CNN), "-o", str(out), "--board", "microbit", "--target", "cortex-m4")
    assert result.returncode == 2
    assert "board microbit has a cortex-m0plus" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_model_too_large_for_a_board_is_refused_with_the_numbers(tmp_path):
    b = ModelBuilder((1024,), seed=0)
    x = b.sign(b.batchnorm(b.gemm(b.start(), 1024, 1200, via="folded"), 1200, fan_in=1024))
    onnx.save(b.build(b.gemm(x, 1200, 10, via="folded")), tmp_path / "big.onnx")  # ~155 KiB of weights
    out = tmp_path / "out"
    result = _cli("compile", str(tmp_path / "big.onnx"), "-o", str(out), "--board", "stm32vldiscovery")
    assert result.returncode == 2, result.stderr
    assert "does not fit board stm32vldiscovery (STM32F100RB)" in result.stderr
    assert "(have 131072)" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    result = _cli("compile", str(tmp_path / "big.onnx"), "-o", str(out), "--board", "netduinoplus2")
    assert result.returncode == 0, result.stderr


def test_compile_custom_board_links_for_the_given_memory(tmp_path):
    out = tmp_path / "out"
    result = _cli("compile", str(CNN), "-o", str(out), "--board", "custom", "--target", "cortex-m33",
                  "--flash", "0x00200000:256K", "--ram", "0x30000000:0x8000")
    assert result.returncode == 0, result.stderr
    linker = (out / "linker.ld").read_text()
    assert "ORIGIN = 0x00200000, LENGTH = 262144" in linker and "ORIGIN = 0x30000000, LENGTH = 32768" in linker
    result = _cli("compile", str(CNN), "-o", str(tmp_path / "small"), "--board", "custom", "--target", "cortex-m33",
                  "--flash", "0x00200000:8K", "--ram", "0x30000000:0x8000")
    assert result.returncode == 2 and "(have 8192)" in result.stderr
