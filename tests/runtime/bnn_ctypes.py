"""ctypes bindings of the C runtime (runtime_c/*.c + bnn_ref.c) built as one shared library.

Every kernel is exposed twice, optimized and reference (suffix ``_ref``), behind the same
numpy-level call so tests can run either by name.
"""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import numpy as np

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime_c"

_I32 = ctypes.c_int32
_P = ctypes.c_void_p


class Dims(ctypes.Structure):
    _fields_ = [("h", _I32), ("w", _I32), ("c", _I32)]


class Window(ctypes.Structure):
    _fields_ = [
        ("k_h", _I32), ("k_w", _I32),
        ("stride_h", _I32), ("stride_w", _I32),
        ("pad_top", _I32), ("pad_left", _I32),
        ("dil_h", _I32), ("dil_w", _I32),
    ]


class IntFix(ctypes.Structure):
    """bnn_int_fix (bnn.h): the undecided channels of an integer-input conv."""
    _fields_ = [("n", _I32), ("channels", _P), ("lo", _P), ("f_thresh", _P), ("table", _P)]


_SIGNATURES = {
    "bnn_pack_chw_f32": [_P, Dims, _P],
    "bnn_unpack_bits_chw_f32": [_P, Dims, _P],
    "bnn_conv2d_bin_thresh": [_P, Dims, _P, _P, ctypes.POINTER(Window), _P, Dims],
    "bnn_conv2d_bin_thresh_sliced": [_P, Dims, _P, _P, ctypes.POINTER(Window), _P, Dims],
    "bnn_conv2d_bin_f32": [_P, Dims, _P, _P, _P, ctypes.POINTER(Window), _P, Dims],
    "bnn_conv2d_f32_thresh": [_P, Dims, _P, _P, ctypes.POINTER(Window), _P, Dims],
    "bnn_conv2d_f32_f32": [_P, Dims, _P, _P, _P, ctypes.POINTER(Window), _P, Dims],
    "bnn_conv2d_u8_thresh": [_P, Dims, _I32, _P, _P, ctypes.POINTER(Window), _P, Dims],
    "bnn_conv2d_s8_thresh": [_P, Dims, _I32, _P, _P, ctypes.POINTER(Window), _P, Dims],
    "bnn_conv2d_u8_thresh_fix": [_P, Dims, _I32, _P, _P, ctypes.POINTER(IntFix), ctypes.POINTER(Window), _P, Dims],
    "bnn_conv2d_s8_thresh_fix": [_P, Dims, _I32, _P, _P, ctypes.POINTER(IntFix), ctypes.POINTER(Window), _P, Dims],
    "bnn_cast_u8_f32": [_P, _I32, _I32, _P, _P],
    "bnn_cast_s8_f32": [_P, _I32, _I32, _P, _P],
    "bnn_conv2d_f32_thresh_grouped": [_P, Dims, _P, _P, ctypes.POINTER(Window), _P, Dims],
    "bnn_conv2d_f32_f32_grouped": [_P, Dims, _P, _P, _P, ctypes.POINTER(Window), _P, Dims],
    "bnn_dense_bin_thresh": [_P, _I32, _I32, _P, _P, _I32, _P],
    "bnn_dense_bin_thresh_sliced": [_P, _I32, _I32, _P, _P, _I32, _P],
    "bnn_dense_bin_f32": [_P, _I32, _I32, _P, _P, _P, _I32, _P],
    "bnn_dense_f32_thresh": [_P, _I32, _P, _P, _I32, _P],
    "bnn_dense_f32_f32": [_P, _I32, _P, _P, _P, _I32, _P],
    "bnn_maxpool_bits": [_P, Dims, ctypes.POINTER(Window), _P, _P, Dims],
    "bnn_maxpool_f32": [_P, Dims, ctypes.POINTER(Window), _P, Dims],
    "bnn_softmax_f32": [_P, _I32, _P],
    "bnn_log_softmax_f32": [_P, _I32, _P],
    # mixed precision
    "bnn_conv2d_f32w_f32": [_P, Dims, _P, _P, _I32, ctypes.POINTER(Window), _P, Dims],
    "bnn_dense_f32w_f32": [_P, _I32, _P, _P, _I32, _P],
    "bnn_scale_shift_f32": [_P, Dims, _P, _P, _P],
    "bnn_add_f32": [_P, _I32, _P, _I32, Dims, _P],
    "bnn_sub_f32": [_P, _I32, _P, _I32, Dims, _P],
    "bnn_mul_f32": [_P, _I32, _P, _I32, Dims, _P],
    "bnn_div_f32": [_P, _I32, _P, _I32, Dims, _P],
    "bnn_relu_f32": [_P, _I32, _P],
    "bnn_prelu_f32": [_P, Dims, _P, _P],
    "bnn_leaky_relu_f32": [_P, _I32, ctypes.c_float, _P],
    "bnn_clip_f32": [_P, _I32, ctypes.c_float, ctypes.c_float, _P],
    "bnn_concat_f32": [_P, Dims, _I32, _P],
    "bnn_concat_bits": [_P, _P, _I32, _I32, _I32, _P],
    "bnn_avgpool_f32": [_P, Dims, ctypes.POINTER(Window), _I32, _I32, _I32, _P, Dims],
    "bnn_avgpool_mlas_f32": [_P, Dims, ctypes.POINTER(Window), _I32, _I32, _I32, _P, Dims],
    "bnn_global_avgpool_f32": [_P, Dims, _P],
    "bnn_reduce_mean_hw_f32": [_P, Dims, _P],
    "bnn_pack_thresh_chw_f32": [_P, Dims, _P, _P, _P],
}

# Broadcast modes of bnn_add_f32 & co. (bnn.h), by operand shape.
BCAST_FULL, BCAST_CHANNEL, BCAST_PLANE, BCAST_SCALAR = 0, 1, 2, 3


def build_library(out_dir: Path, cc: str = "gcc", extra_flags: tuple[str, ...] = ()) -> Path:
    """Compiles every runtime .c file plus the reference twins into one shared library."""
    sources = sorted(str(p) for p in RUNTIME_DIR.glob("*.c"))
    lib_path = out_dir / "libbnn_runtime.so"
    cmd = [cc, "-std=c99", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-pedantic", "-shared",
           "-fPIC", *extra_flags, "-I", str(RUNTIME_DIR), *sources, "-lm", "-o", str(lib_path)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return lib_path


def _ptr(a: np.ndarray) -> int:
    assert a.flags["C_CONTIGUOUS"]
    return a.ctypes.data


def words(n: int) -> int:
    return (n + 31) // 32


class Runtime:
    """numpy-level calls of the C kernels; ``ref=True`` selects the reference twin."""

    def __init__(self, lib_path: Path):
        self.lib = ctypes.CDLL(str(lib_path))
        for name, args in _SIGNATURES.items():
            for fname in (name, name + "_ref"):
                fn = getattr(self.lib, fname)
                fn.argtypes = args
                fn.restype = None
        for fname in ("bnn_expf", "bnn_logf"):
            fn = getattr(self.lib, fname)
            fn.argtypes = [ctypes.c_float]
            fn.restype = ctypes.c_float

    def _fn(self, name: str, ref: bool):
        return getattr(self.lib, name + ("_ref" if ref else ""))

    # --- packing ---------------------------------------------------------------------------
    def pack_chw_f32(self, x: np.ndarray, ref: bool = False) -> np.ndarray:
        c, h, w = x.shape
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.full((h, w, words(c)), 0xDEADBEEF, dtype=np.uint32)
        self._fn("bnn_pack_chw_f32", ref)(_ptr(x), Dims(h, w, c), _ptr(out))
        return out

    def unpack_bits_chw_f32(self, bits: np.ndarray, c: int, ref: bool = False) -> np.ndarray:
        h, w, _ = bits.shape
        bits = np.ascontiguousarray(bits, dtype=np.uint32)
        out = np.full((c, h, w), np.nan, dtype=np.float32)
        self._fn("bnn_unpack_bits_chw_f32", ref)(_ptr(bits), Dims(h, w, c), _ptr(out))
        return out

    # --- convolutions ----------------------------------------------------------------------
    def conv2d_bin(self, bits: np.ndarray, c_in: int, wbits: np.ndarray, win: Window,
                   out_hw: tuple[int, int], c_out: int, thresh=None, scale=None, bias=None,
                   ref: bool = False) -> np.ndarray:
        """bits: (H, W, words(c_in)); wbits: (c_out, k_h, k_w, words(c_in))."""
        h, w, _ = bits.shape
        oh, ow = out_hw
        bits = np.ascontiguousarray(bits, dtype=np.uint32)
        wbits = np.ascontiguousarray(wbits, dtype=np.uint32)
        if thresh is not None:
            thresh = np.ascontiguousarray(thresh, dtype=np.int32)
            out = np.full((oh, ow, words(c_out)), 0xDEADBEEF, dtype=np.uint32)
            self._fn("bnn_conv2d_bin_thresh", ref)(
                _ptr(bits), Dims(h, w, c_in), _ptr(wbits), _ptr(thresh), ctypes.byref(win),
                _ptr(out), Dims(oh, ow, c_out))
            return out
        scale = np.ascontiguousarray(scale, dtype=np.float32)
        bias = np.ascontiguousarray(bias, dtype=np.float32)
        out = np.full((c_out, oh, ow), np.nan, dtype=np.float32)
        self._fn("bnn_conv2d_bin_f32", ref)(
            _ptr(bits), Dims(h, w, c_in), _ptr(wbits), _ptr(scale), _ptr(bias),
            ctypes.byref(win), _ptr(out), Dims(oh, ow, c_out))
        return out

    def conv2d_bin_sliced(self, bits: np.ndarray, c_in: int, tw: np.ndarray, win: Window,
                          out_hw: tuple[int, int], c_out: int, thresh, ref: bool = False) -> np.ndarray:
        """bits: (H, W, words(c_in)); tw: (words(c_out), k_h * k_w * c_in) transposed weights."""
        h, w, _ = bits.shape
        oh, ow = out_hw
        bits = np.ascontiguousarray(bits, dtype=np.uint32)
        tw = np.ascontiguousarray(tw, dtype=np.uint32)
        thresh = np.ascontiguousarray(thresh, dtype=np.int32)
        out = np.full((oh, ow, words(c_out)), 0xDEADBEEF, dtype=np.uint32)
        self._fn("bnn_conv2d_bin_thresh_sliced", ref)(
            _ptr(bits), Dims(h, w, c_in), _ptr(tw), _ptr(thresh), ctypes.byref(win), _ptr(out),
            Dims(oh, ow, c_out))
        return out

    def conv2d_real(self, x: np.ndarray, wbits: np.ndarray, win: Window, out_hw, c_out: int,
                    thresh=None, scale=None, bias=None, ref: bool = False,
                    grouped: bool = False) -> np.ndarray:
        """x: (C, H, W) float32; wbits: (c_out, words(c_in * k_h * k_w)). grouped: the opt-in
        grouped-order kernels (bnn_conv2d_f32_*_grouped) instead of the default order."""
        suffix = "_grouped" if grouped else ""
        c, h, w = x.shape
        oh, ow = out_hw
        x = np.ascontiguousarray(x, dtype=np.float32)
        wbits = np.ascontiguousarray(wbits, dtype=np.uint32)
        if thresh is not None:
            thresh = np.ascontiguousarray(thresh, dtype=np.float32)
            out = np.full((oh, ow, words(c_out)), 0xDEADBEEF, dtype=np.uint32)
            self._fn("bnn_conv2d_f32_thresh" + suffix, ref)(
                _ptr(x), Dims(h, w, c), _ptr(wbits), _ptr(thresh), ctypes.byref(win),
                _ptr(out), Dims(oh, ow, c_out))
            return out
        scale = np.ascontiguousarray(scale, dtype=np.float32)
        bias = np.ascontiguousarray(bias, dtype=np.float32)
        out = np.full((c_out, oh, ow), np.nan, dtype=np.float32)
        self._fn("bnn_conv2d_f32_f32" + suffix, ref)(
            _ptr(x), Dims(h, w, c), _ptr(wbits), _ptr(scale), _ptr(bias), ctypes.byref(win),
            _ptr(out), Dims(oh, ow, c_out))
        return out

    def conv2d_int(self, q: np.ndarray, offset: int, wbits: np.ndarray, win: Window, out_hw, c_out: int,
                   thresh, ref: bool = False) -> np.ndarray:
        """q: (C, H, W) uint8 or int8; thresh: int32 per channel on sum +-(q - offset)."""
        c, h, w = q.shape
        oh, ow = out_hw
        q = np.ascontiguousarray(q)
        wbits = np.ascontiguousarray(wbits, dtype=np.uint32)
        thresh = np.ascontiguousarray(thresh, dtype=np.int32)
        out = np.full((oh, ow, words(c_out)), 0xDEADBEEF, dtype=np.uint32)
        name = "bnn_conv2d_u8_thresh" if q.dtype == np.uint8 else "bnn_conv2d_s8_thresh"
        self._fn(name, ref)(_ptr(q), Dims(h, w, c), offset, _ptr(wbits), _ptr(thresh), ctypes.byref(win),
                            _ptr(out), Dims(oh, ow, c_out))
        return out

    def conv2d_int_fix(self, q: np.ndarray, offset: int, wbits: np.ndarray, win: Window, out_hw, c_out: int,
                       thresh, channels, lo, f_thresh, table, ref: bool = False) -> np.ndarray:
        """conv2d_int with undecided channels (bnn_conv2d_*_thresh_fix): channels[i] (ascending) takes the
        float sum over x = table[q - min] against f_thresh[i] where lo[i] <= A < thresh[channels[i]]."""
        c, h, w = q.shape
        oh, ow = out_hw
        q = np.ascontiguousarray(q)
        keep = [np.ascontiguousarray(wbits, dtype=np.uint32), np.ascontiguousarray(thresh, dtype=np.int32),
                np.ascontiguousarray(channels, dtype=np.int32), np.ascontiguousarray(lo, dtype=np.int32),
                np.ascontiguousarray(f_thresh, dtype=np.float32), np.ascontiguousarray(table, dtype=np.float32)]
        wbits, thresh, channels, lo, f_thresh, table = keep
        assert channels.size == lo.size == f_thresh.size and table.size == 256
        fix = IntFix(channels.size, _ptr(channels), _ptr(lo), _ptr(f_thresh), _ptr(table))
        out = np.full((oh, ow, words(c_out)), 0xDEADBEEF, dtype=np.uint32)
        name = "bnn_conv2d_u8_thresh_fix" if q.dtype == np.uint8 else "bnn_conv2d_s8_thresh_fix"
        self._fn(name, ref)(_ptr(q), Dims(h, w, c), offset, _ptr(wbits), _ptr(thresh), ctypes.byref(fix),
                            ctypes.byref(win), _ptr(out), Dims(oh, ow, c_out))
        return out

    def cast_int(self, q: np.ndarray, plane: int, table: np.ndarray, ref: bool = False) -> np.ndarray:
        """bnn_cast_{u8,s8}_f32: q flat uint8/int8, table (n / plane, 256) float32."""
        q = np.ascontiguousarray(q).reshape(-1)
        table = np.ascontiguousarray(table, dtype=np.float32)
        out = np.full(q.size, np.nan, dtype=np.float32)
        name = "bnn_cast_u8_f32" if q.dtype == np.uint8 else "bnn_cast_s8_f32"
        self._fn(name, ref)(_ptr(q), q.size, plane, _ptr(table), _ptr(out))
        return out

    # --- dense -----------------------------------------------------------------------------
    def dense_bin(self, bits: np.ndarray, k: int, wbits: np.ndarray, thresh=None, scale=None,
                  bias=None, ref: bool = False) -> np.ndarray:
        """bits: (n_words,); wbits: (n_out, n_words)."""
        bits = np.ascontiguousarray(bits, dtype=np.uint32)
        wbits = np.ascontiguousarray(wbits, dtype=np.uint32)
        n_out, n_words = wbits.shape
        if thresh is not None:
            thresh = np.ascontiguousarray(thresh, dtype=np.int32)
            out = np.full(words(n_out), 0xDEADBEEF, dtype=np.uint32)
            self._fn("bnn_dense_bin_thresh", ref)(_ptr(bits), n_words, k, _ptr(wbits),
                                                 _ptr(thresh), n_out, _ptr(out))
            return out
        scale = np.ascontiguousarray(scale, dtype=np.float32)
        bias = np.ascontiguousarray(bias, dtype=np.float32)
        out = np.full(n_out, np.nan, dtype=np.float32)
        self._fn("bnn_dense_bin_f32", ref)(_ptr(bits), n_words, k, _ptr(wbits), _ptr(scale),
                                          _ptr(bias), n_out, _ptr(out))
        return out

    def dense_bin_sliced(self, bits: np.ndarray, k: int, tw: np.ndarray, n_out: int, thresh,
                         ref: bool = False) -> np.ndarray:
        """bits: (n_words,); tw: (words(n_out), 32 * n_words) transposed weights."""
        bits = np.ascontiguousarray(bits, dtype=np.uint32)
        tw = np.ascontiguousarray(tw, dtype=np.uint32)
        thresh = np.ascontiguousarray(thresh, dtype=np.int32)
        out = np.full(words(n_out), 0xDEADBEEF, dtype=np.uint32)
        self._fn("bnn_dense_bin_thresh_sliced", ref)(_ptr(bits), bits.shape[0], k, _ptr(tw),
                                                    _ptr(thresh), n_out, _ptr(out))
        return out

    def dense_real(self, x: np.ndarray, wbits: np.ndarray, thresh=None, scale=None, bias=None,
                   ref: bool = False) -> np.ndarray:
        """x: (n_in,) float32; wbits: (n_out, words(n_in))."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        wbits = np.ascontiguousarray(wbits, dtype=np.uint32)
        n_out = wbits.shape[0]
        if thresh is not None:
            thresh = np.ascontiguousarray(thresh, dtype=np.float32)
            out = np.full(words(n_out), 0xDEADBEEF, dtype=np.uint32)
            self._fn("bnn_dense_f32_thresh", ref)(_ptr(x), x.size, _ptr(wbits), _ptr(thresh),
                                                 n_out, _ptr(out))
            return out
        scale = np.ascontiguousarray(scale, dtype=np.float32)
        bias = np.ascontiguousarray(bias, dtype=np.float32)
        out = np.full(n_out, np.nan, dtype=np.float32)
        self._fn("bnn_dense_f32_f32", ref)(_ptr(x), x.size, _ptr(wbits), _ptr(scale),
                                          _ptr(bias), n_out, _ptr(out))
        return out

    # --- pooling ---------------------------------------------------------------------------
    def maxpool_bits(self, bits: np.ndarray, c: int, win: Window, out_hw, and_mask=None,
                     ref: bool = False) -> np.ndarray:
        h, w, _ = bits.shape
        oh, ow = out_hw
        bits = np.ascontiguousarray(bits, dtype=np.uint32)
        out = np.full((oh, ow, words(c)), 0xDEADBEEF, dtype=np.uint32)
        mask_ptr = None
        if and_mask is not None:
            and_mask = np.ascontiguousarray(and_mask, dtype=np.uint32)
            mask_ptr = _ptr(and_mask)
        self._fn("bnn_maxpool_bits", ref)(_ptr(bits), Dims(h, w, c), ctypes.byref(win),
                                         mask_ptr, _ptr(out), Dims(oh, ow, c))
        return out

    def maxpool_f32(self, x: np.ndarray, win: Window, out_hw, ref: bool = False) -> np.ndarray:
        c, h, w = x.shape
        oh, ow = out_hw
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.full((c, oh, ow), np.nan, dtype=np.float32)
        self._fn("bnn_maxpool_f32", ref)(_ptr(x), Dims(h, w, c), ctypes.byref(win), _ptr(out),
                                        Dims(oh, ow, c))
        return out

    # --- softmax ---------------------------------------------------------------------------
    def softmax(self, x: np.ndarray, log: bool = False, ref: bool = False) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.full(x.size, np.nan, dtype=np.float32)
        name = "bnn_log_softmax_f32" if log else "bnn_softmax_f32"
        self._fn(name, ref)(_ptr(x), x.size, _ptr(out))
        return out

    # --- mixed precision ---------------------------------------------------------------------
    def conv2d_f32w(self, x, weights, win: Window, out_hw, groups: int = 1, bias=None,
                    ref: bool = False) -> np.ndarray:
        """x: (C, H, W); weights: (c_out, C / groups, k_h, k_w) float32."""
        c, h, w = x.shape
        oh, ow = out_hw
        x = np.ascontiguousarray(x, dtype=np.float32)
        weights = np.ascontiguousarray(weights, dtype=np.float32)
        c_out = weights.shape[0]
        bias_ptr = None
        if bias is not None:
            bias = np.ascontiguousarray(bias, dtype=np.float32)
            bias_ptr = _ptr(bias)
        out = np.full((c_out, oh, ow), np.nan, dtype=np.float32)
        self._fn("bnn_conv2d_f32w_f32", ref)(_ptr(x), Dims(h, w, c), _ptr(weights), bias_ptr,
                                            groups, ctypes.byref(win), _ptr(out),
                                            Dims(oh, ow, c_out))
        return out

    def dense_f32w(self, x, weights, bias=None, ref: bool = False) -> np.ndarray:
        """x: (n_in,); weights: (n_out, n_in) float32."""
        x = np.ascontiguousarray(x, dtype=np.float32).ravel()
        weights = np.ascontiguousarray(weights, dtype=np.float32)
        n_out = weights.shape[0]
        bias_ptr = None
        if bias is not None:
            bias = np.ascontiguousarray(bias, dtype=np.float32)
            bias_ptr = _ptr(bias)
        out = np.full(n_out, np.nan, dtype=np.float32)
        self._fn("bnn_dense_f32w_f32", ref)(_ptr(x), x.size, _ptr(weights), bias_ptr, n_out,
                                           _ptr(out))
        return out

    def scale_shift(self, x, scale, shift, out=None, ref: bool = False) -> np.ndarray:
        c, h, w = x.shape
        x = np.ascontiguousarray(x, dtype=np.float32)
        scale = np.ascontiguousarray(scale, dtype=np.float32)
        shift = np.ascontiguousarray(shift, dtype=np.float32)
        if out is None:
            out = np.full((c, h, w), np.nan, dtype=np.float32)
        self._fn("bnn_scale_shift_f32", ref)(_ptr(x), Dims(h, w, c), _ptr(scale), _ptr(shift),
                                            _ptr(out))
        return out

    def binary(self, op: str, a, a_mode: int, b, b_mode: int, chw, out=None,
               ref: bool = False) -> np.ndarray:
        """op in add/sub/mul/div; chw: output shape (C, H, W); out may be a or b (in place)."""
        c, h, w = chw
        a = np.ascontiguousarray(a, dtype=np.float32)
        b = np.ascontiguousarray(b, dtype=np.float32)
        if out is None:
            out = np.full((c, h, w), np.nan, dtype=np.float32)
        self._fn(f"bnn_{op}_f32", ref)(_ptr(a), a_mode, _ptr(b), b_mode, Dims(h, w, c),
                                      _ptr(out))
        return out

    def activation(self, op: str, x, *params, out=None, ref: bool = False) -> np.ndarray:
        """op: relu, leaky_relu (alpha), clip (lo, hi), prelu (slope array, x is CHW)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if out is None:
            out = np.full(x.shape, np.nan, dtype=np.float32)
        if op == "prelu":
            c, h, w = x.shape
            slope = np.ascontiguousarray(params[0], dtype=np.float32)
            self._fn("bnn_prelu_f32", ref)(_ptr(x), Dims(h, w, c), _ptr(slope), _ptr(out))
        else:
            self._fn(f"bnn_{op}_f32", ref)(_ptr(x), x.size, *params, _ptr(out))
        return out

    def concat_f32(self, xs, ref: bool = False) -> np.ndarray:
        h, w = xs[0].shape[1:]
        out = np.full((sum(x.shape[0] for x in xs), h, w), np.nan, dtype=np.float32)
        off = 0
        for x in xs:
            x = np.ascontiguousarray(x, dtype=np.float32)
            self._fn("bnn_concat_f32", ref)(_ptr(x), Dims(h, w, x.shape[0]), off, _ptr(out))
            off += x.shape[0]
        return out

    def concat_bits(self, bits_list, channels, ref: bool = False) -> np.ndarray:
        """bits_list[k]: (H, W, words(channels[k])) uint32."""
        h, w = bits_list[0].shape[:2]
        arrs = [np.ascontiguousarray(b, dtype=np.uint32) for b in bits_list]
        ptrs = (ctypes.c_void_p * len(arrs))(*[_ptr(a) for a in arrs])
        cs = np.ascontiguousarray(channels, dtype=np.int32)
        out = np.full((h, w, words(int(sum(channels)))), 0xDEADBEEF, dtype=np.uint32)
        self._fn("bnn_concat_bits", ref)(ctypes.cast(ptrs, ctypes.c_void_p), _ptr(cs),
                                        len(arrs), h, w, _ptr(out))
        return out

    def avgpool_f32(self, x, win: Window, out_hw, pad_bottom: int, pad_right: int,
                    count_include_pad: int, ref: bool = False, mlas: bool = False) -> np.ndarray:
        c, h, w = x.shape
        oh, ow = out_hw
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.full((c, oh, ow), np.nan, dtype=np.float32)
        name = "bnn_avgpool_mlas_f32" if mlas else "bnn_avgpool_f32"
        self._fn(name, ref)(_ptr(x), Dims(h, w, c), ctypes.byref(win), pad_bottom,
                                        pad_right, count_include_pad, _ptr(out), Dims(oh, ow, c))
        return out

    def global_mean(self, x, name: str = "bnn_global_avgpool_f32", ref: bool = False):
        c, h, w = x.shape
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.full(c, np.nan, dtype=np.float32)
        self._fn(name, ref)(_ptr(x), Dims(h, w, c), _ptr(out))
        return out

    def pack_thresh(self, x, thresh, flip=None, ref: bool = False) -> np.ndarray:
        c, h, w = x.shape
        x = np.ascontiguousarray(x, dtype=np.float32)
        thresh = np.ascontiguousarray(thresh, dtype=np.float32)
        flip_ptr = None
        if flip is not None:
            flip = np.ascontiguousarray(flip, dtype=np.uint32)
            flip_ptr = _ptr(flip)
        out = np.full((h, w, words(c)), 0xDEADBEEF, dtype=np.uint32)
        self._fn("bnn_pack_thresh_chw_f32", ref)(_ptr(x), Dims(h, w, c), _ptr(thresh), flip_ptr,
                                                _ptr(out))
        return out

    def expf(self, x: float) -> float:
        return self.lib.bnn_expf(x)

    def logf(self, x: float) -> float:
        return self.lib.bnn_logf(x)
