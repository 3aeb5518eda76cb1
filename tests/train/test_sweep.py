"""`bnncc sweep`: a 4-trial grid on a 2-CPU local Ray; outputs, determinism against a serial run, resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def test_a_sweep_stopped_with_ctrl_c_resumes_without_rerunning_finished_trials(tmp_path):
    # one CPU: the trials run one after another, so Ctrl-C lands while a later trial is running
    spec = {"name": "stop", "base": {"epochs": 2, "width": 8, "split_seed": 0}, "grid": {"seed": [0, 1, 2]}}
    spec_file, out = tmp_path / "stop.json", tmp_path / "out"
    spec_file.write_text(json.dumps(spec))
    command = [sys.executable, "-m", "bnncc.cli", "sweep", str(spec_file), "-o", str(out), "--num-cpus", "1"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    sweep = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while not list((out / "trials").glob("*.json")):
            assert sweep.poll() is None and time.monotonic() < deadline, "no trial finished"
            time.sleep(0.2)
        time.sleep(1.0)  # Tune records the first trial as finished and starts the second
        sweep.send_signal(signal.SIGINT)
        output, _ = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 130, output
    done = int(output.split("sweep stopped with ")[1].split()[0])
    assert 1 <= done < 3 and "run the same command again" in output
    assert not (out / "stop.md").exists()
    finished = sorted((out / "trials").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)[:done]
    stamps = {p.name: p.stat().st_mtime_ns for p in finished}

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "resuming the sweep" in again.stdout and "3 trial(s) done, 0 failed" in again.stdout
    assert {p: (out / "trials" / p).stat().st_mtime_ns for p in stamps} == stamps  # not trained again
    summary = json.loads((out / "stop.json").read_text())
    assert [t["trial"] for t in summary["trials"]] == [f"seed={s}" for s in range(3)]


def test_dry_run_lists_the_train_commands_and_needs_no_ray(tmp_path):
    spec_file = tmp_path / "s.json"
    spec_file.write_text(json.dumps(SPEC))
    result = CliRunner().invoke(sweep_command, [str(spec_file), "-o", str(tmp_path / "o"), "--dry-run"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("bnncc train --epochs 1") for line in lines)
    assert "--optimizer bop --seed 1" in lines[-1]


def test_variants_are_a_grid_axis_of_named_option_sets(tmp_path):
    spec = {"name": "v", "base": {"epochs": 3, "width": 16},
            "variants": {"small": {}, "cnn": {"arch": "cnn", "width": 64}}, "grid": {"seed": [0, 1]}}
    spec_file = tmp_path / "v.json"
    spec_file.write_text(json.dumps(spec))
    result = CliRunner().invoke(sweep_command, [str(spec_file), "-o", str(tmp_path / "o"), "--dry-run"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 0 and len(lines) == 4
    assert lines[0].startswith("bnncc train --epochs 3 --width 16 --seed 0 -o") and "seed=0,variant=small" in lines[0]
    assert "--epochs 3 --width 64 --arch cnn --seed 1 -o" in lines[3] and "seed=1,variant=cnn.onnx" in lines[3]


def test_the_table_of_a_benched_sweep_has_the_cost_columns():
    from bnncc.train.sweep import markdown

    def trial(variant, seed, final, instructions):
        bench = dict(target="cortex-m4", instructions=instructions, model_flash=1000, runtime_flash=500,
                     flash=4000, arena=64, stack=1300, ram=1364)
        return dict(trial=f"seed={seed},variant={variant}", varied={"variant": variant, "seed": seed}, final=final,
                    best=final, test_acc=[final], epochs_to_target=1, seconds=1.0, bench=bench,
                    onnx_check=dict(samples=300, argmax_agree=300), verify={"host": True})

    spec = {"name": "t", "variants": {"a": {}, "b": {}}, "grid": {"seed": [0, 1]}}
    summary = dict(target=0.95, base={"epochs": 1}, grid={"variant": ["a", "b"], "seed": [0, 1]},
                   variants=spec["variants"],
                   trials=[trial("a", 0, 0.96, 100), trial("a", 1, 0.98, 100), trial("b", 0, 0.5, 90),
                           trial("b", 1, 0.5, 95)])
    md = markdown(spec, summary)
    assert "| a | 2 | 97.0 ± 1.0 | 96.0 - 98.0 |" in md
    assert "| 1,000 | 500 | 1,364 = 64 + 1,300 | 100 |" in md and "| 1,364 = 64 + 1,300 | 90 - 95 |" in md
    assert "cortex-m4 model flash B" in md and "| seed=0,variant=a | 96.0 | 1 | 300/300 argmax | host ok |" in md


def test_train_args_and_trial_names():
    args = train_args({"epochs": 2, "xnor_scale": True, "verify": False, "schedule": ["cosine", "tau=step"]},
                      __import__("pathlib").Path("/o"), "t")
    assert args[:7] == ["--epochs", "2", "--xnor-scale", "--schedule", "cosine", "--schedule", "tau=step"]
    assert trial_name({"seed": 0, "schedule": ["cosine", "tau=a/b"]}) == "schedule=cosine+tau=a_b,seed=0"


@pytest.mark.parametrize("text,message", [
    ("{", "does not parse"), ('{"grid": {}}', "at least 'name'"), ('{"name": "a", "bogus": 1}', "unknown key"),
    ('{"name": "a b"}', "must be letters"), ('{"name": "a", "grid": {"seed": 3}}', "non-empty list"),
    ('{"name": "a", "random": {"lr": {"normal": [0, 1]}}}', "random 'lr'"),
    ('{"name": "a", "variants": {"x": 1}}', "'variants' must map"),
    ('{"name": "a", "variants": {"x": {}}, "grid": {"variant": [1]}}', "rename the grid key"),
    ('{"name": "a", "bench": "host"}', "emulated core"), ('{"name": "a", "bench": "m4"}', "emulated core")])
def test_bad_sweep_files_are_user_errors(tmp_path, text, message):
    spec_file = tmp_path / "s.json"
    spec_file.write_text(text)
    result = CliRunner().invoke(sweep_command, [str(spec_file), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()
    with pytest.raises(Exception):
        load_spec(spec_file)
