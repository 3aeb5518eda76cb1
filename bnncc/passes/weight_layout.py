"""Per-target weight layouts: the same packed words, reordered for the kernel a core runs fastest.

A pass IR -> IR run after the lowering, given the core the C is built for. Only the order of the words
changes (flash does not grow); the plain layouts of pack.py stay the reference contract of runtime_c/bnn.h.

- Binary dense on BITS input, cortex-m55: rows interleaved by 4 outputs (`interleave_rows`), read by
  bnn_dense_bin_thresh_i4 / bnn_dense_bin_f32_i4. Word i of the four rows of a block is one contiguous
  128-bit vector, so the Helium kernel loads it with one VLDRW instead of a gather (which held an
  address vector in one of the 8 Q registers and made GCC spill the adder tree).
- Bit-sliced binary conv on cortex-m55 (c_in a multiple of 32, more than 32 outputs): the transposed
  weights in blocks of 4 channel groups, then 2 (`interleave_groups`), read by
  bnn_conv2d_bin_thresh_sliced_gi. One Helium vector then carries 2 or 4 groups of 32 output channels,
  so the window position, the lane sum and the threshold compare are paid once for all of them.
"""

from __future__ import annotations

import numpy as np

from .. import ir

# Cores whose binary dense reads rows interleaved by 4 outputs.
INTERLEAVE_DENSE = {"cortex-m55": 4}
# Cores whose bit-sliced conv reads channel groups interleaved in blocks of up to 4.
INTERLEAVE_CONV_GROUPS = {"cortex-m55"}


def interleave_rows(packed: np.ndarray, block: int) -> np.ndarray:
    """(n_out, n_words) uint32 plain rows -> the same words, rows interleaved by `block`: outputs
    block*b .. block*b + block-1 (b < n_out // block) form block b, word i of output block*b + l at
    index block*i + l of the block; the last n_out % block rows follow unchanged."""
    n_out, n_words = packed.shape
    full = n_out - n_out % block
    blocks = packed[:full].reshape(-1, block, n_words).transpose(0, 2, 1).reshape(-1)
    return np.concatenate([blocks, packed[full:].reshape(-1)]).astype(np.uint32)


def deinterleave_rows(flat: np.ndarray, n_out: int, n_words: int, block: int) -> np.ndarray:
    """The inverse of interleave_rows: (n_out, n_words) plain rows."""
    full = n_out - n_out % block
    head = flat[:full * n_words].reshape(-1, n_words, block).transpose(0, 2, 1).reshape(full, n_words)
    return np.concatenate([head, flat[full * n_words:].reshape(-1, n_words)]).astype(np.uint32)


def group_blocks(groups: int) -> list[tuple[int, int]]:
    """(first group, groups in the block) of the interleaved conv layout: 4 while 4 remain, then 2, then 1."""
    blocks, g0 = [], 0
    while g0 < groups:
        g = 4 if groups - g0 >= 4 else 2 if groups - g0 >= 2 else 1
        blocks.append((g0, g))
        g0 += g
    return blocks


def interleave_groups(tw: np.ndarray) -> np.ndarray:
    """(groups, bits) transposed conv weights -> the same words, flat, in the layout of
    bnn_conv2d_bin_thresh_sliced_gi: a block of g groups from g0 (p = 4 // g bit phases) starts at
    word g0 * bits and holds at 4 * s + l the word of group g0 + l // p at bit p * s + l % p."""
    groups, bits = tw.shape
    out = []
    for g0, g in group_blocks(groups):
        p = 4 // g
        block = tw[g0:g0 + g].reshape(g, bits // p, p)  # (group, step, phase)
        out.append(np.transpose(block, (1, 0, 2)).reshape(-1))  # step-major, then lane l = group * p + phase
    return np.concatenate(out).astype(np.uint32)


def deinterleave_groups(flat: np.ndarray, groups: int, bits: int) -> np.ndarray:
    """The inverse of interleave_groups: (groups, bits)."""
    tw = np.empty((groups, bits), np.uint32)
    for g0, g in group_blocks(groups):
        p = 4 // g
        block = flat[g0 * bits:(g0 + g) * bits].reshape(bits // p, g, p)
        tw[g0:g0 + g] = np.transpose(block, (1, 0, 2)).reshape(g, bits)
    return tw


def choose_weight_layouts(graph: ir.Graph, target: str = "host") -> ir.Graph:
    """Reorder the weights of the layers whose fastest kernel on `target` reads another layout."""
    block = INTERLEAVE_DENSE.get(target)
    for layer in graph.nodes:
        if block and isinstance(layer, ir.DenseLayer) and layer.binary_input and layer.interleave == 1:
            layer.packed = interleave_rows(np.asarray(layer.packed).reshape(layer.n_out, -1), block)
            layer.interleave = block
        if (target in INTERLEAVE_CONV_GROUPS and isinstance(layer, ir.ConvLayer) and layer.sliced
                and not layer.group_interleave and layer.in_dims[0] % 32 == 0 and layer.out_dims[0] > 32):
            groups = -(-layer.out_dims[0] // 32)
            layer.packed = interleave_groups(np.asarray(layer.packed).reshape(groups, layer.window_bits))
            layer.group_interleave = True
    return graph
