"""PyTorch side of bnncc: binary layers, Bop / PBop optimizers, models, ONNX export, data, and the `train`
and `sweep` commands.

`import bnncc` never imports this package, and importing `bnncc.train` itself does not import torch either:
the names below are loaded on first use (PEP 562), so `from bnncc.train import Bop` works and
`bnncc --help` stays fast.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "BinaryLinear": "layers", "BinaryConv2d": "layers", "SignActivation": "layers",
    "clip_latent_weights": "layers", "deploy_copy": "layers", "weight_parameters": "layers",
    "sign_ste": "ste", "ste_derivative": "ste",
    "set_stochastic": "layers",
    "Bop": "optim", "Bop2ndOrder": "optim", "PBop": "optim", "split_parameters": "optim",
    "make_schedule": "schedules", "apply_schedules": "schedules", "parse_schedule": "schedules",
    "BinaryMLP": "models", "BinaryCNN": "models", "FloatMLP": "models",
    "export_onnx": "export", "sign_input_zero_fraction": "export",
    "load_digits_split": "data", "load_mnist": "data", "read_idx": "data",
    "TrainConfig": "trainer", "build_model": "trainer", "train_model": "trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'bnncc.train' has no attribute '{name}'")
    return getattr(importlib.import_module(f"bnncc.train.{_EXPORTS[name]}"), name)
