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
    for node in graph.node:
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
        consts.update(_evaluate(model, const_nodes, needed))
    return consts, live_nodes


def _evaluate(model: onnx.ModelProto, nodes: list[onnx.NodeProto], outputs: list[str]) -> dict[str, np.ndarray]:
    graph = helper.make_graph(
        list(nodes),
        "constant_subgraph",
        inputs=[],
        outputs=[helper.make_tensor_value_info(name, onnx.TensorProto.UNDEFINED, None) for name in outputs],
        initializer=list(model.graph.initializer),
    )
    sub = helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)
    try:
        values = ReferenceEvaluator(sub).run(None, {})
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise BnnccError(f"could not evaluate the model's constant subgraph: {first}") from None
    return {name: np.asarray(value) for name, value in zip(outputs, values)}
