"""Binary layers: weights binarized in the forward pass, and the sign activation.

Two weight modes:
- "latent": a real latent weight W is kept and trained (Adam + clipping to [-1, 1], BinaryConnect /
  BinaryNet style); the forward uses sign(W) with 0 -> +1 and a clipped STE (gradient passes where |W| <= 1).
- "binary": the parameter itself holds +-1 and is trained by Bop / Bop2ndOrder (it flips, never drifts).
  `weight_parameters(model, "binary")` lists them for the optimizer split (found through the layers, not
  through tensor attributes, which copy.deepcopy would drop).

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

WEIGHT_MODES = ("latent", "binary")


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
        with torch.no_grad():
            if weight_mode == "binary":
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return sign_ste(x, self.ste, self.clip, self.beta)
        return torch.where(x >= 0, 1.0, -1.0)

    def extra_repr(self) -> str:
        return f"ste={self.ste}, clip={self.clip}, beta={self.beta}"


def weight_parameters(model: nn.Module, weight_mode: str) -> list[nn.Parameter]:
    """The weights of every binary layer in `model` whose weight_mode is `weight_mode` ("latent"/"binary")."""
    return [m.weight for m in model.modules()
            if isinstance(m, _BinaryWeightMixin) and m.weight_mode == weight_mode]


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
            if isinstance(module, _BinaryWeightMixin) and module.weight_mode == "latent":
                effective = module.binary_weight()
                module.weight.copy_(effective)
                module.weight_mode, module.scale = "binary", False
            elif hasattr(module, "deploy_"):
                module.deploy_()
    return deployed
