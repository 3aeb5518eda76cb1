"""Reshape/Flatten/Squeeze/Unsqueeze (and a Transpose that moves only size-1 axes) of the model input
become the input's shape: the C API takes the same float32 values in the same order either way."""

from __future__ import annotations

import onnx

from .graph_edit import (attrs, consumers, copy_model, graph_input, is_graph_output, remove_node, rename_input,
                         shape_of)

_VIEWS = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose"}


def fold_input_views(model: onnx.ModelProto) -> onnx.ModelProto | None:
    graph = model.graph
    source = graph_input(graph)
    users = consumers(graph, source.name)
    if len(users) != 1 or users[0].op_type not in _VIEWS or users[0].input[0] != source.name:
        return None
    view = users[0]
    in_shape, out_shape = shape_of(model, source.name), shape_of(model, view.output[0])
    if in_shape is None or out_shape is None or not out_shape or out_shape[0] != 1:
        return None
    if is_graph_output(graph, view.output[0]):
        return None
    if view.op_type == "Transpose" and not _keeps_order(attrs(view).get("perm"), in_shape):
        return None  # a real relayout, not a view: the importer makes it a bnn_transpose_f32 layer
    result = copy_model(model)
    graph = result.graph
    view = [n for n in graph.node if list(n.output) == list(view.output)][0]
    source = graph_input(graph)
    dims = source.type.tensor_type.shape
    dims.ClearField("dim")
    for size in out_shape:
        dims.dim.add().dim_value = size
    remove_node(graph, view)
    rename_input(graph, view.output[0], source.name)
    return result


def _keeps_order(perm, shape: tuple[int, ...]) -> bool:
    """True when the permutation keeps the relative order of the axes larger than 1 (a pure reshape)."""
    perm = list(perm) if perm is not None else list(reversed(range(len(shape))))
    moved = [axis for axis in perm if shape[axis] != 1]
    return moved == sorted(moved)
