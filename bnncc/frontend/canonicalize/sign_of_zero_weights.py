"""Refuse torch.sign on weights that hold exact zeros: ONNX Sign(0) = 0 makes them ternary, not binary."""

from __future__ import annotations

import numpy as np
import onnx

from ...errors import BnnccError
from .graph_edit import constant_value


def refuse_sign_of_zero_weights(model: onnx.ModelProto) -> None:
    """A check, not a rewrite: returns None or raises one BnnccError naming the node."""
    for node in model.graph.node:
        if node.op_type != "Sign" or node.domain not in ("", "ai.onnx"):
            continue
        value = constant_value(model, node.input[0])
        if value is None:
            continue  # an activation: sign(0) there is handled (and reported) by verify
        zeros = int(np.sum(np.asarray(value) == 0))
        if zeros:
            raise BnnccError(
                f"its constant input '{node.input[0]}' holds {zeros} exact zero(s) of {np.asarray(value).size}; "
                "ONNX Sign(0) = 0, so these weights are ternary, not binary. In training, binarize the weights with "
                "torch.where(w >= 0, 1.0, -1.0) instead of torch.sign(w) and re-export",
                node.name or "Sign", "Sign")
    return None
