"""A uint8/int8 model input: DequantizeLinear becomes Cast + Sub + Mul, and anything but a Cast to float is refused.

onnxruntime's DequantizeLinear computes float(int32(q) - zero_point) * scale; Cast(q) - float(zero_point) is the
same exact small integer (|q - zp| <= 255), so Cast -> Sub(zp) -> Mul(scale) gives the same float32 bits. After
this rewrite every reader of an integer input is a Cast to float, which the importer aliases and
passes/integer_input.py turns into the input's integer kernel or one exact cast layer.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ...errors import BnnccError
from .graph_edit import constant_value, consumers, copy_model, graph_input, remove_node, unique_name

_INTEGER = {onnx.TensorProto.UINT8, onnx.TensorProto.INT8}


def dequantize_integer_input(model: onnx.ModelProto) -> onnx.ModelProto | None:
    """DequantizeLinear(input, scalar scale, scalar zero point) -> Cast, Sub(zero point), Mul(scale)."""
    graph = model.graph
    source = graph_input(graph)
    if source.type.tensor_type.elem_type not in _INTEGER:
        return None
    for node in consumers(graph, source.name):
        if node.op_type != "DequantizeLinear" or node.input[0] != source.name:
            continue
        label = node.name or "DequantizeLinear"
        scale = constant_value(model, node.input[1])
        zero = constant_value(model, node.input[2]) if len(node.input) > 2 else np.zeros((), np.int64)
        if scale is None or zero is None or np.size(scale) != 1 or np.size(zero) != 1:
            raise BnnccError("a DequantizeLinear of the integer model input needs one constant scale and zero point "
                             "(per-channel: dequantize in float after a Cast)", label, "DequantizeLinear")
        scale = np.float32(np.asarray(scale).reshape(()))
        if not np.isfinite(scale) or scale == 0:
            raise BnnccError(f"the scale {scale!r} is not a finite non-zero number", label, "DequantizeLinear")
        result = copy_model(model)
        g = result.graph
        dq = [n for n in g.node if list(n.output) == list(node.output)][0]
        cast, shifted = unique_name(g, f"{label}_cast"), unique_name(g, f"{label}_shifted")
        zp_name, scale_name = unique_name(g, f"{label}_zero_point"), unique_name(g, f"{label}_scale")
        g.initializer.extend([numpy_helper.from_array(np.asarray(np.asarray(zero).reshape(()), np.float32), zp_name),
                              numpy_helper.from_array(np.asarray(scale, np.float32), scale_name)])
        index = list(g.node).index(dq)
        new = [helper.make_node("Cast", [source.name], [cast], name=cast, to=onnx.TensorProto.FLOAT),
               helper.make_node("Sub", [cast, zp_name], [shifted], name=shifted),
               helper.make_node("Mul", [shifted, scale_name], [dq.output[0]], name=label)]
        remove_node(g, dq)
        for offset, n in enumerate(new):
            g.node.insert(index + offset, n)
        return result
    return None


def refuse_integer_input_misuse(model: onnx.ModelProto) -> None:
    """A check: an integer input may only be read by Cast(to=FLOAT) (the C kernels read its bytes as such)."""
    graph = model.graph
    source = graph_input(graph)
    elem = source.type.tensor_type.elem_type
    if elem not in _INTEGER:
        return None
    for node in consumers(graph, source.name):
        if node.op_type == "Cast" and helper.get_attribute_value(
                next(a for a in node.attribute if a.name == "to")) == onnx.TensorProto.FLOAT:
            continue
        type_name = onnx.TensorProto.DataType.Name(elem)
        raise BnnccError(f"it reads the {type_name} model input directly; bnncc needs the integer input to go "
                         "through Cast(to=float) first (in torch: x.float() at the start of forward)",
                         node.name or node.op_type, node.op_type)
    return None
