import pytest

torch = pytest.importorskip("torch")

from bnncc.train.layers import BinaryLinear, SignActivation, deploy_copy, hard_sigmoid, set_stochastic  # noqa: E402
from bnncc.train.models import BinaryMLP  # noqa: E402

VALUES = [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]
N = 20000


def test_hard_sigmoid_is_binaryconnects_probability():
    assert hard_sigmoid(torch.tensor(VALUES)).tolist() == [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]


def test_stochastic_weights_are_plus_one_with_probability_hard_sigmoid():
    torch.manual_seed(0)
    layer = BinaryLinear(len(VALUES), N, weight_mode="latent")
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(VALUES).expand(N, -1))   # N independent draws per column
    set_stochastic(layer, weights=True).train()
    w = layer.binary_weight()
    assert set(w.unique().tolist()) == {-1.0, 1.0}
    # binomial std <= sqrt(0.25 / 20000) = 0.0035: 0.02 is over 5 sigma; 0 and 1 are exact
    freq = (w > 0).float().mean(0)
    assert torch.allclose(freq, hard_sigmoid(torch.tensor(VALUES)), atol=0.02)
    assert freq[0] == 0 and freq[1] == 0 and freq[-1] == 1 and freq[-2] == 1
    # backward: BinaryConnect's clipped STE, gradient only where |W| <= 1
    w.sum().backward()
    assert layer.weight.grad[0].tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]


def test_stochastic_activations_sample_and_keep_the_chosen_ste():
    torch.manual_seed(1)
    act = SignActivation("clipped")
    set_stochastic(torch.nn.Sequential(act), activations=True)
    x = torch.tensor(VALUES).expand(N, -1).clone().requires_grad_(True)
    y = act.train()(x)
    assert set(y.unique().tolist()) == {-1.0, 1.0}
    assert torch.allclose((y > 0).float().mean(0), hard_sigmoid(torch.tensor(VALUES)), atol=0.02)
    y.sum().backward()
    assert x.grad[0].tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]


def test_eval_and_export_stay_deterministic(tmp_path):
    import onnx
    from onnx import numpy_helper

    from bnncc.train.export import export_onnx

    torch.manual_seed(0)
    plain = BinaryMLP(64, [32], 10)
    stochastic = set_stochastic(BinaryMLP(64, [32], 10), weights=True, activations=True)
    stochastic.load_state_dict(plain.state_dict())
    x = torch.randn(20, 64)
    for model in (plain, stochastic):   # put some running statistics into the BatchNorms
        model.train()(x)
    stochastic.load_state_dict(plain.state_dict())
    plain.eval(), stochastic.eval()
    with torch.no_grad():
        ref = plain(x)
        assert torch.equal(stochastic(x), ref) and torch.equal(stochastic(x), ref)
    assert torch.equal(deploy_copy(stochastic)[0].weight, deploy_copy(plain)[0].weight)
    paths = [tmp_path / "plain.onnx", tmp_path / "stochastic.onnx"]
    for model, path in zip((plain, stochastic), paths):
        export_onnx(model, x[:1], path, check_inputs=x)
    init = [{i.name: numpy_helper.to_array(i).tolist() for i in onnx.load(str(p)).graph.initializer} for p in paths]
    assert init[0] == init[1]


def test_training_with_stochastic_weights_is_seeded_and_rejected_for_bop():
    from bnncc.train.trainer import TrainConfig, build_model

    with pytest.raises(ValueError, match="latent"):
        build_model(TrainConfig(optimizer="bop", stochastic="weights", width=8), 64, 8)
    with pytest.raises(ValueError, match="stochastic mode"):
        build_model(TrainConfig(stochastic="sometimes", width=8), 64, 8)
    model = build_model(TrainConfig(stochastic="all", width=8), 64, 8)
    assert all(m.stochastic for m in model.modules() if isinstance(m, (BinaryLinear, SignActivation)))
    outs = []
    for _ in range(2):
        torch.manual_seed(3)
        outs.append(model.train()(torch.ones(4, 64)))
    assert torch.equal(outs[0], outs[1])
