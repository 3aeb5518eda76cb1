"""Larq's ste_sign as tf2onnx writes it, Sign(Sign(x) + c) with 0 < |c| < 1, becomes a binarizer:
c > 0 gives +1 iff x >= 0 (Where(x < 0, -1, 1)); c < 0 gives +1 iff x > 0 (Where(x > 0, 1, -1))."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .graph_edit import constant_value, consumers, copy_model, is_graph_output, producer, unique_name


def fold_ste_sign(model: onnx.ModelProto) -> onnx.ModelProto | None:
    graph = model.graph
    for outer in graph.node:
        match = _match(model, outer)
        if match is None:
            continue
        inner, add, x, c = match
        result = copy_model(model)
        g = result.graph
        drop = {tuple(inner.output), tuple(add.output), tuple(outer.output)}
        position = [i for i, n in enumerate(g.node) if tuple(n.output) == tuple(outer.output)][0]
        base = outer.output[0]
        names = {k: unique_name(g, f"{base}_{k}") for k in ("zero", "minus", "plus", "cond")}
        for key, value in (("zero", 0.0), ("minus", -1.0), ("plus", 1.0)):
            g.initializer.append(numpy_helper.from_array(np.array(value, np.float32), names[key]))
        if c > 0:  # sign(x) + c > 0 exactly when x >= 0
            nodes = [helper.make_node("Less", [x, names["zero"]], [names["cond"]], name=names["cond"]),
                     helper.make_node("Where", [names["cond"], names["minus"], names["plus"]], [base],
                                      name=outer.name or base)]
        else:  # sign(x) + c > 0 exactly when x > 0; 0 there gives -1
            nodes = [helper.make_node("Greater", [x, names["zero"]], [names["cond"]], name=names["cond"]),
                     helper.make_node("Where", [names["cond"], names["plus"], names["minus"]], [base],
                                      name=outer.name or base)]
        kept = [n for n in g.node if tuple(n.output) not in drop]
        insert_at = len([n for n in list(g.node)[:position] if tuple(n.output) not in drop])
        del g.node[:]
        g.node.extend(kept[:insert_at] + nodes + kept[insert_at:])
        return result
    return None


def _match(model, outer):
    graph = model.graph
    if outer.op_type != "Sign" or outer.domain not in ("", "ai.onnx"):
        return None
    add = producer(graph, outer.input[0])
    if add is None or add.op_type != "Add" or len(consumers(graph, add.output[0])) != 1 \
            or is_graph_output(graph, add.output[0]):
        return None
    for mine, other in ((0, 1), (1, 0)):
        inner = producer(graph, add.input[mine])
        if inner is None or inner.op_type != "Sign":
            continue
        if len(consumers(graph, inner.output[0])) != 1 or is_graph_output(graph, inner.output[0]):
            continue
        c = constant_value(model, add.input[other])
        if c is None or np.asarray(c).size != 1:
            continue
        c = float(np.asarray(c).reshape(-1)[0])
        if 0 < abs(c) < 1:
            return inner, add, inner.input[0], c
    return None
