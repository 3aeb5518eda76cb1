"""Every test here needs PyTorch: mark them `torch` and skip the folder cleanly where torch is missing."""

import pytest

torch = pytest.importorskip("torch")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/train/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.torch)


@pytest.fixture(autouse=True)
def _one_thread():
    # Two shared CPU cores: tiny models run fastest on one thread and leave the other core free.
    torch.set_num_threads(1)
    torch.manual_seed(0)
