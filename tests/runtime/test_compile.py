"""Every runtime_c source compiles warning-free under strict C99 with gcc, clang and
arm-none-eabi-gcc for each Cortex-M core, and the objects never call libgcc's popcount
(or libm, for the kernels that promise not to)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers.tools import require_newlib_headers, require_tools

from bnn_ctypes import RUNTIME_DIR

STRICT = ["-std=c99", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-pedantic"]
SOURCES = sorted(RUNTIME_DIR.glob("*.c"))
KERNEL_SOURCES = [p for p in SOURCES if p.name != "bnn_ref.c"]
CORES = {
    "cortex-m0plus": [],
    "cortex-m3": [],
    "cortex-m4": ["-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "cortex-m33": ["-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
    "cortex-m55": ["-mfloat-abi=hard", "-mfpu=auto"],
}
# symbols an optimized kernel object must never need
FORBIDDEN = {"__popcountsi2", "__popcountdi2", "expf", "logf", "exp", "log"}


def _compile(cc: str, flags: list[str], src: Path, obj: Path) -> None:
    cmd = [cc, *STRICT, *flags, "-I", str(RUNTIME_DIR), "-c", str(src), "-o", str(obj)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", f"{' '.join(cmd)}\n{result.stderr}"


def _undefined_symbols(nm: str, obj: Path) -> set[str]:
    out = subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


@pytest.mark.parametrize("cc", ["gcc", "clang"])
@pytest.mark.parametrize("opt", ["-O0", "-O2", "-O3", "-Os"])
def test_host_compilers_accept_every_source(tmp_path, cc, opt):
    require_tools(cc)
    for src in SOURCES:
        _compile(cc, [opt], src, tmp_path / (src.stem + ".o"))


@pytest.mark.parametrize("core", sorted(CORES))
@pytest.mark.parametrize("opt", ["-Os", "-O2", "-O3"])
def test_arm_none_eabi_gcc_per_core(tmp_path, core, opt):
    require_tools("arm-none-eabi-gcc", "arm-none-eabi-nm")
    flags = [f"-mcpu={core}", "-mthumb", opt, *CORES[core]]
    for src in SOURCES:
        obj = tmp_path / (src.stem + ".o")
        _compile("arm-none-eabi-gcc", flags, src, obj)
        undefined = _undefined_symbols("arm-none-eabi-nm", obj)
        assert "__popcountsi2" not in undefined, f"{src.name} calls libgcc popcount on {core}"
        if src in KERNEL_SOURCES:
            assert not undefined & FORBIDDEN, f"{src.name} needs {undefined & FORBIDDEN}"


CLANG_TARGETS = {
    "cortex-m0plus": ["--target=thumbv6m-none-eabi"],
    "cortex-m4": ["--target=thumbv7em-none-eabi", "-mfloat-abi=hard"],
    "cortex-m55": ["--target=thumbv8.1m.main-none-eabi", "-mfloat-abi=hard"],
}


@pytest.mark.parametrize("core", sorted(CLANG_TARGETS))
@pytest.mark.parametrize("opt", ["-O2", "-Oz"])
def test_clang_for_cortex_m(tmp_path, core, opt):
    """clang can also target the cores (Helium included); its output must not call libgcc
    popcount or libm either."""
    require_tools("arm-none-eabi-nm")
    require_newlib_headers()
    flags = [*CLANG_TARGETS[core], f"-mcpu={core}", opt, "-isystem",
             "/usr/lib/arm-none-eabi/include"]
    for src in SOURCES:
        obj = tmp_path / (src.stem + ".o")
        cmd = ["clang", *STRICT, *flags, "-I", str(RUNTIME_DIR), "-c", str(src), "-o", str(obj)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        undefined = _undefined_symbols("arm-none-eabi-nm", obj)
        assert "__popcountsi2" not in undefined
        if src in KERNEL_SOURCES:
            assert not undefined & FORBIDDEN, f"{src.name} needs {undefined & FORBIDDEN}"


# Fused multiply-adds round once. The scalar VMLA/VMLS/VNMLA/VNMLS of FPv4/FPv5 are "chained": the
# product is rounded before the add (Armv7-M / Armv8-M ARM), the same bits as a VMUL then a VADD, and GCC
# forms them with -ffp-contract=off; they are not listed.
FUSED = ("vfma", "vfms", "vfnm")
# The one deliberate use: the real-input conv's scalar-FPU tap loop (bnn_conv_real.c) adds x * (+-1.0f)
# with VFMA; the product is exact, so one rounding is the add's. Four taps of sixteen, nothing else.
# (objdump does not decode Helium, so the vector twin, a VFMA by the same signs, is not seen here.)
SIGN_FMA = re.compile(r"\tvfma\.f32\ts(8|9|1\d|2[0-3]), s[0-3], s[4-7]$")


def _fused_ops(obj: Path) -> list[str]:
    """Fused instructions, except exactly the real-input conv's 64 sign products in conv_real_quads."""
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(obj)], capture_output=True,
                         text=True, check=True).stdout
    fused, signs, function = [], 0, ""
    for ln in dis.splitlines():
        if ln.endswith(">:"):
            function = ln.split("<")[-1][:-2]
        elif any(f"\t{m}" in ln for m in FUSED):
            if obj.stem == "bnn_conv_real" and function == "conv_real_quads" and SIGN_FMA.search(ln):
                signs += 1
            else:
                fused.append(ln)
    assert signs in (0, 64), f"{obj.name}: {signs} sign products, expected the loop's 64"
    return fused


@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m55"])
def test_no_fused_multiply_add(tmp_path, core):
    """Float kernels keep a * b + c as two roundings (onnxruntime's results): no fused
    multiply-add instruction in any runtime object, built by arm-none-eabi-gcc in gnu99 mode
    (which contracts by default) with bnncc's -ffp-contract=off, and by clang at its default
    -ffp-contract=on (the #pragma STDC FP_CONTRACT OFF in bnn.h governs it). The control build without the flag shows
    that the check would see contraction."""
    require_tools("arm-none-eabi-gcc", "arm-none-eabi-objdump")
    require_newlib_headers()  # and clang
    fpu = CORES[core]
    contracted = []
    for src in SOURCES:
        obj = tmp_path / (src.stem + ".o")
        base = ["arm-none-eabi-gcc", f"-mcpu={core}", "-mthumb", *fpu, "-O2", "-std=gnu99",
                "-I", str(RUNTIME_DIR), "-c", str(src), "-o", str(obj)]
        subprocess.run([*base, "-ffp-contract=off"], check=True)
        assert _fused_ops(obj) == [], src.name
        subprocess.run(base, check=True)
        contracted += _fused_ops(obj)
        done = subprocess.run(
            ["clang", "--target=thumbv7em-none-eabi" if core == "cortex-m4"
             else "--target=thumbv8.1m.main-none-eabi", f"-mcpu={core}", "-mfloat-abi=hard",
             "-O2", "-std=c99", "-ffp-contract=on", "-isystem",
             "/usr/lib/arm-none-eabi/include", "-I", str(RUNTIME_DIR), "-c", str(src),
             "-o", str(obj)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert _fused_ops(obj) == [], f"clang: {src.name}"
    assert contracted, "control: gnu99 without -ffp-contract=off should have fused something"
