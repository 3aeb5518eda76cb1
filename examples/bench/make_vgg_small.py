"""Write vgg_small.onnx: the BinaryNet VGG-small of the speed issue, random +-1 weights.

CIFAR-10 shape: a real 3x32x32 input, binary 3x3 convs 64-64-128-128-256-256 (pad 1), a max-pool
after every second one, binary dense 4096 -> 512 -> 10; BatchNorm and sign after every layer but the
last (BatchNorm only, real logits). The first conv sees the real input (binary weights); every
other layer is XNOR-popcount. 3.25 M weights, 153 M binary MACs. Only for speed: the weights are
random, not trained.

    python examples/bench/make_vgg_small.py [--uint8 | --uint8-centered]

--uint8 writes vgg_small_u8.onnx: the same network on a uint8 image, `x.float() / 255` in front of conv1
(Cast + Div, as torch.onnx.export writes it); bnncc then runs conv1 on the integers (bnn_conv2d_u8_thresh),
with a float fix-up of the channels whose integer threshold is not provable (1 of 64 here).
--uint8-centered writes vgg_small_u8c.onnx: `(x.float() - 128) / 128`, exact in integers (no fix-up).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CONVS = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256)]
DENSE = [(4096, 512), (512, 10)]


def signs(rng, shape) -> np.ndarray:
    return np.where(rng.standard_normal(shape) >= 0, 1.0, -1.0).astype(np.float32)


def batchnorm(rng, nodes, inits, x: str, name: str, channels: int, fan_in: int) -> str:
    """BatchNorm whose mean / variance resemble a trained binary layer's statistics."""
    spread = np.sqrt(fan_in)
    params = {
        "gamma": rng.uniform(0.5, 2.0, channels) * rng.choice([-1, 1], channels),
        "beta": rng.standard_normal(channels),
        "mean": rng.standard_normal(channels) * spread / 4,
        "var": rng.uniform(0.5, 1.5, channels) * fan_in,
    }
    for key, value in params.items():
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_{key}"))
    nodes.append(helper.make_node("BatchNormalization", [x] + [f"{name}_{k}" for k in params],
                                  [f"{name}_bn"], name=f"{name}_bn"))
    return f"{name}_bn"


def sign(nodes, x: str, name: str) -> str:
    nodes.append(helper.make_node("GreaterOrEqual", [x, "zero"], [f"{name}_ge"], name=f"{name}_cmp"))
    nodes.append(helper.make_node("Where", [f"{name}_ge", "one", "minus_one"], [f"{name}_sign"],
                                  name=f"{name}_sign"))
    return f"{name}_sign"


def build(seed: int = 0, uint8: bool = False, centered: bool = False) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(np.array(v, np.float32), n)
             for n, v in (("zero", 0.0), ("one", 1.0), ("minus_one", -1.0))]
    nodes: list = []
    x = "input"
    if uint8 and not centered:  # x.float() / 255
        inits.append(numpy_helper.from_array(np.array(255.0, np.float32), "scale255"))
        nodes += [helper.make_node("Cast", [x], ["input_f"], name="cast", to=TensorProto.FLOAT),
                  helper.make_node("Div", ["input_f", "scale255"], ["input_n"], name="div255")]
        x = "input_n"
    elif uint8:  # (x.float() - 128) / 128
        inits.append(numpy_helper.from_array(np.array(128.0, np.float32), "k128"))
        nodes += [helper.make_node("Cast", [x], ["input_f"], name="cast", to=TensorProto.FLOAT),
                  helper.make_node("Sub", ["input_f", "k128"], ["input_c"], name="sub128"),
                  helper.make_node("Div", ["input_c", "k128"], ["input_n"], name="div128")]
        x = "input_n"
    for i, (c_in, c_out) in enumerate(CONVS):
        name = f"conv{i + 1}"
        inits.append(numpy_helper.from_array(signs(rng, (c_out, c_in, 3, 3)), f"{name}_w"))
        nodes.append(helper.make_node("Conv", [x, f"{name}_w"], [f"{name}_out"], name=name,
                                      kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        x = f"{name}_out"
        if i % 2 == 1:
            nodes.append(helper.make_node("MaxPool", [x], [f"pool{i // 2 + 1}"], name=f"pool{i // 2 + 1}",
                                          kernel_shape=[2, 2], strides=[2, 2]))
            x = f"pool{i // 2 + 1}"
        x = sign(nodes, batchnorm(rng, nodes, inits, x, name, c_out, 9 * c_in), name)
    nodes.append(helper.make_node("Flatten", [x], ["flat"], name="flatten"))
    x = "flat"
    for i, (n_in, n_out) in enumerate(DENSE):
        name = f"fc{i + 1}"
        inits.append(numpy_helper.from_array(signs(rng, (n_in, n_out)), f"{name}_w"))
        nodes.append(helper.make_node("MatMul", [x, f"{name}_w"], [f"{name}_out"], name=name))
        x = batchnorm(rng, nodes, inits, f"{name}_out", name, n_out, n_in)
        if i + 1 < len(DENSE):
            x = sign(nodes, x, name)
    nodes.append(helper.make_node("Identity", [x], ["logits"], name="logits"))
    graph = helper.make_graph(
        nodes, "vgg_small", [helper.make_tensor_value_info("input", TensorProto.UINT8 if uint8 else TensorProto.FLOAT,
                                                           [1, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    import sys

    centered = "--uint8-centered" in sys.argv[1:]
    uint8 = centered or "--uint8" in sys.argv[1:]
    name = "vgg_small_u8c" if centered else "vgg_small_u8" if uint8 else "vgg_small"
    path = Path(__file__).with_name(f"{name}.onnx")
    onnx.save(build(uint8=uint8, centered=centered), path)
    print(f"wrote {path}")
