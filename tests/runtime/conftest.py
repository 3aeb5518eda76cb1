"""Fixtures of the runtime_c tests: the C runtime built once per session as a shared library."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers.tools import require_tools

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bnn_ctypes import Runtime, build_library  # noqa: E402


@pytest.fixture(scope="session")
def runtime(tmp_path_factory) -> Runtime:
    require_tools("gcc")
    out_dir = tmp_path_factory.mktemp("bnn_runtime")
    return Runtime(build_library(out_dir))


@pytest.fixture(scope="session")
def runtime_compact(tmp_path_factory) -> Runtime:
    """The runtime built at -Os: the compact kernels of BNN_COMPACT (see runtime_c/bnn.h)."""
    require_tools("gcc")
    out_dir = tmp_path_factory.mktemp("bnn_runtime_os")
    return Runtime(build_library(out_dir, extra_flags=("-Os",)))
