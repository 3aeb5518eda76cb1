"""Pack sign bits into 32-bit words: bit 1 = +1, element i of a word in bit i (LSB first).

Layouts (see runtime_c/bnn.h):
- conv on BITS input: per output channel [k_h][k_w][words(C_in)], like one input neighbourhood;
- the same, transposed for the bit-sliced conv (bnn_conv2d_bin_thresh_sliced): per group of 32
  output channels, one word per input bit j = (ky * k_w + kx) * C_in + ci of the window, bit i
  holding output channel g*32 + i (channels past C_out 0);
- dense on BITS input: per output channel, the producer's HWC layout with words(C) words per pixel,
  so the ONNX flatten order (c, h, w) is permuted to (h, w, c);
- conv / dense on REAL input: per output channel, the ONNX order (c, k_h, k_w) or (k), densely packed.
Unused bits (channel tails) are 0, as in the activations, so they XOR to 0.
"""

from __future__ import annotations

import numpy as np

from ..ir import words


def pack_rows(bits: np.ndarray) -> np.ndarray:
    """(rows, n) bool -> (rows, words(n)) uint32, densely packed."""
    rows, n = bits.shape
    padded = np.zeros((rows, words(n) * 32), bool)
    padded[:, :n] = bits
    weights = (np.uint64(1) << np.arange(32, dtype=np.uint64))
    grouped = padded.reshape(rows, -1, 32).astype(np.uint64)
    return (grouped * weights).sum(axis=2).astype(np.uint32)


def pack_pixels(bits: np.ndarray) -> np.ndarray:
    """(..., C) bool -> (..., words(C)) uint32: one pixel's channels, tail bits 0."""
    lead, c = bits.shape[:-1], bits.shape[-1]
    flat = pack_rows(bits.reshape(-1, c))
    return flat.reshape(lead + (words(c),))


def pack_conv_bits_input(signs: np.ndarray) -> np.ndarray:
    """(C_out, C_in, k_h, k_w) bool -> (C_out, k_h * k_w * words(C_in)) uint32."""
    per_tap = np.transpose(signs, (0, 2, 3, 1))  # (C_out, k_h, k_w, C_in)
    return pack_pixels(per_tap).reshape(signs.shape[0], -1)


def transpose_conv_weights(packed: np.ndarray, c_in: int) -> np.ndarray:
    """(C_out, taps * words(C_in)) conv weights on BITS input -> (groups, taps * C_in) uint32.

    The layout the bit-sliced conv reads from flash (the runtime transposes the plain layout into
    the same words at every call otherwise): groups = words(C_out), word j of group g has bit i =
    weight bit of output channel g*32 + i at window input bit j = tap * C_in + ci.
    """
    c_out = packed.shape[0]
    per_tap = packed.reshape(c_out, -1, words(c_in))
    taps = per_tap.shape[1]
    shifts = np.arange(32, dtype=np.uint32)
    bits = ((per_tap[..., None] >> shifts) & np.uint32(1)).astype(bool)  # (C_out, taps, words, 32)
    bits = bits.reshape(c_out, taps, -1)[:, :, :c_in].reshape(c_out, taps * c_in)
    groups = words(c_out)
    padded = np.zeros((groups * 32, taps * c_in), bool)
    padded[:c_out] = bits
    lanes = np.transpose(padded.reshape(groups, 32, -1), (0, 2, 1))  # (groups, bits, 32 channels)
    return pack_rows(lanes.reshape(-1, 32)).reshape(groups, taps * c_in)


def pack_dense_bits_input(signs: np.ndarray, chw: tuple[int, int, int]) -> np.ndarray:
    """(N, C*H*W) bool in ONNX flatten order -> (N, H*W*words(C)) uint32 in the producer's HWC layout."""
    c, h, w = chw
    hwc = np.transpose(signs.reshape(signs.shape[0], c, h, w), (0, 2, 3, 1))
    return pack_pixels(hwc).reshape(signs.shape[0], -1)


def pack_feature_map(values: np.ndarray) -> np.ndarray:
    """(C, H, W) real -> (H, W, words(C)) uint32 with bit = (x >= 0); the runtime's pack, for tests."""
    return pack_pixels(np.transpose(values >= 0, (1, 2, 0)))
