"""Reference models: BinaryNet-style MLP and CNN, the mixed-precision nets, and a float MLP for comparison.

BinaryMLP and BinaryCNN follow BinaryNet: the first layer takes the real input with binary weights; every
hidden block is binary layer -> [MaxPool] -> BatchNorm -> sign; the last block is a binary layer -> BatchNorm
giving real logits (no softmax: cross-entropy is applied by the loss; the exported model outputs logits).
`real_first` / `real_last` make the first / last layer a float32 Conv / Linear instead.

BiRealNet, ReActNet, BinaryDenseNet and BNFreeReActNet (blocks in `blocks.py`) are tiny versions for 8x8
inputs: stem conv (real by default) -> blocks at full resolution -> one 2x downsampling -> blocks ->
global average pool -> classifier (real Linear by default; binary Linear -> BN with real_last=False).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from bnncc.train import blocks
from bnncc.train.layers import BinaryConv2d, BinaryLinear, SignActivation

BN_EPS = 1e-4  # BinaryNet's value; kept small so BN folds into thresholds with little float slack


class BinaryMLP(nn.Sequential):
    """in_features reals -> [BinaryLinear -> BN -> sign] * len(hidden) -> BinaryLinear -> BN -> logits."""

    def __init__(self, in_features: int = 64, hidden: Sequence[int] = (256, 256), num_classes: int = 10,
                 weight_mode: str = "latent", ste: str = "clipped", scale: bool = False,
                 real_first: bool = False, real_last: bool = False):
        layers: list[nn.Module] = []
        width_in = in_features
        for i, width in enumerate(hidden):
            first = nn.Linear(width_in, width, bias=False) if real_first and i == 0 else \
                BinaryLinear(width_in, width, weight_mode=weight_mode, scale=scale)
            layers += [first, nn.BatchNorm1d(width, eps=BN_EPS), SignActivation(ste)]
            width_in = width
        layers += classifier(width_in, num_classes, real_last, weight_mode, scale)
        super().__init__(*layers)


class BinaryCNN(nn.Sequential):
    """Small binary CNN for square single-channel images (8x8 digits, 28x28 MNIST).

    conv3x3(real input, binary W) -> BN -> sign
    -> conv3x3 -> MaxPool2 -> BN -> sign -> conv3x3 -> MaxPool2 -> BN -> sign
    -> flatten -> BinaryLinear -> BN -> logits
    """

    def __init__(self, in_channels: int = 1, image_size: int = 8, channels: Sequence[int] = (32, 64, 64),
                 num_classes: int = 10, weight_mode: str = "latent", ste: str = "clipped",
                 scale: bool = False, real_first: bool = False, real_last: bool = False):
        if len(channels) != 3:
            raise ValueError("channels must list 3 widths (first conv, second conv, third conv)")
        c1, c2, c3 = channels
        side = image_size // 2 // 2
        if side < 1:
            raise ValueError(f"image_size {image_size} is too small for two 2x2 poolings")
        conv = dict(kernel_size=3, padding=1, weight_mode=weight_mode, scale=scale)
        first = nn.Conv2d(in_channels, c1, 3, padding=1, bias=False) if real_first else \
            BinaryConv2d(in_channels, c1, **conv)
        super().__init__(
            first, nn.BatchNorm2d(c1, eps=BN_EPS), SignActivation(ste),
            BinaryConv2d(c1, c2, **conv), nn.MaxPool2d(2), nn.BatchNorm2d(c2, eps=BN_EPS), SignActivation(ste),
            BinaryConv2d(c2, c3, **conv), nn.MaxPool2d(2), nn.BatchNorm2d(c3, eps=BN_EPS), SignActivation(ste),
            nn.Flatten(),
            *classifier(c3 * side * side, num_classes, real_last, weight_mode, scale),
        )


class FloatMLP(nn.Sequential):
    """The float twin of BinaryMLP (Linear -> BN -> ReLU), as an accuracy reference."""

    def __init__(self, in_features: int = 64, hidden: Sequence[int] = (256, 256), num_classes: int = 10):
        layers: list[nn.Module] = []
        width_in = in_features
        for width in hidden:
            layers += [nn.Linear(width_in, width), nn.BatchNorm1d(width), nn.ReLU()]
            width_in = width
        layers.append(nn.Linear(width_in, num_classes))
        super().__init__(*layers)


def classifier(features: int, num_classes: int, real: bool, weight_mode: str = "latent",
               scale: bool = False) -> list[nn.Module]:
    """The last layer: a float32 Linear with bias (real), or BinaryLinear -> BatchNorm1d (BinaryNet)."""
    if real:
        return [nn.Linear(features, num_classes)]
    return [BinaryLinear(features, num_classes, weight_mode=weight_mode, scale=scale),
            nn.BatchNorm1d(num_classes, eps=BN_EPS)]


class _MixedNet(nn.Module):
    """stem -> body -> global average pool -> flatten -> classifier; `agc_parameters` leaves the classifier out."""

    def __init__(self, stem: nn.Module, body: nn.Module, features: int, num_classes: int, real_last: bool,
                 weight_mode: str, head: Sequence[nn.Module] = ()):
        super().__init__()
        self.stem, self.body = stem, body
        self.pool = nn.Sequential(*head, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Sequential(*classifier(features, num_classes, real_last, weight_mode))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.body(self.stem(x))))

    def agc_parameters(self) -> list[nn.Parameter]:
        """Parameters adaptive gradient clipping applies to: all but the classifier's (as in NFNets)."""
        skip = {id(p) for p in self.classifier.parameters()}
        return [p for p in self.parameters() if id(p) not in skip]


def stem(in_channels: int, channels: int, real: bool, weight_mode: str = "latent") -> nn.Sequential:
    """First layer: float32 conv3x3 -> BN (real), or binary-weight conv3x3 on the real input -> BN."""
    conv = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False) if real else \
        BinaryConv2d(in_channels, channels, 3, padding=1, weight_mode=weight_mode)
    return nn.Sequential(conv, nn.BatchNorm2d(channels, eps=BN_EPS))


class BiRealNet(_MixedNet):
    """Bi-Real Net for 8x8: stem(c) -> BiReal(c,c) x2 -> BiReal(c,2c,stride 2) -> BiReal(2c,2c) -> GAP -> FC."""

    def __init__(self, in_channels: int = 1, channels: int = 16, num_classes: int = 10, weight_mode: str = "latent",
                 ste: str = "approx", real_first: bool = True, real_last: bool = True):
        c = channels
        kw = dict(weight_mode=weight_mode, ste=ste)
        body = nn.Sequential(blocks.BiRealBlock(c, c, **kw), blocks.BiRealBlock(c, c, **kw),
                             blocks.BiRealBlock(c, 2 * c, stride=2, **kw), blocks.BiRealBlock(2 * c, 2 * c, **kw))
        super().__init__(stem(in_channels, c, real_first, weight_mode), body, 2 * c, num_classes, real_last,
                         weight_mode)


class ReActNet(_MixedNet):
    """ReActNet-A for 8x8: stem(c) -> React(c,c) -> React(c,2c,stride 2; concat doubling) -> React(2c,2c)
    -> GAP -> FC."""

    def __init__(self, in_channels: int = 1, channels: int = 16, num_classes: int = 10, weight_mode: str = "latent",
                 ste: str = "approx", real_first: bool = True, real_last: bool = True):
        c = channels
        kw = dict(weight_mode=weight_mode, ste=ste)
        body = nn.Sequential(blocks.ReActBlock(c, c, **kw), blocks.ReActBlock(c, 2 * c, stride=2, **kw),
                             blocks.ReActBlock(2 * c, 2 * c, **kw))
        super().__init__(stem(in_channels, c, real_first, weight_mode), body, 2 * c, num_classes, real_last,
                         weight_mode)


class BinaryDenseNet(_MixedNet):
    """BinaryDenseNet for 8x8: stem(c) -> 2 dense layers (growth g) -> transition to c at 4x4 -> 2 dense layers
    -> BN -> ReLU -> GAP -> FC. Channel counts c + k*g are deliberately not multiples of 32 (g = 3c/4)."""

    def __init__(self, in_channels: int = 1, channels: int = 16, num_classes: int = 10, weight_mode: str = "latent",
                 ste: str = "approx", real_first: bool = True, real_last: bool = True, growth: int | None = None):
        c = channels
        g = growth or max(4, 3 * c // 4)
        kw = dict(weight_mode=weight_mode, ste=ste)
        body = nn.Sequential(blocks.DenseLayer(c, g, **kw), blocks.DenseLayer(c + g, g, **kw),
                             blocks.Transition(c + 2 * g, c),
                             blocks.DenseLayer(c, g, **kw), blocks.DenseLayer(c + g, g, **kw))
        out = c + 2 * g
        super().__init__(stem(in_channels, c, real_first, weight_mode), body, out, num_classes, real_last,
                         weight_mode, head=(nn.BatchNorm2d(out, eps=BN_EPS), nn.ReLU()))


class _Bias(nn.Module):
    """A learnable per-channel bias (exports as Add of a constant)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias


class BNFreeReActNet(_MixedNet):
    """BN-free ReActNet-A ("BNN - BN = ?"): ReActNet's layout with no BatchNorm anywhere.

    Stem: scaled-WS conv with bias (real), or a scaled-WS binary conv + bias with real_first=False.
    Blocks: h + alpha * conv(RSign(beta * h)) with scaled-WS binary convs (blocks.ReActBlock(bn_free=True)),
    beta from the expected variance (blocks.nf_betas). Train with adaptive gradient clipping (TrainConfig.agc).
    Inference: Conv (+-alpha_c weights), scalar Mul, Sub/Add of per-channel constants, PRelu, AveragePool, Concat.
    """

    def __init__(self, in_channels: int = 1, channels: int = 16, num_classes: int = 10, weight_mode: str = "latent",
                 ste: str = "approx", real_first: bool = True, real_last: bool = True, alpha: float = 0.2):
        if weight_mode != "latent":
            raise ValueError("the BN-free net standardizes latent weights; train it with Adam, not Bop")
        c = channels
        betas = blocks.nf_betas(3, alpha)
        kw = dict(ste=ste, bn_free=True, alpha=alpha)
        body = nn.Sequential(blocks.ReActBlock(c, c, betas=betas[0], **kw),
                             blocks.ReActBlock(c, 2 * c, stride=2, betas=betas[1], **kw),
                             blocks.ReActBlock(2 * c, 2 * c, betas=betas[2], **kw))
        first = nn.Sequential(blocks.ScaledStdConv2d(in_channels, c, 3, padding=1)) if real_first else \
            nn.Sequential(blocks.BinaryScaledStdConv2d(in_channels, c, 3, padding=1), _Bias(c))
        super().__init__(first, body, 2 * c, num_classes, real_last, weight_mode)


MIXED_ARCHS = {"bireal": BiRealNet, "reactnet": ReActNet, "densenet": BinaryDenseNet, "bnfree": BNFreeReActNet}
