"""Fold every constant subgraph (Sign(W), Where(W>=0,1,-1), alpha*sign(W), Transpose ...) into values.

The evaluation is done by onnx.reference, the ONNX reference implementation, so the folded values are
what the spec says, not what a hand-written matcher guesses.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from ..errors import BnnccError

_NONDETERMINISTIC = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial"}


def fold_constants(model: onnx.ModelProto) -> tuple[dict[str, np.ndarray], list[onnx.NodeProto]]:
    """Return (constant values by tensor name, the nodes that depend on the model input)."""
    graph = model.graph
    consts: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    known = set(consts) | {""}
    const_nodes: list[onnx.NodeProto] = []
    live_nodes: list[onnx.NodeProto] = []
    static = _static_shapes(model)
    for node in graph.node:
        if node.op_type in ("Shape", "Size") and node.input[0] in static and node.input[0] not in known:
            # x.view(x.size(0), -1) exports Shape(x): with a static shape that is a constant too.
            consts[node.output[0]] = _shape_value(node, static[node.input[0]])
            known.update(node.output)
            continue
        if node.op_type not in _NONDETERMINISTIC and all(i in known for i in node.input):
            const_nodes.append(node)
            known.update(node.output)
        else:
            live_nodes.append(node)

    needed = sorted(
        {i for n in live_nodes for i in n.input if i in known and i and i not in consts}
        | {o.name for o in graph.output if o.name in known and o.name not in consts}
    )
    if needed:
        consts.update(_evaluate(model, const_nodes, needed, consts))
    return consts, live_nodes


def _static_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    shapes = {}
    graph = model.graph
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        if value.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = tuple(d.dim_value for d in dims)
    return shapes


def _shape_value(node: onnx.NodeProto, shape: tuple[int, ...]) -> np.ndarray:
    if node.op_type == "Size":
        return np.array(int(np.prod(shape)), np.int64)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    start, end = attrs.get("start", 0), attrs.get("end", None)
    return np.array(shape[start:end], np.int64)


def _evaluate(model: onnx.ModelProto, nodes: list[onnx.NodeProto], outputs: list[str],
              known: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    stored = {t.name for t in model.graph.initializer}
    extra = [numpy_helper.from_array(np.asarray(v), name) for name, v in known.items() if name not in stored]
    graph = helper.make_graph(
        list(nodes),
        "constant_subgraph",
        inputs=[],
        outputs=[helper.make_tensor_value_info(name, onnx.TensorProto.UNDEFINED, None) for name in outputs],
        initializer=list(model.graph.initializer) + extra,
    )
    sub = helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)
    try:
        values = ReferenceEvaluator(sub).run(None, {})
    except Exception as exc:
        custom = [n for n in nodes if n.domain not in ("", "ai.onnx")]
        if custom:  # the usual cause: a Brevitas/QONNX quantizer left on the weights
            listing = ", ".join(f"'{n.name or n.op_type}' (op {n.domain}.{n.op_type})" for n in custom)
            raise BnnccError(f"the weights pass through custom-domain op(s) that cannot be folded: {listing}; "
                             "export with the quantizers applied (plain initializers or Sign)") from None
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise BnnccError(f"could not evaluate the model's constant subgraph: {first}") from None
    return {name: np.asarray(value) for name, value in zip(outputs, values)}
