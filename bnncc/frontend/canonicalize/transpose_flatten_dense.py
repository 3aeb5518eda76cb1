"""Transpose -> Flatten/Reshape -> MatMul/Gemm with constant weights (TF's NHWC flatten, as tf2onnx writes
it) becomes Flatten -> MatMul/Gemm with the weight rows permuted by a Gather the constant folder evaluates."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .graph_edit import attrs, consumers, copy_model, is_graph_output, remove_node, rename_input, shape_of, \
    unique_name


def fold_transpose_into_dense(model: onnx.ModelProto) -> onnx.ModelProto | None:
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    for transpose in graph.node:
        if transpose.op_type != "Transpose":
            continue
        match = _match(model, transpose, initializers)
        if match is None:
            continue
        flatten, dense, weight_axis = match
        in_shape = shape_of(model, transpose.input[0])
        perm = attrs(transpose).get("perm", list(reversed(range(len(in_shape)))))
        if perm[0] != 0:
            continue
        # flat_t[j] = flat_x[order[j]]; sum_j flat_t[j] W[j] = sum_i flat_x[i] W[inverse[i]].
        order = np.arange(int(np.prod(in_shape))).reshape(in_shape).transpose(perm).reshape(-1)
        inverse = np.argsort(order).astype(np.int64)
        result = copy_model(model)
        g = result.graph
        t_node = [n for n in g.node if list(n.output) == list(transpose.output)][0]
        d_node = [n for n in g.node if list(n.output) == list(dense.output)][0]
        index_name = unique_name(g, t_node.output[0] + "_rows")
        gathered = unique_name(g, d_node.input[1] + "_permuted")
        g.initializer.append(numpy_helper.from_array(inverse, index_name))
        position = list(g.node).index(d_node)
        g.node.insert(position, helper.make_node("Gather", [d_node.input[1], index_name], [gathered],
                                                 axis=weight_axis, name=gathered))
        d_node.input[1] = gathered
        remove_node(g, t_node)
        rename_input(g, t_node.output[0], t_node.input[0])
        return result
    return None


def _match(model, transpose, initializers):
    graph = model.graph
    out = transpose.output[0]
    users = consumers(graph, out)
    if len(users) != 1 or is_graph_output(graph, out) or users[0].op_type not in ("Flatten", "Reshape"):
        return None
    flatten = users[0]
    flat_shape = shape_of(model, flatten.output[0])
    in_shape = shape_of(model, transpose.input[0])
    if flat_shape is None or in_shape is None or len(flat_shape) != 2 or flat_shape[0] != 1:
        return None
    dense_users = consumers(graph, flatten.output[0])
    if len(dense_users) != 1 or is_graph_output(graph, flatten.output[0]):
        return None
    dense = dense_users[0]
    if dense.input[0] != flatten.output[0] or len(dense.input) < 2:
        return None
    if dense.op_type == "MatMul":
        return flatten, dense, 0
    if dense.op_type == "Gemm" and not attrs(dense).get("transA", 0):
        return flatten, dense, 1 if attrs(dense).get("transB", 0) else 0
    return None
