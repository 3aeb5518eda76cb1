"""`bnncc verify --layers`: every intermediate tensor of the generated C against onnxruntime.

How the C side is traced: the generated NAME.c keeps its activations in one `static` arena and calls
BNN_PROFILE_MARK(i) before layer i and after the last. A trace harness #includes NAME.c into its own
translation unit (so it sees the arena), defines BNN_PROFILE and bnn_profile_mark(), and at mark i >= 1
writes the whole arena and the output buffer: the state right after layer i-1. Python then reads each
layer's outputs at their planned offsets (graph.arena) with their kinds (graph.tensors).

How the reference side is made: onnxruntime (graph optimizations off) on the model with bnncc's sign(0) = +1
convention (verify.convention_model), with every tensor we compare added as a graph output, plus the input
of each binarizer (the pre-sign value).

A lowered tensor whose name has no ':' holds exactly the ONNX tensor of that name (REAL: float32 CHW;
BITS: its +-1 values packed HWC, bit 1 = +1). Names with ':' are internal to a fused layer and are listed
but not compared.

Each (layer output, input vector) falls in one category:
- exact: identical (bits) or bit-identical floats;
- sign-at-zero (counted on exact BITS tensors): elements where an ONNX Sign met an exact 0 (ONNX 0, bnncc +1;
  the convention reference already gives +1, so they are not differences);
- rounding: a REAL tensor that differs, by at most the verify tolerance (1e-4 * max(1, |ref|));
- near-zero: a BITS tensor whose differing bits all have a pre-sign reference value within
  NEAR_ZERO_RELATIVE of the largest |pre-sign value| of that tensor, in a layer that sums floats itself
  (real-input conv or dense) or reads a REAL tensor that already differed by rounding: a float-order
  difference that flipped a bit sitting on its threshold;
- downstream: any difference on an input vector after an earlier layer flipped a bit (near-zero or mismatch)
  for that input: a consequence, not a new finding;
- MISMATCH: anything else (a flipped bit away from its threshold, a bit flip where every input was exact and
  no float is summed, or a REAL difference beyond the tolerance).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper

from . import ir
from .compiler import compile_model
from .errors import BnnccError
from .frontend.fold import fold_constants
from .frontend.importer import import_model
from .frontend.load import load_model
from .verify import RELATIVE_TOLERANCE, _session, compare, convention_model, model_inputs, random_inputs

NEAR_ZERO_RELATIVE = 1e-4
CATEGORIES = ("exact", "rounding", "near-zero", "downstream", "MISMATCH")
# Kernels that sum float32 terms (a window or a dot product) when an input is REAL: their order may
# differ from onnxruntime's. Elementwise float kernels (add, prelu, affine, pack) are exact per operation.
_FLOAT_SUM_KERNELS = ("conv", "dense", "gemm", "matmul", "avgpool", "global", "mean")


@dataclass
class LayerRow:
    index: int
    name: str
    kernel: str
    tensor: str
    kind: str  # "real", "bits" or "internal"
    elements: int
    compared: bool = True
    counts: dict[str, int] = field(default_factory=lambda: {c: 0 for c in CATEGORIES})  # input vectors
    max_diff: float = 0.0  # REAL: max |C - ref| over the inputs
    bits_differing: int = 0  # BITS: differing elements summed over the inputs
    sign_zero: int = 0  # BITS: elements where an ONNX Sign met an exact 0, summed over the inputs
    near_zero_bits: int = 0  # BITS: differing elements explained as near-zero
    first_inputs: dict[str, list[int]] = field(default_factory=dict)  # category -> first input indices

    @property
    def status(self) -> str:
        if not self.compared:
            return "internal"
        for category in reversed(CATEGORIES):
            if self.counts[category]:
                return category
        return "exact"


@dataclass
class LayersReport:
    target: str
    samples: int
    rows: list[LayerRow]
    output_close: int  # input vectors whose final output matches (argmax and tolerance)
    output_argmax: int
    output_worst_ratio: float
    flip_inputs: list[int] = field(default_factory=list)  # inputs where some bit flipped (near-zero or not)
    output_ok: np.ndarray | None = None  # per input: final output within tolerance and argmax equal

    @property
    def mismatches(self) -> list[LayerRow]:
        return [r for r in self.rows if r.counts["MISMATCH"]]

    @property
    def first_parting(self) -> LayerRow | None:
        """The first layer, in execution order, where C and onnxruntime differ on some input."""
        for row in self.rows:
            if row.compared and row.status != "exact":
                return row
        return None

    @property
    def ok(self) -> bool:
        """No real mismatch. Near-zero flips are reported, not failed: see the module docstring."""
        return not self.mismatches and (self.output_close == self.samples or self._output_explained)

    @property
    def _output_explained(self) -> bool:
        return any(r.counts["near-zero"] for r in self.rows)

    def table(self) -> str:
        head = ("layer", "kernel", "tensor", "kind", "elements", "exact", "max diff / bits", "sign@0",
                "near-zero", "status")
        lines = []
        for r in self.rows:
            if not r.compared:
                diff = "-"
            elif r.kind == "real":
                diff = f"{r.max_diff:.3g}"
            else:
                diff = f"{r.bits_differing} bits"
            exact = f"{r.counts['exact']}/{self.samples}" if r.compared else "-"
            lines.append((str(r.index), r.kernel, _short(r.tensor), r.kind, str(r.elements), exact, diff,
                          str(r.sign_zero) if r.kind == "bits" else "-",
                          str(r.near_zero_bits) if r.kind == "bits" else "-", r.status))
        widths = [max(len(row[i]) for row in [head, *lines]) for i in range(len(head))]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        return "\n".join(fmt.format(*row).rstrip() for row in [head, *lines])

    def summary(self) -> str:
        lines = [f"target {self.target}: {self.samples} inputs, every intermediate tensor vs onnxruntime "
                 "(bnncc's sign(0) = +1 convention)", self.table()]
        first = self.first_parting
        if first is None:
            lines.append("every compared tensor is identical on every input")
        else:
            cats = ", ".join(f"{c} on {first.counts[c]} input(s) "
                             f"(e.g. {', '.join(map(str, first.first_inputs[c][:5]))})"
                             for c in CATEGORIES if c in first.first_inputs and c != "exact")
            lines.append(f"first layer where C and onnxruntime part: layer {first.index} ({first.kernel}, "
                         f"tensor {first.tensor}): {cats}")
        zeros = sum(r.sign_zero for r in self.rows)
        if zeros:
            lines.append(f"sign-at-zero: {zeros} element(s) where an ONNX Sign met an exact 0 (ONNX 0, bnncc +1), "
                         "counted separately, not differences")
        near = sum(r.near_zero_bits for r in self.rows)
        if near:
            lines.append(f"near-zero: {near} bit(s) flipped by float rounding at a value within "
                         f"{NEAR_ZERO_RELATIVE:g} x the tensor's largest |value| of its threshold "
                         "(float sum order); later differences on those inputs are marked downstream")
        lines.append(f"final output: {self.output_close}/{self.samples} within tolerance "
                     f"(worst |diff| / max(1, |ref|) = {self.output_worst_ratio:.3g}), "
                     f"argmax {self.output_argmax}/{self.samples}")
        if self.mismatches:
            lines.append("result: MISMATCH in layer(s) " + ", ".join(str(r.index) for r in self.mismatches))
        elif self.output_close != self.samples:
            lines.append("result: the final output differs, explained only by near-zero flips"
                         if self._output_explained else "result: MISMATCH in the final output")
        else:
            lines.append("result: MATCH")
        return "\n".join(lines)


def _short(name: str, limit: int = 40) -> str:
    return name if len(name) <= limit else name[:limit - 3] + "..."


# ------------------------------------------------------------------------------------------ C side

TRACE_MAIN = """/* bnnh_trace.c - bnncc verify --layers: runs {name}_run and writes the arena after every layer. */
#define BNN_PROFILE 1
#include <stdio.h>
#include <stdlib.h>

#include "{name}.c"
#ifndef {NAME}_INPUT_TYPE
#define {NAME}_INPUT_TYPE float
#endif

static FILE *bnn_trace_file;
static float bnn_trace_output[{NAME}_OUTPUT_SIZE];
static {NAME}_INPUT_TYPE bnn_trace_input[{NAME}_INPUT_SIZE];

void bnn_profile_mark(int32_t layer)
{{
    if (layer <= 0) {{
        return;
    }}
{arena_write}    if (fwrite(bnn_trace_output, sizeof bnn_trace_output, 1, bnn_trace_file) != 1) {{
        exit(2);
    }}
}}

int main(int argc, char **argv)
{{
    FILE *in;
    if (argc != 3) {{
        return 2;
    }}
    in = fopen(argv[1], "rb");
    bnn_trace_file = fopen(argv[2], "wb");
    if (in == NULL || bnn_trace_file == NULL) {{
        return 2;
    }}
    while (fread(bnn_trace_input, sizeof bnn_trace_input, 1, in) == 1) {{
        if ({name}_run(bnn_trace_input, bnn_trace_output) != 0) {{
            return 4;
        }}
    }}
    fclose(in);
    return fclose(bnn_trace_file) == 0 ? 0 : 2;
}}
"""

ARENA_WRITE = """    if (fwrite(arena.u, sizeof arena.u, 1, bnn_trace_file) != 1) {
        exit(2);
    }
"""

# The model's own flags (firmware.MODEL_CFLAGS) plus no FMA contraction, as every bnncc build.
TRACE_CFLAGS = ("-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off")


def trace_host(model_dir: Path, name: str, graph: ir.Graph, inputs: np.ndarray, work: Path) -> np.ndarray:
    """Build the trace harness on the host and run it: (N, layers, arena words + output size) uint32."""
    arena_words = (graph.arena_bytes + 3) // 4
    main = work / "bnnh_trace.c"
    main.write_text(TRACE_MAIN.format(name=name, NAME=name.upper(),
                                      arena_write=ARENA_WRITE if arena_words else ""))
    others = [_runtime_object(p, model_dir) for p in sorted(Path(model_dir).glob("*.c")) if p.name != f"{name}.c"]
    exe = work / "bnnh_trace.exe"
    cmd = ["cc", *TRACE_CFLAGS, f"-I{model_dir}", str(main), *map(str, others), "-lm", "-o", str(exe)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise BnnccError("building the layer trace harness (NAME.c included, its static arena read at every "
                         f"BNN_PROFILE_MARK) failed:\n{' '.join(cmd)}\n{done.stderr.strip()}")
    (work / "in.bin").write_bytes(np.ascontiguousarray(inputs).tobytes())  # the model's input type
    done = subprocess.run([str(exe), str(work / "in.bin"), str(work / "trace.bin")], capture_output=True,
                          timeout=600)
    if done.returncode:
        raise BnnccError(f"the layer trace harness failed with exit status {done.returncode}")
    per_mark = arena_words + graph.tensors[graph.output].size
    data = np.fromfile(work / "trace.bin", dtype="<u4")
    layers = len(graph.nodes)
    if data.size != len(inputs) * layers * per_mark:
        raise BnnccError(f"the layer trace holds {data.size} words, expected {len(inputs) * layers * per_mark}")
    return data.reshape(len(inputs), layers, per_mark)


TARGET_WRAPPER = """/* {name}.c - bnncc verify --layers: the generated model (renamed {name}_model.inc) plus a profile hook
 * that writes the whole arena to bnn_trace.bin after every layer, through the harness's file services. */
#define BNN_PROFILE 1
#include "bnn_target_io.h"
#include "{name}_model.inc"

static int32_t bnn_trace_handle = -1;

void bnn_profile_mark(int32_t layer)
{{
    if (layer <= 0) {{
        return;
    }}
    if (bnn_trace_handle < 0) {{
        bnn_trace_handle = bnn_io_open("bnn_trace.bin", BNN_IO_WRITE);
    }}
{arena_write}}}
"""
TARGET_ARENA_WRITE = """    if (bnn_io_write(bnn_trace_handle, arena.u, (uint32_t)sizeof arena.u) != (int32_t)sizeof arena.u) {
        bnn_puts("BNN_ERROR cannot write bnn_trace.bin\\n");
        bnn_exit(2);
    }
"""


def trace_target(model_dir: Path, name: str, graph: ir.Graph, inputs: np.ndarray, work: Path,
                 target: str) -> np.ndarray:
    """The same trace on a Cortex-M target (arm-none-eabi-gcc + QEMU, semihosting files): the model folder
    is copied, NAME.c renamed and wrapped with a profile hook, and built with the usual harness."""
    from .resources import templates_dir
    from .targets.firmware import build_firmware
    from .targets.run import run_firmware
    from .targets.targets import get_target

    folder = work / "traced"
    shutil.copytree(model_dir, folder)
    (folder / f"{name}.c").rename(folder / f"{name}_model.inc")
    shutil.copyfile(templates_dir() / "target" / "bnn_target_io.h", folder / "bnn_target_io.h")
    arena_words = (graph.arena_bytes + 3) // 4
    (folder / f"{name}.c").write_text(TARGET_WRAPPER.format(
        name=name, arena_write=TARGET_ARENA_WRITE if arena_words else ""))
    array = np.ascontiguousarray(inputs)  # the model's input type (float32 or bytes)
    fw = build_firmware(folder, name, get_target(target), work / "build")
    result = run_firmware(fw, array.tobytes(), timeout=600.0)
    out_size = graph.tensors[graph.output].size
    outputs = np.frombuffer(result.outputs, dtype="<u4")
    layers = len(graph.nodes)
    if outputs.size != len(inputs) * out_size:
        raise BnnccError(f"the traced firmware wrote {outputs.size} output words, expected {len(inputs) * out_size}")
    trace_file = fw.build_dir / "bnn_trace.bin"
    arena = np.fromfile(trace_file, dtype="<u4") if trace_file.exists() else np.zeros(0, np.uint32)
    if arena.size != len(inputs) * layers * arena_words:
        raise BnnccError(f"the layer trace holds {arena.size} words, expected {len(inputs) * layers * arena_words}")
    arena = arena.reshape(len(inputs), layers, arena_words)
    final = np.broadcast_to(outputs.reshape(len(inputs), 1, out_size), (len(inputs), layers, out_size))
    return np.concatenate([arena, final], axis=2)


def _runtime_object(source: Path, include_dir: Path) -> Path:
    """The object of one runtime source, cached by the hash of its text, every header beside it and the
    flags: the runtime files are the same for every model, only NAME.c changes."""
    digest = hashlib.sha256(" ".join(TRACE_CFLAGS).encode())
    for path in [source, *sorted(Path(include_dir).glob("*.h"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    cache = Path(tempfile.gettempdir()) / f"bnncc-trace-objects-{os.getuid()}"
    cache.mkdir(exist_ok=True)
    obj = cache / f"{source.stem}-{digest.hexdigest()[:20]}.o"
    if not obj.exists():
        partial = cache / f"{obj.name}.{os.getpid()}.tmp"
        cmd = ["cc", *TRACE_CFLAGS, f"-I{include_dir}", "-c", str(source), "-o", str(partial)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise BnnccError(f"compiling {source.name} failed:\n{' '.join(cmd)}\n{done.stderr.strip()}")
        os.replace(partial, obj)  # atomic: parallel runs never see half an object
    return obj


def unpack_bits(words_: np.ndarray, chw: tuple[int, int, int]) -> np.ndarray:
    """BITS HWC words -> (C*H*W,) bool in CHW order (True = +1)."""
    c, h, w = chw
    per_pixel = ir.words(c)
    grid = words_[:h * w * per_pixel].reshape(h, w, per_pixel)
    bits = ((grid[..., None] >> np.arange(32, dtype=np.uint32)) & 1).astype(bool).reshape(h, w, per_pixel * 32)
    return np.transpose(bits[:, :, :c], (2, 0, 1)).reshape(-1)


def c_tensor(graph: ir.Graph, name: str, mark: np.ndarray) -> np.ndarray | None:
    """One tensor out of one mark's dump: float32 values (REAL) or bools (BITS); None if not stored."""
    tensor = graph.tensors[name]
    arena_words = (graph.arena_bytes + 3) // 4
    if name == graph.output:
        raw = mark[arena_words:arena_words + tensor.size]
    elif name in graph.arena:
        start = graph.arena[name] // 4
        raw = mark[start:start + (tensor.nbytes + 3) // 4]
    else:
        return None
    if tensor.kind is ir.Kind.BITS:
        return unpack_bits(raw, tensor.chw)
    return raw[:tensor.size].view("<f4").copy()


# ---------------------------------------------------------------------------------- reference side


class LayerReference:
    """onnxruntime, bnncc convention, with the requested tensors and the binarizers' inputs as outputs."""

    def __init__(self, model_path: Path, names: list[str]):
        model = load_model(model_path)
        self.input = [i for i in model.graph.input
                      if i.name not in {t.name for t in model.graph.initializer}][0]
        self.shape = [d.dim_value for d in self.input.type.tensor_type.shape.dim]
        self.output = model.graph.output[0].name
        _, live = fold_constants(model)
        changed, _ = convention_model(model, [n for n in live if n.op_type == "Sign"])
        produced = {out for node in changed.graph.node for out in node.output}
        self.names = [n for n in dict.fromkeys([self.output, *names]) if n in produced]
        del changed.graph.output[:]
        for name in self.names:
            changed.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
        self.session = _session(changed)

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        feed = {self.input.name: x.reshape(self.shape)}
        values = dict(zip(self.names, (v.reshape(-1) for v in self.session.run(self.names, feed))))
        values[self.input.name] = x.reshape(-1)
        return values


def _binarizers(model_path: Path) -> dict[str, ir.Binarize]:
    """Binarizer output tensor -> its frontend node (inputs[0] is the pre-sign value)."""
    frontend = import_model(model_path)
    return {node.outputs[0]: node for node in frontend.nodes if isinstance(node, ir.Binarize)}


def _sums_floats(layer: ir.Layer, graph: ir.Graph) -> bool:
    real_input = any(i in graph.tensors and graph.tensors[i].kind is ir.Kind.REAL for i in layer.inputs)
    return real_input and any(part in layer.kernel for part in _FLOAT_SUM_KERNELS)


# ---------------------------------------------------------------------------------------- compare


def compare_layers(model_path: Path, graph: ir.Graph, inputs: np.ndarray, trace: np.ndarray,
                   target: str = "host") -> LayersReport:
    binarizers = _binarizers(model_path)
    rows: list[LayerRow] = []
    targets: list[tuple[LayerRow, ir.Layer, str]] = []
    for index, layer in enumerate(graph.nodes):
        for out in layer.outputs:
            tensor = graph.tensors[out]
            internal = ":" in out
            row = LayerRow(index, layer.name, layer.kernel, out,
                           "internal" if internal else tensor.kind.value, tensor.size, compared=not internal)
            rows.append(row)
            targets.append((row, layer, out))
    wanted = [out for row, _, out in targets if row.compared]
    wanted += [binarizers[n].inputs[0] for n in wanted if n in binarizers]
    reference = LayerReference(model_path, wanted)
    for row, _, out in targets:
        if row.compared and out not in reference.names:
            row.compared = False  # not an ONNX tensor (e.g. a fused layer's own name)
    final_c, final_ref, flip_inputs = [], [], []
    for sample, x in enumerate(inputs):
        ref = reference.run(x)
        final_ref.append(ref[reference.output])
        flipped = False  # an earlier layer flipped a bit on this input
        real_rounded = set()  # REAL tensors that differed by rounding on this input
        for row, layer, out in targets:
            if not row.compared:
                continue
            mark = trace[sample, row.index]
            got = c_tensor(graph, out, mark)
            if got is None:
                row.compared = False
                continue
            expected = ref[out]
            if expected.size != got.size:
                raise BnnccError(f"layer {row.index} ({layer.kernel}): tensor '{out}' has {got.size} elements in "
                                 f"the C, {expected.size} in onnxruntime")
            category = _categorize(row, layer, graph, out, got, expected, ref, binarizers, flipped, real_rounded)
            row.counts[category] += 1
            if category != "exact":
                row.first_inputs.setdefault(category, [])
                if len(row.first_inputs[category]) < 10:
                    row.first_inputs[category].append(sample)
            if category in ("near-zero", "MISMATCH") and row.kind == "bits":
                flipped = True
            if category == "MISMATCH":
                flipped = True
            if category == "rounding":
                real_rounded.add(out)
        final_c.append(c_tensor(graph, graph.output, trace[sample, -1]))
        if flipped:
            flip_inputs.append(sample)
    close, _, worst, argmax = compare(np.array(final_c), np.array(final_ref))
    return LayersReport(target, len(inputs), rows, int(close.sum()), int(argmax.sum()), worst, flip_inputs, close)


def _categorize(row: LayerRow, layer: ir.Layer, graph: ir.Graph, out: str, got: np.ndarray,
                expected: np.ndarray, ref: dict, binarizers: dict, flipped: bool, real_rounded: set) -> str:
    if row.kind == "bits":
        expected_bits = expected >= 0
        pre = binarizers.get(out)
        pre_values = ref.get(pre.inputs[0]) if pre is not None else None
        if pre is not None and pre.onnx_op == "Sign" and pre_values is not None:
            row.sign_zero += int(np.sum(pre_values == 0))
        differ = got != expected_bits
        n = int(differ.sum())
        if n == 0:
            return "exact"
        row.bits_differing += n
        if flipped:
            return "downstream"
        real_input_rounded = any(i in real_rounded for i in layer.inputs)
        if pre_values is not None and (_sums_floats(layer, graph) or real_input_rounded):
            bound = NEAR_ZERO_RELATIVE * float(np.max(np.abs(pre_values), initial=0.0))
            if np.all(np.abs(pre_values[differ]) <= bound):
                row.near_zero_bits += n
                return "near-zero"
        return "MISMATCH"
    if np.array_equal(got.view(np.uint32), expected.astype(np.float32).view(np.uint32)):
        return "exact"
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    row.max_diff = max(row.max_diff, float(diff.max()))
    if flipped:
        return "downstream"
    ratio = diff / np.maximum(1.0, np.abs(expected.astype(np.float64)))
    return "rounding" if np.all(ratio <= RELATIVE_TOLERANCE) else "MISMATCH"


def verify_layers(model_path: str | Path, inputs: np.ndarray | None = None, samples: int = 50,
                  target: str = "host", seed: int = 0, emitted: Path | None = None,
                  fast_real_conv: bool = False) -> LayersReport:
    """Compile (or take an already emitted folder `emitted` holding model.c), trace every layer on the
    host or on a Cortex-M target in QEMU, compare with onnxruntime."""
    model_path = Path(model_path)
    with tempfile.TemporaryDirectory(prefix="bnncc-layers-") as tmp:
        work = Path(tmp)
        if emitted is None:
            compiled = compile_model(model_path, work / "model", name="model", core=target,
                                     fast_real_conv=fast_real_conv)
            graph, folder = compiled.graph, work / "model"
        else:
            from .compiler import lower_model

            graph, folder = lower_model(model_path, target, fast_real_conv=fast_real_conv), Path(emitted)
        input_size = graph.tensors[graph.input].size
        if inputs is None:
            inputs = random_inputs(input_size, samples, seed, graph.input_dtype)
        inputs = model_inputs(inputs, graph.input_dtype, input_size)
        if target == "host":
            trace = trace_host(folder, "model", graph, inputs, work)
        else:
            trace = trace_target(folder, "model", graph, inputs, work, target)
    return compare_layers(model_path, graph, inputs, trace, target)
