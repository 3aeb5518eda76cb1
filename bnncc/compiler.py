"""The compile pipeline: ONNX file -> frontend IR -> passes -> C sources in a folder."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import ir
from .backend.emit import c_name, emit
from .errors import BnnccError
from .frontend.importer import import_model
from .passes import run_pipeline


@dataclass(frozen=True)
class LayerInfo:
    name: str
    op: str  # the runtime kernel
    binary_macs: int
    source: tuple[str, ...]


@dataclass
class CompiledModel:
    name: str
    input_size: int
    output_size: int
    arena_bytes: int
    layers: list[LayerInfo]
    graph: ir.Graph
    files: list[Path]


def lower_model(model_path: str | Path, target: str = "host", fast_real_conv: bool = False) -> ir.Graph:
    """ONNX file -> lowered, planned IR graph for `target`'s kernels (no files written).
    fast_real_conv: passes/real_order.py."""
    return run_pipeline(import_model(model_path), target, fast_real_conv=fast_real_conv)


# Runtime code plus harness for a typical model at -Os, for the compile-time fit check only
# (bench measures the real figure from the ELF).
RUNTIME_FLASH_ESTIMATE = 6 * 1024


def compile_model(model_path: str | Path, out_dir: str | Path, name: str | None = None,
                  target: str = "host", board=None, layout: str = "project",
                  core: str | None = None, fast_real_conv: bool = False) -> CompiledModel:
    """Compile a model into out_dir. Writes nothing unless every step succeeds.

    board: "qemu" (default for a Cortex-M target) or "generic", a board preset name or a
    targets.boards.Board; a board's core must be target.
    layout: "project" (the model, plus build files for a Cortex-M target) or "library" (the model
    in src/ with CMake, Arduino, PlatformIO and Zephyr manifests: targets/library.py).
    core: the core whose kernels and weight layouts the C is written for [default: target]; bench and
    verify compile with target "host" (they build the firmware themselves) and core = the emulated core.
    fast_real_conv: real-input binary-weight convs sum in the grouped order (passes/real_order.py)."""
    from .targets.library import LAYOUTS

    if layout not in LAYOUTS:
        raise BnnccError(f"unknown layout '{layout}'; valid layouts: {', '.join(LAYOUTS)}")
    model_path, out_dir = Path(model_path), Path(out_dir)
    name = c_name(name or model_path.stem)
    graph = lower_model(model_path, core or target, fast_real_conv=fast_real_conv)
    if out_dir.exists() and not out_dir.is_dir():
        raise BnnccError(f"output path '{out_dir}' exists and is not a folder")
    with tempfile.TemporaryDirectory(prefix="bnncc-") as tmp:
        staging = Path(tmp)
        if layout == "library":
            from .targets.library import SOURCE_DIR, write_library_files

            emit(graph, staging / SOURCE_DIR, name, source=model_path.name)
            if target != "host":
                _check_target_fits(target, board or "qemu", graph)
            write_library_files(staging, name, target)
        else:
            emit(graph, staging, name, source=model_path.name)
            if target != "host":
                _write_target_files(staging, name, target, board or "qemu", graph)
        out_dir.mkdir(parents=True, exist_ok=True)
        files = []
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            destination = out_dir / path.relative_to(staging)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            files.append(destination)
    layers = [LayerInfo(layer.name, layer.kernel, layer.binary_macs, layer.source) for layer in graph.nodes]
    return CompiledModel(name, graph.tensors[graph.input].size, graph.tensors[graph.output].size,
                         graph.arena_bytes, layers, graph, files)


def model_footprint(graph: ir.Graph) -> tuple[int, int]:
    """Estimated (flash, RAM) of a firmware running graph: constants + runtime, arena + I/O buffers."""
    from .inspect import layer_rows

    constants = sum(row.weight_bytes + row.param_bytes for row in layer_rows(graph))
    input_bytes = 4 if graph.input_dtype == "float32" else 1
    io_buffers = input_bytes * graph.tensors[graph.input].size + 4 * graph.tensors[graph.output].size
    return constants + RUNTIME_FLASH_ESTIMATE, graph.arena_bytes + io_buffers


def _check_target_fits(target: str, board, graph: ir.Graph):
    """Refuse a model too large for the board (or the target's largest machine); returns the board."""
    from .targets import check_fits
    from .targets.boards import GENERIC_BOARDS, check_board_fits, get_board

    flash, ram = model_footprint(graph)
    if isinstance(board, str) and board in GENERIC_BOARDS:
        check_fits(target, flash, ram)
        return board
    board = get_board(board) if isinstance(board, str) else board
    if board.target != target:
        raise BnnccError(f"board {board.name} has a {board.target}, not a {target}")
    check_board_fits(board, flash, ram)
    return board


def _write_target_files(folder: Path, name: str, target: str, board, graph: ir.Graph) -> None:
    from .targets.project import write_project_files

    board = _check_target_fits(target, board, graph)
    write_project_files(folder, name, target, board=board)
