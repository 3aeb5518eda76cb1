"""Cortex-M targets: compiler flags, emulated machines and memory budgets.

The table lives in targets.py; run.py builds firmware and runs it in QEMU, bench.py measures it,
project.py writes build files for users.
"""

from bnncc.targets.targets import (
    TARGET_NAMES,
    Machine,
    Target,
    check_fits,
    get_target,
)

__all__ = ["TARGET_NAMES", "Machine", "Target", "check_fits", "get_target"]
