"""Binary dense layers on cortex-m55 (weights interleaved by 4 outputs, bnn_dense_bin_*_i4) are
bit-exact against onnxruntime: odd output counts, rows that are not a multiple of 4 or 8 words,
rows past the broadcast buffer (64 words), threshold and real outputs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from bnncc.compiler import lower_model
from bnncc.verify import verify_model
from tests.targets.conftest import needs_qemu

pytestmark = [pytest.mark.qemu, needs_qemu]


def _dense_model(sizes: list[int], real_output: bool, seed: int) -> onnx.ModelProto:
    """sign -> (MatMul -> BatchNorm -> sign)* ... -> MatMul [+ bias]: real input, sizes[0] wide."""
    rng = np.random.default_rng(seed)
    const = lambda name, value: inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))  # noqa: E731
    inits: list = []
    const("zero", 0.0), const("one", 1.0), const("minus_one", -1.0)
    nodes = [helper.make_node("GreaterOrEqual", ["input", "zero"], ["ge0"]),
             helper.make_node("Where", ["ge0", "one", "minus_one"], ["x0"])]
    x = "x0"
    for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        const(f"w{index}", np.where(rng.standard_normal((n_in, n_out)) >= 0, 1.0, -1.0))
        nodes.append(helper.make_node("MatMul", [x, f"w{index}"], [f"acc{index}"]))
        last = index == len(sizes) - 2
        if last and real_output:
            const("bias", rng.standard_normal(n_out))
            nodes.append(helper.make_node("Add", [f"acc{index}", "bias"], ["output"]))
            break
        const(f"g{index}", rng.uniform(0.5, 2.0, n_out) * rng.choice([-1, 1], n_out))
        const(f"b{index}", rng.standard_normal(n_out))
        const(f"m{index}", rng.standard_normal(n_out) * np.sqrt(n_in) / 4)
        const(f"v{index}", rng.uniform(0.5, 2.0, n_out) * n_in)
        nodes.append(helper.make_node("BatchNormalization", [f"acc{index}", f"g{index}", f"b{index}", f"m{index}",
                                                              f"v{index}"], [f"bn{index}"]))
        nodes.append(helper.make_node("GreaterOrEqual", [f"bn{index}", "zero"], [f"ge{index + 1}"]))
        x = "output" if last else f"x{index + 1}"
        nodes.append(helper.make_node("Where", [f"ge{index + 1}", "one", "minus_one"], [x]))
    graph = helper.make_graph(nodes, "dense_i4", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, sizes[0]])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, sizes[-1]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


@pytest.mark.parametrize("sizes,real_output", [
    ([2500, 75, 10], False),  # 79-word rows (no broadcast buffer, two chunks + 7 leftover words), 75 = 4*18 + 3
    ([300, 37, 6], True),  # 10-word rows (2 leftover), 2-word rows, real logits of 6 outputs
    ([1024, 64, 33], False),  # 32-word rows, outputs a multiple of 4, then 2-word rows and 33 outputs
])
def test_interleaved_dense_is_exact_on_m55(tmp_path, sizes, real_output):
    path = tmp_path / "dense.onnx"
    onnx.save(_dense_model(sizes, real_output, seed=sum(sizes)), path)
    kernels = [layer.kernel for layer in lower_model(path, "cortex-m55").nodes if "dense" in layer.kernel]
    assert kernels and all(k.endswith("_i4") for k in kernels)
    report = verify_model(path, samples=40, target="cortex-m55")
    assert report.ok and not report.mismatched, report.summary()
    if not real_output:
        assert report.max_abs_diff == 0.0, report.summary()  # +-1 outputs: bit-exact
