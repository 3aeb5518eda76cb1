"""Hypothesis strategies for kernel geometry and random operands."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from bnn_ctypes import Window
from bnn_numpy_model import out_dim

CHANNELS = [1, 3, 31, 32, 33, 64, 65, 100]


@dataclass(frozen=True)
class Geometry:
    h: int
    w: int
    c_in: int
    c_out: int
    k: tuple[int, int]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    dil: tuple[int, int]

    @property
    def out_hw(self) -> tuple[int, int]:
        return (out_dim(self.h, self.k[0], self.stride[0], self.pads[0], self.pads[2], self.dil[0]),
                out_dim(self.w, self.k[1], self.stride[1], self.pads[1], self.pads[3], self.dil[1]))

    def window(self) -> Window:
        return Window(self.k[0], self.k[1], self.stride[0], self.stride[1], self.pads[0],
                      self.pads[1], self.dil[0], self.dil[1])


@st.composite
def geometries(draw, channels=tuple(CHANNELS), max_hw: int = 9) -> Geometry:
    k = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    # smallest input that still gives one output row / column
    min_h = max(1, dil[0] * (k[0] - 1) + 1 - pads[0] - pads[2])
    min_w = max(1, dil[1] * (k[1] - 1) + 1 - pads[1] - pads[3])
    h = draw(st.integers(min_h, max(min_h, max_hw)))
    w = draw(st.integers(min_w, max(min_w, max_hw)))
    g = Geometry(h, w, draw(st.sampled_from(channels)), draw(st.sampled_from(channels)), k,
                 stride, pads, dil)
    assert min(g.out_hw) >= 1
    return g


seeds = st.integers(0, 2**32 - 1)


def random_signs(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.choice(np.array([-1, 1]), size=shape)


def thresholds_near(rng: np.random.Generator, acc: np.ndarray, channel_axis: int) -> np.ndarray:
    """Per-channel thresholds drawn from the channel's own accumulator values, moved by
    -1/0/+1, so that every threshold sits where ties with >= are exercised."""
    acc = np.moveaxis(acc, channel_axis, -1).reshape(-1, acc.shape[channel_axis])
    picks = acc[rng.integers(0, acc.shape[0], size=acc.shape[1]), np.arange(acc.shape[1])]
    return picks + rng.integers(-1, 2, size=picks.shape)
