"""Every test here needs PyTorch: mark them `torch`, and skip the folder cleanly where torch is missing."""

import pytest

try:
    import torch
except ImportError:  # the compiler's own tests must still run without the training extra
    torch = None
    collect_ignore_glob = ["test_*.py"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/train/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.torch)


@pytest.fixture(autouse=True)
def _one_thread():
    # Two shared CPU cores: tiny models run fastest on one thread and leave the other core free.
    if torch is not None:
        torch.set_num_threads(1)
        torch.manual_seed(0)
