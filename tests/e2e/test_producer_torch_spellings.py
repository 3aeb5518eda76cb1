"""PyTorch spellings in the wild: the Bi-Real / ReActNet detach-trick STE, across opsets 11 to 21."""

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from bnncc.frontend.canonicalize import canonicalize  # noqa: E402
from bnncc.frontend.load import load_model  # noqa: E402
from bnncc.verify import verify_model  # noqa: E402
from tests.e2e.test_torch_exporters import BinaryConv, BinaryLinear, _randomize_bn  # noqa: E402

pytestmark = pytest.mark.torch


class DetachSign(nn.Module):
    """Bi-Real Net's STE: forward sign(x), backward through clamp(x, -1, 1)."""

    def forward(self, x):
        return torch.sign(x).detach() - torch.clamp(x, -1, 1).detach() + torch.clamp(x, -1, 1)


class ReActSign(nn.Module):
    """ReActNet's piecewise-polynomial approximation of sign for the backward pass."""

    def forward(self, x):
        out_forward = torch.sign(x)
        mask1 = (x < -1).float()
        mask2 = (x < 0).float()
        mask3 = (x < 1).float()
        out1 = (-1) * mask1 + (x * x + 2 * x) * (1 - mask1)
        out2 = out1 * mask2 + (-x * x + 2 * x) * (1 - mask2)
        out3 = out2 * mask3 + 1 * (1 - mask3)
        return out_forward.detach() - out3.detach() + out3


def cnn(sign):
    torch.manual_seed(0)
    return _randomize_bn(nn.Sequential(
        BinaryConv(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), sign(), nn.MaxPool2d(2),
        BinaryConv(16, 32, 3, padding=1), nn.BatchNorm2d(32), sign(),
        nn.Flatten(), BinaryLinear(32 * 16, 10), nn.BatchNorm1d(10)))


@pytest.mark.parametrize("opset", [11, 13, 17, 21])
@pytest.mark.parametrize("sign", [DetachSign, ReActSign], ids=["bireal", "reactnet"])
def test_detach_trick_ste_verifies(tmp_path, sign, opset):
    path = tmp_path / "ste.onnx"
    torch.onnx.export(cnn(sign), (torch.randn(1, 1, 8, 8),), str(path), dynamo=False, opset_version=opset)
    model = canonicalize(load_model(path))
    assert not {"Sub", "Clip"} & {n.op_type for n in model.graph.node}  # the STE reads sign(x) directly
    report = verify_model(path, samples=300)
    assert report.ok, report.summary()
    assert report.argmax_agree == 300
