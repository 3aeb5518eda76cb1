"""The planned arena against the peak of live tensor bytes (a lower bound for any plan), on random DAGs."""

import tempfile
from pathlib import Path

import numpy as np
import onnx

from bnncc import ir
from bnncc.arena_stats import arena_stats, check_plan, lifetimes
from bnncc.compiler import lower_model
from tests.helpers.onnx_models import cnn, mlp
from tests.helpers.random_dags import random_dag

TARGET_RATIO = 1.15
DAGS = 200


def _lower(model: onnx.ModelProto) -> ir.Graph:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        onnx.save(model, path)
        return lower_model(path)


def test_arena_within_15_percent_of_peak_live_bytes_on_random_dags():
    ratios = []
    for seed in range(DAGS):
        graph = _lower(random_dag(seed))
        assert check_plan(graph) == [], f"seed {seed}"
        stats = arena_stats(graph)
        assert stats.peak_live_bytes <= stats.arena_bytes, f"seed {seed}: {stats}"  # it is a lower bound
        assert stats.ratio <= TARGET_RATIO, f"seed {seed}: {stats}"
        ratios.append(stats.ratio)
    print(f"arena / peak live bytes over {DAGS} random DAGs: mean {np.mean(ratios):.3f}, "
          f"max {np.max(ratios):.3f}")


def test_stack_models():
    for model in (mlp(seed=1), cnn(seed=1)):
        graph = _lower(model)
        assert check_plan(graph) == []
        assert arena_stats(graph).ratio <= TARGET_RATIO


def test_check_plan_catches_an_overlap():
    graph = _lower(random_dag(113))  # a shortcut: averagepool_9 stays live across a block
    spans = lifetimes(graph)
    a, b = next((a, b) for a in spans for b in spans
                if a < b and spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]
                and graph.arena[a] != graph.arena[b])
    graph.arena = {**graph.arena, b: graph.arena[a]}
    assert any("overlaps" in p for p in check_plan(graph))
