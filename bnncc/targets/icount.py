"""Exact guest instruction counts from QEMU through a small TCG plugin (templates/target/icount_plugin.c).

The plugin is built once per source version with the host C compiler and cached in the temp dir.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from elftools.elf.elffile import ELFFile

from bnncc.errors import BnnccError
from bnncc.resources import templates_dir

PLUGIN_SOURCE = "icount_plugin.c"


def plugin_path() -> Path:
    """Path of the built plugin, building it first if needed."""
    source = templates_dir() / "target" / PLUGIN_SOURCE
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    lib = Path(tempfile.gettempdir()) / f"bnncc-icount-{digest}.so"
    if lib.exists():
        return lib
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        raise BnnccError("bench needs a host C compiler (cc) to build its QEMU instruction counter")
    partial = lib.with_suffix(f".{digest}.tmp")
    done = subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(partial), str(source)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BnnccError(f"building the QEMU instruction-count plugin failed:\n{done.stderr}")
    partial.replace(lib)  # atomic: parallel builders never see half a library
    return lib


def symbol_address(elf: Path, symbol: str) -> int:
    """Address of a function symbol without the Thumb bit."""
    with open(elf, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        for sym in symtab.get_symbol_by_name(symbol) or ():
            return sym["st_value"] & ~1
    raise BnnccError(f"{elf.name} has no symbol {symbol}")


def plugin_args(mark_address: int, out_file: Path) -> tuple[str, ...]:
    return ("-plugin", f"{plugin_path()},mark={mark_address:#x},out={out_file}")


def read_marks(out_file: Path) -> tuple[list[int], int]:
    """Instruction counts at each mark and the total at exit."""
    marks, total = [], -1
    for line in out_file.read_text().splitlines():
        kind, _, value = line.partition(" ")
        if kind == "mark":
            marks.append(int(value))
        elif kind == "total":
            total = int(value)
    return marks, total
