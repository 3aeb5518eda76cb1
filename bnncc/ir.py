"""The typed intermediate representation: a DAG of nodes over named tensors.

Two levels share one Graph type:
- after the frontend, nodes mirror the supported ONNX ops (Conv, Dense, Affine, Binarize, MaxPool,
  Flatten, Softmax), with weights as numpy arrays and every tensor REAL;
- after lowering, nodes are kernel calls (the *Layer classes below), tensors are REAL or BITS, and
  weights are packed.
Passes are plain functions Graph -> Graph (see bnncc/passes/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np


# Integer model input types: dtype -> (C type, kernel infix, smallest value).
INT_TYPES = {"uint8": ("uint8_t", "u8", 0), "int8": ("int8_t", "s8", -128)}
C_INPUT_TYPES = {"float32": "float", **{k: v[0] for k, v in INT_TYPES.items()}}


class Kind(Enum):
    REAL = "real"  # float32, ONNX layout (CHW for feature maps)
    BITS = "bits"  # packed {-1,+1}, HWC, 32-bit words, LSB first


def words(n: int) -> int:
    """32-bit words needed for n bits."""
    return (n + 31) // 32


# Largest conv window (k_h * k_w * C_in bits) of the bit-sliced runtime conv: BNN_SLICED_MAX_BITS
# in runtime_c/bnn.h (the generated C checks that a build does not lower it below what it uses).
# Wider windows count per channel (bnn_conv2d_bin_thresh).
SLICED_MAX_BITS = 8188


@dataclass(frozen=True)
class Tensor:
    """A tensor without its batch dimension: (C, H, W) for feature maps, (N,) for vectors."""

    name: str
    shape: tuple[int, ...]
    kind: Kind = Kind.REAL

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def chw(self) -> tuple[int, int, int]:
        """The (C, H, W) view used by kernels; a vector of n is (n, 1, 1)."""
        if len(self.shape) == 3:
            return self.shape  # type: ignore[return-value]
        return (self.size, 1, 1)

    @property
    def nbytes(self) -> int:
        c, h, w = self.chw
        if self.kind is Kind.BITS:
            return h * w * words(c) * 4
        return self.size * 4


@dataclass(frozen=True)
class Window:
    """A convolution or pooling window; bottom/right pads follow from the output size."""

    k_h: int
    k_w: int
    stride_h: int = 1
    stride_w: int = 1
    pad_top: int = 0
    pad_left: int = 0
    pad_bottom: int = 0
    pad_right: int = 0
    dil_h: int = 1
    dil_w: int = 1

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        eff_h = self.dil_h * (self.k_h - 1) + 1
        eff_w = self.dil_w * (self.k_w - 1) + 1
        oh = (h + self.pad_top + self.pad_bottom - eff_h) // self.stride_h + 1
        ow = (w + self.pad_left + self.pad_right - eff_w) // self.stride_w + 1
        return oh, ow


@dataclass(frozen=True)
class ChainStep:
    """One per-channel elementwise op between a linear layer and its binarizer.

    `op` is the ONNX op ("BatchNormalization", "Add", "Mul", "Sub", "Div") and `consts` its constant
    operands broadcast to shape (C,) ("BatchNormalization": scale, B, mean, var; others: one array).
    `const_first` records operand order for Sub/Div. The float32 evaluation of these steps is the
    reference every threshold is checked against.
    """

    op: str
    consts: tuple[np.ndarray, ...]
    epsilon: float = 1e-5
    const_first: bool = False


# ----------------------------------------------------------------------------------- frontend nodes


@dataclass
class Node:
    name: str
    inputs: list[str]
    outputs: list[str]

    @property
    def op(self) -> str:
        return type(self).__name__


@dataclass
class Conv(Node):
    weight: np.ndarray = field(repr=False, default=None)  # (C_out, C_in / group, k_h, k_w) float32
    bias: np.ndarray | None = field(repr=False, default=None)
    window: Window = None
    onnx_op: str = "Conv"
    group: int = 1  # 1, or C_in (depthwise; real weights only)


@dataclass
class Dense(Node):
    weight: np.ndarray = field(repr=False, default=None)  # (N_out, K) float32
    bias: np.ndarray | None = field(repr=False, default=None)
    onnx_op: str = "Gemm"


@dataclass
class Affine(Node):
    step: ChainStep = None
    onnx_op: str = "BatchNormalization"


@dataclass
class Binarize(Node):
    strict: bool = False  # True: +1 iff x > 0 (0 -> -1); False: +1 iff x >= 0
    onnx_op: str = "Sign"


@dataclass
class Clip(Node):
    """Clip(x, lo, hi) (also Relu = Clip(0, inf) when onnx_op is "Relu"): before a binarizer that it cannot
    change it is dropped; elsewhere it is a float32 clamp on a REAL tensor."""

    lo: float = float("-inf")
    hi: float = float("inf")
    onnx_op: str = "Clip"

    def keeps_sign(self, strict: bool) -> bool:
        return (self.lo <= 0 < self.hi) if strict else (self.lo < 0 <= self.hi)


@dataclass
class LeakyRelu(Node):
    """x >= 0 ? x : alpha * x (LeakyRelu) or slope[c] * x (PRelu, per channel)."""

    slope: np.ndarray = field(repr=False, default=None)  # (C,) float32
    onnx_op: str = "PRelu"


@dataclass
class Binary(Node):
    """Add / Sub / Mul / Div of two computed tensors. `modes` gives how each operand is read against the
    (C, H, W) output: "full" (same shape), "channel" (C, 1, 1), "plane" (1, H, W) or "scalar" (one value)."""

    op: str = "Add"
    modes: tuple[str, str] = ("full", "full")
    onnx_op: str = "Add"


@dataclass
class Concat(Node):
    """Concatenation on the channel axis (axis 1 of NCHW, or of a batch-1 vector)."""

    onnx_op: str = "Concat"


@dataclass
class AvgPool(Node):
    """AveragePool with an explicit output size (ceil_mode), or a mean over H and W (GlobalAveragePool,
    ReduceMean over axes 2 and 3: `window` is None and the output is (C,) or (C, 1, 1))."""

    window: Window | None = None
    out_hw: tuple[int, int] = (1, 1)
    count_include_pad: bool = False
    ceil_mode: bool = False
    opset: int = 19  # the model's ONNX opset: AveragePool 7..18 runs MLAS's order in onnxruntime
    onnx_op: str = "AveragePool"


@dataclass
class MaxPool(Node):
    window: Window = None
    onnx_op: str = "MaxPool"


@dataclass
class Pad(Node):
    """ONNX Pad (mode constant) on the spatial axes of a (C, H, W) tensor."""

    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    value: float = 0.0
    onnx_op: str = "Pad"


@dataclass
class Flatten(Node):
    onnx_op: str = "Flatten"


@dataclass
class Transpose(Node):
    """ONNX Transpose of a (d0, d1, d2) tensor that keeps the batch axis first; perm over those 3 axes."""

    perm: tuple[int, int, int] = (0, 1, 2)
    onnx_op: str = "Transpose"


@dataclass
class Softmax(Node):
    log: bool = False
    onnx_op: str = "Softmax"


# ------------------------------------------------------------------------------------ lowered layers


@dataclass
class Threshold:
    """out bit = (acc >= values[c]) after the weights of flipped channels were negated."""

    values: np.ndarray  # int32 for binary input, float32 for real input
    flipped: np.ndarray  # bool (C,): channel whose direction was s < 0
    constant: np.ndarray  # bool (C,): channel with s == 0 (output fixed)
    adjusted: int = 0  # thresholds the brute-force check corrected
    zero_channels: int = 0  # channels where the pre-sign value is exactly 0 for a reachable accumulator


@dataclass
class AffineOut:
    """out = scale[c] * acc + bias[c] in float32."""

    scale: np.ndarray
    bias: np.ndarray


@dataclass
class Layer(Node):
    """A kernel call. `source` names the ONNX nodes it implements."""

    source: tuple[str, ...] = ()
    why: str = ""  # what is binary here and why, for `inspect`
    inplace = False  # class attribute: may the output share its first input's bytes when that input dies here

    @property
    def real_macs(self) -> int:
        return 0

    @property
    def binary_macs(self) -> int:
        return 0

    @property
    def kernel(self) -> str:
        raise NotImplementedError


@dataclass
class Pack(Layer):
    """REAL -> BITS. Without `thresh`: bit = x >= 0. With it: bit = (x >= thresh.values[c]) XOR
    thresh.flipped[c] (a folded per-channel affine chain / RSign shift; values already in that frame)."""

    dims: tuple[int, int, int] = (0, 0, 0)  # (C, H, W)
    thresh: Threshold | None = None

    @property
    def kernel(self) -> str:
        return "bnn_pack_chw_f32" if self.thresh is None else "bnn_pack_thresh_chw_f32"


@dataclass
class Unpack(Layer):
    dims: tuple[int, int, int] = (0, 0, 0)

    @property
    def kernel(self) -> str:
        return "bnn_unpack_bits_chw_f32"


@dataclass
class ConvLayer(Layer):
    in_dims: tuple[int, int, int] = (0, 0, 0)  # (C, H, W)
    out_dims: tuple[int, int, int] = (0, 0, 0)
    window: Window = None
    binary_input: bool = True
    packed: np.ndarray = field(repr=False, default=None)  # uint32 per output channel
    out: Threshold | AffineOut = None
    unit_weights: bool = False  # every weight exactly +-1 (no per-channel scale folded in)
    real_order: str = "exact"  # real input: float order, "exact" or "grouped" (passes/real_order.py)
    int_input: str = ""  # "uint8"/"int8": reads the integer model input (passes/integer_input.py)
    int_offset: int = 0  # m: the kernel sums +-(q - m); out.values are then int32 thresholds on that sum
    int_fix: tuple[int, ...] = ()  # undecided channels: the float sum where A is in [lo, t) (bnn_conv2d_*_thresh_fix)
    int_fix_thresh: np.ndarray | None = field(repr=False, default=None)  # their float thresholds
    int_fix_table: np.ndarray | None = field(repr=False, default=None)  # (256,) the exact cast x(q)
    int_fix_lo: np.ndarray | None = field(repr=False, default=None)  # int32 lo per undecided channel (t: out.values)
    group_interleave: bool = False  # sliced weights in blocks of 4 / 2 channel groups (passes/weight_layout.py)

    @property
    def binary_macs(self) -> int:
        if not self.binary_input:
            return 0
        c_out, oh, ow = self.out_dims
        return oh * ow * c_out * self.in_dims[0] * self.window.k_h * self.window.k_w

    @property
    def real_macs(self) -> int:
        if self.binary_input:
            return 0
        c_out, oh, ow = self.out_dims
        return oh * ow * c_out * self.in_dims[0] * self.window.k_h * self.window.k_w

    @property
    def window_bits(self) -> int:
        """Input elements of one window: k_h * k_w * C_in."""
        return self.window.k_h * self.window.k_w * self.in_dims[0]

    @property
    def sliced(self) -> bool:
        """Runs the bit-sliced conv from weights transposed at compile time."""
        return (self.binary_input and isinstance(self.out, Threshold)
                and self.window_bits <= SLICED_MAX_BITS)

    @property
    def kernel(self) -> str:
        if self.int_input:
            return f"bnn_conv2d_{INT_TYPES[self.int_input][1]}_thresh" + ("_fix" if self.int_fix else "")
        if self.sliced:
            return "bnn_conv2d_bin_thresh_sliced_gi" if self.group_interleave else "bnn_conv2d_bin_thresh_sliced"
        src = "bin" if self.binary_input else "f32"
        dst = "thresh" if isinstance(self.out, Threshold) else "f32"
        grouped = "_grouped" if not self.binary_input and self.real_order == "grouped" else ""
        return f"bnn_conv2d_{src}_{dst}{grouped}"


@dataclass
class DenseLayer(Layer):
    k: int = 0  # true input length
    n_words: int = 0  # packed input words (binary input only)
    n_out: int = 0
    binary_input: bool = True
    packed: np.ndarray = field(repr=False, default=None)
    out: Threshold | AffineOut = None
    interleave: int = 1  # 4: rows interleaved by 4 outputs (passes/weight_layout.py, the *_i4 kernels)

    @property
    def binary_macs(self) -> int:
        return self.k * self.n_out if self.binary_input else 0

    @property
    def real_macs(self) -> int:
        return 0 if self.binary_input else self.k * self.n_out

    @property
    def kernel(self) -> str:
        # bnn_dense_bin_thresh_sliced (runtime) is not chosen: measured slower than the
        # per-channel popcount on M0+ and M55 (1024 -> 1024: 1.45 / 5.24 against 1.81 / 6.73
        # bMAC/instr), faster only on v7-M (2.93 against 2.61)
        src = "bin" if self.binary_input else "f32"
        dst = "thresh" if isinstance(self.out, Threshold) else "f32"
        layout = "_i4" if self.interleave == 4 else ""
        return f"bnn_dense_{src}_{dst}{layout}"


@dataclass
class PoolLayer(Layer):
    in_dims: tuple[int, int, int] = (0, 0, 0)
    out_dims: tuple[int, int, int] = (0, 0, 0)
    window: Window = None
    on_bits: bool = True
    and_mask: np.ndarray | None = field(repr=False, default=None)  # bool (C,) AND-pooled channels

    @property
    def kernel(self) -> str:
        return "bnn_maxpool_bits" if self.on_bits else "bnn_maxpool_f32"


@dataclass
class PadLayer(Layer):
    """Constant padding: on BITS the value is -1 or +1 (a constant bit), on REAL any float."""

    in_dims: tuple[int, int, int] = (0, 0, 0)
    out_dims: tuple[int, int, int] = (0, 0, 0)
    pad_top: int = 0
    pad_left: int = 0
    value: float = 0.0
    on_bits: bool = True

    @property
    def kernel(self) -> str:
        return "bnn_pad_bits" if self.on_bits else "bnn_pad_f32"


@dataclass
class SoftmaxLayer(Layer):
    n: int = 0
    log: bool = False

    @property
    def kernel(self) -> str:
        return "bnn_log_softmax_f32" if self.log else "bnn_softmax_f32"


# Layers on REAL tensors (float32, CHW). `inplace` layers may write over their first input when it
# dies there (the arena decides).


@dataclass
class RealConvLayer(Layer):
    in_dims: tuple[int, int, int] = (0, 0, 0)
    out_dims: tuple[int, int, int] = (0, 0, 0)
    window: Window = None
    group: int = 1
    weight: np.ndarray = field(repr=False, default=None)  # (C_out, C_in / group, k_h, k_w) float32
    bias: np.ndarray | None = field(repr=False, default=None)

    @property
    def real_macs(self) -> int:
        c_out, oh, ow = self.out_dims
        return oh * ow * c_out * int(np.prod(self.weight.shape[1:]))

    @property
    def kernel(self) -> str:
        return "bnn_conv2d_f32w_f32"


@dataclass
class RealDenseLayer(Layer):
    k: int = 0
    n_out: int = 0
    weight: np.ndarray = field(repr=False, default=None)  # (N_out, K) float32, ONNX flatten order
    bias: np.ndarray | None = field(repr=False, default=None)

    @property
    def real_macs(self) -> int:
        return self.k * self.n_out

    @property
    def kernel(self) -> str:
        return "bnn_dense_f32w_f32"


@dataclass
class ChannelLayer(Layer):
    """One per-channel op on a REAL tensor: op in affine (x * scale + bias), add, sub (x - k), rsub (k - x),
    mul, div (x / k), prelu. `consts` are (C,) float32 arrays; with none, the per-channel operand k is the
    second input tensor (C values)."""

    op: str = "add"
    dims: tuple[int, int, int] = (0, 0, 0)
    consts: tuple[np.ndarray, ...] = field(repr=False, default=())
    inplace = True

    @property
    def kernel(self) -> str:
        return {"affine": "bnn_scale_shift_f32", "prelu": "bnn_prelu_f32", "rsub": "bnn_sub_f32"}.get(
            self.op, f"bnn_{self.op}_f32")


@dataclass
class EltwiseLayer(Layer):
    """Two REAL tensors: add, sub (a - b), mul, div (a / b), each read through its broadcast mode
    (Binary.modes) against the output dims."""

    op: str = "add"
    dims: tuple[int, int, int] = (0, 0, 0)
    modes: tuple[str, str] = ("full", "full")
    inplace = True

    @property
    def kernel(self) -> str:
        return f"bnn_{self.op}_f32"


@dataclass
class ActivationLayer(Layer):
    """relu, leaky_relu (alpha), clip (lo, hi) on n floats."""

    op: str = "relu"
    n: int = 0
    alpha: float = 0.0
    lo: float = float("-inf")
    hi: float = float("inf")
    inplace = True

    @property
    def kernel(self) -> str:
        return f"bnn_{self.op}_f32"


@dataclass
class AvgPoolLayer(Layer):
    """Average pool (window) or mean over H, W (window None: global / reduce_mean)."""

    in_dims: tuple[int, int, int] = (0, 0, 0)
    out_dims: tuple[int, int, int] = (0, 0, 0)
    window: Window | None = None
    count_include_pad: bool = False
    reduce_mean: bool = False  # ReduceMean rather than GlobalAveragePool
    mlas: bool = False  # AveragePool-7..18: onnxruntime's MLAS summation order (bnn_avgpool_mlas_f32)

    @property
    def kernel(self) -> str:
        if self.window is not None:
            return "bnn_avgpool_mlas_f32" if self.mlas else "bnn_avgpool_f32"
        return "bnn_reduce_mean_hw_f32" if self.reduce_mean else "bnn_global_avgpool_f32"


@dataclass
class ConcatLayer(Layer):
    """Channel concatenation of REAL (one copy per input into its CHW slice) or BITS (repack per pixel)."""

    channels: tuple[int, ...] = ()
    out_dims: tuple[int, int, int] = (0, 0, 0)
    bits: bool = False
    in_place: frozenset = frozenset()  # REAL inputs (by index) whose producer wrote straight into the slice

    @property
    def kernel(self) -> str:
        return "bnn_concat_bits" if self.bits else "bnn_concat_f32"


@dataclass
class CastLayer(Layer):
    """The integer model input (uint8/int8) -> float32: Cast, then the per-channel Sub/Add/Mul/Div steps that
    follow it in the model, as a table of onnxruntime's float32 result for each of the 256 values (one table,
    or one per channel). Exact by construction (passes/integer_input.py)."""

    dtype: str = "uint8"
    dims: tuple[int, int, int] = (0, 0, 0)  # (C, H, W)
    table: np.ndarray = field(repr=False, default=None)  # (1 or C, 256) float32, indexed by q - min(dtype)
    steps: tuple[ChainStep, ...] = ()
    int_conv: str = ""  # the binary conv that may read the integers instead (passes/input_cast.py), or ""
    int_conv_scale: np.ndarray | None = field(repr=False, default=None)  # its weights are +-scale_c (None: +-1)

    @property
    def kernel(self) -> str:
        return f"bnn_cast_{INT_TYPES[self.dtype][1]}_f32"


@dataclass
class TransposeLayer(Layer):
    """A REAL relayout (an NHWC model input read as NCHW, ...): out[i0][i1][i2] = in at index i_k on axis
    perm[k]. A copy, exact."""

    in_dims: tuple[int, int, int] = (0, 0, 0)  # the input's (d0, d1, d2) in ONNX order
    perm: tuple[int, int, int] = (0, 1, 2)

    @property
    def kernel(self) -> str:
        return "bnn_transpose_f32"


# ------------------------------------------------------------------------------------------- graph


@dataclass
class Graph:
    """Nodes in execution (topological) order over named tensors."""

    tensors: dict[str, Tensor]
    nodes: list[Node]
    input: str
    output: str
    model_name: str = "model"
    arena: dict[str, int] = field(default_factory=dict)  # tensor -> byte offset (after planning)
    arena_bytes: int = 0
    notes: list[str] = field(default_factory=list)  # warnings for `inspect`
    input_dtype: str = "float32"  # the model input's element type: "float32", "uint8" or "int8"

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]
