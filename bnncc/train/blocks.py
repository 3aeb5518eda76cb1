"""Building blocks of the mixed-precision BNNs: Bi-Real, ReActNet, BinaryDenseNet and BN-free ReActNet.

Every block keeps a real-valued (float32) stream and binarizes only the input of its binary convolutions.
In eval mode each one is built from ops the bnncc compiler lowers (see ../shared/reference/bnn-methods.md,
table (a)): the sign is `Where(x >= 0, 1, -1)` (0 -> +1), RSign is `Sub(x, b)` before it, BatchNorm stays a
BatchNormalization node (legacy exporter) or is folded into the conv (dynamo exporter), and the BN-free
scalars are `Mul` by a constant.

Sources (method descriptions, not code):
- Bi-Real Net, Liu et al. 2018 (arXiv:1808.00278): a real shortcut around *every* binary conv,
  sign -> binary 3x3 conv -> BN, plus the block input; downsampling shortcut AvgPool 2x2 -> real 1x1 conv -> BN.
- ReActNet, Liu et al. 2020 (arXiv:2003.03488), ReActNet-A block: RSign (sign(x - b_c), learnable b_c),
  binary 3x3 conv -> BN -> + shortcut (AvgPool 2x2 when strided) -> RPReLU; then RSign -> binary 1x1 conv ->
  BN -> + shortcut -> RPReLU, where a channel-doubling block concatenates two 1x1 binary convs (each added to
  the same shortcut). RPReLU(x) = PReLU_c(x - gamma_c) + zeta_c (the paper's ReAct-PReLU).
- BinaryDenseNet, Bethge et al. 2019 ("Training competitive binary neural networks from scratch",
  arXiv:1906.08637): each dense layer computes BN -> sign -> binary 3x3 conv and concatenates the new
  features to all earlier ones; a transition is BN -> MaxPool -> ReLU -> real 1x1 conv.
- BN-free BNNs, Chen et al. 2021 ("BNN - BN = ?", arXiv:2104.08215): ReActNet-A with every BatchNorm removed.
  The convolutions use scaled weight standardization (Brock et al. 2021a, arXiv:2101.08692, eq. for the
  standardized weight W^_ij = gain_i * (W_ij - mean_i) / (std_i * sqrt(N)), N = fan-in), the block input is
  multiplied by a scalar beta = 1/sqrt(expected variance) and the residual branch by a scalar alpha (the NF-ResNet
  form h_{i+1} = h_i + alpha * f_i(h_i / beta_i), Brock et al. 2021a sec. 4 / "BNN - BN = ?" sec. 3), and
  training uses adaptive gradient clipping (Brock et al. 2021b, arXiv:2102.06171, sec. 3.1 / eq. 3:
  G_i <- lambda * max(|W_i|, eps) / |G_i| * G_i when |G_i| / max(|W_i|, eps) > lambda, unit-wise per output
  row). The section/equation numbers are from memory of the papers, not re-verified here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from bnncc.train.layers import BinaryConv2d, SignActivation, _BinaryWeightMixin
from bnncc.train.ste import STE_KINDS, sign_ste, sign_zero_plus

BN_EPS = 1e-4  # as models.BN_EPS: small, so BatchNorm folds into thresholds with little float slack
WS_EPS = 1e-5  # weight standardization epsilon (inside the sqrt with the variance)


def _channel_param(channels: int, value: float = 0.0) -> nn.Parameter:
    return nn.Parameter(torch.full((1, channels, 1, 1), float(value)))


class RSign(nn.Module):
    """ReActNet's RSign: +1 iff x - b_c >= 0, with a learnable per-channel threshold b_c.

    Exports as Sub(x, b) -> GreaterOrEqual(., 0) -> Where(., 1, -1); bnncc folds b_c into the pack threshold.
    """

    def __init__(self, channels: int, ste: str = "clipped"):
        super().__init__()
        if ste not in STE_KINDS:
            raise ValueError(f"unknown STE kind '{ste}', expected one of {STE_KINDS}")
        self.ste = ste
        self.bias = _channel_param(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shifted = x - self.bias
        if self.training:
            return sign_ste(shifted, self.ste)
        return torch.where(shifted >= 0, 1.0, -1.0)


class RPReLU(nn.Module):
    """ReActNet's RPReLU: (x - gamma_c) -> PReLU with per-channel slope -> + zeta_c. Exports as Sub, PRelu, Add."""

    def __init__(self, channels: int, slope: float = 0.25):
        super().__init__()
        self.shift_in = _channel_param(channels)
        self.prelu = nn.PReLU(channels, init=slope)
        self.shift_out = _channel_param(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(x - self.shift_in) + self.shift_out


def binary_conv(cin: int, cout: int, kernel: int, stride: int = 1, weight_mode: str = "latent",
                scale: bool = False) -> BinaryConv2d:
    """A binary conv with 'same' zero padding (exact in bnncc: taps outside the image count 0)."""
    return BinaryConv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, weight_mode=weight_mode,
                        scale=scale)


class BiRealBlock(nn.Module):
    """Bi-Real: out = BN(binary_conv3x3(sign(x))) + shortcut(x).

    shortcut = identity, or AvgPool 2x2 -> real 1x1 conv -> BN when the block strides or changes width.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, weight_mode: str = "latent", ste: str = "approx",
                 scale: bool = False):
        super().__init__()
        self.sign = SignActivation(ste)
        self.conv = binary_conv(cin, cout, 3, stride, weight_mode, scale)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)
        if stride == 1 and cin == cout:
            self.shortcut: nn.Module = nn.Identity()
        else:
            layers: list[nn.Module] = [nn.AvgPool2d(stride)] if stride > 1 else []
            self.shortcut = nn.Sequential(*layers, nn.Conv2d(cin, cout, 1, bias=False),
                                          nn.BatchNorm2d(cout, eps=BN_EPS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(self.sign(x))) + self.shortcut(x)


class ReActBlock(nn.Module):
    """ReActNet-A block (3x3 part, then 1x1 part), with BatchNorm or, for BN-free, scaled-WS convs and scalars.

    3x3:  y = RPReLU(BN(bconv3x3(RSign(x))) + AvgPool(x))          (AvgPool 2x2 only when stride 2)
    1x1:  cout == cin:     z = RPReLU(BN(bconv1x1(RSign(y))) + y)
          cout == 2 cin:   z = RPReLU(Concat(BN(bconv1x1_a(s)) + y, BN(bconv1x1_b(s)) + y)),  s = RSign(y)
    BN-free (`bn_free=True`): every BN is removed, the binary convs standardize their weights
    (BinaryScaledStdConv2d) and each half computes  h + alpha * conv(RSign(beta * h))  instead.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, weight_mode: str = "latent", ste: str = "approx",
                 scale: bool = False, bn_free: bool = False, alpha: float = 0.2, betas: tuple[float, float] = (1., 1.)):
        super().__init__()
        if cout not in (cin, 2 * cin):
            raise ValueError(f"a ReActNet block keeps or doubles its width, not {cin} -> {cout}")
        self.bn_free, self.alpha, self.betas = bn_free, float(alpha), (float(betas[0]), float(betas[1]))
        self.sign3 = RSign(cin, ste)
        self.conv3 = self._conv(cin, cin, 3, stride, weight_mode, scale)
        self.bn3 = self._norm(cin)
        self.pool = nn.AvgPool2d(2) if stride == 2 else nn.Identity()
        self.act3 = RPReLU(cin)
        self.sign1 = RSign(cin, ste)
        self.convs1 = nn.ModuleList(self._conv(cin, cin, 1, 1, weight_mode, scale) for _ in range(cout // cin))
        self.bns1 = nn.ModuleList(self._norm(cin) for _ in range(cout // cin))
        self.act1 = RPReLU(cout)

    def _conv(self, cin, cout, kernel, stride, weight_mode, scale):
        if self.bn_free:
            return BinaryScaledStdConv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)
        return binary_conv(cin, cout, kernel, stride, weight_mode, scale)

    def _norm(self, channels):
        return nn.Identity() if self.bn_free else nn.BatchNorm2d(channels, eps=BN_EPS)

    def _branch(self, conv, norm, x):
        out = norm(conv(x))
        return out * self.alpha if self.bn_free else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x * self.betas[0] if self.bn_free else x
        y = self.act3(self._branch(self.conv3, self.bn3, self.sign3(h)) + self.pool(x))
        h = y * self.betas[1] if self.bn_free else y
        s = self.sign1(h)
        halves = [self._branch(conv, norm, s) + y for conv, norm in zip(self.convs1, self.bns1)]
        return self.act1(halves[0] if len(halves) == 1 else torch.cat(halves, dim=1))


class DenseLayer(nn.Module):
    """BinaryDenseNet dense layer: concat(x, binary_conv3x3(sign(BN(x)))) - the new features join all earlier ones."""

    def __init__(self, cin: int, growth: int, weight_mode: str = "latent", ste: str = "approx", scale: bool = False):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin, eps=BN_EPS)
        self.sign = SignActivation(ste)
        self.conv = binary_conv(cin, growth, 3, 1, weight_mode, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(self.sign(self.bn(x)))], dim=1)


class Transition(nn.Sequential):
    """BinaryDenseNet transition: BN -> MaxPool 2x2 -> ReLU -> real 1x1 conv (the width reduction stays real)."""

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.BatchNorm2d(cin, eps=BN_EPS), nn.MaxPool2d(2), nn.ReLU(),
                         nn.Conv2d(cin, cout, 1, bias=False))


def standardize(weight: torch.Tensor, gain: torch.Tensor | None = None, eps: float = WS_EPS) -> torch.Tensor:
    """Scaled weight standardization: gain_i * (W_i - mean_i) / sqrt(N * (var_i + eps)), per output channel i.

    N is the fan-in, so a unit-variance input gives a unit-variance output at initialization (Brock et al.
    2021a). Population variance (unbiased=False).
    """
    dims = tuple(range(1, weight.dim()))
    var, mean = torch.var_mean(weight, dim=dims, keepdim=True, unbiased=False)
    fan_in = weight[0].numel()
    out = (weight - mean) / torch.sqrt(fan_in * (var + eps))
    return out if gain is None else out * gain


class ScaledStdConv2d(nn.Conv2d):
    """Real conv with scaled weight standardization (the BN-free stem). `deploy_()` freezes the effective weight
    into a plain parameter, so the exported Conv has an ordinary float32 initializer."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0, bias: bool = True):
        super().__init__(cin, cout, kernel, stride=stride, padding=padding, bias=bias)
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1))
        self.deployed = False

    def effective_weight(self) -> torch.Tensor:
        return self.weight if self.deployed else standardize(self.weight, self.gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.effective_weight(), self.bias)

    @torch.no_grad()
    def deploy_(self) -> None:
        if not self.deployed:
            self.weight.copy_(self.effective_weight())
            self.deployed = True


class BinaryScaledStdConv2d(_BinaryWeightMixin, nn.Conv2d):
    """Binary conv of the BN-free ReActNet: W^ = standardize(W) * gain, then alpha_c * sign(W^) with
    alpha_c = mean|W^_c| (BNN_NoBN's HardBinaryScaledStdConv2d, as the BN-free paper describes it).

    Backward: straight through the clipped W^ (gradient where |W^| <= 1). Latent weights only (Bop keeps
    no real weight to standardize). After `layers.deploy_copy` the weight holds +-alpha_c and exports as is.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0):
        super().__init__(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self._init_binary_weight("latent", scale=False)
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1))

    def binary_weight(self) -> torch.Tensor:
        if self.weight_mode == "binary":  # deployed: the parameter already holds +-alpha_c
            return self.weight
        w_hat = standardize(self.weight, self.gain)
        alpha = w_hat.detach().abs().mean(dim=(1, 2, 3), keepdim=True)
        hard = alpha * sign_zero_plus(w_hat.detach())
        if not self.training:
            return hard
        clipped = torch.clamp(w_hat, -1.0, 1.0)
        return clipped + (hard - clipped).detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.binary_weight(), None)


def unitwise_norm(x: torch.Tensor) -> torch.Tensor:
    """Frobenius norm per output unit (dim 0) for matrices and conv kernels; the whole norm for vectors and scalars."""
    if x.dim() <= 1:
        return torch.linalg.vector_norm(x)
    return torch.linalg.vector_norm(x, dim=tuple(range(1, x.dim())), keepdim=True)


@torch.no_grad()
def adaptive_gradient_clip(parameters: Iterable[torch.Tensor], clipping: float = 0.02, eps: float = 1e-3) -> None:
    """Adaptive gradient clipping (NFNets, Brock et al. 2021b, eq. 3), in place, unit-wise:
    G_i <- G_i * lambda * max(|W_i|, eps) / |G_i|   where |G_i| / max(|W_i|, eps) > lambda."""
    if clipping <= 0:
        raise ValueError("the AGC clipping factor must be > 0")
    for p in parameters:
        if p.grad is None:
            continue
        max_norm = unitwise_norm(p).clamp_(min=eps) * clipping
        grad_norm = unitwise_norm(p.grad)
        factor = max_norm / grad_norm.clamp(min=1e-6)
        p.grad.copy_(torch.where(grad_norm > max_norm, p.grad * factor, p.grad))


def nf_betas(blocks: int, alpha: float) -> list[tuple[float, float]]:
    """beta = 1/sqrt(expected variance) before each residual half, the variance growing by alpha^2 per half
    (NF-ResNet signal propagation: Var(h_{i+1}) = Var(h_i) + alpha^2, starting from 1 after the stem)."""
    betas, var = [], 1.0
    for _ in range(blocks):
        first = 1.0 / math.sqrt(var)
        var += alpha * alpha
        second = 1.0 / math.sqrt(var)
        var += alpha * alpha
        betas.append((first, second))
    return betas
