"""The integer-input threshold fold (passes/int_input.py) by brute force against the unfolded float32 math:
onnxruntime's elementwise chain x(q), then the conv's running sum of +-x over the taps, then acc >= T."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from bnncc.passes.int_input import ambiguous_band, int_input, int_thresholds

CHAINS = [
    ("uint8", [("Div", 255.0)]),
    ("uint8", [("Mul", np.float32(1 / 255))]),
    ("uint8", [("Sub", 128.0), ("Div", 128.0)]),
    ("uint8", [("Sub", 127.0), ("Div", 58.0)]),
    ("int8", [("Div", 127.0)]),
    ("uint8", []),
]


def _float_acc(x: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """x: (N, K) float32; running sum from 0 of +-x in tap order (onnxruntime's order for +-1 weights)."""
    acc = np.zeros(x.shape[0], np.float32)
    for k in range(x.shape[1]):
        acc = (acc + signs[k] * x[:, k]).astype(np.float32)
    return acc


def _thresholds(spec, taps: int, rng) -> np.ndarray:
    """Adversarial float thresholds: on, just beside and between the values alpha * A, plus random ones."""
    reach = taps * max(abs(int(q) - spec.offset) for q in spec.qs)
    a0 = rng.integers(-reach, reach + 1, 12)
    base = np.array([float(spec.alpha * int(a)) for a in a0], np.float64)
    near = np.concatenate([base, np.nextafter(base.astype(np.float32), np.float32(np.inf)),
                           np.nextafter(base.astype(np.float32), np.float32(-np.inf)),
                           base + float(spec.alpha) / 2, base + 1e-4, base - 1e-4])
    rand = rng.uniform(-float(spec.alpha) * reach, float(spec.alpha) * reach, 20)
    return np.concatenate([near, rand, [np.inf, -np.inf, np.nan]]).astype(np.float32)


def _check(spec, q: np.ndarray, signs: np.ndarray, thresh: np.ndarray) -> int:
    """q: (N, K) integers (every valid tap); returns the number of channels checked exactly."""
    taps = q.shape[1]
    t_int, ambiguous = int_thresholds(spec, taps, thresh)
    index = q - spec.qs[0]
    acc = _float_acc(spec.xq[index], signs)
    a = ((q - spec.offset) * signs[None, :]).sum(axis=1)
    checked = 0
    for c, t in enumerate(thresh):
        if c in ambiguous:  # outside its band [lo, t_int - 1] the integer sum still decides
            lo, _ = ambiguous_band(spec, taps, t)
            outside = (a < lo) | (a >= t_int[c])
            np.testing.assert_array_equal((a >= t_int[c])[outside], (acc >= t)[outside], err_msg=f"band of {c}")
            continue
        np.testing.assert_array_equal(a >= t_int[c], acc >= t, err_msg=f"channel {c}: T={t!r}, t={t_int[c]}")
        checked += 1
    return checked


@pytest.mark.parametrize("dtype,steps", CHAINS)
def test_fold_exhaustive_two_taps(dtype, steps):
    spec = int_input(dtype, steps)
    assert spec is not None
    rng = np.random.default_rng(0)
    q = np.array(list(itertools.product(spec.qs, repeat=2)), np.int64)
    checked = 0
    for signs in itertools.product((-1, 1), repeat=2):
        thresh = _thresholds(spec, 2, rng)
        checked += _check(spec, q, np.array(signs, np.int64), thresh)
    assert checked > 0


@pytest.mark.parametrize("dtype,steps", CHAINS[:4])
def test_fold_exhaustive_three_taps(dtype, steps):
    spec = int_input(dtype, steps)
    q = np.array(list(itertools.product(spec.qs[::3], repeat=3)), np.int64)  # 86^3 windows
    rng = np.random.default_rng(1)
    signs = np.array([1, -1, 1], np.int64)
    assert _check(spec, q, signs, _thresholds(spec, 3, rng)) > 0


@pytest.mark.parametrize("dtype,steps", CHAINS)
def test_fold_random_windows_27_taps(dtype, steps):
    """3x3x3 windows: 200k random inputs, including windows near the extremes and constant ones."""
    spec = int_input(dtype, steps)
    rng = np.random.default_rng(2)
    q = rng.choice(spec.qs, (200_000, 27))
    q[:1000] = rng.choice(spec.qs[-4:], (1000, 27))
    q[1000:2000] = rng.choice(spec.qs[:4], (1000, 27))
    signs = np.where(rng.random(27) < 0.5, -1, 1).astype(np.int64)
    # thresholds at the float accumulators actually reached: the hardest ties
    acc = _float_acc(spec.xq[q[:50] - spec.qs[0]], signs)
    thresh = np.concatenate([acc, _thresholds(spec, 27, rng)]).astype(np.float32)
    assert _check(spec, q, signs, thresh) > 0


def test_dyadic_scale_is_never_ambiguous_between_values():
    """(q - 128) / 128: x is exact, so a threshold between two reachable values is decided."""
    spec = int_input("uint8", [("Sub", 128.0), ("Div", 128.0)])
    assert spec.alpha == Fraction(1, 128) and spec.offset == 128
    thresh = np.array([(a + 0.5) / 128 for a in range(-100, 100, 7)], np.float32)
    t, ambiguous = int_thresholds(spec, 27, thresh)
    assert not ambiguous
    # exact sums: a threshold ON a reachable value is decided too (no rounding margin)
    on = np.array([a / 128 for a in range(-100, 100, 7)], np.float32)
    t_on, ambiguous = int_thresholds(spec, 27, on)
    assert not ambiguous and list(t_on) == list(range(-100, 100, 7))
    assert list(t) == [a + 1 for a in range(-100, 100, 7)]


def test_refused_when_not_affine_in_integers():
    assert int_input("uint8", [("Sub", 0.5), ("Div", 255.0)]) is None  # m = 0.5
    assert int_input("uint8", [("Mul", -1.0)]) is None  # alpha < 0


# ---- weights +-s (a BatchNorm folded into the conv by the exporter): scaled_int_thresholds

def _scaled_acc(x: np.ndarray, signs: np.ndarray, s: np.float32, fma: bool) -> np.ndarray:
    """onnxruntime's accumulator for weights +-s: running sum of the products s * (+-x), each rounded to float32
    (fma=False), or added exactly and rounded once per step (fma=True, emulated in float64: exact products)."""
    acc = np.zeros(x.shape[0], np.float32)
    for k in range(x.shape[1]):
        w = np.float32(s * signs[k])
        if fma:
            acc = (acc.astype(np.float64) + np.float64(w) * x[:, k].astype(np.float64)).astype(np.float32)
        else:
            acc = (acc + (w * x[:, k]).astype(np.float32)).astype(np.float32)
    return acc


def _check_scaled(spec, q: np.ndarray, signs: np.ndarray, scales, rng) -> int:
    from bnncc.ir import ChainStep
    from bnncc.passes.int_input import scaled_int_thresholds
    from bnncc.passes.thresholds import float_thresholds

    taps = q.shape[1]
    reach = taps * max(abs(int(qq) - spec.offset) for qq in spec.qs)
    scale = np.repeat(np.asarray(scales, np.float32), 8)
    # biases that put onnxruntime's threshold on, beside and between the values s * alpha * A
    a0 = rng.integers(-reach, reach + 1, scale.size)
    exact = np.array([float(Fraction(float(s)) * spec.alpha * int(a)) for s, a in zip(scale, a0)])
    bias = -np.concatenate([exact[:len(exact) // 2], exact[len(exact) // 2:] + 1e-4 * rng.standard_normal(
        len(exact) - len(exact) // 2)]).astype(np.float32)
    bias[1::4] = np.nextafter(bias[1::4], np.float32(np.inf))
    c = scale.size
    steps = [ChainStep("Mul", (scale,)), ChainStep("Add", (bias,))]
    thresh = float_thresholds(steps, c, False, "test")
    assert not thresh.flipped.any()
    t_int, ambiguous = scaled_int_thresholds(spec, taps, scale, thresh.values)
    x = spec.xq[q - spec.qs[0]]
    a = ((q - spec.offset) * signs[None, :]).sum(axis=1)
    checked = 0
    for ch in range(c):
        if ch in ambiguous:
            continue
        for fma in (False, True):
            acc = _scaled_acc(x, signs, scale[ch], fma)
            on = (acc + bias[ch]).astype(np.float32) >= 0
            np.testing.assert_array_equal(a >= t_int[ch], on, err_msg=f"channel {ch}: s={scale[ch]!r} b={bias[ch]!r}")
        checked += 1
    return checked


SCALES = [0.37, 1.9e-3, 3.0, 1.0000001, 0.5]


@pytest.mark.parametrize("dtype,steps", CHAINS[:5])
def test_scaled_fold_exhaustive_two_taps(dtype, steps):
    spec = int_input(dtype, steps)
    q = np.array(list(itertools.product(spec.qs, repeat=2)), np.int64)
    rng = np.random.default_rng(7)
    checked = sum(_check_scaled(spec, q, np.array(signs, np.int64), SCALES, rng)
                  for signs in itertools.product((-1, 1), repeat=2))
    assert checked > 0


@pytest.mark.parametrize("dtype,steps", CHAINS[:5])
def test_scaled_fold_random_windows_27_taps(dtype, steps):
    spec = int_input(dtype, steps)
    rng = np.random.default_rng(8)
    q = rng.integers(spec.qs[0], spec.qs[-1] + 1, (20000, 27))
    q[:2000] = q[:2000, :1]  # flat windows: sums on multiples of the tap count
    signs = np.where(rng.random(27) < 0.5, -1, 1).astype(np.int64)
    assert _check_scaled(spec, q, signs, SCALES, rng) > 0
