"""Every mixed-precision architecture exports through both torch exporters to an ONNX the compiler can lower.

Both exporters: the legacy TorchScript one (BatchNormalization kept) and the default dynamo one (BatchNorm
folded into the convs, weights in an external .onnx.data file). Each export is run by onnxruntime and
matches the torch model; shapes are static with batch 1; binarizers are Where(x >= 0, 1, -1). The compiled C
is then checked against onnxruntime on the host (bnncc.verify).
"""

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from bnncc.train.export import export_onnx, onnx_op_types  # noqa: E402
from tests.helpers.tools import require_tools  # noqa: E402
from bnncc.train.models import MIXED_ARCHS  # noqa: E402
from bnncc.verify import verify_model  # noqa: E402

# The ops of bnn-methods.md table (a) for these nets, plus what the exporters add around them (constants,
# Identity of shared initializers, Unsqueeze of a PReLU slope, Flatten/Reshape before the classifier).
MIXED_OPS = {"Conv", "Gemm", "MatMul", "Transpose", "BatchNormalization", "Add", "Sub", "Mul", "PRelu", "Relu",
             "Concat", "AveragePool", "MaxPool", "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape",
             "GreaterOrEqual", "Where", "Constant", "Identity", "Unsqueeze"}
BN_ARCHS = {"bireal", "reactnet", "densenet"}


def _warm(model, x):
    """A few training-mode passes so BatchNorm statistics and the real parameters are not at their init."""
    model.train()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() <= 1 or p.shape[0] == 1:
                p.add_(torch.randn_like(p) * 0.1)
        for _ in range(3):
            model(x)
    return model.eval()


def _static_shapes(path):
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)), strict_mode=True)
    graph = model.graph
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        dims = value.type.tensor_type.shape.dim
        assert all(d.HasField("dim_value") and d.dim_value > 0 for d in dims), value.name
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [1, 1, 8, 8]
    assert [d.dim_value for d in graph.output[0].type.tensor_type.shape.dim] == [1, 10]


def export(arch, tmp_path, dynamo, real=True, seed=0):
    torch.manual_seed(seed)
    x = torch.rand(16, 1, 8, 8)
    model = _warm(MIXED_ARCHS[arch](1, 8, real_first=real, real_last=real), x)
    path = tmp_path / f"{arch}_{'dynamo' if dynamo else 'legacy'}.onnx"
    check = export_onnx(model, x[:1], path, dynamo=dynamo, external_data=dynamo, check_inputs=x)
    return path, check, x


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
@pytest.mark.parametrize("arch", sorted(MIXED_ARCHS))
def test_export_runs_in_onnxruntime_and_matches_torch(tmp_path, arch, dynamo):
    path, check, _ = export(arch, tmp_path, dynamo)
    assert check.ok and check.samples == 16 and check.max_abs_diff <= 1e-4
    ops = onnx_op_types(path)
    assert set(ops) <= MIXED_OPS, set(ops) - MIXED_OPS
    assert "Sign" not in ops and ops.count("Where") >= 3
    _static_shapes(path)
    onnx.checker.check_model(str(path))
    if dynamo:
        assert path.with_name(path.name + ".data").is_file()
        if arch != "densenet":  # densenet's BN acts on a concat or before a pool: nothing to fold into
            assert "BatchNormalization" not in ops
    else:
        assert not path.with_name(path.name + ".data").exists()
        assert ("BatchNormalization" in ops) == (arch in BN_ARCHS)
    if arch == "bnfree":
        assert "Mul" in ops  # the scalars alpha and beta
    if arch in ("reactnet", "bnfree"):
        assert {"Sub", "PRelu", "Concat", "AveragePool"} <= set(ops)


def test_binary_weights_export_as_plus_minus_one_or_alpha_per_channel(tmp_path):
    path, _, _ = export("reactnet", tmp_path, dynamo=False)
    model = onnx.load(str(path))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    binary = [v for k, v in inits.items() if "conv" in k and k.endswith("weight")]
    assert binary and all(set(np.unique(w)) == {-1.0, 1.0} for w in binary)
    path, _, _ = export("bnfree", tmp_path, dynamo=False)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    scaled = [v for k, v in inits.items() if "conv" in k and k.endswith("weight")]
    for w in scaled:  # +-alpha_c: one magnitude per output channel
        for row in w.reshape(len(w), -1):
            assert np.unique(np.abs(row)).size == 1 and np.all(row != 0)


def test_external_data_export_writes_both_files_and_replaces_stale_ones(tmp_path):
    from bnncc.errors import BnnccError

    path, _, x = export("bireal", tmp_path, dynamo=True)
    data = path.with_name(path.name + ".data")
    assert data.stat().st_size > 1000
    stored = onnx.load(str(path), load_external_data=False)
    locations = {e.value for i in stored.graph.initializer for e in i.external_data if e.key == "location"}
    assert locations == {data.name}
    model = _warm(MIXED_ARCHS["bireal"](1, 8), x)
    export_onnx(model, x[:1], path, dynamo=True, check_inputs=x[:2])  # inline now: the stale .data goes
    assert not data.exists() and sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    with pytest.raises(BnnccError, match="dynamo"):
        export_onnx(model, x[:1], tmp_path / "m.onnx", external_data=True)


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
@pytest.mark.parametrize("arch", sorted(MIXED_ARCHS))
def test_both_exports_verify_on_host(tmp_path, arch, dynamo):
    require_tools("cc")
    path, _, x = export(arch, tmp_path, dynamo, real=not dynamo)  # dynamo with binary first/last layers
    report = verify_model(path, inputs=x.reshape(len(x), -1).numpy())
    assert report.ok, report.summary()
    assert report.argmax_agree == len(x) and report.worst_ratio <= 1e-4
