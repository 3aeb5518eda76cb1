"""`bnncc inspect --nodes`: every ONNX node of the file gets a fate (its layer, what it folded into, a view,
a constant, a rewrite) and a float32 layer says why it is not binary."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from bnncc.cli import main
from bnncc.inspect_nodes import node_fates
from tests.frontend.test_canonicalize_zero_one import dorefa_cnn
from tests.helpers.onnx_models import ModelBuilder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KINDS = {"binary", "bits", "float32", "folded", "view", "binarizer-part", "dropped", "constant", "rewritten"}


@pytest.mark.parametrize("model", ["digits/cnn.onnx", "digits/mlp.onnx", "mixed/bireal.onnx", "mixed/reactnet.onnx",
                                   "mixed/densenet.onnx", "mixed/bnfree.onnx"])
def test_every_node_of_the_shipped_examples_has_a_fate(model):
    fates, graph = node_fates(EXAMPLES / model)
    nodes = onnx.load(str(EXAMPLES / model), load_external_data=False).graph.node
    assert [f.op for f in fates] == [n.op_type for n in nodes]
    assert {f.kind for f in fates} <= KINDS
    assert not [f for f in fates if f.kind == "dropped"], fates  # these models use every node
    for index, layer in enumerate(graph.nodes):  # every layer that implements ONNX nodes is named by one row
        if layer.source:
            assert any(f.detail.startswith(f"layer {index}:") for f in fates), layer
    by_op = {}
    for fate in fates:
        by_op.setdefault(fate.op, set()).add(fate.kind)
    assert "binary" in by_op.get("Conv", set()) | by_op.get("MatMul", set()) | by_op.get("Gemm", set())
    assert by_op.get("BatchNormalization", {"folded"}) & {"folded", "float32"}


def test_digits_cnn_nodes_say_what_they_became():
    fates = {f.name: f for f in node_fates(EXAMPLES / "digits/cnn.onnx")[0]}
    assert fates["/3/Conv"].kind == "binary" and "XNOR-popcount" in fates["/3/Conv"].detail
    assert fates["/5/BatchNormalization"].detail.startswith("folded into the threshold of layer 1 (/3/Conv")
    assert fates["/11/Flatten"].kind == "view"
    assert fates["/2/GreaterOrEqual"].kind == "binarizer-part"
    assert fates["/12/Transpose"].kind == "constant" and "/12/MatMul" in fates["/12/Transpose"].detail


def test_a_non_binary_weight_says_why(tmp_path):
    b = ModelBuilder((16,), seed=1)
    x = b.sign(b.batchnorm(b.gemm(b.start(), 16, 12), 12))
    weight = np.where(b.rng.standard_normal((8, 12)) >= 0, 1.0, -1.0)
    weight[7, :3] *= 0.5
    weight[7, 3:5] *= 2.0
    onnx.save(b.build(b.node("Gemm", [x, b.const(weight)], transB=1)), tmp_path / "m.onnx")
    last = [f for f in node_fates(tmp_path / "m.onnx")[0] if f.op == "Gemm"][-1]
    assert last.kind == "float32"
    assert "weights not +-alpha per channel: 3 distinct magnitudes in output channel 7" in last.detail


def test_rewritten_nodes_name_the_idiom(tmp_path):
    onnx.save(dorefa_cnn("div"), tmp_path / "m.onnx")
    fates = node_fates(tmp_path / "m.onnx")[0]
    divs = [f for f in fates if f.op == "Div"]
    assert divs and all(f.kind == "rewritten" and "{0,1}" in f.detail for f in divs)
    assert [f.kind for f in fates if f.op == "Conv"] == ["binary", "binary"]  # real-input first layer, then bits


def test_cli_inspect_nodes():
    result = CliRunner().invoke(main, ["inspect", "--nodes", str(EXAMPLES / "digits/mlp.onnx")])
    assert result.exit_code == 0, result.output
    assert "ONNX node" in result.output and "19 ONNX nodes:" in result.output
