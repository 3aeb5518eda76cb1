"""The mixed-precision blocks compute what their papers describe (brute force against the written formulas)."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from bnncc.train import blocks  # noqa: E402
from bnncc.train.layers import deploy_copy  # noqa: E402
from bnncc.train.models import MIXED_ARCHS, BinaryCNN, BinaryMLP, BNFreeReActNet  # noqa: E402


def _pm1(x):
    return torch.where(x >= 0, 1.0, -1.0)


def _warm(model, x):
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x)
    return model.eval()


def test_rsign_thresholds_per_channel_with_zero_to_plus_one():
    sign = blocks.RSign(3).eval()
    with torch.no_grad():
        sign.bias.copy_(torch.tensor([0.5, -1.0, 0.0]).reshape(1, 3, 1, 1))
    x = torch.tensor([0.5, 0.4, -1.0, -1.1, 0.0, -1e-7]).reshape(1, 3, 2, 1)
    assert sign(x).flatten().tolist() == [1, -1, 1, -1, 1, -1]


def test_rsign_trains_its_threshold():
    sign = blocks.RSign(2, ste="clipped").train()
    x = torch.randn(4, 2, 3, 3)
    sign(x).sum().backward()
    # d/db sign(x - b) through the clipped STE: minus the count of |x - b| <= 1 per channel
    expected = -((x.abs() <= 1).float().sum(dim=(0, 2, 3)))
    assert torch.equal(sign.bias.grad.flatten(), expected)


def test_rprelu_is_shift_prelu_shift():
    act = blocks.RPReLU(2)
    with torch.no_grad():
        act.shift_in.copy_(torch.tensor([0.5, -0.5]).reshape(1, 2, 1, 1))
        act.prelu.weight.copy_(torch.tensor([0.1, 2.0]))
        act.shift_out.copy_(torch.tensor([1.0, -2.0]).reshape(1, 2, 1, 1))
    x = torch.randn(3, 2, 4, 4)
    slope = torch.tensor([0.1, 2.0]).reshape(1, 2, 1, 1)
    shifted = x - act.shift_in
    expected = torch.where(shifted >= 0, shifted, slope * shifted) + act.shift_out
    assert torch.equal(act(x), expected)


def test_bireal_block_adds_the_real_shortcut():
    x = torch.randn(2, 4, 8, 8)
    block = _warm(blocks.BiRealBlock(4, 4), x)
    assert isinstance(block.shortcut, nn.Identity)
    expected = block.bn(F.conv2d(_pm1(x), _pm1(block.conv.weight), padding=1)) + x
    assert torch.allclose(block(x), expected, atol=1e-6)


def test_bireal_downsampling_shortcut_is_avgpool_real_conv_bn():
    x = torch.randn(2, 4, 8, 8)
    block = _warm(blocks.BiRealBlock(4, 8, stride=2), x)
    pool, conv, bn = block.shortcut
    assert isinstance(pool, nn.AvgPool2d) and type(conv) is nn.Conv2d and conv.kernel_size == (1, 1)
    expected = block.bn(F.conv2d(_pm1(x), _pm1(block.conv.weight), stride=2, padding=1)) + \
        bn(F.conv2d(F.avg_pool2d(x, 2), conv.weight))
    assert block(x).shape == (2, 8, 4, 4) and torch.allclose(block(x), expected, atol=1e-5)


def test_reactnet_block_doubles_channels_by_concatenating_two_binary_1x1_convs():
    x = torch.randn(2, 4, 8, 8)
    block = _warm(blocks.ReActBlock(4, 8, stride=2), x)
    assert len(block.convs1) == 2
    y = block.act3(block.bn3(F.conv2d(block.sign3(x), _pm1(block.conv3.weight), stride=2, padding=1))
                   + F.avg_pool2d(x, 2))
    s = block.sign1(y)
    halves = [bn(F.conv2d(s, _pm1(conv.weight))) + y for conv, bn in zip(block.convs1, block.bns1)]
    assert torch.allclose(block(x), block.act1(torch.cat(halves, dim=1)), atol=1e-5)
    with pytest.raises(ValueError, match="keeps or doubles"):
        blocks.ReActBlock(4, 12)


def test_dense_layer_concatenates_new_features_and_transition_is_pool_relu_real_conv():
    x = torch.randn(2, 6, 8, 8)
    layer = _warm(blocks.DenseLayer(6, 5), x)
    out = layer(x)
    assert out.shape == (2, 11, 8, 8) and torch.equal(out[:, :6], x)
    expected = F.conv2d(_pm1(layer.bn(x)), _pm1(layer.conv.weight), padding=1)
    assert torch.allclose(out[:, 6:], expected, atol=1e-6)
    transition = blocks.Transition(11, 4)
    assert [type(m) for m in transition] == [nn.BatchNorm2d, nn.MaxPool2d, nn.ReLU, nn.Conv2d]
    assert transition.eval()(out).shape == (2, 4, 4, 4)


def test_scaled_weight_standardization():
    w = torch.randn(5, 3, 3, 3) * 3 + 1
    gain = torch.rand(5, 1, 1, 1) + 0.5
    ws = blocks.standardize(w, gain)
    n = 27
    for i in range(5):
        row = w[i].flatten().double()
        mean, var = row.mean(), row.var(unbiased=False)
        expected = gain[i].item() * (row - mean) / math.sqrt(n * (var.item() + blocks.WS_EPS))
        assert torch.allclose(ws[i].flatten().double(), expected, atol=1e-6)
    # unit fan-in-scaled variance: sum of squares per output channel ~ gain^2
    assert torch.allclose((ws / gain).pow(2).sum(dim=(1, 2, 3)), torch.ones(5), atol=1e-3)


def test_binary_scaled_std_conv_uses_plus_minus_alpha_per_channel_and_deploys_exactly():
    conv = blocks.BinaryScaledStdConv2d(3, 4, 3, padding=1).eval()
    w = conv.binary_weight()
    w_hat = blocks.standardize(conv.weight, conv.gain)
    alpha = w_hat.abs().mean(dim=(1, 2, 3))
    for i in range(4):
        assert torch.allclose(w[i].abs(), alpha[i].expand_as(w[i]))
        assert torch.equal(torch.sign(w[i]), _pm1(w_hat[i]))
    x = torch.randn(2, 3, 5, 5)
    deployed = deploy_copy(conv)
    assert torch.equal(deployed(x), conv(x)) and torch.equal(deployed.weight, w)


def test_scaled_std_conv_deploys_to_a_plain_conv():
    conv = blocks.ScaledStdConv2d(2, 3, 3, padding=1)
    x = torch.randn(1, 2, 4, 4)
    deployed = deploy_copy(conv)
    assert deployed.deployed and not conv.deployed
    assert torch.allclose(deployed(x), conv(x), atol=1e-6)
    assert torch.allclose(F.conv2d(x, deployed.weight, deployed.bias, padding=1), conv(x), atol=1e-6)


def test_adaptive_gradient_clip_matches_the_unitwise_rule():
    torch.manual_seed(3)
    w = nn.Parameter(torch.randn(4, 3, 2, 2))
    b = nn.Parameter(torch.randn(4))
    w.grad = torch.randn(4, 3, 2, 2) * torch.tensor([0.001, 0.1, 10.0, 0.0]).reshape(4, 1, 1, 1)
    b.grad = torch.randn(4) * 100
    before_w, before_b = w.grad.clone(), b.grad.clone()
    lam, eps = 0.05, 1e-3
    blocks.adaptive_gradient_clip([w, b], lam, eps)
    for i in range(4):
        wn = max(w[i].detach().norm().item(), eps)
        gn = before_w[i].norm().item()
        expected = before_w[i] * (lam * wn / gn) if gn > lam * wn else before_w[i]
        assert torch.allclose(w.grad[i], expected, rtol=1e-5, atol=1e-9)
    bn, gbn = max(b.detach().norm().item(), eps), before_b.norm().item()
    assert gbn > lam * bn and torch.allclose(b.grad, before_b * (lam * bn / gbn), rtol=1e-5)
    with pytest.raises(ValueError):
        blocks.adaptive_gradient_clip([w], 0.0)


def test_nf_betas_follow_the_expected_variance():
    betas = blocks.nf_betas(2, 0.5)
    assert betas == [(1.0, pytest.approx(1 / math.sqrt(1.25))),
                     (pytest.approx(1 / math.sqrt(1.5)), pytest.approx(1 / math.sqrt(1.75)))]


@pytest.mark.parametrize("real", [True, False])
@pytest.mark.parametrize("arch", sorted(MIXED_ARCHS))
def test_mixed_nets_have_real_or_binary_first_and_last_layers(arch, real):
    from bnncc.train.layers import BinaryConv2d, BinaryLinear

    model = MIXED_ARCHS[arch](1, 8, real_first=real, real_last=real)
    first = model.stem[0]
    last = model.classifier[0]
    assert isinstance(first, (BinaryConv2d, blocks.BinaryScaledStdConv2d)) != real
    assert isinstance(last, BinaryLinear) != real and isinstance(last, nn.Linear)
    assert isinstance(model.pool[-2], nn.AdaptiveAvgPool2d)
    x = torch.rand(3, 1, 8, 8)
    assert _warm(model, x)(x).shape == (3, 10)


def test_real_first_and_last_layers_for_the_binarynet_models():
    from bnncc.train.layers import BinaryConv2d, BinaryLinear

    mlp = BinaryMLP(64, [16, 16], 10, real_first=True, real_last=True)
    assert type(mlp[0]) is nn.Linear and type(mlp[-1]) is nn.Linear and isinstance(mlp[3], BinaryLinear)
    cnn = BinaryCNN(1, 8, (8, 8, 8), real_first=True, real_last=True)
    assert type(cnn[0]) is nn.Conv2d and type(cnn[-1]) is nn.Linear and isinstance(cnn[3], BinaryConv2d)
    assert _warm(cnn, torch.rand(2, 1, 8, 8))(torch.rand(1, 1, 8, 8)).shape == (1, 10)


def test_bn_free_net_has_no_batchnorm_and_refuses_bop_weights():
    model = BNFreeReActNet(1, 8)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    classifier = {id(p) for p in model.classifier.parameters()}
    assert classifier and not classifier & {id(p) for p in model.agc_parameters()}
    with pytest.raises(ValueError, match="Adam"):
        BNFreeReActNet(1, 8, weight_mode="binary")


def test_bn_free_training_step_applies_agc():
    from bnncc.train.data import Split
    from bnncc.train.trainer import TrainConfig, build_model, train_model

    rng = np.random.default_rng(0)
    x = rng.random((32, 64), dtype=np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64)
    split = Split(x, y, x[:8], y[:8], image_size=8)
    config = TrainConfig(arch="bnfree", epochs=1, batch_size=16, width=64, agc=0.01)
    model = build_model(config, 64, 8)
    history = train_model(model, split, config)
    assert len(history) == 1 and np.isfinite(history[0]["loss"])
