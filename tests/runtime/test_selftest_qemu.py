"""kernel_selftest.c on every emulated Cortex-M core (qemu-system-arm, semihosting): the
optimized kernels, with their core-specific paths (USADA8, Helium), equal the reference."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers.tools import require_newlib_headers, require_tools

from bnn_ctypes import RUNTIME_DIR

from qemu_cores import CORES, HERE, write_linker_script


@pytest.mark.parametrize("opt", ["-O2", "-O3", "-Os"])  # -Os: the compact kernels (BNN_COMPACT)
@pytest.mark.parametrize("core", sorted(CORES))
def test_selftest_on_emulated_core(tmp_path, core, opt):
    require_tools("arm-none-eabi-gcc", "qemu-system-arm")
    machine, fpu = CORES[core][:2]
    ld = write_linker_script(tmp_path, core)
    elf = tmp_path / "selftest.elf"
    flags = [f"-mcpu={core}", "-mthumb", *fpu, opt]
    strict = ["-std=c99", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-pedantic"]
    wide = [] if machine == "microbit" else ["-DSELFTEST_WIDE=1"]  # 4608-bit windows: 19 KiB
    objs = []
    for src in [*sorted(RUNTIME_DIR.glob("*.c")), HERE / "kernel_selftest.c"]:
        obj = tmp_path / (src.stem + ".o")
        subprocess.run(["arm-none-eabi-gcc", *flags, *strict, "-DSELFTEST_CASES=150", *wide, "-I",
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


CLANG_TARGETS = {
    "cortex-m0plus": "thumbv6m-none-eabi",
    "cortex-m4": "thumbv7em-none-eabi",
    "cortex-m55": "thumbv8.1m.main-none-eabi",
}


@pytest.mark.parametrize("core", sorted(CLANG_TARGETS))
def test_selftest_with_clang_built_runtime(tmp_path, core):
    """The runtime compiled by clang (linked by arm-none-eabi-gcc with newlib)."""
    require_tools("arm-none-eabi-gcc", "qemu-system-arm")
    require_newlib_headers()
    machine, fpu = CORES[core][:2]
    ld = write_linker_script(tmp_path, core)
    float_abi = [f for f in fpu if f.startswith("-mfloat-abi")]
    objs = []
    for src in sorted(RUNTIME_DIR.glob("*.c")):
        obj = tmp_path / (src.stem + ".o")
        result = subprocess.run(
            ["clang", f"--target={CLANG_TARGETS[core]}", f"-mcpu={core}", *float_abi, "-O2",
             "-std=c99", "-ffp-contract=off", "-fshort-enums", "-isystem", "/usr/lib/arm-none-eabi/include", "-I",
             str(RUNTIME_DIR), "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        objs.append(str(obj))
    flags = [f"-mcpu={core}", "-mthumb", *fpu, "-O2"]
    main_obj = tmp_path / "kernel_selftest.o"
    subprocess.run(["arm-none-eabi-gcc", *flags, "-std=c99", "-ffp-contract=off",
                    "-DSELFTEST_CASES=150", "-DSELFTEST_WIDE=1", "-I",
                    str(RUNTIME_DIR), "-c", str(HERE / "kernel_selftest.c"), "-o",
                    str(main_obj)], check=True)
    elf = tmp_path / "selftest.elf"
    subprocess.run(["arm-none-eabi-gcc", *flags, "--specs=nano.specs", "--specs=rdimon.specs",
                    "-nostartfiles", "-T", str(ld), str(HERE / "qemu" / "startup.c"),
                    str(main_obj), *objs, "-lm", "-o", str(elf)], check=True,
                   capture_output=True)
    run = subprocess.run(["qemu-system-arm", "-M", machine, "-nographic", "-semihosting-config",
                          "enable=on,target=native", "-kernel", str(elf)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kernel_selftest: PASS" in run.stdout
