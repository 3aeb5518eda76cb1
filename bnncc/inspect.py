"""`bnncc inspect`: one row per layer (what is binary and why, shapes, MACs, bytes) and totals."""

from __future__ import annotations

from dataclasses import dataclass

from . import ir
from .passes.arena import first_last_use


@dataclass
class LayerRow:
    index: int
    name: str
    kernel: str
    why: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    binary_macs: int
    real_macs: int
    weight_bytes: int  # packed weights (1 bit each, padded to words), or float32 weights of a real layer
    param_bytes: int  # thresholds (4 B/channel) or scale+bias (8 B/channel) or pool masks
    activation_bytes: int  # output tensor


def layer_rows(graph: ir.Graph) -> list[LayerRow]:
    rows = []
    for index, layer in enumerate(graph.nodes):
        weight_bytes = int(layer.packed.size * 4) if getattr(layer, "packed", None) is not None else 0
        if getattr(layer, "weight", None) is not None:  # float32 weights of a real layer
            weight_bytes = int(layer.weight.size * 4)
        out = getattr(layer, "out", None)
        if isinstance(out, ir.Threshold):
            param_bytes = out.values.size * 4
        elif isinstance(layer, ir.Pack) and layer.thresh is not None:
            param_bytes = layer.thresh.values.size * 4 + (ir.words(layer.dims[0]) * 4 if layer.thresh.flipped.any()
                                                          else 0)
        elif isinstance(out, ir.AffineOut):
            param_bytes = out.scale.size * 8
        elif isinstance(layer, ir.PoolLayer) and layer.and_mask is not None:
            param_bytes = ir.words(layer.and_mask.size) * 4
        elif getattr(layer, "bias", None) is not None:
            param_bytes = int(layer.bias.size * 4)
        elif isinstance(layer, ir.ChannelLayer):
            param_bytes = sum(int(c.size) * 4 for c in layer.consts)
        else:
            param_bytes = 0
        x, y = graph.tensors[layer.inputs[0]], graph.tensors[layer.outputs[0]]
        why = layer.why or {
            "bnn_pack_chw_f32": "binarize a real tensor (x >= 0 -> +1)",
            "bnn_unpack_bits_chw_f32": "bits -> +-1.0 at the model output",
            "bnn_maxpool_bits": "max-pool on bits: OR" + (", AND on channels with s < 0" if
                                                         getattr(layer, "and_mask", None) is not None else ""),
            "bnn_maxpool_f32": "max-pool on real values",
        }.get(layer.kernel, "real-valued")
        rows.append(LayerRow(index, ",".join(layer.source) or layer.name, layer.kernel, why, x.shape, y.shape,
                             layer.binary_macs, getattr(layer, "real_macs", 0), weight_bytes, param_bytes,
                             y.nbytes))
    return rows


# Kernels whose float32 sums run in an order onnxruntime's (vectorized) kernels do not share.
FLOAT_SUM_KERNELS = {"bnn_conv2d_f32w_f32", "bnn_dense_f32w_f32", "bnn_global_avgpool_f32",
                     "bnn_reduce_mean_hw_f32", "bnn_conv2d_f32_f32", "bnn_conv2d_f32_thresh", "bnn_conv2d_f32_f32_grouped",
                     "bnn_conv2d_f32_thresh_grouped", "bnn_dense_f32_f32",
                     "bnn_dense_f32_thresh"}


def _ort_order(layer) -> bool:
    from .passes.real_order import ort_order

    return isinstance(layer, ir.ConvLayer) and not layer.binary_input and ort_order(layer)


def _mlas_global(layer) -> bool:
    """A window over the whole unpadded input with stride 1: MLAS's global kernel (within rounding only)."""
    w = layer.window
    _, h, wd = layer.in_dims
    return (w.k_h == h and w.k_w == wd and w.stride_h == w.stride_w == 1
            and w.pad_top == w.pad_left == w.pad_bottom == w.pad_right == 0)


def activation_split(graph: ir.Graph) -> tuple[int, int]:
    """(bits, real) bytes of the arena tensors live at the peak of live bytes. Tensors alive together at one
    offset are one buffer (an in-place layer's input and output) and count once."""
    first, last = first_last_use(graph)
    best = (0, 0)
    for index in range(len(graph.nodes)):
        buffers: dict[int, ir.Tensor] = {}
        for name, start in first.items():
            if name in graph.arena and start <= index <= last[name]:
                buffers.setdefault(graph.arena[name], graph.tensors[name])
        bits = sum(t.nbytes for t in buffers.values() if t.kind is ir.Kind.BITS)
        real = sum(t.nbytes for t in buffers.values() if t.kind is ir.Kind.REAL)
        if bits + real > sum(best):
            best = (bits, real)
    return best


def format_inspect(graph: ir.Graph) -> str:
    rows = layer_rows(graph)
    header = ("#", "layer (ONNX nodes)", "kernel", "in", "out", "binary MACs", "real MACs", "weights B",
              "thresh/affine B", "act B")
    table = [header]
    for r in rows:
        table.append((str(r.index), _clip(r.name, 40), r.kernel, _shape(r.in_shape), _shape(r.out_shape),
                      f"{r.binary_macs:,}", f"{r.real_macs:,}", f"{r.weight_bytes:,}", f"{r.param_bytes:,}",
                      f"{r.activation_bytes:,}"))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("what is binary and why:")
    for r in rows:
        lines.append(f"  {r.index}: {r.why}")
    flash = sum(r.weight_bytes + r.param_bytes for r in rows)
    bits_bytes, real_bytes = activation_split(graph)
    lines.append("")
    lines.append(f"totals: {sum(r.binary_macs for r in rows):,} binary MACs, {sum(r.real_macs for r in rows):,} "
                 f"real MACs; model constants (flash) {flash:,} B; arena (RAM) {graph.arena_bytes:,} B; "
                 f"input {graph.tensors[graph.input].size} {_input_values(graph)}, output {graph.tensors[graph.output].size} floats")
    lines.append(f"activations at the peak of live bytes: {bits_bytes:,} B packed bits + {real_bytes:,} B float32 "
                 f"(arena {graph.arena_bytes:,} B)")
    inexact = [r.index for r, layer in zip(rows, graph.nodes) if (layer.kernel in FLOAT_SUM_KERNELS
                                                                 and not _ort_order(layer))
               or (layer.kernel == "bnn_avgpool_mlas_f32" and _mlas_global(layer))]
    if inexact:
        lines.append(f"note: layer(s) {', '.join(map(str, inexact))} sum floats in an order onnxruntime does not share "
                     "(real conv / dense / average pool): values can differ in the last bits, and a sign downstream "
                     "of a value within rounding of 0 can differ")
    thresholds = [layer.out for layer in graph.nodes if isinstance(getattr(layer, "out", None), ir.Threshold)]
    if thresholds:
        total = sum(t.values.size for t in thresholds)
        lines.append(f"thresholds: {total} channels checked against onnxruntime's float32 evaluation; "
                     f"{sum(t.adjusted for t in thresholds)} differ from the analytic ceil/floor formula and "
                     f"use the checked value; {sum(int(t.flipped.sum()) for t in thresholds)} have a negative "
                     f"BN scale (weights flipped); {sum(int(t.constant.sum()) for t in thresholds)} are constant")
    for note in graph.notes:
        lines.append(f"warning: {note}")
    return "\n".join(lines)


def _input_values(graph: ir.Graph) -> str:
    return "floats" if graph.input_dtype == "float32" else f"{graph.input_dtype} values"


def _shape(shape) -> str:
    return "x".join(str(d) for d in shape)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
