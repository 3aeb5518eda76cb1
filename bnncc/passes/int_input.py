"""Integer thresholds for a binary-weight conv on an integer (uint8/int8) model input.

The ONNX idiom: q (uint8/int8) -> Cast(float) -> optional scalar Sub/Mul/Div -> Conv (+-1 weights) -> ... -> sign.
onnxruntime computes x(q) elementwise (one IEEE float32 operation per step; the table `xq` holds x for every
q, computed by numpy exactly as onnxruntime does), then the conv's running sum acc = fl(... fl(fl(+-x1) +- x2) ...)
over the valid taps (a tap outside the image adds 0), then bit = acc >= T with T the layer's float threshold
(passes/thresholds.float_thresholds, already checked against onnxruntime's float chain after the sum).

The integer kernel computes A = sum of +-(q - m) over the valid taps (q - m = 0 stands for a tap outside the
image), an exact integer. With x(q) = alpha * (q - m) + d(q), |d(q)| <= delta (measured on the table), and the
float rounding of a running sum of K terms bounded by gamma_{K-1} * sum |x| (gamma_n = n u / (1 - n u),
u = 2^-24; Higham, Accuracy and Stability, 4.2):

    |acc - alpha * A| <= E = K * delta + gamma_{K-1} * K * max|x(q)|.

When alpha is a power of two and x(q) = alpha * (q - m) exactly (e.g. (q - 128) / 128), every partial
sum is an integer below 2^24 times alpha, so the sum is exact and E = 0.

So acc >= T is decided by A alone unless some reachable integer A lies in [(T - E) / alpha, (T + E) / alpha):
then the channel is AMBIGUOUS and the layer must keep the float path. Otherwise bit = (A >= t) with
t = ceil((T + E) / alpha). All arithmetic here is exact (fractions), so the fold is a proof, not a test;
tests/compiler/test_int_input_fold.py checks it by brute force against the unfolded float32 math.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

U = Fraction(1, 2 ** 24)  # unit roundoff of float32 (round to nearest)


@dataclass(frozen=True)
class IntInput:
    """x(q) ~= alpha * (q - offset) for the integer input domain."""

    alpha: Fraction  # > 0
    offset: int  # m: the kernel subtracts it (so a tap outside the image, x = 0, is q - m = 0)
    qs: np.ndarray  # the integer domain (int64), e.g. 0..255
    xq: np.ndarray  # float32 x(q) for each q in qs, as onnxruntime computes it


def ideal_affine(steps: list[tuple[str, float]]) -> tuple[Fraction, Fraction]:
    """(alpha, beta) of the exact map q -> alpha q + beta of scalar Sub/Add/Mul/Div steps (constants as float32)."""
    alpha, beta = Fraction(1), Fraction(0)
    for op, value in steps:
        c = Fraction(float(np.float32(value)))
        if op == "Sub":
            beta -= c
        elif op == "Add":
            beta += c
        elif op == "Mul":
            alpha, beta = alpha * c, beta * c
        elif op == "Div":
            alpha, beta = alpha / c, beta / c
        else:
            raise ValueError(op)
    return alpha, beta


def evaluate_steps(q: np.ndarray, steps: list[tuple[str, float]]) -> np.ndarray:
    """onnxruntime's elementwise float32 chain on integer q: Cast, then one IEEE operation per step."""
    x = q.astype(np.float32)
    for op, value in steps:
        c = np.float32(value)
        x = {"Sub": np.subtract, "Add": np.add, "Mul": np.multiply, "Div": np.divide}[op](x, c).astype(np.float32)
    return x


def int_input(dtype: str, steps: list[tuple[str, float]]) -> IntInput | None:
    """The integer-input description of Cast + steps on a `dtype` ("uint8"/"int8") input; None when x(q) is
    not alpha * (q - m) up to rounding for a positive alpha and an integer m (the float path then stays)."""
    qs = np.arange(0, 256, dtype=np.int64) if dtype == "uint8" else np.arange(-128, 128, dtype=np.int64)
    alpha, beta = ideal_affine(steps)
    if alpha <= 0:
        return None
    m = -beta / alpha
    if m.denominator != 1:
        return None
    return IntInput(alpha, int(m), qs, evaluate_steps(qs, steps))


def error_bound(spec: IntInput, taps: int) -> Fraction:
    """E: |onnxruntime's float acc - alpha * A| for any window of at most `taps` valid taps."""
    delta = max(abs(Fraction(float(x)) - spec.alpha * (int(q) - spec.offset)) for q, x in zip(spec.qs, spec.xq))
    reach = taps * max(abs(int(q) - spec.offset) for q in spec.qs)
    if delta == 0 and _power_of_two(spec.alpha) and reach < 2 ** 24:
        return Fraction(0)  # every x and partial sum is an integer (< 2^24) times alpha = 2^e: exact
    xmax = max(abs(Fraction(float(x))) for x in spec.xq)
    n = max(taps - 1, 0)
    gamma = n * U / (1 - n * U)
    return taps * delta + gamma * taps * xmax


def _power_of_two(f: Fraction) -> bool:
    return f > 0 and f.numerator & (f.numerator - 1) == 0 and f.denominator & (f.denominator - 1) == 0


def _ceil(f: Fraction) -> int:
    return -((-f.numerator) // f.denominator)


def _fold_thresholds(spec: IntInput, taps: int, thresh: np.ndarray, undecided) -> tuple[np.ndarray, list[int]]:
    """Integer thresholds t_c (bit = A >= t_c) for float thresholds T_c (bit = acc >= T_c; -inf: always on,
    NaN: always off), and the channels where a reachable A is not decided. undecided(c, T_c) gives
    (the smallest integer A that is not surely off, the bound from which A is surely on)."""
    reach = taps * max(abs(int(q) - spec.offset) for q in spec.qs)  # |A| <= reach
    out, ambiguous = [], []
    for c, t_float in enumerate(np.asarray(thresh, np.float32)):
        if np.isnan(t_float):
            out.append(reach + 1)
            continue
        if np.isinf(t_float):
            out.append(-reach if t_float < 0 else reach + 1)
            continue
        first, on_from = undecided(c, t_float)
        first = max(first, -reach)
        if first < on_from and first <= reach:
            ambiguous.append(c)
        out.append(min(max(_ceil(on_from), -reach), reach + 1))
    return np.asarray(out, np.int32), ambiguous


def int_thresholds(spec: IntInput, taps: int, thresh: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """_fold_thresholds for +-1 weights: acc is within E of alpha * A, so A is undecided in
    [(T - E) / alpha, (T + E) / alpha)."""
    e = error_bound(spec, taps)

    def undecided(_c, t_float):
        t = Fraction(float(t_float))
        return _ceil((t - e) / spec.alpha), (t + e) / spec.alpha

    return _fold_thresholds(spec, taps, thresh, undecided)


def scaled_error_bound(spec: IntInput, taps: int) -> Fraction:
    """E' for weights +-s (s > 0): onnxruntime's acc = sum of the products s * (+-x), each rounded at most once
    (|rel. error| <= u; none with FMA), then summed in some order, so |acc - s * alpha * A| <= s * E' with
    E' = K * delta + K * max|x| * (u + gamma_{K-1} (1 + u))."""
    delta = max(abs(Fraction(float(x)) - spec.alpha * (int(q) - spec.offset)) for q, x in zip(spec.qs, spec.xq))
    xmax = max(abs(Fraction(float(x))) for x in spec.xq)
    n = max(taps - 1, 0)
    gamma = n * U / (1 - n * U)
    return taps * delta + taps * xmax * (U + gamma * (1 + U))


def scaled_int_thresholds(spec: IntInput, taps: int, scale: np.ndarray, thresh: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """int_thresholds for a conv with weights +-scale_c. `thresh` T_c is the lowering's threshold on acc' = sum of
    +-x with the chain y = fl(scale_c * acc') first (passes/lower.py puts the weight scale there): acc' >= T_c iff
    y >= T_y for onnxruntime's threshold T_y on its own accumulator y, and since v -> fl(s v) is monotone,
    T_y lies in (lo, hi] = (fl(s * prev(T)), fl(s * T)]. A reachable A is decided when s alpha A - s E' >= hi
    (on) or s alpha A + s E' <= lo (off); otherwise the channel is ambiguous."""
    e = scaled_error_bound(spec, taps)

    def undecided(c, t_float):
        s = np.float32(scale[c])
        lo = Fraction(float(np.float32(s * np.nextafter(t_float, np.float32(-np.inf)))))
        hi = Fraction(float(np.float32(s * t_float)))
        s = Fraction(float(s))
        on_from = (hi + s * e) / (s * spec.alpha)  # A >= on_from: on
        off_to = (lo - s * e) / (s * spec.alpha)  # A <= off_to: off
        return off_to.numerator // off_to.denominator + 1, on_from  # the smallest integer > off_to

    return _fold_thresholds(spec, taps, thresh, undecided)


def ambiguous_band(spec: IntInput, taps: int, t_float: float) -> tuple[int, int]:
    """[lo, hi]: the integers A for which acc >= T is not decided by A (alpha * A within E of T); outside it
    bit = (A >= t) with t = hi + 1 from int_thresholds. Empty (lo > hi) for a channel that is not ambiguous."""
    e = error_bound(spec, taps)
    t = Fraction(float(np.float32(t_float)))
    return _ceil((t - e) / spec.alpha), _ceil((t + e) / spec.alpha) - 1
