"""Passes: plain functions from IR to IR, run in this order by `run_pipeline`."""

from __future__ import annotations

from .. import ir
from .arena import plan_arena
from .lower import lower

PIPELINE = (
    lower,  # fuse BN/bias/scale/sign into thresholds, commute max-pools, pack weights
    plan_arena,  # one static arena by tensor liveness
)


def run_pipeline(graph: ir.Graph) -> ir.Graph:
    for step in PIPELINE:
        graph = step(graph)
    return graph
