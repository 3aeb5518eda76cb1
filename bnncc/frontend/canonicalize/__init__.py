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
)


def canonicalize(model: onnx.ModelProto) -> onnx.ModelProto:
    """Apply every rewrite in PIPELINE until none changes the model (each rewrite makes one change)."""
    for _ in range(_MAX_REWRITES):
        for step in PIPELINE:
            result = step(model)
            if result is not None:
                model = reinfer(result)
                break
        else:
            return model
    raise BnnccError(f"canonicalization did not settle after {_MAX_REWRITES} rewrites (a rewrite cycle: a bnncc bug)")


_MAX_REWRITES = 2000
