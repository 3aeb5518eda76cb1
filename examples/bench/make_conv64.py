"""Write conv64.onnx: the acceptance layer of the Cortex-M issue.

A binary 3x3 convolution, 64 -> 64 channels, 16x16 input, stride 1, pad 1, with BatchNorm and sign
folded into thresholds. The input is real (packed by the model) and the output is unpacked to +-1.0, so
a benchmark of the whole inference counts input packing and output unpacking too.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    weights = np.where(rng.standard_normal((64, 64, 3, 3)) >= 0, 1.0, -1.0).astype(np.float32)
    channels = 64
    inits = [
        numpy_helper.from_array(weights, "weight"),
        numpy_helper.from_array(rng.uniform(0.5, 2.0, channels).astype(np.float32) * rng.choice([-1, 1], channels).astype(np.float32), "gamma"),
        numpy_helper.from_array(rng.standard_normal(channels).astype(np.float32), "beta"),
        numpy_helper.from_array((rng.standard_normal(channels) * 8).astype(np.float32), "mean"),
        numpy_helper.from_array(rng.uniform(100, 600, channels).astype(np.float32), "var"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(-1.0, np.float32), "minus_one"),
    ]
    nodes = [
        helper.make_node("GreaterOrEqual", ["input", "zero"], ["in_ge"], name="sign_in_cmp"),
        helper.make_node("Where", ["in_ge", "one", "minus_one"], ["in_bits"], name="sign_in"),
        helper.make_node("Conv", ["in_bits", "weight"], ["acc"], name="conv", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["acc", "gamma", "beta", "mean", "var"], ["bn"], name="bn"),
        helper.make_node("GreaterOrEqual", ["bn", "zero"], ["out_ge"], name="sign_out_cmp"),
        helper.make_node("Where", ["out_ge", "one", "minus_one"], ["output"], name="sign_out"),
    ]
    graph = helper.make_graph(nodes, "conv64", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 64, 16, 16])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 64, 16, 16])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    path = Path(__file__).with_name("conv64.onnx")
    onnx.save(build(), path)
    print(f"wrote {path}")
