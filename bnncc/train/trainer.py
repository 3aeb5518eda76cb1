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
from bnncc.train.layers import clip_latent_weights, set_stochastic
from bnncc.train.models import MIXED_ARCHS, BinaryCNN, BinaryMLP, FloatMLP
from bnncc.train.optim import Bop, Bop2ndOrder, PBop, split_parameters
from bnncc.train.schedules import apply_schedules, make_schedule, parse_schedule

ARCHS = ("mlp", "cnn", "float-mlp", *MIXED_ARCHS)
IMAGE_ARCHS = ("cnn", *MIXED_ARCHS)  # take (N, 1, S, S) images rather than flat features
OPTIMIZERS = ("adam", "bop", "bop2nd", "bop2nd-unbiased", "pbop")
STOCHASTIC = ("off", "weights", "all")  # stochastic binarization in training: none, weights, weights + activations


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
    eta: float = 1.0          # PBop logit step size
    theta_max: float | None = None  # PBop logit clamp (None: none)
    stochastic: str = "off"   # off | weights | all (weights and activations), training only
    schedules: dict | None = None   # per hyper-parameter schedules {"tau": "cosine:1e-3:1e-5", ...}

    def to_dict(self) -> dict:
        return asdict(self)


def uses_bop(config: TrainConfig) -> bool:
    """True for the optimizers of binary (non-latent) weights: Bop, Bop2ndOrder and PBop."""
    return config.optimizer.startswith("bop") or config.optimizer == "pbop"


def build_model(config: TrainConfig, num_features: int, image_size: int, num_classes: int = 10) -> nn.Module:
    """The architecture of `config` with its weight mode (PBop: logits) and stochastic binarization set."""
    if config.stochastic not in STOCHASTIC:
        raise ValueError(f"unknown stochastic mode '{config.stochastic}', expected one of {STOCHASTIC}")
    model = _build_arch(config, num_features, image_size, num_classes)
    if config.optimizer == "pbop":
        from bnncc.train.layers import PBOP_INIT, _BinaryWeightMixin

        with torch.no_grad():   # the arch was built with +-1 weights; theta = PBOP_INIT * w
            for module in model.modules():
                if isinstance(module, _BinaryWeightMixin) and module.weight_mode == "binary":
                    module.weight.mul_(PBOP_INIT)
                    module.weight_mode = "pbop"
    return set_stochastic(model, weights=config.stochastic != "off", activations=config.stochastic == "all")


def cnn_channels(width: int) -> tuple[int, int, int]:
    return (max(8, width // 8), max(8, width // 4), max(8, width // 4))


def mixed_channels(width: int) -> int:
    """Stem width of the mixed-precision nets: width/16 (16 at the default width 256)."""
    return max(4, width // 16)


def _build_arch(config: TrainConfig, num_features: int, image_size: int, num_classes: int = 10) -> nn.Module:
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


# Hyper-parameter names on the command line -> the param-group key of the optimizer that holds them
SCHEDULABLE = {"lr": "lr", "gamma": "gamma", "sigma": "sigma", "tau": "threshold", "eta": "eta"}


def build_optimizers(model: nn.Module, config: TrainConfig):
    """[(optimizer, {group key: schedule})]: Adam alone, or Bop* / PBop on binary weights + Adam on the rest.

    `config.schedule` (a kind) schedules the Adam lr and Bop's / PBop's gamma from their configured values to
    1 %; `config.schedules` {name: spec} overrides or adds one hyper-parameter each (see SCHEDULABLE)."""
    def sched(initial: float):
        return make_schedule(config.schedule, initial, config.epochs)

    if not uses_bop(config):
        adam = torch.optim.Adam(model.parameters(), lr=config.lr)
        result = [(adam, {"lr": sched(config.lr)})]
    else:
        binary, real = split_parameters(model)
        if config.optimizer == "bop":
            bop = Bop(binary, threshold=config.tau, gamma=config.gamma)
        elif config.optimizer in ("bop2nd", "bop2nd-unbiased"):
            bop = Bop2ndOrder(binary, threshold=config.tau, gamma=config.gamma, sigma=config.sigma,
                              bias_correction=config.optimizer == "bop2nd-unbiased")
        elif config.optimizer == "pbop":
            bop = PBop(binary, eta=config.eta, gamma=config.gamma, theta_max=config.theta_max)
        else:
            raise ValueError(f"unknown optimizer '{config.optimizer}', expected one of {OPTIMIZERS}")
        adam = torch.optim.Adam(real, lr=config.lr)
        result = [(bop, {"gamma": sched(config.gamma)}), (adam, {"lr": sched(config.lr)})]
    for name, spec in (config.schedules or {}).items():
        if name not in SCHEDULABLE:
            raise ValueError(f"cannot schedule '{name}': expected one of {tuple(SCHEDULABLE)}")
        key = SCHEDULABLE[name]
        owner = next((i for i, (opt, _) in enumerate(result) if key in opt.param_groups[0]), None)
        if owner is None or (name == "gamma" and config.optimizer == "adam"):
            raise ValueError(f"optimizer {config.optimizer} has no hyper-parameter '{name}' to schedule")
        result[owner][1][key] = parse_schedule(spec, getattr(config, name), config.epochs)
    return result


def hyper_parameters(optimizers) -> dict:
    """The current scheduled values, by command-line name: recorded in every epoch's history entry."""
    names = {key: name for name, key in SCHEDULABLE.items()}
    return {names[key]: opt.param_groups[0][key] for opt, schedules in optimizers for key in schedules}


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
                      seconds=time.perf_counter() - start, hyper_parameters=hyper_parameters(optimizers))
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    if bar is not None:
        bar.close()
    model.eval()
    return history
