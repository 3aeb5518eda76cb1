"""ONNX export of trained binary models in the form the bnncc compiler accepts, checked with onnxruntime.

Contract of the written file: batch 1, opset >= 13, binary weights as +-1 initializers (latent weights are
binarized before export by `layers.deploy_copy`, so no where(W >= 0) subgraph is left; the legacy exporter
only adds a Transpose of a Linear weight, a constant the bnncc frontend folds), the activation binarizer as
GreaterOrEqual + Where (0 -> +1), BatchNormalization kept (legacy exporter) or folded into Conv/Gemm (dynamo
exporter, weights then +-c per output channel). Outputs are the logits. Nothing is written when a check fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bnncc.errors import BnnccError
from bnncc.train.layers import deploy_copy

DEFAULT_OPSET = 13
DYNAMO_OPSET = 18  # the dynamo exporter's native opset (lower ones go through onnx's version converter)


@dataclass(frozen=True)
class ExportCheck:
    """Result of comparing onnxruntime with torch's eval outputs on the check inputs."""

    samples: int
    max_abs_diff: float
    argmax_agree: int

    @property
    def ok(self) -> bool:
        return self.argmax_agree == self.samples and self.max_abs_diff <= 1e-4


def export_onnx(model: nn.Module, example_input: torch.Tensor, path: str | os.PathLike, dynamo: bool = False,
                opset: int | None = None, check_inputs: np.ndarray | torch.Tensor | None = None,
                external_data: bool = False) -> ExportCheck:
    """Write `model` (in eval mode) as ONNX at `path` and check it against torch with onnxruntime.

    example_input: one sample with batch dimension 1. check_inputs: more samples in the same layout
    (N, ...) to compare on (each is run at batch 1); defaults to the example input alone.
    external_data (dynamo only): the weights go to `<path>.data` next to the file (torch's default layout for
    large models; onnx.load and onnxruntime find it through the relative location stored in the file).
    Raises BnnccError when onnxruntime and torch disagree (argmax, or logits by more than 1e-4).
    """
    if external_data and not dynamo:
        raise BnnccError("external_data needs the dynamo exporter (dynamo=True)")
    path = Path(path)
    example_input = torch.as_tensor(example_input, dtype=torch.float32)
    if example_input.shape[0] != 1:
        raise BnnccError(f"example_input must have batch size 1, got shape {tuple(example_input.shape)}")
    was_training = model.training
    model.eval()
    deployed = deploy_copy(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a scratch folder under the final name (an external-data file records its companion's name)
    # and moved next to `path` only once every check passed.
    scratch = Path(tempfile.mkdtemp(prefix=".bnncc-export-", dir=path.parent))
    partial = scratch / path.name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if dynamo:
                _export_dynamo(deployed, example_input, partial, opset or DYNAMO_OPSET, external_data)
            else:
                # No constant folding: it would fuse Conv+BN (weights +-c_c, sign flips where gamma < 0);
                # the weights are plain +-1 initializers already, so nothing else needs folding.
                torch.onnx.export(deployed, (example_input,), str(partial), dynamo=False,
                                  opset_version=opset or DEFAULT_OPSET, input_names=["input"],
                                  output_names=["logits"], do_constant_folding=False)
        _check_onnx_file(partial)
        inputs = example_input if check_inputs is None else torch.as_tensor(check_inputs, dtype=torch.float32)
        check = compare_with_onnxruntime(model, partial, inputs)
        if not check.ok:
            raise BnnccError(
                f"exported {path} disagrees with torch: max |diff| {check.max_abs_diff:.3g}, "
                f"argmax agrees on {check.argmax_agree}/{check.samples}")
        data = partial.with_name(partial.name + ".data")
        stale = path.with_name(path.name + ".data")
        if data.exists():
            data.replace(stale)
        else:
            stale.unlink(missing_ok=True)  # an earlier external-data export of the same name
        partial.replace(path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        model.train(was_training)
    return check


def _export_dynamo(model: nn.Module, example_input: torch.Tensor, path: Path, opset: int,
                   external_data: bool = False) -> None:
    program = torch.onnx.export(model, (example_input,), dynamo=True, opset_version=opset,
                                input_names=["input"], output_names=["logits"], optimize=True)
    # By default keep the weights inside the .onnx file (one file to hand to the compiler).
    program.save(str(path), external_data=external_data)
    strip_node_metadata(path)


def strip_node_metadata(path: Path) -> None:
    """Drop the per-node provenance the dynamo exporter records (module path, FX node text): about 1 KiB per
    node, most of a small model's file. External-data references are left as they are."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for node in model.graph.node:
        del node.metadata_props[:]
    onnx.save(model, str(path))


def _check_onnx_file(path: Path) -> None:
    """onnx's structural checker plus the compiler's input contract (batch 1, opset >= 13)."""
    import onnx

    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < 13:
        raise BnnccError(f"{path} was written with opset {opset}; bnncc needs opset 13 or newer")
    first_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    if first_dim.dim_value != 1:
        raise BnnccError(f"{path} has a dynamic or non-1 batch dimension; bnncc compiles batch 1")


def compare_with_onnxruntime(model: nn.Module, path: str | os.PathLike, inputs: torch.Tensor) -> ExportCheck:
    """Run every sample of `inputs` (N, ...) at batch 1 through onnxruntime and torch (eval) and compare."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    model.eval()
    with torch.no_grad():
        expected = model(inputs).numpy()
    got = np.concatenate([session.run(None, {input_name: inputs[i:i + 1].numpy()})[0]
                          for i in range(len(inputs))])
    return ExportCheck(samples=len(inputs), max_abs_diff=float(np.max(np.abs(got - expected))),
                       argmax_agree=int(np.sum(got.argmax(axis=1) == expected.argmax(axis=1))))


@torch.no_grad()
def sign_input_zero_fraction(model: nn.Module, inputs: torch.Tensor) -> dict[str, float]:
    """Per SignActivation: the fraction of its inputs that are exactly 0 (where sign conventions disagree)."""
    from bnncc.train.layers import SignActivation

    counts: dict[str, list[int]] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, SignActivation):
            counts[name] = [0, 0]

            def hook(mod, args, _out, key=name):
                x = args[0]
                counts[key][0] += int((x == 0).sum())
                counts[key][1] += x.numel()

            hooks.append(module.register_forward_hook(hook))
    model.eval()
    try:
        for begin in range(0, len(inputs), 1024):  # chunks: a big CNN batch would not fit in memory
            model(inputs[begin:begin + 1024])
    finally:
        for h in hooks:
            h.remove()
    return {name: zeros / max(total, 1) for name, (zeros, total) in counts.items()}


def onnx_op_types(path: str | os.PathLike) -> list[str]:
    """The op types of the graph's nodes, in order (for tests and the README)."""
    import onnx

    return [node.op_type for node in onnx.load(str(path)).graph.node]
