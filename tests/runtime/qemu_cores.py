"""Emulated Cortex-M cores of the QEMU tests: machine, float ABI flags and memory map."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent / "c"
# core -> (QEMU machine, float flags, flash, flash length, RAM, RAM length)
CORES = {
    "cortex-m0": ("microbit", [], "0x00000000", "256K", "0x20000000", "16K"),  # 16 KiB RAM
    "cortex-m0plus": ("mps2-an385", [], "0x00000000", "4M", "0x20000000", "4M"),
    "cortex-m3": ("mps2-an385", [], "0x00000000", "4M", "0x20000000", "4M"),
    "cortex-m4": ("mps2-an386", ["-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"], "0x00000000", "4M",
                  "0x20000000", "4M"),
    "cortex-m7": ("mps2-an500", ["-mfloat-abi=hard", "-mfpu=fpv5-d16"], "0x00000000", "4M",
                  "0x20000000", "4M"),
    "cortex-m33": ("mps2-an505", ["-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"], "0x10000000", "4M",
                   "0x38000000", "2M"),
    "cortex-m55": ("mps3-an547", ["-mfloat-abi=hard", "-mfpu=auto"], "0x10000000", "512K",
                   "0x30000000", "512K"),
}


def write_linker_script(out_dir: Path, core: str) -> Path:
    """The QEMU self-test linker script for core's board, written into out_dir."""
    _, _, flash, flash_len, ram, ram_len = CORES[core]
    ld = out_dir / "link.ld"
    ld.write_text((HERE / "qemu" / "link.ld.in").read_text().replace("@FLASH@", flash)
                  .replace("@FLASH_LEN@", flash_len).replace("@RAM@", ram)
                  .replace("@RAM_LEN@", ram_len))
    return ld
