import pytest

torch = pytest.importorskip("torch")

from bnncc.train.layers import (  # noqa: E402
    BinaryConv2d, BinaryLinear, clip_latent_weights, deploy_copy, weight_parameters)


def test_latent_linear_uses_sign_of_weights_with_zero_as_plus_one():
    layer = BinaryLinear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, 0.0, -0.2], [-0.1, 0.3, 0.0]]))
    x = torch.tensor([[1.0, 2.0, 4.0]])
    expected = torch.tensor([[1 + 2 - 4, -1 + 2 + 4]], dtype=torch.float32)
    for mode in (layer.train, layer.eval):
        mode()
        assert torch.equal(layer(x), expected)


def test_latent_weight_gradient_is_clipped_ste():
    layer = BinaryLinear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, 1.5]]))
    layer(torch.tensor([[3.0, 3.0]])).sum().backward()
    assert layer.weight.grad.tolist() == [[3.0, 0.0]]   # |w| > 1 gets no gradient


def test_xnor_scale_is_mean_abs_per_output_channel():
    conv = BinaryConv2d(1, 2, kernel_size=1, scale=True)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([0.5, -0.25]).reshape(2, 1, 1, 1))
    out = conv.eval()(torch.ones(1, 1, 2, 2))
    assert out[0, :, 0, 0].tolist() == [0.5, -0.25]


def test_binary_mode_holds_plus_minus_one_and_is_found_after_deepcopy():
    import copy

    layer = BinaryConv2d(2, 4, 3, weight_mode="binary", scale=True)
    assert set(layer.weight.unique().tolist()) <= {-1.0, 1.0} and not layer.scale
    model = copy.deepcopy(torch.nn.Sequential(layer, BinaryLinear(3, 3)))
    assert weight_parameters(model, "binary") == [model[0].weight]
    assert weight_parameters(model, "latent") == [model[1].weight]


def test_clip_latent_weights_only_touches_latent_weights():
    latent, binary = BinaryLinear(2, 2), BinaryLinear(2, 2, weight_mode="binary")
    bn = torch.nn.BatchNorm1d(2)
    with torch.no_grad():
        latent.weight.fill_(3.0)
        bn.weight.fill_(3.0)
    model = torch.nn.Sequential(latent, bn, binary)
    clip_latent_weights(model)
    assert latent.weight.max().item() == 1.0 and bn.weight.max().item() == 3.0


def test_deploy_copy_freezes_effective_weights_and_keeps_outputs():
    model = torch.nn.Sequential(BinaryConv2d(1, 3, 3, padding=1, scale=True), torch.nn.Flatten(),
                                BinaryLinear(3 * 16, 5)).eval()
    deployed = deploy_copy(model)
    x = torch.randn(2, 1, 4, 4)
    assert torch.allclose(model(x), deployed(x))
    assert set(deployed[2].weight.abs().unique().tolist()) == {1.0}
    assert model[0].weight_mode == "latent"  # the original is untouched
