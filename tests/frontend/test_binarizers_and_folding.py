"""The frontend recognises every binarizer form and folds weight-binarization chains by evaluation."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

from bnncc import ir
from bnncc.errors import BnnccError
from bnncc.frontend.importer import import_model
from bnncc.frontend.load import load_model
from tests.e2e.conftest import assert_bit_exact
from tests.helpers.onnx_models import ModelBuilder


def _where(b, x, cmp, const_left, hi, lo):
    zero = b.const(0.0)
    cond = b.node(cmp, [zero, x] if const_left else [x, zero])
    return b.node("Where", [cond, b.const(hi), b.const(lo)])


# (comparison, 0 on the left?, value if true, value if false) -> strict?
FORMS = [
    ("GreaterOrEqual", False, 1.0, -1.0, False),
    ("Less", False, -1.0, 1.0, False),
    ("LessOrEqual", True, 1.0, -1.0, False),  # 0 <= x
    ("Greater", True, -1.0, 1.0, False),  # 0 > x ? -1 : 1
    ("Greater", False, 1.0, -1.0, True),
    ("LessOrEqual", False, -1.0, 1.0, True),
]


@pytest.mark.parametrize("cmp,left,hi,lo,strict", FORMS)
def test_where_binarizer_forms(tmp_path, cmp, left, hi, lo, strict):
    b = ModelBuilder((20,), seed=1)
    x = b.gemm(b.start(), 20, 33)
    x = b.batchnorm(x, 33, fan_in=20)
    x = _where(b, x, cmp, left, hi, lo)
    x = b.gemm(x, 33, 5)
    model = b.build(x)
    onnx.save(model, tmp_path / "m.onnx")
    graph = import_model(tmp_path / "m.onnx")
    binarizers = [n for n in graph.nodes if isinstance(n, ir.Binarize)]
    assert len(binarizers) == 1 and binarizers[0].strict is strict
    assert_bit_exact(model, samples=300)


def test_negative_sign_where_is_rejected_with_node_name(tmp_path):
    b = ModelBuilder((8,), seed=1)
    x = b.gemm(b.start(), 8, 8)
    x = _where(b, x, "GreaterOrEqual", False, -1.0, 1.0)
    onnx.save(b.build(b.gemm(x, 8, 2)), tmp_path / "m.onnx")
    with pytest.raises(BnnccError, match="where_.*-sign"):
        import_model(tmp_path / "m.onnx")


def _xnor_scaled_weights(b, shape):
    """alpha * sign(W) with alpha = mean(|W|) per output channel, built from Abs/ReduceMean/Mul."""
    latent = b.const(b.rng.standard_normal(shape).astype(np.float32), "latent")
    axes = list(range(1, len(shape)))
    alpha = b.node("ReduceMean", [b.node("Abs", [latent])], axes=axes, keepdims=1)
    return b.node("Mul", [alpha, b.node("Sign", [latent])])


def test_constant_subgraphs_are_folded_by_evaluation(tmp_path):
    b = ModelBuilder((1, 6, 6), seed=2, opset=17)
    w = _xnor_scaled_weights(b, (12, 1, 3, 3))
    x = b.node("Conv", [b.start(), w], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    x = b.sign(b.batchnorm(x, 12, fan_in=9))
    x = b.flatten(x)
    # A transposed weight fed to a MatMul: folded, then read as the dense weight.
    latent = b.const(b.rng.standard_normal((10, 12 * 36)).astype(np.float32), "latent")
    wt = b.node("Transpose", [b.node("Sign", [latent])], perm=[1, 0])
    x = b.node("MatMul", [x, wt])
    model = b.build(x)
    onnx.save(model, tmp_path / "m.onnx")
    graph = import_model(tmp_path / "m.onnx")
    ops = [type(n).__name__ for n in graph.nodes]
    assert ops == ["Conv", "Affine", "Binarize", "Flatten", "Dense"]
    assert_bit_exact(model, samples=300)


def test_external_data_is_loaded(tmp_path):
    b = ModelBuilder((64,), seed=3)
    x = b.sign(b.batchnorm(b.gemm(b.start(), 64, 64, via="folded"), 64, fan_in=64))
    model = b.build(b.gemm(x, 64, 10, via="folded"))
    onnx.save(model, tmp_path / "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.onnx.data", size_threshold=0)
    assert (tmp_path / "ext.onnx.data").exists()
    graph = import_model(tmp_path / "ext.onnx")
    assert [type(n).__name__ for n in graph.nodes] == ["Dense", "Affine", "Binarize", "Dense"]


def test_symbolic_batch_is_pinned_and_dynamic_spatial_rejected(tmp_path):
    b = ModelBuilder((1, 5, 5), seed=4)
    model = b.build(b.flatten(b.conv(b.start(), 1, 4, 3)))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    onnx.save(model, tmp_path / "batch.onnx")
    assert import_model(tmp_path / "batch.onnx").tensors["input"].shape == (1, 5, 5)
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    onnx.save(model, tmp_path / "dyn.onnx")
    with pytest.raises(BnnccError, match="dynamic dimension 2"):
        load_model(tmp_path / "dyn.onnx")


def test_per_channel_constants_and_identity_dropout(tmp_path):
    b = ModelBuilder((2, 6, 6), seed=5)
    x = b.conv(b.start(), 2, 8, 3)
    x = b.node("Identity", [x])
    x = b.node("Mul", [x, b.const(b.rng.uniform(-2, 2, (8, 1, 1)))])
    x = b.node("Add", [b.const(b.rng.normal(0, 2, (1, 8, 1, 1))), x])
    x = b.node("Sub", [x, b.const(0.5)])
    x = b.sign(x)
    x = b.node("Dropout", [x])
    x = b.flatten(x)
    x = b.gemm(x, 8 * 16, 4)
    x = b.node("Div", [x, b.const(np.array([1, 2, -3, 4]))])
    x = b.node("Softmax", [x], axis=1)
    assert_bit_exact(b.build(x), samples=300)


def test_log_softmax_and_reshape_flatten(tmp_path):
    b = ModelBuilder((3, 4, 4), seed=6)
    x = b.sign(b.batchnorm(b.conv(b.start(), 3, 33, 2, stride=2), 33, fan_in=12))
    x = b.node("Reshape", [x, _int_const(b, [1, -1])])
    x = b.gemm(x, 33 * 4, 7)
    x = b.node("LogSoftmax", [x], axis=-1)
    assert_bit_exact(b.build(x), samples=300)


def _int_const(b, values):
    name = b._name("shape")
    b.inits.append(numpy_helper.from_array(np.array(values, np.int64), name))
    return name


def test_hardtanh_before_sign_cast_and_static_shape_are_handled():
    b = ModelBuilder((2, 6, 6), seed=7)
    x = b.batchnorm(b.conv(b.start(), 2, 12, 3, pads=(1, 1, 1, 1)), 12, fan_in=18)
    x = b.node("Clip", [x, b.const(-1.0), b.const(1.0)])
    x = b.node("Cast", [b.sign(x)], to=TensorProto.FLOAT)
    shape = b.node("Shape", [x])  # x.view(x.size(0), -1) in a legacy export
    batch = b.node("Gather", [shape, _int_const(b, 0)], axis=0)
    target = b.node("Concat", [b.node("Unsqueeze", [batch, _int_const(b, [0])]), _int_const(b, [-1])], axis=0)
    x = b.node("Reshape", [x, target])
    x = b.gemm(x, 12 * 36, 6)
    assert_bit_exact(b.build(x), samples=300)


def test_clip_that_changes_the_sign_is_a_real_clamp_before_the_pack(tmp_path):
    b = ModelBuilder((8,), seed=8)
    x = b.node("Clip", [b.gemm(b.start(), 8, 8), b.const(0.0), b.const(1.0)])
    model = b.build(b.gemm(b.sign(x), 8, 2))
    onnx.save(model, tmp_path / "m.onnx")
    from bnncc.compiler import lower_model

    kernels = [layer.kernel for layer in lower_model(tmp_path / "m.onnx").nodes]
    assert "bnn_clip_f32" in kernels and "bnn_pack_chw_f32" in kernels
    assert_bit_exact(model, samples=300)
