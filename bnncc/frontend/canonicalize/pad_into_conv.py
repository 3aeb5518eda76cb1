"""A zero Pad (mode constant, spatial axes) read only by a Conv becomes that Conv's own pads, which the
kernels treat exactly (taps outside the image contribute 0); -1/+1 pads stay Pads (bnn_pad_bits)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ...errors import BnnccError
from ..pads import spatial_pads
from .graph_edit import attrs, constant_value, consumers, copy_model, is_graph_output, remove_node, rename_input


def fold_zero_pad_into_conv(model: onnx.ModelProto) -> onnx.ModelProto | None:
    graph = model.graph
    for pad in graph.node:
        if pad.op_type != "Pad" or pad.domain not in ("", "ai.onnx"):
            continue
        users = consumers(graph, pad.output[0])
        if len(users) != 1 or users[0].op_type != "Conv" or users[0].input[0] != pad.output[0] \
                or is_graph_output(graph, pad.output[0]):
            continue
        conv = users[0]
        conv_attrs = attrs(conv)
        auto_pad = conv_attrs.get("auto_pad", b"NOTSET")
        if (auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad) not in ("NOTSET", "VALID"):
            continue
        spec = _zero_pad(model, pad)
        if spec is None:
            continue
        top, left, bottom, right = spec
        old = conv_attrs.get("pads", [0, 0, 0, 0]) if auto_pad in (b"NOTSET", "NOTSET") else [0, 0, 0, 0]
        if len(old) != 4:
            continue
        result = copy_model(model)
        g = result.graph
        p_node = [n for n in g.node if list(n.output) == list(pad.output)][0]
        c_node = [n for n in g.node if list(n.output) == list(conv.output)][0]
        kept = [a for a in c_node.attribute if a.name not in ("pads", "auto_pad")]
        del c_node.attribute[:]
        c_node.attribute.extend(kept)
        c_node.attribute.append(helper.make_attribute(
            "pads", [old[0] + top, old[1] + left, old[2] + bottom, old[3] + right]))
        remove_node(g, p_node)
        rename_input(g, p_node.output[0], p_node.input[0])
        return result
    return None


def _zero_pad(model, pad) -> tuple[int, int, int, int] | None:
    node_attrs = attrs(pad)
    mode = node_attrs.get("mode", b"constant")
    if (mode.decode() if isinstance(mode, bytes) else mode) != "constant":
        return None
    if len(pad.input) > 1 and pad.input[1]:
        pads = constant_value(model, pad.input[1])
    else:
        pads = node_attrs.get("pads")
    value = constant_value(model, pad.input[2]) if len(pad.input) > 2 and pad.input[2] else \
        np.float32(node_attrs.get("value", 0.0))
    axes = constant_value(model, pad.input[3]) if len(pad.input) > 3 and pad.input[3] else None
    if pads is None or value is None or (len(pad.input) > 3 and pad.input[3] and axes is None):
        return None
    if np.asarray(value).size != 1 or float(np.asarray(value).reshape(-1)[0]) != 0.0:
        return None
    try:
        return spatial_pads(pads, axes, 4, pad.name or "Pad")
    except BnnccError:
        return None  # the importer reports it
