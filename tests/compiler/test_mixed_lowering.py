"""Unit tests of the mixed-precision passes: exact affine folds, storage kinds on a DAG, RSign thresholds,
and the arena's liveness with in-place layers."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from bnncc import ir
from bnncc.compiler import lower_model
from bnncc.passes.arena import plan_arena
from bnncc.passes.chain import ChainEvaluator
from bnncc.passes.exact_affine import bn_scale_bias, exact_prefix
from tests.helpers import mixed_models as mm


def _lower(model, tmp_path):
    onnx.save(model, tmp_path / "m.onnx")
    return lower_model(tmp_path / "m.onnx")


# ------------------------------------------------------------------------------------- exact affine
def test_bn_scale_bias_reproduces_onnxruntime_bit_for_bit_on_many_values():
    rng = np.random.default_rng(0)
    c = 32
    step = ir.ChainStep("BatchNormalization", (rng.standard_normal(c), rng.standard_normal(c),
                                               rng.standard_normal(c) * 10, rng.uniform(1e-3, 50, c)), epsilon=1e-3)
    s, t = bn_scale_bias(step)
    x = (rng.standard_normal((c, 20000)) * np.exp(rng.uniform(-8, 8, (c, 1)))).astype(np.float32)
    mine = (x * s[:, None]).astype(np.float32) + t[:, None]
    assert np.array_equal(mine, ChainEvaluator([step], c)(x))


def test_exact_prefix_takes_one_multiply_then_one_add_only():
    c = 4
    ones = np.ones(c, np.float32)
    bn = ir.ChainStep("BatchNormalization", (ones, ones, ones, ones))
    mul, add, sub = ir.ChainStep("Mul", (ones * 2,)), ir.ChainStep("Add", (ones,)), ir.ChainStep("Sub", (ones * 3,))
    assert exact_prefix([mul, add, add], c)[0] == 2
    assert exact_prefix([bn, add], c)[0] == 1  # BN already has its add
    assert exact_prefix([add, mul], c)[0] == 1  # (x + a) * m is not x * s + t in float32
    taken, out = exact_prefix([sub], c)
    assert taken == 1 and np.array_equal(out.bias, -3 * ones) and np.array_equal(out.scale, ones)
    assert exact_prefix([ir.ChainStep("Sub", (ones,), const_first=True)], c)[0] == 0


def test_folded_affine_output_equals_onnxruntime_on_every_accumulator():
    """acc * scale + bias in float32 equals onnxruntime's chain for every integer accumulator value."""
    rng = np.random.default_rng(1)
    c, fan_in = 8, 300
    steps = [ir.ChainStep("BatchNormalization", (rng.standard_normal(c), rng.standard_normal(c),
                                                 rng.standard_normal(c) * 9, rng.uniform(1, 300, c)))]
    _, out = exact_prefix(steps, c)
    acc = np.broadcast_to(np.arange(-fan_in, fan_in + 1, dtype=np.float32), (c, 2 * fan_in + 1))
    mine = (acc * out.scale[:, None]).astype(np.float32) + out.bias[:, None]
    assert np.array_equal(mine, ChainEvaluator(steps, c)(acc))


# ---------------------------------------------------------------------------------------------- kinds
def test_tensor_with_real_and_binary_consumers_is_real_and_packed_once(tmp_path):
    graph = _lower(mm.bireal(), tmp_path)
    kinds = {name: t.kind for name, t in graph.tensors.items()}
    adds = [layer for layer in graph.nodes if layer.kernel == "bnn_add_f32"]
    assert adds and all(kinds[layer.outputs[0]] is ir.Kind.REAL for layer in adds)
    packs = [layer for layer in graph.nodes if isinstance(layer, ir.Pack)]
    assert len({layer.inputs[0] for layer in packs}) == len(packs)  # one packed copy per real tensor
    # the binary convs give real output (a residual Add follows), BN folded into their affine
    convs = [layer for layer in graph.nodes if isinstance(layer, ir.ConvLayer)]
    assert convs and all(isinstance(layer.out, ir.AffineOut) for layer in convs)
    # names without ':' are ONNX tensors of the same name
    assert all(":" not in layer.outputs[0] or layer.outputs[0].endswith(":unpacked") for layer in graph.nodes)


def test_binary_conv_output_is_bits_when_only_signs_consume_it(tmp_path):
    graph = _lower(mm.densenet(), tmp_path)
    convs = [layer for layer in graph.nodes if isinstance(layer, ir.ConvLayer)]
    assert all(graph.tensors[layer.outputs[0]].kind is ir.Kind.BITS for layer in convs)
    concat = [layer for layer in graph.nodes if isinstance(layer, ir.ConcatLayer)]
    assert concat and all(layer.bits for layer in concat) and concat[0].channels == (12, 5)


@pytest.mark.parametrize("scale", [1.0, -1.0])
def test_rsign_threshold_is_the_shift_and_flips_with_a_negative_scale(scale, tmp_path):
    b = mm.MixedBuilder((3, 2, 2), 0)
    shift = np.array([0.5, -0.25, 1e-3], np.float32)
    x = b.node("Mul", [b.start(), b.const(np.float32(scale))])
    y = b.sign(b.node("Sub", [x, b.const(shift.reshape(1, 3, 1, 1))]), "sign")
    graph = _lower(b.build(b.flatten(y)), tmp_path)
    (pack,) = graph.nodes[:1]
    assert pack.kernel == "bnn_pack_thresh_chw_f32"
    # sign(x - b) >= 0 iff x >= b (scale 1); sign(-x - b) >= 0 iff x <= -b (scale -1, flipped channels)
    assert np.array_equal(pack.thresh.values, shift if scale > 0 else -shift)
    assert bool(np.all(pack.thresh.flipped)) == (scale < 0)


def test_non_binary_and_depthwise_convs_are_float_layers(tmp_path):
    b = mm.MixedBuilder((4, 6, 6), 0)
    x = b.real_conv(b.start(), 4, 4, 3, pad=1, group=4)
    x = b.real_conv(x, 4, 3, 1)
    graph = _lower(b.build(b.flatten(x)), tmp_path)
    assert [layer.kernel for layer in graph.nodes] == ["bnn_conv2d_f32w_f32"] * 2
    assert graph.nodes[0].group == 4 and graph.nodes[0].why.startswith("depthwise")
    assert graph.nodes[1].why.startswith("weights not +-alpha per channel: ")


# ---------------------------------------------------------------------------------------------- arena
def _live_overlap(graph):
    """Every pair of tensors alive at once occupies disjoint bytes unless one is the other's in-place output."""
    first, last = {}, {}
    for index, layer in enumerate(graph.nodes):
        for name in layer.outputs:
            first.setdefault(name, index)
            last.setdefault(name, index)
        for name in layer.inputs:
            last[name] = index
    names = sorted(graph.arena)
    for i, a in enumerate(names):
        for bname in names[i + 1:]:
            if last[a] < first[bname] or last[bname] < first[a]:
                continue
            oa, ob = graph.arena[a], graph.arena[bname]
            sa, sb = graph.tensors[a].nbytes, graph.tensors[bname].nbytes
            if oa < ob + sb and ob < oa + sa:
                # allowed for an in-place pair (same offset, one dies where the other is born) and for a concat
                # input written into its slice of the concat's output (it dies at the concat)
                assert _in_place_pair(graph, a, bname, first, last) or _slice_of(graph, a, bname, last) \
                    or _slice_of(graph, bname, a, last), (a, bname)


def _in_place_pair(graph, a, b, first, last):
    return graph.arena[a] == graph.arena[b] and (last[a] == first[b] or last[b] == first[a])


def _slice_of(graph, part, whole, last):
    concat = graph.nodes[last[part]]
    return (isinstance(concat, ir.ConcatLayer) and concat.outputs[0] == whole
            and concat.inputs.index(part) in concat.in_place
            and graph.arena[whole] <= graph.arena[part]
            and graph.arena[part] + graph.tensors[part].nbytes <= graph.arena[whole] + graph.tensors[whole].nbytes)


@pytest.mark.parametrize("make", [mm.bireal, mm.reactnet, mm.densenet, mm.bnfree])
def test_arena_never_overlaps_live_tensors(make, tmp_path):
    graph = _lower(make(), tmp_path)
    _live_overlap(graph)
    # the shortcut of every residual Add stays alive (and untouched) until the Add reads it
    assert graph.arena_bytes > 0


def test_in_place_layers_share_their_input_buffer(tmp_path):
    b = mm.MixedBuilder((4, 4, 4), 0)
    x = b.node("Add", [b.real_conv(b.start(), 4, 4, 1), b.chan(4)])
    x = b.prelu(x, 4)
    graph = _lower(b.build(b.flatten(b.real_conv(x, 4, 2, 1))), tmp_path)
    conv, add, prelu = graph.nodes[:3]
    assert graph.arena[conv.outputs[0]] == graph.arena[add.outputs[0]] == graph.arena[prelu.outputs[0]]


def test_shortcut_is_not_overwritten_in_place(tmp_path):
    """An elementwise layer whose input is still needed later must not write over it."""
    b = mm.MixedBuilder((4, 4, 4), 0)
    x = b.real_conv(b.start(), 4, 4, 1)
    y = b.prelu(x, 4)  # x is still read by the Add below
    graph = _lower(b.build(b.flatten(b.add(y, x))), tmp_path)
    prelu = next(layer for layer in graph.nodes if layer.kernel == "bnn_prelu_f32")
    assert graph.arena[prelu.outputs[0]] != graph.arena[prelu.inputs[0]]


def test_real_concat_inputs_are_written_into_their_slices(tmp_path):
    graph = _lower(mm.reactnet(), tmp_path)
    concat = next(layer for layer in graph.nodes if isinstance(layer, ir.ConcatLayer) and layer.in_place)
    base = graph.arena[concat.outputs[0]]
    _, h, w = concat.out_dims
    offset = 0
    for position, (name, c) in enumerate(zip(concat.inputs, concat.channels)):
        if position in concat.in_place:
            assert graph.arena[name] == base + offset * h * w * 4
        offset += c
    # a tensor read twice by one concat (concat(p, p)) is copied
    twice = [layer for layer in graph.nodes if isinstance(layer, ir.ConcatLayer) and len(set(layer.inputs)) == 1]
    assert twice and not twice[0].in_place


def test_arena_plan_is_deterministic(tmp_path):
    graph = _lower(mm.reactnet(), tmp_path)
    again = plan_arena(graph)
    assert again.arena == graph.arena and again.arena_bytes == graph.arena_bytes
