"""Check a `bnncc sweep` result against the serial study code: same seeds, same numbers.

    python examples/studies/serial_check.py examples/studies/results/optimizers/optimizers.json
    python examples/studies/serial_check.py RESULT.json --only optimizer=adam   # trials whose name has this

Each trial of the sweep (parallel Ray Tune trials, each one `bnncc train` in a worker) is trained again here,
one after another in this process, through the studies' own path (common.run: the reference configuration
BASE, the optimizer's defaults, then the trial's options), and its per-epoch test accuracy must be equal, not
close. Only the MLP studies (the BinaryNet MLP of BASE, latent Adam or a Bop variant) map onto common.run.
Exit 1 on the first difference.
"""

from __future__ import annotations

import argparse
import json
import sys

from common import BASE, OPTIMIZER_DEFAULTS, run, setup

# `bnncc train` options -> TrainConfig fields; the rest must be at BASE's value (split_seed 0 is digits())
FIELDS = {"epochs", "width", "batch_size", "lr", "tau", "gamma", "sigma", "optimizer", "seed", "arch"}
NEUTRAL = {"split_seed": 0, "verify": True, "ste": "clipped"}


def serial_config(options: dict) -> dict:
    """The changes to BASE that reproduce a trial's `bnncc train` options."""
    changes = dict(OPTIMIZER_DEFAULTS[options.get("optimizer", "adam")])
    for key, value in options.items():
        if key == "schedule":
            kinds = [s for s in value if "=" not in s]
            if len(kinds) != len(value):
                raise SystemExit(f"per-name schedules ({value}) have no serial twin in common.run")
            changes["schedule"] = kinds[-1] if kinds else "cosine"
        elif key in FIELDS:
            changes[key] = value
        elif NEUTRAL.get(key, object()) != value and key not in NEUTRAL:
            raise SystemExit(f"option {key}={value} has no serial twin in common.run")
    return changes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", help="a sweep's <name>.json")
    parser.add_argument("--only", default="", help="check only the trials whose name contains this")
    args = parser.parse_args()
    setup()
    summary = json.loads(open(args.result).read())
    checked = 0
    for trial in summary["trials"]:
        if args.only not in trial["trial"]:
            continue
        serial = run(BASE, **serial_config(trial["options"]))
        same = serial["test_acc"] == trial["test_acc"]
        print(f"{trial['trial']}: final {100 * trial['final']:.2f} % (sweep) vs {100 * serial['final']:.2f} % "
              f"(serial), {len(trial['test_acc'])} epochs {'equal' if same else 'DIFFER'}", flush=True)
        if not same:
            first = next(i for i, (a, b) in enumerate(zip(trial["test_acc"], serial["test_acc"])) if a != b)
            print(f"  first difference at epoch {first + 1}", file=sys.stderr)
            return 1
        checked += 1
    print(f"{checked} trial(s): the sweep's per-epoch test accuracies equal the serial run's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
