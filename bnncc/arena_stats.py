"""How good is a planned arena? Its size over the peak of live tensor bytes, a lower bound for any plan.

A tensor is live from the layer that writes it to the last layer that reads it (both included): during
layer i every tensor live at i must sit in distinct bytes, except an in-place pair (an elementwise layer
writing its output over an input that dies at i, as the planner records by giving both the same offset),
which counts once. The peak over the layers of that sum is the lower bound; alignment padding and
fragmentation are what the ratio arena / peak measures. The model input and output are the caller's buffers
and count in neither.

`check_plan` also proves the plan safe: no two tensors live at the same layer overlap in bytes, except such
an in-place pair.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir
from .passes.arena import first_last_use


@dataclass(frozen=True)
class ArenaStats:
    arena_bytes: int
    peak_live_bytes: int
    peak_layer: int  # the layer where the peak is reached (-1: nothing in the arena)

    @property
    def ratio(self) -> float:
        return self.arena_bytes / self.peak_live_bytes if self.peak_live_bytes else 1.0


def lifetimes(graph: ir.Graph) -> dict[str, tuple[int, int]]:
    first, last = first_last_use(graph)
    outside = (graph.input, graph.output)
    return {name: (first[name], last[name]) for name in first if name not in outside}


def _in_place(graph: ir.Graph, a: str, b: str, index: int, spans) -> bool:
    """a and b share bytes legitimately at layer index: an in-place pair (same offset, one dies there, the
    other is born there), or a concat input that its producer wrote into its slice of the concat's output."""
    if _slice_of(graph, a, b, index) or _slice_of(graph, b, a, index):
        return True
    if graph.arena.get(a) != graph.arena.get(b):
        return False
    (fa, la), (fb, lb) = spans[a], spans[b]
    return (la == index == fb) or (lb == index == fa)


def _slice_of(graph: ir.Graph, part: str, whole: str, index: int) -> bool:
    layer = graph.nodes[index]
    if not isinstance(layer, ir.ConcatLayer) or layer.outputs[0] != whole or part not in layer.inputs:
        return False
    return layer.inputs.index(part) in layer.in_place


def _live_at(spans, index):
    return sorted(n for n, (f, l) in spans.items() if f <= index <= l)


def arena_stats(graph: ir.Graph) -> ArenaStats:
    spans = lifetimes(graph)
    peak, peak_layer = 0, -1
    for index in range(len(graph.nodes)):
        live = _live_at(spans, index)
        total = sum(graph.tensors[n].nbytes for n in live)
        for i, a in enumerate(live):  # an in-place pair counts once
            for b in live[i + 1:]:
                if _in_place(graph, a, b, index, spans):
                    total -= min(graph.tensors[a].nbytes, graph.tensors[b].nbytes)
        if total > peak:
            peak, peak_layer = total, index
    return ArenaStats(graph.arena_bytes, peak, peak_layer)


def check_plan(graph: ir.Graph) -> list[str]:
    """Overlaps of tensors live at the same layer (empty for a safe plan), and tensors outside the arena."""
    spans = lifetimes(graph)
    problems = []
    for name in spans:
        if name not in graph.arena:
            problems.append(f"{name}: no arena offset")
        elif graph.arena[name] + graph.tensors[name].nbytes > graph.arena_bytes:
            problems.append(f"{name}: ends past the arena")
    if problems:
        return problems
    for index in range(len(graph.nodes)):
        live = _live_at(spans, index)
        for i, a in enumerate(live):
            for b in live[i + 1:]:
                lo_a, lo_b = graph.arena[a], graph.arena[b]
                overlap = lo_a < lo_b + graph.tensors[b].nbytes and lo_b < lo_a + graph.tensors[a].nbytes
                if overlap and not _in_place(graph, a, b, index, spans):
                    problems.append(f"layer {index}: {a} [{lo_a}, +{graph.tensors[a].nbytes}) overlaps "
                                    f"{b} [{lo_b}, +{graph.tensors[b].nbytes}) while both are live")
    return problems
