"""The external tools the tests run, in one place.

A test that needs a missing tool FAILS (never skips), naming the Debian package to install: `.ci/run` and the
README's test command install every one of them, so a missing tool is a broken set-up, not a reason to pass.
"""

from __future__ import annotations

import functools
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

# tool -> the Debian (bookworm) package that provides it; keep in step with .ci/run and the README.
DEBIAN_PACKAGE = {
    "cc": "gcc",
    "gcc": "gcc",
    "clang": "clang",
    "make": "make",
    "cmake": "cmake",
    "arm-none-eabi-gcc": "gcc-arm-none-eabi",
    "arm-none-eabi-nm": "binutils-arm-none-eabi",
    "arm-none-eabi-objdump": "binutils-arm-none-eabi",
    "qemu-system-arm": "qemu-system-arm",
}
NEWLIB_HEADERS = Path("/usr/lib/arm-none-eabi/include/stdint.h")  # where clang --target=thumbv* finds libc


def _fail(missing: str, packages: list[str]) -> None:
    pytest.fail(f"{missing} not found: install it with `apt-get install {' '.join(packages)}` "
                "(.ci/run installs every tool the tests need)", pytrace=False)


def require_tools(*tools: str) -> None:
    """Fail the calling test unless every tool is on PATH."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        _fail(", ".join(missing), sorted({DEBIAN_PACKAGE[tool] for tool in missing}))


def require_newlib_headers() -> None:
    """newlib's headers for clang's bare-metal Arm targets (linked in by gcc-arm-none-eabi's include path)."""
    require_tools("clang", "arm-none-eabi-gcc")
    if not NEWLIB_HEADERS.exists():
        _fail(f"newlib's headers ({NEWLIB_HEADERS})", ["libnewlib-arm-none-eabi"])


@functools.cache
def _sanitizer_link_error(cc: str) -> str:
    """'' if cc links a program with -fsanitize=address,undefined, else the linker's complaint."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.c"
        src.write_text("int main(void) { return 0; }\n")
        done = subprocess.run([cc, "-fsanitize=address,undefined", str(src), "-o", str(Path(tmp) / "t")],
                              capture_output=True, text=True)
    return "" if done.returncode == 0 else done.stderr.strip() or f"{cc} exited with {done.returncode}"


def require_sanitizer_runtime(cc: str) -> None:
    """cc and its AddressSanitizer/UBSan runtime: clang's is compiler-rt, a Recommends that
    `apt-get install --no-install-recommends clang` leaves out."""
    require_tools(cc)
    error = _sanitizer_link_error(cc)
    if error:
        major = subprocess.run([cc, "-dumpversion"], capture_output=True, text=True).stdout.split(".")[0]
        package = f"libclang-rt-{major}-dev" if cc == "clang" else f"libgcc-{major}-dev"
        _fail(f"the sanitizer runtime of {cc} ({platform.machine()}: {error.splitlines()[0]})", [package])
