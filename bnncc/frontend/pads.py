"""Read an ONNX Pad (any opset) as spatial pads (top, left, bottom, right) and a constant value."""

from __future__ import annotations

import numpy as np

from ..errors import BnnccError


def spatial_pads(pads, axes, rank: int, label: str) -> tuple[int, int, int, int]:
    """ONNX pads [b_0.., e_0..] over `axes` (default all) of a rank-4 NCHW tensor -> (top, left, bottom, right).

    Only H and W may be padded, by non-negative amounts (negative pads crop: not a padding)."""
    pads = [int(p) for p in np.asarray(pads).reshape(-1)]
    axes = list(range(rank)) if axes is None else [int(a) % rank for a in np.asarray(axes).reshape(-1)]
    if len(pads) != 2 * len(axes):
        raise BnnccError(f"pads has {len(pads)} values for {len(axes)} axes", label, "Pad")
    begin, end = [0] * rank, [0] * rank
    for index, axis in enumerate(axes):
        begin[axis], end[axis] = pads[index], pads[len(axes) + index]
    if rank != 4:
        raise BnnccError(f"only the padding of (N, C, H, W) tensors is supported (rank {rank})", label, "Pad")
    if begin[0] or end[0] or begin[1] or end[1]:
        raise BnnccError("only the spatial axes (H, W) may be padded", label, "Pad")
    if min(begin + end) < 0:
        raise BnnccError("negative pads (cropping) are not supported", label, "Pad")
    return begin[2], begin[3], end[2], end[3]
