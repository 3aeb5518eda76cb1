"""The mixed-precision float kernels against onnxruntime's CPU kernels, on ~1e6 hard float32
values each (+-0, denormals, huge values, infinities): bit for bit for every elementwise kernel,
within a stated tolerance where onnxruntime sums in an order the C kernel cannot share."""

from __future__ import annotations

import numpy as np
import pytest

from bnn_ctypes import BCAST_CHANNEL, BCAST_FULL, BCAST_PLANE, BCAST_SCALAR, Window
from ort_single_op import hard_floats, run_op, same_floats

C, H, W = 16, 250, 250  # 1e6 elements


@pytest.fixture(scope="module")
def x():
    return hard_floats(np.random.default_rng(8), C * H * W).reshape(C, H, W)


def _assert_exact(got, want):
    ok = same_floats(got, want)
    assert ok.all(), f"{(~ok).sum()} of {ok.size} differ; first at {np.argwhere(~ok)[0]}: " \
                     f"{got.ravel()[~ok.ravel()][:3]} vs {want.ravel()[~ok.ravel()][:3]}"


def bn_fold(scale, bias, mean, var, eps):
    """The fold the compiler must use (bnn.h, bnn_scale_shift_f32), in float32 steps."""
    f = np.float32
    inv_std = f(1.0) / np.sqrt(var.astype(f) + f(eps))
    s = (inv_std * scale).astype(f)
    t = (bias - mean * s).astype(f)
    return s, t


def test_batchnorm_bit_exact(runtime, x):
    rng = np.random.default_rng(1)
    scale = (rng.standard_normal(C) * 10.0 ** rng.integers(-3, 3, C)).astype(np.float32)
    scale[0] = -0.0
    bias = (rng.standard_normal(C) * 10.0 ** rng.integers(-3, 3, C)).astype(np.float32)
    mean = (rng.standard_normal(C) * 10.0 ** rng.integers(-3, 3, C)).astype(np.float32)
    var = (rng.random(C) * 10.0 ** rng.integers(-6, 3, C)).astype(np.float32)
    var[1] = 0.0
    eps = 1e-5
    want = run_op("BatchNormalization", [x[None]], {"epsilon": eps},
                  {"s": scale, "b": bias, "m": mean, "v": var})[0]
    s, t = bn_fold(scale, bias, mean, var, eps)
    _assert_exact(runtime.scale_shift(x, s, t), want)
    _assert_exact(runtime.scale_shift(x, s, t, ref=True), want)
    y = x.copy()
    runtime.scale_shift(y, s, t, out=y)  # in place
    _assert_exact(y, want)


OPS = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div"}


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("shape_b", ["full", "channel", "plane", "scalar"])
@pytest.mark.parametrize("swap", [False, True])
def test_binary_ops_bit_exact(runtime, x, op, shape_b, swap):
    rng = np.random.default_rng(2)
    shapes = {"full": (C, H, W), "channel": (C, 1, 1), "plane": (1, H, W), "scalar": (1, 1, 1)}
    modes = {"full": BCAST_FULL, "channel": BCAST_CHANNEL, "plane": BCAST_PLANE,
             "scalar": BCAST_SCALAR}
    b = hard_floats(rng, int(np.prod(shapes[shape_b]))).reshape(shapes[shape_b])
    if shape_b == "full":
        b = rng.permutation(x.ravel()).reshape(x.shape)
    a, am, bb, bm = x, BCAST_FULL, b, modes[shape_b]
    if swap:
        a, am, bb, bm = b, modes[shape_b], x, BCAST_FULL
    with np.errstate(all="ignore"):
        want = run_op(OPS[op], [a[None] if a.shape == (C, H, W) else a, bb[None] if bb.shape == (C, H, W) else bb])
    want = want.reshape(C, H, W)
    _assert_exact(runtime.binary(op, a, am, bb, bm, (C, H, W)), want)
    _assert_exact(runtime.binary(op, a, am, bb, bm, (C, H, W), ref=True), want)
    full = a if am == BCAST_FULL else bb
    inplace = full.copy()
    args = (inplace, am, bb, bm) if am == BCAST_FULL else (a, am, inplace, bm)
    runtime.binary(op, *args, (C, H, W), out=inplace)
    _assert_exact(inplace, want)


@pytest.mark.parametrize("case", ["relu", "leaky", "leaky_neg", "prelu", "clip", "clip0",
                                  "clip_lo_only", "clip_hi_only"])
def test_activations_bit_exact(runtime, x, case):
    rng = np.random.default_rng(3)
    slope = (rng.standard_normal(C) * 10.0 ** rng.integers(-2, 2, C)).astype(np.float32)
    slope[0] = 0.0
    slope[1] = -0.0
    fmax = float(np.finfo(np.float32).max)  # onnxruntime's default bound, not infinity
    table = {
        "relu": ("Relu", [], {}, {}, ("relu",)),
        "leaky": ("LeakyRelu", [], {"alpha": 0.1}, {}, ("leaky_relu", 0.1)),
        "leaky_neg": ("LeakyRelu", [], {"alpha": -1.5}, {}, ("leaky_relu", -1.5)),
        "prelu": ("PRelu", [], {}, {"slope": slope.reshape(C, 1, 1)}, ("prelu", slope)),
        "clip": ("Clip", [], {}, {"lo": np.float32(-0.5), "hi": np.float32(2.0)},
                 ("clip", -0.5, 2.0)),
        "clip0": ("Clip", [], {}, {"lo": np.float32(0.0), "hi": np.float32(6.0)},
                  ("clip", 0.0, 6.0)),
        "clip_lo_only": ("Clip", [], {}, {"lo": np.float32(-1.0)}, ("clip", -1.0, fmax)),
        "clip_hi_only": ("Clip", [], {}, {"lo": np.float32(-fmax), "hi": np.float32(1.0)},
                         ("clip", -fmax, 1.0)),
    }
    op, _, attrs, consts, call = table[case]
    with np.errstate(all="ignore"):
        want = run_op(op, [x[None]], attrs, consts)[0]
    _assert_exact(runtime.activation(call[0], x, *call[1:]), want)
    _assert_exact(runtime.activation(call[0], x, *call[1:], ref=True), want)
    y = x.copy()
    runtime.activation(call[0], y, *call[1:], out=y)
    _assert_exact(y, want)
