"""bench_model: exact, repeatable per-layer instruction counts, sizes and stack."""

from __future__ import annotations

import pytest
from elftools.elf.elffile import ELFFile

from bnncc.errors import BnnccError
from bnncc.targets import get_target
from bnncc.targets.bench import bench_model, format_bench
from bnncc.targets.firmware import build_firmware
from tests.targets.conftest import ARM_CORES, copy_model, needs_qemu

pytestmark = [pytest.mark.qemu, needs_qemu]

LAYERS = [
    {"name": "sign_in", "op": "Sign", "binary_macs": 0},
    {"name": "fc1", "op": "Gemm", "binary_macs": 64 * 32},
    {"name": "fc2", "op": "Gemm", "binary_macs": 32 * 10},
]


def test_counts_are_identical_from_run_to_run(dummy_model):
    first = bench_model(dummy_model, "net", "cortex-m4", LAYERS)
    second = bench_model(dummy_model, "net", "cortex-m4", LAYERS)
    assert [r["instructions"] for r in first["layers"]] == [r["instructions"] for r in second["layers"]]
    assert first["stack_bytes"] == second["stack_bytes"]
    assert first == second


def test_result_has_layers_sizes_and_stack(dummy_model):
    result = bench_model(dummy_model, "net", "cortex-m0plus", LAYERS)
    assert result["machine"] == "microbit"
    assert [r["name"] for r in result["layers"]] == ["sign_in", "fc1", "fc2"]
    for row in result["layers"]:
        assert row["instructions"] > 0
    fc1 = result["layers"][1]
    assert fc1["macs_per_instruction"] == pytest.approx(2048 / fc1["instructions"], abs=1e-3)
    assert result["total"]["instructions"] == sum(r["instructions"] for r in result["layers"])
    assert result["total"]["binary_macs"] == 2368
    for opt in ("O2", "Os"):
        memory = result["memory"][opt]
        assert memory["model"]["flash"] > 0
        assert memory["model"]["ram"] >= result["arena_bytes"] == 136
        assert memory["total"]["flash"] >= memory["model"]["flash"] + memory["harness"]["flash"]
    # Soft-float on ARMv6-M: the float output layer pulls libgcc in.
    assert result["memory"]["O2"]["libraries"]["flash"] > 0
    assert 0 < result["stack_bytes"] < 2048
    text = format_bench(result)
    assert "fc1" in text and "stack high-water" in text


def test_layer_list_must_match_the_header(dummy_model):
    with pytest.raises(BnnccError, match="NET_NUM_LAYERS"):
        bench_model(dummy_model, "net", "cortex-m4", LAYERS[:2])


def test_missing_marks_are_reported(tmp_path):
    model = copy_model(tmp_path / "m")
    text = (model / "net.c").read_text().replace("BNN_PROFILE_MARK(1);", "")
    (model / "net.c").write_text(text)
    with pytest.raises(BnnccError, match="BNN_PROFILE_MARK"):
        bench_model(model, "net", "cortex-m4", LAYERS)


def test_bench_refuses_host(dummy_model):
    with pytest.raises(BnnccError, match="cortex-m"):
        bench_model(dummy_model, "net", "host", LAYERS)


def _symbols(elf) -> set[str]:
    with open(elf, "rb") as f:
        return {s.name for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}


@pytest.mark.parametrize("target", ARM_CORES)
def test_no_firmware_calls_libgcc_popcount(dummy_model, tmp_path, target):
    fw = build_firmware(dummy_model, "net", get_target(target), tmp_path / "build")
    symbols = _symbols(fw.elf)
    assert "net_run" in symbols
    assert "__popcountsi2" not in symbols
