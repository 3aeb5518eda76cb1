"""Shared pieces of the serial studies: run one training configuration, write Markdown tables and plots.

The studies' tables are made by `bnncc sweep examples/studies/sweeps/<name>.json` (results/<name>/); the serial
scripts here (optimizers.py, hyperparams.py, float_vs_binary.py) run the same trainings one after another in one
process and write into results/serial/ (not kept in git). serial_check.py holds the two equal."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "serial"
try:
    import bnncc  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(HERE.parents[1]))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import torch  # noqa: E402

from bnncc.train.data import load_digits_split  # noqa: E402
from bnncc.train.trainer import TrainConfig, build_model, train_model  # noqa: E402

# The reference configuration every study varies one thing of (digits, BinaryNet MLP 64-256-256-10).
BASE = TrainConfig(arch="mlp", optimizer="adam", schedule="cosine", epochs=30, batch_size=64, lr=1e-2,
                   tau=1e-6, gamma=1e-3, sigma=1e-2, width=256, depth=2, seed=0)
OPTIMIZER_DEFAULTS = {
    "adam": dict(optimizer="adam"),
    "bop": dict(optimizer="bop", tau=1e-6, gamma=1e-3),
    "bop2nd": dict(optimizer="bop2nd", tau=1e-3, gamma=1e-3, sigma=1e-2),
    "bop2nd-unbiased": dict(optimizer="bop2nd-unbiased", tau=0.1, gamma=1e-3, sigma=1e-2),
}

_SPLIT = None


def setup() -> None:
    torch.set_num_threads(1)
    RESULTS.mkdir(parents=True, exist_ok=True)


def digits():
    global _SPLIT
    if _SPLIT is None:
        _SPLIT = load_digits_split(seed=0)
    return _SPLIT


def run(config: TrainConfig, **changes) -> dict:
    """Train one configuration; returns the config, per-epoch test accuracy and summary numbers."""
    config = replace(config, **changes)
    split = digits()
    torch.manual_seed(config.seed)
    model = build_model(config, split.num_features, split.image_size)
    start = time.perf_counter()
    history = train_model(model, split, config)
    accs = [r["test_acc"] for r in history]
    return dict(config=config.to_dict(), test_acc=accs, final=accs[-1], best=max(accs),
                epochs_to_95=epochs_to(accs, 0.95), seconds=time.perf_counter() - start,
                parameters=sum(p.numel() for p in model.parameters()))


def epochs_to(accs: list[float], target: float) -> int | None:
    """The first epoch (1-based) whose test accuracy reaches `target`, or None."""
    return next((i + 1 for i, a in enumerate(accs) if a >= target), None)


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def save(name: str, markdown: str, raw: object) -> None:
    (RESULTS / f"{name}.md").write_text(markdown)
    (RESULTS / f"{name}.json").write_text(json.dumps(raw, indent=1) + "\n")
    print(markdown)
