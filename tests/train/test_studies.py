"""Every kind of model the studies train (examples/studies/sweeps/*.json) exports, compiles and verifies on host.

A kind is what shapes the exported graph: architecture, weight training (latent / Bop / PBop), stochastic
binarization, XNOR scaling, real first/last layers, exporter. One model of each, trained for one epoch at a small
width, goes through `bnncc train --verify` (the C on the host against onnxruntime). The kinds are read from the
sweep files, so a study that adds a kind is covered without touching this test.
"""

import itertools
import json
from pathlib import Path

import pytest

from tests.helpers.tools import require_tools

pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from bnncc.train.cli import train_command  # noqa: E402
from bnncc.train.sweep import grid_of, load_spec, train_args, trial_options  # noqa: E402

SWEEPS = Path(__file__).resolve().parents[2] / "examples" / "studies" / "sweeps"
KIND_KEYS = ("arch", "optimizer", "stochastic", "xnor_scale", "real_first", "real_last", "dynamo", "external_data")
SMALL_WIDTH = {"mlp": 16, "float-mlp": 16, "cnn": 32}  # the mixed nets: 64 (a stem of 4 channels)


def study_kinds() -> dict[str, dict]:
    """{kind label: the options that make it} over every trial of every study."""
    kinds = {}
    for path in sorted(SWEEPS.glob("*.json")):
        spec = load_spec(path)
        grid = grid_of(spec)
        for combo in itertools.product(*grid.values()):
            options = trial_options(spec, dict(zip(grid, combo)))
            options = {"arch": "mlp", "optimizer": "adam", "stochastic": "off", **options}
            kind = {k: options[k] for k in KIND_KEYS if k in options}
            label = ",".join(f"{k}={v}" for k, v in kind.items())
            kinds.setdefault(label, kind)
    return kinds


KINDS = study_kinds()


def test_the_studies_cover_every_architecture_and_optimizer():
    archs = {k["arch"] for k in KINDS.values()}
    optimizers = {k["optimizer"] for k in KINDS.values()}
    assert archs == {"mlp", "cnn", "bireal", "reactnet", "densenet", "bnfree", "float-mlp"}
    assert optimizers == {"adam", "bop", "bop2nd", "bop2nd-unbiased", "pbop"}


@pytest.mark.parametrize("label", sorted(KINDS))
def test_one_model_of_each_kind_exports_compiles_and_verifies_on_host(tmp_path, label):
    require_tools("cc")
    kind = KINDS[label]
    options = {**kind, "epochs": 1, "width": SMALL_WIDTH.get(kind["arch"], 64), "split_seed": 0, "verify": True}
    result = CliRunner().invoke(train_command, train_args(options, tmp_path, "m"))
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["onnx_check"]["argmax_agree"] == metrics["onnx_check"]["samples"]
    assert metrics["verify"] == {"host": True}
