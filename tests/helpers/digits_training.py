"""A few epochs of Adam on scikit-learn's digits, for the producer tests that train a model themselves."""

from __future__ import annotations

import numpy as np


def digits() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) float32 pixels in multiples of 1/16 (exact in float32), and the labels."""
    from sklearn import datasets

    data = datasets.load_digits()
    return (data.data / 16.0).astype(np.float32), data.target.astype(np.int64)


def train_on_digits(model, shape, epochs: int, seed: int | None = None):
    """Train `model` on the digits reshaped to (-1, *shape); returns (model in eval mode, train accuracy).
    seed None keeps torch's generator where the caller left it."""
    import torch
    from torch import nn

    if seed is not None:
        torch.manual_seed(seed)
    x, y = digits()
    xs, ys = torch.from_numpy(x).reshape(-1, *shape), torch.from_numpy(y)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(epochs):
        order = torch.randperm(len(xs))
        for start in range(0, len(xs), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(xs[batch]), ys[batch]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        return model, float((model(xs).argmax(1) == ys).float().mean())
