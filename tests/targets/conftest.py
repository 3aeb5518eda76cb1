"""Shared fixtures of the target tests: toolchain requirements and copies of the dummy model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest


from bnncc.resources import runtime_dir

DUMMY_DIR = Path(__file__).parent / "dummy_model"
ARM_CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")


needs_qemu = pytest.mark.usefixtures("qemu_toolchain")  # fails (naming the package) if a tool is missing


def copy_model(dest: Path, net_c: str | None = None) -> Path:
    """The dummy model folder as the compiler would write it: net.h, net.c and bnn.h.

    net_c replaces net.c (to make models that fault or hang)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(DUMMY_DIR / "net.h", dest / "net.h")
    shutil.copy(runtime_dir() / "bnn.h", dest / "bnn.h")
    if net_c is None:
        shutil.copy(DUMMY_DIR / "net.c", dest / "net.c")
    else:
        (dest / "net.c").write_text(net_c)
    return dest


@pytest.fixture
def dummy_model(tmp_path: Path) -> Path:
    return copy_model(tmp_path / "model")


def _weight_word(j: int, k: int) -> int:
    m = 0xFFFFFFFF
    h = (j * 2654435761 + k * 40503 + 0x9E3779B9) & m
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & m
    h ^= h >> 12
    return h


def _popcount(x: int) -> int:
    return bin(x).count("1")


def dummy_reference(inputs: np.ndarray) -> np.ndarray:
    """What dummy_model/net.c computes, in numpy float32 with the same single roundings."""
    outputs = np.zeros((inputs.shape[0], 10), dtype=np.float32)
    for n, x in enumerate(inputs.astype(np.float32)):
        bits = [0, 0]
        for i in range(64):
            if x[i] >= 0:
                bits[i // 32] |= 1 << (i % 32)
        hidden = 0
        for j in range(32):
            dot = 64 - 2 * sum(_popcount(bits[k] ^ _weight_word(j, k)) for k in range(2))
            if dot >= 0:
                hidden |= 1 << j
        for j in range(10):
            dot = 32 - 2 * _popcount(hidden ^ _weight_word(100 + j, 0))
            outputs[n, j] = np.float32(dot) * np.float32(0.1) + x[j] * np.float32(0.3)
    return outputs
