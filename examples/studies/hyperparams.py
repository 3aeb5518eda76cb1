"""Study (b): schedule, batch size, initial learning rate and width of the digits BinaryNet MLP.

    python examples/studies/hyperparams.py     # about 1.5 minutes on one core

One factor at a time around the reference (Adam on latent weights, cosine, batch 64, lr 1e-2, width 256,
30 epochs, seed 0); the schedule comparison is also run for Bop. Writes results/serial/hyperparams.{md,json,png}.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from common import BASE, OPTIMIZER_DEFAULTS, RESULTS, markdown_table, pct, run, save, setup

FACTORS = {
    "schedule": ("constant", "step", "cosine"),
    "batch_size": (32, 64, 128, 256),
    "lr": (1e-3, 3e-3, 1e-2, 3e-2),
    "width": (32, 64, 128, 256, 512),
}


def main() -> None:
    setup()
    results = {factor: [run(BASE, **{factor: value}) for value in values] for factor, values in FACTORS.items()}
    results["schedule (bop)"] = [run(BASE, schedule=s, **OPTIMIZER_DEFAULTS["bop"]) for s in FACTORS["schedule"]]
    md = ["# Hyper-parameter study on digits (BinaryNet MLP, one factor at a time)\n",
          f"Reference: Adam on latent weights, cosine schedule, batch {BASE.batch_size}, lr {BASE.lr:g}, "
          f"width {BASE.width} (2 hidden layers), {BASE.epochs} epochs, seed {BASE.seed}. "
          "Held-out 20 % of digits (360 images). 'last-5 mean' averages the final five epochs, a steadier "
          "figure than the last epoch alone.\n"]
    for factor, runs in results.items():
        key = "schedule" if factor.startswith("schedule") else factor
        md.append(f"\n## {factor}\n")
        md.append(markdown_table(
            [key, "final acc %", "last-5 mean %", "best %", "epochs to 95 %", "params", "s / run"],
            [[r["config"][key], pct(r["final"]), pct(sum(r["test_acc"][-5:]) / 5), pct(r["best"]),
              r["epochs_to_95"] or "-", r["parameters"], f"{r['seconds']:.1f}"] for r in runs]))
    save("hyperparams", "\n".join(md), results)
    plot(results)


def plot(results: dict) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for ax, factor in zip(axes.flat, ("schedule", "batch_size", "lr", "width")):
        for r in results[factor]:
            ax.plot(range(1, len(r["test_acc"]) + 1), [100 * a for a in r["test_acc"]],
                    label=f"{factor}={r['config'][factor]}")
        ax.set(xlabel="epoch", ylabel="test accuracy %", ylim=(80, 100), title=factor)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("digits BinaryNet MLP, Adam on latent weights")
    fig.tight_layout()
    fig.savefig(RESULTS / "hyperparams.png", dpi=110)


if __name__ == "__main__":
    main()
