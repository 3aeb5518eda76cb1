"""Property tests: random small BNNs, compiled to C, built on the host, compared with onnxruntime."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import assert_bit_exact
from tests.helpers.onnx_models import ModelBuilder

CHANNELS = st.sampled_from([1, 3, 8, 31, 32, 33, 40, 64, 65])


@st.composite
def conv_networks(draw):
    seed = draw(st.integers(0, 2**31))
    c_in = draw(st.integers(1, 3))
    size = draw(st.integers(5, 11))
    b = ModelBuilder((c_in, size, size), seed)
    x, c = b.start(), c_in
    weights_via = draw(st.sampled_from(["sign", "where", "folded"]))
    for layer in range(draw(st.integers(1, 3))):
        h, w = b.shape(x)[2:]
        k = draw(st.integers(1, min(5, h + 2, w + 2)))
        pad = draw(st.integers(0, 2))
        stride = draw(st.integers(1, 2))
        dil = draw(st.sampled_from([1, 1, 2]))
        asym = draw(st.booleans())
        pads = (pad, pad, pad, pad) if not asym else (pad, max(0, pad - 1), max(0, pad - 1), pad)
        if min(h + pads[0] + pads[2], w + pads[1] + pads[3]) < dil * (k - 1) + 1:
            k, dil = 1, 1
        c_out = draw(CHANNELS)
        alpha = np.random.default_rng(seed + layer).uniform(0.1, 2, c_out) if weights_via == "folded" else None
        x = b.conv(x, c, c_out, k, stride=stride, pads=pads, dil=dil, bias=draw(st.booleans()),
                   via=weights_via, alpha=alpha)
        can_pool = min(b.shape(x)[2:]) >= 2
        pool = draw(st.sampled_from(["none", "before_bn", "after_bn", "after_sign"])) if can_pool else "none"
        if pool == "before_bn":
            x = b.maxpool(x)
        x = b.batchnorm(x, c_out, fan_in=c * k * k, zero_gamma=draw(st.booleans()))
        if pool == "after_bn":
            x = b.maxpool(x)
        x = b.sign(x, draw(st.sampled_from(["where", "less", "sign"])))
        if pool == "after_sign":
            x = b.maxpool(x)
        c = c_out
    x = b.flatten(x)
    n_out = draw(st.integers(2, 12))
    model_k = int(np.prod(b.shape(x)[1:]))
    x = b.gemm(x, model_k, n_out, bias=draw(st.booleans()))
    if draw(st.booleans()):
        x = b.batchnorm(x, n_out, fan_in=model_k)
    return b.build(x)


@st.composite
def dense_networks(draw):
    seed = draw(st.integers(0, 2**31))
    k = draw(st.integers(4, 100))
    b = ModelBuilder((k,), seed)
    x = b.start()
    if draw(st.booleans()):  # binarize the real input itself
        x = b.sign(x, "where")
    for _ in range(draw(st.integers(1, 3))):
        n = draw(CHANNELS)
        x = b.gemm(x, k, n, bias=draw(st.booleans()), via=draw(st.sampled_from(["sign", "where", "folded"])),
                   alpha=np.random.default_rng(seed).uniform(0.1, 2, n))
        x = b.batchnorm(x, n, fan_in=k, zero_gamma=draw(st.booleans()))
        x = b.sign(x, draw(st.sampled_from(["where", "less", "sign"])))
        k = n
    x = b.gemm(x, k, draw(st.integers(2, 12)))
    return b.build(x)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(model=conv_networks())
def test_random_conv_networks_match_onnxruntime(model):
    assert_bit_exact(model, samples=300)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=dense_networks())
def test_random_dense_networks_match_onnxruntime(model):
    assert_bit_exact(model, samples=300)
