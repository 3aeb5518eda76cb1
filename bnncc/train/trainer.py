"""The training loop shared by the `bnncc train` command, the digits example and the studies."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bnncc.train.blocks import adaptive_gradient_clip
from bnncc.train.data import Split
from bnncc.train.layers import clip_latent_weights
from bnncc.train.models import MIXED_ARCHS, BinaryCNN, BinaryMLP, FloatMLP
from bnncc.train.optim import Bop, Bop2ndOrder, split_parameters
from bnncc.train.schedules import apply_schedules, make_schedule

ARCHS = ("mlp", "cnn", "float-mlp", *MIXED_ARCHS)
IMAGE_ARCHS = ("cnn", *MIXED_ARCHS)  # take (N, 1, S, S) images rather than flat features
OPTIMIZERS = ("adam", "bop", "bop2nd", "bop2nd-unbiased")


@dataclass
class TrainConfig:
    arch: str = "mlp"
    optimizer: str = "adam"
    schedule: str = "constant"
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-2          # Adam: latent weights (adam) or only the real parameters (bop*)
    tau: float = 1e-6         # Bop threshold
    gamma: float = 1e-3       # Bop adaptivity rate
    sigma: float = 1e-2       # Bop2ndOrder second-moment rate
    width: int = 256          # MLP hidden width; CNN: channels (width/8, width/4, width/4)
    depth: int = 2            # MLP hidden layers
    ste: str = "clipped"     # activation STE: identity | clipped | approx | swish
    scale: bool = False       # XNOR-Net per-output-channel weight scale (latent weights only)
    seed: int = 0
    real_first: bool | None = None  # float32 first layer; None: the arch's default (mlp/cnn no, mixed archs yes)
    real_last: bool | None = None   # float32 last layer (classifier); None: as real_first
    agc: float = 0.0          # adaptive gradient clipping factor lambda (0: off; the BN-free net uses it)

    def to_dict(self) -> dict:
        return asdict(self)


def uses_bop(config: TrainConfig) -> bool:
    return config.optimizer.startswith("bop")


def cnn_channels(width: int) -> tuple[int, int, int]:
    return (max(8, width // 8), max(8, width // 4), max(8, width // 4))


def mixed_channels(width: int) -> int:
    """Stem width of the mixed-precision nets: width/16 (16 at the default width 256)."""
    return max(4, width // 16)


def build_model(config: TrainConfig, num_features: int, image_size: int, num_classes: int = 10) -> nn.Module:
    weight_mode = "binary" if uses_bop(config) else "latent"
    mixed = config.arch in MIXED_ARCHS
    real_first = mixed if config.real_first is None else config.real_first
    real_last = real_first if config.real_last is None else config.real_last
    if config.arch == "mlp":
        return BinaryMLP(num_features, [config.width] * config.depth, num_classes, weight_mode=weight_mode,
                         ste=config.ste, scale=config.scale, real_first=real_first, real_last=real_last)
    if config.arch == "cnn":
        return BinaryCNN(1, image_size, cnn_channels(config.width), num_classes, weight_mode=weight_mode,
                         ste=config.ste, scale=config.scale, real_first=real_first, real_last=real_last)
    if mixed:
        return MIXED_ARCHS[config.arch](1, mixed_channels(config.width), num_classes, weight_mode=weight_mode,
                                        ste=config.ste, real_first=real_first, real_last=real_last)
    if config.arch == "float-mlp":
        return FloatMLP(num_features, [config.width] * config.depth, num_classes)
    raise ValueError(f"unknown arch '{config.arch}', expected one of {ARCHS}")


def model_input(x: np.ndarray | torch.Tensor, arch: str, image_size: int) -> torch.Tensor:
    """Flat (N, F) features -> the model's input layout ((N, 1, S, S) for the CNN)."""
    t = torch.as_tensor(x, dtype=torch.float32)
    if arch in IMAGE_ARCHS:
        return t.reshape(len(t), 1, image_size, image_size)
    return t


def build_optimizers(model: nn.Module, config: TrainConfig):
    """[(optimizer, {hyper-parameter: schedule})]: Adam alone, or Bop* on binary weights + Adam on the rest."""
    def sched(initial: float):
        return make_schedule(config.schedule, initial, config.epochs)

    if not uses_bop(config):
        adam = torch.optim.Adam(model.parameters(), lr=config.lr)
        return [(adam, {"lr": sched(config.lr)})]
    binary, real = split_parameters(model)
    if config.optimizer == "bop":
        bop = Bop(binary, threshold=config.tau, gamma=config.gamma)
    elif config.optimizer in ("bop2nd", "bop2nd-unbiased"):
        bop = Bop2ndOrder(binary, threshold=config.tau, gamma=config.gamma, sigma=config.sigma,
                          bias_correction=config.optimizer == "bop2nd-unbiased")
    else:
        raise ValueError(f"unknown optimizer '{config.optimizer}', expected one of {OPTIMIZERS}")
    adam = torch.optim.Adam(real, lr=config.lr)
    return [(bop, {"gamma": sched(config.gamma)}), (adam, {"lr": sched(config.lr)})]


def _agc_parameters(model: nn.Module) -> list[nn.Parameter]:
    agc_parameters = getattr(model, "agc_parameters", None)
    return agc_parameters() if agc_parameters is not None else list(model.parameters())


EVAL_CHUNK = 1024  # samples per forward pass when evaluating (MNIST CNN activations would not fit at once)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    correct = sum(int((model(x[i:i + EVAL_CHUNK]).argmax(dim=1) == y[i:i + EVAL_CHUNK]).sum())
                  for i in range(0, len(x), EVAL_CHUNK))
    return correct / len(x)


def train_model(model: nn.Module, split: Split, config: TrainConfig,
                on_epoch: Callable[[dict], None] | None = None, progress: bool = False) -> list[dict]:
    """Train with cross-entropy; returns one record per epoch: epoch, loss, train_acc, test_acc, seconds."""
    torch.manual_seed(config.seed)
    x_train = model_input(split.x_train, config.arch, split.image_size)
    y_train = torch.as_tensor(split.y_train)
    x_test = model_input(split.x_test, config.arch, split.image_size)
    y_test = torch.as_tensor(split.y_test)
    optimizers = build_optimizers(model, config)
    generator = torch.Generator().manual_seed(config.seed)
    history = []
    steps_per_epoch = (len(x_train) + config.batch_size - 1) // config.batch_size
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=config.epochs * steps_per_epoch, unit="batch", leave=False)
    for epoch in range(config.epochs):
        start = time.perf_counter()
        for optimizer, schedules in optimizers:
            apply_schedules(optimizer, schedules, epoch)
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total_loss = 0.0
        for begin in range(0, len(order), config.batch_size):
            idx = order[begin:begin + config.batch_size]
            if len(idx) < 2:  # BatchNorm needs more than one sample per batch
                continue
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            for optimizer, _ in optimizers:
                optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.agc > 0:
                adaptive_gradient_clip(_agc_parameters(model), config.agc)
            for optimizer, _ in optimizers:
                optimizer.step()
            clip_latent_weights(model)
            total_loss += loss.item() * len(idx)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
        record = dict(epoch=epoch + 1, loss=total_loss / len(x_train),
                      train_acc=accuracy(model, x_train, y_train), test_acc=accuracy(model, x_test, y_test),
                      seconds=time.perf_counter() - start)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    if bar is not None:
        bar.close()
    model.eval()
    return history
