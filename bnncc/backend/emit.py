"""Render a lowered graph to NAME.h / NAME.c and copy the runtime sources it needs.

The Python side decides everything (constants, pointer expressions, call text); the templates only
loop over layers. Output is byte-identical for the same model.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from .. import __version__, ir
from ..passes.pack import pack_rows
from ..resources import runtime_dir, templates_dir

# Which runtime source implements which kernel.
KERNEL_FILES = {
    "bnn_pack_chw_f32": "bnn_pack.c",
    "bnn_unpack_bits_chw_f32": "bnn_pack.c",
    "bnn_conv2d_bin_thresh": "bnn_conv_bin.c",
    "bnn_conv2d_bin_thresh_sliced": "bnn_conv_bin.c",
    "bnn_conv2d_bin_thresh_sliced_gi": "bnn_conv_bin.c",
    "bnn_conv2d_bin_f32": "bnn_conv_bin.c",
    "bnn_conv2d_f32_thresh": "bnn_conv_real.c",
    "bnn_conv2d_f32_f32": "bnn_conv_real.c",
    "bnn_conv2d_f32_thresh_grouped": "bnn_conv_real_grouped.c",
    "bnn_conv2d_f32_f32_grouped": "bnn_conv_real_grouped.c",
    "bnn_dense_bin_thresh": "bnn_dense.c",
    "bnn_dense_bin_f32": "bnn_dense.c",
    "bnn_dense_bin_thresh_i4": "bnn_dense.c",
    "bnn_dense_bin_f32_i4": "bnn_dense.c",
    "bnn_dense_f32_thresh": "bnn_dense.c",
    "bnn_dense_f32_f32": "bnn_dense.c",
    "bnn_maxpool_bits": "bnn_pool.c",
    "bnn_maxpool_f32": "bnn_pool.c",
    "bnn_pad_bits": "bnn_pad.c",
    "bnn_pad_f32": "bnn_pad.c",
    "bnn_softmax_f32": "bnn_softmax.c",
    "bnn_log_softmax_f32": "bnn_softmax.c",
    # mixed precision (issue 8): float32 layers and REAL <-> BITS conversions
    "bnn_pack_thresh_chw_f32": "bnn_pack_thresh.c",
    "bnn_conv2d_f32w_f32": "bnn_real.c",
    "bnn_dense_f32w_f32": "bnn_real.c",
    "bnn_scale_shift_f32": "bnn_elementwise.c",
    "bnn_add_f32": "bnn_elementwise.c",
    "bnn_sub_f32": "bnn_elementwise.c",
    "bnn_mul_f32": "bnn_elementwise.c",
    "bnn_div_f32": "bnn_elementwise.c",
    "bnn_relu_f32": "bnn_activation.c",
    "bnn_prelu_f32": "bnn_activation.c",
    "bnn_leaky_relu_f32": "bnn_activation.c",
    "bnn_clip_f32": "bnn_activation.c",
    "bnn_avgpool_f32": "bnn_avgpool.c",
    "bnn_avgpool_mlas_f32": "bnn_avgpool.c",
    "bnn_global_avgpool_f32": "bnn_avgpool.c",
    "bnn_reduce_mean_hw_f32": "bnn_avgpool.c",
    "bnn_concat_f32": "bnn_concat.c",
    "bnn_concat_bits": "bnn_concat.c",
    "bnn_transpose_f32": "bnn_transpose.c",
    # integer (uint8 / int8) model input: the exact cast, or the first conv on the integers
    "bnn_cast_u8_f32": "bnn_cast.c",
    "bnn_cast_s8_f32": "bnn_cast.c",
    "bnn_conv2d_u8_thresh": "bnn_conv_int.c",
    "bnn_conv2d_s8_thresh": "bnn_conv_int.c",
    "bnn_conv2d_u8_thresh_fix": "bnn_conv_int.c",
    "bnn_conv2d_s8_thresh_fix": "bnn_conv_int.c",
}
# Runtime sources that kernel files call into: the shared out-of-line popcount of the compact
# (-Os) build lives in bnn_popcount.c.
RUNTIME_DEPENDENCIES = {
    "bnn_conv_bin.c": ("bnn_popcount.c",),
    "bnn_dense.c": ("bnn_popcount.c",),
    "bnn_conv_real_grouped.c": ("bnn_conv_real.c",),
    "bnn_conv_int.c": ("bnn_popcount.c",),  # windows over 32 taps fall back to it
}
# Headers that never go into generated output (test-only reference kernels).
_PRIVATE_HEADERS = {"bnn_ref.h"}


@dataclass
class CLayer:
    summary: str
    decls: list[str]
    call: str


def sanitize(name: str, limit: int = 40) -> str:
    """A C identifier fragment from an arbitrary ONNX name."""
    text = re.sub(r"[^0-9A-Za-z_]", "_", name).strip("_") or "x"
    text = re.sub(r"_+", "_", text)
    if text[0].isdigit():
        text = "n" + text
    return text[:limit]


def c_name(name: str) -> str:
    """A valid model name for C symbols and file names."""
    return sanitize(name, 32).lower()


def runtime_files(graph: ir.Graph) -> list[str]:
    files = {KERNEL_FILES[layer.kernel] for layer in graph.nodes}
    files |= {dep for f in files for dep in RUNTIME_DEPENDENCIES.get(f, ())}
    headers = {p.name for p in runtime_dir().glob("*.h")} - _PRIVATE_HEADERS
    return sorted(headers | files)


def emit(graph: ir.Graph, out_dir: Path, name: str, source: str) -> list[Path]:
    """Write NAME.h, NAME.c and the runtime files into out_dir; return the written paths."""
    name = c_name(name)
    layers = [_render_layer(graph, index, layer) for index, layer in enumerate(graph.nodes)]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                             autoescape=False)
    input_t, output_t = graph.tensors[graph.input], graph.tensors[graph.output]
    context = dict(
        name=name, NAME=name.upper(), version=__version__, source=sanitize_comment(source),
        input_size=input_t.size, output_size=output_t.size,
        input_shape=_shape_text(input_t.shape), output_shape=_shape_text(output_t.shape),
        arena_bytes=graph.arena_bytes, arena_words=(graph.arena_bytes + 3) // 4, layers=layers,
        uses_input=any(graph.input in layer.inputs for layer in graph.nodes),
        real_conv=_real_conv_order(graph),
        input_type=ir.C_INPUT_TYPES[graph.input_dtype], input_dtype=graph.input_dtype,
        input_note=_input_note(graph),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for template, filename in (("model.h.j2", f"{name}.h"), ("model.c.j2", f"{name}.c")):
        path = out_dir / filename
        path.write_text(env.get_template(template).render(**context))
        written.append(path)
    for filename in runtime_files(graph):
        target = out_dir / filename
        shutil.copyfile(runtime_dir() / filename, target)
        written.append(target)
    return written


def _real_conv_order(graph: ir.Graph) -> dict | None:
    """The float order of the real-input binary-weight convs (passes/real_order.py), for the header."""
    from ..passes.real_order import ORDER_TEXT

    orders = {layer.real_order for layer in graph.nodes
              if isinstance(layer, ir.ConvLayer) and not layer.binary_input and not layer.int_input}
    if not orders:
        return None
    fast = "grouped" in orders
    return dict(fast=int(fast), text=ORDER_TEXT["grouped" if fast else "exact"])


def _input_note(graph: ir.Graph) -> str:
    """How an integer model input is read, for the header (passes/input_cast.py)."""
    if graph.input_dtype not in ir.INT_TYPES:
        return ""
    for layer in graph.nodes:
        if isinstance(layer, ir.ConvLayer) and layer.int_input:
            return f"the first conv sums the integers (q - {layer.int_offset}) exactly ({layer.kernel})"
        if isinstance(layer, ir.CastLayer):
            return f"converted to float32 exactly as onnxruntime does ({layer.kernel})"
    return ""


def sanitize_comment(text: str) -> str:
    """Text safe inside a C block comment (no comment delimiters, no line breaks, printable ASCII)."""
    text = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    while "/*" in text or "*/" in text:
        text = text.replace("/*", "/ *").replace("*/", "* /")
    return text


def _shape_text(shape) -> str:
    return "(1, " + ", ".join(str(d) for d in shape) + ")"


# ------------------------------------------------------------------------------------------ layers


def _render_layer(graph: ir.Graph, index: int, layer: ir.Layer) -> CLayer:
    prefix = f"l{index}_{sanitize(layer.name, 32)}"
    ptr = _Pointers(graph)
    decls: list[str] = []
    summary = f"{layer.kernel} <- {sanitize_comment(', '.join(layer.source) or layer.name)}"
    if isinstance(layer, ir.ConvLayer) and not layer.binary_input and not layer.int_input:
        summary += f" ({layer.real_order} float order)"

    def dims(tag: str, chw: tuple[int, int, int]) -> str:
        c, h, w = chw
        decls.append(f"static const bnn_dims {prefix}_{tag} = {{{h}, {w}, {c}}};")
        return f"{prefix}_{tag}"

    def window(win: ir.Window) -> str:
        decls.append(f"static const bnn_window {prefix}_win = {{{win.k_h}, {win.k_w}, {win.stride_h}, "
                     f"{win.stride_w}, {win.pad_top}, {win.pad_left}, {win.dil_h}, {win.dil_w}}};")
        return f"&{prefix}_win"

    def array(tag: str, ctype: str, values: list[str]) -> str:
        decls.append(f"static const {ctype} {prefix}_{tag}[{len(values)}] = {{\n{_wrap(values)}\n}};")
        return f"{prefix}_{tag}"

    def outputs(out) -> list[str]:
        if isinstance(out, ir.Threshold):
            if out.values.dtype == np.int32:
                return [array("thresh", "int32_t", [str(int(v)) for v in out.values])]
            return [array("thresh", "float", [c_float(v) for v in out.values])]
        return [array("scale", "float", [c_float(v) for v in out.scale]),
                array("bias", "float", [c_float(v) for v in out.bias])]

    def floats(tag: str, values) -> str:
        return array(tag, "float", [c_float(v) for v in np.asarray(values, np.float32).reshape(-1)])

    x, y = layer.inputs[0], layer.outputs[0]
    if isinstance(layer, ir.CastLayer):
        t = floats("table", layer.table)
        c, h, w_ = layer.dims
        plane = h * w_ if layer.table.shape[0] > 1 else c * h * w_
        call = f"{layer.kernel}({ptr(x)}, {c * h * w_}, {plane}, {t}, {ptr(y)});"
    elif isinstance(layer, ir.ConvLayer) and layer.int_input:
        din, dout = dims("in", layer.in_dims), dims("out", layer.out_dims)
        win = window(layer.window)
        w = array("weights", "uint32_t", [f"0x{int(v):08x}u" for v in layer.packed.reshape(-1)])
        t = outputs(layer.out)[0]
        if layer.int_fix:  # the channels whose integer threshold is not provable: the float sum in their band
            channels = array("fix_channels", "int32_t", [str(c) for c in layer.int_fix])
            lo = array("fix_lo", "int32_t", [str(int(v)) for v in layer.int_fix_lo])
            f_thresh, table = floats("fix_thresh", layer.int_fix_thresh), floats("table", layer.int_fix_table)
            decls.append(f"static const bnn_int_fix {prefix}_fix = {{{len(layer.int_fix)}, {channels}, {lo}, "
                         f"{f_thresh}, {table}}};")
            call = (f"{layer.kernel}({ptr(x)}, {din}, {layer.int_offset}, {w}, {t}, &{prefix}_fix, {win}, {ptr(y)}, "
                    f"{dout});")
        else:
            call = f"{layer.kernel}({ptr(x)}, {din}, {layer.int_offset}, {w}, {t}, {win}, {ptr(y)}, {dout});"
    elif isinstance(layer, ir.Pack) and layer.thresh is not None:
        d = dims("dims", layer.dims)
        t = floats("thresh", layer.thresh.values)
        flip = "NULL"
        if np.any(layer.thresh.flipped):
            packed = pack_rows(np.asarray(layer.thresh.flipped, bool).reshape(1, -1))[0]
            flip = array("flip", "uint32_t", [f"0x{int(v):08x}u" for v in packed])
        call = f"{layer.kernel}({ptr(x)}, {d}, {t}, {flip}, {ptr(y)});"
    elif isinstance(layer, (ir.Pack, ir.Unpack)):
        d = dims("dims", layer.dims)
        call = f"{layer.kernel}({ptr(x)}, {d}, {ptr(y)});"
    elif isinstance(layer, ir.RealConvLayer):
        din, dout = dims("in", layer.in_dims), dims("out", layer.out_dims)
        win = window(layer.window)
        w = floats("weights", layer.weight)
        b = "NULL" if layer.bias is None else floats("bias", layer.bias)
        call = f"{layer.kernel}({ptr(x)}, {din}, {w}, {b}, {layer.group}, {win}, {ptr(y)}, {dout});"
    elif isinstance(layer, ir.RealDenseLayer):
        w = floats("weights", layer.weight)
        b = "NULL" if layer.bias is None else floats("bias", layer.bias)
        call = f"{layer.kernel}({ptr(x)}, {layer.k}, {w}, {b}, {layer.n_out}, {ptr(y)});"
    elif isinstance(layer, ir.ChannelLayer):
        d = dims("dims", layer.dims)
        if layer.op == "affine":
            call = f"{layer.kernel}({ptr(x)}, {d}, {floats('scale', layer.consts[0])}, " \
                   f"{floats('shift', layer.consts[1])}, {ptr(y)});"
        elif layer.op == "prelu":
            call = f"{layer.kernel}({ptr(x)}, {d}, {floats('slope', layer.consts[0])}, {ptr(y)});"
        else:
            k = floats("k", layer.consts[0]) if layer.consts else ptr(layer.inputs[1])
            a, b = (f"{k}, BNN_BCAST_CHANNEL", f"{ptr(x)}, BNN_BCAST_FULL") if layer.op == "rsub" else \
                (f"{ptr(x)}, BNN_BCAST_FULL", f"{k}, BNN_BCAST_CHANNEL")
            call = f"{layer.kernel}({a}, {b}, {d}, {ptr(y)});"
    elif isinstance(layer, ir.EltwiseLayer):
        d = dims("dims", layer.dims)
        ma, mb = (f"BNN_BCAST_{m.upper()}" for m in layer.modes)
        call = f"{layer.kernel}({ptr(x)}, {ma}, {ptr(layer.inputs[1])}, {mb}, {d}, {ptr(y)});"
    elif isinstance(layer, ir.ActivationLayer):
        if layer.op == "clip":
            call = f"{layer.kernel}({ptr(x)}, {layer.n}, {c_float(layer.lo)}, {c_float(layer.hi)}, {ptr(y)});"
        else:
            call = f"{layer.kernel}({ptr(x)}, {layer.n}, {ptr(y)});"
    elif isinstance(layer, ir.AvgPoolLayer):
        din = dims("in", layer.in_dims)
        if layer.window is None:
            call = f"{layer.kernel}({ptr(x)}, {din}, {ptr(y)});"
        else:
            dout = dims("out", layer.out_dims)
            win = window(layer.window)
            c, h, w_ = layer.in_dims
            oh, ow = layer.out_dims[1:]
            wn = layer.window
            # bottom/right padding as ONNX sees it (ceil_mode may add windows past the written pads)
            pad_b, pad_r = wn.pad_bottom, wn.pad_right
            call = (f"{layer.kernel}({ptr(x)}, {din}, {win}, {pad_b}, {pad_r}, {int(layer.count_include_pad)}, "
                    f"{ptr(y)}, {dout});")
    elif isinstance(layer, ir.ConcatLayer):
        _, h, w_ = layer.out_dims
        if layer.bits:
            ins = ", ".join(ptr(i) for i in layer.inputs)
            ch = array("channels", "int32_t", [str(c) for c in layer.channels])
            call = (f"{{ const uint32_t *const ins[{len(layer.inputs)}] = {{{ins}}}; "
                    f"{layer.kernel}(ins, {ch}, {len(layer.inputs)}, {h}, {w_}, {ptr(y)}); }}")
        else:
            calls, offset = [], 0
            for index, (name, c) in enumerate(zip(layer.inputs, layer.channels)):
                if index not in layer.in_place:
                    d = dims(f"in{index}", (c, h, w_))
                    calls.append(f"{layer.kernel}({ptr(name)}, {d}, {offset}, {ptr(y)});")
                offset += c
            call = "\n    ".join(calls) if calls else "/* every input was written into its slice */"
    elif isinstance(layer, ir.ConvLayer):
        din, dout = dims("in", layer.in_dims), dims("out", layer.out_dims)
        win = window(layer.window)
        if layer.sliced:  # weights already transposed by the lowering (pack.transpose_conv_weights)
            # a build with a smaller BNN_SLICED_MAX_BITS could not run this window
            decls.append(f"#if BNN_SLICED_MAX_BITS < {layer.window_bits}\n"
                         f"#error \"{prefix}: needs BNN_SLICED_MAX_BITS >= {layer.window_bits}\"\n"
                         f"#endif")
        w = array("weights", "uint32_t", [f"0x{int(v):08x}u" for v in layer.packed.reshape(-1)])
        extra = ", ".join(outputs(layer.out))
        call = f"{layer.kernel}({ptr(x)}, {din}, {w}, {extra}, {win}, {ptr(y)}, {dout});"
    elif isinstance(layer, ir.DenseLayer):
        w = array("weights", "uint32_t", [f"0x{int(v):08x}u" for v in layer.packed.reshape(-1)])
        extra = ", ".join(outputs(layer.out))
        if layer.binary_input:
            call = f"{layer.kernel}({ptr(x)}, {layer.n_words}, {layer.k}, {w}, {extra}, {layer.n_out}, {ptr(y)});"
        else:
            call = f"{layer.kernel}({ptr(x)}, {layer.k}, {w}, {extra}, {layer.n_out}, {ptr(y)});"
    elif isinstance(layer, ir.PoolLayer):
        din, dout = dims("in", layer.in_dims), dims("out", layer.out_dims)
        win = window(layer.window)
        if layer.on_bits:
            mask = "NULL"
            if layer.and_mask is not None:
                packed = pack_rows(layer.and_mask.reshape(1, -1))[0]
                mask = array("and_mask", "uint32_t", [f"0x{int(v):08x}u" for v in packed])
            call = f"{layer.kernel}({ptr(x)}, {din}, {win}, {mask}, {ptr(y)}, {dout});"
        else:
            call = f"{layer.kernel}({ptr(x)}, {din}, {win}, {ptr(y)}, {dout});"
    elif isinstance(layer, ir.PadLayer):
        din, dout = dims("in", layer.in_dims), dims("out", layer.out_dims)
        fill = str(int(layer.value > 0)) if layer.on_bits else c_float(layer.value)
        call = f"{layer.kernel}({ptr(x)}, {din}, {layer.pad_top}, {layer.pad_left}, {fill}, {ptr(y)}, {dout});"
    elif isinstance(layer, ir.SoftmaxLayer):
        call = f"{layer.kernel}({ptr(x)}, {layer.n}, {ptr(y)});"
    elif isinstance(layer, ir.TransposeLayer):
        p0, p1, p2 = layer.perm
        call = f"{layer.kernel}({ptr(x)}, {dims('in', layer.in_dims)}, {p0}, {p1}, {p2}, {ptr(y)});"
    else:  # pragma: no cover - the lowering produces only the layers above
        raise TypeError(f"no C rendering for {type(layer).__name__}")
    return CLayer(summary, decls, call)


class _Pointers:
    """C expressions for tensors: the caller's input/output buffers or a slice of the arena."""

    def __init__(self, graph: ir.Graph):
        self.graph = graph

    def __call__(self, name: str) -> str:
        g = self.graph
        if name == g.input:
            return "input"
        if name == g.output:
            return "output"
        word = g.arena[name] // 4
        member = "u" if g.tensors[name].kind is ir.Kind.BITS else "f"
        return f"&arena.{member}[{word}]"


def c_float(value) -> str:
    v = np.float32(value)
    if np.isnan(v):
        return "NAN"
    if np.isinf(v):
        return "INFINITY" if v > 0 else "(-INFINITY)"
    return np.format_float_scientific(v, unique=True, exp_digits=2) + "f"


def _wrap(values: list[str], per_line: int = 8) -> str:
    lines = []
    for start in range(0, len(values), per_line):
        lines.append("    " + ", ".join(values[start:start + per_line]) + ",")
    return "\n".join(lines)
