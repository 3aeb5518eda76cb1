"""Run a generated model on a target: build the harness firmware, feed inputs, collect outputs.

Inputs go to the firmware through a host file (bnn_in.bin: raw float32, or bytes for a uint8/int8 model input)
read with semihosting, and outputs come back as raw float32 bits in bnn_out.bin, so nothing is lost to decimal printing.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bnncc.errors import BnnccError
from bnncc.targets.firmware import QEMU, Firmware, build_firmware
from bnncc.targets.model_header import read_model_header
from bnncc.targets.targets import get_target

# Exit statuses of harness_main.c / bnn_semihost.c.
EXIT_IO_ERROR = 2
EXIT_FAULT = 3
EXIT_RUN_FAILED = 4


class TargetRunError(BnnccError):
    """The firmware crashed, faulted, hung or failed; kind says which."""

    def __init__(self, message: str, kind: str, console: str = ""):
        self.kind = kind  # "fault", "timeout", "crash", "error"
        self.console = console
        super().__init__(message)


@dataclass(frozen=True)
class RunResult:
    outputs: bytes
    console: str


def qemu_command(fw: Firmware, extra: tuple[str, ...] = ()) -> list[str]:
    return [
        QEMU, "-M", fw.machine.qemu_name,
        "-display", "none", "-monitor", "none", "-serial", "null",
        "-semihosting-config", "enable=on,target=native",
        *extra,
        "-kernel", str(fw.elf),
    ]


def _parse_fault(console: str) -> str:
    """One line out of the BNN_FAULT report: 'exception 3 pc=... cfsr=...'."""
    lines = console.split("BNN_FAULT", 1)[1].split("\n")
    return ", ".join(line.strip() for line in lines if line.strip())


def run_firmware(
    fw: Firmware, input_bytes: bytes, *, timeout: float, qemu_extra: tuple[str, ...] = ()
) -> RunResult:
    """Run fw once over input_bytes; raises TargetRunError unless it exits 0 with BNN_DONE."""
    work = fw.build_dir
    (work / "bnn_in.bin").write_bytes(input_bytes)
    out_path = work / "bnn_out.bin"
    out_path.unlink(missing_ok=True)
    cmd = [str(fw.elf)] if fw.machine is None else qemu_command(fw, qemu_extra)
    where = "host" if fw.machine is None else fw.machine.qemu_name
    try:
        # QEMU prints the semihosting console on stderr: merge the streams.
        done = subprocess.run(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        console = (exc.stdout or b"").decode(errors="replace")
        raise TargetRunError(
            f"timeout: the firmware did not finish within {timeout:g} s on {where} "
            "(infinite loop, lockup or a far too slow model)", "timeout", console) from None
    console = done.stdout.decode(errors="replace")
    if done.returncode == EXIT_FAULT and "BNN_FAULT" in console:
        raise TargetRunError(f"hard fault on {where}: {_parse_fault(console)}", "fault", console)
    if "Lockup" in console:
        # QEMU aborts when a fault hits inside the fault handler (the core would lock up).
        lockup = next(line for line in console.splitlines() if "Lockup" in line)
        raise TargetRunError(f"hard fault on {where}: the core locked up (a fault inside the "
                             f"fault handler): {lockup.strip()}", "fault", console)
    if done.returncode < 0:
        raise TargetRunError(f"crash on {where}: killed by signal {-done.returncode}", "crash", console)
    if done.returncode != 0 or "BNN_DONE" not in console:
        raise TargetRunError(
            f"firmware failed on {where} with exit status {done.returncode}:\n{console.strip()}",
            "error", console)
    return RunResult(out_path.read_bytes() if out_path.exists() else b"", console)


def _check_inputs(inputs: np.ndarray, input_size: int, dtype: str = "<f4") -> np.ndarray:
    array = np.asarray(inputs)
    if array.ndim == 1 and array.size == input_size:
        array = array.reshape(1, input_size)
    if array.ndim != 2 or array.shape[1] != input_size:
        raise BnnccError(f"inputs must have shape (N, {input_size}); got {array.shape}")
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        values = array.astype(np.float64)
        if not np.all((values == np.round(values)) & (values >= info.min) & (values <= info.max)):
            raise BnnccError(f"the model input is {np.dtype(dtype).name}: inputs must be integers in "
                             f"[{info.min}, {info.max}]")
    return np.ascontiguousarray(array, dtype=dtype)


def board_machines(board) -> tuple | None:
    """The machine to build for when running on a board preset (None: the target's own machines)."""
    if board is None:
        return None
    if not board.emulated:
        raise BnnccError(f"board {board.name} has no emulator; the boards QEMU runs are "
                         f"{', '.join(b.name for b in _emulated_boards())} (sizes: `bnncc bench --board "
                         f"{board.name}`)")
    return (board.machine(),)


def _emulated_boards():
    from bnncc.targets.boards import all_boards

    return [b for b in all_boards() if b.emulated]


def run_inputs(
    model_dir: Path, name: str, target: str, inputs: np.ndarray, *, timeout: float = 60.0,
    board=None,
) -> np.ndarray:
    """Run name_run over every row of inputs on target (on board's QEMU machine when given);
    (N, OUTPUT_SIZE) float32, bit-exact."""
    header = read_model_header(Path(model_dir), name)
    array = _check_inputs(inputs, header.input_size, header.input_dtype)
    tgt = get_target(board.target if board is not None else target)
    machines = board_machines(board)
    with tempfile.TemporaryDirectory(prefix=f"bnncc-{tgt.name}-") as tmp:
        fw = build_firmware(Path(model_dir), name, tgt, Path(tmp), machines=machines)
        result = run_firmware(fw, array.tobytes(), timeout=timeout)
    expected = array.shape[0] * header.output_size * 4
    if len(result.outputs) != expected:
        raise TargetRunError(
            f"firmware wrote {len(result.outputs)} output bytes, expected {expected}",
            "error", result.console)
    return np.frombuffer(result.outputs, dtype="<f4").reshape(array.shape[0], header.output_size).copy()
