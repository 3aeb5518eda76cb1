"""Build files for users: `bnncc compile --target T` (or `--board NAME`) drops a Makefile, a
CMakeLists.txt, an example main.c, the startup code and a linker script next to the generated model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bnncc.errors import BnnccError
from bnncc.targets.render import PROJECT_C_FILES, target_context, template_text, write_rendered
from bnncc.targets.model_header import read_model_header
from bnncc.targets.boards import GENERIC_BOARDS, Board, get_board
from bnncc.targets.targets import Machine, get_target

SMALL_RAM_BYTES = 64 * 1024
# .data/.bss of the runtime, main.c and newlib beside the model's arena and I/O buffers.
STATIC_DATA_MARGIN = 1024


def project_machine(target: str, board: str | Board) -> tuple[Machine | None, bool]:
    """The memory map a project is linked for, and whether `make run` can run it in QEMU.

    board "qemu"/"generic": the target's first emulated machine, with/without `make run`;
    a Board (or its name): the board's memory map, `make run` where QEMU emulates it."""
    tgt = get_target(target)
    if isinstance(board, str) and board in GENERIC_BOARDS:
        machine = tgt.machines[0] if tgt.machines else None
        if machine is not None and board == "generic":
            machine = replace(machine, needs_stack_guard=False)  # QEMU's memory map quirk only
        return machine, board == "qemu" and machine is not None
    preset = get_board(board) if isinstance(board, str) else board
    if preset.target != tgt.name:
        raise BnnccError(f"board {preset.name} has a {preset.target}, not a {tgt.name}")
    if preset.sdk is not None:
        raise BnnccError(f"board {preset.name} builds through the {preset.sdk} (it supplies startup, "
                         f"boot code and linker script): use --layout library")
    return preset.machine(), preset.emulated


def write_project_files(out_dir: Path, name: str, target: str, board: str | Board = "qemu") -> list[Path]:
    """Write the build files for target into out_dir (which holds name.h/name.c); returns them.

    board="qemu" links for the target's first emulated machine and adds `make run` (QEMU);
    board="generic" leaves QEMU out; a board preset (boards.py) links for the board's real
    memory map, with `make run` where QEMU emulates that board. main.c reads DWT->CYCCNT either way."""
    tgt = get_target(target)
    machine, runs_in_qemu = project_machine(tgt.name, board)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    board_name = board if isinstance(board, str) else board.name
    context = {**target_context(name, tgt, machine), "board": board_name, "runs_in_qemu": runs_in_qemu}
    if machine is not None:
        context["stack_bytes"] = _project_stack(out_dir, name, machine)
    written = [
        write_rendered(out_dir / "main.c", "board_main.c.j2", **context),
        write_rendered(out_dir / "CMakeLists.txt", "CMakeLists.txt.j2", **context),
    ]
    io_files = ["bnn_target_io.h", "bnn_host_io.c" if tgt.is_host else "bnn_semihost.c"]
    for filename in io_files:
        path = out_dir / filename
        path.write_text(template_text(filename))
        written.append(path)
    if tgt.is_host:
        written.append(write_rendered(out_dir / "Makefile", "Makefile.host.j2", **context))
    else:
        written.append(write_rendered(out_dir / "Makefile", "Makefile.j2", **context))
        written.append(write_rendered(out_dir / "startup.c", "startup.c.j2", **context))
        written.append(write_rendered(out_dir / "linker.ld", "linker.ld.j2", **context))
    # harness builds (firmware.model_sources) must recognise every C file written here
    assert {p.name for p in written if p.suffix == ".c"} <= PROJECT_C_FILES
    return written


def _project_stack(out_dir: Path, name: str, machine: Machine) -> int:
    """On a small machine (the micro:bit's 16 KiB) the stack gets all RAM the model leaves free: the
    bit-sliced conv keeps a window of weights on the stack. Large machines keep their fixed reserve."""
    if machine.stack_origin is not None:
        return machine.stack_bytes  # a RAM of its own, all stack
    if machine.ram_bytes > SMALL_RAM_BYTES or not (out_dir / f"{name}.h").exists():
        return machine.stack_bytes
    header = read_model_header(out_dir, name)
    used = header.arena_bytes + 4 * (header.input_size + header.output_size) + STATIC_DATA_MARGIN
    free = machine.ram_bytes - used
    return max(machine.stack_bytes, free - free % 8)
