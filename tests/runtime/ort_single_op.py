"""Runs one ONNX node in onnxruntime's CPU provider (graph optimizations off): the ground truth
that the mixed-precision kernels are pinned against."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def run_op(op: str, inputs: list[np.ndarray], attrs: dict | None = None,
           consts: dict[str, np.ndarray] | None = None, opset: int = 17) -> np.ndarray:
    """Node op(inputs..., consts...) -> y. inputs are graph inputs, consts initializers (in
    that order of node inputs)."""
    consts = consts or {}
    names = [f"x{k}" for k in range(len(inputs))]
    graph_inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape))
                    for n, a in zip(names, inputs)]
    inits = [numpy_helper.from_array(np.asarray(v), name=k) for k, v in consts.items()]
    node = helper.make_node(op, names + list(consts), ["y"], **(attrs or {}))
    graph = helper.make_graph([node], "g", graph_inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    return sess.run(None, dict(zip(names, inputs)))[0]


def hard_floats(rng: np.random.Generator, n: int) -> np.ndarray:
    """n float32 values that stress rounding: a mix of normal values of every scale, random bit
    patterns (all exponents, denormals, inf; NaN excluded), denormals, +-0 and large values."""
    parts = [
        rng.standard_normal(n // 4),
        rng.standard_normal(n // 8) * 10.0 ** rng.integers(-38, 38, n // 8),
        rng.integers(0, 2**32, n // 4, dtype=np.uint64).astype(np.uint32).view(np.float32),
        rng.integers(1, 2**23, n // 16, dtype=np.uint32).view(np.float32)
        * rng.choice([-1, 1], n // 16),
        rng.choice(np.array([0.0, -0.0, np.inf, -np.inf, 3.4e38, -3.4e38, 1e-45, -1e-45]),
                   n // 16),
    ]
    x = np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])
    x = np.concatenate([x, rng.standard_normal(n - x.size).astype(np.float32)])
    x[np.isnan(x)] = 1.0
    return rng.permutation(x).astype(np.float32)


def same_floats(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise: identical bits, or both NaN (NaN payloads are not compared)."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    return (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))
