"""Random small mixed-precision BNN graphs (Bi-Real, ReActNet, BinaryDenseNet, BN-free idioms) for
property tests, built with onnx.helper and valid per onnx.checker and strict shape inference.

`random_dag(seed)` draws everything from one seed (hypothesis draws the seed), so a failing example is
reproduced by `random_dag(seed)` and saved with `onnx.save`.

Exactness. Inputs come from `dag_inputs` (a dyadic grid). When `exact` is drawn, every constant on a
real stream is dyadic with few mantissa bits (weights k/8, BN with var + eps a power of 4 so that
1/sqrt(var + eps) is a power of 2, PReLU/LeakyReLU slopes k/8, average pools whose divisors are powers of
2). Most float operations of such a network are then exact in float32, whatever the summation order (deep
ones can outgrow the 24-bit mantissa), and exact ties are common: Sign meeting an exact 0, an accumulator
landing on its threshold. When `exact` is not drawn, constants are ordinary floats. Elementwise steps stay
exact per operation (the C must do the same operations in the same order as onnxruntime). But a float sum
over non-grid values, such as a real conv after the first layer, a 3x3 average pool or the global average
pool, can round differently from onnxruntime's order. The tests let `verify --layers` classify every
difference and accept only proven near-zero flips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper

from tests.helpers.onnx_models import GraphParts

OPSETS = (13, 14, 15, 16, 17)
ODD_CHANNELS = (1, 3, 5, 7, 9, 13, 33)
CHANNELS = (2, 3, 4, 5, 7, 8, 9, 12, 16, 31, 32, 33)


@dataclass
class T:
    """A tensor of the graph being built: kind 'real' or 'bits' (+-1 float values), shape (C, H, W)."""

    name: str
    kind: str
    c: int
    h: int
    w: int


class DagBuilder(GraphParts):
    def __init__(self, seed: int):
        super().__init__()
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.exact = bool(self.rng.random() < 0.5)
        self.opset = int(self.rng.choice(OPSETS))
        self.ops: list[str] = []  # a trace of the blocks drawn, for failure messages

    # ------------------------------------------------------------------------------ plumbing
    def choice(self, options):
        return options[int(self.rng.integers(len(options)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def dyadic(self, shape, step: float, limit: float, nonzero=False) -> np.ndarray:
        k = int(round(limit / step))
        values = np.asarray(self.rng.integers(-k, k + 1, size=shape) * step)
        if nonzero:
            values[values == 0] = step
        return values.astype(np.float32)

    def real_const(self, shape, step, limit, scale=1.0, nonzero=False) -> np.ndarray:
        """Dyadic in exact mode, an ordinary float otherwise."""
        if self.exact:
            return self.dyadic(shape, step, limit, nonzero)
        values = np.asarray(self.rng.standard_normal(shape) * scale)
        if nonzero:
            values[values == 0] = 0.5
        return values.astype(np.float32)

    def per_channel(self, values: np.ndarray) -> str:
        return self.const(values.reshape(-1, 1, 1))

    # -------------------------------------------------------------------------------- layers
    def sign(self, x: T) -> T:
        """Sign or the Where idiom; the result holds +-1 values (bits)."""
        form = self.choice(["sign", "sign", "where"])
        if form == "sign":
            out = self.node("Sign", [x.name])
        else:
            cond = self.node("GreaterOrEqual", [x.name, self.const(0.0)])
            out = self.node("Where", [cond, self.const(1.0), self.const(-1.0)])
        return T(out, "bits", x.c, x.h, x.w)

    def rsign(self, x: T) -> T:
        """ReActNet's RSign: sign(x - b_c)."""
        shift = self.real_const((x.c,), 0.125, 1.0, scale=0.5)
        return self.sign(T(self.node("Sub", [x.name, self.per_channel(shift)]), "real", x.c, x.h, x.w))

    def binarize(self, x: T) -> T:
        if x.kind == "bits":
            return x
        return self.rsign(x) if self.chance(0.4) else self.sign(x)

    def binary_weights(self, c_out, c_in, k) -> str:
        signs = np.where(self.rng.random((c_out, c_in, k, k)) < 0.5, -1.0, 1.0).astype(np.float32)
        if self.chance(0.3):  # +-alpha_c (XNOR-Net scale), dyadic so that alpha * integer stays exact
            alpha = self.rng.integers(2, 33, c_out).astype(np.float32) / 16
            return self.const(signs * alpha.reshape(-1, 1, 1, 1), "w")
        if self.chance(0.3):  # a constant subgraph the frontend folds
            latent = signs * self.rng.uniform(0.1, 1.0, signs.shape).astype(np.float32)
            return self.node("Sign", [self.const(latent, "latent")])
        return self.const(signs, "w")

    def conv(self, x: T, c_out: int, k: int, stride=1, binary=True, bias=False) -> T:
        pad = k // 2
        w = self.binary_weights(c_out, x.c, k) if binary else self.const(
            self.dyadic((c_out, x.c, k, k), 0.125, 1.0, nonzero=True) if self.exact or x.name == "input"
            else (self.rng.standard_normal((c_out, x.c, k, k)) / np.sqrt(x.c * k * k)).astype(np.float32), "wr")
        inputs = [x.name, w]
        if bias:
            inputs.append(self.const(self.real_const((c_out,), 0.125, 1.0)))
        out = self.node("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)
        h = (x.h + 2 * pad - k) // stride + 1
        w_ = (x.w + 2 * pad - k) // stride + 1
        return T(out, "real", c_out, h, w_)

    def batchnorm(self, x: T, fan_in: int = 1) -> T:
        c = x.c
        if self.exact:
            eps = 2.0 ** -8
            gamma = self.rng.integers(2, 7, c) / 4 * np.where(self.rng.random(c) < 0.3, -1, 1)
            beta = self.dyadic((c,), 0.125, 1.0)
            mean = self.dyadic((c,), 0.25, 2.0) * (np.sqrt(fan_in) if fan_in > 4 else 1)
            mean = np.round(mean * 4) / 4
            var = 4.0 ** self.rng.integers(0, 3, c) - eps  # var + eps = 1, 4 or 16
        else:
            eps = 1e-5
            gamma = self.rng.uniform(0.5, 2.0, c) * np.where(self.rng.random(c) < 0.3, -1, 1)
            beta = self.rng.standard_normal(c)
            mean = self.rng.standard_normal(c) * np.sqrt(fan_in)
            var = self.rng.uniform(0.5, 2.0, c) * fan_in
        out = self.node("BatchNormalization", [x.name, *(self.const(v) for v in (gamma, beta, mean, var))],
                        epsilon=float(np.float32(eps)))
        return T(out, "real", c, x.h, x.w)

    def scale_shift(self, x: T) -> T:
        """BN-free: Mul by a (per-channel or scalar) constant, then Add a constant."""
        per_channel = self.chance(0.5)
        shape = (x.c,) if per_channel else ()
        mul = self.real_const(shape, 0.25, 2.0, nonzero=True)
        add = self.real_const(shape, 0.125, 1.0)
        m = self.node("Mul", [x.name, self.per_channel(mul) if per_channel else self.const(mul)])
        a = self.node("Add", [m, self.per_channel(add) if per_channel else self.const(add)])
        return T(a, "real", x.c, x.h, x.w)

    def normalize(self, x: T, fan_in: int) -> T:
        return self.batchnorm(x, fan_in) if self.chance(0.75) else self.scale_shift(x)

    def activation(self, x: T) -> T:
        op = self.choice(["rprelu", "prelu", "relu", "leaky", "clip", "none"])
        self.ops.append(op)
        if op == "none":
            return x
        if op in ("rprelu", "prelu"):
            name = x.name
            if op == "rprelu":
                name = self.node("Add", [name, self.per_channel(self.real_const((x.c,), 0.125, 1.0, 0.3))])
            slope = self.per_channel(self.real_const((x.c,), 0.125, 1.0, 0.3))
            name = self.node("PRelu", [name, slope])
            if op == "rprelu":
                name = self.node("Add", [name, self.per_channel(self.real_const((x.c,), 0.125, 1.0, 0.3))])
        elif op == "relu":
            name = self.node("Relu", [x.name])
        elif op == "leaky":
            alphas = [0.125, 0.25] if self.exact else [0.125, 0.25, 0.1, 0.01]
            name = self.node("LeakyRelu", [x.name], alpha=float(self.choice(alphas)))
        else:
            lo = float(self.choice([-1.0, -2.0, -0.5]))
            name = self.node("Clip", [x.name, self.const(lo), self.const(-lo)])
        return T(name, "real", x.c, x.h, x.w)

    def add(self, a: T, b: T) -> T:
        assert (a.c, a.h, a.w) == (b.c, b.h, b.w)
        return T(self.node("Add", [a.name, b.name]), "real", a.c, a.h, a.w)

    def concat(self, parts: list[T]) -> T:
        kinds = {p.kind for p in parts}
        assert len({(p.h, p.w) for p in parts}) == 1
        out = self.node("Concat", [p.name for p in parts], axis=1)
        return T(out, "bits" if kinds == {"bits"} else "real", sum(p.c for p in parts), parts[0].h, parts[0].w)

    def maxpool(self, x: T) -> T:
        k = 2 if self.chance(0.7) or min(x.h, x.w) < 3 else 3
        stride = 2 if self.chance(0.7) else 1
        out = self.node("MaxPool", [x.name], kernel_shape=[k, k], strides=[stride, stride])
        return T(out, x.kind, x.c, (x.h - k) // stride + 1, (x.w - k) // stride + 1)

    def avgpool(self, x: T, k: int, stride: int, pad: int, ceil_mode: int, include_pad: int) -> T:
        for n in (x.h, x.w):
            span = n + 2 * pad - k
            if ceil_mode and (-(-span // stride)) * stride >= n + pad:
                # the last ceil_mode window would start in the end padding: onnx shape inference keeps it,
                # onnxruntime drops it (the output sizes differ), so such a model is ill-defined: not drawn
                ceil_mode = 0
        out = self.node("AveragePool", [x.name], kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4,
                        ceil_mode=ceil_mode, count_include_pad=include_pad)
        def size(n):
            span = n + 2 * pad - k
            return (-(-span // stride) if ceil_mode else span // stride) + 1
        return T(out, "real", x.c, size(x.h), size(x.w))

    # -------------------------------------------------------------------------------- blocks
    def bireal_block(self, r: T) -> T:
        """sign -> binary conv -> BN (or scale/shift), plus the real input (Bi-Real / ReActNet)."""
        k = self.choice([1, 3, 3])
        y = self.normalize(self.conv(self.binarize(r), r.c, k), r.c * k * k)
        return self.activation(self.add(y, r))

    def down_block(self, r: T) -> T:
        """Downsampling: binary conv stride 2 main path, AvgPool (+ real 1x1 conv) shortcut."""
        c_out = self.choice(CHANNELS)
        main = self.normalize(self.conv(self.binarize(r), c_out, 3, stride=2), r.c * 9)
        # AvgPool 2x2 stride 2 with ceil_mode for odd sizes gives ceil(n/2), as the conv above
        odd = r.h % 2 or r.w % 2
        short = self.avgpool(r, 2, 2, 0, 1 if odd else int(self.chance(0.5)), int(self.chance(0.5)))
        if c_out != r.c or self.chance(0.3):
            short = self.conv(short, c_out, 1, binary=False, bias=self.chance(0.5))
            if self.chance(0.5):
                short = self.batchnorm(short, r.c)
        assert (short.h, short.w) == (main.h, main.w), (short, main, r)
        return self.activation(self.add(main, short))

    def doubling_block(self, r: T) -> T:
        """ReActNet: two 1x1 binary convs on one sign, each plus the input, concatenated (2C, REAL)."""
        s = self.binarize(r)
        halves = [self.activation(self.add(self.normalize(self.conv(s, r.c, 1), r.c), r)) for _ in range(2)]
        return self.concat(halves)

    def dense_block(self, r: T) -> T:
        """BinaryDenseNet: new odd-channel features concatenated to the old ones, as bits or as reals."""
        if self.chance(0.5):
            b = self.binarize(r)
            growth = self.choice(ODD_CHANNELS)
            new = self.sign(self.normalize(self.conv(b, growth, 3), b.c * 9))
            both = self.concat([b, new] if self.chance(0.5) else [new, b])  # BITS concat, odd channels
            if self.chance(0.5) and min(both.h, both.w) >= 2:
                both = self.maxpool(both)  # max pool on bits
            # back to a real stream: binary conv with real output
            return self.normalize(self.conv(both, self.choice(CHANNELS), self.choice([1, 3])), both.c)
        growth = self.choice(ODD_CHANNELS)
        new = self.normalize(self.conv(self.binarize(r), growth, 3), r.c * 9)
        return self.concat([r, new])  # REAL concat, odd channels

    def transition(self, r: T) -> T:
        """BinaryDenseNet transition: MaxPool -> ReLU -> real 1x1 conv; or a 3x3 average pool."""
        if self.chance(0.5):
            x = self.maxpool(r)
            x = T(self.node("Relu", [x.name]), "real", x.c, x.h, x.w)
            return self.conv(x, self.choice(CHANNELS), 1, binary=False, bias=True)
        pad = int(self.chance(0.5))
        k = 2 if self.exact else 3  # a 2x2 window divides by 4, 2 or 1: exact
        return self.avgpool(r, k, self.choice([1, 2]), pad, int(self.chance(0.5)), int(self.chance(0.5)))

    def elementwise(self, r: T) -> T:
        return self.activation(self.scale_shift(r) if self.chance(0.5) else r)

    def stem(self, x: T) -> T:
        c = self.choice(CHANNELS)
        if self.chance(0.75):  # real first conv, float weights
            y = self.conv(x, c, self.choice([3, 3, 1]), binary=False, bias=self.chance(0.5))
            self.ops.append("real-stem")
        else:  # binary weights on the real input
            y = self.conv(x, c, 3)
            self.ops.append("binary-stem")
        return self.activation(self.batchnorm(y, x.c * 9))

    def head(self, r: T) -> tuple[str, int]:
        pooled = self.choice(["gap", "reducemean", "flatten"])
        self.ops.append("head-" + pooled)
        if pooled == "gap":
            x = self.node("GlobalAveragePool", [r.name])
        elif pooled == "reducemean":
            x = self.node("ReduceMean", [r.name], axes=[2, 3], keepdims=1)
        else:
            x = r.name
        k = r.c if pooled != "flatten" else r.c * r.h * r.w
        flat = self.node("Flatten", [x], axis=1)
        n = int(self.rng.integers(2, 11))
        w = (self.rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
        return self.node("Gemm", [flat, self.const(w, "wr"), self.const(self.rng.standard_normal(n) * 0.1)],
                         transB=1), n

    # ------------------------------------------------------------------------------- network
    def build(self) -> onnx.ModelProto:
        c0 = int(self.rng.integers(1, 4))
        h = int(self.rng.integers(5, 11))
        w = int(self.rng.integers(5, 11))
        self.input_shape = [1, c0, h, w]
        r = self.stem(T("input", "real", c0, h, w))
        for _ in range(int(self.rng.integers(2, 5))):
            options = ["bireal", "bireal", "dense", "elementwise", "doubling"]
            if min(r.h, r.w) >= 3:
                options += ["down", "down", "transition"]
            if r.c > 40:
                options = [o for o in options if o not in ("doubling", "dense")] or ["bireal"]
            block = self.choice(options)
            self.ops.append(block)
            r = getattr(self, {"bireal": "bireal_block", "dense": "dense_block", "elementwise": "elementwise",
                               "doubling": "doubling_block", "down": "down_block",
                               "transition": "transition"}[block])(r)
            assert r.kind == "real"
        logits, n = self.head(r)
        graph = helper.make_graph(
            self.nodes, f"random_dag_{self.seed}",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, self.input_shape)],
            [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, n])],
            initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        onnx.shape_inference.infer_shapes(model, strict_mode=True)
        return model


def random_dag(seed: int) -> onnx.ModelProto:
    """One random mixed-precision network; the same seed gives the same model."""
    return DagBuilder(seed).build()


def describe(seed: int) -> str:
    b = DagBuilder(seed)
    b.build()
    return f"seed {seed}: opset {b.opset}, {'exact (dyadic) constants' if b.exact else 'float constants'}, " \
           f"blocks {' '.join(b.ops)}"


def dag_inputs(shape, count: int, seed: int = 0) -> np.ndarray:
    """Inputs on a coarse dyadic grid (multiples of 1/8 in [-2, 2]): with dyadic weights, the first real
    conv's float sum is exact in any order, and later exact-mode sums keep few mantissa bits."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    return (rng.integers(-16, 17, size=(count, size)) / 8.0).astype(np.float32)
