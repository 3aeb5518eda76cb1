"""DoReFa-style {0,1} activations, a = (s + 1) / 2 of a +-1 binarizer s, read by binary-weight layers.

Spellings matched (either operand order of each op): `(s + 1) / 2`, `(s + 1) * 0.5`, `s * 0.5 + 0.5`,
`Relu(s)`; s is a `Sign` or a `Where(cond, +-1, -+1)` binarizer. Between `a` and the layers that read it
may sit views (Flatten, Reshape, Identity) and MaxPools: all commute with the rising map (s + 1) / 2.

The {0,1} x +-alpha dot product (bnn-methods.md 1.3: sum a*w = 2*popcount(a AND w+) - popcount(a), times
alpha) is computed on the +-1 bits of s, which are the same bits (a = 1 exactly where s = +1):

    sum_k a_k w_k = sum_k (s_k + 1) / 2 * w_k = sum_k s_k (w_k / 2) + S / 2,   S = sum_k w_k (per channel)

so  Conv(a, W, B, pads)  ->  Conv(Pad(s, -1), W / 2, S / 2, pads=0) [+ B]   (likewise Gemm, MatMul).
The zero padding of `a` is the value a = 0, which is s = -1: an explicit -1 Pad (bnn_pad_bits) makes
every tap valid, so S is the sum over the whole kernel. With +-1 (or power-of-two) weights every term is
exact in float32: acc * alpha / 2 + S / 2 is the integer (or dyadic) sum onnxruntime computes, and a
bias B is added to it after, as onnxruntime adds it; the thresholds after it are checked as usual.

sign(0): ONNX gives Sign(0) = 0, so a = 0.5 (Relu: a = 0); bnncc's sign(0) = +1 gives a = 1, the
convention `verify` checks against and reports separately (docs/semantics.md).
Any other reader of `a` (a residual Add, a real layer, the graph output) leaves the graph unchanged:
the {0,1} tensor is then computed in float32 like any per-channel step.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ...passes.binary_weights import split_binary
from .graph_edit import (attrs, constant_value, consumers, copy_model, is_graph_output, producer,
                         remove_dead_nodes, unique_name)

_VIEWS = {"Flatten", "Reshape", "Identity", "MaxPool"}  # commute with the rising map (s + 1) / 2
_LINEAR = {"Conv", "Gemm", "MatMul"}


def fold_zero_one_activations(model: onnx.ModelProto) -> onnx.ModelProto | None:
    graph = model.graph
    for node in graph.node:
        match = _match_zero_one(model, node)
        if match is None:
            continue
        s, a = match
        tree = _readers(model, a)
        if tree is None:
            continue
        return _rewrite(model, s, a, tree)
    return None


# ------------------------------------------------------------------------------------------- matching
def _match_zero_one(model, node) -> tuple[str, str] | None:
    """(s, a) when node's output a is (s + 1) / 2 of a +-1 binarizer s, through single-use steps."""
    graph = model.graph
    if node.domain not in ("", "ai.onnx") or not node.output or is_graph_output(graph, node.output[0]):
        return None
    if node.op_type == "Relu":
        return (node.input[0], node.output[0]) if _is_binarizer(model, node.input[0]) else None
    if node.op_type == "Div":
        inner, c = _step(model, node, "Add", const_second_only=True)
        if inner is not None and c == 2.0:
            return _plus_one(model, inner, node.output[0])
    if node.op_type == "Mul":
        inner, c = _step(model, node, "Add")
        if inner is not None and c == 0.5:
            return _plus_one(model, inner, node.output[0])
    if node.op_type == "Add":
        inner, c = _step(model, node, "Mul")
        if inner is not None and c == 0.5:  # s * 0.5 + 0.5
            s, half = _operands(model, inner)
            if half == 0.5 and _is_binarizer(model, s):
                return s, node.output[0]
    return None


def _step(model, node, inner_op: str, const_second_only: bool = False):
    """(the producer node of the computed operand if it is inner_op, the scalar constant operand)."""
    x, c = _operands(model, node, const_second_only)
    if x is None:
        return None, None
    inner = producer(model.graph, x)
    if inner is None or inner.op_type != inner_op or len(consumers(model.graph, x)) != 1 \
            or is_graph_output(model.graph, x):
        return None, None
    return inner, c


def _operands(model, node, const_second_only: bool = False):
    """(computed operand, its scalar constant partner as a float) of a two-input node, or (None, None)."""
    if len(node.input) != 2:
        return None, None
    orders = ((0, 1),) if const_second_only else ((0, 1), (1, 0))
    for mine, other in orders:
        value = constant_value(model, node.input[other])
        if value is not None and np.asarray(value).size == 1 and constant_value(model, node.input[mine]) is None:
            return node.input[mine], float(np.asarray(value).reshape(-1)[0])
    return None, None


def _plus_one(model, add, a: str) -> tuple[str, str] | None:
    s, one = _operands(model, add)
    return (s, a) if one == 1.0 and _is_binarizer(model, s) else None


def _is_binarizer(model, name: str) -> bool:
    """A Sign, or a Where whose two branches are the constants +1 and -1 (either way round)."""
    node = producer(model.graph, name)
    if node is None or node.domain not in ("", "ai.onnx"):
        return False
    if node.op_type == "Sign":
        return constant_value(model, node.input[0]) is None
    if node.op_type == "Where":
        hi, lo = constant_value(model, node.input[1]), constant_value(model, node.input[2])
        if hi is None or lo is None or np.asarray(hi).size != 1 or np.asarray(lo).size != 1:
            return False
        return {float(np.asarray(hi).reshape(-1)[0]), float(np.asarray(lo).reshape(-1)[0])} == {1.0, -1.0}
    return False


def _readers(model, a: str) -> list[onnx.NodeProto] | None:
    """Every node downstream of a through views, when each leaf is a binary linear layer reading it as its
    data input; None otherwise (then nothing is rewritten)."""
    graph = model.graph
    found, frontier = [], [a]
    while frontier:
        tensor = frontier.pop()
        users = consumers(graph, tensor)
        if not users or is_graph_output(graph, tensor):
            return None
        for user in users:
            if user.domain not in ("", "ai.onnx") or user.input[0] != tensor or list(user.input).count(tensor) != 1:
                return None
            if user.op_type in _VIEWS:
                if len([o for o in user.output if o]) != 1:
                    return None  # MaxPool's Indices
                found.append(user)
                frontier.append(user.output[0])
            elif user.op_type in _LINEAR and _binary_linear(model, user):
                found.append(user)
            else:
                return None
    return found


def _binary_linear(model, node) -> bool:
    node_attrs = attrs(node)
    weight = constant_value(model, node.input[1])
    if weight is None:
        return False
    weight = np.asarray(weight)
    if node.op_type == "Conv":
        auto_pad = node_attrs.get("auto_pad", b"NOTSET")
        if int(node_attrs.get("group", 1)) != 1 or weight.ndim != 4 \
                or (auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad) not in ("NOTSET", "VALID"):
            return False
        if len(node.input) > 2 and node.input[2] and constant_value(model, node.input[2]) is None:
            return False
        return split_binary(weight) is not None
    if weight.ndim != 2:
        return False
    if node.op_type == "Gemm":
        if node_attrs.get("transA", 0) or node_attrs.get("alpha", 1.0) != 1.0 or node_attrs.get("beta", 1.0) != 1.0:
            return False
        if len(node.input) > 2 and node.input[2] and constant_value(model, node.input[2]) is None:
            return False
        return split_binary(weight if node_attrs.get("transB", 0) else weight.T) is not None
    return split_binary(weight.T) is not None  # MatMul: (K, N)


# ------------------------------------------------------------------------------------------ rewriting
def _rewrite(model, s: str, a: str, tree: list[onnx.NodeProto]) -> onnx.ModelProto:
    result = copy_model(model)
    g = result.graph
    opset = next((o.version for o in result.opset_import if o.domain in ("", "ai.onnx")), 17)
    plus_minus = {a: s}  # tensor of the {0,1} world -> its +-1 twin
    replaced = {tuple(n.output): n for n in tree}
    new_nodes: list[onnx.NodeProto] = []
    for node in g.node:
        old = replaced.get(tuple(node.output))
        if old is None:
            new_nodes.append(node)
            continue
        if node.op_type in _VIEWS:
            twin = unique_name(g, f"{node.output[0]}_pm1")
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            copy.input[0] = plus_minus[node.input[0]]
            copy.output[0] = twin
            # the copy keeps the node's name (the original, now dead, is removed below)
            plus_minus[node.output[0]] = twin
            new_nodes.append(copy)
            new_nodes.append(node)  # dead once its readers are rewritten; removed below
        else:
            new_nodes.extend(_linear_on_plus_minus(result, node, plus_minus[node.input[0]], opset))
    del g.node[:]
    g.node.extend(new_nodes)
    remove_dead_nodes(g)
    return result


def _linear_on_plus_minus(model, node, s: str, opset: int) -> list[onnx.NodeProto]:
    """The nodes computing node's output from the +-1 twin s of its {0,1} input (formula in the docstring)."""
    g = model.graph
    node_attrs = attrs(node)
    name = node.name or node.op_type
    weight = np.asarray(constant_value(model, node.input[1]), np.float32)
    bias_name = node.input[2] if len(node.input) > 2 and node.input[2] else ""
    out = node.output[0]
    nodes = []

    def const(value, base, dtype=np.float32):
        init = unique_name(g, f"{name}_{base}")
        g.initializer.append(numpy_helper.from_array(np.asarray(value, dtype), init))
        return init

    if node.op_type == "Conv":
        kernel = weight.shape[2:]
        pads = list(node_attrs.get("pads", [0, 0, 0, 0])) if node_attrs.get("auto_pad", b"NOTSET") in (
            b"NOTSET", "NOTSET") else [0, 0, 0, 0]
        x = s
        if any(pads):
            x = unique_name(g, f"{s}_pad_minus1")
            full = [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]]
            if opset >= 11:
                nodes.append(helper.make_node("Pad", [s, const(full, "pads", np.int64), const(-1.0, "minus1")],
                                              [x], name=x, mode="constant"))
            else:
                nodes.append(helper.make_node("Pad", [s], [x], name=x, mode="constant", pads=full, value=-1.0))
        half_sum = weight.astype(np.float64).reshape(weight.shape[0], -1).sum(axis=1) / 2
        linear_out = unique_name(g, f"{out}_pm1") if bias_name else out
        keep = {k: v for k, v in node_attrs.items() if k not in ("pads", "auto_pad")}
        keep["kernel_shape"] = list(keep.get("kernel_shape", kernel))
        nodes.append(helper.make_node("Conv", [x, const(weight * np.float32(0.5), "w_half"),
                                               const(half_sum, "w_half_sum")], [linear_out],
                                      name=name, pads=[0, 0, 0, 0], **keep))
        if bias_name:
            channels = weight.shape[0]
            bias = np.asarray(constant_value(model, bias_name), np.float32).reshape(channels, 1, 1)
            nodes.append(helper.make_node("Add", [linear_out, const(bias, "bias")], [out],
                                          name=unique_name(g, f"{name}_bias")))
        return nodes

    w_out_first = weight if (node.op_type == "Gemm" and node_attrs.get("transB", 0)) else weight.T
    half_sum = w_out_first.astype(np.float64).sum(axis=1) / 2
    half = const(weight * np.float32(0.5), "w_half")
    linear_out = unique_name(g, f"{out}_pm1") if bias_name else out
    if node.op_type == "Gemm":
        keep = {k: v for k, v in node_attrs.items() if k in ("transB",)}
        nodes.append(helper.make_node("Gemm", [s, half, const(half_sum, "w_half_sum")], [linear_out],
                                      name=name, **keep))
    else:
        mid = unique_name(g, f"{out}_pm1_dot")
        nodes.append(helper.make_node("MatMul", [s, half], [mid], name=name))
        nodes.append(helper.make_node("Add", [mid, const(half_sum, "w_half_sum")], [linear_out],
                                      name=unique_name(g, f"{name}_pm1_sum")))
    if bias_name:
        bias = np.asarray(constant_value(model, bias_name), np.float32).reshape(-1)
        nodes.append(helper.make_node("Add", [linear_out, const(bias, "bias")], [out],
                                      name=unique_name(g, f"{name}_bias")))
    return nodes
