"""The standalone C self-test (tests/runtime/c/kernel_selftest.c) builds strictly and passes
on the host, under AddressSanitizer and UBSan."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import pytest

from tests.helpers.tools import require_sanitizer_runtime, require_tools

from bnn_ctypes import RUNTIME_DIR

SELFTEST = Path(__file__).resolve().parent / "c" / "kernel_selftest.c"


def _build_and_run(tmp_path: Path, cc: str, flags: list[str]) -> subprocess.CompletedProcess:
    exe = tmp_path / f"selftest_{cc}"
    cmd = [cc, "-std=c99", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", *flags, "-I",
           str(RUNTIME_DIR), *map(str, sorted(RUNTIME_DIR.glob("*.c"))), str(SELFTEST), "-lm",
           "-o", str(exe)]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_selftest_passes_on_host(tmp_path, cc):
    require_sanitizer_runtime(cc)
    run = _build_and_run(tmp_path, cc, ["-fsanitize=address,undefined",
                                        "-fno-sanitize-recover=all", "-DSELFTEST_CASES=200"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kernel_selftest: PASS" in run.stdout


@pytest.mark.parametrize("variant", [
    ["-mpopcnt"],                      # hardware popcount branch of bnn_popcount.h
    ["-DBNN_SLICED_MAX_BITS=32"],      # bit-sliced conv almost never applies
    ["-DBNN_TRANSPOSE_MAX_BITS=2047"],  # bit-sliced plain-layout conv for every test window
    ["-Os"],                           # compact kernels (BNN_COMPACT, runtime_c/bnn.h)
    ["-O2", "-DBNN_COMPACT=1", "-DBNN_TRANSPOSE_MAX_BITS=2047"],  # compact, forced at -O2
])
def test_selftest_build_variants(tmp_path, variant):
    require_tools("gcc")
    if variant == ["-mpopcnt"] and platform.machine() not in ("x86_64", "AMD64", "i686"):
        pytest.skip("-mpopcnt is x86 only")
    run = _build_and_run(tmp_path, "gcc", [*variant, "-DSELFTEST_CASES=200"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kernel_selftest: PASS" in run.stdout
