"""write_project_files: the Makefile and CMakeLists.txt it writes build as they are."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from tests.helpers.tools import require_tools

from bnncc.errors import BnnccError
from bnncc.targets.project import write_project_files
from bnncc.targets.run import run_inputs
from tests.targets.conftest import dummy_reference, needs_qemu


def _make(folder, *goals):
    require_tools("make")
    return subprocess.run(["make", "-s", *goals], cwd=folder, capture_output=True, text=True, timeout=120)


@pytest.mark.qemu
@needs_qemu
@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m0plus", "cortex-m55"])
def test_makefile_builds_and_runs(dummy_model, target):
    written = write_project_files(dummy_model, "net", target)
    assert {p.name for p in written} >= {"Makefile", "CMakeLists.txt", "main.c", "startup.c", "linker.ld"}
    build = _make(dummy_model)
    assert build.returncode == 0, build.stderr
    assert (dummy_model / "net.elf").is_file()
    run = _make(dummy_model, "run")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "class " in run.stdout + run.stderr
    # QEMU has no DWT cycle counter: main.c falls back to SysTick, which -icount turns into instructions.
    import re

    cost = re.search(r"instructions (\d+)", run.stdout + run.stderr)
    assert cost and int(cost.group(1)) > 0, run.stdout + run.stderr


@pytest.mark.qemu
@needs_qemu
def test_model_folder_with_project_files_still_runs(dummy_model):
    write_project_files(dummy_model, "net", "cortex-m4")
    x = np.random.default_rng(3).standard_normal((2, 64)).astype(np.float32)
    outputs = run_inputs(dummy_model, "net", "cortex-m4", x)
    np.testing.assert_array_equal(outputs, dummy_reference(x))


@pytest.mark.qemu
@needs_qemu
def test_cmake_builds(dummy_model, tmp_path):
    require_tools("cmake", "make")
    write_project_files(dummy_model, "net", "cortex-m33")
    configure = subprocess.run(["cmake", "-S", str(dummy_model), "-B", str(tmp_path / "build")],
                               capture_output=True, text=True, timeout=120)
    assert configure.returncode == 0, configure.stdout + configure.stderr
    build = subprocess.run(["cmake", "--build", str(tmp_path / "build")], capture_output=True,
                           text=True, timeout=120)
    assert build.returncode == 0, build.stdout + build.stderr
    assert (tmp_path / "build" / "net.elf").is_file()


def test_host_makefile_builds_and_runs(dummy_model):
    write_project_files(dummy_model, "net", "host")
    run = _make(dummy_model, "run")
    assert run.returncode == 0, run.stderr
    assert "class " in run.stdout


def test_unknown_target_writes_nothing(dummy_model):
    before = sorted(p.name for p in dummy_model.iterdir())
    with pytest.raises(BnnccError):
        write_project_files(dummy_model, "net", "avr")
    assert sorted(p.name for p in dummy_model.iterdir()) == before


@pytest.mark.qemu
@needs_qemu
def test_generic_board_makefile_has_no_qemu(dummy_model):
    write_project_files(dummy_model, "net", "cortex-m7", board="generic")
    makefile = (dummy_model / "Makefile").read_text()
    assert "qemu" not in makefile.lower()
    assert "DWT_CYCCNT" in (dummy_model / "main.c").read_text()
    build = _make(dummy_model)
    assert build.returncode == 0, build.stderr


def test_unknown_board_is_a_user_error(dummy_model):
    with pytest.raises(BnnccError, match="generic"):
        write_project_files(dummy_model, "net", "cortex-m4", board="nucleo")


@pytest.mark.parametrize("target", ["host", "cortex-m4", "cortex-m0plus"])
def test_build_files_turn_off_fma_contraction(dummy_model, target):
    """Every build file bnncc writes passes -ffp-contract=off (gnu modes and clang would fuse
    a*b+c into an FMA, and the float results would no longer be onnxruntime's), and so do the
    flags bnncc itself compiles models with."""
    from bnncc.targets.firmware import HARNESS_CFLAGS, MODEL_CFLAGS

    write_project_files(dummy_model, "net", target)
    for name in ("Makefile", "CMakeLists.txt"):
        text = (dummy_model / name).read_text()
        flags_lines = [ln for ln in text.splitlines()
                       if "CFLAGS" in ln and ":=" in ln or "target_compile_options" in ln
                       or ln.lstrip().startswith("{%- for flag") or "-Wall" in ln]
        assert any("-ffp-contract=off" in ln for ln in flags_lines), (name, text)
    assert "-ffp-contract=off" in MODEL_CFLAGS and "-ffp-contract=off" in HARNESS_CFLAGS
