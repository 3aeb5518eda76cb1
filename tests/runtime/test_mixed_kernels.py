"""The mixed-precision kernels (bnn.h, "Mixed precision") against their reference twins and a
numpy model, on random shapes with odd channel counts, at -O2 and -Os."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bnn_numpy_model as model
from bnn_cases import geometries, seeds
from bnn_ctypes import BCAST_CHANNEL, BCAST_FULL, BCAST_PLANE, BCAST_SCALAR, words

SETTINGS = settings(max_examples=40, deadline=None)
ODD = [1, 3, 31, 32, 33, 65]


@pytest.fixture(scope="module", params=["O2", "Os"])
def runtime(request, runtime, runtime_compact):
    return runtime if request.param == "O2" else runtime_compact


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def _floats(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-45, 3e38], dtype=np.float32)
    if x.size:
        x.flat[rng.integers(0, x.size, size=min(4, x.size))] = rng.choice(specials, min(4, x.size))
    return x


@SETTINGS
@given(st.lists(st.sampled_from(ODD + [2, 5, 64]), min_size=1, max_size=4), st.integers(1, 4),
       st.integers(1, 4), seeds)
def test_concat_bits(runtime, channels, h, w, seed):
    rng = np.random.default_rng(seed)
    signs = [rng.choice([-1, 1], size=(h, w, c)) for c in channels]
    bits = [model.pack_signs(s) for s in signs]
    got = runtime.concat_bits(bits, channels)
    _same(got, runtime.concat_bits(bits, channels, ref=True))
    _same(got, model.pack_signs(np.concatenate(signs, axis=-1)))
    assert model.tail_bits_clear(got, sum(channels))


@SETTINGS
@given(st.lists(st.sampled_from(ODD), min_size=1, max_size=3), st.integers(1, 5),
       st.integers(1, 5), seeds)
def test_concat_f32(runtime, channels, h, w, seed):
    rng = np.random.default_rng(seed)
    xs = [_floats(rng, (c, h, w)) for c in channels]
    got = runtime.concat_f32(xs)
    _same(got, runtime.concat_f32(xs, ref=True))
    _same(got, np.concatenate(xs, axis=0))


@SETTINGS
@given(st.sampled_from(ODD), st.integers(1, 5), st.integers(1, 5), st.booleans(), seeds)
def test_pack_thresh(runtime, c, h, w, use_flip, seed):
    rng = np.random.default_rng(seed)
    x = _floats(rng, (c, h, w))
    x.flat[rng.integers(0, x.size)] = np.nan
    thresh = x[:, rng.integers(0, h), rng.integers(0, w)].copy()  # ties on purpose
    thresh[rng.integers(0, c)] = -np.inf
    thresh[rng.integers(0, c)] = np.nan
    flip_ch = rng.random(c) < 0.5 if use_flip else np.zeros(c, bool)
    flip = model.pack_signs(np.where(flip_ch, 1, -1)) if use_flip else None
    got = runtime.pack_thresh(x, thresh, flip)
    _same(got, runtime.pack_thresh(x, thresh, flip, ref=True))
    t = thresh[:, None, None]
    with np.errstate(invalid="ignore"):
        bit = np.where(flip_ch[:, None, None], x <= t, x >= t)
    _same(got, model.pack_signs(np.where(bit, 1, -1).transpose(1, 2, 0)))
    assert model.tail_bits_clear(got, c)
    # threshold 0 without flip is the plain sign pack
    _same(runtime.pack_thresh(x, np.zeros(c, np.float32)), runtime.pack_chw_f32(x))


@SETTINGS
@given(geometries(channels=tuple(ODD), max_hw=7), st.booleans(), st.booleans(), seeds)
def test_conv2d_f32w(runtime, g, depthwise, with_bias, seed):
    rng = np.random.default_rng(seed)
    groups = g.c_in if depthwise else 1
    c_out = g.c_in * int(rng.integers(1, 3)) if depthwise else g.c_out
    x = _floats(rng, (g.c_in, g.h, g.w))
    wt = rng.standard_normal((c_out, g.c_in // groups, *g.k)).astype(np.float32)
    bias = rng.standard_normal(c_out).astype(np.float32) if with_bias else None
    got = runtime.conv2d_f32w(x, wt, g.window(), g.out_hw, groups, bias)
    _same(got, runtime.conv2d_f32w(x, wt, g.window(), g.out_hw, groups, bias, ref=True))


@SETTINGS
@given(geometries(channels=tuple(ODD), max_hw=8), st.integers(0, 1), seeds)
def test_avgpool(runtime, g, cip, seed):
    rng = np.random.default_rng(seed)
    x = _floats(rng, (g.c_in, g.h, g.w))
    oh, ow = g.out_hw
    # one more output row / column than floor mode gives: a ceil_mode-style partial window
    for out_hw in ((oh, ow), (oh + 1, ow + 1)):
        got = runtime.avgpool_f32(x, g.window(), out_hw, g.pads[2], g.pads[3], cip)
        _same(got, runtime.avgpool_f32(x, g.window(), out_hw, g.pads[2], g.pads[3], cip, ref=True))
        if g.dil == (1, 1):
            got = runtime.avgpool_f32(x, g.window(), out_hw, g.pads[2], g.pads[3], cip, mlas=True)
            _same(got, runtime.avgpool_f32(x, g.window(), out_hw, g.pads[2], g.pads[3], cip,
                                           mlas=True, ref=True))


@SETTINGS
@given(st.sampled_from(ODD), st.integers(1, 6), st.integers(1, 6), seeds)
def test_elementwise(runtime, c, h, w, seed):
    rng = np.random.default_rng(seed)
    x = _floats(rng, (c, h, w))
    shapes = {BCAST_FULL: (c, h, w), BCAST_CHANNEL: (c, 1, 1), BCAST_PLANE: (1, h, w),
              BCAST_SCALAR: (1, 1, 1)}
    with np.errstate(all="ignore"):
        for op, fn in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                       ("div", np.divide)):
            for mode, shape in shapes.items():
                b = _floats(rng, shape)
                for a, am, bb, bm in ((x, BCAST_FULL, b, mode), (b, mode, x, BCAST_FULL)):
                    got = runtime.binary(op, a, am, bb, bm, (c, h, w))
                    _same(got, runtime.binary(op, a, am, bb, bm, (c, h, w), ref=True))
                    _same(got, fn(a, bb).astype(np.float32))
        s, t = _floats(rng, c), _floats(rng, c)
        got = runtime.scale_shift(x, s, t)
        _same(got, runtime.scale_shift(x, s, t, ref=True))
        _same(got, (x * s[:, None, None]) + t[:, None, None])
        slope = _floats(rng, c)
        for args in (("relu",), ("leaky_relu", 0.125), ("clip", -0.5, 0.75), ("prelu", slope)):
            _same(runtime.activation(args[0], x, *args[1:]),
                  runtime.activation(args[0], x, *args[1:], ref=True))
        _same(runtime.activation("prelu", x, slope),
              np.where(x < 0, slope[:, None, None] * x, x).astype(np.float32))
        mean = x.reshape(c, -1).sum(axis=1, dtype=np.float32)  # numpy's sum order differs
        for name in ("bnn_global_avgpool_f32", "bnn_reduce_mean_hw_f32"):
            got = runtime.global_mean(x, name)
            _same(got, runtime.global_mean(x, name, ref=True))
            assert got.shape == mean.shape


@SETTINGS
@given(st.integers(1, 300), st.integers(1, 40), st.booleans(), seeds)
def test_dense_f32w(runtime, n_in, n_out, with_bias, seed):
    rng = np.random.default_rng(seed)
    x = _floats(rng, n_in)
    wt = rng.standard_normal((n_out, n_in)).astype(np.float32)
    bias = rng.standard_normal(n_out).astype(np.float32) if with_bias else None
    _same(runtime.dense_f32w(x, wt, bias), runtime.dense_f32w(x, wt, bias, ref=True))
    assert words(n_out) >= 1
