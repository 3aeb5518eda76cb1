"""Weights transposed at compile time for bnn_conv2d_bin_thresh_sliced."""

import numpy as np
import pytest

from bnncc import ir
from bnncc.passes.pack import pack_conv_bits_input, transpose_conv_weights


@pytest.mark.parametrize("c_out,c_in,k", [(1, 1, (1, 1)), (32, 32, (3, 3)), (40, 33, (3, 2)),
                                          (65, 3, (5, 5)), (7, 64, (1, 3))])
def test_transposed_word_holds_one_input_bit_for_32_channels(c_out, c_in, k):
    rng = np.random.default_rng(c_out * 100 + c_in)
    signs = rng.random((c_out, c_in, k[0], k[1])) < 0.5  # ONNX (C_out, C_in, k_h, k_w)
    tw = transpose_conv_weights(pack_conv_bits_input(signs), c_in)
    groups, taps = ir.words(c_out), k[0] * k[1]
    assert tw.shape == (groups, taps * c_in) and tw.dtype == np.uint32
    for g in range(groups):
        for ky in range(k[0]):
            for kx in range(k[1]):
                for ci in range(c_in):
                    word = int(tw[g, (ky * k[1] + kx) * c_in + ci])
                    expect = sum(1 << i for i in range(32)
                                 if g * 32 + i < c_out and signs[g * 32 + i, ci, ky, kx])
                    assert word == expect


def _conv(c_in, k, out):
    return ir.ConvLayer(name="c", inputs=["x"], outputs=["y"], in_dims=(c_in, 8, 8), out_dims=(8, 8, 8),
                        window=ir.Window(k, k, 1, 1, 0, 0, 1, 1), binary_input=True,
                        packed=np.zeros((8, 1), np.uint32), out=out)


def test_sliced_kernel_only_for_thresholded_windows_that_fit():
    thresh = ir.Threshold(np.zeros(8, np.int32), np.zeros(8, bool), np.zeros(8, bool))
    assert _conv(64, 3, thresh).kernel == "bnn_conv2d_bin_thresh_sliced"  # 576 bits
    assert _conv(ir.SLICED_MAX_BITS, 1, thresh).kernel == "bnn_conv2d_bin_thresh_sliced"
    assert _conv(ir.SLICED_MAX_BITS + 1, 1, thresh).kernel == "bnn_conv2d_bin_thresh"
    assert _conv(512, 3, thresh).kernel == "bnn_conv2d_bin_thresh_sliced"  # 4608 bits: VGG's widest window
    assert _conv(1024, 3, thresh).kernel == "bnn_conv2d_bin_thresh"  # 9216 bits: beyond the sliced counter
    affine = ir.AffineOut(np.ones(8, np.float32), np.zeros(8, np.float32))
    assert _conv(64, 3, affine).kernel == "bnn_conv2d_bin_f32"
