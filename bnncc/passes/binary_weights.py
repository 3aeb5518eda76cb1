"""Decide whether a weight tensor is binary: each output channel is +-alpha_c, alpha_c > 0."""

from __future__ import annotations

import numpy as np

# Exporters that fold BatchNorm into the weights leave +-alpha_c up to float rounding;
# 0.5 % covers that and still rejects genuinely real-valued weights.
RELATIVE_TOLERANCE = 0.005


def split_binary(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Return (signs as bool, True for +1; alpha per output channel) or None if not binary.

    The first axis of `weight` is the output channel.
    """
    flat = weight.reshape(weight.shape[0], -1).astype(np.float64)
    magnitude = np.abs(flat)
    if not np.all(np.isfinite(flat)) or np.any(magnitude == 0):
        return None
    alpha = np.median(magnitude, axis=1)
    if np.any(np.abs(magnitude - alpha[:, None]) > RELATIVE_TOLERANCE * alpha[:, None]):
        return None
    signs = (flat > 0).reshape(weight.shape)
    return signs, alpha.astype(np.float32)


def describe_non_binary(weight: np.ndarray) -> str:
    """Why a weight is not binary, for the error message and `inspect` (names the worst channel)."""
    flat = weight.reshape(weight.shape[0], -1)
    zeros = flat == 0
    if np.any(zeros):
        first = int(np.flatnonzero(zeros.any(axis=1))[0])
        return (f"{int(zeros.sum())} weight(s) are exactly 0 (first in output channel {first}; "
                "a Sign of a latent weight that is 0?)")
    magnitude = np.abs(flat)
    spread = (magnitude.max(axis=1) - magnitude.min(axis=1)) / np.maximum(magnitude.max(axis=1), 1e-30)
    worst = int(np.argmax(spread))
    distinct = np.unique(magnitude[worst]).size
    return (f"{distinct} distinct magnitudes in output channel {worst}, from {magnitude[worst].min():.6g} to "
            f"{magnitude[worst].max():.6g} (binary needs +-alpha within {RELATIVE_TOLERANCE:.1%})")
