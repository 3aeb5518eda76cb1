"""Read the sizes a generated NAME.h declares (NAME_INPUT_SIZE, ...) without compiling it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bnncc.errors import BnnccError


@dataclass(frozen=True)
class ModelHeader:
    name: str
    input_size: int
    output_size: int
    arena_bytes: int
    num_layers: int


def _define(text: str, macro: str, header: Path) -> int:
    # The contract emits plain integer literals, maybe with a u/U suffix or parentheses.
    match = re.search(rf"^\s*#\s*define\s+{macro}\s+\(?\s*(\d+)[uUlL]*\s*\)?", text, re.MULTILINE)
    if match is None:
        raise BnnccError(f"{header} does not define {macro} as an integer literal")
    return int(match.group(1))


def read_model_header(model_dir: Path, name: str) -> ModelHeader:
    """The sizes declared in model_dir/name.h; BnnccError if the file or a macro is missing."""
    header = Path(model_dir) / f"{name}.h"
    if not header.is_file():
        raise BnnccError(f"no generated model '{name}' in {model_dir}: {header.name} is missing")
    text = header.read_text()
    upper = name.upper()
    return ModelHeader(
        name=name,
        input_size=_define(text, f"{upper}_INPUT_SIZE", header),
        output_size=_define(text, f"{upper}_OUTPUT_SIZE", header),
        arena_bytes=_define(text, f"{upper}_ARENA_BYTES", header),
        num_layers=_define(text, f"{upper}_NUM_LAYERS", header),
    )
