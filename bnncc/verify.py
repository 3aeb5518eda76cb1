"""Run the generated C and compare it with onnxruntime.

Two references are computed with onnxruntime (graph optimizations off: the model exactly as written):
- `onnx`: the model as exported;
- `bnncc`: the same model with every ONNX `Sign` replaced by Where(x >= 0, 1, -1), bnncc's convention.
The C must match the `bnncc` reference on every input (argmax equal, |diff| <= 1e-4 * max(1, |ref|)).
Inputs where the `onnx` reference differs are reported separately, with the number of exact zeros that
met a Sign: those are sign-at-zero cases, not compiler errors.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from .compiler import compile_model
from .errors import BnnccError
from .frontend.canonicalize.graph_edit import reinfer
from .frontend.canonicalize.qonnx_quantizers import lower_quantizers
from .frontend.fold import fold_constants
from .frontend.load import load_model
from .passes.chain import reference_session_options

RELATIVE_TOLERANCE = 1e-4


@dataclass
class VerifyReport:
    target: str
    samples: int
    argmax_agree: int
    max_abs_diff: float
    worst_ratio: float  # max |diff| / max(1, |ref|): must stay <= RELATIVE_TOLERANCE
    mismatched: list[int] = field(default_factory=list)
    sign_zero_samples: list[int] = field(default_factory=list)  # ONNX Sign met an exact 0
    sign_zero_explained: bool = True  # every onnx/bnncc difference is on a sign-zero sample
    onnx_argmax_agree: int = 0
    reference: str = "onnxruntime on the model as written"

    @property
    def ok(self) -> bool:
        return not self.mismatched and self.argmax_agree == self.samples and self.sign_zero_explained

    def summary(self) -> str:
        lines = [
            f"target {self.target}: {self.samples} inputs",
            f"  reference: {self.reference}",
            f"  argmax agrees with onnxruntime: {self.argmax_agree}/{self.samples}",
            f"  max |C - onnxruntime|: {self.max_abs_diff:.3g} "
            f"(worst |diff| / max(1, |ref|) = {self.worst_ratio:.3g}, tolerance {RELATIVE_TOLERANCE:g})",
        ]
        if self.sign_zero_samples:
            lines.append(
                f"  sign-at-zero: on {len(self.sign_zero_samples)} input(s) an ONNX Sign met an exact 0 "
                f"(ONNX: 0, bnncc: +1); with bnncc's convention the reference matches "
                f"({'every difference explained' if self.sign_zero_explained else 'NOT all differences explained'}); "
                f"argmax vs the unmodified model: {self.onnx_argmax_agree}/{self.samples}")
        else:
            lines.append("  sign-at-zero: no ONNX Sign met an exact 0")
        if self.mismatched:
            shown = ", ".join(str(i) for i in self.mismatched[:10])
            lines.append(f"  MISMATCH on {len(self.mismatched)} input(s): {shown}")
        lines.append("  result: " + ("MATCH" if self.ok else "MISMATCH"))
        return "\n".join(lines)


def random_inputs(input_size: int, count: int, seed: int = 0, dtype: str = "float32") -> np.ndarray:
    """Inputs on a dyadic grid (multiples of 1/16 in [-4, 4]): float sums over them are exact, so a
    real-input first layer gives the same bits in any summation order. A uint8/int8 model input: uniform
    integers over the type's whole range."""
    rng = np.random.default_rng(seed)
    if dtype != "float32":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max + 1, size=(count, input_size)).astype(dtype)
    return (rng.integers(-64, 65, size=(count, input_size)) / 16.0).astype(np.float32)


def model_inputs(inputs, dtype: str, input_size: int) -> np.ndarray:
    """Inputs as the model's input type, (N, input size); integers must be whole and in the type's range."""
    inputs = np.asarray(inputs)
    if inputs.size == 0 or inputs.size % input_size:
        raise BnnccError(f"the inputs hold {inputs.size} values, not a multiple of the input size {input_size}")
    if dtype != "float32":
        info = np.iinfo(dtype)
        values = inputs.astype(np.float64)
        if not np.all((values == np.round(values)) & (values >= info.min) & (values <= info.max)):
            raise BnnccError(f"the model input is {dtype}: the inputs must be integers in [{info.min}, {info.max}]")
    return inputs.astype(dtype).reshape(-1, input_size)


def load_inputs(path: Path) -> np.ndarray:
    """A .npy of inputs; verify_model reshapes it to (N, input size)."""
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise BnnccError(f"cannot read inputs '{path}': {exc}") from None
    try:
        return np.asarray(data, np.float32)
    except (TypeError, ValueError) as exc:
        raise BnnccError(f"inputs '{path}' are not numbers: {exc}") from None


class Reference:
    """onnxruntime on the model as written, and with bnncc's sign(0) = +1 convention."""

    def __init__(self, model_path: Path):
        model = load_model(model_path)
        self.description = VerifyReport.reference
        lowered = lower_quantizers(model)
        if lowered is not None:  # onnxruntime cannot run QONNX ops; qonnx's own semantics, in standard ops
            model = reinfer(lowered)
            self.description = ("onnxruntime on the model with its QONNX/Brevitas quantizers lowered to standard "
                                "ONNX ops (qonnx semantics: +1 iff x >= 0, times scale)")
        self.input = [i for i in model.graph.input
                      if i.name not in {t.name for t in model.graph.initializer}][0]
        self.shape = [d.dim_value for d in self.input.type.tensor_type.shape.dim]
        self.output = model.graph.output[0].name
        _, live = fold_constants(model)
        live_signs = [n for n in live if n.op_type == "Sign"]
        self.original = _session(model)
        self.convention, self.zero_probes = _convention_session(model, live_signs)

    def run(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(onnx outputs, bnncc-convention outputs, exact zeros met by Sign per input)."""
        original, convention, zeros = [], [], []
        for x in inputs:
            feed = {self.input.name: x.reshape(self.shape)}
            original.append(self.original.run([self.output], feed)[0].reshape(-1))
            results = self.convention.run(None, feed)
            convention.append(results[0].reshape(-1))
            zeros.append(sum(int(np.sum(r == 0)) for r in results[1:]))
        return np.array(original), np.array(convention), np.array(zeros)


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    try:
        return ort.InferenceSession(model.SerializeToString(), reference_session_options(),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise BnnccError(f"onnxruntime cannot run the model: {str(exc).splitlines()[0][:300]}") from None


def _convention_session(model: onnx.ModelProto, live_signs) -> tuple[ort.InferenceSession, list[str]]:
    changed, probes = convention_model(model, live_signs)
    return _session(changed), probes


def convention_model(model: onnx.ModelProto, live_signs) -> tuple[onnx.ModelProto, list[str]]:
    """A copy of model with every live Sign replaced by Where(x >= 0, 1, -1); its outputs are the model's
    first output followed by each replaced Sign's input (the probes, in the same order)."""
    changed = onnx.ModelProto()
    changed.CopyFrom(model)
    graph = changed.graph
    graph.initializer.extend([
        numpy_helper.from_array(np.array(0, np.float32), "bnncc_zero"),
        numpy_helper.from_array(np.array(1, np.float32), "bnncc_plus_one"),
        numpy_helper.from_array(np.array(-1, np.float32), "bnncc_minus_one"),
    ])
    live_ids = {(n.name, tuple(n.output)) for n in live_signs}
    nodes, probes = [], []
    for node in graph.node:
        if node.op_type == "Sign" and (node.name, tuple(node.output)) in live_ids:
            # x >= 0 written as not (x < 0): Less exists in every opset, GreaterOrEqual only from 12
            cond = node.output[0] + "__bnncc_lt0"
            nodes.append(helper.make_node("Less", [node.input[0], "bnncc_zero"], [cond]))
            nodes.append(helper.make_node("Where", [cond, "bnncc_minus_one", "bnncc_plus_one"], [node.output[0]]))
            probes.append(node.input[0])
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.output[1:]
    for name in probes:
        graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    return changed, probes


def compare(c_out: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Per-input match flags, max abs diff, worst tolerance ratio, per-input argmax agreement."""
    diff = np.abs(c_out.astype(np.float64) - ref.astype(np.float64))
    ratio = diff / np.maximum(1.0, np.abs(ref.astype(np.float64)))
    argmax = np.argmax(c_out, axis=1) == np.argmax(ref, axis=1)
    close = np.all(ratio <= RELATIVE_TOLERANCE, axis=1) & argmax
    return close, float(diff.max(initial=0.0)), float(ratio.max(initial=0.0)), argmax


def run_compiled(model_dir: Path, name: str, target: str, inputs: np.ndarray, board=None) -> np.ndarray:
    """Build the generated C for target (host compiler or arm-none-eabi-gcc + QEMU) and run every input."""
    from .targets.run import run_inputs

    return run_inputs(model_dir, name, target, inputs, board=board)


def verify_model(model_path: str | Path, inputs: np.ndarray | None = None, samples: int = 300,
                 target: str | None = None, seed: int = 0, board: str | None = None,
                 fast_real_conv: bool = False) -> VerifyReport:
    """Compile, run on `target` (or on a board preset's QEMU machine), compare with onnxruntime."""
    model_path = Path(model_path)
    preset = None
    if board is not None:
        from .targets.boards import GENERIC_BOARDS, check_board_fits, select_board
        from .targets.run import board_machines

        target, preset = select_board(board, target)
        if isinstance(preset, str) and preset in GENERIC_BOARDS:
            preset = None
        else:
            board_machines(preset)  # refuse a board without an emulator before compiling
    target = target or "host"
    with tempfile.TemporaryDirectory(prefix="bnncc-verify-") as tmp:
        compiled = compile_model(model_path, Path(tmp) / "model", name="model", core=target,
                                 fast_real_conv=fast_real_conv)
        if preset is not None:
            from .compiler import model_footprint

            check_board_fits(preset, *model_footprint(compiled.graph))
        dtype = compiled.graph.input_dtype
        if inputs is None:
            inputs = random_inputs(compiled.input_size, samples, seed, dtype)
        inputs = model_inputs(inputs, dtype, compiled.input_size)
        c_out = run_compiled(Path(tmp) / "model", compiled.name, target, inputs, board=preset)
    reference = Reference(model_path)
    original, convention, zeros = reference.run(inputs)
    close, max_diff, worst, argmax = compare(c_out, convention)
    differs = np.any(original != convention, axis=1)
    zero_samples = [int(i) for i in np.flatnonzero(zeros > 0)]
    explained = bool(np.all(~differs | (zeros > 0)))
    _, _, _, onnx_argmax = compare(c_out, original)
    where = target if preset is None else f"{target} on board {preset.name}"
    return VerifyReport(where, len(inputs), int(argmax.sum()), max_diff, worst,
                        [int(i) for i in np.flatnonzero(~close)], zero_samples, explained,
                        int(onnx_argmax.sum()), reference.description)
