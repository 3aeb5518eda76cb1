"""Small mixed-precision ONNX models (Bi-Real, ReActNet, BinaryDenseNet, BN-free blocks), built with
onnx.helper the way exporters write them."""

from __future__ import annotations

import numpy as np

from .onnx_models import ModelBuilder


class MixedBuilder(ModelBuilder):
    def real_conv(self, x, c_in, c_out, k, stride=1, pad=0, bias=True, group=1):
        w = self.const(self.rng.standard_normal((c_out, c_in // group, k, k)) / np.sqrt(c_in // group * k * k), "w")
        inputs = [x, w] + ([self.const(self.rng.standard_normal(c_out) * 0.1)] if bias else [])
        return self.node("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, group=group)

    def real_gemm(self, x, k, n, bias=True):
        w = self.const(self.rng.standard_normal((n, k)) / np.sqrt(k), "w")
        inputs = [x, w] + ([self.const(self.rng.standard_normal(n) * 0.1)] if bias else [])
        return self.node("Gemm", inputs, transB=1)

    def bn(self, x, c, spread=1.0):
        """A BatchNorm on a real stream (moderate statistics)."""
        gamma = self.rng.uniform(0.5, 1.5, c)
        beta = self.rng.standard_normal(c) * 0.1
        mean = self.rng.standard_normal(c) * spread
        var = self.rng.uniform(0.5, 2.0, c) * spread * spread
        return self.node("BatchNormalization", [x, self.const(gamma), self.const(beta), self.const(mean),
                                                self.const(var)], epsilon=1e-5)

    def chan(self, c, scale=0.1, offset=0.0):
        return self.const(self.rng.standard_normal((1, c, 1, 1)) * scale + offset)

    def add(self, a, b):
        return self.node("Add", [a, b])

    def prelu(self, x, c):
        return self.node("PRelu", [x, self.const(self.rng.uniform(0.05, 0.3, (c, 1, 1)))])

    def rprelu(self, x, c):
        """ReActNet's RPReLU: shift, PReLU, shift."""
        x = self.node("Add", [x, self.chan(c)])
        x = self.prelu(x, c)
        return self.node("Add", [x, self.chan(c)])

    def rsign(self, x, c):
        """ReActNet's RSign: sign(x - b_c)."""
        return self.sign(self.node("Sub", [x, self.chan(c)]), "sign")

    def concat(self, *xs):
        return self.node("Concat", list(xs), axis=1)

    def avgpool(self, x, k=2, stride=2, pads=(0, 0, 0, 0), count_include_pad=0, ceil_mode=0):
        return self.node("AveragePool", [x], kernel_shape=[k, k], strides=[stride, stride], pads=list(pads),
                         count_include_pad=count_include_pad, ceil_mode=ceil_mode)

    def gap(self, x):
        return self.node("GlobalAveragePool", [x])

    def head(self, x, c, classes=10):
        """GlobalAveragePool -> Flatten -> real Gemm."""
        return self.real_gemm(self.flatten(self.gap(x)), c, classes)


def bireal(seed=0, c=16, hw=8) -> "onnx.ModelProto":  # noqa: F821
    """Real stem conv; two Bi-Real blocks (sign -> binary 3x3 conv -> BN, plus the real shortcut);
    a downsampling block with AvgPool + real 1x1 conv shortcut; GAP + real Gemm."""
    b = MixedBuilder((3, hw, hw), seed)
    x = b.bn(b.real_conv(b.start(), 3, c, 3, pad=1), c)
    for _ in range(2):
        y = b.batchnorm(b.conv(b.sign(x, "sign"), c, c, 3, pads=(1, 1, 1, 1)), c, fan_in=9 * c)
        x = b.add(y, x)
    short = b.bn(b.real_conv(b.avgpool(x), c, 2 * c, 1, bias=False), 2 * c)
    y = b.batchnorm(b.conv(b.sign(x, "sign"), c, 2 * c, 3, stride=2, pads=(1, 1, 1, 1)), 2 * c, fan_in=9 * c)
    x = b.add(y, short)
    return b.build(b.head(x, 2 * c))


def reactnet(seed=0, c=16, hw=8) -> "onnx.ModelProto":  # noqa: F821
    """Real stem; a ReActNet block: RSign -> binary 3x3 -> BN + shortcut -> RPReLU; then a reduction
    block: RSign -> two binary 1x1 convs concatenated (channel doubling) + AvgPool shortcut
    concatenated twice; GAP + real Gemm."""
    b = MixedBuilder((3, hw, hw), seed)
    x = b.bn(b.real_conv(b.start(), 3, c, 3, pad=1), c)
    y = b.batchnorm(b.conv(b.rsign(x, c), c, c, 3, pads=(1, 1, 1, 1)), c, fan_in=9 * c)
    x = b.rprelu(b.add(y, x), c)
    s = b.rsign(x, c)
    pooled = b.avgpool(x)
    halves = []
    for _ in range(2):
        y = b.batchnorm(b.conv(b.avgpool(s) if False else s, c, c, 1, stride=2), c, fan_in=c)
        halves.append(y)
    y = b.concat(*halves)
    x = b.rprelu(b.add(y, b.concat(pooled, pooled)), 2 * c)
    return b.build(b.head(x, 2 * c))


def densenet(seed=0, c=12, growth=5, hw=8) -> "onnx.ModelProto":  # noqa: F821
    """Real stem; a BinaryDenseNet dense block (BN -> sign -> binary 3x3 conv; features concatenated as bits,
    odd channel counts); transition MaxPool -> ReLU -> real 1x1 conv; GAP + real Gemm."""
    b = MixedBuilder((3, hw, hw), seed)
    x = b.sign(b.batchnorm(b.real_conv(b.start(), 3, c, 3, pad=1), c, fan_in=9), "sign")
    channels = c
    for _ in range(2):
        y = b.sign(b.batchnorm(b.conv(x, channels, growth, 3, pads=(1, 1, 1, 1)), growth, fan_in=9 * channels),
                   "sign")
        x = b.concat(x, y)
        channels += growth
    x = b.node("Relu", [b.maxpool(x)])
    x = b.bn(b.real_conv(x, channels, 16, 1), 16)
    return b.build(b.head(x, 16))


def bnfree(seed=0, c=16, hw=8) -> "onnx.ModelProto":  # noqa: F821
    """BN-free ReActNet-style block: Mul/Add by constants around a binary conv (no BatchNorm)."""
    b = MixedBuilder((3, hw, hw), seed)
    x = b.real_conv(b.start(), 3, c, 3, pad=1)
    for _ in range(2):
        s = b.rsign(b.node("Mul", [x, b.const(np.float32(0.8))]), c)
        y = b.conv(s, c, c, 3, pads=(1, 1, 1, 1))
        y = b.node("Add", [b.node("Mul", [y, b.chan(c, 0.02, 0.05)]), b.chan(c)])
        x = b.rprelu(b.add(y, x), c)
    return b.build(b.head(x, c))
