import pytest

torch = pytest.importorskip("torch")

from bnncc.train.layers import SignActivation  # noqa: E402
from bnncc.train.ste import sign_ste  # noqa: E402

X = torch.tensor([-2.0, -1.0, -0.75, -0.25, 0.0, 0.25, 0.75, 1.0, 1.3, 2.0], dtype=torch.float64)


def _grad(kind, **kw):
    x = X.clone().requires_grad_(True)
    sign_ste(x, kind, **kw).sum().backward()
    return x.grad


def test_forward_maps_zero_to_plus_one_for_every_variant():
    for kind in ("identity", "clipped", "approx", "swish"):
        out = sign_ste(X, kind)
        assert out.tolist() == [-1, -1, -1, -1, 1, 1, 1, 1, 1, 1]


def test_identity_ste_passes_gradient_unchanged():
    assert _grad("identity").tolist() == [1.0] * len(X)


def test_clipped_ste_cancels_outside_clip_range():
    assert _grad("clipped").tolist() == [0, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    assert _grad("clipped", clip=1.3).tolist() == [0, 1, 1, 1, 1, 1, 1, 1, 1, 0]


def test_approxsign_is_derivative_of_bireal_piecewise_quadratic():
    # Bi-Real proxy: -1 (x<-1), x^2+2x (-1<=x<0), -x^2+2x (0<=x<1), 1 (x>=1); derivative 2-2|x| inside.
    expected = [0, 0, 0.5, 1.5, 2.0, 1.5, 0.5, 0, 0, 0]
    assert _grad("approx").tolist() == pytest.approx(expected)


@pytest.mark.parametrize("beta", [1.0, 5.0, 10.0])
def test_swishsign_gradient_is_derivative_of_its_smooth_proxy(beta):
    # SwishSign proxy: 2*sigmoid(bx) * (1 + bx*(1 - sigmoid(bx))) - 1; autograd of it is the closed form.
    x = X.clone().requires_grad_(True)
    s = torch.sigmoid(beta * x)
    (2 * s * (1 + beta * x * (1 - s)) - 1).sum().backward()
    assert torch.allclose(_grad("swish", beta=beta), x.grad, atol=1e-10)
    assert _grad("swish", beta=beta)[4].item() == pytest.approx(beta)  # peak beta at x = 0


def test_sign_activation_uses_ste_in_training_and_where_in_eval():
    act = SignActivation("approx")
    x = X.clone().float().requires_grad_(True)
    act.train()
    act(x).sum().backward()
    assert x.grad.tolist() == pytest.approx([0, 0, 0.5, 1.5, 2.0, 1.5, 0.5, 0, 0, 0])
    act.eval()
    assert act(torch.tensor([0.0, -0.0, -1e-30])).tolist() == [1.0, 1.0, -1.0]


def test_unknown_ste_is_rejected():
    with pytest.raises(ValueError):
        SignActivation("tanh")
