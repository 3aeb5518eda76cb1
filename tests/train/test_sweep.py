"""`bnncc sweep`: a 4-trial grid on a 2-CPU local Ray; outputs, determinism against a serial run, resume."""

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("ray.tune")

from click.testing import CliRunner  # noqa: E402

from bnncc.train.cli import train_command  # noqa: E402
from bnncc.train.sweep import load_spec, sweep_command, train_args, trial_name  # noqa: E402

SPEC = {"name": "tiny", "base": {"epochs": 1, "width": 8, "split_seed": 0, "schedule": ["cosine"]},
        "grid": {"optimizer": ["adam", "bop"], "seed": [0, 1]}, "group_by": ["optimizer"]}


def test_four_trial_sweep_writes_outputs_matches_a_serial_run_and_resumes(tmp_path):
    spec_file, out = tmp_path / "tiny.json", tmp_path / "out"
    spec_file.write_text(json.dumps(SPEC))
    result = CliRunner().invoke(sweep_command, [str(spec_file), "-o", str(out), "--num-cpus", "2"])
    assert result.exit_code == 0, result.output
    assert "4 trial(s) done, 0 failed" in result.output
    summary = json.loads((out / "tiny.json").read_text())
    assert sorted(t["trial"] for t in summary["trials"]) == [
        "optimizer=adam,seed=0", "optimizer=adam,seed=1", "optimizer=bop,seed=0", "optimizer=bop,seed=1"]
    assert all(t["onnx_check"]["argmax_agree"] == t["onnx_check"]["samples"] for t in summary["trials"])
    assert (out / "tiny.png").stat().st_size > 1000
    md = (out / "tiny.md").read_text()
    assert "| adam | 2 |" in md and "| bop | 2 |" in md
    trials = out / "trials"
    assert len(list(trials.glob("*.onnx"))) == 4

    # the same options by hand, in this process: the same numbers (seeded, one thread per trial)
    serial = tmp_path / "serial.json"
    args = ["--epochs", "1", "--width", "8", "--split-seed", "0", "--schedule", "cosine", "--optimizer", "bop",
            "--seed", "1", "-o", str(tmp_path / "serial.onnx"), "--metrics", str(serial), "--no-progress"]
    assert CliRunner().invoke(train_command, args).exit_code == 0
    swept = json.loads((trials / "optimizer=bop,seed=1.json").read_text())
    mine = json.loads(serial.read_text())
    for key in ("loss", "train_acc", "test_acc"):
        assert [h[key] for h in swept["history"]] == [h[key] for h in mine["history"]]

    # running the command again restores the Tune experiment: finished trials are not rerun
    stamps = {p.name: p.stat().st_mtime_ns for p in trials.iterdir()}
    again = CliRunner().invoke(sweep_command, [str(spec_file), "-o", str(out), "--num-cpus", "2"])
    assert again.exit_code == 0, again.output
    assert "resuming the sweep" in again.output and "4 trial(s) done" in again.output
    assert {p.name: p.stat().st_mtime_ns for p in trials.iterdir()} == stamps


def test_dry_run_lists_the_train_commands_and_needs_no_ray(tmp_path):
    spec_file = tmp_path / "s.json"
    spec_file.write_text(json.dumps(SPEC))
    result = CliRunner().invoke(sweep_command, [str(spec_file), "-o", str(tmp_path / "o"), "--dry-run"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("bnncc train --epochs 1") for line in lines)
    assert "--optimizer bop --seed 1" in lines[-1]


def test_train_args_and_trial_names():
    args = train_args({"epochs": 2, "xnor_scale": True, "verify": False, "schedule": ["cosine", "tau=step"]},
                      __import__("pathlib").Path("/o"), "t")
    assert args[:7] == ["--epochs", "2", "--xnor-scale", "--schedule", "cosine", "--schedule", "tau=step"]
    assert trial_name({"seed": 0, "schedule": ["cosine", "tau=a/b"]}) == "schedule=cosine+tau=a_b,seed=0"


@pytest.mark.parametrize("text,message", [
    ("{", "does not parse"), ('{"grid": {}}', "at least 'name'"), ('{"name": "a", "bogus": 1}', "unknown key"),
    ('{"name": "a b"}', "must be letters"), ('{"name": "a", "grid": {"seed": 3}}', "non-empty list"),
    ('{"name": "a", "random": {"lr": {"normal": [0, 1]}}}', "random 'lr'")])
def test_bad_sweep_files_are_user_errors(tmp_path, text, message):
    spec_file = tmp_path / "s.json"
    spec_file.write_text(text)
    result = CliRunner().invoke(sweep_command, [str(spec_file), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()
    with pytest.raises(Exception):
        load_spec(spec_file)
