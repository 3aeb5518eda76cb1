"""Cortex-M targets: compiler flags, emulated machines and memory budgets, and the tools that
build, run and measure generated C on them.

- targets.py   the table (get_target, check_fits, TARGET_NAMES)
- firmware.py  model folder + harness -> ELF (arm-none-eabi-gcc) or host executable (cc)
- run.py       run_inputs(): inputs through QEMU (semihosting files) -> bit-exact outputs
- bench.py     bench_model() / format_bench() / bench_command: exact instructions per layer
               (QEMU TCG plugin, icount.py), flash/RAM (sizes.py), stack high-water
- project.py   write_project_files(): Makefile, CMakeLists.txt, main.c, startup.c, linker.ld
- boards.py    board presets (real memory maps, stack placement, QEMU machine), --board custom
- library.py   write_library_files(): the --layout library manifests (CMake, Arduino, PlatformIO, Zephyr)
The C side lives in templates/target/.
"""

from bnncc.targets.targets import (
    TARGET_NAMES,
    Machine,
    Target,
    check_fits,
    get_target,
)

__all__ = ["TARGET_NAMES", "Machine", "Target", "check_fits", "get_target"]
