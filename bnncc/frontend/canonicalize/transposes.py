"""NHWC islands (tf2onnx's Transpose -> op -> Transpose): a Transpose moves down through elementwise ops
(unary, or with a constant operand that is permuted along), and two Transposes that undo each other vanish."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .graph_edit import attrs, constant_value, consumers, copy_model, is_graph_output, producer, \
    remove_node, rename_input, shape_of, unique_name

_UNARY = {"Sign", "Relu", "Identity", "Neg", "Abs", "Tanh", "Sigmoid", "HardTanh"}
_BINARY = {"Add", "Sub", "Mul", "Div", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Equal", "PRelu"}


def fold_transposes(model: onnx.ModelProto) -> onnx.ModelProto | None:
    return _cancel_pair(model) or _sink_one(model)


def _perm(node, rank):
    return list(attrs(node).get("perm", list(reversed(range(rank)))))


def _cancel_pair(model):
    graph = model.graph
    for second in graph.node:
        if second.op_type != "Transpose":
            continue
        first = producer(graph, second.input[0])
        if first is None or first.op_type != "Transpose":
            continue
        rank = len(_perm(first, 0)) or 4
        p1, p2 = _perm(first, rank), _perm(second, rank)
        if [p1[i] for i in p2] != list(range(len(p1))):
            continue
        result = copy_model(model)
        g = result.graph
        s_node = [n for n in g.node if list(n.output) == list(second.output)][0]
        if is_graph_output(g, s_node.output[0]):
            continue
        remove_node(g, s_node)
        rename_input(g, s_node.output[0], first.input[0])
        if not consumers(g, first.output[0]) and not is_graph_output(g, first.output[0]):
            remove_node(g, [n for n in g.node if list(n.output) == list(first.output)][0])
        return result
    return None


def _sink_one(model):
    """mover(x) -> op  ==>  op'(x) -> mover, where the mover is a Transpose (through elementwise ops with
    per-channel constants, Where binarizers and constant Pads) or a Reshape/Flatten (through elementwise ops
    with scalar constants only), and the mover has one user. Brings the Transpose next to its inverse or to
    the Flatten -> MatMul it folds into."""
    graph = model.graph
    for mover in graph.node:
        if mover.op_type not in ("Transpose", "Reshape", "Flatten"):
            continue
        users = consumers(graph, mover.output[0])
        if len(users) != 1 or is_graph_output(graph, mover.output[0]):
            continue
        op = users[0]
        out_shape, in_shape = shape_of(model, mover.output[0]), shape_of(model, mover.input[0])
        if out_shape is None or in_shape is None or list(op.input).count(mover.output[0]) != 1:
            continue
        perm = _perm(mover, len(out_shape)) if mover.op_type == "Transpose" else None
        permuted = _rewritten_inputs(model, op, mover, perm, out_shape)
        if permuted is None:
            continue
        if len(op.output) != 1 or (op.op_type != "Pad" and shape_of(model, op.output[0]) != out_shape):
            continue  # broadcasting changed the shape: not a plain elementwise op here
        result = copy_model(model)
        g = result.graph
        m_node = [n for n in g.node if list(n.output) == list(mover.output)][0]
        o_node = [n for n in g.node if list(n.output) == list(op.output)][0]
        for index, value in permuted.items():
            name = unique_name(g, (o_node.input[index] or "pads") + "_moved")
            g.initializer.append(numpy_helper.from_array(value, name))
            o_node.input[index] = name
        for index, name in enumerate(o_node.input):
            if name == m_node.output[0]:
                o_node.input[index] = m_node.input[0]
        inner = unique_name(g, o_node.output[0] + "_before_" + m_node.op_type.lower())
        final = o_node.output[0]
        o_node.output[0] = inner
        moved = onnx.NodeProto()
        moved.CopyFrom(m_node)
        moved.input[0] = inner
        moved.output[0] = final
        moved.name = unique_name(g, final + "_" + m_node.op_type.lower())
        remove_node(g, m_node)
        position = list(g.node).index(o_node)
        g.node.insert(position + 1, moved)
        return result
    return None


def _rewritten_inputs(model, op, mover, perm, out_shape) -> dict[int, np.ndarray] | None:
    """The new constant operands of `op` once it reads the mover's input, or None if it cannot move."""
    if op.op_type in _UNARY and len(op.input) == 1:
        return {}
    if op.op_type in _BINARY and len(op.input) == 2:
        other = 1 if op.input[0] == mover.output[0] else 0
        if op.input[1 - other] != mover.output[0]:
            return None
        value = constant_value(model, op.input[other])
        if value is None:
            return None
        value = np.asarray(value)
        if perm is None:  # a Reshape/Flatten moves only past scalars
            return {} if value.size == 1 and value.ndim <= len(out_shape) else None
        if value.ndim > len(perm):
            return None
        full = value.reshape((1,) * (len(perm) - value.ndim) + value.shape)
        return {other: np.ascontiguousarray(full.transpose(list(np.argsort(perm))))}
    if op.op_type == "Where" and len(op.input) == 3 and op.input[0] == mover.output[0]:
        scalars = [constant_value(model, name) for name in op.input[1:]]
        return {} if all(s is not None and np.asarray(s).size == 1 for s in scalars) else None
    if op.op_type == "Pad" and perm is not None and op.input[0] == mover.output[0]:
        mode = attrs(op).get("mode", b"constant")
        if (mode.decode() if isinstance(mode, bytes) else mode) != "constant" or len(op.input) < 2:
            return None
        pads = constant_value(model, op.input[1])
        if pads is None or (len(op.input) > 3 and op.input[3]) or np.asarray(pads).size != 2 * len(perm):
            return None
        pads = np.asarray(pads, np.int64).reshape(2, len(perm))
        moved = np.zeros_like(pads)
        moved[:, perm] = pads  # output axis i is input axis perm[i]
        return {1: moved.reshape(-1)}
    return None
