import gzip
import struct

import numpy as np
import pytest

pytest.importorskip("torch")

from bnncc.errors import BnnccError  # noqa: E402
from bnncc.train.data import MNIST_FILES, load_digits_split, load_mnist, read_idx  # noqa: E402


def _idx_bytes(array: np.ndarray, type_code: int) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype,code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B),
                                        (np.int32, 0x0C), (np.float32, 0x0D), (np.float64, 0x0E)])
def test_read_idx_round_trips_every_type(tmp_path, dtype, code):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype) if dtype != np.uint8 else \
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    path = tmp_path / "a.idx"
    path.write_bytes(_idx_bytes(array, code))
    got = read_idx(path)
    assert got.shape == (2, 3, 4) and np.array_equal(got, array)


def test_read_idx_big_endian_dims_and_gzip(tmp_path):
    array = np.arange(300, dtype=np.int16).reshape(300)  # 300 > 255: needs a multi-byte big-endian dim
    raw = _idx_bytes(array, 0x0B)
    assert raw[4:8] == b"\x00\x00\x01\x2c"
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    assert np.array_equal(read_idx(tmp_path / "a.gz"), array)


@pytest.mark.parametrize("raw,message", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "magic"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "data type"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x01", "truncated"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05", "need 3"),
])
def test_read_idx_rejects_malformed_files(tmp_path, raw, message):
    path = tmp_path / "bad"
    path.write_bytes(raw)
    with pytest.raises(BnnccError, match=message):
        read_idx(path)


def test_read_idx_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(BnnccError):
        read_idx(tmp_path / "nope")


def test_load_mnist_from_small_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    parts = {"train": 6, "test": 4}
    for part, n in parts.items():
        images = rng.integers(0, 256, size=(n, 5, 5), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        img_name, lab_name = MNIST_FILES[f"{part}_images"], MNIST_FILES[f"{part}_labels"]
        (tmp_path / (img_name + ".gz")).write_bytes(gzip.compress(_idx_bytes(images, 0x08)))
        (tmp_path / lab_name).write_bytes(_idx_bytes(labels, 0x08))
        if part == "test":
            test_images, test_labels = images, labels
    split = load_mnist(tmp_path)
    assert split.x_train.shape == (6, 25) and split.x_test.shape == (4, 25) and split.image_size == 5
    assert split.x_test.dtype == np.float32
    assert np.allclose(split.x_test, test_images.reshape(4, 25) / 255.0)
    assert np.array_equal(split.y_test, test_labels)


def test_load_mnist_names_missing_file(tmp_path):
    with pytest.raises(BnnccError, match="train-images"):
        load_mnist(tmp_path)


def test_digits_split_is_fixed_stratified_and_scaled():
    a, b = load_digits_split(seed=0), load_digits_split(seed=0)
    assert np.array_equal(a.x_test, b.x_test)
    assert a.x_train.shape == (1437, 64) and a.x_test.shape == (360, 64)
    assert a.x_train.min() == 0.0 and a.x_train.max() == 1.0
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
