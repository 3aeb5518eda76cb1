"""ONNX -> ONNX rewrites that turn producer idioms into the standard forms the importer knows.

Each module handles one idiom and exposes one function `ModelProto -> ModelProto | None` (None: nothing
to do). They run in this order, before constant folding; shapes are re-inferred after any change.
"""

from __future__ import annotations

import onnx

from .graph_edit import reinfer
from .input_views import fold_input_views
from .pad_into_conv import fold_zero_pad_into_conv
from .qonnx_quantizers import lower_quantizers
from .transpose_flatten_dense import fold_transpose_into_dense

PIPELINE = (
    lower_quantizers,  # QONNX/Brevitas BipolarQuant, Quant, IntQuant -> standard ops (qonnx's semantics)
    fold_input_views,  # Reshape/Flatten/Squeeze/Unsqueeze/layout-free Transpose of the input
    fold_transpose_into_dense,  # Transpose -> Flatten -> MatMul/Gemm: permute the weight rows instead
    fold_zero_pad_into_conv,  # Pad(0) -> Conv: the conv's own (exact) zero padding
)


def canonicalize(model: onnx.ModelProto) -> onnx.ModelProto:
    """Apply every rewrite in PIPELINE until none changes the model."""
    for _ in range(16):
        changed = False
        for step in PIPELINE:
            result = step(model)
            if result is not None:
                model, changed = reinfer(result), True
        if not changed:
            return model
    return model
