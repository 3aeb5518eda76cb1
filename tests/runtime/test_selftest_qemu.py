"""kernel_selftest.c on every emulated Cortex-M core (qemu-system-arm, semihosting): the
optimized kernels, with their core-specific paths (USADA8, Helium), equal the reference.
Skipped when arm-none-eabi-gcc or qemu-system-arm is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bnn_ctypes import RUNTIME_DIR

HERE = Path(__file__).resolve().parent / "c"
# core -> (QEMU machine, float flags, flash, flash length, RAM, RAM length)
CORES = {
    "cortex-m0": ("microbit", [], "0x00000000", "256K", "0x20000000", "16K"),  # 16 KiB RAM
    "cortex-m0plus": ("mps2-an385", [], "0x00000000", "4M", "0x20000000", "4M"),
    "cortex-m3": ("mps2-an385", [], "0x00000000", "4M", "0x20000000", "4M"),
    "cortex-m4": ("mps2-an386", ["-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"], "0x00000000", "4M",
                  "0x20000000", "4M"),
    "cortex-m7": ("mps2-an500", ["-mfloat-abi=hard", "-mfpu=fpv5-d16"], "0x00000000", "4M",
                  "0x20000000", "4M"),
    "cortex-m33": ("mps2-an505", ["-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"], "0x10000000", "4M",
                   "0x38000000", "2M"),
    "cortex-m55": ("mps3-an547", ["-mfloat-abi=hard", "-mfpu=auto"], "0x10000000", "512K",
                   "0x30000000", "512K"),
}


@pytest.mark.parametrize("opt", ["-O2", "-O3"])
@pytest.mark.parametrize("core", sorted(CORES))
def test_selftest_on_emulated_core(tmp_path, core, opt):
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None:
        pytest.skip("arm-none-eabi-gcc or qemu-system-arm not found")
    machine, fpu, flash, flash_len, ram, ram_len = CORES[core]
    ld = tmp_path / "link.ld"
    ld.write_text((HERE / "qemu" / "link.ld.in").read_text().replace("@FLASH@", flash)
                  .replace("@FLASH_LEN@", flash_len).replace("@RAM@", ram)
                  .replace("@RAM_LEN@", ram_len))
    elf = tmp_path / "selftest.elf"
    flags = [f"-mcpu={core}", "-mthumb", *fpu, opt]
    strict = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
    objs = []
    for src in [*sorted(RUNTIME_DIR.glob("*.c")), HERE / "kernel_selftest.c"]:
        obj = tmp_path / (src.stem + ".o")
        subprocess.run(["arm-none-eabi-gcc", *flags, *strict, "-DSELFTEST_CASES=150", "-I",
                        str(RUNTIME_DIR), "-c", str(src), "-o", str(obj)], check=True)
        objs.append(str(obj))
    subprocess.run(["arm-none-eabi-gcc", *flags, "--specs=nano.specs", "--specs=rdimon.specs",
                    "-nostartfiles", "-T", str(ld), str(HERE / "qemu" / "startup.c"), *objs,
                    "-lm", "-o", str(elf)], check=True)
    run = subprocess.run(["qemu-system-arm", "-M", machine, "-nographic", "-semihosting-config",
                          "enable=on,target=native", "-kernel", str(elf)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kernel_selftest: PASS" in run.stdout
