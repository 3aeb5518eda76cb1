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
    input_dtype: str = "<f4"  # numpy dtype of one input value (NAME_INPUT_TYPE: float, uint8_t, int8_t)


def _define(text: str, macro: str, header: Path) -> int:
    # The contract emits plain integer literals, maybe with a u/U suffix or parentheses.
    match = re.search(rf"^\s*#\s*define\s+{macro}\s+\(?\s*(\d+)[uUlL]*\s*\)?", text, re.MULTILINE)
    if match is None:
        raise BnnccError(f"{header} does not define {macro} as an integer literal")
    return int(match.group(1))


# NAME_INPUT_TYPE -> numpy dtype of the input bytes the harness reads.
INPUT_TYPES = {"float": "<f4", "uint8_t": "u1", "int8_t": "i1"}


def _input_dtype(text: str, macro: str, header: Path) -> str:
    match = re.search(rf"^\s*#\s*define\s+{macro}\s+(\w+)", text, re.MULTILINE)
    if match is None:
        return "<f4"  # headers before the integer input declared only float
    if match.group(1) not in INPUT_TYPES:
        raise BnnccError(f"{header} declares {macro} {match.group(1)}; expected one of {', '.join(INPUT_TYPES)}")
    return INPUT_TYPES[match.group(1)]


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
        input_dtype=_input_dtype(text, f"{upper}_INPUT_TYPE", header),
    )
