"""Pack sign bits into 32-bit words: bit 1 = +1, element i of a word in bit i (LSB first).

Layouts (see runtime_c/bnn.h):
- conv on BITS input: per output channel [k_h][k_w][words(C_in)], like one input neighbourhood;
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


def pack_dense_bits_input(signs: np.ndarray, chw: tuple[int, int, int]) -> np.ndarray:
    """(N, C*H*W) bool in ONNX flatten order -> (N, H*W*words(C)) uint32 in the producer's HWC layout."""
    c, h, w = chw
    hwc = np.transpose(signs.reshape(signs.shape[0], c, h, w), (0, 2, 3, 1))
    return pack_pixels(hwc).reshape(signs.shape[0], -1)


def pack_feature_map(values: np.ndarray) -> np.ndarray:
    """(C, H, W) real -> (H, W, words(C)) uint32 with bit = (x >= 0); the runtime's pack, for tests."""
    return pack_pixels(np.transpose(values >= 0, (1, 2, 0)))
