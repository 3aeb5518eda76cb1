"""Binary dense layers on cortex-m4 and cortex-m0plus (plain rows of whole 8-word blocks, up to
248 words, go through the assembly of bnn_dense.c: on the M4 thresholded rows per group of 32
outputs, on the M0+ each row's count; the rest in C) are bit-exact against onnxruntime."""

from __future__ import annotations

import onnx
import pytest

from bnncc.compiler import lower_model
from bnncc.verify import verify_model
from tests.targets.conftest import needs_qemu
from tests.targets.test_dense_layouts_on_m55 import _dense_model

pytestmark = [pytest.mark.qemu, needs_qemu]


@pytest.mark.parametrize("core,sizes,real_output", [
    ("cortex-m4", [1024, 64, 33], False),  # 32-word rows, 2 groups in assembly; then 2-word rows in C
    ("cortex-m4", [2048, 100, 40], False),  # 64-word rows, 3 groups + 4 outputs in C; 4-word rows
    ("cortex-m4", [7936, 45, 10], True),  # 248-word rows (the limit), 32 + 13 outputs; real logits
    ("cortex-m4", [2500, 75, 10], False),  # 79-word rows: C only
    ("cortex-m0plus", [1024, 64, 33], False),  # 32-word rows in assembly, 2-word rows in C
    ("cortex-m0plus", [2048, 40, 10], True),  # 64-word rows, threshold and real outputs
])
def test_dense_rows_are_exact_on_scalar_cores(tmp_path, core, sizes, real_output):
    path = tmp_path / "dense.onnx"
    onnx.save(_dense_model(sizes, real_output, seed=sum(sizes)), path)
    kernels = [layer.kernel for layer in lower_model(path, core).nodes if "dense" in layer.kernel]
    assert kernels and not any(k.endswith("_i4") for k in kernels)
    report = verify_model(path, samples=40, target=core)
    assert report.ok and not report.mismatched, report.summary()
    if not real_output:
        assert report.max_abs_diff == 0.0, report.summary()  # +-1 outputs: bit-exact
