"""Planned arena over the peak of live tensor bytes (a lower bound for any plan) on random mixed-precision
DAGs (tests/helpers/random_dags.py). Run from the repository root:

    python3 examples/bench/arena_ratio.py [count]
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bnncc.arena_stats import arena_stats, check_plan  # noqa: E402
from bnncc.compiler import lower_model  # noqa: E402
from tests.helpers.random_dags import random_dag  # noqa: E402


def main(count: int) -> None:
    ratios, arenas = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        for seed in range(count):
            onnx.save(random_dag(seed), path)
            graph = lower_model(path)
            problems = check_plan(graph)
            if problems:
                raise SystemExit(f"seed {seed}: unsafe plan: {problems[0]}")
            stats = arena_stats(graph)
            ratios.append(stats.ratio)
            arenas.append(stats.arena_bytes)
    ratios = np.array(ratios)
    print(f"{count} random DAGs, arena {min(arenas)}..{max(arenas)} B: arena / peak live bytes "
          f"mean {ratios.mean():.3f}, median {np.median(ratios):.3f}, max {ratios.max():.3f}; "
          f"exactly at the bound: {int(np.sum(ratios == 1.0))}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
