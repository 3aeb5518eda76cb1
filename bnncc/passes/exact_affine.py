"""Per-channel steps on REAL tensors computed with exactly onnxruntime's float32 operations.

A float32 op is exact per operation, so the compiled code matches onnxruntime bit for bit when it performs
the same operations in the same order:
- BatchNormalization: onnxruntime's CPU kernel precomputes s = (1 / sqrt(var + eps)) * scale and
  t = B - mean * s in float32, then y = x * s + t (two roundings). `bn_scale_bias` computes s and t the
  same way and checks the formula against onnxruntime on random inputs.
- A binary layer's real output y = acc * scale[c] + bias[c] matches onnxruntime's chain when the chain is
  at most one multiply (or BN) followed by at most one add: `exact_prefix` says how many steps that is.
  The rest of the chain runs as separate per-channel layers.
"""

from __future__ import annotations

import numpy as np

from ..errors import BnnccError
from ..ir import AffineOut, ChainStep
from .chain import ChainEvaluator


def bn_scale_bias(step: ChainStep, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(s, t) in float32 with y = x * s + t exactly as onnxruntime's BatchNormalization."""
    f32 = np.float32
    gamma, beta, mean, var = (np.asarray(c, f32) for c in step.consts)
    inv_std = (f32(1) / np.sqrt((var + f32(step.epsilon)).astype(f32))).astype(f32)
    s = (inv_std * gamma).astype(f32)
    t = (beta - (mean * s).astype(f32)).astype(f32)
    if check:
        channels = s.size
        rng = np.random.default_rng(0)
        x = (rng.standard_normal((channels, 256)) * np.abs(mean.astype(np.float64) + 1)[:, None]).astype(f32)
        x[:, :3] = mean[:, None] + np.array([-1e-3, 0, 1e-3], f32)
        with np.errstate(over="ignore", invalid="ignore"):
            mine = ((x * s[:, None]).astype(f32) + t[:, None]).astype(f32)
        theirs = ChainEvaluator([step], channels)(x)
        same = (mine == theirs) | (np.isnan(mine) & np.isnan(theirs))
        if not np.all(same):
            raise BnnccError("BatchNormalization: the float32 formula x * s + t does not reproduce onnxruntime "
                             "(this onnxruntime computes it differently; please report)")
    return s, t


def exact_prefix(steps: list[ChainStep], channels: int) -> tuple[int, AffineOut]:
    """How many leading steps fold exactly into out = acc * scale + bias, and that (scale, bias)."""
    scale = bias = None
    taken = 0
    for step in steps:
        if step.op == "BatchNormalization" and scale is None and bias is None:
            scale, bias = bn_scale_bias(step)
        elif step.op == "Mul" and scale is None and bias is None:
            scale = _vector(step.consts[0], channels)
        elif step.op == "Add" and bias is None:
            bias = _vector(step.consts[0], channels)
        elif step.op == "Sub" and not step.const_first and bias is None:
            bias = -_vector(step.consts[0], channels)  # x - c == x + (-c) exactly
        else:
            break
        taken += 1
    ones = np.ones(channels, np.float32)
    return taken, AffineOut(ones if scale is None else scale, np.zeros(channels, np.float32) if bias is None else bias)


def _vector(value: np.ndarray, channels: int) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, np.float32), (channels,)), np.float32)
