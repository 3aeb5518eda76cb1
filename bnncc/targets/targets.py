"""The targets table: one entry per supported core, with its gcc flags and emulated machines.

Memory maps come from QEMU 7.2 (hw/arm/mps2.c, mps2-tz.c, microbit/nrf51): the code region is where
QEMU's M-profile boot reads the vector table (VTOR reset value), the RAM region is the SRAM the
machine maps behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bnncc.errors import BnnccError

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Machine:
    """A QEMU board: where code and data live and how large they are."""

    qemu_name: str
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    # Core clock that SysTick counts (with -icount shift=0 one instruction takes 1 ns).
    clock_hz: int
    # Stack reserved at the start of RAM (the harness paints and scans it); on small machines
    # the build grows it to all RAM the model leaves free.
    stack_bytes: int
    # True where the addresses just below RAM read as zero and ignore writes instead of faulting
    # (QEMU's mps2 boards): the startup code then sets an MPU guard region there, so that a stack
    # overflow faults instead of silently losing data.
    needs_stack_guard: bool = False
    # Where a board keeps its stack in a separate RAM (CCM, DTCM, a scratch bank): that region's
    # origin and name; stack_bytes is then its whole size. None: the stack sits at the start of RAM.
    stack_origin: int | None = None
    stack_region: str = "RAM"
    # False for a board preset QEMU cannot run (the firmware still links for its memory map).
    emulated: bool = True
    board: str | None = None  # the board preset this machine stands for, if any

    @property
    def label(self) -> str:
        return self.board or self.qemu_name


# 6 KiB of stack: bnn_conv2d_bin_thresh keeps up to BNN_TRANSPOSE_MAX_BITS words of weights on the stack.
MICROBIT = Machine("microbit", 0x00000000, 256 * KIB, 0x20000000, 16 * KIB, 16_000_000, 2 * KIB)
MPS2_AN385 = Machine("mps2-an385", 0x00000000, 4 * MIB, 0x20000000, 4 * MIB, 25_000_000, 64 * KIB, True)
MPS2_AN386 = Machine("mps2-an386", 0x00000000, 4 * MIB, 0x20000000, 4 * MIB, 25_000_000, 64 * KIB, True)
MPS2_AN500 = Machine("mps2-an500", 0x00000000, 4 * MIB, 0x20000000, 4 * MIB, 25_000_000, 64 * KIB, True)
# AN505: secure aliases of SSRAM1 (code, 4 MiB) and SSRAM2 (2 MiB).
MPS2_AN505 = Machine("mps2-an505", 0x10000000, 4 * MIB, 0x38000000, 2 * MIB, 20_000_000, 64 * KIB)
# AN547: secure aliases of ITCM (code) and DTCM (data), 512 KiB each.
MPS3_AN547 = Machine("mps3-an547", 0x10000000, 512 * KIB, 0x30000000, 512 * KIB, 32_000_000, 64 * KIB)


@dataclass(frozen=True)
class Target:
    """A core we compile for. machines are tried in order: the first one the firmware fits runs it."""

    name: str
    cflags: tuple[str, ...]
    family: str  # "v6m", "v7m", "v8m": startup code and fault registers differ
    has_fpu: bool
    machines: tuple[Machine, ...]
    description: str

    @property
    def is_host(self) -> bool:
        return self.family == "host"

    @property
    def largest_machine(self) -> Machine | None:
        if not self.machines:
            return None
        return max(self.machines, key=lambda m: (m.ram_bytes, m.flash_bytes))


_TARGETS = (
    Target("host", (), "host", True, (), "native build with the host C compiler"),
    Target(
        "cortex-m0plus",
        ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
        "v6m",
        False,
        # QEMU has no M0+ model: the microbit's Cortex-M0 runs the same ARMv6-M code; models that
        # overflow its 16 KiB of RAM run their v6-M code on the an385 (an M3 runs v6-M code unchanged).
        (MICROBIT, MPS2_AN385),
        "Cortex-M0+ (ARMv6-M, no FPU)",
    ),
    Target(
        "cortex-m3",
        ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"),
        "v7m",
        False,
        (MPS2_AN385,),
        "Cortex-M3 (ARMv7-M, no FPU)",
    ),
    Target(
        "cortex-m4",
        ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
        "v7m",
        True,
        (MPS2_AN386,),
        "Cortex-M4F (ARMv7E-M, single-precision FPU)",
    ),
    Target(
        "cortex-m7",
        ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"),
        "v7m",
        True,
        (MPS2_AN500,),
        "Cortex-M7 (ARMv7E-M, FPv5 single precision)",
    ),
    Target(
        "cortex-m33",
        ("-mcpu=cortex-m33", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"),
        "v8m",
        True,
        (MPS2_AN505,),
        "Cortex-M33 (ARMv8-M mainline, FPv5 single precision)",
    ),
    Target(
        "cortex-m55",
        # -mcpu=cortex-m55 enables MVE with floating point (+mve.fp) and the FPU by default.
        ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"),
        "v8m",
        True,
        (MPS3_AN547,),
        "Cortex-M55 (ARMv8.1-M, Helium MVE with float)",
    ),
)

TARGET_NAMES = tuple(t.name for t in _TARGETS)
_BY_NAME = {t.name: t for t in _TARGETS}


def get_target(name: str | Target) -> Target:
    """The target called name; BnnccError listing the valid names otherwise."""
    if isinstance(name, Target):
        return name
    try:
        return _BY_NAME[name]
    except KeyError:
        raise BnnccError(
            f"unknown target '{name}'; valid targets: {', '.join(TARGET_NAMES)}"
        ) from None


def machine_for(target: Target, flash_bytes: int, ram_bytes: int) -> Machine | None:
    """The first machine of target that holds flash_bytes of code and ram_bytes of data."""
    for machine in target.machines:
        if flash_bytes <= machine.flash_bytes and ram_bytes + machine.stack_bytes <= machine.ram_bytes:
            return machine
    return None


def check_fits(target: str | Target, flash_bytes: int, ram_bytes: int) -> None:
    """Raise BnnccError with the numbers when flash/RAM exceed every machine of target.

    ram_bytes is data+bss; the machine's reserved stack is added on top.
    """
    target = get_target(target)
    if target.is_host:
        return
    if machine_for(target, flash_bytes, ram_bytes) is not None:
        return
    biggest = target.largest_machine
    raise BnnccError(
        f"model does not fit {target.name} ({biggest.qemu_name}): needs {flash_bytes} B flash "
        f"(have {biggest.flash_bytes}) and {ram_bytes} B RAM + {biggest.stack_bytes} B stack "
        f"(have {biggest.ram_bytes}); shrink the model or choose a larger target"
    )
