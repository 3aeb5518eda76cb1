"""Bad input never gives a traceback: exit code 2, one `error: ...` message naming the cause, nothing written.

The catalogue (tests/cli/bad_models.py) holds well over 200 seeded malformed or unsupported ONNX inputs.
Every one goes through `bnncc compile` in-process (click's CliRunner, for speed); a sample also goes
through `inspect` and `verify`, and a handful through a real `python -m bnncc.cli` subprocess so that
stderr is exactly what a user sees. Seeded random mutants of valid models (tests/cli/mutants.py) check
the weaker promise for inputs that may or may not be valid: a clean compile or a clean error.

Run: python -m pytest tests/cli -q   (about 20 s on 2 cores)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import helper

from bnncc.cli import main
from tests.cli.bad_models import BadCase, all_cases
from tests.cli.mutants import mutants
from tests.helpers.onnx_models import ModelBuilder, mlp

REPO = Path(__file__).resolve().parents[2]
CASES = all_cases()
BY_NAME = {case.name: case for case in CASES}


def _sample(cases: list[BadCase], every: int) -> list[BadCase]:
    """Every `every`-th case plus the first of each category, so each category is covered."""
    firsts = {}
    for case in cases:
        firsts.setdefault(case.category, case.name)
    return [c for i, c in enumerate(cases) if i % every == 0 or c.name in firsts.values()]


def _snapshot(folder: Path) -> dict[str, bytes | str | None]:
    """Every path under folder with its bytes (None for folders, the target for symlinks)."""
    def content(path: Path):
        if path.is_symlink():
            return "-> " + Path(os.readlink(path)).name
        return None if path.is_dir() else path.read_bytes()

    return {str(p.relative_to(folder)): content(p) for p in folder.rglob("*")}


def _assert_rejected(case: BadCase, exit_code: int, stdout: str, stderr: str) -> None:
    both = stdout + stderr
    assert "Traceback" not in both, both
    assert exit_code == 2, f"{case.name}: exit {exit_code}\n{both}"
    assert stderr.startswith("error: "), f"{case.name}: stderr does not start with 'error: ':\n{stderr}"
    assert "internal error" not in stderr, stderr
    assert stderr.count("error:") == 1, f"{case.name}: more than one error line:\n{stderr}"
    assert "Warning" not in stderr, f"{case.name}: stray warning on stderr:\n{stderr}"
    assert re.search(case.cause, stderr, re.IGNORECASE), f"{case.name}: message misses /{case.cause}/:\n{stderr}"
    for needle in case.nodes:
        assert needle in stderr, f"{case.name}: message does not list {needle!r}:\n{stderr}"


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.delenv("BNNCC_DEBUG", raising=False)  # the debug switch re-raises on purpose
    return CliRunner()


# ------------------------------------------------------------------------------------- the catalogue
def test_catalogue_has_at_least_200_cases_in_every_category():
    assert len(CASES) >= 200
    categories = {case.category for case in CASES}
    assert {"missing", "garbage", "truncated", "wrong-message", "checker", "unsupported", "non-binary", "shape",
            "structure", "form", "external"} <= categories


def test_catalogue_is_deterministic(tmp_path):
    """The same seed writes the same bytes; another seed changes the seeded ones."""
    again = all_cases()
    other = {c.name: c for c in all_cases(seed=7)}
    changed = 0
    for case, twin in zip(CASES, again):
        assert case.name == twin.name
        first, second = tmp_path / "a" / case.name, tmp_path / "b" / case.name
        first.mkdir(parents=True)
        second.mkdir(parents=True)
        case.write(first)
        twin.write(second)
        assert _snapshot(first) == _snapshot(second)
        if case.name in other:
            third = tmp_path / "c" / case.name
            third.mkdir(parents=True)
            other[case.name].write(third)
            changed += _snapshot(third) != _snapshot(first)
    assert changed > 100


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_compile_rejects_with_exit_2_and_writes_nothing(case: BadCase, runner, tmp_path):
    model = case.write(tmp_path)
    out_dir = tmp_path / "out"
    before = _snapshot(tmp_path)
    result = runner.invoke(main, ["compile", str(model), "-o", str(out_dir)])
    _assert_rejected(case, result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert not out_dir.exists()
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("case", _sample(CASES, 3), ids=lambda c: c.name)
def test_inspect_rejects(case: BadCase, runner, tmp_path):
    model = case.write(tmp_path)
    before = _snapshot(tmp_path)
    result = runner.invoke(main, ["inspect", str(model)])
    _assert_rejected(case, result.exit_code, result.stdout, result.stderr)
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("case", _sample(CASES, 5), ids=lambda c: c.name)
def test_verify_rejects(case: BadCase, runner, tmp_path):
    model = case.write(tmp_path)
    before = _snapshot(tmp_path)
    result = runner.invoke(main, ["verify", str(model), "--samples", "2"])
    _assert_rejected(case, result.exit_code, result.stdout, result.stderr)
    assert _snapshot(tmp_path) == before


def _first_of(category: str) -> BadCase:
    return next(c for c in CASES if c.category == category)


SUBPROCESS_RUNS = [
    ("compile", _first_of("missing")),
    ("compile", _first_of("garbage")),
    ("compile", _first_of("truncated")),
    ("compile", BY_NAME["unsupported-3-at-once-1"]),
    ("inspect", BY_NAME["nonbinary-gemm-gaussian-nan"]),
    ("verify", BY_NAME["external-missing"]),
]


@pytest.mark.parametrize("command,case", SUBPROCESS_RUNS, ids=[f"{cmd}-{c.name}" for cmd, c in SUBPROCESS_RUNS])
def test_real_process_prints_one_error_and_no_traceback(command: str, case: BadCase, tmp_path):
    model = case.write(tmp_path)
    args = [str(model)] + (["-o", str(tmp_path / "out")] if command == "compile" else [])
    env = {k: v for k, v in os.environ.items() if k != "BNNCC_DEBUG"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    before = _snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "bnncc.cli", command, *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    _assert_rejected(case, proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert _snapshot(tmp_path) == before


# ------------------------------------------------------------------------- what the messages say
def test_unsupported_ops_are_listed_all_at_once_in_graph_order(runner, tmp_path):
    b = ModelBuilder((16,), seed=3)
    x = b.gemm(b.start(), 16, 12)
    b.nodes.append(helper.make_node("Erf", [x], ["r"], name="act/erf"))
    b.nodes.append(helper.make_node("Elu", ["r"], ["l"], name="act/elu", alpha=0.1))
    b.nodes.append(helper.make_node("Tanh", ["l"], ["t"], name="act/tanh"))
    y = b.batchnorm(b.gemm("t", 12, 10), 10, fan_in=12)
    onnx.save(b.build(y), tmp_path / "m.onnx")
    result = runner.invoke(main, ["compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: the model uses 3 unsupported construct(s):",
        "  node 'act/erf' (op Erf): operator not supported",
        "  node 'act/elu' (op Elu): operator not supported",
        "  node 'act/tanh' (op Tanh): operator not supported",
    ]
    assert not (tmp_path / "out").exists()


def test_non_binary_weight_compiles_as_a_float_layer_and_inspect_says_why(runner, tmp_path):
    b = ModelBuilder((16,), seed=4)
    w = np.where(b.rng.standard_normal((10, 16)) >= 0, 1.0, -1.0)
    w[6, 2] *= 1.02  # 2 % off: beyond the 0.5 % a folded scale may drift
    y = b.node("Gemm", [b.start(), b.const(w)], transB=1)
    b.nodes[-1].name = "classifier"
    onnx.save(b.build(y), tmp_path / "m.onnx")
    result = runner.invoke(main, ["inspect", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert "bnn_dense_f32w_f32" in result.stdout
    assert "weights not +-alpha per channel: 2 distinct magnitudes in output channel 6" in result.stdout
    assert "1.02" in result.stdout


def test_dynamic_spatial_shape_names_the_input_and_dimension(runner, tmp_path):
    case = BY_NAME["dynamic-W"]
    result = runner.invoke(main, ["compile", str(case.write(tmp_path)), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr == "error: input 'input' has a dynamic dimension 3 ('W'); export with a fixed spatial shape\n"


def test_existing_output_folder_is_left_untouched(runner, tmp_path):
    """A failed compile into a folder that already holds files changes none of them."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("user data")
    model = BY_NAME["unsupported-Tanh"].write(tmp_path)
    before = _snapshot(tmp_path)
    result = runner.invoke(main, ["compile", str(model), "-o", str(out_dir)])
    assert result.exit_code == 2
    assert _snapshot(tmp_path) == before


def test_output_path_that_is_a_file_is_rejected_before_writing(runner, tmp_path):
    onnx.save(mlp(), tmp_path / "good.onnx")
    (tmp_path / "out").write_text("not a folder")
    result = runner.invoke(main, ["compile", str(tmp_path / "good.onnx"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: output path") and "is not a folder" in result.stderr
    assert (tmp_path / "out").read_text() == "not a folder"


def test_unwritable_output_folder_is_an_error_not_a_crash(runner, tmp_path):
    onnx.save(mlp(), tmp_path / "good.onnx")
    (tmp_path / "file.txt").write_text("x")  # a file as parent: fails even for root, unlike chmod
    out_dir = tmp_path / "file.txt" / "out"
    result = runner.invoke(main, ["compile", str(tmp_path / "good.onnx"), "-o", str(out_dir)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: cannot access") and "file.txt" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("inputs,cause", [
    (None, r"cannot read inputs"),
    (np.zeros(7, np.float32), r"not a multiple of the input size 64"),
    (np.array([{"a": 1}], dtype=object), r"cannot read inputs"),
], ids=["missing", "wrong-size", "pickled"])
def test_verify_rejects_bad_inputs_file(inputs, cause, runner, tmp_path):
    onnx.save(mlp(), tmp_path / "good.onnx")
    path = tmp_path / "inputs.npy"
    if inputs is not None:
        np.save(path, inputs, allow_pickle=True)
    result = runner.invoke(main, ["verify", str(tmp_path / "good.onnx"), "--inputs", str(path)])
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and re.search(cause, result.stderr), result.stderr


# ---------------------------------------------------------------------------- seeded random mutants
@pytest.mark.parametrize("seed", [1])
def test_seeded_mutants_compile_or_fail_cleanly(seed, runner, tmp_path):
    """Random damage to valid models: either a clean compile or `error:` + exit 2, never a crash."""
    outcomes = {0: 0, 2: 0}
    for index, (what, data) in enumerate(mutants(seed, 100)):
        path = tmp_path / f"m{index}.onnx"
        path.write_bytes(data)
        result = runner.invoke(main, ["inspect", str(path)])
        assert "Traceback" not in result.output, what
        assert result.exit_code in (0, 2), f"{what}: exit {result.exit_code}\n{result.output}"
        if result.exit_code == 2:
            assert result.stderr.startswith("error: ") and "internal error" not in result.stderr, what
        else:
            assert result.stderr == "", what
        outcomes[result.exit_code] += 1
    assert outcomes[2] > 25 and outcomes[0] > 5  # the mix really exercises both paths
