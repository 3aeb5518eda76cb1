"""Passes: plain functions from IR to IR, run in this order by `run_pipeline`."""

from __future__ import annotations

from .. import ir
from .arena import plan_arena
from .lower import lower
from .weight_layout import choose_weight_layouts

PIPELINE = (
    lower,  # fuse BN/bias/scale/sign into thresholds, commute max-pools, pack weights
    plan_arena,  # one static arena by tensor liveness
)


def run_pipeline(graph: ir.Graph, target: str = "host") -> ir.Graph:
    """The passes in order; `target` (the core the C is built for) picks per-core weight layouts."""
    for step in PIPELINE:
        graph = step(graph)
    return choose_weight_layouts(graph, target)
