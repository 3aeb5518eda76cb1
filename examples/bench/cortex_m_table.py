"""Print the per-core table of the README: exactness, speed, flash and RAM on six emulated cores.

    python examples/bench/cortex_m_table.py [--cores cortex-m4,cortex-m55] [--inputs 20]

For every core:
- the two digits example models run on the first N shipped inputs and are compared with onnxruntime;
- the acceptance layer conv64.onnx (binary 3x3 conv, 64 -> 64, 16x16, pad 1, whole inference with
  packing and unpacking) gives binary MACs per instruction;
- the example CNN gives the runtime's flash at -Os and its RAM (arena + measured stack).
Instruction counts are exact guest instructions from QEMU (identical from run to run).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from bnncc.compiler import compile_model
from bnncc.targets.bench import bench_model
from bnncc.verify import verify_model

HERE = Path(__file__).resolve().parent
DIGITS = HERE.parent / "digits"
CORES = ["cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"]


def bench(model: Path, core: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        compiled = compile_model(model, Path(tmp), "net")
        layers = [{"name": l.name, "op": l.op, "binary_macs": l.binary_macs} for l in compiled.layers]
        return bench_model(Path(tmp), compiled.name, core, layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", default=",".join(CORES))
    parser.add_argument("--inputs", type=int, default=20)
    args = parser.parse_args()
    inputs = np.load(DIGITS / "inputs.npy")[: args.inputs]
    print("| core | MLP exact (argmax) | CNN exact (argmax) | conv64 bMAC/instr | CNN instr/inference | "
          "CNN runtime flash -Os | CNN model flash -Os | CNN RAM = arena + stack |")
    print("|---|---|---|---|---|---|---|---|")
    for core in args.cores.split(","):
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


if __name__ == "__main__":
    main()
