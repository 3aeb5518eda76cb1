"""The bench models of examples/bench: shapes, MAC counts and the kernel of every layer."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import onnx
import pytest

from bnncc.compiler import lower_model

BENCH = Path(__file__).resolve().parents[2] / "examples" / "bench"


def load_builder(name: str):
    spec = importlib.util.spec_from_file_location(f"make_{name}", BENCH / f"make_{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def vgg_small(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vgg") / "vgg_small.onnx"
    onnx.save(load_builder("vgg_small").build(), path)
    return path


def test_vgg_small_shape_and_macs(vgg_small):
    graph = lower_model(vgg_small)
    convs = [n for n in graph.nodes if n.kernel.startswith("bnn_conv2d")]
    dense = [n for n in graph.nodes if n.kernel.startswith("bnn_dense")]
    assert [n.out_dims[0] for n in convs] == [64, 64, 128, 128, 256, 256]
    assert [n.n_out for n in dense] == [512, 10]
    assert sum(n.binary_macs for n in graph.nodes) == 153_097_216
    assert convs[0].kernel == "bnn_conv2d_f32_thresh"
    # every binary conv, 3x3x256 = 2304-bit windows included, on the bit-sliced fast path
    assert [n.kernel for n in convs[1:]] == ["bnn_conv2d_bin_thresh_sliced"] * 5
    weights = sum(int(n.packed.size) for n in convs + dense) * 32
    assert 3.2e6 < weights < 3.4e6


def test_dense1024_is_one_binary_dense(tmp_path):
    path = tmp_path / "dense1024.onnx"
    onnx.save(load_builder("dense1024").build(), path)
    graph = lower_model(path)
    layers = [n for n in graph.nodes if n.binary_macs]
    assert len(layers) == 1 and layers[0].binary_macs == 1024 * 1024
    assert layers[0].kernel.startswith("bnn_dense_bin")
