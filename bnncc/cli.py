"""The `bnncc` command line: compile, verify, inspect, bench, boards, train, sweep.

Every failure a user can cause ends in one line `error: ...` and exit code 2, never a traceback
(set BNNCC_DEBUG=1 to see one).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .errors import BnnccError
from .user_errors import user_errors

TARGET_NAMES = ["host", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"]


model_argument = click.argument("model", type=click.Path(path_type=Path))
target_option = click.option("--target", type=click.Choice(TARGET_NAMES), default=None,
                             help="Where the C runs [default: host, or the --board's core].")
fast_real_conv_option = click.option(
    "--fast-real-conv", is_flag=True,
    help="Real-input convs with binary weights (the first layer) sum floats in a grouped order: about 4.8x fewer "
         "instructions on a Cortex-M4, but not onnxruntime's order, so a sign within rounding of its threshold "
         "can differ [default: the tap-by-tap order, onnxruntime's bits for +-1 weights].")
board_option = click.option("--board", default=None,
                            help="A board preset (`bnncc boards`: its core and memory map), custom "
                                 "(with --flash/--ram), or qemu/generic: the target's QEMU machine map "
                                 "with/without `make run` [default: qemu].")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bnncc")
def main() -> None:
    """Compile trained binary neural networks (ONNX) into verified C for microcontrollers."""


@main.command("compile")
@model_argument
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--name", default=None, help="C name of the model (default: the file name).")
@target_option
@board_option
@click.option("--flash", default=None, help="With --board custom: ORIGIN:SIZE, e.g. 0x08000000:512K.")
@click.option("--ram", default=None, help="With --board custom: ORIGIN:SIZE, e.g. 0x20000000:128K.")
@click.option("--layout", type=click.Choice(["project", "library"]), default=None,
              help="project: the model plus Makefile/CMake/main.c/startup/linker script for a Cortex-M "
                   "target; library: the model in src/ with CMake, Arduino, PlatformIO and Zephyr "
                   "manifests for a vendor project [default: project; library for SDK boards such as pico].")
@fast_real_conv_option
@user_errors
def compile_cmd(model: Path, out_dir: Path, name: str | None, target: str | None, board: str | None,
                flash: str | None, ram: str | None, layout: str | None, fast_real_conv: bool) -> None:
    """Compile MODEL into C sources in OUT (plus Makefile, CMakeLists.txt, main.c for a Cortex-M target)."""
    from .compiler import compile_model
    from .targets.boards import select_board

    target, chosen = select_board(board or "qemu", target, flash, ram)
    if layout is None:
        layout = "library" if getattr(chosen, "sdk", None) else "project"
    compiled = compile_model(model, out_dir, name=name, target=target, board=chosen, layout=layout,
                             fast_real_conv=fast_real_conv)
    where = chosen if isinstance(chosen, str) else f"board {chosen.name}"
    if layout == "library":
        extra = f", as a library (CMake, Arduino, PlatformIO, Zephyr) in src/" + (
            "" if target == "host" else f" for {target} ({where})")
    else:
        extra = "" if target == "host" else f", Makefile/CMakeLists.txt/main.c for {target} ({where})"
    click.echo(f"wrote {len(compiled.files)} files to {out_dir}: {compiled.name}.h, {compiled.name}.c, the runtime"
               f"{extra} ({len(compiled.layers)} layers, arena {compiled.arena_bytes} B)")


@main.command("verify")
@model_argument
@click.option("--inputs", type=click.Path(path_type=Path), default=None, help="A .npy of inputs (N x input size).")
@click.option("--samples", type=click.IntRange(1), default=300, show_default=True,
              help="Random inputs when --inputs is not given.")
@click.option("--seed", type=int, default=0, show_default=True)
@target_option
@click.option("--board", default=None, help="A board preset QEMU emulates (netduinoplus2, stm32vldiscovery, "
                                            "lm3s6965evb, microbit): run on that machine.")
@click.option("--layers", is_flag=True, help="Compare every intermediate tensor with onnxruntime (traced on TARGET): "
              "name the first layer where they part; sign-at-zero and near-zero float cases apart.")
@fast_real_conv_option
@user_errors
def verify_cmd(model: Path, inputs: Path | None, samples: int, seed: int, target: str | None,
               board: str | None, layers: bool, fast_real_conv: bool) -> None:
    """Run the generated C on TARGET (or BOARD) and compare it with onnxruntime."""
    from .verify import load_inputs, verify_model

    data = load_inputs(inputs) if inputs is not None else None
    if layers:
        if board is not None:
            raise BnnccError("--layers traces on a --target (host or a core), not on a --board")
        from .verify_layers import verify_layers

        layer_report = verify_layers(model, inputs=data, samples=samples, seed=seed, target=target or "host",
                                     fast_real_conv=fast_real_conv)
        click.echo(layer_report.summary())
        if not layer_report.ok:
            sys.exit(1)
        return
    report = verify_model(model, inputs=data, samples=samples, target=target, seed=seed, board=board,
                          fast_real_conv=fast_real_conv)
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@main.command("inspect")
@model_argument
@click.option("--nodes", is_flag=True, help="One row per ONNX node instead: the layer it became (binary or "
              "float32, and why), or what it was folded into, or why it makes no code.")
@click.option("--target", type=click.Choice(TARGET_NAMES), default="host", show_default=True,
              help="The core whose kernels (and weight layouts) to show.")
@fast_real_conv_option
@user_errors
def inspect_cmd(model: Path, nodes: bool, target: str, fast_real_conv: bool) -> None:
    """Show each layer: what is binary and why, shapes, MACs, bytes."""
    if nodes:
        from .inspect_nodes import format_node_fates, node_fates

        click.echo(format_node_fates(node_fates(model, target, fast_real_conv)[0]))
        return
    from .compiler import lower_model
    from .inspect import format_inspect

    click.echo(format_inspect(lower_model(model, target, fast_real_conv=fast_real_conv)))


@main.command("boards")
@user_errors
def boards_cmd() -> None:
    """List the board presets with their core and memory map."""
    from .targets.boards import format_boards

    click.echo(format_boards())


def _register_optional() -> None:
    try:
        from .targets.bench import bench_command
    except ImportError:
        pass
    else:
        main.add_command(bench_command, "bench")
    try:
        from .train.cli import train_command
    except ImportError:
        pass
    else:
        main.add_command(train_command, "train")
    try:
        from .train.sweep import sweep_command
    except ImportError:
        pass
    else:
        main.add_command(sweep_command, "sweep")


_register_optional()

if __name__ == "__main__":
    main()
