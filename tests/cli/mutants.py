"""Seeded random mutations of valid BNN models: attributes, initializers, wiring, op types, bytes.

Unlike the catalogue in bad_models.py, a mutant may still be a valid model, so the only promise checked
is the weak one: bnncc either compiles it or says `error: ...` with exit code 2 -- never a traceback,
never an "internal error". These found the bugs the catalogue now pins down (bias length, invalid UTF-8
names, zero-size weights).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from tests.helpers.onnx_models import cnn, mlp

_INTS = [0, 1, 2, 3, -1, -5, 7, 100, 10**9]
_ATTRIBUTES = ["kernel_shape", "strides", "pads", "dilations", "group", "axis", "ceil_mode", "auto_pad", "transA",
               "transB", "alpha", "beta", "epsilon", "training_mode", "keepdims", "storage_order"]
_OPS = ["Sign", "Conv", "Gemm", "MatMul", "BatchNormalization", "Add", "Mul", "Sub", "Div", "MaxPool", "Flatten",
        "Reshape", "Softmax", "LogSoftmax", "Where", "Identity", "Dropout", "GreaterOrEqual", "Less", "Greater",
        "LessOrEqual"]


def base_models() -> list[onnx.ModelProto]:
    return [mlp(1), cnn(2), mlp(3, sign_form="sign"), mlp(4, sign_form="less")]


def mutants(seed: int, count: int) -> list[tuple[str, bytes]]:
    """(description, serialized model) pairs; the same seed gives the same list."""
    rng = np.random.default_rng(seed)
    bases = base_models()
    out = []
    for index in range(count):
        model = onnx.ModelProto()
        model.CopyFrom(bases[index % len(bases)])
        if index % 5 == 4:  # one in five: corrupt a few bytes of the serialized model instead
            data = bytearray(model.SerializeToString())
            for _ in range(int(rng.integers(1, 4))):
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
            out.append((f"{index}: byte flips", bytes(data)))
            continue
        steps = [_mutate(model, rng) for _ in range(int(rng.integers(1, 3)))]
        out.append((f"{index}: " + "; ".join(steps), model.SerializeToString()))
    return out


def _mutate(model: onnx.ModelProto, rng: np.random.Generator) -> str:
    graph = model.graph
    node = graph.node[int(rng.integers(0, len(graph.node)))]
    kind = int(rng.integers(0, 9))
    if kind == 0 and node.attribute:
        attr = node.attribute[int(rng.integers(0, len(node.attribute)))]
        if attr.type == onnx.AttributeProto.INTS:
            del attr.ints[:]
            attr.ints.extend(int(v) for v in rng.choice(_INTS, int(rng.integers(0, 5))))
        elif attr.type == onnx.AttributeProto.INT:
            attr.i = int(rng.choice(_INTS))
        elif attr.type == onnx.AttributeProto.FLOAT:
            attr.f = float(rng.choice([0.0, -1.0, 1e30, np.nan, np.inf]))
        return f"set {node.op_type}.{attr.name}"
    if kind == 1:
        name = str(rng.choice(_ATTRIBUTES))
        form = int(rng.integers(0, 3))
        if form == 0:
            value = [int(v) for v in rng.choice(_INTS, int(rng.integers(1, 5)))]
        elif form == 1:
            value = int(rng.choice(_INTS))
        else:
            value = str(rng.choice(["SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"]))
        node.attribute.append(helper.make_attribute(name, value))
        return f"add {node.op_type}.{name}={value}"
    if kind == 2:
        tensor = graph.initializer[int(rng.integers(0, len(graph.initializer)))]
        array = numpy_helper.to_array(tensor)
        shapes = [array.reshape(-1), array.reshape(-1)[: max(1, array.size // 2)], array.reshape(-1)[:0],
                  array.reshape((1,) + array.shape)]
        tensor.CopyFrom(numpy_helper.from_array(shapes[int(rng.integers(0, 4))], tensor.name))
        return f"reshape initializer {tensor.name}"
    if kind == 3:
        dims = graph.input[0].type.tensor_type.shape.dim
        dims[int(rng.integers(0, len(dims)))].dim_value = int(rng.choice([0, 1, 2, 3, 5, 64, 1000]))
        return "resize input"
    if kind == 4 and len(node.input) > 1:
        i, j = (int(v) for v in rng.choice(len(node.input), 2, replace=False))
        node.input[i], node.input[j] = node.input[j], node.input[i]
        return f"swap inputs of {node.op_type}"
    if kind == 5 and len(node.input) > 1:
        del node.input[-1]
        return f"drop last input of {node.op_type}"
    if kind == 6:
        other = graph.node[int(rng.integers(0, len(graph.node)))]
        node.input[0] = other.output[0] if rng.random() < 0.5 else graph.input[0].name
        return f"rewire {node.op_type}"
    if kind == 7:
        old, node.op_type = node.op_type, str(rng.choice(_OPS))
        return f"{old} -> {node.op_type}"
    if kind == 8:
        tensor = graph.initializer[int(rng.integers(0, len(graph.initializer)))]
        array = numpy_helper.to_array(tensor).copy()
        if array.size:
            array.reshape(-1)[int(rng.integers(0, array.size))] = rng.choice([0.0, -0.0, 1e-45, 3e38, -1.0, 0.5])
        tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))
        return f"change a value of {tensor.name}"
    return "unchanged"
