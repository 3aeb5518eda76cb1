import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# Tool fixtures for every test folder: a missing tool FAILS the test, naming its Debian package
# (tests/helpers/tools.py). Use them as markers: pytest.mark.usefixtures("qemu_toolchain").
import pytest  # noqa: E402

from tests.helpers.tools import require_tools  # noqa: E402


@pytest.fixture
def qemu_toolchain() -> None:
    require_tools("arm-none-eabi-gcc", "qemu-system-arm")


@pytest.fixture
def arm_gcc() -> None:
    require_tools("arm-none-eabi-gcc")


@pytest.fixture
def cmake_tool() -> None:
    require_tools("cmake")
