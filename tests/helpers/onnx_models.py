"""Build small BNN ONNX models with onnx.helper, the way exporters write them."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class GraphParts:
    """Nodes and initializers with fresh names; `node` and `const` return the new tensor's name."""

    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def _name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}_{self.count}"

    def const(self, value, kind="c") -> str:
        name = self._name(kind)
        self.inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def node(self, op, inputs, **attrs) -> str:
        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out + "_node", **attrs))
        return out


class ModelBuilder(GraphParts):
    """Append nodes to a batch-1 graph; every method returns the new tensor name."""

    def __init__(self, input_shape, seed: int = 0, opset: int = 17):
        super().__init__()
        self.rng = np.random.default_rng(seed)
        self.input_shape = [1, *input_shape]
        self.opset = opset

    # --- layers -----------------------------------------------------------------------------
    def binary_weights(self, shape, alpha=None, via="sign") -> str:
        latent = self.rng.standard_normal(shape).astype(np.float32)
        latent[latent == 0] = 0.5
        if via == "sign":  # a constant subgraph the frontend must fold
            return self.node("Sign", [self.const(latent, "latent")])
        if via == "where":
            cond = self.node("GreaterOrEqual", [self.const(latent, "latent"), self.const(0.0)])
            return self.node("Where", [cond, self.const(1.0), self.const(-1.0)])
        signs = np.where(latent >= 0, 1.0, -1.0).astype(np.float32)
        if alpha is not None:
            signs = signs * np.asarray(alpha, np.float32).reshape((-1,) + (1,) * (len(shape) - 1))
        return self.const(signs, "w")

    def conv(self, x, c_in, c_out, k, stride=1, pads=(0, 0, 0, 0), dil=1, bias=False, via="sign", alpha=None):
        w = self.binary_weights((c_out, c_in, k, k), alpha=alpha, via=via)
        inputs = [x, w]
        if bias:
            inputs.append(self.const(self.rng.standard_normal(c_out) * 2))
        return self.node("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride], pads=list(pads),
                         dilations=[dil, dil])

    def gemm(self, x, k, n, bias=False, via="sign", alpha=None):
        w = self.binary_weights((n, k), alpha=alpha, via=via)
        inputs = [x, w]
        if bias:
            inputs.append(self.const(self.rng.standard_normal(n) * 2))
        return self.node("Gemm", inputs, transB=1)

    def batchnorm(self, x, c, fan_in=16, zero_gamma=False, negative_gamma=True):
        gamma = self.rng.uniform(0.5, 2.0, c) * (np.where(self.rng.random(c) < 0.5, -1, 1) if negative_gamma else 1)
        if zero_gamma:
            gamma[self.rng.random(c) < 0.25] = 0.0
        beta = self.rng.standard_normal(c)
        mean = self.rng.standard_normal(c) * np.sqrt(fan_in)
        var = self.rng.uniform(0.5, 2.0, c) * fan_in
        return self.node("BatchNormalization", [x, self.const(gamma), self.const(beta), self.const(mean),
                                                self.const(var)], epsilon=1e-5)

    def sign(self, x, form="where"):
        if form == "sign":
            return self.node("Sign", [x])
        if form == "less":
            cond = self.node("Less", [x, self.const(0.0)])
            return self.node("Where", [cond, self.const(-1.0), self.const(1.0)])
        cond = self.node("GreaterOrEqual", [x, self.const(0.0)])
        return self.node("Where", [cond, self.const(1.0), self.const(-1.0)])

    def maxpool(self, x, k=2, stride=2, pads=(0, 0, 0, 0)):
        return self.node("MaxPool", [x], kernel_shape=[k, k], strides=[stride, stride], pads=list(pads))

    def flatten(self, x):
        return self.node("Flatten", [x], axis=1)

    def shape(self, x: str) -> tuple[int, ...]:
        """The inferred shape of tensor x, batch included."""
        if x == "input":
            return tuple(self.input_shape)
        graph = helper.make_graph(self.nodes, "partial",
                                  [helper.make_tensor_value_info("input", TensorProto.FLOAT, self.input_shape)],
                                  [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        for value in list(inferred.graph.value_info) + list(inferred.graph.output):
            if value.name == x:
                return tuple(d.dim_value for d in value.type.tensor_type.shape.dim)
        raise KeyError(x)

    def build(self, output: str) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, "bnn",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, self.input_shape)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, None])],
            initializer=self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model

    def start(self) -> str:
        return "input"


def mlp(seed=0, sizes=(64, 96, 40, 10), sign_form="where") -> onnx.ModelProto:
    b = ModelBuilder((sizes[0],), seed)
    x = b.start()
    for i, (k, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        x = b.gemm(x, k, n, bias=(i % 2 == 0))
        x = b.batchnorm(x, n, fan_in=k)
        if i < len(sizes) - 2:
            x = b.sign(x, sign_form)
    return b.build(x)


def cnn(seed=0) -> onnx.ModelProto:
    b = ModelBuilder((1, 8, 8), seed)
    x = b.conv(b.start(), 1, 16, 3, pads=(1, 1, 1, 1))
    x = b.sign(b.batchnorm(x, 16, fan_in=9))
    x = b.conv(x, 16, 40, 3, pads=(1, 1, 1, 1))
    x = b.maxpool(x)
    x = b.sign(b.batchnorm(x, 40, fan_in=144))
    x = b.conv(x, 40, 33, 3, pads=(1, 1, 1, 1), stride=2)
    x = b.sign(b.batchnorm(x, 33, fan_in=360))
    x = b.flatten(x)
    x = b.gemm(x, 33 * 2 * 2, 10)
    x = b.batchnorm(x, 10, fan_in=132)
    return b.build(x)
