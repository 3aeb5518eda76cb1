"""Load an ONNX file (with external data), check it, pin the batch to 1 and infer shapes."""

from __future__ import annotations

from pathlib import Path

import onnx
from google.protobuf.message import DecodeError
from onnx import shape_inference
from onnx.external_data_helper import load_external_data_for_model

from ..errors import BnnccError

# ONNX input element types bnncc compiles -> the IR's input_dtype (an integer input: passes/integer_input.py).
INPUT_DTYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.UINT8: "uint8", onnx.TensorProto.INT8: "int8"}


def load_model(path: str | Path) -> onnx.ModelProto:
    """Read, check and shape-infer a model; every failure becomes a BnnccError."""
    path = Path(path)
    if path.is_dir():
        raise BnnccError(f"model path '{path}' is a folder, not an ONNX file")
    if not path.is_file():
        raise BnnccError(f"model file '{path}' does not exist")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, RuntimeWarning, ValueError, OSError, UnicodeDecodeError) as exc:
        raise BnnccError(f"'{path}' is not a readable ONNX model ({_short(exc)})") from None
    except Exception as exc:  # protobuf raises assorted types on garbage input
        raise BnnccError(f"'{path}' is not a readable ONNX model ({type(exc).__name__}: {_short(exc)})") from None
    if not model.graph.node:
        raise BnnccError(f"'{path}' holds no graph nodes (an empty or non-ONNX file?)")
    # Separately from the protobuf, so a missing or short weights file is named as such.
    try:
        load_external_data_for_model(model, str(path.parent))
    except Exception as exc:
        raise BnnccError(f"cannot load the external data of '{path}': {_short(exc)}") from None
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise BnnccError(f"'{path}' fails the ONNX checker: {_short(exc)}") from None
    _check_opset(model)
    _check_names(model)
    _pin_batch(model)
    try:
        model = shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as exc:
        raise BnnccError(f"ONNX shape inference failed: {_short(exc)}") from None
    return model


def _check_opset(model: onnx.ModelProto) -> None:
    """The checker accepts any opset number; one newer than the installed onnx has no known semantics."""
    newest = onnx.defs.onnx_opset_version()
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version > newest:
            raise BnnccError(f"the model needs ONNX opset {opset.version}; the installed onnx {onnx.__version__} "
                             f"knows opsets up to {newest} (re-export with a lower opset or upgrade onnx)")


def _check_names(model: onnx.ModelProto) -> None:
    """Names must be text: protobuf hands back invalid UTF-8 in a string field as bytes, and the checker
    lets it through; every message and C identifier downstream expects str."""
    graph = model.graph
    for index, node in enumerate(graph.node):
        for value in (node.name, node.op_type, node.domain, *node.input, *node.output):
            if not isinstance(value, str):
                raise BnnccError(f"node #{index} has a name that is not valid UTF-8 ({value!r})")
    for kind, values in (("input", graph.input), ("output", graph.output), ("value_info", graph.value_info),
                         ("initializer", graph.initializer)):
        for value in values:
            if not isinstance(value.name, str):
                raise BnnccError(f"a graph {kind} has a name that is not valid UTF-8 ({value.name!r})")


def _pin_batch(model: onnx.ModelProto) -> None:
    """Set a symbolic or -1 leading dimension of each real input to 1; other dims must be fixed."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs) or "none"
        raise BnnccError(f"the model must have exactly one input, it has {len(inputs)} ({names})")
    elem_type = inputs[0].type.tensor_type.elem_type
    if elem_type not in INPUT_DTYPES:
        # The generated C takes `const float *` (or uint8_t / int8_t) input; anything else would be reinterpreted.
        type_name = onnx.TensorProto.DataType.Name(elem_type) if elem_type in onnx.TensorProto.DataType.values() \
            else str(elem_type)
        raise BnnccError(f"input '{inputs[0].name}' has element type {type_name}; bnncc compiles models with a "
                         "float32, uint8 or int8 input")
    for value in list(inputs) + list(model.graph.output):
        ttype = value.type.tensor_type
        if not ttype.HasField("shape"):
            if value in inputs:
                raise BnnccError(f"input '{value.name}' has no shape; export with a fixed input shape")
            continue
        dims = ttype.shape.dim
        for index, dim in enumerate(dims):
            fixed = dim.HasField("dim_value") and dim.dim_value > 0
            if index == 0 and not fixed:
                dim.Clear()
                dim.dim_value = 1
            elif index == 0 and dim.dim_value != 1 and value in inputs:
                raise BnnccError(f"input '{value.name}' has batch {dim.dim_value}; bnncc compiles batch 1")
            elif dim.HasField("dim_value") and dim.dim_value == 0 and value in inputs:
                raise BnnccError(f"input '{value.name}' has size 0 in dimension {index}; nothing to compute")
            elif not fixed and value in inputs:
                raise BnnccError(
                    f"input '{value.name}' has a dynamic dimension {index} ('{dim.dim_param or '?'}'); "
                    "export with a fixed spatial shape"
                )
    # Output shapes are re-derived by inference; stale symbolic ones would only confuse it.
    for value in model.graph.output:
        value.type.tensor_type.ClearField("shape")


def _short(exc: BaseException) -> str:
    # The checker spreads one sentence over lines ("... of node: \nname: g OpType: Gemm\n is not ..."):
    # keep all of it on one line so the node name survives.
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:400]
