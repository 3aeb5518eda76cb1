"""Lowering of the layers on REAL tensors (float32, CHW) and of the REAL <-> BITS conversions.

Mixin of the lowering in lower.py (it uses its helpers `_storage`, `_kind`, `_dims`, `_add`, `layers`).
Kinds: a node that computes on real values reads REAL tensors; a BITS input is unpacked once to
"<name>:unpacked" (+-1.0) and the copy is shared. A binarizer of a REAL tensor is a Pack; plain packs of
the same tensor are shared, so every binary consumer reads one packed copy. A chain of per-channel steps
ending in a binarizer (RSign's sign(x - b_c), BN -> sign) folds into the Pack's per-channel thresholds,
checked against onnxruntime's float32 evaluation (thresholds.float_thresholds).
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..errors import BnnccError
from .binary_weights import describe_non_binary
from .exact_affine import bn_scale_bias
from .thresholds import float_thresholds

_CHANNEL_OPS = {"Add": "add", "Mul": "mul", "Div": "div"}


class RealLowering:
    # ------------------------------------------------------------------------ kind conversions
    def _as_real(self, name: str) -> str:
        """Storage name of a REAL version of `name` (unpacking BITS once, shared)."""
        x = self._storage(name)
        if self._kind(x) is ir.Kind.REAL:
            return x
        real = x + ":unpacked"
        if real not in self.tensors:
            self._add(real, self.tensors[x].shape, ir.Kind.REAL)
            self.layers.append(ir.Unpack(f"{x}:unpack", [x], [real], source=(), dims=self._dims(x),
                                         why="bits -> +-1.0 for a real-valued consumer"))
        return real

    def _out(self, node: ir.Node, shape=None, kind: ir.Kind = ir.Kind.REAL) -> str:
        name = node.outputs[0]
        self._add(name, self.graph.tensors[name].shape if shape is None else shape, kind)
        return name

    # ------------------------------------------------------------------------------ real layers
    def _lower_transpose(self, node: ir.Transpose) -> None:
        """One relayout copy (float32; a BITS input is unpacked first), so the C input keeps its ONNX layout."""
        x = self._as_real(node.inputs[0])
        in_dims = tuple(self.tensors[x].shape)
        y = self._out(node)
        self.layers.append(ir.TransposeLayer(node.name, [x], [y], source=(node.name,), in_dims=in_dims,
                                             perm=node.perm, why=f"relayout: Transpose {in_dims} by perm "
                                             f"{node.perm} (a float32 copy, exact)"))

    def _lower_real_linear(self, node) -> None:
        """A Conv / Gemm / MatMul whose weights are not binary: a float32 layer (first / last layers)."""
        x = self._as_real(node.inputs[0])
        reason = (f"depthwise (group {node.group})" if getattr(node, "group", 1) != 1 else
                  "weights not +-alpha per channel: " + describe_non_binary(node.weight))
        why = (reason + "; float32 layer (its sum order differs from onnxruntime's: last-bit differences "
               "possible)")
        if isinstance(node, ir.Conv):
            c, h, w = self._dims(x)
            oh, ow = node.window.out_hw(h, w)
            out_dims = (node.weight.shape[0], oh, ow)
            y = self._out(node, out_dims)
            self.layers.append(ir.RealConvLayer(node.name, [x], [y], source=(node.name,), why=why, in_dims=(c, h, w),
                                                out_dims=out_dims, window=node.window, group=node.group,
                                                weight=node.weight, bias=node.bias))
        else:
            y = self._out(node, (node.weight.shape[0],))
            self.layers.append(ir.RealDenseLayer(node.name, [x], [y], source=(node.name,), why=why,
                                                 k=node.weight.shape[1], n_out=node.weight.shape[0],
                                                 weight=node.weight, bias=node.bias))

    def _lower_affine(self, node: ir.Affine) -> None:
        """A per-channel step on a REAL tensor: folded into a following sign's Pack, or its own layer."""
        steps, names, tail = [node.step], [node.name], node
        while True:
            nxt = self._single_consumer(tail.outputs[0])
            if isinstance(nxt, ir.Affine):
                steps.append(nxt.step)
                names.append(nxt.name)
                tail = nxt
                continue
            if isinstance(nxt, ir.Binarize):
                for absorbed in self._chain_nodes(node, len(steps)):
                    self.absorbed.add(id(absorbed))
                self.absorbed.add(id(nxt))
                self._pack(node.inputs[0], nxt, steps, tuple(names) + (nxt.name,))
                return
            break
        x = self._as_real(node.inputs[0])
        dims = self._dims(x)
        step = node.step
        if step.op == "BatchNormalization":
            op, consts = "affine", bn_scale_bias(step)
        elif step.op == "Sub":
            op, consts = ("rsub" if step.const_first else "sub"), step.consts
        elif step.op == "Div" and step.const_first:
            raise BnnccError("dividing a constant by a computed tensor is not supported", node.name, "Div")
        else:
            op, consts = _CHANNEL_OPS[step.op], step.consts
        consts = tuple(np.ascontiguousarray(np.broadcast_to(np.asarray(c, np.float32), (dims[0],))) for c in consts)
        y = self._out(node)
        self.layers.append(ir.ChannelLayer(node.name, [x], [y], source=(node.name,), op=op, dims=dims, consts=consts,
                                           why=f"per-channel {step.op} on real values (float32, as onnxruntime)"))

    def _chain_nodes(self, first: ir.Node, count: int) -> list[ir.Node]:
        nodes, node = [first], first
        for _ in range(count - 1):
            node = self._single_consumer(node.outputs[0])
            nodes.append(node)
        return nodes

    def _pack(self, name: str, binarize: ir.Binarize, steps: list[ir.ChainStep], source: tuple[str, ...]) -> None:
        """sign(steps(x)) of a REAL tensor -> one Pack (plain packs of one tensor are shared)."""
        x = self._as_real(name)
        c, h, w = self._dims(x)
        key = (x, binarize.strict)
        if not steps and key in self.packs:
            self.view_of[binarize.outputs[0]] = self.packs[key]
            return
        thresh = None
        if steps or binarize.strict:
            thresh = float_thresholds(steps, c, binarize.strict, binarize.name)
            # kernel rule: bit = x >= T, or x <= T on flipped channels (on iff -x >= t, i.e. x <= -t);
            # constant channels: T = -inf (always 1) or NaN (always 0)
            values = np.where(thresh.flipped, -thresh.values, thresh.values).astype(np.float32)
            always_on = thresh.constant & (thresh.values == -np.inf)
            values = np.where(thresh.constant, np.where(always_on, np.float32(-np.inf), np.float32(np.nan)), values)
            thresh = ir.Threshold(values.astype(np.float32), thresh.flipped, thresh.constant)
        if binarize.onnx_op == "Sign":
            self.notes.append(f"{binarize.name}: ONNX Sign on a real tensor gives 0 for an exact 0; bnncc gives +1 "
                              "(verify reports such inputs separately)")
        y = binarize.outputs[0]
        self._add(y, self.graph.tensors[y].shape, ir.Kind.BITS)
        why = ("binarize a real tensor (x >= 0 -> +1)" if thresh is None else
               f"binarize with per-channel thresholds ({len(steps)} folded step(s), checked against onnxruntime)")
        self.layers.append(ir.Pack(binarize.name, [x], [y], source=source, dims=(c, h, w), thresh=thresh, why=why))
        if not steps:
            self.packs[key] = y

    def _lower_clip(self, node: ir.Clip) -> None:
        if self._clip_before_signs(node):
            self.view_of[node.outputs[0]] = self._storage(node.inputs[0])
            return
        x = self._as_real(node.inputs[0])
        y = self._out(node)
        relu = node.onnx_op == "Relu"
        self.layers.append(ir.ActivationLayer(node.name, [x], [y], source=(node.name,), op="relu" if relu else "clip",
                                              n=self.tensors[x].size, lo=node.lo, hi=node.hi,
                                              why="real-valued " + ("ReLU" if relu else f"clip({node.lo:g}, {node.hi:g})")))

    def _lower_leaky(self, node: ir.LeakyRelu) -> None:
        x = self._as_real(node.inputs[0])
        dims = self._dims(x)
        y = self._out(node)
        self.layers.append(ir.ChannelLayer(node.name, [x], [y], source=(node.name,), op="prelu", dims=dims,
                                           consts=(np.ascontiguousarray(node.slope, np.float32),),
                                           why=f"{node.onnx_op} on real values (per-channel slope)"))

    def _lower_binary(self, node: ir.Binary) -> None:
        a, b = (self._as_real(i) for i in node.inputs)
        y = self._out(node)
        broadcast = "" if node.modes == ("full", "full") else f" (operands {node.modes[0]}, {node.modes[1]})"
        self.layers.append(ir.EltwiseLayer(node.name, [a, b], [y], source=(node.name,), op=node.op.lower(),
                                           dims=self.tensors[y].chw, modes=node.modes,
                                           why=f"{node.op} of two real tensors{broadcast} (float32, as onnxruntime)"))

    def _lower_concat(self, node: ir.Concat) -> None:
        stores = [self._storage(i) for i in node.inputs]
        bits = all(self._kind(s) is ir.Kind.BITS for s in stores)
        if not bits:
            stores = [self._as_real(s) for s in stores]
        channels = tuple(self._dims(s)[0] for s in stores)
        _, h, w = self._dims(stores[0])
        y = self._out(node, kind=ir.Kind.BITS if bits else ir.Kind.REAL)
        why = ("concatenate bits on channels (repacked per pixel)" if bits else
               "concatenate real tensors on channels (copies)")
        self.layers.append(ir.ConcatLayer(node.name, stores, [y], source=(node.name,), channels=channels,
                                          out_dims=(sum(channels), h, w), bits=bits, why=why))

    def _lower_avgpool(self, node: ir.AvgPool) -> None:
        x = self._as_real(node.inputs[0])
        c, h, w = self._dims(x)
        mlas = False
        if node.window is None:
            out_dims = (c, 1, 1)
            why = "mean over H and W (float sum: order differs from onnxruntime's, last-bit differences possible)"
        else:
            out_dims = (c,) + tuple(node.out_hw)
            # onnxruntime runs AveragePool-7..18 through MLAS (except ceil_mode with count_include_pad, and
            # dilations); the runtime has that order as bnn_avgpool_mlas_f32
            mlas = (node.opset <= 18 and not (node.ceil_mode and node.count_include_pad)
                    and node.window.dil_h == 1 and node.window.dil_w == 1)
            why = ("average pool in onnxruntime's order (MLAS, AveragePool-7..18)" if mlas else
                   "average pool (AveragePool-19 order)")
        y = self._out(node)
        self.layers.append(ir.AvgPoolLayer(node.name, [x], [y], source=(node.name,), in_dims=(c, h, w),
                                           out_dims=out_dims, window=node.window,
                                           count_include_pad=node.count_include_pad,
                                           reduce_mean=node.onnx_op == "ReduceMean",
                                           mlas=node.window is not None and mlas, why=why))
