"""Binary layers: weights binarized in the forward pass, and the sign activation.

Three weight modes:
- "latent": a real latent weight W is kept and trained (Adam + clipping to [-1, 1], BinaryConnect /
  BinaryNet style); the forward uses sign(W) with 0 -> +1 and a clipped STE (gradient passes where |W| <= 1).
- "binary": the parameter itself holds +-1 and is trained by Bop / Bop2ndOrder (it flips, never drifts).
  `weight_parameters(model, "binary")` lists them for the optimizer split (found through the layers, not
  through tensor attributes, which copy.deepcopy would drop).
- "pbop": the parameter holds a logit theta per weight, p(w = +1) = sigmoid(theta), trained by `optim.PBop`
  (docs/pbop.md). Training samples w ~ +-1 Bernoulli(p) (or uses the mean 2p - 1 with relaxation="mean"); the
  backward hands dL/dw to theta.grad unchanged and PBop applies the chain rule. Eval and export use the mode
  sign(theta) (0 -> +1).

Stochastic binarization (BinaryConnect / BinaryNet): with `stochastic = True` a latent-mode layer trains with
w = +1 with probability hard_sigmoid(W) = clip((W + 1) / 2, 0, 1) (same clipped STE backward), and a
SignActivation with `stochastic = True` samples x the same way. Training only: eval and export use sign.
`set_stochastic(model, weights, activations)` switches the layers of a built model.

With `scale=True` the binary weight is multiplied by the XNOR-Net per-output-channel scale alpha_c = mean|W_c|
(treated as a constant in the backward pass, like larq's MagnitudeAwareSign). For binary-mode weights
|W| = 1, so the scale is 1 and is left out.

In eval mode the weight becomes `torch.where(W >= 0, 1, -1)` (a constant subgraph that the ONNX exporter
folds, or the bnncc frontend folds) and the activation becomes `torch.where(x >= 0, 1., -1.)`, which
exports as GreaterOrEqual + Where (ONNX Sign would map 0 to 0).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bnncc.train.ste import STE_KINDS, sign_ste, sign_zero_plus

WEIGHT_MODES = ("latent", "binary", "pbop")
PBOP_INIT = 1.0  # |theta| at init: p = sigmoid(1) = 0.73 towards the sign of the random init


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """clip((x + 1) / 2, 0, 1): BinaryConnect's probability of +1."""
    return torch.clamp((x + 1.0) / 2.0, 0.0, 1.0)


def sample_sign(p: torch.Tensor) -> torch.Tensor:
    """+1 with probability p, else -1 (torch's global generator, so torch.manual_seed makes it repeatable)."""
    return torch.where(torch.rand_like(p) < p, torch.ones_like(p), -torch.ones_like(p))


class _StochasticWeightSTE(torch.autograd.Function):
    """Forward: +1 with probability hard_sigmoid(W). Backward: the clipped STE of _WeightSTE."""

    @staticmethod
    def forward(ctx, w):
        ctx.save_for_backward(w)
        return sample_sign(hard_sigmoid(w))

    @staticmethod
    def backward(ctx, grad_output):
        (w,) = ctx.saved_tensors
        return grad_output * (w.abs() <= 1.0).to(grad_output.dtype)


class _StochasticSignSTE(torch.autograd.Function):
    """Forward: +1 with probability hard_sigmoid(x). Backward: grad * ste_derivative(x, kind)."""

    @staticmethod
    def forward(ctx, x, kind: str, clip: float, beta: float):
        ctx.save_for_backward(x)
        ctx.kind, ctx.clip, ctx.beta = kind, clip, beta
        return sample_sign(hard_sigmoid(x))

    @staticmethod
    def backward(ctx, grad_output):
        from bnncc.train.ste import ste_derivative

        (x,) = ctx.saved_tensors
        return grad_output * ste_derivative(x, ctx.kind, ctx.clip, ctx.beta), None, None, None


class _PBopWeight(torch.autograd.Function):
    """theta -> w (a +-1 sample of Bernoulli(sigmoid(theta)), or the mean 2p - 1). Backward: dL/dw unchanged
    (PBop multiplies by dE[w]/dtheta = 2 p (1 - p) itself, so theta.grad holds the gradient w.r.t. w)."""

    @staticmethod
    def forward(ctx, theta, relaxation: str):
        p = torch.sigmoid(theta)
        return sample_sign(p) if relaxation == "sample" else 2.0 * p - 1.0

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None


class _WeightSTE(torch.autograd.Function):
    """sign(W) with 0 -> +1; gradient passes where |W| <= 1 (latent weights are clipped there anyway)."""

    @staticmethod
    def forward(ctx, w):
        ctx.save_for_backward(w)
        return sign_zero_plus(w)

    @staticmethod
    def backward(ctx, grad_output):
        (w,) = ctx.saved_tensors
        return grad_output * (w.abs() <= 1.0).to(grad_output.dtype)


def _channel_scale(w: torch.Tensor) -> torch.Tensor:
    """alpha_c = mean |W_c| over everything but the output-channel axis, shaped to broadcast over W."""
    dims = tuple(range(1, w.dim()))
    return w.detach().abs().mean(dim=dims, keepdim=True)


class _BinaryWeightMixin:
    weight: nn.Parameter
    weight_mode: str
    scale: bool

    def _init_binary_weight(self, weight_mode: str, scale: bool) -> None:
        if weight_mode not in WEIGHT_MODES:
            raise ValueError(f"weight_mode must be one of {WEIGHT_MODES}, got '{weight_mode}'")
        self.weight_mode = weight_mode
        self.scale = scale and weight_mode == "latent"
        self.stochastic = False
        self.relaxation = "sample"  # pbop: "sample" or "mean"
        with torch.no_grad():
            if weight_mode == "pbop":
                # theta = +-PBOP_INIT after the sign of a random init: every coin starts loaded 73/27.
                self.weight.copy_(PBOP_INIT * sign_zero_plus(self.weight))
            elif weight_mode == "binary":
                # Bop starts from the signs of a random init; the parameter holds exactly +-1 from here on.
                self.weight.copy_(sign_zero_plus(self.weight))
            else:
                # Latent weights start inside the clipping range so the STE passes gradients at once.
                fan_in = self.weight[0].numel()
                bound = min(1.0, math.sqrt(6.0 / fan_in))
                self.weight.uniform_(-bound, bound)

    def binary_weight(self) -> torch.Tensor:
        """The weight the layer computes with: +-1 (times alpha_c if scale=True)."""
        w = self.weight
        if self.weight_mode == "binary":
            wb = w  # already exactly +-1: exports as a plain +-1 initializer
        elif self.weight_mode == "pbop":
            # training: a sample (or the mean); eval: the mode sign(theta), i.e. p >= 1/2 -> +1
            wb = _PBopWeight.apply(w, self.relaxation) if self.training else sign_zero_plus(w)
        elif self.training and getattr(self, "stochastic", False):
            wb = _StochasticWeightSTE.apply(w)
        elif self.training:
            wb = _WeightSTE.apply(w)
        else:
            wb = sign_zero_plus(w)
        if self.scale:
            wb = wb * _channel_scale(w)
        return wb


class BinaryLinear(_BinaryWeightMixin, nn.Linear):
    """Linear layer with binary weights (no bias by default: the BatchNorm after it carries the offset)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False,
                 weight_mode: str = "latent", scale: bool = False):
        super().__init__(in_features, out_features, bias=bias)
        self._init_binary_weight(weight_mode, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.binary_weight(), self.bias)


class BinaryConv2d(_BinaryWeightMixin, nn.Conv2d):
    """Conv2d with binary weights. Zero padding of a binarized input is exact in bnncc (taps outside count 0)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = False, weight_mode: str = "latent", scale: bool = False):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
        self._init_binary_weight(weight_mode, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.binary_weight(), self.bias)


class SignActivation(nn.Module):
    """Binary activation: +1 iff x >= 0. Training uses the chosen STE; eval is a plain exportable where()."""

    def __init__(self, ste: str = "clipped", clip: float = 1.0, beta: float = 5.0):
        super().__init__()
        if ste not in STE_KINDS:
            raise ValueError(f"unknown STE kind '{ste}', expected one of {STE_KINDS}")
        self.ste, self.clip, self.beta = ste, clip, beta
        self.stochastic = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and getattr(self, "stochastic", False):
            return _StochasticSignSTE.apply(x, self.ste, self.clip, self.beta)
        if self.training:
            return sign_ste(x, self.ste, self.clip, self.beta)
        return torch.where(x >= 0, 1.0, -1.0)

    def extra_repr(self) -> str:
        return f"ste={self.ste}, clip={self.clip}, beta={self.beta}"


def weight_parameters(model: nn.Module, weight_mode: str) -> list[nn.Parameter]:
    """The weights of every binary layer in `model` whose weight_mode is `weight_mode` ("latent"/"binary")."""
    return [m.weight for m in model.modules()
            if isinstance(m, _BinaryWeightMixin) and m.weight_mode == weight_mode]


def set_stochastic(model: nn.Module, weights: bool = False, activations: bool = False) -> nn.Module:
    """Switch stochastic binarization (training only) on or off: latent-mode weights and/or sign activations."""
    for module in model.modules():
        if isinstance(module, _BinaryWeightMixin):
            if weights and module.weight_mode != "latent":
                raise ValueError("stochastic weights need latent weights (optimizer adam); Bop weights are +-1")
            module.stochastic = weights
        elif isinstance(module, SignActivation):
            module.stochastic = activations
    return model


def clip_latent_weights(model: nn.Module, bound: float = 1.0) -> None:
    """Clip every latent binary weight to [-bound, bound] (BinaryNet): keeps them where the STE is alive."""
    with torch.no_grad():
        for w in weight_parameters(model, "latent"):
            w.clamp_(-bound, bound)


def deploy_copy(model: nn.Module) -> nn.Module:
    """An eval-mode copy whose binary layers hold their effective weights (+-1, or +-alpha_c with scale=True)
    as plain parameters, so an exporter writes them as initializers instead of a where(W >= 0) subgraph.
    Any other module with a `deploy_()` method (e.g. a weight-standardized conv) freezes itself the same way."""
    import copy

    deployed = copy.deepcopy(model).eval()
    with torch.no_grad():
        for module in deployed.modules():
            if isinstance(module, _BinaryWeightMixin) and module.weight_mode in ("latent", "pbop"):
                effective = module.binary_weight()
                module.weight.copy_(effective)
                module.weight_mode, module.scale = "binary", False
            elif hasattr(module, "deploy_"):
                module.deploy_()
    return deployed
