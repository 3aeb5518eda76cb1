"""Train the BinaryNet MLP and the small binary CNN on scikit-learn digits and export them for bnncc.

    python examples/digits/train.py                          # ~1 minute on one CPU core
    python examples/digits/train.py --seed 1 --out /tmp/s1   # another training seed, same test split

Writes, next to this file:
    mlp.onnx, cnn.onnx   legacy-exporter ONNX, batch 1, +-1 weight initializers, BatchNormalization kept,
                         activations as GreaterOrEqual + Where (0 -> +1); output: 10 logits
    inputs.npy           the 20 % held-out test images, float32 (N, 64), pixel / 16 (reshape to
                         (N, 1, 8, 8) for cnn.onnx)
    labels.npy           their labels, int64 (N,)
    metrics.json         test accuracy, the onnxruntime-vs-torch check, and how often a binarizer saw an exact 0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
try:
    import bnncc  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(HERE.parents[1]))

from bnncc.train.data import load_digits_split
from bnncc.train.export import export_onnx, sign_input_zero_fraction
from bnncc.train.trainer import TrainConfig, build_model, model_input, train_model

SEED = 0  # training seed of the shipped models; the test split is always random_state=0

CONFIGS = {
    # Adam on latent weights (clipped to [-1, 1]), cosine-decayed learning rate.
    "mlp": TrainConfig(arch="mlp", optimizer="adam", schedule="cosine", epochs=40, batch_size=64,
                       lr=1e-2, width=256, depth=2, seed=SEED),
    "cnn": TrainConfig(arch="cnn", optimizer="adam", schedule="cosine", epochs=25, batch_size=64,
                       lr=1e-2, width=256, seed=SEED),
}


def train_and_export(name: str, config: TrainConfig, split, out_dir: Path) -> dict:
    torch.manual_seed(config.seed)
    model = build_model(config, split.num_features, split.image_size)
    history = train_model(model, split, config)
    x_test = model_input(split.x_test, config.arch, split.image_size)
    check = export_onnx(model, x_test[:1], out_dir / f"{name}.onnx", dynamo=False, check_inputs=x_test)
    zeros = sign_input_zero_fraction(model, x_test)
    return dict(config=config.to_dict(), test_accuracy=history[-1]["test_acc"],
                history=[round(r["test_acc"], 4) for r in history],
                onnx_check=dict(samples=check.samples, max_abs_diff=check.max_abs_diff,
                                argmax_agree=check.argmax_agree),
                sign_zero_fraction=zeros, parameters=sum(p.numel() for p in model.parameters()))


def main(out_dir: Path = HERE, seed: int = SEED) -> dict:
    torch.set_num_threads(1)
    out_dir.mkdir(parents=True, exist_ok=True)
    split = load_digits_split(seed=0)
    np.save(out_dir / "inputs.npy", split.x_test.astype(np.float32))
    np.save(out_dir / "labels.npy", split.y_test.astype(np.int64))
    metrics = {}
    for name, config in CONFIGS.items():
        metrics[name] = train_and_export(name, dataclasses.replace(config, seed=seed), split, out_dir)
        print(f"{name}: test accuracy {metrics[name]['test_accuracy']:.4f} "
              f"({len(split.y_test)} held-out digits), onnx check {metrics[name]['onnx_check']}, "
              f"exact zeros at binarizers {metrics[name]['sign_zero_fraction']}")
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED, help="training seed (default %(default)s)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: next to this script)")
    args = parser.parse_args()
    main(args.out, args.seed)
