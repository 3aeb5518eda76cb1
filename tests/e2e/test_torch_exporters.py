"""Models exported by torch's legacy exporter and by its default (dynamo) exporter compile and verify."""

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from bnncc.verify import verify_model  # noqa: E402

pytestmark = pytest.mark.torch


class Sign(nn.Module):
    def forward(self, x):
        return torch.where(x >= 0, 1.0, -1.0)


class BinaryConv(nn.Conv2d):
    def forward(self, x):
        w = torch.where(self.weight >= 0, 1.0, -1.0)
        return nn.functional.conv2d(x, w, self.bias, self.stride, self.padding)


class BinaryLinear(nn.Linear):
    def forward(self, x):
        return nn.functional.linear(x, torch.where(self.weight >= 0, 1.0, -1.0), self.bias)


def _randomize_bn(model):
    gen = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=gen) * 3)
            module.running_var.copy_(torch.rand(n, generator=gen) * 20 + 1)
            module.weight.data.copy_(torch.randn(n, generator=gen))
            module.bias.data.copy_(torch.randn(n, generator=gen))
    return model.eval()


def cnn():
    torch.manual_seed(0)
    return _randomize_bn(nn.Sequential(
        BinaryConv(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), Sign(), nn.MaxPool2d(2),
        BinaryConv(16, 40, 3, padding=1, bias=True), nn.MaxPool2d(2), nn.BatchNorm2d(40), Sign(),
        nn.Flatten(), BinaryLinear(40 * 16, 10, bias=False), nn.BatchNorm1d(10)))


def mlp():
    torch.manual_seed(1)
    return _randomize_bn(nn.Sequential(
        BinaryLinear(64, 100), nn.BatchNorm1d(100), Sign(), nn.Dropout(0.2),
        BinaryLinear(100, 33, bias=False), nn.BatchNorm1d(33), Sign(), BinaryLinear(33, 10), nn.LogSoftmax(dim=1)))


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
@pytest.mark.parametrize("make,shape", [(cnn, (1, 1, 16, 16)), (mlp, (1, 64))], ids=["cnn", "mlp"])
def test_torch_exports_verify(tmp_path, make, shape, dynamo):
    model = make()
    path = tmp_path / "model.onnx"
    kwargs = {"dynamo": dynamo}
    if not dynamo:
        kwargs["opset_version"] = 17
    torch.onnx.export(model, (torch.randn(*shape),), str(path), **kwargs)
    if dynamo:
        assert (tmp_path / "model.onnx.data").exists(), "the default exporter writes external data"
    report = verify_model(path, samples=300)
    assert report.ok, report.summary()
    assert report.argmax_agree == 300
