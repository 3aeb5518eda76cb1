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
