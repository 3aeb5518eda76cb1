"""Print the per-core tables of the README: exactness, speed, flash and RAM on six emulated cores.

    python examples/bench/cortex_m_table.py [--cores cortex-m4,cortex-m55] [--inputs 20]
    python examples/bench/cortex_m_table.py --speed [--models conv64,dense1024,vgg_small] [--cores ...]

Default table, for every core:
- the two digits example models run on the first N shipped inputs and are compared with onnxruntime;
- the acceptance layer conv64.onnx (binary 3x3 conv, 64 -> 64, 16x16, pad 1, whole inference with
  packing and unpacking) gives binary MACs per instruction;
- the example CNN gives the runtime's flash at -Os and its RAM (arena + measured stack).

--speed: every bench model on every core (whole network at -O2): binary MACs per instruction,
instructions per inference, flash (model + runtime), RAM (data + bss of model and runtime) and the
measured stack high-water; --layers adds each layer's kernel and MACs per instruction. The models:
- conv64: examples/bench/conv64.onnx (make_conv64.py);
- dense1024: a binary dense 1024 -> 1024 (make_dense1024.py);
- vgg_small: the BinaryNet VGG-small on 3x32x32 (make_vgg_small.py; random +-1 weights);
- vgg_small_u8 / vgg_small_u8c: the same on a uint8 image, x.float() / 255 or (x.float() - 128) / 128
  (make_vgg_small.py --uint8 / --uint8-centered: conv1 on the integers);
- cnn: the example digits CNN.
The generated ones are built from their scripts (fixed seeds) into a temporary folder.
Instruction counts are exact guest instructions from QEMU (identical from run to run); they are
instructions, not cycles.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

from bnncc.compiler import compile_model
from bnncc.targets.bench import bench_model
from bnncc.verify import verify_model

HERE = Path(__file__).resolve().parent
DIGITS = HERE.parent / "digits"
CORES = ["cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"]
MODELS = ["conv64", "dense1024", "vgg_small", "cnn"]


def model_path(name: str, folder: Path) -> Path:
    """The ONNX file of bench model name (generated ones are written into folder)."""
    if name == "conv64":
        return HERE / "conv64.onnx"
    if name == "cnn":
        return DIGITS / "cnn.onnx"
    sys.path.insert(0, str(HERE))
    try:
        builder = __import__(f"make_{name.removesuffix('_u8c').removesuffix('_u8')}")
    finally:
        sys.path.remove(str(HERE))
    path = folder / f"{name}.onnx"
    if not path.exists():
        uint8 = {"_u8": dict(uint8=True), "_u8c": dict(uint8=True, centered=True)}.get(name[name.rfind("_"):], {})
        onnx.save(builder.build(**uint8), path)
    return path


FAST_REAL_CONV = False  # --fast-real-conv: the grouped float order of the first layer


def bench(model: Path, core: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        compiled = compile_model(model, Path(tmp), "net", core=core, fast_real_conv=FAST_REAL_CONV)
        layers = [{"name": l.name, "op": l.op, "binary_macs": l.binary_macs} for l in compiled.layers]
        result = bench_model(Path(tmp), compiled.name, core, layers)
        for row, layer in zip(result["layers"], compiled.layers):
            row["kernel"] = layer.op
        return result


def exactness_table(cores: list[str], n_inputs: int) -> None:
    inputs = np.load(DIGITS / "inputs.npy")[:n_inputs]
    print("| core | MLP exact (argmax) | CNN exact (argmax) | conv64 bMAC/instr | CNN instr/inference | "
          "CNN runtime flash -Os | CNN model flash -Os | CNN RAM = arena + stack |")
    print("|---|---|---|---|---|---|---|---|")
    for core in cores:
        cells = [core]
        for name in ("mlp", "cnn"):
            report = verify_model(DIGITS / f"{name}.onnx", inputs=inputs, target=core)
            status = "yes" if report.ok else "NO"
            cells.append(f"{status} ({report.argmax_agree}/{report.samples})")
        conv = bench(HERE / "conv64.onnx", core)
        cells.append(f"{conv['total']['macs_per_instruction']:.2f}")
        cnn = bench(DIGITS / "cnn.onnx", core)
        os_mem = cnn["memory"]["Os"]
        cells.append(f"{cnn['total']['instructions']:,}")
        cells.append(f"{os_mem['runtime']['flash']:,} B")
        cells.append(f"{os_mem['model']['flash']:,} B")
        cells.append(f"{cnn['arena_bytes'] + cnn['stack_bytes']:,} B = {cnn['arena_bytes']:,} + {cnn['stack_bytes']:,}")
        print("| " + " | ".join(cells) + " |", flush=True)


def speed_table(cores: list[str], models: list[str], layers: bool) -> None:
    print("| model | core | binary MACs / instr | instr / inference | flash (model + runtime) -O2 | "
          "RAM (model + runtime) | stack |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in models:
            path = model_path(name, Path(tmp))
            for core in cores:
                r = bench(path, core)
                mem = r["memory"]["O2"]
                flash = mem["model"]["flash"] + mem["runtime"]["flash"]
                ram = mem["model"]["ram"] + mem["runtime"]["ram"]
                print(f"| {name} | {core} | {r['total']['macs_per_instruction']:.2f} | "
                      f"{r['total']['instructions']:,} | {flash:,} B | {ram:,} B | {r['stack_bytes']:,} B |",
                      flush=True)
                if layers:
                    for row in r["layers"]:
                        print(f"|   {row['name']} | {row['kernel']} | {row['macs_per_instruction']:.2f} | "
                              f"{row['instructions']:,} | | | |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", default=",".join(CORES))
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--speed", action="store_true", help="the speed table of the bench models")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--layers", action="store_true", help="with --speed: one row per layer too")
    parser.add_argument("--fast-real-conv", action="store_true", help="compile with bnncc's --fast-real-conv")
    args = parser.parse_args()
    global FAST_REAL_CONV
    FAST_REAL_CONV = args.fast_real_conv
    cores = args.cores.split(",")
    if args.speed:
        speed_table(cores, args.models.split(","), args.layers)
    else:
        exactness_table(cores, args.inputs)


if __name__ == "__main__":
    main()
