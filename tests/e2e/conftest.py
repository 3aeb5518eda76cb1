import tempfile
from pathlib import Path

import numpy as np
import onnx

from bnncc.compiler import compile_model
from bnncc.targets.run import run_inputs
from bnncc.verify import Reference, compare, random_inputs


def compile_and_run(model: onnx.ModelProto, inputs: np.ndarray | None = None, samples: int = 300, seed: int = 0):
    """Compile a model proto, run it natively, return (C outputs, bnncc-convention reference, zeros)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "m.onnx"
        onnx.save(model, path)
        compiled = compile_model(path, tmp / "out", name="net")
        if inputs is None:
            inputs = random_inputs(compiled.input_size, samples, seed)
        c_out = run_inputs(tmp / "out", "net", "host", inputs)
        original, convention, zeros = Reference(path).run(inputs)
    return c_out, convention, original, zeros


def assert_bit_exact(model, **kwargs):
    c_out, ref, original, zeros = compile_and_run(model, **kwargs)
    close, max_diff, worst, argmax = compare(c_out, ref)
    assert close.all(), f"{(~close).sum()} mismatching inputs, max diff {max_diff}, worst ratio {worst}"
    assert argmax.all()
    return c_out, ref
