"""Flash and RAM of a firmware: totals from the ELF sections (pyelftools), and a split into model,
runtime and harness/library code from the linker map (which input sections survived --gc-sections).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

# Allocated output sections of linker.ld.j2 and the kind of bytes each holds (.stack is a
# reservation, not data, and is reported separately as the measured stack).
_KIND_BY_SECTION = {".text": "text", ".rodata": "rodata", ".ARM.extab": "rodata",
                    ".ARM.exidx": "rodata", ".data": "data", ".bss": "bss"}
# Input section lines of a GNU ld map: " .text.foo  0x00000100  0x24 /path/obj.o" (the name may
# sit alone on the previous line when it is long).
_ENTRY = re.compile(r"^ (\S+)?\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")


@dataclass
class SectionSizes:
    text: int = 0
    rodata: int = 0
    data: int = 0
    bss: int = 0

    @property
    def flash(self) -> int:
        """Bytes in flash: code, constants and the initial values of .data."""
        return self.text + self.rodata + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss

    def add(self, kind: str, size: int) -> None:
        setattr(self, kind, getattr(self, kind) + size)

    def as_dict(self) -> dict:
        return {**asdict(self), "flash": self.flash, "ram": self.ram}


@dataclass
class FirmwareSizes:
    total: SectionSizes
    parts: dict[str, SectionSizes] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"total": self.total.as_dict(), **{k: v.as_dict() for k, v in self.parts.items()}}


def _kind(section: str) -> str | None:
    return _KIND_BY_SECTION.get(section)


def elf_sizes(elf: Path) -> SectionSizes:
    """Sizes of the allocated sections of elf, by kind (the reserved .stack is not counted)."""
    sizes = SectionSizes()
    with open(elf, "rb") as f:
        for section in ELFFile(f).iter_sections():
            if not section["sh_flags"] & SH_FLAGS.SHF_ALLOC or section.name == ".stack":
                continue
            kind = _kind(section.name)
            if kind is not None:
                sizes.add(kind, section["sh_size"])
    return sizes


def _owner(obj: str, model_objects: set[str]) -> str:
    if "(" in obj or obj.endswith(".a"):
        return "libraries"  # libgcc / newlib members: soft-float, memcpy, ...
    base = Path(obj).name
    if base in model_objects:
        return "runtime" if base.startswith("bnn_") else "model"
    return "harness"


def map_split(map_file: Path, model_objects: set[str]) -> dict[str, SectionSizes]:
    """Per-owner sizes: "model" = NAME.c objects, "runtime" = bnn_*.c, "libraries" = libgcc and
    newlib members (soft-float, memcpy, ...), "harness" = startup, semihosting and test main.

    Each input section counts as the kind of the output section it landed in; sections that
    --gc-sections dropped are listed before the memory map and are skipped."""
    parts = {name: SectionSizes() for name in ("model", "runtime", "libraries", "harness")}
    lines = map_file.read_text().split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("Linker script and memory map"))
    except StopIteration:
        return parts
    output_kind = None
    pending_name = None
    for line in lines[start + 1:]:
        if line.startswith("."):
            # An output section; only the allocated ones of linker.ld.j2 count (not .stack).
            name = line.split()[0]
            output_kind = _kind(name)
            pending_name = None
            continue
        if line.startswith(" ") and len(line.split()) == 1:
            pending_name = line.strip()  # long input section name, numbers on the next line
            continue
        match = _ENTRY.match(line)
        name = (match.group(1) or pending_name) if match else None
        pending_name = None
        if output_kind is None or name is None or name.startswith("*fill*"):
            continue
        size = int(match.group(3), 16)
        if size:
            parts[_owner(match.group(4).strip(), model_objects)].add(output_kind, size)
    return parts


def firmware_sizes(elf: Path, map_file: Path, model_objects: tuple[str, ...]) -> FirmwareSizes:
    return FirmwareSizes(elf_sizes(elf), map_split(map_file, set(model_objects)))
