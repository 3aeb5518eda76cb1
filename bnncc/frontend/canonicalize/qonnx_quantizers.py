"""QONNX / Brevitas quantizers (BipolarQuant, Quant, IntQuant in the domains qonnx.custom_op.general,
onnx.brevitas and finn.custom_op.general) become the standard ONNX ops that compute the same values.

Semantics are qonnx's own reference (qonnx/custom_op/general/bipolar_quant.py, intquant.py):
    BipolarQuant(x, s)        = where(x >= 0, 1, -1) * s
    Quant(x, s, z, b), b == 1 and signed:
                              = (where(x / s + z >= 0, 1, -1) - z) * s
    Quant otherwise (ROUND)   = (round(clip(x / s + z, min_int, max_int)) - z) * s   (round half to even)
x >= 0 is written as Not(x < 0), which is the same for every non-NaN x and exists in every opset,
and becomes the importer's Where(x < 0, -1, 1) binarizer. Divisions by 1 and additions of 0 are left out
(they do not change any value that a later >= 0 test or product sees).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ...errors import BnnccError
from .graph_edit import attrs, constant_value, copy_model, unique_name

DOMAINS = {"qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general"}
QUANTIZERS = {"BipolarQuant", "Quant", "IntQuant"}


def is_quantizer(node: onnx.NodeProto) -> bool:
    return node.domain in DOMAINS and node.op_type in QUANTIZERS


def lower_quantizers(model: onnx.ModelProto) -> onnx.ModelProto | None:
    if not any(is_quantizer(n) for n in model.graph.node):
        return None
    result = copy_model(model)
    graph = result.graph
    nodes: list[onnx.NodeProto] = []
    new_inits: list[onnx.TensorProto] = []
    builder = _Builder(graph, new_inits)
    for node in graph.node:
        if not is_quantizer(node):
            nodes.append(node)
            continue
        label = node.name or node.op_type
        scale = _constant(model, node, 1, "scale", label)
        x = node.input[0]
        if node.op_type == "BipolarQuant":
            nodes += builder.bipolar(x, scale, node.input[1], node.output[0])
            continue
        zero = _constant(model, node, 2, "zero point", label)
        bits = _constant(model, node, 3, "bit width", label)
        if bits.size != 1 or float(bits.reshape(-1)[0]) != round(float(bits.reshape(-1)[0])):
            raise BnnccError(f"the bit width must be one integer, it is {bits.reshape(-1)[:4]}", label, node.op_type)
        node_attrs = attrs(node)
        signed, narrow = int(node_attrs.get("signed", 1)), int(node_attrs.get("narrow", 0))
        width = int(bits.reshape(-1)[0])
        if width == 1 and signed:
            nodes += builder.signed_one_bit(x, node.input[1], scale, node.input[2], zero, node.output[0])
            continue
        mode = node_attrs.get("rounding_mode", b"ROUND")
        mode = (mode.decode() if isinstance(mode, bytes) else mode).upper()
        if mode not in ("ROUND", "ROUND_TO_EVEN"):
            raise BnnccError(f"rounding_mode {mode} is not supported (ROUND only)", label, node.op_type)
        lo, hi = _int_range(signed, narrow, width)
        nodes += builder.integer(x, node.input[1], scale, node.input[2], zero, lo, hi, node.output[0])
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(new_inits)
    kept = [o for o in result.opset_import if o.domain not in DOMAINS]
    del result.opset_import[:]
    result.opset_import.extend(kept)
    return result


def _constant(model, node, index, what, label) -> np.ndarray:
    if index >= len(node.input) or not node.input[index]:
        raise BnnccError(f"the {what} input is missing", label, node.op_type)
    value = constant_value(model, node.input[index])
    if value is None:
        raise BnnccError(f"the {what} must be a constant (an initializer)", label, node.op_type)
    return np.asarray(value)


def _int_range(signed: int, narrow: int, width: int) -> tuple[float, float]:
    if signed:
        return float(-(2 ** (width - 1)) + narrow), float(2 ** (width - 1) - 1)
    return 0.0, float(2 ** width - 1 - narrow)


class _Builder:
    def __init__(self, graph: onnx.GraphProto, inits: list[onnx.TensorProto]):
        self.graph = graph
        self.inits = inits
        self.taken: set[str] = set()

    def name(self, base: str) -> str:
        name = unique_name(self.graph, base)
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name

    def const(self, base: str, value) -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def op(self, op: str, inputs: list[str], output: str | None = None, base: str = "q") -> tuple[onnx.NodeProto, str]:
        output = output or self.name(f"{base}_{op.lower()}")
        return helper.make_node(op, inputs, [output], name=self.name(f"{output}_node")), output

    def _sign(self, x: str, output: str) -> list[onnx.NodeProto]:
        """where(x >= 0, 1, -1), written Where(x < 0, -1, 1)."""
        negative, cond = self.op("Less", [x, self.const(f"{output}_zero", 0.0)], base=output)
        where, _ = self.op("Where", [cond, self.const(f"{output}_minus", -1.0), self.const(f"{output}_plus", 1.0)],
                           output)
        return [negative, where]

    def bipolar(self, x, scale, scale_name, output) -> list[onnx.NodeProto]:
        if np.all(scale == 1.0):
            return self._sign(x, output)
        signs = self.name(f"{output}_bipolar")
        mul, _ = self.op("Mul", [signs, scale_name], output)
        return self._sign(x, signs) + [mul]

    def _prefix(self, x, scale, scale_name, zero, zero_name, base) -> tuple[list[onnx.NodeProto], str]:
        nodes = []
        if not np.all(scale == 1.0):
            node, x = self.op("Div", [x, scale_name], base=base)
            nodes.append(node)
        if np.any(zero != 0.0):
            node, x = self.op("Add", [x, zero_name], base=base)
            nodes.append(node)
        return nodes, x

    def _suffix(self, y, scale, scale_name, zero, zero_name, output) -> list[onnx.NodeProto]:
        steps = []
        if np.any(zero != 0.0):
            steps.append(("Sub", zero_name))
        if not np.all(scale == 1.0):
            steps.append(("Mul", scale_name))
        nodes = []
        for index, (op, operand) in enumerate(steps):
            node, y = self.op(op, [y, operand], output if index == len(steps) - 1 else None, base=output)
            nodes.append(node)
        return nodes

    def signed_one_bit(self, x, scale_name, scale, zero_name, zero, output) -> list[onnx.NodeProto]:
        nodes, y = self._prefix(x, scale, scale_name, zero, zero_name, output)
        if _identity_suffix(scale, zero):
            return nodes + self._sign(y, output)
        signs = self.name(f"{output}_bipolar")
        return nodes + self._sign(y, signs) + self._suffix(signs, scale, scale_name, zero, zero_name, output)

    def integer(self, x, scale_name, scale, zero_name, zero, lo, hi, output) -> list[onnx.NodeProto]:
        nodes, y = self._prefix(x, scale, scale_name, zero, zero_name, output)
        clip, y = self.op("Clip", [y, self.const(f"{output}_min", lo), self.const(f"{output}_max", hi)], base=output)
        if _identity_suffix(scale, zero):
            return nodes + [clip, self.op("Round", [y], output)[0]]
        rounded = self.name(f"{output}_int")
        return nodes + [clip, self.op("Round", [y], rounded)[0]] + \
            self._suffix(rounded, scale, scale_name, zero, zero_name, output)


def _identity_suffix(scale, zero) -> bool:
    return bool(np.all(scale == 1.0)) and not np.any(zero != 0.0)
