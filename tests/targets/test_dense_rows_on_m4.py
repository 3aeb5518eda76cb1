"""Binary dense layers on cortex-m4 (plain rows; thresholded rows of whole 8-word blocks, up to
248 words, run per group of 32 outputs in the v7E-M assembly of bnn_dense.c, the rest in C) are
bit-exact against onnxruntime."""

from __future__ import annotations

import onnx
import pytest

from bnncc.compiler import lower_model
from bnncc.verify import verify_model
from tests.targets.conftest import needs_qemu
from tests.targets.test_dense_layouts_on_m55 import _dense_model

pytestmark = [pytest.mark.qemu, needs_qemu]


@pytest.mark.parametrize("sizes,real_output", [
    ([1024, 64, 33], False),  # 32-word rows, 2 groups in assembly; then 2-word rows in C
    ([2048, 100, 40], False),  # 64-word rows, 3 groups + 4 outputs in C; 4-word rows, 32 + 8
    ([7936, 45, 10], True),  # 248-word rows (the assembly's limit), 32 + 13 outputs; real logits
    ([2500, 75, 10], False),  # 79-word rows: C only
])
def test_dense_rows_are_exact_on_m4(tmp_path, sizes, real_output):
    path = tmp_path / "dense.onnx"
    onnx.save(_dense_model(sizes, real_output, seed=sum(sizes)), path)
    kernels = [layer.kernel for layer in lower_model(path, "cortex-m4").nodes if "dense" in layer.kernel]
    assert kernels and not any(k.endswith("_i4") for k in kernels)
    report = verify_model(path, samples=40, target="cortex-m4")
    assert report.ok and not report.mismatched, report.summary()
    if not real_output:
        assert report.max_abs_diff == 0.0, report.summary()  # +-1 outputs: bit-exact
