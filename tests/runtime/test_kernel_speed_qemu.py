"""Speed targets of the binary conv on emulated Cortex-M cores ("Fast kernels").

Whole inference of a binary 3x3 conv, 64 -> 64 channels, 16x16, stride 1, pad 1, threshold
output, with float packing and unpacking, built at -O2: binary MACs per executed instruction
(QEMU -icount shift=0, SysTick) must reach 1.8 on cortex-m0plus, 3.0 on cortex-m4 and 6.0 on
cortex-m55. Skipped when arm-none-eabi-gcc or qemu-system-arm is missing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.tools import require_tools

from bnn_ctypes import RUNTIME_DIR
from qemu_cores import CORES, HERE, write_linker_script

BINARY_MACS = 16 * 16 * 64 * 64 * 9
TARGETS = {"cortex-m0plus": 1.8, "cortex-m4": 3.0, "cortex-m55": 6.0}


def measure(tmp_path: Path, core: str, opt: str = "-O2", with_ref: bool = False) -> dict:
    """Instruction counts of pack / conv / unpack (and the reference twins with with_ref)."""
    machine, fpu = CORES[core][:2]
    ld = write_linker_script(tmp_path, core)
    elf = tmp_path / "bench.elf"
    flags = [f"-mcpu={core}", "-mthumb", *fpu, opt, "-std=c99", "-ffp-contract=off", "-I", str(RUNTIME_DIR)]
    if with_ref:
        flags.append("-DWITH_REF")
    subprocess.run(["arm-none-eabi-gcc", *flags, "--specs=nano.specs", "--specs=rdimon.specs",
                    "-nostartfiles", "-T", str(ld), str(HERE / "qemu" / "startup.c"),
                    str(HERE / "qemu" / "bench_conv.c"), *map(str, sorted(RUNTIME_DIR.glob("*.c"))),
                    "-lm", "-o", str(elf)], check=True)
    run = subprocess.run(["qemu-system-arm", "-M", machine, "-icount", "shift=0", "-nographic",
                          "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    ticks = {k: int(v) for k, v in (line.split() for line in run.stdout.splitlines() if line)}
    per_tick = 200000 / ticks.pop("calib_200k")
    return {k: v * per_tick for k, v in ticks.items()}


@pytest.mark.parametrize("core", sorted(TARGETS))
def test_conv_meets_speed_target(tmp_path, core):
    require_tools("arm-none-eabi-gcc", "qemu-system-arm")
    counts = measure(tmp_path, core)
    total = counts["opt_pack"] + counts["opt_conv"] + counts["opt_unpack"]
    macs_per_instruction = BINARY_MACS / total
    assert macs_per_instruction >= TARGETS[core], (core, counts)
