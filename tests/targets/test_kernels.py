"""The runtime kernels (runtime_c/) on every core: identical outputs everywhere, no libgcc popcount,
and the kernel self-test program of tests/runtime/c/ when it exists."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from bnncc.resources import runtime_dir
from bnncc.targets import get_target
from bnncc.targets.firmware import ARM_GCC, ARM_LDFLAGS, QEMU, SMALL_RAM_BYTES
from bnncc.targets.render import target_context, template_text, write_rendered
from bnncc.targets.run import run_inputs
from bnncc.targets.sizes import elf_sizes
from tests.targets.conftest import ARM_CORES, needs_qemu

pytestmark = [pytest.mark.qemu, needs_qemu]

KERNEL_MODEL_DIR = Path(__file__).parent / "kernel_model"
# The sources this hand-written model calls, plus every runtime header (as the backend copies them).
RUNTIME_SOURCES = ("bnn_popcount.c", "bnn_pack.c", "bnn_dense.c")
SELFTEST = Path(__file__).resolve().parents[1] / "runtime" / "c" / "kernel_selftest.c"

# newlib's printf ends in _write(); send it to the semihosting console so the self-test's report
# shows up in QEMU's output (libnosys would drop it).
STDIO_SHIM_C = """
#include "bnn_target_io.h"
int _write(int fd, const char *buf, int len);
int _write(int fd, const char *buf, int len)
{
    char chunk[65];
    int done = 0;
    (void)fd;
    while (done < len) {
        int n = len - done < 64 ? len - done : 64;
        int i;
        for (i = 0; i < n; i++) {
            chunk[i] = buf[done + i];
        }
        chunk[n] = 0;
        bnn_puts(chunk);
        done += n;
    }
    return len;
}
"""


@pytest.fixture(scope="module")
def kernel_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kernel_model")
    for filename in ("net.h", "net.c"):
        shutil.copy(KERNEL_MODEL_DIR / filename, folder / filename)
    headers = sorted(p.name for p in runtime_dir().glob("*.h") if p.name != "bnn_ref.h")
    for filename in (*headers, *RUNTIME_SOURCES):
        shutil.copy(runtime_dir() / filename, folder / filename)
    return folder


def _reference(x: np.ndarray) -> np.ndarray:
    """numpy model of kernel_model/net.c (float math in float32, single roundings)."""
    w = np.load(KERNEL_MODEL_DIR / "weights.npz")
    out = np.zeros((x.shape[0], 10), dtype=np.float32)
    for n, row in enumerate(x):
        bits = [sum(1 << i for i in range(32 * k, 32 * k + 32) if row[i] >= 0) >> (32 * k)
                for k in range(2)]
        hidden = 0
        for j in range(32):
            dot = 64 - 2 * sum(bin(bits[k] ^ int(w["w1"][j, k])).count("1") for k in range(2))
            hidden |= int(dot >= w["t1"][j]) << j
        for j in range(10):
            dot = 32 - 2 * bin(hidden ^ int(w["w2"][j, 0])).count("1")
            out[n, j] = w["scale"][j] * np.float32(dot) + w["bias"][j]
    return out


@pytest.fixture(scope="module")
def kernel_inputs() -> np.ndarray:
    return np.random.default_rng(11).standard_normal((4, 64)).astype(np.float32)


@pytest.fixture(scope="module")
def host_outputs(kernel_model, kernel_inputs) -> np.ndarray:
    return run_inputs(kernel_model, "net", "host", kernel_inputs)


def test_host_matches_numpy(host_outputs, kernel_inputs):
    np.testing.assert_array_equal(host_outputs, _reference(kernel_inputs))


@pytest.mark.parametrize("target", ARM_CORES)
def test_every_core_equals_host_bit_for_bit(kernel_model, kernel_inputs, host_outputs, target):
    outputs = run_inputs(kernel_model, "net", target, kernel_inputs)
    np.testing.assert_array_equal(outputs.view(np.uint32), host_outputs.view(np.uint32))


def _has_symbol(elf: Path, name: str) -> bool:
    with open(elf, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        return bool(symtab.get_symbol_by_name(name))


@pytest.mark.parametrize("target", ARM_CORES)
def test_runtime_kernels_never_call_libgcc_popcount(kernel_model, tmp_path, target):
    from bnncc.targets.firmware import build_firmware

    fw = build_firmware(kernel_model, "net", get_target(target), tmp_path)
    assert _has_symbol(fw.elf, "bnn_dense_bin_thresh")
    assert not _has_symbol(fw.elf, "__popcountsi2")


@pytest.mark.skipif(not SELFTEST.exists(), reason="tests/runtime/c/kernel_selftest.c not written yet")
@pytest.mark.parametrize("target", ARM_CORES)
def test_kernel_selftest_passes_on_core(tmp_path, target):
    """kernel_selftest.c returns 0 when the optimized kernels equal the reference ones."""
    tgt = get_target(target)
    runtime_sources = [str(p) for p in sorted(runtime_dir().glob("*.c"))]
    for filename in ("bnn_target_io.h", "bnn_semihost.c"):
        (tmp_path / filename).write_text(template_text(filename))
    (tmp_path / "stdio_shim.c").write_text(STDIO_SHIM_C)
    elf = tmp_path / "selftest.elf"

    def build(machine, stack_bytes):
        context = {**target_context("selftest", tgt, machine), "stack_bytes": stack_bytes}
        write_rendered(tmp_path / "startup.c", "startup.c.j2", **context)
        write_rendered(tmp_path / "linker.ld", "linker.ld.j2", **context)
        return subprocess.run(
            [ARM_GCC, *tgt.cflags, "-O2", "-std=c99", "-ffp-contract=off", f"-I{runtime_dir()}", f"-I{SELFTEST.parent}",
             f"-I{tmp_path}", *ARM_LDFLAGS, f"-T{tmp_path / 'linker.ld'}", str(SELFTEST),
             *runtime_sources, str(tmp_path / "startup.c"), str(tmp_path / "bnn_semihost.c"),
             str(tmp_path / "stdio_shim.c"), "-lm", "-o", str(elf)],
            capture_output=True, text=True, timeout=300)

    for machine in tgt.machines:  # the first machine it fits (the microbit may be too small)
        done = build(machine, machine.stack_bytes)
        if "overflow" not in done.stderr:
            break
    assert done.returncode == 0, done.stderr
    if machine.ram_bytes <= SMALL_RAM_BYTES:
        # As build_firmware does, free RAM becomes stack, but printf needs a heap: keep 2 KiB.
        free = machine.ram_bytes - elf_sizes(elf).ram - 2048
        done = build(machine, max(machine.stack_bytes, free - free % 8))
        assert done.returncode == 0, done.stderr
    run = subprocess.run(
        [QEMU, "-M", machine.qemu_name, "-display", "none", "-monitor", "none", "-serial", "null",
         "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kernel_selftest: PASS" in run.stdout + run.stderr
