"""bnncc bench: instructions per layer and per inference, flash, RAM and stack on an emulated core.

Instruction counts come from QEMU's TCG plugin interface (icount.py), so they are exact and the
same on every run; the harness marks layer boundaries through BNN_PROFILE_MARK. They are
instructions, not cycles: no emulator here models the pipelines or flash wait states.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click
import numpy as np

from bnncc.errors import BnnccError
from bnncc.user_errors import user_errors
from bnncc.targets.firmware import build_firmware
from bnncc.targets.icount import plugin_args, read_marks, symbol_address
from bnncc.targets.model_header import read_model_header
from bnncc.targets.run import run_firmware
from bnncc.targets.sizes import firmware_sizes
from bnncc.targets.targets import get_target

BENCH_DEFINES = ("BNN_PROFILE", "BNN_BENCH")
CALIBRATION_MARKS = 2  # harness_main.c calls bnn_profile_mark(-1) twice before the first run


def bench_input(input_size: int, dtype: str = "<f4") -> np.ndarray:
    """A fixed input vector: counts depend (slightly) on data, so always measure the same one.
    A uint8/int8 model input: uniform integers over the type's range."""
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max + 1, size=(1, input_size)).astype(dtype)
    return rng.standard_normal((1, input_size)).astype("<f4")


def _layer_counts(marks: list[int], num_layers: int) -> tuple[list[int], int]:
    """Per-layer instructions with the cost of one mark call removed, and that cost."""
    expected = CALIBRATION_MARKS + num_layers + 1
    if len(marks) != expected:
        raise BnnccError(
            f"the model marked {len(marks) - CALIBRATION_MARKS} layer boundaries, expected "
            f"{num_layers + 1}: it must call BNN_PROFILE_MARK(i) before each layer and "
            "BNN_PROFILE_MARK(NUM_LAYERS) at the end")
    overhead = marks[1] - marks[0]
    layer_marks = marks[CALIBRATION_MARKS:]
    return [b - a - overhead for a, b in zip(layer_marks, layer_marks[1:])], overhead


def _measure_instructions(model_dir: Path, name: str, target, work: Path, header, machines):
    fw = build_firmware(model_dir, name, target, work / "profile", defines=BENCH_DEFINES, machines=machines)
    marks_file = fw.build_dir / "bnn_marks.txt"
    qemu_extra = plugin_args(symbol_address(fw.elf, "bnn_profile_mark"), marks_file)
    result = run_firmware(fw, bench_input(header.input_size, header.input_dtype).tobytes(), timeout=120.0, qemu_extra=qemu_extra)
    marks, _total = read_marks(marks_file)
    stack = next((int(line.split()[1], 16) for line in result.console.splitlines()
                  if line.startswith("BNN_STACK")), None)
    return fw, marks, stack


def _sizes(model_dir: Path, name: str, target, work: Path, opt: str, machines) -> tuple[dict, str]:
    fw = build_firmware(model_dir, name, target, work / opt.lstrip("-"), opt=opt, machines=machines)
    return firmware_sizes(fw.elf, fw.map_file, fw.model_objects).as_dict(), fw.machine.label


def _board_summary(board, memory: dict) -> dict:
    """The board's regions beside the -Os firmware's use of them."""
    total = memory["Os"]["total"]
    return {
        "name": board.name, "chip": board.chip, "emulated": board.emulated,
        "flash_bytes": board.flash.size, "ram_bytes": board.ram.size,
        "stack_region": board.stack_region.name if board.stack_region else "RAM",
        "flash_used_Os": total["flash"], "ram_used_Os": total["ram"],
    }


def bench_model(model_dir: Path, name: str, target: str | None, layers: list[dict], board=None) -> dict:
    """Measure name on target, or on a board preset (targets.boards.Board).
    layers[i] = {"name", "op", "binary_macs"} in execution order.

    Returns a JSON-ready dict: per-layer and total instructions, binary MACs and MACs per
    instruction; flash/RAM at -O2 and -Os split into model, runtime, libraries and harness;
    the arena size and the measured stack high-water of one inference (bytes). On a board QEMU
    does not emulate, only the sizes (linked for the board's memory map): instruction fields are None."""
    tgt = get_target(board.target if board is not None else target)
    if tgt.is_host:
        raise BnnccError("bench needs an emulated core, not 'host'; choose one of the cortex-m targets")
    machines = (board.machine(),) if board is not None else None
    model_dir = Path(model_dir).resolve()
    header = read_model_header(model_dir, name)
    if len(layers) != header.num_layers:
        raise BnnccError(f"{len(layers)} layers given, but {name}.h declares "
                         f"{name.upper()}_NUM_LAYERS = {header.num_layers}")
    with tempfile.TemporaryDirectory(prefix=f"bnncc-bench-{tgt.name}-") as tmp:
        work = Path(tmp)
        counts, mark_cost, stack = None, None, None
        if board is None or board.emulated:
            _fw, marks, stack = _measure_instructions(model_dir, name, tgt, work, header, machines)
            counts, mark_cost = _layer_counts(marks, header.num_layers)
        sizes_o2, machine = _sizes(model_dir, name, tgt, work, "-O2", machines)
        memory = {"O2": sizes_o2, "Os": _sizes(model_dir, name, tgt, work, "-Os", machines)[0]}
    rows = []
    for i, layer in enumerate(layers):
        macs = int(layer.get("binary_macs", 0))
        count = counts[i] if counts is not None else None
        rows.append({
            "name": str(layer["name"]),
            "op": str(layer["op"]),
            "binary_macs": macs,
            "instructions": count,
            "macs_per_instruction": round(macs / count, 3) if count else (0.0 if counts else None),
        })
    total_instr = sum(counts) if counts is not None else None
    total_macs = sum(r["binary_macs"] for r in rows)
    result = {
        "model": name,
        "target": tgt.name,
        "machine": machine,
        "counter": ("exact guest instructions (QEMU TCG plugin), -O2" if counts is not None
                    else "none: QEMU does not emulate this board (sizes only)"),
        "layers": rows,
        "total": {
            "instructions": total_instr,
            "binary_macs": total_macs,
            "macs_per_instruction": (round(total_macs / total_instr, 3) if total_instr else
                                     (0.0 if counts is not None else None)),
            "profile_mark_cost": mark_cost,
        },
        "memory": memory,
        "arena_bytes": header.arena_bytes,
        "stack_bytes": stack,
    }
    if board is not None:
        result["board"] = _board_summary(board, memory)
    return result


def format_bench(result: dict) -> str:
    """A readable table of bench_model's result."""
    lines = [f"{result['model']} on {result['target']} ({result['machine']}): "
             f"{result['counter']}", ""]
    width = max([len("layer")] + [len(r["name"]) for r in result["layers"]])
    op_width = max([len("op")] + [len(r["op"]) for r in result["layers"]])
    if result["total"]["instructions"] is not None:
        lines.append(f"{'layer':<{width}}  {'op':<{op_width}}  {'instructions':>12}  {'binary MACs':>12}  "
                     f"{'MACs/instr':>10}")
        for r in result["layers"]:
            lines.append(f"{r['name']:<{width}}  {r['op']:<{op_width}}  {r['instructions']:>12,}  "
                         f"{r['binary_macs']:>12,}  {r['macs_per_instruction']:>10.2f}")
        t = result["total"]
        lines.append(f"{'total':<{width}}  {'':<{op_width}}  {t['instructions']:>12,}  "
                     f"{t['binary_macs']:>12,}  {t['macs_per_instruction']:>10.2f}")
        lines.append("")
    lines.append(f"{'memory (bytes)':<16} {'flash':>9} {'RAM':>9}   (flash = text+rodata+data, RAM = data+bss)")
    for opt in ("O2", "Os"):
        for part in ("model", "runtime", "libraries", "harness", "total"):
            sizes = result["memory"][opt][part]
            lines.append(f"  -{opt} {part:<11} {sizes['flash']:>9,} {sizes['ram']:>9,}")
    stack = result["stack_bytes"]
    stack_text = f"{stack:,} B" if stack is not None else "not measured"
    lines.append(f"arena {result['arena_bytes']:,} B (inside the model's RAM), "
                 f"stack high-water {stack_text}")
    board = result.get("board")
    if board is not None:
        lines.append(f"board {board['name']} ({board['chip']}), -Os: flash {board['flash_used_Os']:,} of "
                     f"{board['flash_bytes']:,} B ({100 * board['flash_used_Os'] / board['flash_bytes']:.1f} %), "
                     f"RAM {board['ram_used_Os']:,} of {board['ram_bytes']:,} B "
                     f"({100 * board['ram_used_Os'] / board['ram_bytes']:.1f} %), stack in {board['stack_region']}")
    return "\n".join(lines)


@click.command("bench")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--target", "-t", "target", default=None, help="cortex-m0plus ... cortex-m55")
@click.option("--board", default=None, help="a board preset (`bnncc boards`) or custom: its memory map and core")
@click.option("--flash", default=None, help="with --board custom: ORIGIN:SIZE, e.g. 0x08000000:512K")
@click.option("--ram", default=None, help="with --board custom: ORIGIN:SIZE, e.g. 0x20000000:128K")
@click.option("--name", default=None, help="C name of the model (default: the file name)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
@click.option("--fast-real-conv", is_flag=True, help="real-input binary-weight convs in the faster grouped float "
              "order (not onnxruntime's; see `bnncc compile --help`)")
@user_errors
def bench_command(model: Path, target: str | None, board: str | None, flash: str | None, ram: str | None,
                  name: str | None, as_json: bool, fast_real_conv: bool) -> None:
    """Instructions per inference and per layer, flash, RAM and stack of MODEL on an emulated core or
    board; on a board without an emulator, flash and RAM against the board's sizes."""
    result = _bench_onnx(model, target, name, board, flash, ram, fast_real_conv)
    click.echo(json.dumps(result, indent=2) if as_json else format_bench(result))


def _bench_onnx(model: Path, target: str | None, name: str | None, board: str | None = None,
                flash: str | None = None, ram: str | None = None, fast_real_conv: bool = False) -> dict:
    from bnncc.compiler import compile_model  # the compiler imports heavy ONNX code: load on use
    from bnncc.targets.boards import GENERIC_BOARDS, check_board_fits, select_board

    preset = None
    if board is not None:
        target, preset = select_board(board, target, flash, ram)
        if isinstance(preset, str) and preset in GENERIC_BOARDS:
            preset = None
    if target is None:
        raise BnnccError("bench needs --target (a cortex-m core) or --board")
    get_target(target)  # fail on a bad name before compiling
    with tempfile.TemporaryDirectory(prefix="bnncc-bench-model-") as tmp:
        compiled = compile_model(model, Path(tmp), name, core=target, fast_real_conv=fast_real_conv)
        if preset is not None:
            from bnncc.compiler import model_footprint

            check_board_fits(preset, *model_footprint(compiled.graph))
        layers = [{"name": layer.name, "op": layer.op, "binary_macs": layer.binary_macs}
                  for layer in compiled.layers]
        return bench_model(Path(tmp), compiled.name, target, layers, board=preset)
