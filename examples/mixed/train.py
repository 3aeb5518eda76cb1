"""Train tiny Bi-Real, ReActNet, BinaryDenseNet and BN-free ReActNet models on scikit-learn digits for bnncc.

    OMP_NUM_THREADS=1 nice python examples/mixed/train.py          # ~10 minutes on two CPU cores

Writes, next to this file:
    bireal.onnx, densenet.onnx, bnfree.onnx   legacy (TorchScript) exporter, opset 13, BatchNormalization kept
    reactnet.onnx + reactnet.onnx.data        default dynamo exporter, opset 18, BatchNorm folded into the
                                              convs, weights in the external-data file
    metrics.json                              per model: held-out accuracy of the shipped model (seed 0), the
                                              onnxruntime-vs-torch check, parameters and file size, and the
                                              accuracies of a rerun with seeds 0, 1, 2 (mean and spread)

Every model takes (1, 1, 8, 8) float32 pixels / 16 (examples/digits/inputs.npy reshaped) and returns 10 logits.
The 360 held-out digits are the fixed split of examples/digits (random_state=0); the seed changes only the
initialization and the batch order. The last digit of an accuracy can differ between CPUs (float sums).
"""

from __future__ import annotations

import json
import os
import sys
from multiprocessing import get_context
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
try:
    import bnncc  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(HERE.parents[1]))

SEEDS = (0, 1, 2)
SHIPPED_SEED = 0
DYNAMO = {"reactnet"}  # exported through torch's default (dynamo) exporter, with external data
WIDTH = 192            # stem of 12 channels (width / 16): keeps every ONNX file under 64 KiB


def config_for(arch: str, seed: int):
    from bnncc.train.trainer import TrainConfig

    return TrainConfig(arch=arch, optimizer="adam", schedule="cosine", epochs=20, batch_size=64, lr=1e-2,
                       width=WIDTH, ste="approx", seed=seed, agc=0.1 if arch == "bnfree" else 0.0)


def run(job: tuple[str, int, str]) -> dict:
    arch, seed, out_dir = job
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    from bnncc.train.data import load_digits_split
    from bnncc.train.export import export_onnx, sign_input_zero_fraction
    from bnncc.train.trainer import build_model, model_input, train_model

    torch.set_num_threads(1)
    split = load_digits_split(seed=0)  # the fixed held-out split of examples/digits
    config = config_for(arch, seed)
    torch.manual_seed(seed)
    model = build_model(config, split.num_features, split.image_size)
    history = train_model(model, split, config)
    result = dict(arch=arch, seed=seed, test_accuracy=history[-1]["test_acc"])
    if seed == SHIPPED_SEED:
        x_test = model_input(split.x_test, arch, split.image_size)
        path = Path(out_dir) / f"{arch}.onnx"
        dynamo = arch in DYNAMO
        check = export_onnx(model, x_test[:1], path, dynamo=dynamo, external_data=dynamo, check_inputs=x_test)
        data = path.with_name(path.name + ".data")
        result.update(config=config.to_dict(), exporter="dynamo" if dynamo else "legacy",
                      history=[round(r["test_acc"], 4) for r in history],
                      onnx_check=dict(samples=check.samples, max_abs_diff=check.max_abs_diff,
                                      argmax_agree=check.argmax_agree),
                      sign_zero_fraction=sign_input_zero_fraction(model, x_test),
                      parameters=sum(p.numel() for p in model.parameters()),
                      onnx_bytes=path.stat().st_size + (data.stat().st_size if data.exists() else 0))
    print(f"{arch} seed {seed}: test accuracy {result['test_accuracy']:.4f}", flush=True)
    return result


def main(out_dir: Path = HERE, archs=("bireal", "reactnet", "densenet", "bnfree"), seeds=SEEDS,
         processes: int = 2) -> dict:
    jobs = [(arch, seed, str(out_dir)) for seed in seeds for arch in archs]
    with get_context("spawn").Pool(processes) as pool:
        results = pool.map(run, jobs, chunksize=1)
    metrics = {}
    for arch in archs:
        runs = [r for r in results if r["arch"] == arch]
        shipped = next(r for r in runs if r["seed"] == SHIPPED_SEED)
        accs = np.array([r["test_accuracy"] for r in runs])
        entry = {k: v for k, v in shipped.items() if k not in ("arch", "seed")}
        entry["rerun"] = dict(seeds=list(seeds), test_accuracy=[float(a) for a in accs],
                              mean=float(accs.mean()), std=float(accs.std()),
                              min=float(accs.min()), max=float(accs.max()))
        metrics[arch] = entry
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


if __name__ == "__main__":
    main()
