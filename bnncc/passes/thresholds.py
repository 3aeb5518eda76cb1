"""BatchNorm / bias / scale / sign -> one threshold per output channel.

For channel c the chain is affine, y = s * acc + t (s, t in float64 from `compose_affine`):
    s > 0:  out = +1  iff  acc >= T,  T = ceil(-t / s)
    s < 0:  out = +1  iff  acc <= T,  T = floor(-t / s)   -> weights negated, then acc' >= -T
    s = 0:  out is constant.
(`strict` binarizers, +1 iff y > 0, shift the integer thresholds by one.)
The analytic value is only a first guess: the truth is the float32 evaluation of the original ops by
onnxruntime. For integer accumulators every reachable value in [-K, K] is evaluated and the threshold is
taken from that table (`adjusted` counts where the analytic guess was off). For float accumulators the
threshold is the smallest float32 at which the chain turns on, found by bisection over the ordered
float32 values, then spot-checked on random values.
"""

from __future__ import annotations

import numpy as np

from ..errors import BnnccError
from ..ir import ChainStep, Threshold
from .chain import ChainEvaluator, compose_affine

# Bisection range for float accumulators. Far beyond any real accumulator, yet small enough that no
# chain step overflows to inf/NaN (which would make the ends meaningless). Outside it the rule extends
# monotonically, which is the mathematically right answer.
SEARCH_LIMIT = np.float32(1e18)


def integer_thresholds(steps: list[ChainStep], channels: int, fan_in: int, strict: bool,
                       where: str = "") -> Threshold:
    """Thresholds for an integer accumulator in [-fan_in, fan_in], checked against every value."""
    acc = np.arange(-fan_in, fan_in + 1)
    y = ChainEvaluator(steps, channels)(np.broadcast_to(acc.astype(np.float32), (channels, acc.size)))
    on = (y > 0) if strict else (y >= 0)
    slope, offset = compose_affine(steps, channels)
    values = np.zeros(channels, np.int64)
    flipped = np.zeros(channels, bool)
    constant = np.zeros(channels, bool)
    adjusted = 0
    for c in range(channels):
        row = on[c]
        rising = bool(np.all(row[1:] >= row[:-1]))
        falling = bool(np.all(row[1:] <= row[:-1]))
        if rising and falling:
            constant[c] = True
            values[c] = -fan_in - 1 if row[0] else fan_in + 1
            adjusted += int(slope[c] != 0)
        elif rising:
            values[c] = acc[np.argmax(row)]
            guess = _guess(slope[c], offset[c], strict, rising=True)
            adjusted += int(guess is None or np.clip(guess, -fan_in, fan_in + 1) != values[c])
        elif falling:
            flipped[c] = True
            last_on = acc[len(row) - 1 - np.argmax(row[::-1])]
            values[c] = -last_on
            guess = _guess(slope[c], offset[c], strict, rising=False)
            adjusted += int(guess is None or np.clip(guess, -fan_in - 1, fan_in) != last_on)
        else:
            raise BnnccError(f"channel {c}: the float32 chain is not monotone in the accumulator; cannot threshold",
                             where or None)
    zero_channels = int(np.sum(np.any(y == 0, axis=1)))
    return Threshold(values.astype(np.int32), flipped, constant, adjusted, zero_channels)


def _guess(slope: float, offset: float, strict: bool, rising: bool) -> int | None:
    if slope == 0 or (slope > 0) != rising:
        return None
    t = -offset / slope
    if rising:
        return int(np.floor(t) + 1) if strict else int(np.ceil(t))
    return int(np.ceil(t) - 1) if strict else int(np.floor(t))


def float_thresholds(steps: list[ChainStep], channels: int, strict: bool, where: str = "",
                     seed: int = 0) -> Threshold:
    """Thresholds for a float32 accumulator: out = +1 iff acc' >= T (acc' = -acc on flipped channels)."""
    evaluate = ChainEvaluator(steps, channels)
    slope, _ = compose_affine(steps, channels)
    flipped = slope < 0

    def on(acc: np.ndarray) -> np.ndarray:  # acc: (C, M) in the flipped frame
        y = evaluate(np.where(flipped[:, None], -acc, acc).astype(np.float32))
        return (y > 0) if strict else (y >= 0)

    ends = on(np.stack([np.full(channels, -SEARCH_LIMIT), np.full(channels, SEARCH_LIMIT)], axis=1).astype(np.float32))
    low_on, high_on = ends[:, 0], ends[:, 1]
    if np.any(low_on & ~high_on):
        bad = int(np.argmax(low_on & ~high_on))
        raise BnnccError(f"channel {bad}: the float32 chain falls where its slope says it rises", where or None)
    lo = np.full(channels, _key(-SEARCH_LIMIT), np.int64)
    hi = np.full(channels, _key(SEARCH_LIMIT), np.int64)
    active = ~low_on & high_on
    while np.any(active & (hi - lo > 1)):
        mid = (lo + hi) // 2
        mid_on = on(_value(mid)[:, None])[:, 0]
        hi = np.where(active & mid_on, mid, hi)
        lo = np.where(active & ~mid_on, mid, lo)
    values = _value(hi)
    values = np.where(low_on, np.float32(-np.inf), values)
    values = np.where(~high_on, np.float32(np.inf), values).astype(np.float32)
    threshold = Threshold(values, flipped & ~(low_on | ~high_on), low_on | ~high_on)
    _spot_check(on, threshold, seed, where)
    return threshold


def _spot_check(on, threshold: Threshold, seed: int, where: str) -> None:
    rng = np.random.default_rng(seed)
    channels = threshold.values.size
    finite = np.where(np.isfinite(threshold.values), threshold.values, 0).astype(np.float64)
    samples = np.concatenate([
        rng.standard_normal((channels, 2000)) * np.exp(rng.uniform(-10, 10, (channels, 1))),
        finite[:, None] + np.linspace(-1e-3, 1e-3, 101)[None, :] * np.maximum(1, np.abs(finite[:, None])),
    ], axis=1)
    samples = np.nan_to_num(samples, posinf=0.0, neginf=0.0).astype(np.float32)
    # Thresholds and samples are both in the flipped frame (acc' = -acc on flipped channels).
    rule = samples >= threshold.values[:, None]
    mismatch = np.any(rule != on(samples), axis=1)
    if np.any(mismatch):
        c = int(np.argmax(mismatch))
        raise BnnccError(f"channel {c}: float threshold failed its spot check", where or None)


def _key(value) -> int:
    bits = np.asarray(value, np.float32).view(np.int32).astype(np.int64)
    return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)


def _value(key: np.ndarray) -> np.ndarray:
    key = np.asarray(key, np.int64)
    bits = np.where(key < 0, (-key) | 0x80000000, key).astype(np.uint32)
    return bits.view(np.float32)
