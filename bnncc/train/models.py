"""Reference models: BinaryNet-style MLP, a small binary CNN, and a float MLP for comparison.

Both binary models follow BinaryNet: the first layer takes the real input with binary weights; every hidden
block is binary layer -> [MaxPool] -> BatchNorm -> sign; the last block is a binary layer -> BatchNorm giving
real logits (no softmax: cross-entropy is applied by the loss; the exported model outputs logits).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from bnncc.train.layers import BinaryConv2d, BinaryLinear, SignActivation

BN_EPS = 1e-4  # BinaryNet's value; kept small so BN folds into thresholds with little float slack


class BinaryMLP(nn.Sequential):
    """in_features reals -> [BinaryLinear -> BN -> sign] * len(hidden) -> BinaryLinear -> BN -> logits."""

    def __init__(self, in_features: int = 64, hidden: Sequence[int] = (256, 256), num_classes: int = 10,
                 weight_mode: str = "latent", ste: str = "clipped", scale: bool = False):
        layers: list[nn.Module] = []
        width_in = in_features
        for width in hidden:
            layers += [
                BinaryLinear(width_in, width, weight_mode=weight_mode, scale=scale),
                nn.BatchNorm1d(width, eps=BN_EPS),
                SignActivation(ste),
            ]
            width_in = width
        layers += [
            BinaryLinear(width_in, num_classes, weight_mode=weight_mode, scale=scale),
            nn.BatchNorm1d(num_classes, eps=BN_EPS),
        ]
        super().__init__(*layers)


class BinaryCNN(nn.Sequential):
    """Small binary CNN for square single-channel images (8x8 digits, 28x28 MNIST).

    conv3x3(real input, binary W) -> BN -> sign
    -> conv3x3 -> MaxPool2 -> BN -> sign -> conv3x3 -> MaxPool2 -> BN -> sign
    -> flatten -> BinaryLinear -> BN -> logits
    """

    def __init__(self, in_channels: int = 1, image_size: int = 8, channels: Sequence[int] = (32, 64, 64),
                 num_classes: int = 10, weight_mode: str = "latent", ste: str = "clipped",
                 scale: bool = False):
        if len(channels) != 3:
            raise ValueError("channels must list 3 widths (first conv, second conv, third conv)")
        c1, c2, c3 = channels
        side = image_size // 2 // 2
        if side < 1:
            raise ValueError(f"image_size {image_size} is too small for two 2x2 poolings")
        conv = dict(kernel_size=3, padding=1, weight_mode=weight_mode, scale=scale)
        super().__init__(
            BinaryConv2d(in_channels, c1, **conv), nn.BatchNorm2d(c1, eps=BN_EPS), SignActivation(ste),
            BinaryConv2d(c1, c2, **conv), nn.MaxPool2d(2), nn.BatchNorm2d(c2, eps=BN_EPS), SignActivation(ste),
            BinaryConv2d(c2, c3, **conv), nn.MaxPool2d(2), nn.BatchNorm2d(c3, eps=BN_EPS), SignActivation(ste),
            nn.Flatten(),
            BinaryLinear(c3 * side * side, num_classes, weight_mode=weight_mode, scale=scale),
            nn.BatchNorm1d(num_classes, eps=BN_EPS),
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
