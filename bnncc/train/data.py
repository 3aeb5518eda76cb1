"""Data: scikit-learn's 8x8 digits (ships with the package, no download) and MNIST from local IDX files.

Preprocessing contract (the exported models expect exactly this, batch 1, float32):
- digits: pixel values 0..16 divided by 16 -> [0, 1]; flattened row-major to 64 values. The MLP takes
  shape (1, 64), the CNN the same values as (1, 1, 8, 8).
- MNIST: pixel values 0..255 divided by 255 -> [0, 1]; (1, 784) for the MLP, (1, 1, 28, 28) for the CNN.
Split of digits: 80/20 stratified by label with `sklearn.model_selection.train_test_split(random_state=seed)`.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bnncc.errors import BnnccError

# IDX type byte -> numpy big-endian dtype (see the IDX description that ships with MNIST).
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Split:
    """Flat float32 features (N, F) in [0, 1] and int64 labels, plus the image side for CNNs."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    image_size: int

    @property
    def num_features(self) -> int:
        return int(self.x_train.shape[1])


def load_digits_split(seed: int = 0, test_fraction: float = 0.2) -> Split:
    """scikit-learn digits, scaled by 1/16, fixed stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, stratify=y, random_state=seed)
    return Split(x_train, y_train, x_test, y_test, image_size=8)


def read_idx(path: str | Path) -> np.ndarray:
    """Parse one IDX file (optionally gzip-compressed): magic 0,0,type,ndim then ndim big-endian uint32 dims."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BnnccError(f"cannot read IDX file {path}: {exc.strerror}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise BnnccError(f"{path} looks gzip-compressed but does not decompress: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise BnnccError(f"{path} is not an IDX file (bad magic number)")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise BnnccError(f"{path}: unknown IDX data type 0x{type_code:02x}")
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise BnnccError(f"{path}: IDX header is truncated")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_end != expected:
        raise BnnccError(
            f"{path}: IDX dims {dims} need {expected} data bytes, file has {len(raw) - header_end}")
    data = np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(dims)
    return data.astype(dtype.newbyteorder("="))


def _find_idx(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise BnnccError(f"MNIST file {stem}[.gz] not found in {directory}")


def load_mnist(directory: str | Path) -> Split:
    """MNIST from the four standard IDX files in `directory` (plain or .gz), scaled by 1/255."""
    directory = Path(directory)
    arrays = {key: read_idx(_find_idx(directory, stem)) for key, stem in MNIST_FILES.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1] != images.shape[2] or labels.shape != images.shape[:1]:
            raise BnnccError(f"MNIST {part} files have unexpected shapes {images.shape} / {labels.shape}")
    side = int(arrays["train_images"].shape[1])

    def flat(images: np.ndarray) -> np.ndarray:
        return (images.reshape(len(images), -1) / 255.0).astype(np.float32)

    return Split(flat(arrays["train_images"]), arrays["train_labels"].astype(np.int64),
                 flat(arrays["test_images"]), arrays["test_labels"].astype(np.int64), image_size=side)
