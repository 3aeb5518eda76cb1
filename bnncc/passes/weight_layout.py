"""Per-target weight layouts: the same packed words, reordered for the kernel a core runs fastest.

A pass IR -> IR run after the lowering, given the core the C is built for. Only the order of the words
changes (flash does not grow); the plain layouts of pack.py stay the reference contract of runtime_c/bnn.h.

- Binary dense on BITS input, cortex-m55: rows interleaved by 4 outputs (`interleave_rows`), read by
  bnn_dense_bin_thresh_i4 / bnn_dense_bin_f32_i4. Word i of the four rows of a block is one contiguous
  128-bit vector, so the Helium kernel loads it with one VLDRW instead of a gather (which held an
  address vector in one of the 8 Q registers and made GCC spill the adder tree).
"""

from __future__ import annotations

import numpy as np

from .. import ir

# Cores whose binary dense reads rows interleaved by 4 outputs.
INTERLEAVE_DENSE = {"cortex-m55": 4}


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


def choose_weight_layouts(graph: ir.Graph, target: str = "host") -> ir.Graph:
    """Reorder the weights of the layers whose fastest kernel on `target` reads another layout."""
    block = INTERLEAVE_DENSE.get(target)
    if block is None:
        return graph
    for layer in graph.nodes:
        if isinstance(layer, ir.DenseLayer) and layer.binary_input and layer.interleave == 1:
            layer.packed = interleave_rows(np.asarray(layer.packed).reshape(layer.n_out, -1), block)
            layer.interleave = block
    return graph
