"""The `bnncc bench` click command, with the compiler replaced by a copy of the dummy model."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from bnncc.targets.bench import bench_command
from tests.targets.conftest import copy_model, needs_qemu


@dataclass
class _Layer:
    name: str
    op: str
    binary_macs: int


@dataclass
class _Compiled:
    name: str
    layers: list


@pytest.fixture
def fake_compiler(monkeypatch):
    """bnncc.compiler.compile_model that 'compiles' any file into the dummy model."""
    calls = []

    def compile_model(model_path, out_dir, name=None, core=None, fast_real_conv=False):
        calls.append((model_path, name))
        copy_model(out_dir)
        layers = [_Layer("sign_in", "Sign", 0), _Layer("fc1", "Gemm", 2048), _Layer("fc2", "Gemm", 320)]
        return _Compiled("net", layers)

    module = types.ModuleType("bnncc.compiler")
    module.compile_model = compile_model
    monkeypatch.setitem(sys.modules, "bnncc.compiler", module)
    return calls


@pytest.mark.qemu
@needs_qemu
def test_json_output(fake_compiler, tmp_path):
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(b"not read by the fake compiler")
    result = CliRunner().invoke(bench_command, [str(onnx_file), "--target", "cortex-m7", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["target"] == "cortex-m7" and data["machine"] == "mps2-an500"
    assert [layer["name"] for layer in data["layers"]] == ["sign_in", "fc1", "fc2"]
    assert data["total"]["instructions"] > 0


@pytest.mark.qemu
@needs_qemu
def test_table_output(fake_compiler, tmp_path):
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(b"")
    result = CliRunner().invoke(bench_command, [str(onnx_file), "-t", "cortex-m33", "--name", "kws"])
    assert result.exit_code == 0, result.output
    assert "MACs/instr" in result.output and "fc1" in result.output
    assert fake_compiler[0][1] == "kws"


def test_unknown_target_exits_2_without_traceback(fake_compiler, tmp_path):
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(b"")
    result = CliRunner().invoke(bench_command, [str(onnx_file), "--target", "z80"])
    assert result.exit_code == 2
    assert "valid targets" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert fake_compiler == []
