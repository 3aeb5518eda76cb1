"""The generated C: warning-free under gcc and clang, byte-identical, `cc *.c` is enough."""

import subprocess

import onnx
import pytest

from tests.helpers.tools import require_tools

from bnncc.compiler import compile_model
from tests.helpers.onnx_models import cnn, mlp

STRICT = ["-std=c99", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
@pytest.mark.parametrize("make", [cnn, mlp])
def test_generated_c_builds_warning_free_with_bare_cc(tmp_path, compiler, make):
    require_tools(compiler)
    onnx.save(make(seed=7), tmp_path / "m.onnx")
    out = tmp_path / "out"
    compile_model(tmp_path / "m.onnx", out, name="net")
    (out / "main.c").write_text('#include "net.h"\nint main(void){static float i[NET_INPUT_SIZE], '
                                'o[NET_OUTPUT_SIZE]; return net_run(i, o);}\n')
    sources = sorted(str(p) for p in out.glob("*.c"))
    subprocess.run([compiler, *STRICT, *sources, "-o", str(tmp_path / "a.out")], check=True, cwd=out)
    assert subprocess.run([str(tmp_path / "a.out")]).returncode == 0


def test_output_is_byte_identical(tmp_path):
    onnx.save(cnn(seed=8), tmp_path / "m.onnx")
    compile_model(tmp_path / "m.onnx", tmp_path / "a", name="net")
    compile_model(tmp_path / "m.onnx", tmp_path / "b", name="net")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_no_malloc_const_weights_one_static_arena(tmp_path):
    onnx.save(cnn(seed=9), tmp_path / "m.onnx")
    compile_model(tmp_path / "m.onnx", tmp_path / "o", name="net")
    text = (tmp_path / "o" / "net.c").read_text()
    assert "malloc" not in text
    static_decls = [line for line in text.splitlines() if line.startswith("static ")]
    assert all(line.startswith("static const ") for line in static_decls if "union" not in line)
    assert sum("union" in line for line in static_decls) == 1


def test_identifiers_from_onnx_names_are_sanitized(tmp_path):
    model = mlp(seed=10)
    for index, node in enumerate(model.graph.node):
        node.name = f"/weird name {index}/*evil*/-x"
    onnx.save(model, tmp_path / "m.onnx")
    compile_model(tmp_path / "m.onnx", tmp_path / "o", name="1 bad-name!")
    files = sorted(p.name for p in (tmp_path / "o").glob("*.h"))
    assert "n1_bad_name.h" in files
    text = (tmp_path / "o" / "n1_bad_name.c").read_text()
    assert "*evil*/" not in text
    subprocess.run(["gcc", *STRICT, "-c", "n1_bad_name.c"], check=True, cwd=tmp_path / "o")
