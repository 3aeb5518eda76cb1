"""Translate a checked, shape-inferred, constant-folded ONNX graph into frontend IR nodes.

Only the data path is translated: weights arrive already folded to arrays (see fold.py). Activation
binarizers are recognised here: Sign(x), and Where(cmp(x, 0), +1, -1) in all its mirrored forms.
Every unsupported node is collected, so the user sees the whole list at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper

from .. import ir
from ..errors import BnnccError
from .canonicalize import canonicalize
from .fold import fold_constants
from .load import INPUT_DTYPES, load_model
from .ops_real import RealOps
from .pads import spatial_pads

_COMPARISONS = {"GreaterOrEqual", "Greater", "Less", "LessOrEqual"}
_ALIASES = {"Identity", "Dropout"}


def import_model(path: str | Path) -> ir.Graph:
    """Load an ONNX file and return its frontend IR graph."""
    model = load_model(path)
    return import_proto(model, name=Path(path).stem)


def import_proto(model: onnx.ModelProto, name: str = "model") -> ir.Graph:
    model = canonicalize(model)  # producer idioms -> standard forms (frontend/canonicalize/)
    consts, live = fold_constants(model)
    return _Importer(model, consts, live, name).run()


class _Importer(RealOps):
    def __init__(self, model: onnx.ModelProto, consts: dict[str, np.ndarray], live: list, name: str):
        self.model = model
        self.consts = consts
        self.live = live
        self.name = name
        self.shapes = _value_shapes(model)
        self.alias: dict[str, str] = {}
        self.comparisons: dict[str, onnx.NodeProto] = {}  # cond tensor -> comparison node
        self.nodes: list[ir.Node] = []
        self.tensors: dict[str, ir.Tensor] = {}
        self.problems: list[str] = []
        self.used_comparisons: set[str] = set()
        self.unknown: set[str] = set()  # outputs of failed nodes without an inferred shape

    # ------------------------------------------------------------------------------ driver
    def run(self) -> ir.Graph:
        graph = self.model.graph
        initializers = {t.name for t in graph.initializer}
        inputs = [i for i in graph.input if i.name not in initializers]
        input_name = inputs[0].name
        self._add_tensor(input_name)
        if len(graph.output) != 1:
            raise BnnccError(f"the model must have exactly one output, it has {len(graph.output)}")

        for position, node in enumerate(self.live):
            label = node.name or f"{node.op_type}_{position}"
            handler = getattr(self, f"_op_{node.op_type}", None)
            if node.domain not in ("", "ai.onnx"):
                self.problems.append(f"node '{label}' (op {node.domain}.{node.op_type}): custom domain")
                self._placeholder(node)  # its consumers are not reported again
                continue
            if handler is not None and any(self._resolve(i) in self.unknown for i in node.input):
                # Downstream of a reported node whose output shape nobody could infer (a custom op):
                # any shape complaint here would be noise. Unsupported ops are still listed above.
                self._placeholder(node)
                continue
            try:
                if handler is None:
                    raise BnnccError("operator not supported", label, node.op_type)
                handler(node, label)
            except BnnccError as exc:
                self.problems.append(str(exc))
                self._placeholder(node)

        for cond, node in self.comparisons.items():
            if cond not in self.used_comparisons:
                label = node.name or node.op_type
                self.problems.append(
                    f"node '{label}' (op {node.op_type}): a comparison is only supported as the condition of a "
                    "binarizer Where(x >= 0, 1, -1)"
                )
        if self.problems:
            listing = "\n  ".join(self.problems)
            raise BnnccError(f"the model uses {len(self.problems)} unsupported construct(s):\n  {listing}")

        output = self._resolve(graph.output[0].name)
        if output in self.consts or output not in self.tensors:
            raise BnnccError(f"graph output '{graph.output[0].name}' does not depend on the input")
        return ir.Graph(tensors=self.tensors, nodes=self.nodes, input=input_name, output=output,
                        model_name=self.name, input_dtype=INPUT_DTYPES[inputs[0].type.tensor_type.elem_type])

    # ----------------------------------------------------------------------------- helpers
    def _placeholder(self, node: onnx.NodeProto) -> None:
        """Register a failed node's outputs so its consumers do not report it again."""
        for out in node.output:
            dims = self.shapes.get(out)
            if out and out not in self.tensors:
                self.tensors[out] = ir.Tensor(out, tuple(dims[1:]) if dims else ())
                if not dims:
                    self.unknown.add(out)

    def _resolve(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def _add_tensor(self, name: str, shape: tuple[int, ...] | None = None) -> None:
        if shape is None:
            dims = self.shapes.get(name)
            if dims is None:
                raise BnnccError(f"tensor '{name}' has no inferred shape")
            if not dims or dims[0] != 1:
                raise BnnccError(f"tensor '{name}' has shape {dims}; bnncc needs a leading batch dimension of 1")
            shape = tuple(dims[1:])
        if 0 in shape:
            # A zero-size tensor has no C array and no kernel loop that makes sense.
            raise BnnccError(f"tensor '{name}' is empty (shape {shape})")
        self.tensors[name] = ir.Tensor(name, shape)

    def _live_input(self, node: onnx.NodeProto, label: str, index: int = 0) -> str:
        name = self._resolve(node.input[index])
        if name not in self.tensors:
            raise BnnccError("its data input is not produced by a supported node", label, node.op_type)
        return name

    def _const(self, node: onnx.NodeProto, label: str, index: int, what: str,
               allow_inf: bool = False) -> np.ndarray | None:
        if index >= len(node.input) or not node.input[index]:
            return None
        name = node.input[index]
        if name not in self.consts:
            raise BnnccError(f"{what} must be a constant (an initializer or a constant subgraph)", label, node.op_type)
        value = np.asarray(self.consts[name])
        # allow_inf: a Clip bound of +-inf means "no bound"; NaN still means nothing.
        _finite(np.where(np.isinf(value), 0, value) if allow_inf else value, what, label, node.op_type)
        return value

    def _emit(self, node: ir.Node, out_shape: tuple[int, ...] | None = None) -> None:
        for out in node.outputs:
            self._add_tensor(out, out_shape)
        self.nodes.append(node)

    # ------------------------------------------------------------------------------- ops
    def _op_Identity(self, node, label):
        if node.input[0] in self.consts:
            self.consts[node.output[0]] = self.consts[node.input[0]]
            return
        self.alias[node.output[0]] = self._live_input(node, label)

    def _op_Dropout(self, node, label):
        if len(node.output) > 1 and node.output[1]:
            raise BnnccError("the dropout mask output is not supported", label, node.op_type)
        self.alias[node.output[0]] = self._live_input(node, label)

    def _op_Conv(self, node, label):
        x = self._live_input(node, label)
        attrs = _attrs(node)
        group = int(attrs.get("group", 1))
        in_channels = self.tensors[x].chw[0]
        if group not in (1, in_channels):
            raise BnnccError(f"group={group} convolution is not supported (group 1, or depthwise: group = "
                             f"{in_channels} input channels)", label, "Conv")
        weight = self._const(node, label, 1, "the weight")
        if weight is None or weight.ndim != 4:
            raise BnnccError("only 2-D convolutions with constant weights are supported", label, "Conv")
        if weight.size == 0:
            raise BnnccError(f"the weight is empty (shape {weight.shape})", label, "Conv")
        _fits_float32(weight, label, "Conv")
        in_shape = self.tensors[x].shape
        if len(in_shape) != 3:
            raise BnnccError(f"input shape {in_shape} is not (C, H, W)", label, "Conv")
        bias = self._const(node, label, 2, "the bias")
        if bias is not None and bias.size != weight.shape[0]:
            raise BnnccError(f"the bias has {bias.size} values for {weight.shape[0]} output channels", label, "Conv")
        window = _window(attrs, weight.shape[2:], in_shape[1:], label, "Conv")
        if weight.shape[1] * group != in_shape[0] or weight.shape[0] % group:
            raise BnnccError(f"input has {in_shape[0]} channels, weights expect {weight.shape[1] * group}"
                             + (f" (in {group} groups)" if group > 1 else ""), label, "Conv")
        self._emit(ir.Conv(label, [x], [node.output[0]], weight=weight.astype(np.float32),
                           bias=None if bias is None else bias.astype(np.float32), window=window, group=group))

    def _op_Gemm(self, node, label):
        attrs = _attrs(node)
        if attrs.get("transA", 0):
            raise BnnccError("transA=1 is not supported", label, "Gemm")
        x = self._live_input(node, label)
        b = self._const(node, label, 1, "B (the weight)")
        if b is None or b.ndim != 2:
            raise BnnccError("B must be a constant matrix", label, "Gemm")
        weight = _finite((b if attrs.get("transB", 0) else b.T) * np.float32(attrs.get("alpha", 1.0)),
                         "alpha * B", label, "Gemm")
        c = self._const(node, label, 2, "C (the bias)")
        bias = None
        if c is not None:
            try:
                bias = np.broadcast_to(c * np.float32(attrs.get("beta", 1.0)), (1, weight.shape[0]))[0]
            except ValueError:
                raise BnnccError(f"C of shape {c.shape} does not broadcast to the output (1, {weight.shape[0]})",
                                 label, "Gemm") from None
            bias = _finite(bias, "beta * C", label, "Gemm")
        self._dense(node, label, x, weight, bias, "Gemm")

    def _op_MatMul(self, node, label):
        x = self._live_input(node, label)
        b = self._const(node, label, 1, "the second operand")
        if b is None or b.ndim != 2:
            raise BnnccError("the second operand must be a constant matrix", label, "MatMul")
        self._dense(node, label, x, b.T, None, "MatMul")

    def _dense(self, node, label, x, weight, bias, op):
        if weight.size == 0:
            raise BnnccError(f"the weight is empty (shape {weight.shape[::-1]})", label, op)
        _fits_float32(weight, label, op)
        shape = self.tensors[x].shape
        if len(shape) != 1 or shape[0] != weight.shape[1]:
            raise BnnccError(f"input shape {shape} does not match weight {weight.shape[::-1]}", label, op)
        self._emit(ir.Dense(label, [x], [node.output[0]], weight=np.ascontiguousarray(weight, np.float32),
                            bias=None if bias is None else np.ascontiguousarray(bias, np.float32), onnx_op=op))

    def _op_BatchNormalization(self, node, label):
        attrs = _attrs(node)
        if attrs.get("training_mode", 0):
            raise BnnccError("training_mode=1 is not supported; export in eval mode", label, node.op_type)
        if len([o for o in node.output if o]) > 1:
            raise BnnccError("running-statistics outputs are not supported", label, node.op_type)
        x = self._live_input(node, label)
        channels = self.tensors[x].chw[0]
        consts = []
        for index, what in enumerate(("scale", "B", "mean", "var"), start=1):
            value = self._const(node, label, index, what)
            if value is None or value.size != channels:
                raise BnnccError(f"{what} must be a constant of {channels} values", label, node.op_type)
            consts.append(value.reshape(channels).astype(np.float32))
        epsilon = float(attrs.get("epsilon", 1e-5))
        # var + epsilon <= 0 has no square root: ONNX itself yields NaN or inf for those channels.
        bad = np.flatnonzero(~(consts[3].astype(np.float64) + epsilon > 0))
        if bad.size:
            raise BnnccError(f"var + epsilon is not positive on {bad.size} channel(s) (first: channel {bad[0]}, "
                             f"var {consts[3][bad[0]]:g}, epsilon {epsilon:g})", label, node.op_type)
        step = ir.ChainStep("BatchNormalization", tuple(consts), epsilon=epsilon)
        self._emit(ir.Affine(label, [x], [node.output[0]], step=step, onnx_op=node.op_type))

    def _elementwise(self, node, label):
        a, b = node.input[0], node.input[1]
        const_first = a in self.consts
        if a not in self.consts and b not in self.consts:
            self._binary_tensors(node, label)
            return
        if const_first == (b in self.consts):
            raise BnnccError("both operands are constants that were not folded", label, node.op_type)
        if const_first and node.op_type == "Div":
            # c / x is not an affine map of x, so no threshold or output scale can express it.
            raise BnnccError("dividing a constant by a computed tensor is not supported (only x / c)",
                             label, node.op_type)
        x = self._live_input(node, label, 1 if const_first else 0)
        value = _finite(np.asarray(self.consts[a if const_first else b], np.float32), "the constant operand",
                        label, node.op_type)
        per_channel = _per_channel(value, self.tensors[x].shape)
        if per_channel is None:
            raise BnnccError(f"constant of shape {value.shape} is not per-channel for input {self.tensors[x].shape}",
                             label, node.op_type)
        if node.op_type == "Div" and not np.all(per_channel):
            zeros = np.flatnonzero(per_channel == 0)
            raise BnnccError(f"divides by zero on {zeros.size} channel(s) (first: channel {zeros[0]})", label, "Div")
        step = ir.ChainStep(node.op_type, (per_channel,), const_first=const_first)
        self._emit(ir.Affine(label, [x], [node.output[0]], step=step, onnx_op=node.op_type))

    _op_Add = _op_Sub = _op_Mul = _op_Div = _elementwise

    def _op_Sign(self, node, label):
        x = self._live_input(node, label)
        self._emit(ir.Binarize(label, [x], [node.output[0]], strict=False, onnx_op="Sign"),
                   self.tensors[x].shape)

    def _comparison(self, node, label):
        self.comparisons[node.output[0]] = node

    _op_GreaterOrEqual = _op_Greater = _op_Less = _op_LessOrEqual = _comparison

    def _op_Where(self, node, label):
        cond = node.input[0]
        cmp = self.comparisons.get(cond)
        bad = BnnccError("only the binarizer form Where(x >= 0, 1, -1) and its mirrored forms are supported",
                         label, "Where")
        if cmp is None:
            raise bad
        hi = self._const(node, label, 1, "X")
        lo = self._const(node, label, 2, "Y")
        if not (_all_equal(hi, 1.0) and _all_equal(lo, -1.0)) and not (_all_equal(hi, -1.0) and _all_equal(lo, 1.0)):
            raise bad
        true_is_plus = _all_equal(hi, 1.0)
        a, b = cmp.input[0], cmp.input[1]
        if b in self.consts and _all_equal(self.consts[b], 0.0):
            x_name, op = a, cmp.op_type
        elif a in self.consts and _all_equal(self.consts[a], 0.0):
            x_name, op = b, _MIRROR[cmp.op_type]
        else:
            raise bad
        # `op` now reads "x op 0"; work out when the result is +1.
        plus_when = {"GreaterOrEqual": ">=", "Greater": ">", "Less": "<", "LessOrEqual": "<="}[op]
        if not true_is_plus:
            plus_when = {">=": "<", ">": "<=", "<": ">=", "<=": ">"}[plus_when]
        if plus_when not in (">=", ">"):
            raise BnnccError("this Where computes -sign(x); only +1 for x >= 0 (or x > 0) is supported",
                             label, "Where")
        x_name = self._resolve(x_name)
        if x_name not in self.tensors:
            raise bad
        self.used_comparisons.add(cond)
        self._emit(ir.Binarize(label, [x_name], [node.output[0]], strict=plus_when == ">", onnx_op="Where"),
                   self.tensors[x_name].shape)

    def _op_Clip(self, node, label):
        x = self._live_input(node, label)
        attrs = _attrs(node)
        lo = self._const(node, label, 1, "min", allow_inf=True)
        hi = self._const(node, label, 2, "max", allow_inf=True)
        for bound, what in ((lo, "min"), (hi, "max")):
            if bound is not None and bound.size != 1:
                raise BnnccError(f"{what} must be a scalar, it has shape {bound.shape}", label, "Clip")
        # a missing bound is onnxruntime's default, the largest finite float32 (so Clip(inf) = FLT_MAX)
        big = float(np.finfo(np.float32).max)
        lo = float(lo.reshape(())) if lo is not None else float(attrs.get("min", -big))
        hi = float(hi.reshape(())) if hi is not None else float(attrs.get("max", big))
        self._emit(ir.Clip(label, [x], [node.output[0]], lo=lo, hi=hi), self.tensors[x].shape)

    def _op_Cast(self, node, label):
        x = self._live_input(node, label)
        if _attrs(node).get("to") != onnx.TensorProto.FLOAT:
            raise BnnccError("only casts to float32 are supported on the data path", label, "Cast")
        self.alias[node.output[0]] = x

    def _op_MaxPool(self, node, label):
        attrs = _attrs(node)
        if len([o for o in node.output if o]) > 1:
            raise BnnccError("the Indices output is not supported", label, "MaxPool")
        x = self._live_input(node, label)
        shape = self.tensors[x].shape
        if len(shape) != 3:
            raise BnnccError(f"input shape {shape} is not (C, H, W)", label, "MaxPool")
        window = _window(attrs, attrs.get("kernel_shape"), shape[1:], label, "MaxPool")
        out_shape = self.shapes.get(node.output[0])
        if attrs.get("ceil_mode", 0) and tuple(out_shape[2:]) != window.out_hw(*shape[1:]):
            raise BnnccError("ceil_mode=1 with a partial last window is not supported", label, "MaxPool")
        self._emit(ir.MaxPool(label, [x], [node.output[0]], window=window))

    def _op_Pad(self, node, label):
        x = self._live_input(node, label)
        shape = self.tensors[x].shape
        attrs = _attrs(node)
        mode = attrs.get("mode", b"constant")
        if (mode.decode() if isinstance(mode, bytes) else mode) != "constant":
            raise BnnccError(f"mode={mode!r} is not supported (constant only)", label, "Pad")
        if len(shape) != 3:
            raise BnnccError(f"input shape {shape} is not (C, H, W)", label, "Pad")
        pads = self._const(node, label, 1, "pads")
        pads = attrs.get("pads") if pads is None else pads  # opset < 11: attributes
        value = self._const(node, label, 2, "constant_value")
        value = float(attrs.get("value", 0.0) if value is None else np.asarray(value).reshape(-1)[0])
        top, left, bottom, right = spatial_pads(pads, self._const(node, label, 3, "axes"), 4, label)
        out_shape = (shape[0], shape[1] + top + bottom, shape[2] + left + right)
        self._emit(ir.Pad(label, [x], [node.output[0]], pads=(top, left, bottom, right), value=value), out_shape)

    def _op_Flatten(self, node, label):
        x = self._live_input(node, label)
        if _attrs(node).get("axis", 1) not in (0, 1):
            raise BnnccError("only axis 0 or 1 is supported (batch 1)", label, "Flatten")
        self._emit(ir.Flatten(label, [x], [node.output[0]], onnx_op="Flatten"), (self.tensors[x].size,))

    def _op_Reshape(self, node, label):
        x = self._live_input(node, label)
        dims = self.shapes.get(node.output[0])
        in_shape = self.tensors[x].shape
        if dims is None or not dims or dims[0] != 1:
            raise BnnccError("only reshapes that keep batch 1 are supported", label, "Reshape")
        out_shape = tuple(dims[1:])
        if out_shape == in_shape:
            self.alias[node.output[0]] = x
        elif len(out_shape) == 1 and out_shape[0] == self.tensors[x].size:
            self._emit(ir.Flatten(label, [x], [node.output[0]], onnx_op="Reshape"), out_shape)
        else:
            raise BnnccError(f"reshape {in_shape} -> {out_shape} is not a flatten", label, "Reshape")

    def _softmax(self, node, label):
        x = self._live_input(node, label)
        shape = self.tensors[x].shape
        axis = _attrs(node).get("axis", -1)
        if len(shape) != 1 or axis not in (-1, 1):
            raise BnnccError(f"only a softmax over the last axis of a vector is supported (shape {shape})",
                             label, node.op_type)
        self._emit(ir.Softmax(label, [x], [node.output[0]], log=node.op_type == "LogSoftmax",
                              onnx_op=node.op_type), shape)

    _op_Softmax = _op_LogSoftmax = _softmax


_MIRROR = {"GreaterOrEqual": "LessOrEqual", "LessOrEqual": "GreaterOrEqual", "Greater": "Less", "Less": "Greater"}


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _finite(value: np.ndarray, what: str, label: str, op: str) -> np.ndarray:
    """Reject NaN and inf in a constant: no threshold or C literal can represent what they mean."""
    if value.dtype.kind in "fc":
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        if bad:
            raise BnnccError(f"{what} holds {bad} non-finite value(s) (NaN or inf)", label, op)
    return value


def _fits_float32(weight: np.ndarray, label: str, op: str) -> None:
    """Reject weights whose dot product with +-1 inputs can leave float32: ONNX's own result then depends on
    the summation order (inf - inf), so no compiled kernel can match it."""
    fan_in = weight[0].size
    if float(np.max(np.abs(weight), initial=0.0)) * fan_in > float(np.finfo(np.float32).max):
        raise BnnccError(f"weights up to {float(np.max(np.abs(weight))):.3g} times fan-in {fan_in} overflow float32",
                         label, op)


def _all_equal(value, target: float) -> bool:
    arr = np.asarray(value)
    return arr.size > 0 and bool(np.all(arr == target))


def _per_channel(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """The (C,) vector of a constant that broadcasts over (1, *shape) along the channel axis only."""
    channels = shape[0] if shape else 1
    full_rank = (1,) + tuple(shape)
    if value.ndim > len(full_rank):
        return None
    padded = value.reshape((1,) * (len(full_rank) - value.ndim) + value.shape)
    for axis, (have, want) in enumerate(zip(padded.shape, full_rank)):
        if have not in (1, want) or (axis != 1 and have != 1):
            return None
    return np.ascontiguousarray(np.broadcast_to(padded.reshape(-1) if padded.size > 1 else padded.reshape(1),
                                                (channels,)), np.float32)


def _window(attrs: dict, kernel, in_hw, label: str, op: str) -> ir.Window:
    kernel = tuple(int(k) for k in kernel) if kernel is not None else None
    if kernel is None or len(kernel) != 2:
        raise BnnccError("only 2-D windows are supported", label, op)
    strides = tuple(attrs.get("strides", (1, 1)))
    dilations = tuple(attrs.get("dilations", (1, 1)))
    pads = tuple(attrs.get("pads", (0, 0, 0, 0)))
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads_hw = []
        for size, k, s, d in zip(in_hw, kernel, strides, dilations):
            out = -(-size // s)
            total = max(0, (out - 1) * s + d * (k - 1) + 1 - size)
            small, big = total // 2, total - total // 2
            pads_hw.append((small, big) if auto_pad == "SAME_UPPER" else (big, small))
        pads = (pads_hw[0][0], pads_hw[1][0], pads_hw[0][1], pads_hw[1][1])
    elif auto_pad == "VALID":
        pads = (0, 0, 0, 0)
    elif auto_pad != "NOTSET":
        raise BnnccError(f"auto_pad={auto_pad} is not supported", label, op)
    if len(pads) != 4 or len(strides) != 2 or len(dilations) != 2:
        raise BnnccError("only 2-D windows are supported", label, op)
    window = ir.Window(kernel[0], kernel[1], strides[0], strides[1], pads[0], pads[1], pads[2], pads[3],
                       dilations[0], dilations[1])
    oh, ow = window.out_hw(*in_hw)
    if oh < 1 or ow < 1 or min(strides) < 1 or min(dilations) < 1 or min(pads) < 0:
        raise BnnccError(f"window {kernel} does not fit input {tuple(in_hw)}", label, op)
    return window


def _value_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    graph = model.graph
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        ttype = value.type.tensor_type
        if not ttype.HasField("shape"):
            continue
        dims = []
        for dim in ttype.shape.dim:
            if not dim.HasField("dim_value"):
                dims = None
                break
            dims.append(dim.dim_value)
        if dims is not None:
            shapes[value.name] = tuple(dims)
    return shapes
