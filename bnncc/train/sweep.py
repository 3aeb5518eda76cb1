"""`bnncc sweep`: a grid or random search over `bnncc train` configurations, run as parallel Ray Tune trials.

A sweep file (JSON or YAML) names the search:

    name: optimizers                 # output files <name>.json / .md / .png
    base: {epochs: 30, width: 256}   # `bnncc train` options every trial shares (option name without --)
    grid: {optimizer: [adam, bop], seed: [0, 1, 2]}          # every combination (tune.grid_search)
    random: {lr: {loguniform: [1e-3, 1e-1]}}                 # optional: sampled, num_samples times the grid
    num_samples: 1
    group_by: [optimizer]            # rows of the table: mean and range over the other keys (e.g. seeds)

Each trial runs the `bnncc train` command itself (same defaults, export and checks) on one CPU thread with its
seed, writing trials/<trial>.json (the train metrics) and trials/<trial>.onnx; the same options given to
`bnncc train` by hand give the same numbers. Ray is started locally (one CPU per trial, as many CPUs as the
machine has, no dashboard, logs in a temporary folder) unless --address joins a running cluster. The Tune
experiment is kept under <output>/tune; running the same command again resumes a stopped sweep (finished
trials are not rerun). ray is imported inside the command only: `pip install 'bnncc[sweep]'`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import statistics
import sys
from pathlib import Path

import click

from bnncc.errors import BnnccError
from bnncc.user_errors import user_errors

SPEC_KEYS = {"name", "base", "grid", "random", "num_samples", "group_by", "title", "target"}
RANDOM_KINDS = ("uniform", "loguniform", "choice", "randint")
TARGET = 0.95  # "epochs to" this test accuracy in the table


def load_spec(path: Path) -> dict:
    """Read and check a sweep file; BnnccError names the file and what is wrong."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise BnnccError(f"cannot read sweep file {path}: {exc.strerror}") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            spec = yaml.safe_load(text)
        else:
            spec = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse error is the user's file
        raise BnnccError(f"sweep file {path} does not parse: {exc}") from None
    if not isinstance(spec, dict) or "name" not in spec:
        raise BnnccError(f"sweep file {path} must be a mapping with at least 'name'")
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise BnnccError(f"sweep file {path}: unknown key(s) {sorted(unknown)}, expected {sorted(SPEC_KEYS)}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(spec["name"])):
        raise BnnccError(f"sweep file {path}: name '{spec['name']}' must be letters, digits, '_', '.', '-'")
    for key in ("grid", "random"):
        if not isinstance(spec.get(key, {}), dict):
            raise BnnccError(f"sweep file {path}: '{key}' must be a mapping of option -> values")
    for option, values in spec.get("grid", {}).items():
        if not isinstance(values, list) or not values:
            raise BnnccError(f"sweep file {path}: grid '{option}' must be a non-empty list")
    for option, dist in spec.get("random", {}).items():
        if not (isinstance(dist, dict) and len(dist) == 1 and next(iter(dist)) in RANDOM_KINDS):
            raise BnnccError(f"sweep file {path}: random '{option}' must be one of {{kind: args}} with kind in "
                             f"{RANDOM_KINDS}")
    return spec


def train_args(options: dict, out_dir: Path, trial: str) -> list[str]:
    """`bnncc train` arguments for one trial: option -> --option value (lists repeat, true -> a flag)."""
    args = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            if value:
                args.append(flag)
        elif isinstance(value, list):
            for item in value:
                args += [flag, str(item)]
        elif value is not None:
            args += [flag, str(value)]
    return args + ["-o", str(out_dir / f"{trial}.onnx"), "--metrics", str(out_dir / f"{trial}.json"),
                   "--no-progress"]


def trial_name(varied: dict) -> str:
    """A file name from the varied options, e.g. 'optimizer=bop,seed=0'."""
    text = ",".join(f"{k}={'+'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in sorted(varied.items()))
    return re.sub(r"[^A-Za-z0-9_.,=+:-]", "_", text) or "trial"


def run_train(options: dict, out_dir: Path, trial: str) -> dict:
    """Run `bnncc train` in this process on one thread; returns its metrics JSON."""
    import torch

    from bnncc.train.cli import train_command

    torch.set_num_threads(1)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        train_command.main(train_args(options, out_dir, trial), standalone_mode=False)
    except SystemExit as exc:  # user_errors exits 2 on a bad option: report it as a failed trial
        if exc.code:
            raise RuntimeError(f"bnncc train {' '.join(train_args(options, out_dir, trial))} exited {exc.code}")
    return json.loads((out_dir / f"{trial}.json").read_text())


def _trainable(base: dict, grid_keys: list[str], out_dir: str):
    def trial(config: dict) -> dict:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        varied = {k: config[k] for k in sorted(config)}
        metrics = run_train({**base, **config}, Path(out_dir), trial_name(varied))
        accs = [h["test_acc"] for h in metrics["history"]]
        return dict(test_acc=accs[-1], best=max(accs), epochs=len(accs))

    return trial


def _param_space(spec: dict) -> dict:
    from ray import tune

    space = {k: tune.grid_search(v) for k, v in spec.get("grid", {}).items()}
    for option, dist in spec.get("random", {}).items():
        kind, args = next(iter(dist.items()))
        space[option] = tune.choice(args) if kind == "choice" else getattr(tune, kind)(*args)
    return space


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for trials/, <name>.json/.md/.png and the Tune experiment [default: sweep-<name>].")
@click.option("--address", default=None,
              help="Ray cluster to join (e.g. ray://head:10001 or auto); default: start a local Ray.")
@click.option("--num-cpus", type=click.IntRange(1), default=None,
              help="CPUs of the local Ray [default: all of this machine]; each trial takes one.")
@click.option("--dry-run", is_flag=True, help="List the grid's trials and their `bnncc train` arguments only.")
@user_errors
def sweep_command(sweep_file, output, address, num_cpus, dry_run):
    """Run a grid / random search of `bnncc train` configurations as parallel Ray Tune trials."""
    spec = load_spec(sweep_file)
    output = (output or Path(f"sweep-{spec['name']}")).resolve()
    base = dict(spec.get("base", {}))
    if dry_run:
        grid = spec.get("grid", {})
        for combo in itertools.product(*grid.values()):
            varied = dict(zip(grid, combo))
            click.echo("bnncc train " + " ".join(train_args({**base, **varied}, output / "trials",
                                                            trial_name(varied))))
        return
    try:
        import ray
        from ray import tune
    except ImportError as exc:
        raise BnnccError("`bnncc sweep` needs Ray Tune: pip install 'bnncc[sweep]'") from exc
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise BnnccError("`bnncc sweep` needs PyTorch: pip install 'bnncc[train]'") from exc

    trials_dir = output / "trials"
    trials_dir.mkdir(parents=True, exist_ok=True)
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, logging_level="WARNING")
        else:
            import tempfile

            ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, logging_level="WARNING",
                     _temp_dir=tempfile.mkdtemp(prefix="bnncc-ray-"), log_to_driver=False)
        started = True
    try:
        trainable = tune.with_resources(_trainable(base, list(spec.get("grid", {})), str(trials_dir)), {"cpu": 1})
        storage = output / "tune"
        experiment = storage / spec["name"]
        if tune.Tuner.can_restore(str(experiment)):
            click.echo(f"resuming the sweep in {experiment}")
            tuner = tune.Tuner.restore(str(experiment), trainable=trainable, resume_unfinished=True,
                                       resume_errored=True)
        else:
            tuner = tune.Tuner(
                trainable, param_space=_param_space(spec),
                tune_config=tune.TuneConfig(num_samples=int(spec.get("num_samples", 1))),
                run_config=tune.RunConfig(name=spec["name"], storage_path=str(storage), verbose=1))
        results = tuner.fit()
    finally:
        if started:
            ray.shutdown()
    errors = [r.error for r in results if r.error is not None]
    configs = [r.config for r in results if r.error is None]
    summary = summarize(spec, base, configs, trials_dir)
    write_outputs(spec, summary, output)
    click.echo(f"{len(configs)} trial(s) done, {len(errors)} failed; wrote {output / spec['name']}.md/.json/.png")
    if errors:
        click.echo(f"first failure: {errors[0]}", err=True)
        sys.exit(1)


def summarize(spec: dict, base: dict, configs: list[dict], trials_dir: Path) -> dict:
    """Per-trial records (config, per-epoch test accuracy, final, epochs to target) in a stable order."""
    target = float(spec.get("target", TARGET))
    trials = []
    for config in configs:
        varied = {k: config[k] for k in sorted(config)}
        metrics = json.loads((trials_dir / f"{trial_name(varied)}.json").read_text())
        accs = [h["test_acc"] for h in metrics["history"]]
        trials.append(dict(trial=trial_name(varied), varied=varied, options={**base, **varied}, test_acc=accs,
                           final=accs[-1], best=max(accs),
                           epochs_to_target=next((i + 1 for i, a in enumerate(accs) if a >= target), None),
                           seconds=sum(h["seconds"] for h in metrics["history"]),
                           onnx_check=metrics["onnx_check"]))
    trials.sort(key=lambda t: t["trial"])
    return dict(name=spec["name"], target=target, base=base, grid=spec.get("grid", {}),
                random=spec.get("random", {}), trials=trials)


def _groups(spec: dict, trials: list[dict]) -> dict[str, list[dict]]:
    keys = spec.get("group_by") or [k for k in spec.get("grid", {}) if k != "seed"]
    groups: dict[str, list[dict]] = {}
    for t in trials:
        label = ", ".join(f"{k}={_text(t['varied'][k])}" if len(keys) > 1 else _text(t["varied"][k])
                          for k in keys if k in t["varied"]) or t["trial"]
        groups.setdefault(label, []).append(t)
    return groups


def _text(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def markdown(spec: dict, summary: dict) -> str:
    groups = _groups(spec, summary["trials"])
    target = summary["target"]
    base = " ".join(f"--{k.replace('_', '-')} {'/'.join(map(str, v)) if isinstance(v, list) else v}"
                    for k, v in summary["base"].items())
    lines = [f"# {spec.get('title', spec['name'])}\n",
             f"`bnncc sweep` of `bnncc train {base}` over {', '.join(summary['grid']) or 'random samples'}; "
             f"{len(summary['trials'])} trials, digits test split (360 images).\n",
             "| configuration | trials | final acc % (mean) | range | best-epoch acc % (mean) | "
             f"epochs to {100 * target:.0f} % (per trial) | s / trial |",
             "|---|---|---|---|---|---|---|"]
    for label, ts in groups.items():
        finals = [t["final"] for t in ts]
        reach = " / ".join("-" if t["epochs_to_target"] is None else str(t["epochs_to_target"]) for t in ts)
        lines.append(f"| {label} | {len(ts)} | {_pct(statistics.mean(finals))} | {_pct(min(finals))} - "
                     f"{_pct(max(finals))} | {_pct(statistics.mean(t['best'] for t in ts))} | {reach} | "
                     f"{statistics.mean(t['seconds'] for t in ts):.1f} |")
    lines += ["", "## Per trial", "", "| trial | final acc % | epochs to target | onnx check |", "|---|---|---|---|"]
    for t in summary["trials"]:
        check = t["onnx_check"]
        lines.append(f"| {t['trial']} | {_pct(t['final'])} | {t['epochs_to_target'] or '-'} | "
                     f"{check['argmax_agree']}/{check['samples']} argmax |")
    return "\n".join(lines) + "\n"


def plot(spec: dict, summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, ts in _groups(spec, summary["trials"]).items():
        epochs = min(len(t["test_acc"]) for t in ts)
        mean = [100 * statistics.mean(t["test_acc"][i] for t in ts) for i in range(epochs)]
        line, = ax.plot(range(1, epochs + 1), mean, label=label)
        if len(ts) > 1:
            low = [100 * min(t["test_acc"][i] for t in ts) for i in range(epochs)]
            high = [100 * max(t["test_acc"][i] for t in ts) for i in range(epochs)]
            ax.fill_between(range(1, epochs + 1), low, high, color=line.get_color(), alpha=0.15)
    ax.axhline(100 * summary["target"], color="grey", lw=0.8, ls="--")
    import textwrap

    ax.set(xlabel="epoch", ylabel="test accuracy % (mean, band: min-max)")
    ax.set_title("\n".join(textwrap.wrap(spec.get("title", spec["name"]), 70)), fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_outputs(spec: dict, summary: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{spec['name']}.json").write_text(json.dumps(summary, indent=1) + "\n")
    (output / f"{spec['name']}.md").write_text(markdown(spec, summary))
    plot(spec, summary, output / f"{spec['name']}.png")
