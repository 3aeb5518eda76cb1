"""run_inputs on every emulated core: exact outputs, faults, hangs and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from bnncc.errors import BnnccError
from bnncc.targets.run import TargetRunError, run_inputs
from tests.targets.conftest import ARM_CORES, copy_model, dummy_reference, needs_qemu

pytestmark = [pytest.mark.qemu, needs_qemu]

FAULTING_NET_C = """
#include "net.h"
int net_run(const float *input, float *output)
{
    (void)input;
    (void)output;
    __asm__ volatile(".short 0xde00"); /* UDF #0: undefined instruction */
    return 0;
}
"""

BAD_ADDRESS_NET_C = """
#include <stdint.h>
#include "net.h"
int net_run(const float *input, float *output)
{
    (void)input;
    /* 0xF0000000: unmapped on every machine used (and never executable/readable memory). */
    output[0] = *(volatile float *)(uintptr_t)0xF0000000u;
    return 0;
}
"""

HANGING_NET_C = """
#include "net.h"
int net_run(const float *input, float *output)
{
    volatile int spin = 1;
    (void)input;
    (void)output;
    while (spin) {
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def inputs() -> np.ndarray:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 64)).astype(np.float32)
    x[0, :] = 0.0  # sign(0) -> +1 path
    return x


@pytest.mark.parametrize("target", [*ARM_CORES, "host"])
def test_dummy_model_outputs_are_exact(dummy_model, inputs, target):
    outputs = run_inputs(dummy_model, "net", target, inputs)
    assert outputs.dtype == np.float32
    assert outputs.shape == (5, 10)
    np.testing.assert_array_equal(outputs.view(np.uint32), dummy_reference(inputs).view(np.uint32))


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m0plus"])
def test_undefined_instruction_is_reported_as_fault(tmp_path, inputs, target):
    model = copy_model(tmp_path / "m", FAULTING_NET_C)
    with pytest.raises(TargetRunError, match="hard fault") as info:
        run_inputs(model, "net", target, inputs[:1])
    assert info.value.kind == "fault"


def test_bad_address_is_reported_as_fault(tmp_path, inputs):
    model = copy_model(tmp_path / "m", BAD_ADDRESS_NET_C)
    with pytest.raises(TargetRunError) as info:
        run_inputs(model, "net", "cortex-m33", inputs[:1])
    assert info.value.kind == "fault"


def test_infinite_loop_is_reported_as_timeout(tmp_path, inputs):
    model = copy_model(tmp_path / "m", HANGING_NET_C)
    with pytest.raises(TargetRunError, match="timeout") as info:
        run_inputs(model, "net", "cortex-m4", inputs[:1], timeout=3.0)
    assert info.value.kind == "timeout"


def test_wrong_input_width_is_a_user_error(dummy_model):
    with pytest.raises(BnnccError, match=r"\(N, 64\)"):
        run_inputs(dummy_model, "net", "cortex-m4", np.zeros((2, 63), dtype=np.float32))


def test_unknown_target_lists_valid_names(dummy_model):
    with pytest.raises(BnnccError, match="cortex-m55"):
        run_inputs(dummy_model, "net", "cortex-m85", np.zeros((1, 64), dtype=np.float32))


BIG_ARENA_NET_C = """
#include <stdint.h>
#include "net.h"
/* 20 KiB of state: more than the microbit's 16 KiB of RAM. */
static volatile uint32_t big_arena[5120];
int net_run(const float *input, float *output)
{
    int32_t i;
    big_arena[5119] = 7u;
    for (i = 0; i < NET_OUTPUT_SIZE; i++) {
        output[i] = input[i] + (float)big_arena[5119];
    }
    return 0;
}
"""


def test_m0plus_model_too_big_for_microbit_runs_on_an385(tmp_path, inputs):
    from bnncc.targets import get_target
    from bnncc.targets.firmware import build_firmware

    model = copy_model(tmp_path / "m", BIG_ARENA_NET_C)
    fw = build_firmware(model, "net", get_target("cortex-m0plus"), tmp_path / "build")
    assert fw.machine.qemu_name == "mps2-an385"
    outputs = run_inputs(model, "net", "cortex-m0plus", inputs[:2])
    np.testing.assert_array_equal(outputs, inputs[:2, :10] + np.float32(7.0))


NULL_WRITE_NET_C = """
#include <stdint.h>
#include "net.h"
int net_run(const float *input, float *output)
{
    volatile float *nowhere = (volatile float *)(uintptr_t)0u;
    (void)output;
    *nowhere = input[0];
    return 0;
}
"""


def test_host_crash_is_reported(tmp_path, inputs):
    model = copy_model(tmp_path / "m", NULL_WRITE_NET_C)
    with pytest.raises(TargetRunError, match="crash") as info:
        run_inputs(model, "net", "host", inputs[:1])
    assert info.value.kind == "crash"


NONZERO_NET_C = """
#include "net.h"
int net_run(const float *input, float *output)
{
    (void)input;
    (void)output;
    return 5;
}
"""


def test_run_returning_nonzero_is_an_error(tmp_path, inputs):
    model = copy_model(tmp_path / "m", NONZERO_NET_C)
    with pytest.raises(TargetRunError, match="returned non-zero") as info:
        run_inputs(model, "net", "cortex-m3", inputs[:1])
    assert info.value.kind == "error"


STACK_HOG_NET_C = """
#include <stdint.h>
#include "net.h"
/* 80 KiB of locals: more than any machine's stack. */
int net_run(const float *input, float *output)
{
    volatile uint32_t hog[20480];
    int32_t i;
    hog[0] = 1u;
    for (i = 0; i < NET_OUTPUT_SIZE; i++) {
        output[i] = input[i] + (float)hog[0];
    }
    return 0;
}
"""


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m3", "cortex-m7", "cortex-m55"])
def test_stack_overflow_is_reported_as_fault(tmp_path, inputs, target):
    model = copy_model(tmp_path / "m", STACK_HOG_NET_C)
    with pytest.raises(TargetRunError, match="stack overflow") as info:
        run_inputs(model, "net", target, inputs[:1])
    assert info.value.kind == "fault"
