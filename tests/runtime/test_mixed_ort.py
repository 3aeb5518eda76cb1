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


def onnx_pool_out(size, k, stride, pad0, pad1, dil, ceil):
    """AveragePool / MaxPool output length as onnxruntime computes it: with ceil_mode, a last
    window that would start inside the end padding is dropped."""
    span = size + pad0 + pad1 - dil * (k - 1) - 1
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + pad0:
        out -= 1
    return out


def _pool_cases(rng, n, dilations):
    while n > 0:
        c, h, w = int(rng.choice([1, 3, 31, 33])), int(rng.integers(1, 30)), int(rng.integers(1, 30))
        k = (int(rng.integers(1, min(h, 7) + 1)), int(rng.integers(1, min(w, 7) + 1)))
        s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        d = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) if dilations else (1, 1)
        p = [int(rng.integers(0, kk)) if kk > 1 else 0 for kk in (k[0], k[1], k[0], k[1])]
        if (k[0] - 1) * d[0] + 1 > h + p[0] + p[2] or (k[1] - 1) * d[1] + 1 > w + p[1] + p[3]:
            continue
        n -= 1
        yield c, h, w, k, s, d, p, int(rng.integers(0, 2)), int(rng.integers(0, 2))


def _avgpool_pair(runtime, rng, case, opset):
    c, h, w, k, s, d, p, ceil, cip = case
    x = rng.standard_normal((c, h, w)).astype(np.float32)
    attrs = {"kernel_shape": list(k), "strides": list(s), "pads": p, "ceil_mode": ceil,
             "count_include_pad": cip}
    if d != (1, 1):
        attrs["dilations"] = list(d)
    want = run_op("AveragePool", [x[None]], attrs, opset=opset)[0]
    out_hw = (onnx_pool_out(h, k[0], s[0], p[0], p[2], d[0], ceil),
              onnx_pool_out(w, k[1], s[1], p[1], p[3], d[1], ceil))
    assert want.shape[1:] == out_hw
    win = Window(k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1])
    got = runtime.avgpool_f32(x, win, out_hw, p[2], p[3], cip)
    ref = runtime.avgpool_f32(x, win, out_hw, p[2], p[3], cip, ref=True)
    _assert_exact(got, ref)
    return x, got, want


def test_avgpool_opset19_bit_exact(runtime):
    """AveragePool-19 runs onnxruntime's scalar pooling loop: sum from 0.0f row by row, one
    division by the count (ceil_mode partial windows and count_include_pad included)."""
    rng = np.random.default_rng(4)
    for case in _pool_cases(rng, 150, dilations=True):
        _, got, want = _avgpool_pair(runtime, rng, case, opset=19)
        _assert_exact(got, want)


@pytest.mark.parametrize("opset", [11, 17, 18])
def test_avgpool_mlas_bit_exact(runtime, opset):
    """AveragePool-7..18 runs in MLAS (except ceil_mode with count_include_pad): its vector kernel (stride_w <= 2) sums each window column
    first and the column sums after, its scalar loop divides count_include_pad sums by k_h*k_w:
    bnn_avgpool_mlas_f32 does the same, bit for bit. bnn_avgpool_f32 (AveragePool-19's order)
    agrees with it within the rounding of a k-term sum."""
    rng = np.random.default_rng(5)
    for case in _pool_cases(rng, 200, dilations=False):
        c, h, w, k, s, d, p, ceil, cip = case
        x, got19, want = _avgpool_pair(runtime, rng, case, opset=opset)
        win = Window(k[0], k[1], s[0], s[1], p[0], p[1], 1, 1)
        got = runtime.avgpool_f32(x, win, want.shape[1:], p[2], p[3], cip, mlas=True)
        _assert_exact(got, runtime.avgpool_f32(x, win, want.shape[1:], p[2], p[3], cip,
                                               mlas=True, ref=True))
        if ceil and cip:
            # onnxruntime runs ceil_mode with count_include_pad in its own loop, not MLAS:
            # AveragePool-19's order and divisor.
            _assert_exact(got19, want)
            continue
        _assert_exact(got, want)
        bound = 2 * k[0] * k[1] * 2.0**-24 * np.abs(x).max() + 1e-30
        assert np.all(np.abs(got19 - want) <= bound)


@pytest.mark.parametrize("shape", [(3, 1, 1), (5, 7, 7), (33, 13, 17), (16, 64, 64)])
def test_global_means_within_rounding(runtime, shape):
    """GlobalAveragePool (MLAS: 4 lane-wise partial sums, a CPU-specific horizontal add) and
    ReduceMean (Eigen's vectorized sum) add in orders that differ between CPUs; the C kernels
    sum in plane order and divide once, as both do. Bound: the rounding of an n-term sum."""
    x = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    n = shape[1] * shape[2]
    bound = 2 * n * 2.0**-24 * np.abs(x).reshape(shape[0], -1).mean(axis=1) + 1e-30
    for op, name, attrs in [("GlobalAveragePool", "bnn_global_avgpool_f32", {}),
                            ("ReduceMean", "bnn_reduce_mean_hw_f32", {"axes": [2, 3]})]:
        want = run_op(op, [x[None]], attrs, opset=13).ravel()
        got = runtime.global_mean(x, name)
        _assert_exact(got, runtime.global_mean(x, name, ref=True))
        assert np.all(np.abs(got - want) <= bound), op
        if n == 1:
            _assert_exact(got, want)


def _sum_bound(absw, absx, k):
    """Worst-case difference of two float32 evaluations (any order, with or without FMA) of a
    k-term dot product whose exact sum of |w*x| is s: 2 * k * 2^-24 * s."""
    return 2.0 * (k + 1) * 2.0**-24 * absw @ absx + 1e-30


def test_conv_f32w_within_rounding(runtime):
    """onnxruntime's Conv (MLAS im2col + SGEMM with FMA, blocked sums) adds in an order a plain
    C loop cannot share: agreement within the rounding bound of the dot product, per output."""
    rng = np.random.default_rng(7)
    for trial in range(40):
        c_in = int(rng.choice([1, 3, 8, 31, 33]))
        depthwise = trial % 3 == 2
        groups = c_in if depthwise else 1
        c_out = c_in * int(rng.integers(1, 3)) if depthwise else int(rng.choice([1, 3, 16, 33]))
        h, w = int(rng.integers(3, 12)), int(rng.integers(3, 12))
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        p = [int(rng.integers(0, 3)) for _ in range(4)]
        if (k[0] - 1) * d[0] + 1 > h + p[0] + p[2] or (k[1] - 1) * d[1] + 1 > w + p[1] + p[3]:
            continue
        x = rng.standard_normal((c_in, h, w)).astype(np.float32)
        wt = rng.standard_normal((c_out, c_in // groups, *k)).astype(np.float32)
        bias = rng.standard_normal(c_out).astype(np.float32) if trial % 2 else None
        consts = {"w": wt} | ({"b": bias} if bias is not None else {})
        want = run_op("Conv", [x[None]], {"kernel_shape": list(k), "strides": list(s),
                                          "pads": p, "dilations": list(d), "group": groups},
                      consts)[0]
        win = Window(k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1])
        got = runtime.conv2d_f32w(x, wt, win, want.shape[1:], groups, bias)
        _assert_exact(got, runtime.conv2d_f32w(x, wt, win, want.shape[1:], groups, bias,
                                               ref=True))
        # the bound from |w| * |x| (bias counted as one more term)
        absum = run_op("Conv", [np.abs(x)[None]], {"kernel_shape": list(k), "strides": list(s),
                                                  "pads": p, "dilations": list(d),
                                                  "group": groups}, {"w": np.abs(wt)})[0]
        if bias is not None:
            absum = absum + np.abs(bias)[:, None, None]
        kk = c_in // groups * k[0] * k[1] + 1
        assert np.all(np.abs(got - want) <= 2.0 * (kk + 1) * 2.0**-24 * absum * 1.01 + 1e-30)


@pytest.mark.parametrize("n_in,n_out", [(1, 1), (64, 10), (257, 33), (1000, 3)])
def test_dense_f32w_within_rounding(runtime, n_in, n_out):
    rng = np.random.default_rng(n_in)
    x = rng.standard_normal(n_in).astype(np.float32)
    wt = rng.standard_normal((n_out, n_in)).astype(np.float32)
    bias = rng.standard_normal(n_out).astype(np.float32)
    want = run_op("Gemm", [x[None]], {"transB": 1}, {"w": wt, "b": bias}).ravel()
    got = runtime.dense_f32w(x, wt, bias)
    _assert_exact(got, runtime.dense_f32w(x, wt, bias, ref=True))
    bound = _sum_bound(np.abs(wt).astype(np.float64), np.abs(x).astype(np.float64), n_in + 1)
    assert np.all(np.abs(got - want) <= bound + 2.0**-23 * np.abs(bias))
    _assert_exact(runtime.dense_f32w(x, wt), runtime.dense_f32w(x, wt, ref=True))
