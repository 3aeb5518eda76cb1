"""Plan one static arena: every intermediate tensor gets a byte offset; tensors whose lifetimes do not
overlap share bytes. The model input is the caller's buffer and the final output is written straight to
the caller's output buffer, so neither takes arena space."""

from __future__ import annotations

from dataclasses import replace

from .. import ir

ALIGN = 8


def plan_arena(graph: ir.Graph) -> ir.Graph:
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for index, layer in enumerate(graph.nodes):
        for name in layer.outputs:
            first.setdefault(name, index)
            last.setdefault(name, index)
        for name in layer.inputs:
            last[name] = index
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last)
    offsets: dict[str, int] = {}
    # Largest first keeps fragmentation low; ties broken by name for byte-identical output.
    candidates = [n for n in first if n not in (graph.input, graph.output)]
    for name in sorted(candidates, key=lambda n: (-graph.tensors[n].nbytes, first[n], n)):
        size = _aligned(graph.tensors[name].nbytes)
        busy = sorted((o, s) for o, s, f, l in placed if not (l < first[name] or last[name] < f))
        offset = 0
        for o, s in busy:
            if offset + size <= o:
                break
            offset = max(offset, _aligned(o + s))
        offsets[name] = offset
        placed.append((offset, size, first[name], last[name]))
    total = max((o + s for o, s, _, _ in placed), default=0)
    return replace(graph, arena=offsets, arena_bytes=total)


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
