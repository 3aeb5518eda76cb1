"""A DoReFa-style PyTorch CNN ({0,1} activations (sign(x) + 1) / 2 or relu(sign(x)), +-1 weights), trained a
few epochs on scikit-learn digits, exported by torch and verified on host and cortex-m4."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets")

from bnncc.compiler import lower_model  # noqa: E402
from tests.helpers.digits_training import digits, train_on_digits  # noqa: E402
from bnncc.verify import random_inputs, verify_model  # noqa: E402
from tests.e2e.test_torch_exporters import BinaryConv, BinaryLinear  # noqa: E402

nn = torch.nn
pytestmark = pytest.mark.torch


class _ZeroOne(torch.autograd.Function):
    """Forward (sign(x) + 1) / 2 (or relu(sign(x))); backward: the clipped straight-through estimator."""

    @staticmethod
    def forward(ctx, x, relu):
        ctx.save_for_backward(x)
        return torch.relu(torch.sign(x)) if relu else (torch.sign(x) + 1) / 2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype), None


class ZeroOne(nn.Module):
    def __init__(self, relu=False):
        super().__init__()
        self.relu = relu

    def forward(self, x):
        return _ZeroOne.apply(x, self.relu)


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w):
        return torch.where(w >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx, grad):
        return grad


class TrainableBinaryConv(BinaryConv):
    def forward(self, x):
        return nn.functional.conv2d(x, _SignSTE.apply(self.weight), self.bias, self.stride, self.padding)


class TrainableBinaryLinear(BinaryLinear):
    def forward(self, x):
        return nn.functional.linear(x, _SignSTE.apply(self.weight), self.bias)


def dorefa_cnn(relu):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), ZeroOne(relu), nn.MaxPool2d(2),
        TrainableBinaryConv(16, 32, 3, padding=1, bias=True), nn.BatchNorm2d(32), ZeroOne(relu), nn.MaxPool2d(2),
        nn.Flatten(), TrainableBinaryLinear(32 * 4, 10), nn.BatchNorm1d(10))


@pytest.fixture(scope="module", params=["sign_plus_one_half", "relu_sign"])
def dorefa_model(request, tmp_path_factory):
    torch.set_num_threads(1)
    model, accuracy = train_on_digits(dorefa_cnn(relu=request.param == "relu_sign"), (1, 8, 8), epochs=3)
    assert accuracy > 0.5, f"training did not converge ({accuracy:.2f})"
    path = tmp_path_factory.mktemp("dorefa") / f"dorefa_{request.param}.onnx"
    torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), str(path), dynamo=False, opset_version=17)
    return path


@pytest.mark.parametrize("target", ["host", pytest.param("cortex-m4", marks=pytest.mark.qemu)])
def test_dorefa_model_verifies(dorefa_model, target):
    pixels, _ = digits()
    inputs = np.concatenate([pixels[:200], random_inputs(64, 100, seed=3)])
    report = verify_model(dorefa_model, inputs=inputs, target=target)
    assert report.ok, report.summary()
    assert report.argmax_agree == len(inputs)


def test_dorefa_layers_are_binary(dorefa_model):
    kernels = [layer.kernel for layer in lower_model(dorefa_model).nodes]
    assert sum("_bin" in k for k in kernels) == 2, kernels  # the binary conv and dense read packed bits
    assert kernels[0] == "bnn_conv2d_f32w_f32"  # the real first layer
    assert not [k for k in kernels[1:] if "f32w" in k or k.startswith(("bnn_channel", "bnn_unpack_bits_chw"))], \
        kernels
