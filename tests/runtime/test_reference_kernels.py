"""Every reference twin (*_ref) against the numpy brute-force model of bnn.h semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bnn_numpy_model as model
from bnn_cases import CHANNELS, geometries, random_signs, seeds, thresholds_near

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(st.sampled_from(CHANNELS), st.integers(1, 6), st.integers(1, 6), seeds)
def test_pack_and_unpack_match_model(runtime, c, h, w, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c, h, w)).astype(np.float32)
    x.flat[rng.integers(0, x.size, size=3)] = 0.0  # 0 is +1
    x.flat[rng.integers(0, x.size)] = -0.0          # so is -0
    bits = runtime.pack_chw_f32(x, ref=True)
    expected = model.pack_signs(np.where(x.transpose(1, 2, 0) >= 0, 1, -1))
    np.testing.assert_array_equal(bits, expected)
    back = runtime.unpack_bits_chw_f32(bits, c, ref=True)
    np.testing.assert_array_equal(back, np.where(x >= 0, 1.0, -1.0).astype(np.float32))


@SETTINGS
@given(geometries(), seeds)
def test_conv_bin_thresh_ref_matches_model(runtime, g, seed):
    rng = np.random.default_rng(seed)
    a = random_signs(rng, (g.h, g.w, g.c_in))
    wt = random_signs(rng, (g.c_out, g.k[0], g.k[1], g.c_in))
    acc = model.conv_bin_acc(a, wt, g.stride, g.pads, g.dil)
    thresh = thresholds_near(rng, acc, channel_axis=2)
    out = runtime.conv2d_bin(model.pack_signs(a), g.c_in, model.pack_signs(wt), g.window(),
                             g.out_hw, g.c_out, thresh=thresh, ref=True)
    np.testing.assert_array_equal(out, model.pack_signs(np.where(acc >= thresh, 1, -1)))


@SETTINGS
@given(geometries(), seeds)
def test_conv_bin_f32_ref_matches_model(runtime, g, seed):
    rng = np.random.default_rng(seed)
    a = random_signs(rng, (g.h, g.w, g.c_in))
    wt = random_signs(rng, (g.c_out, g.k[0], g.k[1], g.c_in))
    scale = rng.standard_normal(g.c_out).astype(np.float32)
    bias = rng.standard_normal(g.c_out).astype(np.float32)
    acc = model.conv_bin_acc(a, wt, g.stride, g.pads, g.dil).transpose(2, 0, 1)
    out = runtime.conv2d_bin(model.pack_signs(a), g.c_in, model.pack_signs(wt), g.window(),
                             g.out_hw, g.c_out, scale=scale, bias=bias, ref=True)
    expected = scale[:, None, None] * acc.astype(np.float32) + bias[:, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def _quarter_floats(rng, shape):
    """Multiples of 1/4: float32 sums of them are exact, so >= thresholds are unambiguous."""
    return (rng.integers(-8, 9, size=shape) / 4.0).astype(np.float32)


@SETTINGS
@given(geometries(channels=(1, 2, 3, 4, 8)), seeds)
def test_conv_real_ref_matches_model(runtime, g, seed):
    rng = np.random.default_rng(seed)
    x = _quarter_floats(rng, (g.c_in, g.h, g.w))
    wt = random_signs(rng, (g.c_out, g.c_in, g.k[0], g.k[1]))
    wbits = model.pack_signs(wt.reshape(g.c_out, -1))
    acc = model.conv_real_acc(x, wt, g.stride, g.pads, g.dil)
    thresh = thresholds_near(rng, acc * 4, channel_axis=0) / 4.0
    out = runtime.conv2d_real(x, wbits, g.window(), g.out_hw, g.c_out, thresh=thresh, ref=True)
    expected = np.where(acc >= thresh[:, None, None], 1, -1).transpose(1, 2, 0)
    np.testing.assert_array_equal(out, model.pack_signs(expected))
    scale = rng.standard_normal(g.c_out).astype(np.float32)
    bias = rng.standard_normal(g.c_out).astype(np.float32)
    out = runtime.conv2d_real(x, wbits, g.window(), g.out_hw, g.c_out, scale=scale, bias=bias,
                              ref=True)
    expected = scale[:, None, None] * acc.astype(np.float32) + bias[:, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-5)


@SETTINGS
@given(geometries(channels=(1, 2, 3, 4)), seeds, st.booleans())
def test_conv_real_ref_sums_in_the_documented_order(runtime, g, seed, grouped):
    """Any floats (not just exactly summable ones): the reference's float32 accumulator is the
    one of bnn.h's order (default: tap by tap; grouped: groups up to 32 taps, tap by tap beyond),
    bit for bit."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((g.c_in, g.h, g.w)) * 10.0 ** rng.integers(-3, 4, (g.c_in, g.h, g.w))
         ).astype(np.float32)
    wt = random_signs(rng, (g.c_out, g.c_in, g.k[0], g.k[1]))
    wbits = model.pack_signs(wt.reshape(g.c_out, -1))
    ones = np.ones(g.c_out, np.float32)
    out = runtime.conv2d_real(x, wbits, g.window(), g.out_hw, g.c_out, scale=ones,
                              bias=np.zeros(g.c_out, np.float32), ref=True, grouped=grouped)
    expected = model.conv_real_acc_f32(x, wt, g.stride, g.pads, g.dil, grouped) + np.float32(0)
    np.testing.assert_array_equal(out, expected)


@SETTINGS
@given(st.sampled_from(CHANNELS + [200, 1000]), st.sampled_from(CHANNELS), st.integers(0, 3),
       seeds)
def test_dense_bin_ref_matches_model(runtime, k, n_out, extra_words, seed):
    rng = np.random.default_rng(seed)
    a = random_signs(rng, k)
    wt = random_signs(rng, (n_out, k))
    # extra all-zero words stand for per-pixel padding bits of a flattened feature map
    abits = np.concatenate([model.pack_signs(a), np.zeros(extra_words, np.uint32)])
    wbits = np.concatenate([model.pack_signs(wt), np.zeros((n_out, extra_words), np.uint32)], 1)
    acc = wt @ a
    thresh = thresholds_near(rng, acc[None, :], channel_axis=1)
    out = runtime.dense_bin(abits, k, wbits, thresh=thresh, ref=True)
    np.testing.assert_array_equal(out, model.pack_signs(np.where(acc >= thresh, 1, -1)))
    scale = rng.standard_normal(n_out).astype(np.float32)
    bias = rng.standard_normal(n_out).astype(np.float32)
    out = runtime.dense_bin(abits, k, wbits, scale=scale, bias=bias, ref=True)
    np.testing.assert_allclose(out, scale * acc.astype(np.float32) + bias, rtol=1e-6, atol=1e-6)


@SETTINGS
@given(st.sampled_from(CHANNELS + [200]), st.sampled_from(CHANNELS), seeds)
def test_dense_real_ref_matches_model(runtime, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    x = _quarter_floats(rng, n_in)
    wt = random_signs(rng, (n_out, n_in))
    acc = wt @ x.astype(np.float64)
    thresh = thresholds_near(rng, acc[None, :] * 4, channel_axis=1) / 4.0
    out = runtime.dense_real(x, model.pack_signs(wt), thresh=thresh, ref=True)
    np.testing.assert_array_equal(out, model.pack_signs(np.where(acc >= thresh, 1, -1)))
    scale = rng.standard_normal(n_out).astype(np.float32)
    bias = rng.standard_normal(n_out).astype(np.float32)
    out = runtime.dense_real(x, model.pack_signs(wt), scale=scale, bias=bias, ref=True)
    np.testing.assert_allclose(out, scale * acc.astype(np.float32) + bias, rtol=1e-6, atol=1e-5)


@SETTINGS
@given(geometries(), st.booleans(), seeds)
def test_maxpool_bits_ref_matches_model(runtime, g, use_mask, seed):
    rng = np.random.default_rng(seed)
    c = g.c_in
    a = random_signs(rng, (g.h, g.w, c))
    and_channels = rng.random(c) < 0.5 if use_mask else None
    mask = model.pack_signs(np.where(and_channels, 1, -1)) if use_mask else None
    out = runtime.maxpool_bits(model.pack_signs(a), c, g.window(), g.out_hw, and_mask=mask,
                               ref=True)
    expected = model.maxpool_signs(a, g.k, g.stride, g.pads, g.dil, and_channels)
    np.testing.assert_array_equal(out, model.pack_signs(expected))


@SETTINGS
@given(geometries(channels=(1, 2, 5)), seeds)
def test_maxpool_f32_ref_matches_model(runtime, g, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((g.c_in, g.h, g.w)).astype(np.float32)
    out = runtime.maxpool_f32(x, g.window(), g.out_hw, ref=True)
    np.testing.assert_array_equal(out, model.maxpool_real(x, g.k, g.stride, g.pads, g.dil))


@pytest.mark.parametrize("log", [False, True])
def test_softmax_ref_matches_numpy(runtime, log):
    rng = np.random.default_rng(0)
    for n in (1, 2, 10, 100):
        x = (rng.standard_normal(n) * 10).astype(np.float32)
        shifted = x.astype(np.float64) - x.max()
        expected = shifted - np.log(np.exp(shifted).sum()) if log else \
            np.exp(shifted) / np.exp(shifted).sum()
        np.testing.assert_allclose(runtime.softmax(x, log=log, ref=True), expected, rtol=1e-6,
                                   atol=1e-30)
