"""Import handlers for the ops of mixed-precision networks (Bi-Real, ReActNet, BinaryDenseNet, BN-free):
activations, residual Add/Sub/Mul of two computed tensors, channel Concat, average pools and means.

`RealOps` is a mixin of the importer: its `_op_<OpType>` methods join the importer's dispatch, and they
use the importer's helpers (`_live_input`, `_const`, `_emit`, `shapes`, `tensors`).
"""

from __future__ import annotations

import numpy as np
from onnx import helper

from .. import ir
from ..errors import BnnccError


def _attrs(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class RealOps:
    def _op_Transpose(self, node, label):
        x = self._live_input(node, label)
        shape = self.tensors[x].shape
        perm = _attrs(node).get("perm")
        perm = list(perm) if perm is not None else list(reversed(range(len(shape) + 1)))
        if len(shape) != 3 or perm[0] != 0:
            raise BnnccError(f"only a Transpose of a (N, d0, d1, d2) tensor that keeps the batch axis first is "
                             f"supported (shape {shape}, perm {perm})", label, "Transpose")
        inner = tuple(int(p) - 1 for p in perm[1:])
        self._emit(ir.Transpose(label, [x], [node.output[0]], perm=inner), tuple(shape[p] for p in inner))

    def _op_Relu(self, node, label):
        x = self._live_input(node, label)
        self._emit(ir.Clip(label, [x], [node.output[0]], lo=0.0, hi=float("inf"), onnx_op="Relu"),
                   self.tensors[x].shape)

    def _op_LeakyRelu(self, node, label):
        x = self._live_input(node, label)
        alpha = np.float32(_attrs(node).get("alpha", 0.01))
        if not np.isfinite(alpha):
            raise BnnccError("alpha is not finite", label, "LeakyRelu")
        channels = self.tensors[x].chw[0]
        self._emit(ir.LeakyRelu(label, [x], [node.output[0]], slope=np.full(channels, alpha, np.float32),
                                onnx_op="LeakyRelu"), self.tensors[x].shape)

    def _op_PRelu(self, node, label):
        from .importer import _finite, _per_channel

        x = self._live_input(node, label)
        slope = self._const(node, label, 1, "the slope")
        if slope is None:
            raise BnnccError("the slope must be a constant", label, "PRelu")
        per_channel = _per_channel(np.asarray(slope, np.float32), self.tensors[x].shape)
        if per_channel is None:
            raise BnnccError(f"slope of shape {slope.shape} is not per-channel for input {self.tensors[x].shape}",
                             label, "PRelu")
        _finite(per_channel, "the slope", label, "PRelu")
        self._emit(ir.LeakyRelu(label, [x], [node.output[0]], slope=per_channel, onnx_op="PRelu"),
                   self.tensors[x].shape)

    def _binary_tensors(self, node, label):
        """Add/Sub/Mul/Div of two computed tensors (residual connections, squeeze-excitation scaling)."""
        a, b = self._live_input(node, label, 0), self._live_input(node, label, 1)
        sa, sb = self.tensors[a].shape, self.tensors[b].shape
        out_dims = self.shapes.get(node.output[0])
        shape = tuple(out_dims[1:]) if out_dims else (sa if len(sa) >= len(sb) else sb)
        modes = (_mode(sa, shape), _mode(sb, shape))
        if None in modes:
            raise BnnccError(f"operands of shapes {sa} and {sb}: only equal shapes, (C, 1, 1), (1, H, W) or scalar "
                             f"operands broadcast against {shape} are supported", label, node.op_type)
        self._emit(ir.Binary(label, [a, b], [node.output[0]], op=node.op_type, modes=modes, onnx_op=node.op_type),
                   shape)

    def _op_Concat(self, node, label):
        inputs = [self._live_input(node, label, i) for i in range(len(node.input))]
        shapes = [self.tensors[i].shape for i in inputs]
        rank = len(shapes[0])
        axis = int(_attrs(node).get("axis", 1))
        if axis < 0:
            axis += rank + 1
        if axis != 1 or any(len(s) != rank for s in shapes) or rank not in (1, 3):
            raise BnnccError(f"only concatenation on the channel axis (1) of (C, H, W) maps or vectors is supported "
                             f"(axis {_attrs(node).get('axis', 1)}, shapes {shapes})", label, "Concat")
        if any(s[1:] != shapes[0][1:] for s in shapes):
            raise BnnccError(f"inputs differ in height/width: {shapes}", label, "Concat")
        shape = (sum(s[0] for s in shapes),) + tuple(shapes[0][1:])
        self._emit(ir.Concat(label, inputs, [node.output[0]]), shape)

    def _op_AveragePool(self, node, label):
        from .importer import _window

        attrs = _attrs(node)
        x = self._live_input(node, label)
        shape = self.tensors[x].shape
        if len(shape) != 3:
            raise BnnccError(f"input shape {shape} is not (C, H, W)", label, "AveragePool")
        window = _window(attrs, attrs.get("kernel_shape"), shape[1:], label, "AveragePool")
        out_dims = self.shapes.get(node.output[0])
        out_hw = tuple(out_dims[2:]) if out_dims and len(out_dims) == 4 else window.out_hw(*shape[1:])
        if not attrs.get("ceil_mode", 0) and tuple(out_hw) != window.out_hw(*shape[1:]):
            raise BnnccError(f"inferred output {out_hw} differs from the window's", label, "AveragePool")
        opset = max((o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")), default=19)
        self._emit(ir.AvgPool(label, [x], [node.output[0]], window=window, out_hw=tuple(out_hw),
                              count_include_pad=bool(attrs.get("count_include_pad", 0)),
                              ceil_mode=bool(attrs.get("ceil_mode", 0)), opset=opset),
                   (shape[0],) + tuple(out_hw))

    def _op_GlobalAveragePool(self, node, label):
        x = self._live_input(node, label)
        shape = self.tensors[x].shape
        if len(shape) != 3:
            raise BnnccError(f"input shape {shape} is not (C, H, W)", label, node.op_type)
        self._emit(ir.AvgPool(label, [x], [node.output[0]], onnx_op="GlobalAveragePool"), (shape[0], 1, 1))

    def _op_ReduceMean(self, node, label):
        x = self._live_input(node, label)
        shape = self.tensors[x].shape
        attrs = _attrs(node)
        axes = attrs.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = self._const(node, label, 1, "axes")
        if axes is None or len(shape) != 3:
            raise BnnccError("only a mean over H and W (axes 2, 3) of a (C, H, W) map is supported", label,
                             "ReduceMean")
        axes = sorted(int(a) % 4 for a in np.asarray(axes).reshape(-1))
        if axes != [2, 3]:
            raise BnnccError(f"only a mean over H and W (axes 2, 3) is supported, not axes {axes}", label,
                             "ReduceMean")
        keep = bool(attrs.get("keepdims", 1))
        self._emit(ir.AvgPool(label, [x], [node.output[0]], onnx_op="ReduceMean"),
                   (shape[0], 1, 1) if keep else (shape[0],))


def _mode(shape: tuple[int, ...], out: tuple[int, ...]) -> str | None:
    """How an operand of `shape` is read against an output of shape `out` (both without batch)."""
    if shape == out:
        return "full"
    size = int(np.prod(shape)) if shape else 1
    if size == 1:
        return "scalar"
    if len(out) == 3 and len(shape) == 3:
        c, h, w = out
        if shape == (c, 1, 1):
            return "channel"
        if shape == (1, h, w):
            return "plane"
    return None
