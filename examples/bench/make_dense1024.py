"""Write dense1024.onnx: one binary dense layer, 1024 -> 1024, threshold output.

The input is real (packed by the model) and the output is unpacked to +-1.0, like conv64.onnx;
BatchNorm and sign fold into integer thresholds. 1 048 576 binary MACs.

    python examples/bench/make_dense1024.py
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

N = 1024


def build(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(np.where(rng.standard_normal((N, N)) >= 0, 1.0, -1.0).astype(np.float32), "weight"),
        numpy_helper.from_array((rng.uniform(0.5, 2.0, N) * rng.choice([-1, 1], N)).astype(np.float32), "gamma"),
        numpy_helper.from_array(rng.standard_normal(N).astype(np.float32), "beta"),
        numpy_helper.from_array((rng.standard_normal(N) * 8).astype(np.float32), "mean"),
        numpy_helper.from_array(rng.uniform(500, 1500, N).astype(np.float32), "var"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(-1.0, np.float32), "minus_one"),
    ]
    nodes = [
        helper.make_node("GreaterOrEqual", ["input", "zero"], ["in_ge"], name="sign_in_cmp"),
        helper.make_node("Where", ["in_ge", "one", "minus_one"], ["in_bits"], name="sign_in"),
        helper.make_node("MatMul", ["in_bits", "weight"], ["acc"], name="dense"),
        helper.make_node("BatchNormalization", ["acc", "gamma", "beta", "mean", "var"], ["bn"], name="bn"),
        helper.make_node("GreaterOrEqual", ["bn", "zero"], ["out_ge"], name="sign_out_cmp"),
        helper.make_node("Where", ["out_ge", "one", "minus_one"], ["output"], name="sign_out"),
    ]
    graph = helper.make_graph(nodes, "dense1024", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, N])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, N])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    path = Path(__file__).with_name("dense1024.onnx")
    onnx.save(build(), path)
    print(f"wrote {path}")
