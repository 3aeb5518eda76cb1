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
    """Transpose(x) -> op  ==>  op'(x) -> Transpose, when op is elementwise and the Transpose has one user."""
    graph = model.graph
    for transpose in graph.node:
        if transpose.op_type != "Transpose":
            continue
        users = consumers(graph, transpose.output[0])
        if len(users) != 1 or is_graph_output(graph, transpose.output[0]):
            continue
        op = users[0]
        out_shape = shape_of(model, transpose.output[0])
        if out_shape is None:
            continue
        perm = _perm(transpose, len(out_shape))
        if op.op_type in _UNARY and len(op.input) == 1:
            permuted = {}
        elif op.op_type in _BINARY and len(op.input) == 2:
            other = 1 if op.input[0] == transpose.output[0] else 0
            if op.input[1 - other] != transpose.output[0]:
                continue
            value = constant_value(model, op.input[other])
            if value is None:
                continue
            value = np.asarray(value)
            full = value.reshape((1,) * (len(perm) - value.ndim) + value.shape)
            if value.ndim > len(perm):
                continue
            inverse = list(np.argsort(perm))
            permuted = {other: np.ascontiguousarray(full.transpose(inverse))}
        elif op.op_type == "Where" and len(op.input) == 3 and op.input[0] == transpose.output[0]:
            scalars = [constant_value(model, name) for name in op.input[1:]]
            if any(s is None or np.asarray(s).size != 1 for s in scalars):
                continue
            permuted = {}
        else:
            continue
        if len(op.output) != 1 or shape_of(model, op.output[0]) != out_shape:
            continue  # broadcasting changed the shape: not a plain elementwise op here
        result = copy_model(model)
        g = result.graph
        t_node = [n for n in g.node if list(n.output) == list(transpose.output)][0]
        o_node = [n for n in g.node if list(n.output) == list(op.output)][0]
        for index, value in permuted.items():
            name = unique_name(g, o_node.input[index] + "_nchw")
            g.initializer.append(numpy_helper.from_array(value.astype(value.dtype), name))
            o_node.input[index] = name
        for index, name in enumerate(o_node.input):
            if name == t_node.output[0]:
                o_node.input[index] = t_node.input[0]
        inner = unique_name(g, o_node.output[0] + "_pre_transpose")
        final = o_node.output[0]
        o_node.output[0] = inner
        remove_node(g, t_node)
        position = list(g.node).index(o_node)
        g.node.insert(position + 1, helper.make_node("Transpose", [inner], [final], perm=perm,
                                                     name=unique_name(g, final + "_transpose")))
        return result
    return None
