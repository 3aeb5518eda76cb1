"""Study (a): Adam on latent weights vs Bop vs Bop2ndOrder (biased, unbiased) on the digits MLP.

    python examples/studies/optimizers.py      # about 1.5 minutes on one core

Writes results/serial/optimizers.{md,json,png}: per-epoch test accuracy (seeds 0-2), epochs to reach 95 %,
and the sensitivity of each Bop variant over a 3 x 3 grid of (tau, gamma).
"""

from __future__ import annotations

import statistics

import matplotlib.pyplot as plt

from common import BASE, OPTIMIZER_DEFAULTS, RESULTS, markdown_table, pct, run, save, setup

SEEDS = (0, 1, 2)
GRID_EPOCHS = 15
GRIDS = {
    "bop": dict(tau=(1e-7, 1e-6, 1e-5), gamma=(1e-4, 1e-3, 1e-2)),
    "bop2nd": dict(tau=(1e-4, 1e-3, 1e-2), gamma=(1e-4, 1e-3, 1e-2)),
    "bop2nd-unbiased": dict(tau=(0.01, 0.1, 0.5), gamma=(1e-4, 1e-3, 1e-2)),
}


def main() -> None:
    setup()
    curves = {name: [run(BASE, seed=seed, **opts) for seed in SEEDS]
              for name, opts in OPTIMIZER_DEFAULTS.items()}
    rows = []
    for name, runs in curves.items():
        finals = [r["final"] for r in runs]
        reach = [r["epochs_to_95"] for r in runs]
        hp = {k: v for k, v in OPTIMIZER_DEFAULTS[name].items() if k != "optimizer"}
        rows.append([name, ", ".join(f"{k}={v:g}" for k, v in hp.items()) or f"lr={BASE.lr:g}",
                     pct(statistics.mean(finals)), f"{pct(min(finals))} - {pct(max(finals))}",
                     pct(statistics.mean(r["best"] for r in runs)),
                     " / ".join("-" if e is None else str(e) for e in reach),
                     f"{statistics.mean(r['seconds'] for r in runs):.1f}"])
    md = ["# Optimizer comparison on digits (BinaryNet MLP 64-256-256-10)\n",
          f"{BASE.epochs} epochs, batch {BASE.batch_size}, cosine schedule (Adam lr {BASE.lr:g} and Bop gamma "
          "decay to 1 %), Adam on the real parameters for the Bop variants, held-out 20 % (360 digits), "
          f"seeds {', '.join(map(str, SEEDS))}.\n",
          markdown_table(["optimizer", "hyper-parameters", "final acc % (mean)", "final range",
                          "best-epoch acc % (mean)", "epochs to 95 % (per seed)", "s / run"], rows),
          "\n## Test accuracy % per epoch (mean of the seeds)\n",
          per_epoch_table(curves)]

    grids = {}
    for name, grid in GRIDS.items():
        base = dict(OPTIMIZER_DEFAULTS[name])
        table = {}
        for tau in grid["tau"]:
            for gamma in grid["gamma"]:
                result = run(BASE, epochs=GRID_EPOCHS, **{**base, "tau": tau, "gamma": gamma})
                table[(tau, gamma)] = result["final"]
        grids[name] = table
        md.append(f"\n## {name}: final accuracy % after {GRID_EPOCHS} epochs over tau x gamma (seed 0)\n")
        md.append(markdown_table(["tau \\ gamma"] + [f"{g:g}" for g in grid["gamma"]],
                                 [[f"{t:g}"] + [pct(table[(t, g)]) for g in grid["gamma"]]
                                  for t in grid["tau"]]))
    save("optimizers", "\n".join(md),
         dict(curves=curves, grids={n: {f"{t:g},{g:g}": a for (t, g), a in tab.items()}
                                    for n, tab in grids.items()}))
    plot(curves)


def per_epoch_table(curves: dict, every: int = 3) -> str:
    epochs = len(next(iter(curves.values()))[0]["test_acc"])
    shown = sorted({1, 2, *range(every, epochs + 1, every), epochs})
    rows = [[name] + [pct(statistics.mean(r["test_acc"][e - 1] for r in runs)) for e in shown]
            for name, runs in curves.items()]
    return markdown_table(["optimizer \\ epoch"] + [str(e) for e in shown], rows)


def plot(curves: dict) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, runs in curves.items():
        epochs = range(1, len(runs[0]["test_acc"]) + 1)
        mean = [statistics.mean(r["test_acc"][i] for r in runs) for i in range(len(epochs))]
        ax.plot(epochs, [100 * a for a in mean], label=name)
    ax.axhline(95, color="grey", lw=0.8, ls="--")
    ax.set(xlabel="epoch", ylabel="test accuracy % (mean of 3 seeds)", ylim=(85, 100),
           title="digits, BinaryNet MLP: latent-weight Adam vs Bop variants")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(RESULTS / "optimizers.png", dpi=120)


if __name__ == "__main__":
    main()
