import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from bnncc.train.export import export_onnx, onnx_op_types, sign_input_zero_fraction  # noqa: E402
from bnncc.train.models import BinaryCNN, BinaryMLP  # noqa: E402

SUPPORTED = {"Conv", "Gemm", "MatMul", "BatchNormalization", "Add", "Mul", "MaxPool", "Flatten", "Reshape",
             "Identity", "Dropout", "Softmax", "LogSoftmax", "Sign", "Where", "GreaterOrEqual", "Less",
             "Constant", "Transpose"}


def _warm(model, x):
    """A few training-mode passes so BatchNorm running statistics are not the identity."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x)
    return model.eval()


def _initializer_values(path):
    return {init.name: onnx.numpy_helper.to_array(init) for init in onnx.load(str(path)).graph.initializer}


def test_legacy_mlp_export_keeps_batchnorm_and_plus_minus_one_weights(tmp_path):
    x = torch.rand(16, 64)
    model = _warm(BinaryMLP(64, [32, 32], 10), x)
    path = tmp_path / "mlp.onnx"
    check = export_onnx(model, x[:1], path, check_inputs=x)
    assert check.ok and check.samples == 16
    ops = onnx_op_types(path)
    assert set(ops) <= SUPPORTED
    assert ops.count("BatchNormalization") == 3 and ops.count("Where") == 2 and "Sign" not in ops
    onnx_model = onnx.load(str(path))
    assert onnx_model.opset_import[0].version >= 13
    assert [d.dim_value for d in onnx_model.graph.input[0].type.tensor_type.shape.dim] == [1, 64]
    weights = [v for k, v in _initializer_values(path).items() if v.ndim == 2]
    assert len(weights) == 3 and all(set(np.unique(w)) == {-1.0, 1.0} for w in weights)


def test_legacy_cnn_export_ops_and_outputs(tmp_path):
    x = torch.rand(8, 1, 8, 8)
    model = _warm(BinaryCNN(1, 8, (8, 16, 16)), x)
    path = tmp_path / "cnn.onnx"
    assert export_onnx(model, x[:1], path, check_inputs=x).ok
    ops = onnx_op_types(path)
    assert set(ops) <= SUPPORTED
    assert ops.count("Conv") == 3 and ops.count("MaxPool") == 2 and ops.count("BatchNormalization") == 4


def test_dynamo_export_folds_batchnorm_and_matches_torch(tmp_path):
    x = torch.rand(8, 64)
    model = _warm(BinaryMLP(64, [16], 10, weight_mode="binary"), x)
    path = tmp_path / "mlp_dynamo.onnx"
    check = export_onnx(model, x[:1], path, dynamo=True, check_inputs=x)
    assert check.ok
    ops = onnx_op_types(path)
    assert set(ops) <= SUPPORTED and "BatchNormalization" not in ops and ops.count("Gemm") == 2
    assert not list(tmp_path.glob("*.data"))  # weights inline: one file


def test_export_rejects_batched_example(tmp_path):
    from bnncc.errors import BnnccError

    model = BinaryMLP(4, [8], 2).eval()
    with pytest.raises(BnnccError, match="batch size 1"):
        export_onnx(model, torch.zeros(2, 4), tmp_path / "m.onnx")


def test_sign_zero_fraction_counts_exact_zeros():
    model = BinaryMLP(4, [8], 2).eval()
    with torch.no_grad():
        model[0].weight.zero_()
        model[1].running_mean.zero_()
        model[1].bias.zero_()
    fractions = sign_input_zero_fraction(model, torch.ones(3, 4))
    # weights of 0 binarize to +1, so the dot is 4; BN(4) != 0: no zeros. Now make BN output 0 exactly.
    assert fractions == {"2": 0.0}
    with torch.no_grad():
        model[1].weight.zero_()
    assert sign_input_zero_fraction(model, torch.ones(3, 4)) == {"2": 1.0}


def test_failed_check_writes_nothing_and_restores_training_mode(tmp_path, monkeypatch):
    from bnncc.errors import BnnccError
    from bnncc.train import export as export_module

    model = BinaryMLP(4, [8], 2).train()
    bad = export_module.ExportCheck(samples=1, max_abs_diff=1.0, argmax_agree=0)
    monkeypatch.setattr(export_module, "compare_with_onnxruntime", lambda *args: bad)
    with pytest.raises(BnnccError, match="disagrees"):
        export_onnx(model, torch.zeros(1, 4), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == [] and model.training
