"""Every optimized kernel against its reference twin, bit for bit, over random cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bnn_numpy_model as model
from bnn_cases import CHANNELS, geometries, random_signs, seeds, thresholds_near

SETTINGS = settings(max_examples=60, deadline=None)


@pytest.fixture(scope="module", params=["O2", "Os"])
def runtime(request, runtime, runtime_compact):
    """Every test here runs against the -O2 build (fast kernels) and the -Os build (the
    compact kernels of BNN_COMPACT): both must equal the reference twins."""
    return runtime if request.param == "O2" else runtime_compact


def _assert_same_bits(a: np.ndarray, b: np.ndarray) -> None:
    """Bit-exact equality, NaN patterns included (floats compared as raw words)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


@SETTINGS
@given(st.sampled_from(CHANNELS), st.integers(1, 6), st.integers(1, 6), seeds)
def test_pack_unpack(runtime, c, h, w, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c, h, w)).astype(np.float32)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45],
                        dtype=np.float32)
    x.flat[rng.integers(0, x.size, size=4)] = rng.choice(specials, size=4)
    bits = runtime.pack_chw_f32(x)
    _assert_same_bits(bits, runtime.pack_chw_f32(x, ref=True))
    assert model.tail_bits_clear(bits, c)
    _assert_same_bits(runtime.unpack_bits_chw_f32(bits, c),
                      runtime.unpack_bits_chw_f32(bits, c, ref=True))


@SETTINGS
@given(geometries(), seeds)
def test_conv_bin(runtime, g, seed):
    rng = np.random.default_rng(seed)
    a = model.pack_signs(random_signs(rng, (g.h, g.w, g.c_in)))
    wt = model.pack_signs(random_signs(rng, (g.c_out, g.k[0], g.k[1], g.c_in)))
    acc_like = rng.integers(-g.c_in * g.k[0] * g.k[1], g.c_in * g.k[0] * g.k[1] + 1,
                            size=(4, g.c_out))
    thresh = thresholds_near(rng, acc_like, channel_axis=1)
    args = (a, g.c_in, wt, g.window(), g.out_hw, g.c_out)
    out = runtime.conv2d_bin(*args, thresh=thresh)
    _assert_same_bits(out, runtime.conv2d_bin(*args, thresh=thresh, ref=True))
    assert model.tail_bits_clear(out, g.c_out)
    scale = rng.standard_normal(g.c_out).astype(np.float32)
    bias = rng.standard_normal(g.c_out).astype(np.float32)
    _assert_same_bits(runtime.conv2d_bin(*args, scale=scale, bias=bias),
                      runtime.conv2d_bin(*args, scale=scale, bias=bias, ref=True))


@SETTINGS
@given(geometries(), seeds)
def test_conv_bin_thresholds_at_accumulator(runtime, g, seed):
    """Thresholds taken from the true accumulators, so >= ties occur on many outputs."""
    rng = np.random.default_rng(seed)
    signs = random_signs(rng, (g.h, g.w, g.c_in))
    wsigns = random_signs(rng, (g.c_out, g.k[0], g.k[1], g.c_in))
    acc = model.conv_bin_acc(signs, wsigns, g.stride, g.pads, g.dil)
    thresh = thresholds_near(rng, acc, channel_axis=2)
    args = (model.pack_signs(signs), g.c_in, model.pack_signs(wsigns), g.window(), g.out_hw,
            g.c_out)
    _assert_same_bits(runtime.conv2d_bin(*args, thresh=thresh),
                      runtime.conv2d_bin(*args, thresh=thresh, ref=True))


@SETTINGS
@given(geometries(channels=(1, 2, 3, 4, 8, 33)), seeds, st.booleans())
def test_conv_real(runtime, g, seed, grouped):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((g.c_in, g.h, g.w)).astype(np.float32)
    wt = model.pack_signs(random_signs(rng, (g.c_out, g.c_in * g.k[0] * g.k[1])))
    thresh = rng.standard_normal(g.c_out).astype(np.float32)
    args = (x, wt, g.window(), g.out_hw, g.c_out)
    out = runtime.conv2d_real(*args, thresh=thresh, grouped=grouped)
    _assert_same_bits(out, runtime.conv2d_real(*args, thresh=thresh, ref=True, grouped=grouped))
    assert model.tail_bits_clear(out, g.c_out)
    scale = rng.standard_normal(g.c_out).astype(np.float32)
    bias = rng.standard_normal(g.c_out).astype(np.float32)
    _assert_same_bits(runtime.conv2d_real(*args, scale=scale, bias=bias, grouped=grouped),
                      runtime.conv2d_real(*args, scale=scale, bias=bias, ref=True, grouped=grouped))


@SETTINGS
@given(geometries(channels=(1, 2, 3, 33, 64)), seeds, st.booleans())
def test_conv_real_ties_and_zeros(runtime, g, seed, grouped):
    """Each order's kernel (default; grouped = the table kernel) against its reference twin:
    same order, so identical bits.
    Inputs hold +0, -0 and values of mixed magnitude; thresholds are accumulator values of the
    reference itself, so >= ties are exercised on every channel."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((g.c_in, g.h, g.w)) * 10.0 ** rng.integers(-4, 5, (g.c_in, g.h, g.w))
         ).astype(np.float32)
    x.flat[rng.integers(0, x.size, size=max(1, x.size // 4))] = 0.0
    x.flat[rng.integers(0, x.size, size=max(1, x.size // 4))] = -0.0
    wt = model.pack_signs(random_signs(rng, (g.c_out, g.c_in * g.k[0] * g.k[1])))
    args = (x, wt, g.window(), g.out_hw, g.c_out)
    ones, zeros = np.ones(g.c_out, np.float32), np.zeros(g.c_out, np.float32)
    acc = runtime.conv2d_real(*args, scale=ones, bias=zeros, ref=True, grouped=grouped)
    _assert_same_bits(runtime.conv2d_real(*args, scale=ones, bias=zeros, grouped=grouped), acc)
    pick = rng.integers(0, acc.shape[1] * acc.shape[2], g.c_out)
    thresh = acc.reshape(g.c_out, -1)[np.arange(g.c_out), pick]
    out = runtime.conv2d_real(*args, thresh=thresh, grouped=grouped)
    _assert_same_bits(out, runtime.conv2d_real(*args, thresh=thresh, ref=True, grouped=grouped))
    assert model.tail_bits_clear(out, g.c_out)


@SETTINGS
@given(st.sampled_from(CHANNELS + [200, 576, 1000]), st.sampled_from(CHANNELS),
       st.integers(0, 3), seeds)
def test_dense_bin(runtime, k, n_out, extra_words, seed):
    rng = np.random.default_rng(seed)
    a = random_signs(rng, k)
    wt = random_signs(rng, (n_out, k))
    abits = np.concatenate([model.pack_signs(a), np.zeros(extra_words, np.uint32)])
    wbits = np.concatenate([model.pack_signs(wt), np.zeros((n_out, extra_words), np.uint32)], 1)
    thresh = thresholds_near(rng, (wt @ a)[None, :], channel_axis=1)
    out = runtime.dense_bin(abits, k, wbits, thresh=thresh)
    _assert_same_bits(out, runtime.dense_bin(abits, k, wbits, thresh=thresh, ref=True))
    assert model.tail_bits_clear(out, n_out)
    scale = rng.standard_normal(n_out).astype(np.float32)
    bias = rng.standard_normal(n_out).astype(np.float32)
    _assert_same_bits(runtime.dense_bin(abits, k, wbits, scale=scale, bias=bias),
                      runtime.dense_bin(abits, k, wbits, scale=scale, bias=bias, ref=True))


@SETTINGS
@given(st.sampled_from(CHANNELS + [127, 128, 129, 200, 784]), st.sampled_from(CHANNELS), seeds)
def test_dense_real(runtime, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n_in).astype(np.float32)
    wt = model.pack_signs(random_signs(rng, (n_out, n_in)))
    thresh = rng.standard_normal(n_out).astype(np.float32)
    out = runtime.dense_real(x, wt, thresh=thresh)
    _assert_same_bits(out, runtime.dense_real(x, wt, thresh=thresh, ref=True))
    assert model.tail_bits_clear(out, n_out)
    scale = rng.standard_normal(n_out).astype(np.float32)
    bias = rng.standard_normal(n_out).astype(np.float32)
    _assert_same_bits(runtime.dense_real(x, wt, scale=scale, bias=bias),
                      runtime.dense_real(x, wt, scale=scale, bias=bias, ref=True))


@SETTINGS
@given(geometries(), st.booleans(), seeds)
def test_maxpool_bits(runtime, g, use_mask, seed):
    rng = np.random.default_rng(seed)
    a = model.pack_signs(random_signs(rng, (g.h, g.w, g.c_in)))
    mask = model.pack_signs(random_signs(rng, g.c_in)) if use_mask else None
    out = runtime.maxpool_bits(a, g.c_in, g.window(), g.out_hw, and_mask=mask)
    _assert_same_bits(out, runtime.maxpool_bits(a, g.c_in, g.window(), g.out_hw, and_mask=mask,
                                                ref=True))
    assert model.tail_bits_clear(out, g.c_in)


@SETTINGS
@given(geometries(channels=(1, 2, 5)), seeds)
def test_maxpool_f32(runtime, g, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((g.c_in, g.h, g.w)).astype(np.float32)
    _assert_same_bits(runtime.maxpool_f32(x, g.window(), g.out_hw),
                      runtime.maxpool_f32(x, g.window(), g.out_hw, ref=True))


@SETTINGS
@given(st.integers(1, 300), st.floats(0.01, 60.0), seeds)
def test_softmax_close_to_libm_reference(runtime, n, spread, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * spread).astype(np.float32)
    for log in (False, True):
        ours = runtime.softmax(x, log=log)
        ref = runtime.softmax(x, log=log, ref=True)
        if log:
            np.testing.assert_allclose(ours, ref, rtol=2e-6, atol=2e-6)
        else:
            np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-37)
            assert abs(float(ours.astype(np.float64).sum()) - 1.0) < 1e-5


def test_expf_accuracy(runtime):
    xs = np.concatenate([np.linspace(-103.0, 88.0, 20001), [-1e-8, 0.0, 1e-8, -87.3, -100.0]])
    ours = np.array([runtime.expf(float(np.float32(v))) for v in xs])
    exact = np.exp(xs.astype(np.float32).astype(np.float64))
    normal = exact > 1.2e-38
    rel = np.abs(ours[normal] - exact[normal]) / exact[normal]
    assert rel.max() < 1e-6
    # subnormal range: absolute error within a couple of subnormal steps
    assert np.abs(ours[~normal] - exact[~normal]).max() < 3e-45
    assert runtime.expf(-200.0) == 0.0 and runtime.expf(-1e30) == 0.0
    assert np.isfinite(runtime.expf(1000.0))


def test_logf_accuracy(runtime):
    xs = np.concatenate([np.geomspace(1e-38, 3e38, 20001), [1.0, 2.0, 0.5, 1.4142135, 1e-44]])
    ours = np.array([runtime.logf(float(np.float32(v))) for v in xs])
    exact = np.log(xs.astype(np.float32).astype(np.float64))
    err = np.abs(ours - exact) / np.maximum(np.abs(exact), 1.0)
    assert err.max() < 1e-6
    assert runtime.logf(1.0) == 0.0
    assert runtime.logf(0.0) == -np.inf


@pytest.mark.parametrize("log", [False, True])
def test_softmax_handles_large_negative_inputs(runtime, log):
    x = np.array([0.0, -50.0, -90.0, -104.5, -1e4, -np.float32(3e38)], dtype=np.float32)
    ours = runtime.softmax(x, log=log)
    assert np.all(np.isfinite(ours)) or log
    ref = runtime.softmax(x, log=log, ref=True)
    if log:
        np.testing.assert_allclose(ours, ref, rtol=1e-6)
    else:
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-44)


@pytest.mark.parametrize("c_in", [1, 31, 32, 33, 64, 96, 100, 200])
@pytest.mark.parametrize("agree", [True, False])
def test_conv_bin_extreme_counts(runtime, c_in, agree):
    """All taps agreeing or all disagreeing: the largest counts every counter level must hold
    (byte lanes, bit-sliced levels), on interior and border pixels, for both output forms."""
    c_out, k, h = 40, (3, 3), 5
    a = np.ones((h, h, c_in), dtype=np.int64)
    wt = np.full((c_out, k[0], k[1], c_in), 1 if agree else -1)
    win_args = ((1, 1), (1, 1, 1, 1), (1, 1))
    acc = model.conv_bin_acc(a, wt, *win_args)
    from bnn_cases import Geometry
    g = Geometry(h, h, c_in, c_out, k, *win_args)
    args = (model.pack_signs(a), c_in, model.pack_signs(wt), g.window(), g.out_hw, c_out)
    for delta in (-1, 0, 1):
        thresh = acc[0, 0] + delta  # corner accumulators, so borders and interior differ
        out = runtime.conv2d_bin(*args, thresh=thresh)
        np.testing.assert_array_equal(out, model.pack_signs(np.where(acc >= thresh, 1, -1)))
    scale = np.ones(c_out, np.float32)
    bias = np.zeros(c_out, np.float32)
    out = runtime.conv2d_bin(*args, scale=scale, bias=bias)
    np.testing.assert_array_equal(out, acc.transpose(2, 0, 1).astype(np.float32))


@pytest.mark.parametrize("k", [1, 31, 32, 100, 255, 256, 257, 1000, 4096, 10000])
def test_dense_bin_extreme_counts(runtime, k):
    rng = np.random.default_rng(k)
    a = random_signs(rng, k)
    wt = np.stack([a, -a, a, -a])
    acc = wt @ a
    out = runtime.dense_bin(model.pack_signs(a), k, model.pack_signs(wt),
                            scale=np.ones(4, np.float32), bias=np.zeros(4, np.float32))
    np.testing.assert_array_equal(out, acc.astype(np.float32))
    thresh = acc.copy()
    bits = runtime.dense_bin(model.pack_signs(a), k, model.pack_signs(wt), thresh=thresh)
    np.testing.assert_array_equal(bits, model.pack_signs(np.ones(4, np.int64)))


@pytest.mark.parametrize("c_in", [3, 32, 64])
def test_conv_bin_extreme_thresholds(runtime, c_in):
    """Constant channels may carry thresholds at the int32 limits: no overflow anywhere."""
    from bnn_cases import Geometry
    rng = np.random.default_rng(c_in)
    g = Geometry(6, 6, c_in, 36, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    a = model.pack_signs(random_signs(rng, (g.h, g.w, g.c_in)))
    wt = model.pack_signs(random_signs(rng, (g.c_out, 3, 3, g.c_in)))
    limits = np.array([-2**31, 2**31 - 1, -2**31 + 1, 2**31 - 2, 0, 1, -1], dtype=np.int64)
    thresh = rng.choice(limits, size=g.c_out)
    args = (a, g.c_in, wt, g.window(), g.out_hw, g.c_out)
    out = runtime.conv2d_bin(*args, thresh=thresh)
    _assert_same_bits(out, runtime.conv2d_bin(*args, thresh=thresh, ref=True))
    wd = model.pack_signs(random_signs(rng, (g.c_out, c_in)))
    abits = model.pack_signs(random_signs(rng, c_in))
    _assert_same_bits(runtime.dense_bin(abits, c_in, wd, thresh=thresh),
                      runtime.dense_bin(abits, c_in, wd, thresh=thresh, ref=True))


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 31, 32, 33, 100, 1000])
@pytest.mark.parametrize("fill", ["random", "all_differ"])
def test_shared_small_popcount(runtime, n, fill):
    """bnn_popcount_xor_small (bnn_popcount.c, the popcount of the compact build) is exported
    in every build: checked directly, across its 16-word byte-lane flushes and at the largest
    counts (every bit differing)."""
    import ctypes
    rng = np.random.default_rng(n)
    a = rng.integers(0, 2**32, size=max(n, 1), dtype=np.uint32)
    w = ~a if fill == "all_differ" else rng.integers(0, 2**32, size=max(n, 1), dtype=np.uint32)
    fn = runtime.lib.bnn_popcount_xor_small
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32]
    fn.restype = ctypes.c_uint32
    expected = sum(bin(int(x)).count("1") for x in (a[:n] ^ w[:n]))
    assert fn(a.ctypes.data, w.ctypes.data, n) == expected


@SETTINGS
@given(geometries(channels=(1, 2, 3, 4, 33)), seeds, st.sampled_from(["uint8", "int8"]))
def test_conv_int(runtime, g, seed, dtype):
    """Integer-input conv (tables of 5-tap sums, two pixels per word; direct loop beyond 32 taps)
    against its reference twin, and the twin against the plain integer sum of bnn.h."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    q = rng.integers(info.min, info.max + 1, (g.c_in, g.h, g.w)).astype(dtype)
    q.flat[rng.integers(0, q.size, size=max(1, q.size // 8))] = info.max  # extremes
    q.flat[rng.integers(0, q.size, size=max(1, q.size // 8))] = info.min
    offset = int(rng.choice([info.min, 0, info.max, int(rng.integers(info.min, info.max + 1))]))
    wt = random_signs(rng, (g.c_out, g.c_in, g.k[0], g.k[1]))
    wbits = model.pack_signs(wt.reshape(g.c_out, -1))
    acc = model.conv_real_acc(q.astype(np.float64) - offset, wt, g.stride, g.pads, g.dil)  # exact integers
    thresh = thresholds_near(rng, acc, channel_axis=0).astype(np.int32)
    args = (q, offset, wbits, g.window(), g.out_hw, g.c_out, thresh)
    out = runtime.conv2d_int(*args)
    ref = runtime.conv2d_int(*args, ref=True)
    _assert_same_bits(out, ref)
    assert model.tail_bits_clear(out, g.c_out)
    expected = np.where(acc >= thresh[:, None, None], 1, -1).transpose(1, 2, 0)
    np.testing.assert_array_equal(ref, model.pack_signs(expected))


@SETTINGS
@given(geometries(channels=(1, 2, 3, 4, 33)), seeds, st.sampled_from(["uint8", "int8"]))
def test_conv_int_fix(runtime, g, seed, dtype):
    """The integer-input conv with undecided channels (bnn_conv2d_*_thresh_fix: the band tested on the
    table sums, the float sum only inside it) against its reference twin, bit for bit; and the twin
    against bnn.h: inside [lo, thresh) exactly the bits of the default-order float kernel
    bnn_conv2d_f32_thresh on the cast input x = table[q - min], elsewhere the integer kernel's. Bands
    start and end on pixels' sums (+-1), float thresholds on the float sums themselves (ties), and some
    thresholds at the int32 extremes (a band over every pixel, channels always off)."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    q = rng.integers(info.min, info.max + 1, (g.c_in, g.h, g.w)).astype(dtype)
    q.flat[rng.integers(0, q.size, size=max(1, q.size // 4))] = int(rng.integers(info.min, info.max + 1))
    q.flat[rng.integers(0, q.size, size=max(1, q.size // 8))] = rng.choice([info.min, info.max])
    offset = int(rng.choice([info.min, info.max, int(rng.integers(info.min, info.max + 1))]))
    table = (np.arange(info.min, info.max + 1, dtype=np.float32) / np.float32(rng.choice([255.0, 58.0, 1.0, 7.0])))
    table = table.astype(np.float32)
    x = table[q.astype(np.int64) - info.min]
    wt = random_signs(rng, (g.c_out, g.c_in, g.k[0], g.k[1]))
    wbits = model.pack_signs(wt.reshape(g.c_out, -1))
    a_int = model.conv_real_acc(q.astype(np.float64) - offset, wt, g.stride, g.pads, g.dil).astype(np.int64)
    acc_f = model.conv_real_acc_f32(x, wt, g.stride, g.pads, g.dil)  # bnn_conv2d_f32_thresh's float sums
    f_thresh = thresholds_near(rng, acc_f.astype(np.float64), channel_axis=0).astype(np.float32)  # 1/3 ties
    thresh = (thresholds_near(rng, a_int, channel_axis=0) + rng.integers(0, 3, g.c_out)).astype(np.int64)
    n_fix = int(rng.choice([1, g.c_out, int(rng.integers(1, g.c_out + 1))]))
    channels = np.sort(rng.choice(g.c_out, size=n_fix, replace=False))
    sums = a_int[channels].reshape(n_fix, -1)  # each band from one pixel's sum to another's, ends +-1
    ends = np.sort(sums[np.arange(n_fix)[:, None], rng.integers(0, sums.shape[1], (n_fix, 2))], axis=1)
    lo = ends[:, 0] - rng.integers(0, 2, n_fix)
    thresh[channels] = ends[:, 1] + rng.integers(0, 2, n_fix)
    every = rng.random(n_fix) < 0.15  # a band over every pixel
    lo[every] = np.iinfo(np.int32).min
    thresh[channels[every]] = np.iinfo(np.int32).max
    thresh[rng.random(g.c_out) < 0.05] = np.iinfo(np.int32).max  # never on
    thresh[rng.random(g.c_out) < 0.05] = np.iinfo(np.int32).min  # always on
    thresh = thresh.astype(np.int32)
    args = (q, offset, wbits, g.window(), g.out_hw, g.c_out, thresh, channels, lo, f_thresh[channels], table)
    out = runtime.conv2d_int_fix(*args)
    ref = runtime.conv2d_int_fix(*args, ref=True)
    _assert_same_bits(out, ref)
    assert model.tail_bits_clear(out, g.c_out)
    inside = np.zeros(a_int.shape, bool)
    inside[channels] = (a_int[channels] >= lo[:, None, None]) & (a_int[channels] < thresh[channels][:, None, None])
    on = np.where(inside, acc_f >= f_thresh[:, None, None], a_int >= thresh[:, None, None])
    np.testing.assert_array_equal(ref, model.pack_signs(np.where(on, 1, -1).transpose(1, 2, 0)))


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 40), seeds, st.sampled_from(["uint8", "int8"]), st.booleans())
def test_cast_int(runtime, c, plane, seed, dtype, per_channel):
    """The integer input's cast (bnn_cast_{u8,s8}_f32, one table of 256 floats per `plane` values)
    against its reference twin and the plain table lookup, NaN and signed-zero entries included."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    q = rng.integers(info.min, info.max + 1, c * plane).astype(dtype)
    q[rng.integers(0, q.size, size=2)] = [info.min, info.max]
    plane = plane if per_channel else c * plane
    tables = rng.standard_normal((q.size // plane, 256)).astype(np.float32)
    tables.flat[rng.integers(0, tables.size, size=6)] = [np.nan, -0.0, np.inf, -np.inf, 1e-45, -np.nan]
    out = runtime.cast_int(q, plane, tables)
    ref = runtime.cast_int(q, plane, tables, ref=True)
    _assert_same_bits(out, ref)
    _assert_same_bits(ref, tables[np.arange(q.size) // plane, q.astype(np.int64) - info.min])
