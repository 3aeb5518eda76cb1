"""Every fold checked against the unfolded float32 math, by brute force."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bnncc.ir import ChainStep
from bnncc.passes.chain import ChainEvaluator, compose_affine
from bnncc.passes.thresholds import float_thresholds, integer_thresholds


def random_chain(rng, channels, fan_in, zero_gamma=True):
    gamma = rng.uniform(0.2, 3.0, channels) * rng.choice([-1.0, 1.0], channels)
    if zero_gamma:
        gamma[rng.random(channels) < 0.2] = 0.0
    steps = []
    if rng.random() < 0.5:
        steps.append(ChainStep("Mul", (rng.uniform(0.01, 2.0, channels).astype(np.float32),)))
    if rng.random() < 0.5:
        steps.append(ChainStep("Add", (rng.normal(0, fan_in ** 0.5, channels).astype(np.float32),)))
    steps.append(ChainStep("BatchNormalization", (
        gamma.astype(np.float32), rng.normal(0, 1, channels).astype(np.float32),
        rng.normal(0, fan_in ** 0.5, channels).astype(np.float32),
        rng.uniform(0.1, 2.0, channels).astype(np.float32) * fan_in), epsilon=1e-3))
    if rng.random() < 0.3:
        steps.append(ChainStep("Sub", (rng.normal(0, 1, channels).astype(np.float32),), const_first=rng.random() < 0.5))
    if rng.random() < 0.3:
        steps.append(ChainStep("Div", (rng.uniform(0.5, 2, channels).astype(np.float32) * rng.choice([-1, 1], channels),)))
    return steps


def rule(threshold, acc):
    """Apply the folded rule: flipped channels see -acc, every channel compares with >=."""
    frame = np.where(threshold.flipped[:, None], -acc, acc)
    return frame >= threshold.values[:, None].astype(frame.dtype)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), fan_in=st.integers(1, 600), channels=st.integers(1, 40), strict=st.booleans())
def test_integer_thresholds_match_float32_chain_on_every_reachable_value(seed, fan_in, channels, strict):
    rng = np.random.default_rng(seed)
    steps = random_chain(rng, channels, fan_in)
    threshold = integer_thresholds(steps, channels, fan_in, strict)
    acc = np.arange(-fan_in, fan_in + 1)
    y = ChainEvaluator(steps, channels)(np.broadcast_to(acc.astype(np.float32), (channels, acc.size)))
    truth = (y > 0) if strict else (y >= 0)
    assert np.array_equal(rule(threshold, np.broadcast_to(acc, (channels, acc.size))), truth)


def test_zero_gamma_gives_constant_channels_and_direction_follows_slope():
    channels, fan_in = 4, 9
    steps = [ChainStep("BatchNormalization", (np.array([1, -1, 0, 0], np.float32), np.array([0, 0, 1, -1], np.float32),
                                              np.array([2.5, 2.5, 0, 0], np.float32), np.ones(4, np.float32)),
                       epsilon=0.0)]
    t = integer_thresholds(steps, channels, fan_in, strict=False)
    assert list(t.flipped) == [False, True, False, False]
    assert list(t.constant) == [False, False, True, True]
    assert t.values[0] == 3  # acc - 2.5 >= 0  <=>  acc >= 3
    assert t.values[1] == -2  # -(acc - 2.5) >= 0 <=> acc <= 2 <=> -acc >= -2
    assert t.values[2] == -fan_in - 1 and t.values[3] == fan_in + 1


def test_brute_force_corrects_analytic_off_by_one():
    # y = acc * 0.1 - 0.3: analytically acc >= 3, but float32(3 * 0.1) - 0.3 rounds below 0.
    steps = [ChainStep("Mul", (np.array([0.1], np.float32),)), ChainStep("Add", (np.array([-0.3], np.float32),))]
    y3 = ChainEvaluator(steps, 1)(np.array([[3.0]], np.float32))[0, 0]
    t = integer_thresholds(steps, 1, 10, strict=False)
    assert t.values[0] == (3 if y3 >= 0 else 4)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), channels=st.integers(1, 16), strict=st.booleans())
def test_float_thresholds_match_chain(seed, channels, strict):
    rng = np.random.default_rng(seed)
    steps = random_chain(rng, channels, 50)
    threshold = float_thresholds(steps, channels, strict)
    acc = np.concatenate([rng.normal(0, 30, (channels, 3000)),
                          np.where(np.isfinite(threshold.values), threshold.values, 0)[:, None]
                          * np.where(threshold.flipped, -1, 1)[:, None]
                          + np.linspace(-1e-4, 1e-4, 41)], axis=1).astype(np.float32)
    y = ChainEvaluator(steps, channels)(acc)
    truth = (y > 0) if strict else (y >= 0)
    assert np.array_equal(rule(threshold, acc), truth)


def test_compose_affine_matches_float64_evaluation():
    rng = np.random.default_rng(3)
    steps = random_chain(rng, 8, 20, zero_gamma=False)
    a, b = compose_affine(steps, 8)
    x = np.linspace(-5, 5, 11)
    expected = ChainEvaluator(steps, 8)(np.broadcast_to(x.astype(np.float32), (8, 11)))
    assert np.allclose(a[:, None] * x + b[:, None], expected, rtol=1e-4, atol=1e-4)
