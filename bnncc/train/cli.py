"""`bnncc train`: train a binary MLP, CNN or mixed-precision net on digits or MNIST, export ONNX, verify the C.

torch is imported inside the command only, so `bnncc --help` stays fast and works without torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bnncc.errors import BnnccError
from bnncc.user_errors import user_errors

# Per-optimizer thresholds that worked on digits (examples/studies): Bop compares w*m with tau directly,
# Bop2ndOrder a normalized m/sqrt(v) (~1e-2 here), the unbiased variant a ratio of order 1.
DEFAULT_TAU = {"adam": 0.0, "bop": 1e-6, "bop2nd": 1e-3, "bop2nd-unbiased": 0.1, "pbop": 0.0}
DEFAULT_GAMMA = {"pbop": 0.1}  # PBop's momentum rate; every other optimizer 1e-3
SCHEDULE_KINDS = ("constant", "step", "exponential", "cosine")
VERIFY_SAMPLES = 300
MIXED = ("bireal", "reactnet", "densenet", "bnfree")
DEFAULT_AGC = 0.1  # adaptive gradient clipping factor of the BN-free net (digits: 0.1 beat 0.02 and off)


@click.command("train")
@click.option("--arch", type=click.Choice(["mlp", "cnn", *MIXED, "float-mlp"]), default="mlp", show_default=True,
              help="mlp/cnn: BinaryNet stacks; bireal, reactnet, densenet, bnfree: mixed-precision nets "
                   "(real shortcuts, concatenations, real first/last layers; image input); float-mlp: the "
                   "float32 twin of mlp (Linear, BatchNorm, ReLU; Adam), an accuracy reference.")
@click.option("--dataset", type=click.Choice(["digits", "mnist"]), default="digits", show_default=True)
@click.option("--mnist-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with the four MNIST IDX files (plain or .gz); needed for --dataset mnist.")
@click.option("--optimizer", type=click.Choice(["adam", "bop", "bop2nd", "bop2nd-unbiased", "pbop"]),
              default="adam", show_default=True,
              help="adam: latent weights clipped to [-1,1]; bop*: +-1 weights; pbop: per-weight coin logits "
                   "(docs/pbop.md); Adam trains the real parameters.")
@click.option("--schedule", "schedules", multiple=True, default=("cosine",), show_default=True, metavar="SPEC",
              help="KIND (constant, step, exponential, cosine) for the Adam lr and gamma, or NAME=KIND[:V0[:FINAL]] "
                   "for one of lr, gamma, sigma, tau, eta (step: NAME=step[:V0[:FACTOR[:EVERY]]]); repeatable, "
                   "e.g. --schedule cosine --schedule tau=cosine:1e-3:1e-5.")
@click.option("--batch-size", type=click.IntRange(2), default=64, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-2, show_default=True,
              help="Adam learning rate.")
@click.option("--tau", type=click.FloatRange(min=0), default=None,
              help="Bop flip threshold [default: 1e-6 bop, 1e-3 bop2nd, 0.1 bop2nd-unbiased].")
@click.option("--gamma", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Bop / PBop first-moment rate [default: 1e-3, pbop 0.1].")
@click.option("--sigma", type=click.FloatRange(0, 1, min_open=True), default=1e-2, show_default=True,
              help="Bop2ndOrder second-moment rate.")
@click.option("--eta", type=click.FloatRange(min=0, min_open=True), default=3000.0, show_default=True,
              help="PBop step size of the logits.")
@click.option("--stochastic", type=click.Choice(["off", "weights", "all"]), default="off", show_default=True,
              help="Stochastic binarization in training (+1 with probability clip((x+1)/2, 0, 1)): of the "
                   "latent weights, or of weights and activations (all). Eval and export stay deterministic.")
@click.option("--width", type=click.IntRange(8), default=256, show_default=True,
              help="MLP hidden width; the CNN uses width/8, width/4, width/4 channels; the mixed nets a "
                   "width/16 channel stem.")
@click.option("--real-first/--binary-first", "real_first", default=None,
              help="Float32 first layer [default: real for the mixed nets, binary weights for mlp/cnn].")
@click.option("--real-last/--binary-last", "real_last", default=None,
              help="Float32 classifier [default: as the first layer].")
@click.option("--agc", type=click.FloatRange(min=0), default=None,
              help=f"Adaptive gradient clipping factor, 0 = off [default: {DEFAULT_AGC} for bnfree, else 0].")
@click.option("--epochs", type=click.IntRange(1), default=30, show_default=True)
@click.option("--ste", type=click.Choice(["identity", "clipped", "approx", "swish"]), default="clipped",
              show_default=True, help="Backward pass of the sign activation.")
@click.option("--xnor-scale", is_flag=True,
              help="Scale binary weights by mean|W| per output channel (adam only; Bop weights are +-1).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--split-seed", type=int, default=None,
              help="Seed of the digits train/test split [default: --seed]; the studies fix it at 0.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), default=Path("model.onnx"),
              show_default=True, help="ONNX file to write.")
@click.option("--metrics", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write config, per-epoch accuracy and export checks as JSON here.")
@click.option("--dynamo/--legacy", default=False, show_default=True, help="ONNX exporter to use.")
@click.option("--external-data", is_flag=True, help="With --dynamo: weights in OUTPUT.data next to the ONNX file.")
@click.option("--verify", is_flag=True, help="Compile the exported model and check the C against onnxruntime.")
@click.option("--verify-on", "verify_on", multiple=True, default=("host",), show_default=True,
              type=click.Choice(["host", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33",
                                 "cortex-m55"]),
              help="Where --verify runs the C (repeat the option for several targets).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="tqdm progress bar.")
@user_errors
def train_command(arch, dataset, mnist_dir, optimizer, schedules, batch_size, lr, tau, gamma, sigma, eta,
                  stochastic, width, real_first, real_last, agc, epochs, ste, xnor_scale, seed, split_seed, output,
                  metrics, dynamo, external_data, verify, verify_on, progress):
    """Train a binary network and export it as ONNX for `bnncc compile`."""
    try:
        import torch
    except ImportError as exc:
        raise BnnccError("`bnncc train` needs PyTorch: pip install 'bnncc[train]'") from exc
    from bnncc.train.data import load_digits_split, load_mnist
    from bnncc.train.export import export_onnx, sign_input_zero_fraction
    from bnncc.train.trainer import TrainConfig, build_model, model_input, train_model

    if arch == "float-mlp" and (optimizer != "adam" or stochastic != "off" or xnor_scale):
        raise BnnccError("--arch float-mlp has no binary weights: use --optimizer adam without --stochastic "
                         "or --xnor-scale")
    if xnor_scale and optimizer != "adam":
        raise BnnccError("--xnor-scale needs --optimizer adam: Bop trains weights that are exactly +-1")
    if arch == "bnfree" and optimizer != "adam":
        raise BnnccError("--arch bnfree needs --optimizer adam: it standardizes latent weights, which Bop lacks")
    if external_data and not dynamo:
        raise BnnccError("--external-data needs --dynamo")
    if stochastic != "off" and optimizer != "adam":
        raise BnnccError(f"--stochastic {stochastic} needs --optimizer adam: it samples latent weights, "
                         f"which {optimizer} does not have")
    schedule, per_name = _parse_schedules(schedules)
    if dataset == "mnist":
        if mnist_dir is None:
            raise BnnccError("--dataset mnist needs --mnist-dir pointing at the MNIST IDX files")
        split = load_mnist(mnist_dir)
    else:
        split = load_digits_split(seed=seed if split_seed is None else split_seed)
    config = TrainConfig(arch=arch, optimizer=optimizer, schedule=schedule, epochs=epochs, batch_size=batch_size,
                         lr=lr, tau=DEFAULT_TAU[optimizer] if tau is None else tau, sigma=sigma, eta=eta,
                         gamma=DEFAULT_GAMMA.get(optimizer, 1e-3) if gamma is None else gamma,
                         stochastic=stochastic, schedules=per_name or None,
                         width=width, ste=ste, scale=xnor_scale, seed=seed, real_first=real_first,
                         real_last=real_last,
                         agc=(DEFAULT_AGC if arch == "bnfree" else 0.0) if agc is None else agc)
    torch.manual_seed(seed)
    try:
        model = build_model(config, split.num_features, split.image_size)
        from bnncc.train.trainer import build_optimizers

        build_optimizers(model, config)  # rejects a schedule of a hyper-parameter the optimizer lacks
    except ValueError as exc:
        raise BnnccError(f"--schedule: {exc}") from None
    history = train_model(model, split, config, progress=progress)
    accuracy = history[-1]["test_acc"]
    click.echo(f"test accuracy {accuracy:.4f} on {len(split.y_test)} held-out samples after {epochs} epochs")

    x_test = model_input(split.x_test, arch, split.image_size)
    check_inputs = x_test[:VERIFY_SAMPLES]
    check = export_onnx(model, x_test[:1], output, dynamo=dynamo, check_inputs=check_inputs,
                        external_data=external_data)
    click.echo(f"wrote {output} (onnxruntime matches torch on {check.samples} samples, "
               f"max |diff| {check.max_abs_diff:.2g})")
    result = dict(config=config.to_dict(), dataset=dataset, test_accuracy=accuracy, history=history,
                  onnx=str(output), onnx_check=dict(samples=check.samples, max_abs_diff=check.max_abs_diff,
                                                    argmax_agree=check.argmax_agree),
                  sign_zero_fraction=sign_input_zero_fraction(model, x_test))
    if verify:
        result["verify"] = {target: _verify(output, check_inputs.numpy(), target) for target in verify_on}
        result["verify_ok"] = all(result["verify"].values())
    if metrics is not None:
        metrics.parent.mkdir(parents=True, exist_ok=True)
        metrics.write_text(json.dumps(result, indent=2) + "\n")
    if verify and not result["verify_ok"]:
        click.echo(f"the compiled C of {output} does not match onnxruntime (see `bnncc verify {output}`)", err=True)
        sys.exit(1)


def _parse_schedules(specs) -> tuple[str, dict[str, str]]:
    """('cosine', {'tau': 'cosine:1e-3:1e-5'}) from the --schedule values; BnnccError on a malformed one."""
    from bnncc.train.schedules import parse_schedule

    kind, per_name = "cosine", {}
    for spec in specs:
        if "=" not in spec:
            if spec not in SCHEDULE_KINDS:
                raise BnnccError(f"--schedule {spec}: expected one of {', '.join(SCHEDULE_KINDS)} or NAME=SPEC")
            kind = spec
            continue
        name, _, rest = spec.partition("=")
        if name not in ("lr", "gamma", "sigma", "tau", "eta"):
            raise BnnccError(f"--schedule {spec}: cannot schedule '{name}' (lr, gamma, sigma, tau or eta)")
        try:
            parse_schedule(rest, 1.0, 2)
        except ValueError as exc:
            raise BnnccError(f"--schedule {spec}: {exc}") from None
        per_name[name] = rest
    return kind, per_name


def _verify(onnx_path: Path, inputs, target: str) -> bool:
    try:
        from bnncc.verify import verify_model
    except ImportError as exc:
        raise BnnccError("--verify needs bnncc.verify, which this installation lacks") from exc
    report = verify_model(str(onnx_path), inputs=inputs, target=target)
    click.echo(f"verify ({target} C vs onnxruntime, {report.samples} inputs, argmax {report.argmax_agree}/"
               f"{report.samples}): {'ok' if report.ok else 'MISMATCH'}")
    return bool(report.ok)
