"""Hyper-parameter schedules over epochs, applied to optimizer param groups (lr, gamma, threshold, sigma).

Each schedule is a function epoch -> value for epoch = 0 .. epochs-1:
    constant     v0
    step         v0 * factor ** (epoch // step_every)
    exponential  v0 * (final / v0) ** (epoch / (epochs - 1))       (geometric from v0 to final)
    cosine       final + (v0 - final) * (1 + cos(pi * epoch / (epochs - 1))) / 2

On the command line (`bnncc train --schedule NAME=SPEC`) a schedule is written as text, parsed by
`parse_schedule`:
    constant[:v0]   step[:v0[:factor[:step_every]]]   exponential[:v0[:final]]   cosine[:v0[:final]]
A missing v0 is the configured value of the hyper-parameter; a missing final is 1 % of v0.
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


def parse_schedule(spec: str, default_initial: float, epochs: int) -> Schedule:
    """`kind[:v0[:final]]` (step: `step[:v0[:factor[:step_every]]]`) -> a schedule; ValueError when malformed."""
    kind, *numbers = spec.split(":")
    if kind not in SCHEDULE_KINDS:
        raise ValueError(f"unknown schedule '{kind}' in '{spec}', expected one of {SCHEDULE_KINDS}")
    most = {"constant": 1, "step": 3, "exponential": 2, "cosine": 2}[kind]
    if len(numbers) > most:
        raise ValueError(f"schedule '{spec}' has more than {most} number(s) after '{kind}'")
    try:
        values = [float(n) for n in numbers]
    except ValueError:
        raise ValueError(f"schedule '{spec}' has a part that is not a number") from None
    initial = values[0] if values else default_initial
    if kind == "step":
        factor = values[1] if len(values) > 1 else 0.1
        every = values[2] if len(values) > 2 else None
        if every is not None and (every < 1 or every != int(every)):
            raise ValueError(f"schedule '{spec}': step_every must be a whole number >= 1")
        return make_schedule("step", initial, epochs, factor=factor, step_every=None if every is None else int(every))
    return make_schedule(kind, initial, epochs, final=values[1] if len(values) > 1 else None)
