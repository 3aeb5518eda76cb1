"""ONNX -> ONNX rewrites that turn producer idioms into the standard forms the importer knows.

Each module handles one idiom and exposes one function `ModelProto -> ModelProto | None` (None: nothing
to do). They run in this order, before constant folding; shapes are re-inferred after any change.
"""

from __future__ import annotations

import onnx

from ...errors import BnnccError
from .graph_edit import reinfer
from .detach_ste import fold_detach_ste
from .input_views import fold_input_views
from .integer_input import dequantize_integer_input, refuse_integer_input_misuse
from .larq_ste_sign import fold_ste_sign
from .pad_into_conv import fold_zero_pad_into_conv
from .qonnx_quantizers import lower_quantizers
from .sign_of_zero_weights import refuse_sign_of_zero_weights
from .transpose_flatten_dense import fold_transpose_into_dense
from .transposes import fold_transposes
from .zero_one_activations import fold_zero_one_activations

PIPELINE = (
    refuse_sign_of_zero_weights,  # torch.sign(W) with exact zeros: ternary, refused with the fix
    lower_quantizers,  # QONNX/Brevitas BipolarQuant, Quant, IntQuant -> standard ops (qonnx's semantics)
    fold_detach_ste,  # Bi-Real/ReActNet sign(x).detach() - g(x).detach() + g(x) -> sign(x)
    fold_ste_sign,  # Larq's Sign(Sign(x) + c) -> Where binarizer
    fold_transposes,  # NHWC islands: sink Transposes through elementwise ops, cancel inverse pairs
    fold_input_views,  # Reshape/Flatten/Squeeze/Unsqueeze/layout-free Transpose of the input
    fold_transpose_into_dense,  # Transpose -> Flatten -> MatMul/Gemm: permute the weight rows instead
    fold_zero_pad_into_conv,  # Pad(0) -> Conv: the conv's own (exact) zero padding
    fold_zero_one_activations,  # DoReFa (s + 1) / 2 -> binary layer: the {0,1} dot product on s's bits
    dequantize_integer_input,  # uint8/int8 input -> DequantizeLinear: Cast, Sub(zero point), Mul(scale)
    refuse_integer_input_misuse,  # uint8/int8 input read by anything but Cast(to=float): refused
)


# What each rewrite did, in words, for `bnncc inspect --nodes` (the nodes a rewrite removed).
IDIOMS = {
    refuse_sign_of_zero_weights: "",
    lower_quantizers: "QONNX/Brevitas quantizer lowered to standard ops",
    fold_detach_ste: "detach-trick STE: its consumers read the sign directly",
    fold_ste_sign: "Larq ste_sign Sign(Sign(x) + c): became one binarizer",
    fold_transposes: "tf2onnx NHWC Transpose: sunk and cancelled with its inverse",
    fold_input_views: "view of the model input: the C input keeps the ONNX layout",
    fold_transpose_into_dense: "NHWC flatten Transpose: folded into the dense weight rows",
    fold_zero_pad_into_conv: "zero Pad: became the conv's own padding",
    fold_zero_one_activations: "{0,1} activation (s + 1) / 2: its readers compute on the bits of s",
    dequantize_integer_input: "DequantizeLinear of the integer input: Cast, Sub(zero point), Mul(scale)",
    refuse_integer_input_misuse: "",
}


def canonicalize(model: onnx.ModelProto, trace: dict[str, str] | None = None) -> onnx.ModelProto:
    """Apply every rewrite in PIPELINE until none changes the model (each rewrite makes one change).
    trace, if given, receives {node name: what removed it} for every node name a rewrite removed."""
    for _ in range(_MAX_REWRITES):
        for step in PIPELINE:
            result = step(model)
            if result is not None:
                if trace is not None:
                    kept = {n.name for n in result.graph.node}
                    for node in model.graph.node:
                        if node.name not in kept:
                            trace.setdefault(node.name, IDIOMS.get(step, step.__name__))
                model = reinfer(result)
                break
        else:
            return model
    raise BnnccError(f"canonicalization did not settle after {_MAX_REWRITES} rewrites (a rewrite cycle: a bnncc bug)")


_MAX_REWRITES = 2000
