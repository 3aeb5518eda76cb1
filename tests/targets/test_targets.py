"""The targets table: names, flags, machines and memory budgets."""

from __future__ import annotations

import pytest

from bnncc.errors import BnnccError
from bnncc.targets import TARGET_NAMES, check_fits, get_target


def test_all_names_present():
    assert TARGET_NAMES == (
        "host", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55",
    )


def test_unknown_name_lists_valid_ones():
    with pytest.raises(BnnccError) as info:
        get_target("cortex-m85")
    for name in TARGET_NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize(
    "name, cpu, machine",
    [
        ("cortex-m0plus", "-mcpu=cortex-m0plus", "microbit"),
        ("cortex-m3", "-mcpu=cortex-m3", "mps2-an385"),
        ("cortex-m4", "-mcpu=cortex-m4", "mps2-an386"),
        ("cortex-m7", "-mcpu=cortex-m7", "mps2-an500"),
        ("cortex-m33", "-mcpu=cortex-m33", "mps2-an505"),
        ("cortex-m55", "-mcpu=cortex-m55", "mps3-an547"),
    ],
)
def test_flags_and_first_machine(name, cpu, machine):
    target = get_target(name)
    assert cpu in target.cflags and "-mthumb" in target.cflags
    assert target.machines[0].qemu_name == machine


def test_float_abi_follows_the_fpu():
    assert "-mfloat-abi=soft" in get_target("cortex-m0plus").cflags
    assert "-mfloat-abi=soft" in get_target("cortex-m3").cflags
    assert "-mfpu=fpv4-sp-d16" in get_target("cortex-m4").cflags
    for name in ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"):
        assert "-mfloat-abi=hard" in get_target(name).cflags


def test_m0plus_falls_back_to_a_larger_v6m_capable_machine():
    machines = [m.qemu_name for m in get_target("cortex-m0plus").machines]
    assert machines == ["microbit", "mps2-an385"]


def test_check_fits_accepts_small_models():
    check_fits("cortex-m0plus", 10_000, 4_000)
    check_fits("cortex-m55", 400 * 1024, 300 * 1024)
    check_fits("host", 10**12, 10**12)


def test_check_fits_names_the_numbers():
    with pytest.raises(BnnccError) as info:
        check_fits("cortex-m55", 600 * 1024, 1000)
    message = str(info.value)
    assert "614400" in message and "524288" in message and "cortex-m55" in message
    with pytest.raises(BnnccError, match="RAM"):
        check_fits(get_target("cortex-m4"), 1000, 5 * 1024 * 1024)
