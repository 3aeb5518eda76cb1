import pytest

torch = pytest.importorskip("torch")

from bnncc.train.models import BinaryMLP  # noqa: E402
from bnncc.train.optim import Bop, Bop2ndOrder, split_parameters  # noqa: E402


def _param(values):
    return torch.nn.Parameter(torch.tensor(values, dtype=torch.float32))


def _step(opt, w, grad):
    w.grad = torch.tensor(grad, dtype=torch.float32)
    opt.step()


def test_bop_flips_only_where_momentum_agrees_with_weight_beyond_threshold():
    w = _param([1.0, 1.0, -1.0, -1.0, 1.0])
    opt = Bop([w], threshold=0.4, gamma=0.5)
    # m = 0.5 * g = [1, -1, 1, -1, 0.4]; w*m = [1, -1, -1, 1, 0.4]: flip where w*m > 0.4 strictly.
    _step(opt, w, [2.0, -2.0, 2.0, -2.0, 0.8])
    assert w.tolist() == [-1.0, 1.0, -1.0, 1.0, 1.0]
    assert opt.state[w]["m"].tolist() == pytest.approx([1.0, -1.0, 1.0, -1.0, 0.4])


def test_bop_momentum_is_exponential_average_and_flipped_weights_stay():
    w = _param([1.0, -1.0])
    opt = Bop([w], threshold=0.4, gamma=0.5)
    _step(opt, w, [2.0, 2.0])        # m = [1, 1]: w*m = [1, -1] -> first flips to -1
    assert w.tolist() == [-1.0, -1.0]
    _step(opt, w, [2.0, 2.0])        # m = 0.5*1 + 0.5*2 = 1.5; w*m = -1.5 -> nothing flips
    assert opt.state[w]["m"].tolist() == pytest.approx([1.5, 1.5])
    assert w.tolist() == [-1.0, -1.0]
    _step(opt, w, [-4.0, 0.0])       # m = [-1.25, 0.75]: w*m = [1.25, -0.75] -> first flips back
    assert opt.state[w]["m"].tolist() == pytest.approx([-1.25, 0.75])
    assert w.tolist() == [1.0, -1.0]


def test_bop_skips_parameters_without_gradient():
    w = _param([1.0])
    opt = Bop([w], threshold=0.0, gamma=1.0)
    opt.step()
    assert w.tolist() == [1.0] and not opt.state[w]


@pytest.mark.parametrize("k", [1, 3, 7])
def test_bop2nd_moments_after_k_steps_match_closed_form(k):
    gamma, sigma, g = 0.1, 0.01, torch.tensor([2.0, -3.0])
    w = _param([1.0, 1.0])
    opt = Bop2ndOrder([w], threshold=1e9, gamma=gamma, sigma=sigma)  # huge tau: no flips
    for _ in range(k):
        _step(opt, w, g.tolist())
    m_expected = g * (1 - (1 - gamma) ** k)
    v_expected = g ** 2 * (1 - (1 - sigma) ** k)
    assert torch.allclose(opt.state[w]["m"], m_expected, rtol=1e-5)
    assert torch.allclose(opt.state[w]["v"], v_expected, rtol=1e-5)
    assert w.tolist() == [1.0, 1.0]


def test_bop2nd_biased_and_unbiased_ratios_differ_by_gamma_over_sqrt_sigma():
    # One step, g = 1: m = 0.1, v = 0.04. Biased ratio m/sqrt(v) = 0.5; unbiased (m/0.1)/sqrt(v/0.04) = 1.
    for bias_correction, flips in ((False, False), (True, True)):
        w = _param([1.0])
        opt = Bop2ndOrder([w], threshold=0.75, gamma=0.1, sigma=0.04, bias_correction=bias_correction)
        _step(opt, w, [1.0])
        assert w.tolist() == ([-1.0] if flips else [1.0])
    for bias_correction in (False, True):   # tau just under each ratio flips, just over does not
        ratio = 1.0 if bias_correction else 0.5
        for tau, flips in ((ratio - 1e-3, True), (ratio + 1e-3, False)):
            w = _param([1.0])
            opt = Bop2ndOrder([w], threshold=tau, gamma=0.1, sigma=0.04, bias_correction=bias_correction)
            _step(opt, w, [1.0])
            assert (w.item() == -1.0) == flips


def test_bop2nd_flip_direction_follows_weight_sign():
    w = _param([1.0, -1.0, 1.0, -1.0])
    opt = Bop2ndOrder([w], threshold=0.1, gamma=0.5, sigma=0.5)
    _step(opt, w, [1.0, 1.0, -1.0, -1.0])   # normalized ratio ~ +-0.707: flips where sign(m) == sign(w)
    assert w.tolist() == [-1.0, -1.0, 1.0, 1.0]


def test_split_parameters_gives_bop_only_binary_weights():
    model = BinaryMLP(64, [16], 10, weight_mode="binary")
    binary, real = split_parameters(model)
    assert [tuple(p.shape) for p in binary] == [(16, 64), (10, 16)]
    assert all(set(p.unique().tolist()) <= {-1.0, 1.0} for p in binary)
    assert len(real) == 4  # two BatchNorms, weight and bias each
    latent = BinaryMLP(64, [16], 10, weight_mode="latent")
    assert split_parameters(latent)[0] == []


def test_invalid_hyper_parameters_are_rejected():
    w = _param([1.0])
    with pytest.raises(ValueError):
        Bop([w], threshold=-1.0)
    with pytest.raises(ValueError):
        Bop2ndOrder([w], sigma=0.0)
