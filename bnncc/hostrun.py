"""Build generated C with the host compiler and run it over many inputs (used by verify and tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from .errors import BnnccError
from .resources import templates_dir

HOST_CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic"]


def host_compiler() -> str:
    for candidate in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if candidate and shutil.which(candidate):
            return candidate
    raise BnnccError("no host C compiler found (set CC, or install gcc or clang)")


def build_host(model_dir: Path, name: str, build_dir: Path, cflags: list[str] | None = None) -> Path:
    """Compile the model folder plus the host harness into an executable."""
    build_dir.mkdir(parents=True, exist_ok=True)
    harness = build_dir / "bnncc_host_main.c"
    template = (templates_dir() / "host_main.c.j2").read_text()
    harness.write_text(template.replace("{{ name }}", name).replace("{{ NAME }}", name.upper()))
    exe = build_dir / f"{name}_host"
    sources = sorted(str(p) for p in model_dir.glob("*.c") if not _is_target_file(p)) + [str(harness)]
    cmd = [host_compiler(), *(cflags or HOST_CFLAGS), f"-I{model_dir}", *sources, "-o", str(exe)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BnnccError(f"host build failed:\n{' '.join(cmd)}\n{result.stderr[-4000:]}")
    return exe


def _is_target_file(path: Path) -> bool:
    """Board files written by `compile --target` (example main, startup, I/O) are not part of a host build."""
    from .targets.render import PROJECT_C_FILES

    return path.name in PROJECT_C_FILES


def run_host(exe: Path, inputs: np.ndarray, output_size: int, timeout: float = 120.0) -> np.ndarray:
    """Feed float32 inputs (N, input_size) on stdin, read float32 outputs (N, output_size) from stdout."""
    data = np.ascontiguousarray(inputs, np.float32)
    try:
        result = subprocess.run([str(exe)], input=data.tobytes(), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BnnccError(f"the host build of the model did not finish within {timeout:.0f} s") from None
    if result.returncode != 0:
        raise BnnccError(f"the host build of the model crashed (exit {result.returncode}): "
                         f"{result.stderr.decode(errors='replace')[-500:]}")
    out = np.frombuffer(result.stdout, np.float32)
    if out.size != data.shape[0] * output_size:
        raise BnnccError(f"the host run returned {out.size} floats, expected {data.shape[0] * output_size}")
    return out.reshape(data.shape[0], output_size)
