"""The compact (-Os) build of a generated model: the compiler copies bnn_popcount.c (the shared
popcount of BNN_COMPACT) with the kernels that call it, the folder links warning-free with a
bare `cc -Os *.c`, and its outputs equal the -O2 build bit for bit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.tools import require_tools

from bnncc.compiler import compile_model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "digits"
STRICT = ["-std=c99", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-pedantic"]
# Runs the model on a few deterministic inputs and prints every output float as raw hex.
MAIN_C = r"""
#include <stdio.h>
#include <string.h>
#include "net.h"
int main(void)
{
    static float in[NET_INPUT_SIZE], out[NET_OUTPUT_SIZE];
    unsigned s = 12345u;
    int n, i;
    for (n = 0; n < 8; ++n) {
        for (i = 0; i < NET_INPUT_SIZE; ++i) {
            s = s * 1103515245u + 12345u;
            in[i] = (float)((int)(s >> 16) % 2001 - 1000) / 500.0f;
        }
        net_run(in, out);
        for (i = 0; i < NET_OUTPUT_SIZE; ++i) {
            unsigned u;
            memcpy(&u, &out[i], sizeof u);
            printf("%08x\n", u);
        }
    }
    return 0;
}
"""


@pytest.mark.parametrize("model", ["cnn", "mlp"])
def test_compact_build_links_and_matches_o2(tmp_path, model):
    require_tools("gcc")
    out = tmp_path / "out"
    compile_model(EXAMPLES / f"{model}.onnx", out, name="net")
    assert (out / "bnn_popcount.c").exists()
    (out / "main.c").write_text(MAIN_C)
    sources = sorted(str(p) for p in out.glob("*.c"))
    results = []
    for opt in ("-O2", "-Os"):
        exe = tmp_path / f"net{opt}"
        build = subprocess.run(["gcc", *STRICT, opt, *sources, "-o", str(exe)],
                               capture_output=True, text=True)
        assert build.returncode == 0 and build.stderr == "", build.stderr
        run = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
        results.append(run.stdout)
    assert results[0] == results[1]
    assert len(results[0].split()) == 8 * 10
