"""Per-channel elementwise chains (bias, BatchNorm, Add/Sub/Mul/Div by constants).

Two views of one chain:
- `compose_affine`: the exact real-number map y = a * x + b (float64), used for the direction of
  each channel and for analytic thresholds;
- `ChainEvaluator`: the float32 evaluation by onnxruntime itself (graph optimizations off, as the
  verifier runs the model), the ground truth every fused threshold is checked against.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from ..errors import BnnccError
from ..ir import ChainStep


def step_factor(step: ChainStep) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of one step as float64 per-channel arrays: step(x) = a * x + b."""
    if step.op == "BatchNormalization":
        gamma, beta, mean, var = (c.astype(np.float64) for c in step.consts)
        a = gamma / np.sqrt(var + step.epsilon)
        return a, beta - mean * a
    (c,) = (v.astype(np.float64) for v in step.consts)
    ones, zeros = np.ones_like(c), np.zeros_like(c)
    if step.op == "Add":
        return ones, c
    if step.op == "Sub":
        return (-ones, c) if step.const_first else (ones, -c)
    if step.op == "Mul":
        return c, zeros
    if step.op == "Div" and not step.const_first:
        return 1.0 / c, zeros
    raise BnnccError(f"{step.op} with the constant first is not a monotone per-channel map", op=step.op)


def compose_affine(steps: list[ChainStep], channels: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.ones(channels)
    b = np.zeros(channels)
    for step in steps:
        sa, sb = step_factor(step)
        a, b = a * sa, b * sa + sb
    return a, b


class ChainEvaluator:
    """Evaluate a chain in float32 with onnxruntime on a (C, M) block of per-channel inputs."""

    def __init__(self, steps: list[ChainStep], channels: int):
        self.channels = channels
        self.session = _session(steps, channels) if steps else None

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.ascontiguousarray(values, np.float32)
        if self.session is None:
            return values
        return self.session.run(None, {"x": values[None]})[0][0]


def _session(steps: list[ChainStep], channels: int) -> ort.InferenceSession:
    nodes, inits = [], []
    current = "x"
    for index, step in enumerate(steps):
        out = f"y{index}"
        names = []
        for j, const in enumerate(step.consts):
            name = f"c{index}_{j}"
            shape = (channels,) if step.op == "BatchNormalization" else (channels, 1)
            inits.append(numpy_helper.from_array(np.asarray(const, np.float32).reshape(shape), name))
            names.append(name)
        if step.op == "BatchNormalization":
            nodes.append(helper.make_node("BatchNormalization", [current, *names], [out], epsilon=step.epsilon))
        else:
            operands = [names[0], current] if step.const_first else [current, names[0]]
            nodes.append(helper.make_node(step.op, operands, [out]))
        current = out
    nodes.append(helper.make_node("Identity", [current], ["y"]))
    graph = helper.make_graph(
        nodes, "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, None])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], ir_version=8)
    return ort.InferenceSession(model.SerializeToString(), reference_session_options(),
                                providers=["CPUExecutionProvider"])


def reference_session_options() -> ort.SessionOptions:
    """onnxruntime exactly as the model is written: no fusion of BN into weights, one thread."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options
