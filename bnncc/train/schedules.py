"""Hyper-parameter schedules over epochs, applied to optimizer param groups (lr, gamma, threshold, sigma).

Each schedule is a function epoch -> value for epoch = 0 .. epochs-1:
    constant     v0
    step         v0 * factor ** (epoch // step_every)
    exponential  v0 * (final / v0) ** (epoch / (epochs - 1))       (geometric from v0 to final)
    cosine       final + (v0 - final) * (1 + cos(pi * epoch / (epochs - 1))) / 2
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

SCHEDULE_KINDS = ("constant", "step", "exponential", "cosine")

Schedule = Callable[[int], float]


def make_schedule(kind: str, initial: float, epochs: int, final: float | None = None,
                  step_every: int | None = None, factor: float = 0.1) -> Schedule:
    if epochs < 1:
        raise ValueError("epochs must be >= 1")
    if final is None:
        final = initial * 0.01
    last = max(epochs - 1, 1)
    if kind == "constant":
        return lambda epoch: initial
    if kind == "step":
        every = step_every or max(1, epochs // 3)
        return lambda epoch: initial * factor ** (epoch // every)
    if kind == "exponential":
        if initial <= 0 or final <= 0:
            raise ValueError("an exponential schedule needs positive initial and final values")
        return lambda epoch: initial * (final / initial) ** (min(epoch, last) / last)
    if kind == "cosine":
        return lambda epoch: final + (initial - final) * (1 + math.cos(math.pi * min(epoch, last) / last)) / 2
    raise ValueError(f"unknown schedule '{kind}', expected one of {SCHEDULE_KINDS}")


def apply_schedules(optimizer: torch.optim.Optimizer, schedules: dict[str, Schedule], epoch: int) -> None:
    """Set each named hyper-parameter of every param group to its scheduled value for this epoch."""
    for name, schedule in schedules.items():
        value = schedule(epoch)
        for group in optimizer.param_groups:
            if name not in group:
                raise KeyError(f"optimizer {type(optimizer).__name__} has no hyper-parameter '{name}'")
            group[name] = value
