"""A uint8/int8 model input end to end (passes/input_cast.py): torch `x.float() / 255`, `(x.float() - 128) / 128`
and int8 `x.float() / 127` models, exported with an integer dummy input, compile to the integer first-layer kernel
and match onnxruntime bit for bit on the host and on a Cortex-M4 in QEMU; where the fold is not exact (ambiguous
channels, per-channel normalization, a float-output conv) one exact cast layer feeds the float path instead."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from bnncc.cli import main
from bnncc.compiler import compile_model, lower_model
from bnncc.errors import BnnccError
from bnncc.verify import Reference, random_inputs, run_compiled, verify_model
from bnncc.verify_layers import verify_layers

pytestmark = pytest.mark.skipif(__import__("shutil").which("gcc") is None, reason="needs gcc")

NORMALIZATIONS = {  # forward's first line -> (torch input dtype, expected first-layer kernel)
    "u255": ("uint8", "bnn_conv2d_u8_thresh"),
    "u128": ("uint8", "bnn_conv2d_u8_thresh"),
    "s127": ("int8", "bnn_conv2d_s8_thresh"),
}


def _torch_model(path, mode: str, dynamo: bool = False, seed: int = 0):
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)

    def sign(x):
        return torch.where(x >= 0, 1.0, -1.0)

    class BinConv(torch.nn.Conv2d):
        def forward(self, x):
            return torch.nn.functional.conv2d(x, sign(self.weight), None, self.stride, self.padding)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = BinConv(3, 16, 3, padding=1, bias=False), torch.nn.BatchNorm2d(16)
            self.c2, self.b2 = BinConv(16, 16, 3, padding=1, bias=False), torch.nn.BatchNorm2d(16)
            self.fc = torch.nn.Linear(16 * 4 * 4, 10)
            for bn in (self.b1, self.b2):
                bn.running_mean.uniform_(-3, 3)
                bn.running_var.uniform_(0.5, 4)
                bn.weight.data.uniform_(-1, 1)
                bn.bias.data.uniform_(-1, 1)

        def forward(self, x):
            if mode == "u255":
                x = x.float() / 255
            elif mode == "u128":
                x = (x.float() - 128) / 128
            else:
                x = x.float() / 127
            x = torch.nn.functional.max_pool2d(sign(self.b1(self.c1(x))), 2)
            x = torch.nn.functional.max_pool2d(sign(self.b2(self.c2(x))), 2)
            return self.fc(x.flatten(1))

    dtype = torch.int8 if NORMALIZATIONS[mode][0] == "int8" else torch.uint8
    kwargs = {"dynamo": True} if dynamo else {"dynamo": False, "opset_version": 17}
    torch.onnx.export(Net().eval(), (torch.zeros(1, 3, 16, 16, dtype=dtype),), str(path), **kwargs)
    return path


def _onnx_input_type(path) -> int:
    return onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.elem_type


def _bits_equal(tmp_path, path, target: str, inputs=None, count: int = 64) -> np.ndarray:
    """Compile, run `count` random integer inputs on target, and assert onnxruntime's raw float32 bits."""
    out = tmp_path / f"out-{target}"
    compiled = compile_model(path, out, name="model", core=target)
    x = inputs if inputs is not None else random_inputs(compiled.input_size, count, 3, compiled.graph.input_dtype)
    got = run_compiled(out, compiled.name, target, x)
    _, want, _ = Reference(path).run(x)
    np.testing.assert_array_equal(got.view(np.uint32), want.astype(np.float32).reshape(got.shape).view(np.uint32))
    return got


@pytest.mark.parametrize("mode", sorted(NORMALIZATIONS))
def test_torch_integer_input_runs_the_integer_kernel_bit_exact(tmp_path, mode):
    dtype, kernel = NORMALIZATIONS[mode]
    path = _torch_model(tmp_path / f"{mode}.onnx", mode)
    assert _onnx_input_type(path) == (TensorProto.INT8 if dtype == "int8" else TensorProto.UINT8)
    graph = lower_model(path)
    assert graph.input_dtype == dtype
    assert graph.nodes[0].kernel == kernel and graph.nodes[0].inputs == [graph.input]
    assert not any(layer.kernel.startswith("bnn_cast") for layer in graph.nodes)
    _bits_equal(tmp_path, path, "host")
    header = (tmp_path / "out-host" / "model.h").read_text()
    c_type = "int8_t" if dtype == "int8" else "uint8_t"
    assert f"int model_run(const {c_type} *input, float *output);" in header
    assert f"#define MODEL_INPUT_TYPE {c_type}" in header
    report = verify_model(path, samples=200)
    assert report.ok and report.max_abs_diff == 0.0, report.format()


def test_dynamo_export_is_recognized_too(tmp_path):
    path = _torch_model(tmp_path / "dyn.onnx", "u128", dynamo=True)
    assert lower_model(path).nodes[0].kernel == "bnn_conv2d_u8_thresh"
    _bits_equal(tmp_path, path, "host", count=32)


@pytest.mark.usefixtures("qemu_toolchain")
@pytest.mark.parametrize("mode", ["u255", "s127"])
def test_integer_input_on_cortex_m4(tmp_path, mode):
    path = _torch_model(tmp_path / f"{mode}.onnx", mode)
    host = _bits_equal(tmp_path, path, "host", count=24)
    m4 = _bits_equal(tmp_path, path, "cortex-m4", count=24)
    np.testing.assert_array_equal(host.view(np.uint32), m4.view(np.uint32))


def _conv_sign_model(steps, dtype=TensorProto.UINT8, bias=None, seed=0, c_out=8, hw=7, sign=True,
                     weight=None):
    """q -> Cast -> steps [(op, constant)] -> Conv 3x3x3 pad 1 (+-1, bias) -> [Where(y >= 0, 1, -1)]."""
    rng = np.random.default_rng(seed)
    w = weight if weight is not None else np.where(rng.random((c_out, 3, 3, 3)) < 0.5, -1.0, 1.0).astype(np.float32)
    inits = [numpy_helper.from_array(w, "w")]
    nodes = [helper.make_node("Cast", ["q"], ["x0"], to=TensorProto.FLOAT)]
    for index, (op, value) in enumerate(steps):
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), f"k{index}"))
        nodes.append(helper.make_node(op, [f"x{index}", f"k{index}"], [f"x{index + 1}"], name=f"norm{index}"))
    conv_in = [f"x{len(steps)}", "w"]
    if bias is not None:
        inits.append(numpy_helper.from_array(np.asarray(bias, np.float32), "b"))
        conv_in.append("b")
    nodes.append(helper.make_node("Conv", conv_in, ["y"], pads=[1] * 4, name="conv"))
    out = "y"
    if sign:
        inits += [numpy_helper.from_array(np.array(0, np.float32), "zero"),
                  numpy_helper.from_array(np.array(1, np.float32), "one"),
                  numpy_helper.from_array(np.array(-1, np.float32), "minus")]
        nodes += [helper.make_node("GreaterOrEqual", ["y", "zero"], ["ge"]),
                  helper.make_node("Where", ["ge", "one", "minus"], ["s"], name="sign")]
        out = "s"
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("q", dtype, [1, 3, hw, hw])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, c_out, hw, hw])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _save(tmp_path, model, name="m.onnx"):
    path = tmp_path / name
    onnx.save(model, path)
    return path


def test_ambiguous_channels_take_the_exact_float_fallback(tmp_path):
    # bias -A/255 puts each threshold on alpha * A for an integer A: no integer threshold is provably right
    rng = np.random.default_rng(5)
    bias = -(rng.integers(-300, 300, 8) / np.float32(255)).astype(np.float32)
    path = _save(tmp_path, _conv_sign_model([("Div", 255.0)], bias=bias))
    graph = lower_model(path)
    kernels = [layer.kernel for layer in graph.nodes]
    assert kernels[:2] == ["bnn_cast_u8_f32", "bnn_conv2d_f32_thresh"], kernels
    assert "channel(s)" in graph.nodes[0].why and "stays float" in graph.nodes[0].why
    # inputs whose windows reach the thresholds: flat images sum to multiples of the tap count
    flat = np.repeat(np.arange(0, 256, 4, dtype=np.uint8)[:, None], 3 * 7 * 7, axis=1)
    _bits_equal(tmp_path, path, "host", inputs=np.concatenate([flat, random_inputs(3 * 49, 64, 1, "uint8")]))
    fates = CliRunner().invoke(main, ["inspect", "--nodes", str(path)])
    assert fates.exit_code == 0, fates.output
    assert "bnn_cast_u8_f32" in fates.output and "stays float" in fates.output


@pytest.mark.parametrize("dtype", [TensorProto.UINT8, TensorProto.INT8])
def test_few_ambiguous_channels_are_recomputed_in_float(tmp_path, dtype):
    """One channel's threshold sits on alpha * A for a flat image's window sum A: the integer kernel runs, and
    that channel is recomputed in float in onnxruntime's order where the integer kernel finds its sum in the band
    (bnn_conv2d_*_thresh_fix)."""
    rng = np.random.default_rng(11)
    w = np.where(rng.random((8, 3, 3, 3)) < 0.5, -1.0, 1.0).astype(np.float32)
    d0 = int(w[0].sum())
    w[0, 0, 0, 0] = 1.0 if d0 % 2 == 0 else w[0, 0, 0, 0]  # any d0 != 0 will do
    d0 = int(w[0].sum())
    lo = -128 if dtype == TensorProto.INT8 else 0
    scale = 127.0 if dtype == TensorProto.INT8 else 255.0
    bias = -((rng.integers(-200, 200, 8) + 0.5) / np.float32(scale)).astype(np.float32)
    bias[0] = -np.float32(np.float32(lo + 101) * d0 / np.float32(scale))  # on the flat image q = lo + 101
    path = _save(tmp_path, _conv_sign_model([("Div", scale)], dtype=dtype, bias=bias, weight=w))
    graph = lower_model(path)
    first = graph.nodes[0]
    assert first.kernel.endswith("8_thresh_fix") and first.int_fix == (0,), (first.kernel, first.why)
    assert "recomputed in float" in first.why
    np_type = np.int8 if dtype == TensorProto.INT8 else np.uint8
    flat = np.repeat(np.arange(lo, lo + 256, dtype=np.int64)[:, None], 3 * 7 * 7, axis=1).astype(np_type)
    _bits_equal(tmp_path, path, "host", inputs=np.concatenate([flat, random_inputs(3 * 49, 32, 1, np_type.__name__)]))
    source = (tmp_path / "out-host" / "model.c").read_text()
    assert f"{first.kernel}(" in source and "static const bnn_int_fix" in source


def _many_ambiguous_model(tmp_path, dtype):
    """32 channels, 8 of them (every 4th: a quarter, the most that keep the integer kernel) with a threshold on
    alpha * A for the flat image q = v_c (a different v_c each), so on those images every interior pixel of that
    channel lands in its band."""
    rng = np.random.default_rng(12)
    w = np.where(rng.random((32, 3, 3, 3)) < 0.5, -1.0, 1.0).astype(np.float32)  # 27 taps: sums odd, never 0
    lo = -128 if dtype == TensorProto.INT8 else 0
    scale = 127.0 if dtype == TensorProto.INT8 else 255.0
    bias = -((rng.integers(-200, 200, 32) + 0.5) / np.float32(scale)).astype(np.float32)
    flat_values = {}
    for i, c in enumerate(range(0, 32, 4)):
        v = lo + 7 + 31 * i
        flat_values[c] = v
        bias[c] = -np.float32(np.float32(v) * int(w[c].sum()) / np.float32(scale))
    path = _save(tmp_path, _conv_sign_model([("Div", scale)], dtype=dtype, bias=bias, weight=w, c_out=32))
    return path, w, flat_values


@pytest.mark.parametrize("dtype", [TensorProto.UINT8, TensorProto.INT8])
def test_many_ambiguous_channels_in_their_band_at_once(tmp_path, dtype):
    """A quarter of the channels undecided, and images on which all of them land in their band at every interior
    pixel (the float sum decides 8 x 25 (pixel, channel) pairs per image): bit-exact against onnxruntime."""
    path, w, flat_values = _many_ambiguous_model(tmp_path, dtype)
    first = lower_model(path).nodes[0]
    assert first.kernel.endswith("8_thresh_fix") and first.int_fix == tuple(range(0, 32, 4)), (first.kernel, first.why)
    lo = -128 if dtype == TensorProto.INT8 else 0
    np_type = np.int8 if dtype == TensorProto.INT8 else np.uint8
    flat = np.repeat(np.arange(lo, lo + 256, dtype=np.int64)[:, None], 3 * 7 * 7, axis=1)
    for c, lo_c in zip(first.int_fix, first.int_fix_lo):  # on its flat image every interior A = v_c * sum(w_c)
        assert lo_c <= (flat_values[c] - first.int_offset) * int(w[c].sum()) < first.out.values[c], c
    _bits_equal(tmp_path, path, "host", inputs=np.concatenate([flat.astype(np_type),
                                                               random_inputs(3 * 49, 32, 1, np_type.__name__)]))


@pytest.mark.usefixtures("qemu_toolchain")
def test_many_ambiguous_channels_on_cortex_m4(tmp_path):
    """The same on the M4 (the DSP path: two pairs of pixels per pass, both tested against the band)."""
    path, _, _ = _many_ambiguous_model(tmp_path, TensorProto.UINT8)
    flat = np.repeat(np.arange(0, 256, dtype=np.int64)[:, None], 3 * 7 * 7, axis=1).astype(np.uint8)
    _bits_equal(tmp_path, path, "cortex-m4", inputs=np.concatenate([flat[7::31], random_inputs(3 * 49, 8, 2, "uint8")]))


@pytest.mark.parametrize("case,steps,expect", [
    ("per-channel", [("Sub", np.array([120, 128, 100], np.float32).reshape(1, 3, 1, 1)),
                     ("Div", np.array([58, 57, 57], np.float32).reshape(1, 3, 1, 1))], "per channel"),
    ("negated", [("Mul", -1 / 255)], "alpha > 0"),
    ("off-range", [("Sub", 300.0)], "alpha > 0"),
])
def test_other_normalizations_take_the_exact_float_fallback(tmp_path, case, steps, expect):
    path = _save(tmp_path, _conv_sign_model(steps))
    graph = lower_model(path)
    assert graph.nodes[0].kernel == "bnn_cast_u8_f32" and expect in graph.nodes[0].why
    _bits_equal(tmp_path, path, "host")


def test_float_output_conv_and_real_weights_take_the_fallback(tmp_path):
    path = _save(tmp_path, _conv_sign_model([("Div", 255.0)], sign=False), "real_out.onnx")
    graph = lower_model(path)
    assert graph.nodes[0].kernel == "bnn_cast_u8_f32" and "output is real" in graph.nodes[0].why
    _bits_equal(tmp_path, path, "host")
    w = np.random.default_rng(2).standard_normal((8, 3, 3, 3)).astype(np.float32)
    path = _save(tmp_path, _conv_sign_model([("Div", 255.0)], weight=w), "real_w.onnx")
    graph = lower_model(path)
    assert graph.nodes[0].kernel == "bnn_cast_u8_f32" and "real-valued weights" in graph.nodes[0].why


def test_bare_cast_and_int8(tmp_path):
    path = _save(tmp_path, _conv_sign_model([], dtype=TensorProto.INT8, bias=np.linspace(-40, 40, 8)))
    assert lower_model(path).nodes[0].kernel == "bnn_conv2d_s8_thresh"
    _bits_equal(tmp_path, path, "host")


def test_dequantize_linear_input(tmp_path):
    model = _conv_sign_model([], bias=np.linspace(-3, 3, 8))
    g = model.graph
    g.initializer.extend([numpy_helper.from_array(np.array(0.5, np.float32), "scale"),
                          numpy_helper.from_array(np.array(128, np.uint8), "zp")])
    cast = g.node[0]
    g.node.remove(cast)
    g.node.insert(0, helper.make_node("DequantizeLinear", ["q", "scale", "zp"], ["x0"], name="dq"))
    path = _save(tmp_path, model)
    graph = lower_model(path)
    assert graph.nodes[0].kernel == "bnn_conv2d_u8_thresh" and graph.nodes[0].int_offset == 128
    _bits_equal(tmp_path, path, "host")


def test_integer_input_read_without_cast_is_refused(tmp_path):
    model = _conv_sign_model([("Div", 255.0)])
    g = model.graph
    g.node[0].input[0] = "pooled"
    g.node.insert(0, helper.make_node("MaxPool", ["q"], ["pooled"], kernel_shape=[1, 1], name="early_pool"))
    path = _save(tmp_path, model)
    with pytest.raises(BnnccError, match="early_pool.*Cast"):
        lower_model(path)
    result = CliRunner().invoke(main, ["compile", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_verify_inputs_and_layers_take_integers(tmp_path):
    path = _torch_model(tmp_path / "u255.onnx", "u255")
    with pytest.raises(BnnccError, match="integers in \\[0, 255\\]"):
        verify_model(path, inputs=np.full((1, 768), 0.5, np.float32))
    data = tmp_path / "inputs.npy"
    np.save(data, random_inputs(768, 20, 9, "uint8"))
    result = CliRunner().invoke(main, ["verify", str(path), "--inputs", str(data)])
    assert result.exit_code == 0 and "MATCH" in result.output, result.output
    report = verify_layers(path, samples=20)
    assert report.ok and "every compared tensor is identical on every input" in report.summary(), report.summary()
