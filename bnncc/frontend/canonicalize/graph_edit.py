"""Small read-only views of an ONNX graph and the shape re-inference every rewrite ends with."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

from ...errors import BnnccError


def copy_model(model: onnx.ModelProto) -> onnx.ModelProto:
    result = onnx.ModelProto()
    result.CopyFrom(model)
    return result


def reinfer(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop stale inferred shapes and infer again (strict, as load_model does)."""
    del model.graph.value_info[:]
    for value in model.graph.output:
        value.type.tensor_type.ClearField("shape")
    try:
        return shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as exc:
        raise BnnccError(f"ONNX shape inference failed after canonicalization: {' '.join(str(exc).split())[:300]}") \
            from None


def attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def consumers(graph: onnx.GraphProto, name: str) -> list[onnx.NodeProto]:
    return [n for n in graph.node if name in n.input]


def producer(graph: onnx.GraphProto, name: str) -> onnx.NodeProto | None:
    for node in graph.node:
        if name in node.output:
            return node
    return None


def is_graph_output(graph: onnx.GraphProto, name: str) -> bool:
    return any(o.name == name for o in graph.output)


def shape_of(model: onnx.ModelProto, name: str) -> tuple[int, ...] | None:
    graph = model.graph
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        if value.name == name and value.type.tensor_type.HasField("shape"):
            dims = value.type.tensor_type.shape.dim
            if all(d.HasField("dim_value") for d in dims):
                return tuple(d.dim_value for d in dims)
    return None


def initializer_value(graph: onnx.GraphProto, name: str) -> np.ndarray | None:
    """The value of an initializer or a Constant node's output (None if computed)."""
    for tensor in graph.initializer:
        if tensor.name == name:
            return numpy_helper.to_array(tensor)
    node = producer(graph, name)
    if node is not None and node.op_type == "Constant":
        for attr in node.attribute:
            if attr.name == "value":
                return numpy_helper.to_array(attr.t)
            if attr.name in ("value_float", "value_int"):
                return np.asarray(helper.get_attribute_value(attr))
            if attr.name in ("value_floats", "value_ints"):
                return np.asarray(helper.get_attribute_value(attr))
    return None


def graph_input(graph: onnx.GraphProto) -> onnx.ValueInfoProto:
    initializers = {t.name for t in graph.initializer}
    return [i for i in graph.input if i.name not in initializers][0]


def rename_input(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Make every consumer of `old` read `new` instead."""
    for node in graph.node:
        for index, name in enumerate(node.input):
            if name == old:
                node.input[index] = new


def remove_node(graph: onnx.GraphProto, node: onnx.NodeProto) -> None:
    kept = [n for n in graph.node if n is not node]
    del graph.node[:]
    graph.node.extend(kept)


def unique_name(graph: onnx.GraphProto, base: str) -> str:
    taken = {t.name for t in graph.initializer} | {o for n in graph.node for o in n.output} | \
        {i.name for i in graph.input}
    name, index = base, 0
    while name in taken:
        index += 1
        name = f"{base}_{index}"
    return name


def constant_value(model: onnx.ModelProto, name: str) -> np.ndarray | None:
    """An initializer, a Constant, or a constant subgraph's value (evaluated by the folder); None if computed."""
    if not name:
        return None
    value = initializer_value(model.graph, name)
    if value is not None:
        return value
    if name not in computable_from_constants(model.graph):
        return None  # depends on the input: skip the (costly) evaluation
    from ..fold import fold_constants  # the folder evaluates every constant input of a live node

    try:
        consts, _ = fold_constants(model)
    except BnnccError:
        return None
    return consts.get(name)


def remove_dead_nodes(graph: onnx.GraphProto) -> None:
    """Drop nodes none of whose outputs is read by a node or is a graph output."""
    while True:
        used = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
        kept = [n for n in graph.node if any(o in used for o in n.output if o)]
        if len(kept) == len(graph.node):
            return
        del graph.node[:]
        graph.node.extend(kept)


def computable_from_constants(graph: onnx.GraphProto) -> set[str]:
    known = {t.name for t in graph.initializer} | {""}
    for node in graph.node:
        if all(i in known for i in node.input):
            known.update(node.output)
    return known
