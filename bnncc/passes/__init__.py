"""Passes: plain functions from IR to IR, run in this order by `run_pipeline`."""

from __future__ import annotations

from .. import ir
from .arena import plan_arena
from .input_cast import cast_integer_input, fold_integer_first_layer
from .lower import lower
from .real_order import choose_real_conv_order
from .weight_layout import choose_weight_layouts

PIPELINE = (
    cast_integer_input,  # uint8/int8 input: Cast + normalization -> one exact cast layer
    lower,  # fuse BN/bias/scale/sign into thresholds, commute max-pools, pack weights
    fold_integer_first_layer,  # cast + thresholded +-1 conv -> the integer conv, where provably exact
    plan_arena,  # one static arena by tensor liveness
)


def run_pipeline(graph: ir.Graph, target: str = "host", fast_real_conv: bool = False) -> ir.Graph:
    """The passes in order. `target` (the core the C is built for) picks per-core weight layouts;
    fast_real_conv: real-input binary-weight convs sum in the grouped order (passes/real_order.py)."""
    for step in PIPELINE:
        graph = step(graph)
    graph = choose_weight_layouts(graph, target)
    return choose_real_conv_order(graph, fast_real_conv)
