"""The Bi-Real / ReActNet "detach trick" STE, sign(x).detach() - g(x).detach() + g(x), exports as
Add(Sub(s, g), g) (g: a Clip or ReActNet's polynomial, a dozen ops); its forward value is s, so the
consumers read s directly and g's ops are left unused.

Exactness: onnxruntime computes (s - g) + g in float32, which can differ from s by one ulp
(e.g. 1 - 2**-24) where s - g rounds; bnncc computes s exactly. Only values at an exact threshold tie
can then differ downstream; verify's tolerance covers the logits (see the README)."""

from __future__ import annotations

import onnx

from .graph_edit import attrs, consumers, copy_model, is_graph_output, producer, remove_dead_nodes, rename_input


def fold_detach_ste(model: onnx.ModelProto) -> onnx.ModelProto | None:
    graph = model.graph
    for add in graph.node:
        if add.op_type != "Add" or len(add.input) != 2:
            continue
        for sub_index in (0, 1):
            sub = producer(graph, add.input[sub_index])
            if sub is None or sub.op_type != "Sub" or len(consumers(graph, sub.output[0])) != 1:
                continue
            sign = producer(graph, sub.input[0])
            if sign is None or sign.op_type not in ("Sign", "Where"):
                continue
            if not _same_value(graph, sub.input[1], add.input[1 - sub_index]):
                continue
            if is_graph_output(graph, add.output[0]) and is_graph_output(graph, sign.output[0]):
                continue
            result = copy_model(model)
            g = result.graph
            kept = [n for n in g.node if list(n.output) != list(add.output)]
            del g.node[:]
            g.node.extend(kept)
            rename_input(g, add.output[0], sign.output[0])
            for output in g.output:
                if output.name == add.output[0]:
                    output.name = sign.output[0]
            remove_dead_nodes(g)
            return result
    return None


def _same_value(graph, a: str, b: str) -> bool:
    """The same tensor, or two nodes computing the same thing from the same inputs (torch exports one Clip
    per clamp call)."""
    if a == b:
        return True
    na, nb = producer(graph, a), producer(graph, b)
    return (na is not None and nb is not None and na.op_type == nb.op_type and na.domain == nb.domain
            and list(na.input) == list(nb.input) and attrs(na) == attrs(nb) and len(na.output) == 1)
