"""Brute-force numpy model of the semantics written in runtime_c/bnn.h.

Signs are int arrays of -1/+1; packing puts element i of the last axis in bit i % 32 of word
i // 32 with zero tail bits. Convolutions use ONNX zero padding (a padded tap adds 0) and the
ONNX output size formula.
"""

from __future__ import annotations

import numpy as np


def words(n: int) -> int:
    return (n + 31) // 32


def out_dim(size: int, k: int, stride: int, pad_begin: int, pad_end: int, dil: int) -> int:
    """ONNX Conv / MaxPool output length (floor mode)."""
    return (size + pad_begin + pad_end - dil * (k - 1) - 1) // stride + 1


def pack_signs(signs: np.ndarray) -> np.ndarray:
    """[..., n] of -1/+1 -> [..., words(n)] uint32, bit set for +1, tail bits 0."""
    signs = np.asarray(signs)
    n = signs.shape[-1]
    bits = np.zeros(signs.shape[:-1] + (words(n) * 32,), dtype=np.uint64)
    bits[..., :n] = signs > 0
    bits = bits.reshape(signs.shape[:-1] + (words(n), 32))
    return (bits << np.arange(32, dtype=np.uint64)).sum(axis=-1).astype(np.uint32)


def unpack_signs(bits: np.ndarray, n: int) -> np.ndarray:
    """Inverse of pack_signs: [..., words] uint32 -> [..., n] int of -1/+1."""
    bits = np.asarray(bits, dtype=np.uint32)
    expanded = (bits[..., :, None] >> np.arange(32, dtype=np.uint32)) & 1
    flat = expanded.reshape(bits.shape[:-1] + (-1,))[..., :n]
    return flat.astype(np.int64) * 2 - 1


def tail_bits_clear(bits: np.ndarray, n: int) -> bool:
    if n % 32 == 0:
        return True
    return bool(np.all(bits[..., -1] >> np.uint32(n % 32) == 0))


def _pad_hw(x: np.ndarray, pads, value, axes=(0, 1)) -> np.ndarray:
    top, left, bottom, right = pads
    width = [(0, 0)] * x.ndim
    width[axes[0]] = (top, bottom)
    width[axes[1]] = (left, right)
    return np.pad(x, width, constant_values=value)


def _windows(oh, ow, k_h, k_w, stride, dil):
    """Yields (ky, kx, row slice, col slice) into the padded input."""
    sh, sw = stride
    dh, dw = dil
    for ky in range(k_h):
        for kx in range(k_w):
            rows = slice(ky * dh, ky * dh + sh * (oh - 1) + 1, sh)
            cols = slice(kx * dw, kx * dw + sw * (ow - 1) + 1, sw)
            yield ky, kx, rows, cols


def conv_bin_acc(a: np.ndarray, w: np.ndarray, stride, pads, dil) -> np.ndarray:
    """a: (H, W, C) signs; w: (Co, kh, kw, C) signs -> (oh, ow, Co) int accumulators."""
    h, wd, _ = a.shape
    c_out, k_h, k_w, _ = w.shape
    oh = out_dim(h, k_h, stride[0], pads[0], pads[2], dil[0])
    ow = out_dim(wd, k_w, stride[1], pads[1], pads[3], dil[1])
    padded = _pad_hw(a.astype(np.int64), pads, 0)
    acc = np.zeros((oh, ow, c_out), dtype=np.int64)
    for ky, kx, rows, cols in _windows(oh, ow, k_h, k_w, stride, dil):
        acc += np.einsum("hwc,oc->hwo", padded[rows, cols, :], w[:, ky, kx, :].astype(np.int64))
    return acc


def conv_real_acc(x: np.ndarray, w: np.ndarray, stride, pads, dil) -> np.ndarray:
    """x: (C, H, W) float; w: (Co, C, kh, kw) signs -> (Co, oh, ow) float64."""
    _, h, wd = x.shape
    c_out, _, k_h, k_w = w.shape
    oh = out_dim(h, k_h, stride[0], pads[0], pads[2], dil[0])
    ow = out_dim(wd, k_w, stride[1], pads[1], pads[3], dil[1])
    padded = _pad_hw(x.astype(np.float64), pads, 0.0, axes=(1, 2))
    acc = np.zeros((c_out, oh, ow), dtype=np.float64)
    for ky, kx, rows, cols in _windows(oh, ow, k_h, k_w, stride, dil):
        acc += np.einsum("chw,oc->ohw", padded[:, rows, cols], w[:, :, ky, kx].astype(np.float64))
    return acc


GROUPED_MAX_TAPS = 32  # BNN_REAL_GROUPED_MAX_TAPS
GROUP_TAPS = 5         # BNN_REAL_GROUP_TAPS


def conv_real_acc_f32(x: np.ndarray, w: np.ndarray, stride, pads, dil, grouped: bool = False) -> np.ndarray:
    """The float32 accumulator of a real-input conv in the order bnn.h promises (bit for bit).
    x: (C, H, W) float32; w: (Co, C, kh, kw) signs -> (Co, oh, ow) float32.
    Default order: from 0, tap by tap over the valid taps (order ci, ky, kx).
    grouped and k <= GROUPED_MAX_TAPS: groups of GROUP_TAPS taps (order ci, ky, kx), each a low half (first
    (n + 1) // 2 taps) + a high half, each half summed from 0 tap by tap, padded taps = 0.0;
    acc = group 0 + group 1 + ... (larger windows: the default order)."""
    c, h, wd = x.shape
    c_out, _, k_h, k_w = w.shape
    oh = out_dim(h, k_h, stride[0], pads[0], pads[2], dil[0])
    ow = out_dim(wd, k_w, stride[1], pads[1], pads[3], dil[1])
    padded = _pad_hw(x.astype(np.float32), pads, 0.0, axes=(1, 2))
    taps = []  # (C*kh*kw) x (oh, ow) in the order ci, ky, kx
    for ci in range(c):
        for ky, kx, rows, cols in _windows(oh, ow, k_h, k_w, stride, dil):
            taps.append(padded[ci, rows, cols])
    taps = np.stack(taps)
    signs = w.reshape(c_out, -1).astype(np.float32)
    k = taps.shape[0]
    if not grouped or k > GROUPED_MAX_TAPS:
        valid = []
        ones = _pad_hw(np.ones((1, h, wd), np.float32), pads, 0.0, axes=(1, 2))
        for ky, kx, rows, cols in _windows(oh, ow, k_h, k_w, stride, dil):
            valid.append(ones[0, rows, cols] > 0)
        valid = np.stack(valid * c)
        acc = np.zeros((c_out, oh, ow), np.float32)
        for t in range(k):
            step = np.where(valid[t], signs[:, t, None, None] * taps[t], np.float32(0))
            acc = np.where(valid[t], acc + step, acc).astype(np.float32)
        return acc
    acc = None
    for g0 in range(0, k, GROUP_TAPS):
        n = min(GROUP_TAPS, k - g0)
        lo = (n + 1) // 2
        halves = []
        for part in (range(g0, g0 + lo), range(g0 + lo, g0 + n)):
            s = np.zeros((c_out, oh, ow), np.float32)
            for t in part:
                s = (s + signs[:, t, None, None] * taps[t]).astype(np.float32)
            halves.append(s)
        group = (halves[0] + halves[1]).astype(np.float32) if n > lo else halves[0]
        acc = group if acc is None else (acc + group).astype(np.float32)
    return acc


def maxpool_signs(a: np.ndarray, k, stride, pads, dil, and_channels=None) -> np.ndarray:
    """a: (H, W, C) signs; OR (max) per channel, AND (min) where and_channels is True.
    Padding never wins; an empty window gives -1."""
    h, wd, c = a.shape
    oh = out_dim(h, k[0], stride[0], pads[0], pads[2], dil[0])
    ow = out_dim(wd, k[1], stride[1], pads[1], pads[3], dil[1])
    valid = _pad_hw(np.ones((h, wd, 1), dtype=bool), pads, False)
    padded = _pad_hw(a > 0, pads, False)
    any_one = np.zeros((oh, ow, c), dtype=bool)
    all_one = np.ones((oh, ow, c), dtype=bool)
    any_valid = np.zeros((oh, ow, 1), dtype=bool)
    for _, _, rows, cols in _windows(oh, ow, k[0], k[1], stride, dil):
        v = valid[rows, cols, :]
        any_valid |= v
        any_one |= padded[rows, cols, :] & v
        all_one &= padded[rows, cols, :] | ~v
    result = any_one.copy()
    if and_channels is not None:
        result[..., and_channels] = all_one[..., and_channels]
    result &= any_valid
    return np.where(result, 1, -1)


def maxpool_real(x: np.ndarray, k, stride, pads, dil) -> np.ndarray:
    """x: (C, H, W) float -> (C, oh, ow), padding is -inf."""
    _, h, wd = x.shape
    oh = out_dim(h, k[0], stride[0], pads[0], pads[2], dil[0])
    ow = out_dim(wd, k[1], stride[1], pads[1], pads[3], dil[1])
    padded = _pad_hw(x.astype(np.float32), pads, -np.inf, axes=(1, 2))
    best = np.full((x.shape[0], oh, ow), -np.inf, dtype=np.float32)
    for _, _, rows, cols in _windows(oh, ow, k[0], k[1], stride, dil):
        best = np.maximum(best, padded[:, rows, cols])
    return best
