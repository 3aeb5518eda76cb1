"""A PyTorch CNN whose forward starts with x.view(-1, 1, 8, 8) on a flat input compiles and verifies."""

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from bnncc.verify import verify_model  # noqa: E402
from tests.e2e.test_torch_exporters import BinaryConv, BinaryLinear, Sign, _randomize_bn  # noqa: E402

pytestmark = pytest.mark.torch


class ViewCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            BinaryConv(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), Sign(), nn.MaxPool2d(2),
            BinaryConv(16, 32, 3, padding=1), nn.BatchNorm2d(32), Sign(),
            nn.Flatten(), BinaryLinear(32 * 16, 10), nn.BatchNorm1d(10))

    def forward(self, x):
        return self.body(x.view(-1, 1, 8, 8))


@pytest.mark.parametrize("target", ["host", pytest.param("cortex-m4", marks=pytest.mark.qemu)])
@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
def test_view_at_the_input_verifies(tmp_path, dynamo, target):
    torch.manual_seed(0)
    model = _randomize_bn(ViewCNN())
    path = tmp_path / "view_cnn.onnx"
    kwargs = {"dynamo": dynamo} if dynamo else {"dynamo": False, "opset_version": 17}
    torch.onnx.export(model, (torch.randn(1, 64),), str(path), **kwargs)
    report = verify_model(path, samples=300, target=target)
    assert report.ok, report.summary()
    assert report.argmax_agree == 300
