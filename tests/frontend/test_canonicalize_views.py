"""Views of the real input and TF's NHWC flatten are canonicalized away, bit-exact against onnxruntime."""

import numpy as np
import onnx
import pytest

from bnncc.errors import BnnccError
from bnncc.frontend.canonicalize import canonicalize
from bnncc.frontend.importer import import_proto
from tests.e2e.conftest import assert_bit_exact
from tests.helpers.onnx_models import ModelBuilder


def _cnn_after(b, x):
    x = b.conv(x, 1, 16, 3, pads=(1, 1, 1, 1))
    x = b.sign(b.batchnorm(x, 16, fan_in=9))
    x = b.conv(x, 16, 8, 3)
    x = b.sign(b.batchnorm(x, 8, fan_in=144))
    x = b.flatten(x)
    return b.batchnorm(b.gemm(x, 8 * 6 * 6, 10), 10, fan_in=288)


@pytest.mark.parametrize("view", ["reshape", "unsqueeze", "transpose_nhwc", "reshape_then_squeeze"])
def test_view_of_the_input_is_free(view):
    b = ModelBuilder((64,), seed=3)
    x = b.start()
    if view == "reshape":
        x = b.node("Reshape", [x, b.const(np.array([-1, 1, 8, 8]))])
    elif view == "unsqueeze":  # (1, 8, 8) -> (1, 1, 8, 8)
        b.input_shape = [1, 8, 8]
        x = b.node("Unsqueeze", [x, b.const(np.array([1]))])
    elif view == "transpose_nhwc":  # TF layout with one channel: a transpose that is only a reshape
        b.input_shape = [1, 8, 8, 1]
        x = b.node("Transpose", [x], perm=[0, 3, 1, 2])
    else:
        x = b.node("Reshape", [x, b.const(np.array([1, 1, 1, 8, 8]))])
        x = b.node("Squeeze", [x, b.const(np.array([1]))])
    model = _fix_int64(b.build(_cnn_after(b, x)))
    graph = import_proto(onnx.shape_inference.infer_shapes(model))
    assert graph.tensors[graph.input].shape == (1, 8, 8)
    assert_bit_exact(model, samples=200)


def _fix_int64(model):
    """ModelBuilder stores constants as float32; shape and axes operands must be int64."""
    shape_inputs = {n.input[1] for n in model.graph.node if n.op_type in ("Reshape", "Squeeze", "Unsqueeze")}
    for tensor in model.graph.initializer:
        if tensor.name in shape_inputs:
            value = onnx.numpy_helper.to_array(tensor).astype(np.int64)
            tensor.CopyFrom(onnx.numpy_helper.from_array(value, tensor.name))
    onnx.checker.check_model(model)
    return model


def _nhwc_cnn(real_first=False, seed=1):
    """A TF-layout (1, 8, 8, 3) input, Transpose(0, 3, 1, 2), then a (binary or real-weight) conv CNN."""
    b = ModelBuilder((8, 8, 3), seed=seed)
    x = b.node("Transpose", [b.start()], perm=[0, 3, 1, 2])
    if real_first:  # float weights on the dyadic grid: every sum is exact in any order
        w = (b.rng.integers(-8, 9, (8, 3, 3, 3)) / 8.0).astype(np.float32)
        x = b.node("Conv", [x, b.const(w)], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
        x = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
        size = 4
    else:
        x = b.conv(x, 3, 8, 3)
        size = 6
    x = b.flatten(b.sign(b.batchnorm(x, 8, fan_in=27)))
    return b.build(b.gemm(x, 8 * size * size, 10))


@pytest.mark.parametrize("real_first", [False, True], ids=["binary_first", "real_first"])
def test_transpose_with_channels_at_the_input_is_one_exact_relayout(tmp_path, real_first):
    """NHWC -> NCHW with C = 3 is not a view: one bnn_transpose_f32 copy; the C input stays (8, 8, 3)."""
    model = _nhwc_cnn(real_first)
    graph = import_proto(onnx.shape_inference.infer_shapes(model))
    assert graph.tensors[graph.input].shape == (8, 8, 3)
    onnx.save(model, tmp_path / "m.onnx")
    from bnncc.compiler import lower_model

    kernels = [layer.kernel for layer in lower_model(tmp_path / "m.onnx").nodes]
    assert kernels[0] == "bnn_transpose_f32" and kernels.count("bnn_transpose_f32") == 1
    assert_bit_exact(model, samples=200)


@pytest.mark.parametrize("perm", [[0, 2, 1, 3], [0, 3, 2, 1], [0, 2, 3, 1], [0, 1, 3, 2]])
def test_any_transpose_that_keeps_the_batch_axis_is_exact(perm):
    """Every 3-axis permutation on a (3, 5, 4) input, read by a dense layer."""
    b = ModelBuilder((3, 5, 4), seed=2)
    x = b.flatten(b.node("Transpose", [b.start()], perm=perm))
    x = b.sign(b.batchnorm(b.gemm(x, 60, 16), 16, fan_in=60))
    assert_bit_exact(b.build(b.gemm(x, 16, 5)), samples=100)


def test_transpose_moving_the_batch_axis_is_refused_clearly():
    b = ModelBuilder((8, 8, 3), seed=1)
    x = b.node("Transpose", [b.start()], perm=[1, 0, 2, 3])  # (8, 1, 8, 3)
    x = b.node("Reshape", [x, b.const(np.array([1, 192]))])
    model = _fix_int64(b.build(b.gemm(x, 192, 10)))
    with pytest.raises(BnnccError, match="Transpose.*keeps the batch axis first"):
        import_proto(onnx.shape_inference.infer_shapes(model))


@pytest.mark.qemu
def test_nhwc_input_relayout_verifies_on_cortex_m4(tmp_path):
    from bnncc.verify import verify_model

    onnx.save(_nhwc_cnn(real_first=True, seed=3), tmp_path / "nhwc.onnx")
    report = verify_model(tmp_path / "nhwc.onnx", samples=100, target="cortex-m4")
    assert report.ok, report.summary()
    assert report.argmax_agree == 100


@pytest.mark.parametrize("op", ["Flatten", "Reshape"])
@pytest.mark.parametrize("dense", ["MatMul", "Gemm", "GemmTransB"])
def test_nhwc_flatten_folds_into_the_dense_weights(op, dense):
    """tf2onnx: Conv -> Transpose(0,2,3,1) -> Reshape(1, -1) -> MatMul. The rows of W get permuted instead."""
    b = ModelBuilder((2, 6, 6), seed=5)
    x = b.conv(b.start(), 2, 12, 3)
    x = b.sign(b.batchnorm(x, 12, fan_in=18))
    x = b.node("Transpose", [x], perm=[0, 2, 3, 1])
    if op == "Flatten":
        x = b.flatten(x)
    else:
        x = b.node("Reshape", [x, b.const(np.array([1, -1]))])
    k = 12 * 4 * 4
    if dense == "MatMul":
        x = b.node("MatMul", [x, b.binary_weights((k, 10), via="const")])
    elif dense == "Gemm":
        x = b.node("Gemm", [x, b.binary_weights((k, 10), via="const")])
    else:
        x = b.gemm(x, k, 10)
    model = _fix_int64(b.build(b.batchnorm(x, 10, fan_in=k)))
    canonical = canonicalize(onnx.shape_inference.infer_shapes(model))
    assert "Transpose" not in {n.op_type for n in canonical.graph.node}
    assert_bit_exact(model, samples=200)


def test_sign_of_weights_with_exact_zeros_is_refused_with_the_fix(tmp_path):
    from bnncc.frontend.importer import import_model

    b = ModelBuilder((16,), seed=2)
    latent = b.rng.standard_normal((8, 16)).astype(np.float32)
    latent[3, 5] = 0.0
    w = b.node("Sign", [b.const(latent, "latent")])
    model = b.build(b.node("Gemm", [b.start(), w], transB=1))
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    with pytest.raises(BnnccError, match=r"1 exact zero.*torch.where\(w >= 0, 1.0, -1.0\)"):
        import_model(path)
