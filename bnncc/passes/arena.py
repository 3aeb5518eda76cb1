"""Plan one static arena: every intermediate tensor gets a byte offset; tensors whose lifetimes do not
overlap share bytes. The model input is the caller's buffer and the final output is written straight to
the caller's output buffer, so neither takes arena space.

Liveness is over the layer order of the DAG: a tensor lives from the layer that writes it to the last layer
that reads it (a shortcut stays alive across its whole block). An elementwise layer (`Layer.inplace`) whose
input of the same size and kind dies at that layer writes its output over that input: both tensors are one
buffer, alive from the first one's birth to the last one's death. A REAL Concat input that dies at the
concat (and is no in-place pair) is written by its producer straight into its channel slice of the
concat's buffer, and the concat skips its copy.
"""

from __future__ import annotations

from dataclasses import replace

from .. import ir

ALIGN = 8


def first_last_use(graph: ir.Graph) -> tuple[dict[str, int], dict[str, int]]:
    """For every tensor a layer touches: the index of the layer that writes it first and of the last
    layer that reads (or writes) it. The liveness every memory figure is built on."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for index, layer in enumerate(graph.nodes):
        for name in layer.outputs:
            first.setdefault(name, index)
            last.setdefault(name, index)
        for name in layer.inputs:
            last[name] = index
    return first, last


def plan_arena(graph: ir.Graph) -> ir.Graph:
    first, last = first_last_use(graph)
    outside = (graph.input, graph.output)
    root: dict[str, str] = {}  # tensor -> the tensor whose buffer it shares

    def find(name: str) -> str:
        while name in root:
            name = root[name]
        return name

    for index, layer in enumerate(graph.nodes):
        if not layer.inplace or layer.outputs[0] in outside:
            continue
        out = graph.tensors[layer.outputs[0]]
        for name in layer.inputs:
            src = graph.tensors[name]
            if (name not in outside and last[name] == index and src.kind is out.kind and src.nbytes == out.nbytes
                    and layer.inputs.count(name) == 1):
                root[out.name] = find(name)
                break
    aliased = set(root) | set(root.values())
    slices: dict[str, tuple[str, int]] = {}  # concat input -> (concat output, byte offset in it)
    nodes = list(graph.nodes)
    for index, layer in enumerate(nodes):
        if not isinstance(layer, ir.ConcatLayer) or layer.bits or layer.outputs[0] in outside:
            continue
        written, offset = set(), 0
        _, h, w = layer.out_dims
        for position, (name, c) in enumerate(zip(layer.inputs, layer.channels)):
            if (name not in outside and name not in aliased and name not in slices and last[name] == index
                    and layer.inputs.count(name) == 1 and name not in {n for n, _ in slices.values()}):
                slices[name] = (layer.outputs[0], offset * h * w * 4)
                written.add(position)
            offset += c
        if written:
            nodes[index] = replace(layer, in_place=frozenset(written))

    span: dict[str, list[int]] = {}
    for name in first:
        if name in outside:
            continue
        r = find(slices[name][0]) if name in slices else find(name)
        lo, hi = span.get(r, [first[r], last[r]])
        span[r] = [min(lo, first[name]), max(hi, last[name])]

    sizes = {name: _aligned(graph.tensors[name].nbytes) for name in span}
    # First fit under a few placement orders; the smallest arena wins (the first order on ties), so the
    # plan stays deterministic. Largest first is usually best; on some DAGs birth order or
    # size x lifetime packs tighter.
    orders = (
        lambda n: (-sizes[n], span[n][0], n),
        lambda n: (span[n][0], -sizes[n], n),
        lambda n: (-sizes[n] * (span[n][1] - span[n][0] + 1), n),
        lambda n: (-(span[n][1] - span[n][0]), -sizes[n], n),
    )
    best = None
    for order in orders:
        offsets_try, total_try = _first_fit(sorted(span, key=order), sizes, span)
        if best is None or total_try < best[1]:
            best = (offsets_try, total_try)
    offsets, total = best
    for name in first:
        if name in slices:
            offsets[name] = offsets[find(slices[name][0])] + slices[name][1]
        elif name not in outside and name not in offsets:
            offsets[name] = offsets[find(name)]
    return replace(graph, nodes=nodes, arena=offsets, arena_bytes=total)


def _first_fit(names: list[str], sizes: dict[str, int], span: dict[str, list[int]]) -> tuple[dict[str, int], int]:
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last)
    offsets: dict[str, int] = {}
    for name in names:
        size = sizes[name]
        lo, hi = span[name]
        busy = sorted((o, s) for o, s, f, l in placed if not (l < lo or hi < f))
        offset = 0
        for o, s in busy:
            if offset + size <= o:
                break
            offset = max(offset, _aligned(o + s))
        offsets[name] = offset
        placed.append((offset, size, lo, hi))
    return offsets, max((o + s for o, s, _, _ in placed), default=0)


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
