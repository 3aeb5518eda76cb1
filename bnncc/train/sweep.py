"""`bnncc sweep`: a grid or random search over `bnncc train` configurations, run as parallel Ray Tune trials.

A sweep file (JSON or YAML) names the search:

    name: optimizers                 # output files <name>.json / .md / .png
    base: {epochs: 30, width: 256}   # `bnncc train` options every trial shares (option name without --)
    grid: {optimizer: [adam, bop], seed: [0, 1, 2]}          # every combination (tune.grid_search)
    random: {lr: {loguniform: [1e-3, 1e-1]}}                 # optional: sampled, num_samples times the grid
    num_samples: 1
    group_by: [optimizer]            # rows of the table: mean and range over the other keys (e.g. seeds)
    variants:                        # optional: named option sets, a grid axis 'variant' (one factor at a
      mlp: {arch: mlp, epochs: 30}   #   time, or architectures that need their own options)
      cnn: {arch: cnn, epochs: 25}
    bench: cortex-m4                 # optional: `bnncc bench` every trial's model there (flash, RAM, instructions)

Each trial runs the `bnncc train` command itself (same defaults, export and checks) on one CPU thread with its
seed, writing trials/<trial>.json (the train metrics) and trials/<trial>.onnx; the same options given to
`bnncc train` by hand give the same numbers. Ray is started locally (one CPU per trial, as many CPUs as the
machine has, no dashboard, logs in a temporary folder) unless --address joins a running cluster. The Tune
experiment is kept under <output>/tune; running the same command again resumes a stopped sweep (finished
trials are not rerun; a sweep stopped with Ctrl-C resumes where it stopped). With `bench`, each trial then
compiles its model for that core and measures it in QEMU (trials/<trial>.bench.json), and the table gains the
flash, RAM and instruction columns. ray is imported inside the command only: `pip install 'bnncc[sweep]'`.
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

SPEC_KEYS = {"name", "base", "grid", "random", "num_samples", "group_by", "title", "target", "variants", "bench"}
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
    variants = spec.get("variants", {})
    if not isinstance(variants, dict) or not all(isinstance(v, dict) for v in variants.values()):
        raise BnnccError(f"sweep file {path}: 'variants' must map a name to a mapping of options")
    if variants and "variant" in spec.get("grid", {}):
        raise BnnccError(f"sweep file {path}: 'variant' is the grid axis of 'variants'; rename the grid key")
    if "bench" in spec:
        from bnncc.targets.targets import TARGET_NAMES, get_target

        if str(spec["bench"]) not in TARGET_NAMES or get_target(str(spec["bench"])).is_host:
            raise BnnccError(f"sweep file {path}: bench '{spec['bench']}' must be an emulated core "
                             "(cortex-m0plus ... cortex-m55)")
    return spec


def grid_of(spec: dict) -> dict:
    """The grid axes, with the variant names as the first axis 'variant' when the spec has variants."""
    variants = spec.get("variants", {})
    return {**({"variant": list(variants)} if variants else {}), **spec.get("grid", {})}


def trial_options(spec: dict, config: dict) -> dict:
    """The `bnncc train` options of one trial: base, then its variant's options, then its grid values."""
    variant = spec.get("variants", {}).get(config.get("variant"), {})
    return {**spec.get("base", {}), **variant, **{k: v for k, v in config.items() if k != "variant"}}


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


BENCH_NAME = "model"  # C name of the benched model (a trial's file name is no C identifier)


def run_bench(onnx_path: Path, target: str) -> dict:
    """`bnncc bench` of one trial's model: the figures of the study table (bytes, instructions)."""
    from bnncc.targets.bench import _bench_onnx

    result = _bench_onnx(onnx_path, target, BENCH_NAME)
    memory = result["memory"]["Os"]
    return dict(target=target, instructions=result["total"]["instructions"],
                model_flash=memory["model"]["flash"], runtime_flash=memory["runtime"]["flash"],
                flash=memory["total"]["flash"], arena=result["arena_bytes"], stack=result["stack_bytes"],
                ram=result["arena_bytes"] + (result["stack_bytes"] or 0),
                note="flash at -Os (model / runtime / firmware total), instructions at -O2 (QEMU, exact); "
                     "ram = arena + measured stack")


def _trainable(spec: dict, out_dir: str):
    def trial(config: dict) -> dict:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        varied = {k: config[k] for k in sorted(config)}
        name = trial_name(varied)
        metrics = run_train(trial_options(spec, config), Path(out_dir), name)
        if "bench" in spec:
            bench = run_bench(Path(out_dir) / f"{name}.onnx", str(spec["bench"]))
            (Path(out_dir) / f"{name}.bench.json").write_text(json.dumps(bench, indent=1) + "\n")
        accs = [h["test_acc"] for h in metrics["history"]]
        return dict(test_acc=accs[-1], best=max(accs), epochs=len(accs))

    return trial


def _param_space(spec: dict) -> dict:
    from ray import tune

    space = {k: tune.grid_search(v) for k, v in grid_of(spec).items()}
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
        grid = grid_of(spec)
        for combo in itertools.product(*grid.values()):
            varied = dict(zip(grid, combo))
            click.echo("bnncc train " + " ".join(train_args(trial_options(spec, varied), output / "trials",
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
        trainable = tune.with_resources(_trainable(spec, str(trials_dir)), {"cpu": 1})
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
    configs = [r.config for r in results if r.error is None and "test_acc" in (r.metrics or {})]
    stopped = len(results) - len(configs) - len(errors)
    if stopped:  # Ctrl-C: Tune saved the experiment; the finished trials are kept
        click.echo(f"sweep stopped with {len(configs)} of {len(results)} trial(s) done; run the same command "
                   "again to resume it", err=True)
        sys.exit(130)
    summary = summarize(spec, base, configs, trials_dir)
    write_outputs(spec, summary, output)
    click.echo(f"{len(configs)} trial(s) done, {len(errors)} failed; wrote {output / spec['name']}.md/.json/.png")
    if errors:
        click.echo(f"first failure: {errors[0]}", err=True)
        sys.exit(1)


def summarize(spec: dict, base: dict, configs: list[dict], trials_dir: Path) -> dict:
    """Per-trial records (config, per-epoch test accuracy, final, epochs to target, host check and bench
    figures when the trial has them) in a stable order."""
    target = float(spec.get("target", TARGET))
    trials = []
    for config in configs:
        varied = {k: config[k] for k in sorted(config)}
        name = trial_name(varied)
        metrics = json.loads((trials_dir / f"{name}.json").read_text())
        accs = [h["test_acc"] for h in metrics["history"]]
        record = dict(trial=name, varied=varied, options=trial_options(spec, config), test_acc=accs,
                      final=accs[-1], best=max(accs),
                      epochs_to_target=next((i + 1 for i, a in enumerate(accs) if a >= target), None),
                      seconds=sum(h["seconds"] for h in metrics["history"]), onnx_check=metrics["onnx_check"])
        if "verify" in metrics:
            record["verify"] = metrics["verify"]
        bench = trials_dir / f"{name}.bench.json"
        if bench.exists():
            record["bench"] = json.loads(bench.read_text())
        trials.append(record)
    grid = grid_of(spec)

    def grid_order(t):  # the spec's order of the grid values, then the name
        return [grid[k].index(t["varied"][k]) if t["varied"].get(k) in grid[k] else 0 for k in grid], t["trial"]

    trials.sort(key=grid_order)
    return dict(name=spec["name"], target=target, base=base, grid=grid_of(spec),
                variants=spec.get("variants", {}), random=spec.get("random", {}), trials=trials)


def _groups(spec: dict, trials: list[dict]) -> dict[str, list[dict]]:
    keys = spec.get("group_by") or [k for k in grid_of(spec) if k != "seed"]
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


def _options_text(options: dict) -> str:
    """The options as `bnncc train` flags (a list as a/b, true as a bare flag)."""
    def value(v) -> str:
        return "" if v is True else " " + ("/".join(map(str, v)) if isinstance(v, list) else str(v))

    return " ".join(f"--{k.replace('_', '-')}{value(v)}" for k, v in options.items())


def _span(values: list, fmt=lambda v: f"{v:,}") -> str:
    """One value when the trials agree, else 'min - max'."""
    return fmt(values[0]) if len(set(values)) == 1 else f"{fmt(min(values))} - {fmt(max(values))}"


def _per_epoch_table(groups: dict[str, list[dict]], every: int = 3) -> str:
    epochs = max(len(t["test_acc"]) for ts in groups.values() for t in ts)
    shown = sorted({1, 2, *range(every, epochs + 1, every), epochs})
    lines = ["| configuration \\ epoch | " + " | ".join(map(str, shown)) + " |", "|---" * (len(shown) + 1) + "|"]
    for label, ts in groups.items():
        cells = [_pct(statistics.mean(t["test_acc"][e - 1] for t in ts)) if all(len(t["test_acc"]) >= e for t in ts)
                 else "" for e in shown]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(spec: dict, summary: dict) -> str:
    groups = _groups(spec, summary["trials"])
    target = summary["target"]
    benched = all("bench" in t for t in summary["trials"]) and summary["trials"]
    bench_target = summary["trials"][0]["bench"]["target"] if benched else None
    lines = [f"# {spec.get('title', spec['name'])}\n",
             f"`bnncc sweep` of `bnncc train {_options_text(summary['base'])}` over "
             f"{', '.join(summary['grid']) or 'random samples'}; {len(summary['trials'])} trials, digits test "
             "split (360 images). Mean ± population standard deviation and range over the trials of a row.\n"]
    if summary.get("variants"):
        lines += ["| variant | its options |", "|---|---|"]
        lines += [f"| {name} | `{_options_text(opts)}` |" for name, opts in summary["variants"].items()]
        lines.append("")
    header = ("| configuration | trials | final acc % (mean ± sd) | range | best-epoch acc % (mean) | "
              f"epochs to {100 * target:.0f} % (per trial) | s / trial |")
    if benched:
        header += (f" {bench_target} model flash B | runtime flash B | RAM B = arena + stack | "
                   "instructions / inference |")
    lines += [header, "|---" * header.count(" |") + "|"]
    for label, ts in groups.items():
        finals = [t["final"] for t in ts]
        reach = " / ".join("-" if t["epochs_to_target"] is None else str(t["epochs_to_target"]) for t in ts)
        row = (f"| {label} | {len(ts)} | {_pct(statistics.mean(finals))} ± {_pct(statistics.pstdev(finals))} | "
               f"{_pct(min(finals))} - {_pct(max(finals))} | {_pct(statistics.mean(t['best'] for t in ts))} | "
               f"{reach} | {statistics.mean(t['seconds'] for t in ts):.1f} |")
        if benched:
            b = [t["bench"] for t in ts]
            ram = _span([x["ram"] for x in b]) + " = " + _span([x["arena"] for x in b]) + " + " + \
                _span([x["stack"] for x in b])
            row += (f" {_span([x['model_flash'] for x in b])} | {_span([x['runtime_flash'] for x in b])} | {ram} | "
                    f"{_span([x['instructions'] for x in b])} |")
        lines.append(row)
    if benched:
        lines += ["", f"`bnncc bench --target {bench_target}` of every trial's model: flash at -Os, instructions "
                  "at -O2 counted exactly in QEMU (one inference), RAM = the activation arena plus the measured "
                  "stack high-water; a range where the seeds' models differ."]
    lines += ["", "## Test accuracy % per epoch (mean over the trials of a row)", "", _per_epoch_table(groups)]
    verified = any("verify" in t for t in summary["trials"])
    lines += ["", "## Per trial", "",
              "| trial | final acc % | epochs to target | onnx check |" + (" C vs onnxruntime |" if verified else ""),
              "|---|---|---|---|" + ("---|" if verified else "")]
    for t in summary["trials"]:
        check = t["onnx_check"]
        row = (f"| {t['trial']} | {_pct(t['final'])} | {t['epochs_to_target'] or '-'} | "
               f"{check['argmax_agree']}/{check['samples']} argmax |")
        if verified:
            row += " " + (", ".join(f"{k} {'ok' if ok else 'MISMATCH'}" for k, ok in t.get("verify", {}).items())
                          or "-") + " |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def plot(spec: dict, summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benched = all("bench" in t for t in summary["trials"]) and summary["trials"]
    fig, axes = plt.subplots(1, 2 if benched else 1, figsize=(13 if benched else 7, 4.5), squeeze=False)
    ax = axes[0][0]
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
    if benched:
        _plot_cost(axes[0][1], spec, summary)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_cost(ax, spec: dict, summary: dict) -> None:
    """Final accuracy (mean, bar: min-max over the seeds) against the instructions per inference."""
    for label, ts in _groups(spec, summary["trials"]).items():
        finals = [100 * t["final"] for t in ts]
        instructions = statistics.mean(t["bench"]["instructions"] for t in ts) / 1000
        flash = statistics.mean(t["bench"]["model_flash"] for t in ts) / 1024
        mean = statistics.mean(finals)
        ax.errorbar([instructions], [mean], yerr=[[mean - min(finals)], [max(finals) - mean]], fmt="o", capsize=3)
        ax.annotate(f"{label} ({flash:.1f} KiB)", (instructions, mean), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    target = summary["trials"][0]["bench"]["target"]
    ax.set(xlabel=f"{target} instructions per inference (thousands)",
           ylabel="final test accuracy % (mean, bar: min-max)",
           title=f"accuracy vs cost on {target} (model flash in brackets)")
    ax.grid(alpha=0.3)


def write_outputs(spec: dict, summary: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{spec['name']}.json").write_text(json.dumps(summary, indent=1) + "\n")
    (output / f"{spec['name']}.md").write_text(markdown(spec, summary))
    plot(spec, summary, output / f"{spec['name']}.png")
