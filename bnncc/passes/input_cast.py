"""An integer (uint8/int8) model input: one exact cast layer, or a first conv that reads the integers.

The frontend leaves q (the integer input) -> Cast (aliased away) -> per-channel Sub/Add/Mul/Div steps -> readers.
- `cast_integer_input` (before lowering) replaces the Cast and the steps that follow it with one CastLayer:
  x = table[c][q], the table holding onnxruntime's float32 result for every q (Cast is exact; then one IEEE
  float32 operation per step, in the model's order, as numpy computes it). So the float path after it sees
  exactly onnxruntime's x. It also records the binary conv that may read the integers instead (`int_conv`), or
  why none can.
- `fold_integer_first_layer` (after lowering) replaces that cast + conv with the integer kernel when the conv
  ends in a sign (thresholds) and passes/int_input.int_thresholds proves every channel's integer threshold
  exact against onnxruntime's float chain; otherwise the cast layer stays (also exact) and says why.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import ir
from .binary_weights import split_binary
from .int_input import ambiguous_band, error_bound, int_input, int_thresholds, scaled_error_bound, scaled_int_thresholds

_STEPS = {"Sub", "Add", "Mul", "Div"}
# A per-channel step is folded into the cast table only for image-like inputs (one 1 KiB table per channel).
MAX_TABLES = 4
# Ambiguous channels are recomputed in float after the integer kernel while they are at most this share of the
# layer's channels (each costs a float window sum per pixel); more, and the whole layer stays float.
MAX_FIX_FRACTION = 0.25


def cast_integer_input(graph: ir.Graph) -> ir.Graph:
    """Frontend graph with an integer input -> the same with one CastLayer reading the input."""
    if graph.input_dtype not in ir.INT_TYPES:
        return graph
    channels = graph.tensors[graph.input].chw[0]
    tensor, absorbed = graph.input, []
    while tensor != graph.output:
        users = graph.consumers(tensor)
        if len(users) != 1 or not isinstance(users[0], ir.Affine) or users[0].step.op not in _STEPS:
            break
        consts = users[0].step.consts[0]
        if not np.all(consts == consts[0]) and channels > MAX_TABLES:
            break
        absorbed.append(users[0])
        tensor = users[0].outputs[0]
    steps = tuple(node.step for node in absorbed)
    table = cast_table(graph.input_dtype, steps, channels)
    nodes = [n for n in graph.nodes if all(n is not a for a in absorbed)]
    tensors = dict(graph.tensors)
    for node in absorbed[:-1]:
        del tensors[node.outputs[0]]
    if not absorbed:  # the bare Cast: the readers of the input read its float copy
        tensor = f"{graph.input}:float"
        tensors[tensor] = ir.Tensor(tensor, graph.tensors[graph.input].shape)
        nodes = [replace(n, inputs=[tensor if i == graph.input else i for i in n.inputs]) for n in nodes]
    int_conv, reason = _int_candidate(replace(graph, nodes=nodes, tensors=tensors), tensor, steps)
    cast = ir.CastLayer(absorbed[-1].name if absorbed else f"{graph.input}_cast", [graph.input], [tensor],
                        source=tuple(n.name for n in absorbed), dtype=graph.input_dtype,
                        dims=graph.tensors[graph.input].chw, table=table, steps=steps, int_conv=int_conv,
                        int_conv_scale=_weight_scale(graph, int_conv) if int_conv else None,
                        why=f"{graph.input_dtype} input -> float32: {describe_steps(steps)}, exactly as onnxruntime "
                            f"computes it ({table.shape[0]} table(s) of 256 floats)" + (f"; {reason}" if reason else ""))
    return replace(graph, nodes=[cast] + nodes, tensors=tensors)


def fold_integer_first_layer(graph: ir.Graph) -> ir.Graph:
    """Lowered graph -> the cast layer and its conv replaced by the integer conv where that is exact."""
    cast = next((layer for layer in graph.nodes if isinstance(layer, ir.CastLayer)), None)
    if cast is None or not cast.int_conv:
        return graph
    readers = [layer for layer in graph.nodes if cast.outputs[0] in layer.inputs]
    conv = readers[0] if len(readers) == 1 else None
    if not (isinstance(conv, ir.ConvLayer) and conv.name == cast.int_conv and not conv.binary_input
            and isinstance(conv.out, ir.Threshold)):
        cast.why += "; the first layer stays float: its conv's output is real (no sign follows it)"
        return graph
    spec = int_input(cast.dtype, [(s.op, float(s.consts[0][0])) for s in cast.steps])
    assert np.array_equal(spec.xq.view(np.uint32), cast.table[0].view(np.uint32))
    taps = conv.window_bits
    if cast.int_conv_scale is None:
        values, ambiguous = int_thresholds(spec, taps, conv.out.values)
        bound = float(error_bound(spec, taps))
    else:
        values, ambiguous = scaled_int_thresholds(spec, taps, cast.int_conv_scale, conv.out.values)
        bound = float(scaled_error_bound(spec, taps))
    shown = ", ".join(map(str, ambiguous[:8])) + (", ..." if len(ambiguous) > 8 else "")
    near = (f"on {len(ambiguous)} channel(s) ({shown}) a reachable integer sum lies within the float rounding bound "
            f"{bound:.3g} of the threshold, so only the float sum decides the sign exactly")
    if ambiguous and (cast.int_conv_scale is not None or len(ambiguous) > conv.out_dims[0] * MAX_FIX_FRACTION):
        cast.why += f"; the first layer stays float: {near}" + (
            " (weights +-alpha_c: no float fix-up in onnxruntime's product order)" if cast.int_conv_scale is not None
            else "")
        return graph
    exact = "exact float sums, E = 0" if bound == 0 else f"float rounding bound E = {bound:.3g} clear of every threshold"
    fix = {}
    if ambiguous:
        exact = (f"float rounding bound E = {bound:.3g}; {near}: those are recomputed in float in onnxruntime's order "
                 f"where the integer kernel finds their sum in the band")
        # below the band the bit is off, from values[c] on it is on (int_thresholds): only A in between is open
        lo = [max(ambiguous_band(spec, taps, conv.out.values[c])[0], -2 ** 31) for c in ambiguous]
        assert all(a < int(values[c]) for a, c in zip(lo, ambiguous))  # a band [lo, t) that is not empty
        fix = dict(int_fix=tuple(ambiguous), int_fix_thresh=conv.out.values[ambiguous].astype(np.float32),
                   int_fix_table=cast.table[0], int_fix_lo=np.asarray(lo, np.int32))
    weights = "+-1" if cast.int_conv_scale is None else "+-alpha_c (scale folded)"
    why = (f"weights {weights}; input {cast.dtype} (integer first layer: int32 sum of +-(q - {spec.offset}) over the valid "
           f"taps); output bits via integer thresholds proven equal to onnxruntime's {describe_steps(cast.steps)} "
           f"and float conv ({exact})")
    int_conv = replace(conv, inputs=[graph.input], int_input=cast.dtype, int_offset=spec.offset,
                       out=replace(conv.out, values=values), source=cast.source + conv.source, why=why, **fix)
    nodes = [int_conv if layer is conv else layer for layer in graph.nodes if layer is not cast]
    tensors = {name: t for name, t in graph.tensors.items() if name != cast.outputs[0]}
    return replace(graph, nodes=nodes, tensors=tensors)


def cast_table(dtype: str, steps: tuple[ir.ChainStep, ...], channels: int) -> np.ndarray:
    """(1 or channels, 256) float32: x for q = min(dtype) + i, one IEEE float32 operation per step."""
    lo = ir.INT_TYPES[dtype][2]
    per_channel = any(not np.all(s.consts[0] == s.consts[0][0]) for s in steps)
    rows = []
    for c in range(channels if per_channel else 1):
        x = np.arange(lo, lo + 256, dtype=np.float32)
        for step in steps:
            k = np.float32(step.consts[0][c])
            if step.op == "Sub":
                x = (k - x) if step.const_first else (x - k)
            elif step.op == "Add":
                x = x + k
            elif step.op == "Mul":
                x = x * k
            else:
                x = x / k
            x = x.astype(np.float32)
        rows.append(x)
    return np.stack(rows).astype(np.float32)


def describe_steps(steps: tuple[ir.ChainStep, ...]) -> str:
    parts = ["Cast"]
    for s in steps:
        k = s.consts[0]
        value = f"{float(k[0]):g}" if np.all(k == k[0]) else "per-channel constants"
        parts.append(f"{value} - x" if s.op == "Sub" and s.const_first else f"{s.op} {value}")
    return ", ".join(parts)


def _int_candidate(graph: ir.Graph, tensor: str, steps: tuple[ir.ChainStep, ...]) -> tuple[str, str]:
    """(name of the conv that may read the integers, "") or ("", why the first layer stays float)."""
    stay = "the first layer stays float: "
    users = graph.consumers(tensor)
    if tensor == graph.output or len(users) != 1:
        return "", stay + f"the normalized input has {len(users)} readers"
    conv = users[0]
    if not isinstance(conv, ir.Conv):
        return "", stay + f"its reader is a {conv.op}, not a conv"
    if split_binary(conv.weight) is None or conv.group != 1:
        return "", stay + "its conv has real-valued weights"
    magnitude = np.abs(conv.weight).reshape(conv.weight.shape[0], -1)
    if not np.all(magnitude == magnitude[:, :1]):
        return "", stay + "its conv's weights are +-alpha_c only up to rounding (not one float per channel)"
    if any(not np.all(s.consts[0] == s.consts[0][0]) or (s.op == "Sub" and s.const_first) for s in steps):
        return "", stay + "the normalization is per channel or negates x (only scalar x - c, x + c, x * c, x / c fold)"
    spec = int_input(graph.input_dtype, [(s.op, float(s.consts[0][0])) for s in steps])
    if spec is None or not spec.qs[0] <= spec.offset <= spec.qs[-1]:
        return "", stay + f"x is not alpha * (q - m) with alpha > 0 and an integer m in the {graph.input_dtype} range"
    return conv.name, ""


def _weight_scale(graph: ir.Graph, name: str) -> np.ndarray | None:
    """The conv's per-channel weight magnitude s_c, or None when every weight is +-1."""
    conv = next(n for n in graph.nodes if n.name == name)
    scale = np.abs(conv.weight).reshape(conv.weight.shape[0], -1)[:, 0].astype(np.float32)
    return None if np.all(scale == 1.0) else scale
