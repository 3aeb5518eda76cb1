import numpy as np
import onnx

from bnncc import ir
from bnncc.compiler import lower_model
from bnncc.passes.pack import pack_conv_bits_input, pack_dense_bits_input, pack_feature_map, pack_rows
from tests.helpers.onnx_models import cnn


def bit(words_row, index):
    return (int(words_row[index // 32]) >> (index % 32)) & 1


def test_pack_rows_lsb_first_with_zero_tail():
    rng = np.random.default_rng(0)
    bits = rng.random((3, 70)) < 0.5
    packed = pack_rows(bits)
    assert packed.shape == (3, 3) and packed.dtype == np.uint32
    for r in range(3):
        assert [bit(packed[r], i) for i in range(70)] == list(bits[r].astype(int))
        assert int(packed[r, 2]) >> 6 == 0  # tail bits are zero


def test_conv_weights_are_tap_major_with_padded_channels():
    rng = np.random.default_rng(1)
    signs = rng.random((2, 40, 3, 3)) < 0.5
    packed = pack_conv_bits_input(signs)
    assert packed.shape == (2, 9 * 2)
    for co in range(2):
        for ky in range(3):
            for kx in range(3):
                base = (ky * 3 + kx) * 2
                for ci in range(40):
                    assert bit(packed[co, base:base + 2], ci) == signs[co, ci, ky, kx]
                assert int(packed[co, base + 1]) >> 8 == 0


def test_dense_weights_follow_producer_hwc_layout():
    rng = np.random.default_rng(2)
    c, h, w = 33, 2, 3
    signs = rng.random((4, c * h * w)) < 0.5
    packed = pack_dense_bits_input(signs, (c, h, w))
    values = rng.standard_normal((c, h, w))
    act = pack_feature_map(values).reshape(-1)
    # XNOR-popcount over the packed layout equals the dot product in ONNX flatten order.
    x = np.where(values.reshape(-1) >= 0, 1, -1)
    for n in range(4):
        pc = sum(bin(int(a) ^ int(b)).count("1") for a, b in zip(act, packed[n]))
        assert c * h * w - 2 * pc == int(np.dot(x, np.where(signs[n], 1, -1)))


def test_arena_never_overlaps_live_tensors(tmp_path):
    onnx.save(cnn(seed=3), tmp_path / "m.onnx")
    graph = lower_model(tmp_path / "m.onnx")
    live = {}
    for index, layer in enumerate(graph.nodes):
        for name in layer.inputs + layer.outputs:
            live.setdefault(name, [index, index])[1] = index
    placed = [n for n in graph.arena]
    for i, a in enumerate(placed):
        for b in placed[i + 1:]:
            overlap_time = not (live[a][1] < live[b][0] or live[b][1] < live[a][0])
            ea = graph.arena[a] + graph.tensors[a].nbytes
            eb = graph.arena[b] + graph.tensors[b].nbytes
            overlap_space = graph.arena[a] < eb and graph.arena[b] < ea
            assert not (overlap_time and overlap_space), (a, b)
    assert graph.arena_bytes >= max(graph.arena[n] + graph.tensors[n].nbytes for n in placed)
    # Reuse happens: the arena is smaller than the sum of all intermediates.
    assert graph.arena_bytes < sum(graph.tensors[n].nbytes for n in placed)


def test_binary_weights_cost_one_bit_plus_four_bytes_per_channel(tmp_path):
    from bnncc.compiler import compile_model
    from bnncc.inspect import layer_rows

    onnx.save(cnn(seed=4), tmp_path / "m.onnx")
    graph = compile_model(tmp_path / "m.onnx", tmp_path / "out", name="net").graph
    source = (tmp_path / "out" / "net.c").read_text()
    for row, layer in zip(layer_rows(graph), graph.nodes):
        if isinstance(layer, ir.ConvLayer) and layer.binary_input and isinstance(layer.out, ir.Threshold):
            c_out, c_in = layer.out_dims[0], layer.in_dims[0]
            bits = c_out * c_in * layer.window.k_h * layer.window.k_w
            assert row.param_bytes <= 4 * c_out
            taps = layer.window.k_h * layer.window.k_w
            if layer.sliced:  # 1 bit per weight; output channels padded to a multiple of 32
                assert row.weight_bytes == ((c_out + 31) // 32) * taps * c_in * 4
            else:  # 1 bit per weight; input channels padded to 32-bit words per tap
                assert row.weight_bytes == c_out * taps * ((c_in + 31) // 32) * 4
            assert row.weight_bytes * 8 >= bits
            # inspect reports what the generated C really holds
            assert f"_weights[{row.weight_bytes // 4}] = {{" in source
