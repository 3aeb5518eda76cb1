"""Per-target weight layouts (passes/weight_layout.py): the interleaved dense rows of cortex-m55."""

import numpy as np
import pytest

from bnncc import ir
from bnncc.passes.weight_layout import choose_weight_layouts, deinterleave_rows, interleave_rows


@pytest.mark.parametrize("n_out,n_words", [(1, 1), (3, 5), (4, 1), (7, 10), (37, 3), (64, 32)])
def test_interleave_reorders_the_same_words(n_out, n_words):
    rng = np.random.default_rng(n_out * 31 + n_words)
    rows = rng.integers(0, 2**32, (n_out, n_words), dtype=np.uint64).astype(np.uint32)
    flat = interleave_rows(rows, 4)
    assert flat.size == rows.size and sorted(flat) == sorted(rows.reshape(-1))  # flash does not grow
    full = n_out - n_out % 4
    for o in range(n_out):  # the layout of runtime_c/bnn.h (bnn_dense_bin_*_i4)
        for i in range(n_words):
            index = (o - o % 4) * n_words + 4 * i + o % 4 if o < full else o * n_words + i
            assert flat[index] == rows[o, i]
    np.testing.assert_array_equal(deinterleave_rows(flat, n_out, n_words, 4), rows)


def _dense(binary_input=True):
    thresh = ir.Threshold(np.zeros(6, np.int32), np.zeros(6, bool), np.zeros(6, bool))
    packed = np.arange(6 * 3, dtype=np.uint32).reshape(6, 3)
    return ir.DenseLayer(name="d", inputs=["x"], outputs=["y"], k=96, n_words=3, n_out=6,
                         binary_input=binary_input, packed=packed, out=thresh)


@pytest.mark.parametrize("target", ["host", "cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m55"])
def test_only_the_m55_reads_interleaved_dense_rows(target):
    layers = [_dense(), _dense(binary_input=False)]
    graph = ir.Graph(tensors={}, nodes=layers, input="x", output="y")
    choose_weight_layouts(graph, target)
    binary, real = layers
    assert real.kernel == "bnn_dense_f32_thresh" and real.packed.shape == (6, 3)
    if target == "cortex-m55":
        assert binary.kernel == "bnn_dense_bin_thresh_i4" and binary.interleave == 4
        np.testing.assert_array_equal(binary.packed, interleave_rows(np.arange(18, dtype=np.uint32).reshape(6, 3), 4))
    else:
        assert binary.kernel == "bnn_dense_bin_thresh" and binary.packed.shape == (6, 3)


@pytest.mark.parametrize("groups,bits", [(1, 64), (2, 96), (3, 288), (4, 32), (5, 576), (6, 128), (7, 64), (8, 1152)])
def test_interleave_groups_reorders_the_same_words(groups, bits):
    from bnncc.passes.weight_layout import deinterleave_groups, interleave_groups
    rng = np.random.default_rng(groups * 1000 + bits)
    tw = rng.integers(0, 2**32, (groups, bits), dtype=np.uint64).astype(np.uint32)
    flat = interleave_groups(tw)
    assert flat.size == tw.size and sorted(flat) == sorted(tw.reshape(-1))  # flash does not grow
    g0 = 0
    while g0 < groups:  # the layout of runtime_c/bnn_conv_bin.c (bnn_conv2d_bin_thresh_sliced_gi)
        g = 4 if groups - g0 >= 4 else 2 if groups - g0 >= 2 else 1
        p = 4 // g
        for s in range(bits // p):
            for lane in range(4):
                assert flat[g0 * bits + 4 * s + lane] == tw[g0 + lane // p, p * s + lane % p]
        g0 += g
    np.testing.assert_array_equal(deinterleave_groups(flat, groups, bits), tw)


def _conv(c_in, c_out, k=3):
    thresh = ir.Threshold(np.zeros(c_out, np.int32), np.zeros(c_out, bool), np.zeros(c_out, bool))
    groups, bits = -(-c_out // 32), k * k * c_in
    packed = np.arange(groups * bits, dtype=np.uint32).reshape(groups, bits)
    window = ir.Window(k_h=k, k_w=k, stride_h=1, stride_w=1, pad_top=1, pad_left=1, pad_bottom=1, pad_right=1,
                       dil_h=1, dil_w=1)
    return ir.ConvLayer(name="c", inputs=["x"], outputs=["y"], in_dims=(c_in, 8, 8), out_dims=(c_out, 8, 8),
                        window=window, packed=packed, out=thresh)


@pytest.mark.parametrize("target", ["host", "cortex-m4", "cortex-m55"])
def test_only_the_m55_reads_interleaved_conv_groups(target):
    from bnncc.passes.weight_layout import interleave_groups
    wide, narrow, odd_c_in = _conv(64, 96), _conv(64, 32), _conv(40, 96)
    graph = ir.Graph(tensors={}, nodes=[wide, narrow, odd_c_in], input="x", output="y")
    choose_weight_layouts(graph, target)
    # one group, or c_in not whole words (the scalar partial-word path): the plain transposed layout
    assert narrow.kernel == odd_c_in.kernel == "bnn_conv2d_bin_thresh_sliced"
    assert odd_c_in.packed.shape == (3, 9 * 40)
    if target == "cortex-m55":
        assert wide.kernel == "bnn_conv2d_bin_thresh_sliced_gi"
        np.testing.assert_array_equal(wide.packed, interleave_groups(np.arange(3 * 576, dtype=np.uint32).reshape(3, 576)))
    else:
        assert wide.kernel == "bnn_conv2d_bin_thresh_sliced" and wide.packed.shape == (3, 576)
