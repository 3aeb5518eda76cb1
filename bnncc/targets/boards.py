"""Board presets: a real chip's core, flash and RAM regions, and where its stack goes.

`bnncc compile --board NAME` takes the core and the memory map from here, writes a linker script
with the real regions and checks that the model fits them. Four of the boards are also QEMU 7.2
machines (`qemu` set): `make run`, `bnncc verify --board` and `bnncc bench --board` run on them.

Memory maps are the vendors' (reference manual or datasheet memory-map chapter, cited per board).
Where the chip has a core-coupled RAM (CCM, DTCM) or a separate scratch bank, the stack goes there:
it is the fastest RAM, needs no DMA, and an overflow runs off its bottom into reserved space and
faults, instead of overwriting .data/.bss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bnncc.errors import BnnccError
from bnncc.targets.targets import KIB, MIB, Machine, get_target


@dataclass(frozen=True)
class Region:
    name: str
    origin: int
    size: int

    def describe(self) -> str:
        return f"{self.name} {_size_text(self.size)} @ 0x{self.origin:08X}"


@dataclass(frozen=True)
class Board:
    name: str
    target: str  # bnncc target (core) name
    chip: str
    flash: Region  # where code and constants go (an application slot where a bootloader owns the start)
    ram: Region  # .data and .bss; also the stack unless stack_region is set
    stack_region: Region | None = None  # CCM / DTCM / scratch bank that holds the whole stack
    other_ram: tuple[Region, ...] = ()  # further RAM the chip has, listed for the user only
    qemu: str | None = None  # QEMU 7.2 machine that emulates this board
    # SysTick clock of the QEMU machine where checked against exact instruction counts: `make run`
    # then converts SysTick ticks to instructions. 0: main.c prints the raw ticks as cycles.
    clock_hz: int = 0
    sdk: str | None = None  # a vendor SDK supplies startup and linker script: library layout only
    notes: str = ""

    @property
    def emulated(self) -> bool:
        return self.qemu is not None

    @property
    def stack_reserve(self) -> int:
        """Stack bytes the fit check adds to RAM (the whole stack region when there is one)."""
        if self.stack_region is not None:
            return self.stack_region.size
        return 2 * KIB if self.ram.size <= 16 * KIB else 8 * KIB

    def machine(self) -> Machine:
        """The board as a Machine for the linker script, the harness build and QEMU."""
        stack = self.stack_region
        return Machine(
            qemu_name=self.qemu or self.name,
            flash_origin=self.flash.origin,
            flash_bytes=self.flash.size,
            ram_origin=self.ram.origin,
            ram_bytes=self.ram.size,
            clock_hz=self.clock_hz,
            stack_bytes=stack.size if stack is not None else self.stack_reserve,
            stack_origin=stack.origin if stack is not None else None,
            stack_region=stack.name if stack is not None else "RAM",
            emulated=self.emulated,
            board=self.name,
        )

    def memory_text(self) -> str:
        if self.stack_region is None:
            parts = [self.flash.describe(), self.ram.describe() + " (data, stack)"]
        else:
            parts = [self.flash.describe(), self.ram.describe() + " (data)",
                     self.stack_region.describe() + " (stack)"]
        parts.extend(f"{r.describe()} (unused)" for r in self.other_ram)
        return "; ".join(parts)


def _size_text(size: int) -> str:
    if size % MIB == 0:
        return f"{size // MIB} MiB"
    if size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size / KIB:g} KiB"


_BOARDS = (
    # STM32F405RG. RM0090 section 2.3 (memory map) and 2.1: flash 1 MiB at 0x0800_0000, SRAM1 112 KiB
    # + SRAM2 16 KiB contiguous at 0x2000_0000, 64 KiB CCM data RAM at 0x1000_0000 (CPU only, no DMA).
    # QEMU 7.2 (hw/arm/stm32f405_soc.c, checked with `info mtree`) maps the flash and 192 KiB of SRAM
    # but no CCM, so the stack stays in SRAM: the same image then runs in QEMU and on the chip.
    # SysTick at SYSCLK 168 MHz (hw/arm/netduinoplus2.c): `make run` gives the exact instruction count.
    Board("netduinoplus2", "cortex-m4", "STM32F405RG",
          Region("FLASH", 0x08000000, 1 * MIB), Region("SRAM", 0x20000000, 128 * KIB),
          other_ram=(Region("CCM", 0x10000000, 64 * KIB),),
          qemu="netduinoplus2", clock_hz=168_000_000,
          notes="Netduino Plus 2; stack in SRAM (QEMU 7.2 has no CCM)"),
    # STM32F100RB. RM0041 section 2.3 / DS6517: 128 KiB flash at 0x0800_0000, 8 KiB SRAM at 0x2000_0000.
    # QEMU 7.2 hw/arm/stm32f100_soc.c: same sizes, Cortex-M3. Its SysTick under -icount does not
    # tick at the 24 MHz SYSCLK per instruction-nanosecond (measured), so no tick conversion here.
    Board("stm32vldiscovery", "cortex-m3", "STM32F100RB",
          Region("FLASH", 0x08000000, 128 * KIB), Region("SRAM", 0x20000000, 8 * KIB),
          qemu="stm32vldiscovery",
          notes="STM32VLDISCOVERY; 8 KiB SRAM: stack gets all RAM the model leaves"),
    # TI LM3S6965. Stellaris LM3S6965 datasheet, table 2-4 (memory map): 256 KiB flash at 0x0000_0000,
    # 64 KiB SRAM at 0x2000_0000. QEMU 7.2 hw/arm/stellaris.c: same sizes, Cortex-M3 (its SysTick
    # clock follows the emulated RCC setting: no tick conversion).
    Board("lm3s6965evb", "cortex-m3", "LM3S6965",
          Region("FLASH", 0x00000000, 256 * KIB), Region("SRAM", 0x20000000, 64 * KIB),
          qemu="lm3s6965evb",
          notes="Stellaris LM3S6965 evaluation board"),
    # nRF51822 (micro:bit v1). nRF51 Series Reference Manual, memory map: code flash at 0x0000_0000,
    # RAM at 0x2000_0000; the micro:bit's QFAA variant has 256 KiB flash and 16 KiB RAM. QEMU 7.2
    # hw/arm/nrf51_soc.c: Cortex-M0, 256 KiB flash, 16 KiB RAM. bnncc builds ARMv6-M code for it
    # with -mcpu=cortex-m0plus (the same instruction set as the M0).
    Board("microbit", "cortex-m0plus", "nRF51822 (Cortex-M0)",
          Region("FLASH", 0x00000000, 256 * KIB), Region("SRAM", 0x20000000, 16 * KIB),
          qemu="microbit",
          notes="BBC micro:bit v1; M0 core, v6-M code"),
    # STM32F746NG. RM0385 section 2.2 (memory map): flash 1 MiB at 0x0800_0000 (AXIM), DTCM 64 KiB at
    # 0x2000_0000, SRAM1 240 KiB at 0x2001_0000 + SRAM2 16 KiB at 0x2004_C000 (contiguous).
    Board("stm32f746g-disco", "cortex-m7", "STM32F746NG",
          Region("FLASH", 0x08000000, 1 * MIB), Region("SRAM1_2", 0x20010000, 256 * KIB),
          stack_region=Region("DTCM", 0x20000000, 64 * KIB),
          notes="32F746GDISCOVERY; stack in DTCM, data in SRAM1+SRAM2"),
    # STM32H743ZI. RM0433 section 2.3.2 (memory map): flash 2 MiB at 0x0800_0000, DTCM 128 KiB at
    # 0x2000_0000, AXI SRAM 512 KiB at 0x2400_0000 (D1 domain), SRAM1-3 288 KiB at 0x3000_0000 (D2),
    # SRAM4 64 KiB at 0x3800_0000 (D3), ITCM 64 KiB at 0x0000_0000.
    Board("nucleo-h743zi", "cortex-m7", "STM32H743ZI",
          Region("FLASH", 0x08000000, 2 * MIB), Region("AXI_SRAM", 0x24000000, 512 * KIB),
          stack_region=Region("DTCM", 0x20000000, 128 * KIB),
          other_ram=(Region("SRAM1_3", 0x30000000, 288 * KIB), Region("SRAM4", 0x38000000, 64 * KIB),
                     Region("ITCM", 0x00000000, 64 * KIB)),
          notes="NUCLEO-H743ZI(2); stack in DTCM, data in AXI SRAM; bnncc's M7 flags use "
                "single-precision FPv5, which the H7's double-precision FPU runs"),
    # nRF52840. nRF52840 Product Specification v1.x, section 4.2 (memory): 1 MiB flash at
    # 0x0000_0000, 256 KiB RAM at 0x2000_0000.
    Board("nrf52840-dk", "cortex-m4", "nRF52840",
          Region("FLASH", 0x00000000, 1 * MIB), Region("SRAM", 0x20000000, 256 * KIB),
          notes="nRF52840-DK without a SoftDevice (with one, move FLASH/RAM past its reservation)"),
    # ATSAMD51J19A. SAM D5x/E5x datasheet DS60001507, section 9.2 (memory map): 512 KiB flash at
    # 0x0000_0000, 192 KiB SRAM at 0x2000_0000. Adafruit's UF2 bootloader keeps the first 16 KiB
    # (the application starts at 0x4000, as in Adafruit's flash_with_bootloader.ld).
    Board("adafruit-m4", "cortex-m4", "ATSAMD51J19A",
          Region("FLASH", 0x00004000, 512 * KIB - 16 * KIB), Region("SRAM", 0x20000000, 192 * KIB),
          notes="Adafruit Metro/Feather/ItsyBitsy M4 (SAMD51); application after the 16 KiB UF2 bootloader"),
    # RP2040. RP2040 datasheet section 2.2 (address map) and pico-sdk memmap_default.ld: external QSPI
    # flash through XIP at 0x1000_0000 (2 MiB on the Pico; the first 256 B are the SDK's boot2),
    # 256 KiB striped SRAM0-3 at 0x2000_0000, SRAM4/5 (4 KiB each, SCRATCH_X/Y) at 0x2004_0000/0x2004_1000.
    # The SDK puts core 0's stack in SCRATCH_Y.
    Board("pico", "cortex-m0plus", "RP2040",
          Region("FLASH", 0x10000100, 2 * MIB - 256), Region("SRAM", 0x20000000, 256 * KIB),
          stack_region=Region("SCRATCH_Y", 0x20041000, 4 * KIB),
          other_ram=(Region("SCRATCH_X", 0x20040000, 4 * KIB),),
          sdk="pico-sdk",
          notes="Raspberry Pi Pico; built through the Pico SDK (boot2, clocks, stdio): library layout"),
)

BOARD_NAMES = tuple(b.name for b in _BOARDS)
# Older meanings of --board: the target's own QEMU machine, with (qemu) or without (generic) `make run`.
GENERIC_BOARDS = ("qemu", "generic")
CUSTOM = "custom"
_BY_NAME = {b.name: b for b in _BOARDS}


def all_boards() -> tuple[Board, ...]:
    return _BOARDS


def get_board(name: str) -> Board:
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        valid = ", ".join((*BOARD_NAMES, CUSTOM, *GENERIC_BOARDS))
        raise BnnccError(f"unknown board '{name}'; valid boards: {valid} (see `bnncc boards`)") from None


_SIZE = re.compile(r"^(0x[0-9a-fA-F]+|\d+)\s*([kKmM](?:i?B)?)?$")


def _parse_number(text: str, what: str) -> int:
    match = _SIZE.match(text.strip())
    if match is None:
        raise BnnccError(f"{what}: '{text}' is not a number (use 0x08000000, 131072, 128K or 1M)")
    value = int(match.group(1), 0)
    unit = (match.group(2) or "").upper()[:1]
    return value * {"": 1, "K": KIB, "M": MIB}[unit]


def parse_region(text: str, option: str) -> Region:
    """'ORIGIN:SIZE' (e.g. 0x08000000:512K) -> Region."""
    origin, sep, size = text.partition(":")
    if not sep:
        raise BnnccError(f"{option} must be ORIGIN:SIZE, e.g. 0x08000000:512K; got '{text}'")
    region = Region(option.lstrip("-").upper(), _parse_number(origin, option), _parse_number(size, option))
    if region.size <= 0 or region.origin % 4 or region.origin + region.size > 1 << 32:
        raise BnnccError(f"{option} {text}: the origin must be 4-byte aligned and the region "
                         "non-empty and below 4 GiB")
    return region


def custom_board(target: str | None, flash: str | None, ram: str | None) -> Board:
    if target is None or target == "host" or flash is None or ram is None:
        raise BnnccError("--board custom needs --target (a cortex-m core), --flash ORIGIN:SIZE "
                         "and --ram ORIGIN:SIZE")
    get_target(target)
    flash_region, ram_region = parse_region(flash, "--flash"), parse_region(ram, "--ram")
    f0, f1 = flash_region.origin, flash_region.origin + flash_region.size
    r0, r1 = ram_region.origin, ram_region.origin + ram_region.size
    if f0 < r1 and r0 < f1:
        raise BnnccError(f"--flash {flash} and --ram {ram} overlap")
    return Board(CUSTOM, target, "custom", flash_region, Region("RAM", r0, ram_region.size),
                 notes="memory map given on the command line")


def select_board(board: str, target: str | None, flash: str | None = None,
                 ram: str | None = None) -> tuple[str, str | Board]:
    """Resolve the --board/--target/--flash/--ram options into (target name, board).

    board comes back as "qemu"/"generic" (the target's own QEMU machine map) or a Board. A named
    board picks the core; an explicit --target that names another core is refused."""
    name = board.lower()
    if name != CUSTOM and (flash is not None or ram is not None):
        raise BnnccError("--flash and --ram go with --board custom only")
    if name in GENERIC_BOARDS:
        return (target or "host"), name
    if name == CUSTOM:
        return target, custom_board(target, flash, ram)
    preset = get_board(name)
    if target is not None and target != preset.target:
        raise BnnccError(f"board {preset.name} has a {preset.target} ({preset.chip}); --target {target} "
                         f"conflicts with it (leave --target out, or pass --target {preset.target})")
    return preset.target, preset


def check_board_fits(board: Board, flash_bytes: int, ram_bytes: int) -> None:
    """Raise BnnccError with the numbers when flash/RAM (data+bss) exceed the board's regions."""
    if board.stack_region is None:
        ram_needed, ram_text = ram_bytes + board.stack_reserve, f"{ram_bytes} B RAM + {board.stack_reserve} B stack"
    else:
        ram_needed, ram_text = ram_bytes, f"{ram_bytes} B RAM (stack in {board.stack_region.name})"
    if flash_bytes <= board.flash.size and ram_needed <= board.ram.size:
        return
    raise BnnccError(
        f"model does not fit board {board.name} ({board.chip}): needs {flash_bytes} B flash "
        f"(have {board.flash.size}) and {ram_text} (have {board.ram.size}); "
        "shrink the model or choose a larger board")


def format_boards() -> str:
    """The table `bnncc boards` prints."""
    rows = [("board", "core", "chip", "QEMU", "memory")]
    for b in _BOARDS:
        qemu = b.qemu if b.emulated else ("- (" + b.sdk + ")" if b.sdk else "-")
        rows.append((b.name, b.target, b.chip, qemu, b.memory_text()))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(f"{cell:<{w}}" for cell, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
    lines.append("")
    lines.append("custom: --board custom --target CORE --flash ORIGIN:SIZE --ram ORIGIN:SIZE "
                 "(e.g. --flash 0x08000000:512K --ram 0x20000000:128K)")
    lines.append("qemu / generic: the target's own QEMU machine map, with / without `make run`")
    return "\n".join(lines)
