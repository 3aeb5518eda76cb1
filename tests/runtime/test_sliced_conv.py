"""bnn_conv2d_bin_thresh_sliced and bnn_dense_bin_thresh_sliced (weights transposed by the compiler)
against the plain kernels and their reference twins, at -O2 and in the compact -Os build."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import bnn_numpy_model as model
from bnn_cases import geometries, random_signs, seeds, thresholds_near
from bnn_ctypes import Window
from bnncc.passes.pack import transpose_conv_weights

SLICED_MAX_BITS = 8188  # BNN_SLICED_MAX_BITS of runtime_c/bnn.h
SETTINGS = settings(max_examples=60, deadline=None)


@pytest.fixture(scope="module", params=["O2", "Os"])
def runtime(request, runtime, runtime_compact):
    return runtime if request.param == "O2" else runtime_compact


def _case(g, seed, at_accumulator: bool):
    rng = np.random.default_rng(seed)
    signs = random_signs(rng, (g.h, g.w, g.c_in))
    wsigns = random_signs(rng, (g.c_out, g.k[0], g.k[1], g.c_in))
    if at_accumulator:  # thresholds from the true accumulators: many >= ties
        acc = model.conv_bin_acc(signs, wsigns, g.stride, g.pads, g.dil)
        thresh = thresholds_near(rng, acc, channel_axis=2)
    else:
        k = g.c_in * g.k[0] * g.k[1]
        thresh = thresholds_near(rng, rng.integers(-k, k + 1, size=(4, g.c_out)), channel_axis=1)
    packed = model.pack_signs(wsigns)
    return model.pack_signs(signs), packed, thresh


@SETTINGS
@given(geometries(channels=(1, 3, 31, 32, 33, 64, 65)), seeds, st.booleans())
def test_sliced_equals_plain_conv_and_ref(runtime, g, seed, at_accumulator):
    assume(g.k[0] * g.k[1] * g.c_in <= SLICED_MAX_BITS)
    bits, packed, thresh = _case(g, seed, at_accumulator)
    tw = transpose_conv_weights(packed.reshape(g.c_out, -1), g.c_in)
    plain = runtime.conv2d_bin(bits, g.c_in, packed, g.window(), g.out_hw, g.c_out, thresh=thresh,
                               ref=True)
    for ref in (False, True):
        out = runtime.conv2d_bin_sliced(bits, g.c_in, tw, g.window(), g.out_hw, g.c_out, thresh,
                                        ref=ref)
        np.testing.assert_array_equal(out, plain)
    assert model.tail_bits_clear(plain, g.c_out)


def test_sliced_extreme_thresholds(runtime):
    """Constant channels (thresholds at the int32 limits) through the transposed path."""
    rng = np.random.default_rng(7)
    c_in, c_out, h, w = 33, 40, 5, 6
    win = Window(3, 3, 1, 1, 1, 1, 1, 1)
    bits = model.pack_signs(random_signs(rng, (h, w, c_in)))
    packed = model.pack_signs(random_signs(rng, (c_out, 3, 3, c_in)))
    thresh = rng.integers(-20, 20, size=c_out)
    thresh[::3] = np.iinfo(np.int32).max
    thresh[1::3] = np.iinfo(np.int32).min
    tw = transpose_conv_weights(packed.reshape(c_out, -1), c_in)
    plain = runtime.conv2d_bin(bits, c_in, packed, win, (h, w), c_out, thresh=thresh, ref=True)
    np.testing.assert_array_equal(
        runtime.conv2d_bin_sliced(bits, c_in, tw, win, (h, w), c_out, thresh), plain)


@pytest.mark.parametrize("c_in", [128, 200, 256, 320, 511, 512])
def test_sliced_wide_windows(runtime, c_in):
    """Windows up to 3x3x512 = 4608 bits (every counter level) against the plain conv."""
    rng = np.random.default_rng(c_in)
    c_out, h, w = 40, 4, 3
    win = Window(3, 3, 1, 1, 1, 1, 1, 1)
    signs = random_signs(rng, (h, w, c_in))
    wsigns = random_signs(rng, (c_out, 3, 3, c_in))
    wsigns[0] = signs[1, 1]  # channel 0 agrees with every tap at pixel (1, 1): the largest count
    wsigns[1] = -signs[1, 1]
    acc = model.conv_bin_acc(signs, wsigns, (1, 1), (1, 1, 1, 1), (1, 1))
    thresh = thresholds_near(rng, acc, channel_axis=2)
    bits, packed = model.pack_signs(signs), model.pack_signs(wsigns)
    tw = transpose_conv_weights(packed.reshape(c_out, -1), c_in)
    plain = runtime.conv2d_bin(bits, c_in, packed, win, (h, w), c_out, thresh=thresh, ref=True)
    np.testing.assert_array_equal(plain, model.pack_signs(np.where(acc >= thresh, 1, -1)))
    for ref in (False, True):
        np.testing.assert_array_equal(
            runtime.conv2d_bin_sliced(bits, c_in, tw, win, (h, w), c_out, thresh, ref=ref), plain)


@SETTINGS
@given(st.sampled_from([1, 31, 32, 33, 100, 576, 1024, 2000, 4096, 4608]), st.sampled_from([1, 10, 32, 33, 70]),
       st.integers(0, 2), seeds)
def test_dense_sliced_equals_plain_dense(runtime, k, n_out, extra_words, seed):
    """Padding words and tail bits (0 in input and weights) do not count: K stays k."""
    rng = np.random.default_rng(seed)
    a = random_signs(rng, k)
    wt = random_signs(rng, (n_out, k))
    wt[0] = a  # extreme counts
    abits = np.concatenate([model.pack_signs(a), np.zeros(extra_words, np.uint32)])
    wbits = np.concatenate([model.pack_signs(wt), np.zeros((n_out, extra_words), np.uint32)], 1)
    thresh = thresholds_near(rng, (wt @ a)[None, :], channel_axis=1)
    thresh[1::4] = np.iinfo(np.int32).max
    thresh[2::4] = np.iinfo(np.int32).min
    plain = runtime.dense_bin(abits, k, wbits, thresh=thresh, ref=True)
    tw = transpose_conv_weights(wbits, 32 * abits.size)
    for ref in (False, True):
        np.testing.assert_array_equal(runtime.dense_bin_sliced(abits, k, tw, n_out, thresh, ref=ref), plain)
