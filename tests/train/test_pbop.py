import math

import pytest

torch = pytest.importorskip("torch")

from bnncc.train.layers import BinaryLinear, deploy_copy  # noqa: E402
from bnncc.train.optim import PBop, split_parameters  # noqa: E402
from bnncc.train.trainer import TrainConfig, build_model, build_optimizers  # noqa: E402


def _param(values):
    return torch.nn.Parameter(torch.tensor(values, dtype=torch.float64))


def _step(opt, theta, grad):
    theta.grad = torch.tensor(grad, dtype=torch.float64)
    opt.step()


def test_pbop_step_is_the_chain_rule_through_the_mean_of_the_coin():
    # gamma = 1: m = g. p = [1/2, 1/2, 3/4, 1/4]; dE[w]/dtheta = 2p(1-p) = [1/2, 1/2, 3/8, 3/8].
    theta = _param([0.0, 0.0, math.log(3), -math.log(3)])
    opt = PBop([theta], eta=1.0, gamma=1.0)
    _step(opt, theta, [1.0, -1.0, 2.0, 2.0])
    expected = [-0.5, 0.5, math.log(3) - 0.75, -math.log(3) - 0.75]
    assert theta.tolist() == pytest.approx(expected, abs=1e-12)


def test_pbop_momentum_is_bops_exponential_average_and_p_is_taken_before_the_step():
    theta = _param([0.0])
    opt = PBop([theta], eta=2.0, gamma=0.5)
    _step(opt, theta, [2.0])              # m = 1; p = 1/2: theta = 0 - 2 * 0.5 * 1 = -1
    assert theta.item() == pytest.approx(-1.0) and opt.state[theta]["m"].item() == pytest.approx(1.0)
    _step(opt, theta, [2.0])              # m = 0.5 + 1 = 1.5; p = sigmoid(-1)
    p = 1 / (1 + math.e)
    assert opt.state[theta]["m"].item() == pytest.approx(1.5)
    assert theta.item() == pytest.approx(-1.0 - 2.0 * 2 * p * (1 - p) * 1.5, abs=1e-12)


def test_pbop_clamps_logits_only_when_asked_and_skips_parameters_without_gradient():
    theta = _param([0.0, 0.0])
    PBop([theta], eta=100.0, gamma=1.0, theta_max=3.0).step()      # no grad: nothing happens
    assert theta.tolist() == [0.0, 0.0]
    opt = PBop([theta], eta=100.0, gamma=1.0, theta_max=3.0)
    _step(opt, theta, [1.0, -1.0])        # unclamped: -+50
    assert theta.tolist() == [-3.0, 3.0]
    with pytest.raises(ValueError):
        PBop([theta], eta=0.0)
    with pytest.raises(ValueError):
        PBop([theta], gamma=0.0)


def _pbop_layer(theta_row, relaxation="sample"):
    layer = BinaryLinear(len(theta_row), 1, weight_mode="pbop")
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([theta_row]))
    layer.relaxation = relaxation
    return layer


def test_pbop_layer_samples_with_probability_sigmoid_theta_and_hands_dl_dw_to_theta():
    torch.manual_seed(0)
    thetas = [-2.0, -math.log(3), 0.0, math.log(3), 2.0]
    layer = _pbop_layer(thetas).train()
    n = 20000
    ones = torch.zeros(len(thetas))
    for _ in range(n // 100):
        w = torch.stack([layer.binary_weight()[0] for _ in range(100)])
        assert set(w.unique().tolist()) <= {-1.0, 1.0}
        ones += (w > 0).sum(0)
    expected = torch.sigmoid(torch.tensor(thetas))
    # binomial std <= sqrt(0.25 / 20000) = 0.0035: a 0.02 bound is over 5 sigma
    assert torch.allclose(ones / n, expected, atol=0.02)
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    layer(x).sum().backward()
    assert layer.weight.grad.tolist() == [[1.0, 2.0, 3.0, 4.0, 5.0]]   # dL/dw, no sigmoid factor


def test_pbop_mean_relaxation_and_eval_mode():
    layer = _pbop_layer([math.log(3), -math.log(3), 0.0], relaxation="mean").train()
    assert layer.binary_weight()[0].tolist() == pytest.approx([0.5, -0.5, 0.0])
    layer.eval()   # the mode: p >= 1/2 -> +1 (theta = 0 -> +1, the bnncc 0 -> +1 convention)
    assert layer.binary_weight().tolist() == [[1.0, -1.0, 1.0]]
    deployed = deploy_copy(layer)
    assert deployed.weight.tolist() == [[1.0, -1.0, 1.0]] and deployed.weight_mode == "binary"


def test_pbop_config_builds_logit_layers_and_a_pbop_optimizer():
    config = TrainConfig(optimizer="pbop", width=16, epochs=2, eta=5.0, gamma=0.2)
    model = build_model(config, 64, 8)
    binary, _ = split_parameters(model)
    assert binary and all(set(p.abs().unique().tolist()) == {1.0} for p in binary)  # theta = +-PBOP_INIT
    (opt, schedules), _ = build_optimizers(model, config)
    assert isinstance(opt, PBop) and opt.param_groups[0]["eta"] == 5.0 and set(schedules) == {"gamma"}


def test_pbop_export_is_the_mode_and_deterministic(tmp_path):
    from bnncc.train.data import load_digits_split
    from bnncc.train.export import export_onnx
    from bnncc.train.trainer import train_model

    import numpy as np
    import onnx
    from onnx import numpy_helper

    split = load_digits_split(seed=0)
    config = TrainConfig(optimizer="pbop", width=16, epochs=1)
    torch.manual_seed(0)
    model = build_model(config, split.num_features, split.image_size)
    train_model(model, split, config)
    x = torch.as_tensor(split.x_test[:50], dtype=torch.float32)
    with torch.no_grad():
        first, second = model(x), model(x)
    assert torch.equal(first, second)   # eval uses sign(theta): no sampling
    paths = [tmp_path / "a.onnx", tmp_path / "b.onnx"]
    for path in paths:
        export_onnx(model, x[:1], path, check_inputs=x)
    weights = [sorted((i.name, numpy_helper.to_array(i).tobytes()) for i in onnx.load(str(p)).graph.initializer)
               for p in paths]
    assert weights[0] == weights[1]
    thetas = [m.weight.detach().numpy() for m in model.modules() if isinstance(m, BinaryLinear)]
    exported = [numpy_helper.to_array(i) for i in onnx.load(str(paths[0])).graph.initializer]
    for theta in thetas:
        mode = np.where(theta >= 0, 1.0, -1.0)
        assert any(e.shape in (mode.shape, mode.T.shape) and
                   (np.array_equal(e, mode) or np.array_equal(e, mode.T)) for e in exported)
