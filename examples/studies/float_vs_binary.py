"""Study (c): a float MLP beside the BinaryNet MLP of the same shape, on digits.

    python examples/studies/float_vs_binary.py     # about 1 minute on one core

Same hidden widths, same Adam + cosine schedule, 30 epochs, seeds 0-2. Reports accuracy and weight storage:
float32 weights take 32 bits each (BatchNorm folded into weights and biases), binary weights 1 bit packed in 32-bit words per
output row (BatchNorm folds into per-channel thresholds in bnncc: one int32 per hidden channel, two floats
per output; the same total `bnncc inspect` prints). Writes
results/serial/float_vs_binary.{md,json,png}.
"""

from __future__ import annotations

import statistics

import matplotlib.pyplot as plt

from common import BASE, RESULTS, markdown_table, pct, run, save, setup

WIDTHS = (64, 256)
SEEDS = (0, 1, 2)
FLOAT_LR = 3e-3


def weight_bytes(arch: str, width: int, depth: int = 2, inputs: int = 64, classes: int = 10) -> int:
    dims = [inputs] + [width] * depth + [classes]
    weights = sum(a * b for a, b in zip(dims, dims[1:]))
    if arch == "float-mlp":
        return 4 * (weights + sum(dims[1:]))   # float32 weights and biases (BatchNorm folded into them)
    packed = sum(b * ((a + 31) // 32) * 4 for a, b in zip(dims, dims[1:]))  # 32-bit words per output row
    return packed + 4 * width * depth + 8 * classes


def main() -> None:
    setup()
    results = {}
    for width in WIDTHS:
        results[f"binary-{width}"] = [run(BASE, width=width, seed=s) for s in SEEDS]
        results[f"float-{width}"] = [run(BASE, arch="float-mlp", lr=FLOAT_LR, width=width, seed=s) for s in SEEDS]
    rows = []
    for name, runs in results.items():
        arch, width = ("float-mlp" if name.startswith("float") else "mlp"), int(name.split("-")[1])
        finals = [r["final"] for r in runs]
        rows.append([name, f"64-{width}-{width}-10", pct(statistics.mean(finals)),
                     f"{pct(min(finals))} - {pct(max(finals))}", " / ".join(str(r["epochs_to_95"] or "-")
                                                                           for r in runs),
                     f"{weight_bytes(arch, width) / 1024:.1f}"])
    md = ["# Float MLP vs BinaryNet MLP on digits\n",
          f"Adam (binary: lr {BASE.lr:g} on latent weights clipped to [-1, 1]; float: lr {FLOAT_LR:g}), cosine "
          f"schedule, batch {BASE.batch_size}, {BASE.epochs} epochs, seeds {', '.join(map(str, SEEDS))}, held-out "
          "20 % (360 digits). Deployed size: float32 weights vs 1-bit packed weights plus per-channel "
          "thresholds.\n",
          markdown_table(["model", "shape", "final acc % (mean)", "range", "epochs to 95 % (per seed)",
                          "deployed parameters KiB"], rows)]
    save("float_vs_binary", "\n".join(md), results)
    plot(results)


def plot(results: dict) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, runs in results.items():
        n = len(runs[0]["test_acc"])
        mean = [statistics.mean(r["test_acc"][i] for r in runs) for i in range(n)]
        ax.plot(range(1, n + 1), [100 * a for a in mean], label=name, ls="--" if "float" in name else "-")
    ax.set(xlabel="epoch", ylabel="test accuracy % (mean of 3 seeds)", ylim=(85, 100),
           title="digits: float MLP vs BinaryNet MLP")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "float_vs_binary.png", dpi=120)


if __name__ == "__main__":
    main()
