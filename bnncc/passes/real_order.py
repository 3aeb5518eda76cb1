"""Which float summation order each real-input conv with binary weights runs (bnn.h, docs/semantics.md).

- "exact" (default): tap by tap from 0.0f in the order (ci, ky, kx), bnn_conv2d_f32_{thresh,f32}. With +-1
  weights this is onnxruntime's own accumulation (im2col + MLAS SGEMM: acc +- x in the same order, measured
  bit-equal on x86-64 for first-layer windows; tests/e2e/test_real_conv_order.py).
- "grouped" (opt-in, `--fast-real-conv`): groups of 5 taps summed as two halves, bnn_conv2d_f32_*_grouped
  (4-5x fewer instructions on the M4). Only for windows of at most GROUPED_MAX_TAPS taps; larger ones keep
  the exact order. Not onnxruntime's order: a sign within rounding of its threshold can differ.
"""

from __future__ import annotations

from .. import ir

GROUPED_MAX_TAPS = 32  # BNN_REAL_GROUPED_MAX_TAPS in runtime_c/bnn.h

ORDER_TEXT = {
    "exact": "tap-by-tap float order (ci, ky, kx) = onnxruntime's for +-1 weights",
    "grouped": "grouped float order (--fast-real-conv; not onnxruntime's: a sign within rounding of its "
               "threshold can differ)",
}


def choose_real_conv_order(graph: ir.Graph, fast: bool = False) -> ir.Graph:
    """Set real_order on every real-input binary-weight conv: "grouped" where `fast` and the window fits."""
    for layer in graph.nodes:
        if isinstance(layer, ir.ConvLayer) and not layer.binary_input and not layer.int_input:
            layer.real_order = "grouped" if fast and layer.window_bits <= GROUPED_MAX_TAPS else "exact"
            text = ORDER_TEXT[layer.real_order] if layer.real_order == "grouped" or ort_order(layer) else \
                "tap-by-tap float order (ci, ky, kx); the weights are scaled, so onnxruntime's products round differently"
            layer.why = f"{layer.why}; {text}" if layer.why else text
    return graph


def ort_order(layer: ir.ConvLayer) -> bool:
    """Whether a real-input conv sums as onnxruntime does: exact order and weights exactly +-1."""
    return layer.real_order == "exact" and layer.unit_weights
