/*
 * bnn.h - the bnncc runtime: packing, XNOR-popcount kernels, pooling, softmax.
 *
 * Binary semantics (the contract every kernel keeps):
 *  - bit 1 means +1, bit 0 means -1; a real x binarizes to +1 iff x >= 0.
 *  - BITS feature maps are HWC: pixel (y, x) starts at word (y * w + x) * BNN_WORDS(c);
 *    channel ch of a pixel is bit (ch % 32) of word (ch / 32) (LSB first).
 *    Tail bits of the last word of every pixel are 0, in activations and weights alike.
 *  - REAL feature maps are float32 CHW (ONNX layout, batch 1).
 *  - Packed binary weights of a conv on BITS input: per output channel, [k_h][k_w][BNN_WORDS(c_in)]
 *    words (same layout as one pixel neighbourhood of the input).
 *  - Transposed weights (bnn_conv2d_bin_thresh_sliced): per group of 32 output channels,
 *    k_h*k_w*c_in words, word (ky * k_w + kx) * c_in + ci holding in bit i the weight bit of
 *    output channel g*32 + i at that tap and input channel (bits of missing channels 0).
 *    bnn_conv2d_bin_thresh_sliced_gi reads the same words in blocks of 4, 2 or 1 groups
 *    (docs/semantics.md, bnn_conv_bin.c).
 *  - Packed binary weights of a dense on BITS input: per output channel, n_words words, laid out
 *    exactly as the input vector (the compiler permutes them to the producer's HWC layout).
 *  - Packed binary weights of a conv / dense on REAL input: per output channel,
 *    BNN_WORDS(k) words holding k = c_in*k_h*k_w (conv, ONNX order ci, ky, kx) or k = n_in (dense)
 *    sign bits, element i in bit (i % 32) of word (i / 32).
 *  - dot product over true length K: dot = K - 2 * popcount(a XOR w). With ONNX zero padding a tap
 *    outside the image contributes 0: dot = K_valid - 2 * popcount over the valid taps only.
 *  - Threshold outputs: out bit = (acc >= thresh[c]). The compiler folds the direction (s < 0) into
 *    the weights (flipped bits) so every kernel compares with >=.
 *  - Real outputs: out = scale[c] * acc + bias[c] (float32).
 *
 * Every kernel has a plain reference twin named *_ref in bnn_ref.c; tests hold them equal.
 * No malloc, no globals, C99.
 */
#ifndef BNN_H
#define BNN_H

#include <stdint.h>

#define BNN_WORDS(n) (((n) + 31) / 32)

/* No FMA contraction anywhere in the runtime: a * b + c is two roundings, as in onnxruntime's
 * CPU kernels. C99 lets a compiler fuse it unless told not to. Every file that includes
 * bnn.h gets the standard pragma (clang and other C99 compilers honour it; GCC ignores the
 * pragma and warns, so it gets none: GCC needs -ffp-contract=off, which -std=c99 implies and
 * every build that bnncc generates passes explicitly, since gnu99 / gnu11 default to fast). */
#if !defined(__GNUC__) || defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Compact kernels: a build that optimizes for size (-Os / -Oz, where GCC and clang define
 * __OPTIMIZE_SIZE__) gets the smallest reasonable code instead of the fastest: one expansion
 * of each unrolled block, no duplicate fast paths, one shared out-of-line popcount
 * (bnn_popcount.c) instead of an inlined copy per caller. Results are the same bit for bit;
 * only speed and flash differ. -DBNN_COMPACT=0 / =1 overrides the choice. */
#ifndef BNN_COMPACT
#if defined(__OPTIMIZE_SIZE__)
#define BNN_COMPACT 1
#else
#define BNN_COMPACT 0
#endif
#endif

/* Largest window (k_h * k_w * c_in input bits, 32..8188) of the bit-sliced conv and dense
 * (bnn_conv2d_bin_thresh_sliced, bnn_dense_bin_thresh_sliced: 32 * n_words): the width of their
 * bit-sliced counters. Generated models check it (#error) when they use them. */
#ifndef BNN_SLICED_MAX_BITS
#define BNN_SLICED_MAX_BITS 8188
#endif
/* Largest window that bnn_conv2d_bin_thresh (plain weight layout) transposes into a stack
 * buffer of as many words to run the bit-sliced path; larger windows count per channel. */
#ifndef BNN_TRANSPOSE_MAX_BITS
#define BNN_TRANSPOSE_MAX_BITS (BNN_SLICED_MAX_BITS < 640 ? BNN_SLICED_MAX_BITS : 640)
#endif

/* Feature-map geometry. A vector of n elements is {1, 1, n}. */
typedef struct {
    int32_t h, w, c;
} bnn_dims;

/* Convolution / pooling window. Bottom and right pads are implied by the output dims. */
typedef struct {
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;
    int32_t dil_h, dil_w;
} bnn_window;

/* Profiling hook: the generated model calls BNN_PROFILE_MARK(i) before layer i and
 * BNN_PROFILE_MARK(n_layers) after the last one. A harness defines BNN_PROFILE and
 * provides bnn_profile_mark(). */
#ifdef BNN_PROFILE
void bnn_profile_mark(int32_t layer);
#define BNN_PROFILE_MARK(i) bnn_profile_mark(i)
#else
#define BNN_PROFILE_MARK(i) ((void)0)
#endif

/* --- bnn_pack.c ---------------------------------------------------------------------------- */
/* REAL CHW -> BITS HWC: bit = (x >= 0). */
void bnn_pack_chw_f32(const float *in, bnn_dims d, uint32_t *out);
/* BITS HWC -> REAL CHW with values +1.0f / -1.0f. */
void bnn_unpack_bits_chw_f32(const uint32_t *in, bnn_dims d, float *out);

/* --- bnn_conv_bin.c: BITS input ----------------------------------------------------------- */
void bnn_conv2d_bin_thresh(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                           const int32_t *thresh, const bnn_window *win, uint32_t *out,
                           bnn_dims out_d);
/* Same result from transposed weights tw (layout above; no per-call transpose, no stack
 * buffer). Needs k_h * k_w * c_in <= BNN_SLICED_MAX_BITS. */
void bnn_conv2d_bin_thresh_sliced(const uint32_t *in, bnn_dims in_d, const uint32_t *tw,
                                  const int32_t *thresh, const bnn_window *win, uint32_t *out,
                                  bnn_dims out_d);
/* Same result from the transposed weights reordered by channel-group blocks (Helium: 2 or 4
 * groups per vector; layout in bnn_conv_bin.c and docs/semantics.md). c_in a multiple of 32. */
void bnn_conv2d_bin_thresh_sliced_gi(const uint32_t *in, bnn_dims in_d, const uint32_t *tw,
                                     const int32_t *thresh, const bnn_window *win, uint32_t *out,
                                     bnn_dims out_d);
void bnn_conv2d_bin_f32(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                        const float *scale, const float *bias, const bnn_window *win, float *out,
                        bnn_dims out_d);

/* --- bnn_conv_real.c: REAL CHW input, binary weights ------------------------------------- */
/* acc = sum over the window's taps of (w ? +x : -x) in float, taps in weight order (ci, ky, kx).
 * The order of the float additions is part of the contract (docs/semantics.md):
 * - bnn_conv2d_f32_thresh / bnn_conv2d_f32_f32 (the default, EXACT order): acc = 0.0f, then
 *   acc = acc + x or acc - x over the valid taps in order; onnxruntime's result for +-1 weights.
 * - bnn_conv2d_f32_*_grouped (opt-in, `bnncc --fast-real-conv`; bnn_conv_real_grouped.c), for
 *   k = c_in * k_h * k_w <= BNN_REAL_GROUPED_MAX_TAPS: taps split into groups of
 *   BNN_REAL_GROUP_TAPS in order (the last may be shorter); a group of n taps into a low half
 *   (its first (n + 1) / 2 taps) and a high half (the rest); each half is summed from 0.0f tap by
 *   tap (h = h + x or h = h - x), taps outside the image counting as x = 0.0f; group sum =
 *   low + high (just low when the high half is empty); acc = group 0, then acc = acc + group j.
 *   Larger windows: the default order.
 * out bit = (acc >= thresh); real output: scale * acc + bias. */
#define BNN_REAL_GROUPED_MAX_TAPS 32
#define BNN_REAL_GROUP_TAPS 5
void bnn_conv2d_f32_thresh(const float *in, bnn_dims in_d, const uint32_t *weights,
                           const float *thresh, const bnn_window *win, uint32_t *out,
                           bnn_dims out_d);
void bnn_conv2d_f32_f32(const float *in, bnn_dims in_d, const uint32_t *weights,
                        const float *scale, const float *bias, const bnn_window *win, float *out,
                        bnn_dims out_d);
void bnn_conv2d_f32_thresh_grouped(const float *in, bnn_dims in_d, const uint32_t *weights,
                                   const float *thresh, const bnn_window *win, uint32_t *out,
                                   bnn_dims out_d);
void bnn_conv2d_f32_f32_grouped(const float *in, bnn_dims in_d, const uint32_t *weights,
                                const float *scale, const float *bias, const bnn_window *win,
                                float *out, bnn_dims out_d);

/* --- bnn_conv_int.c: INTEGER (uint8 / int8) CHW model input, binary weights ---------------- */
/* acc = sum over the valid taps of (w ? +(q - offset) : -(q - offset)), an exact int32 (a tap
 * outside the image is q = offset, i.e. 0 in the model's float domain); out bit = acc >= thresh.
 * offset must lie in the input type's range (0..255, -128..127). passes/int_input.py derives
 * thresh from the float model and proves it exact. */
#define BNN_INT_TABLE_MAX_TAPS 32
void bnn_conv2d_u8_thresh(const uint8_t *in, bnn_dims in_d, int32_t offset,
                          const uint32_t *weights, const int32_t *thresh, const bnn_window *win,
                          uint32_t *out, bnn_dims out_d);
void bnn_conv2d_s8_thresh(const int8_t *in, bnn_dims in_d, int32_t offset,
                          const uint32_t *weights, const int32_t *thresh, const bnn_window *win,
                          uint32_t *out, bnn_dims out_d);
/* The same conv where some channels' integer thresholds are not provably exact (passes/int_input.py):
 * channel channels[i] (ascending) is undecided by its integer sum A for lo[i] <= A < thresh[channels[i]];
 * there (and only there) its bit comes from the float sum: acc = 0.0f, then acc +- x over the valid
 * taps in order (ci, ky, kx), x = table[q - min] (the exact cast, bnn_cast.c), bit = acc >= f_thresh[i]
 * (bnn_conv2d_f32_thresh's bit). Every other bit is the integer kernel's. The integer kernel decides
 * the band from the sums it forms anyway: the float sum runs only for undecided (pixel, channel). */
typedef struct {
    int32_t n;               /* undecided channels */
    const int32_t *channels; /* n output channels, ascending */
    const int32_t *lo;       /* n: the band's first integer sum (its end: the channel's thresh) */
    const float *f_thresh;   /* n: float thresholds of the onnxruntime sum */
    const float *table;      /* 256: x for q = min(type) + i */
} bnn_int_fix;
void bnn_conv2d_u8_thresh_fix(const uint8_t *in, bnn_dims in_d, int32_t offset,
                              const uint32_t *weights, const int32_t *thresh,
                              const bnn_int_fix *fix, const bnn_window *win, uint32_t *out,
                              bnn_dims out_d);
void bnn_conv2d_s8_thresh_fix(const int8_t *in, bnn_dims in_d, int32_t offset,
                              const uint32_t *weights, const int32_t *thresh,
                              const bnn_int_fix *fix, const bnn_window *win, uint32_t *out,
                              bnn_dims out_d);

/* --- bnn_cast.c: INTEGER (uint8 / int8) model input -> float32 through compile-time tables ---- */
/* out[i] = table[t * 256 + (q - min)] for q = in[i], t = i / plane (one table per `plane` values). */
void bnn_cast_u8_f32(const uint8_t *in, int32_t n, int32_t plane, const float *table, float *out);
void bnn_cast_s8_f32(const int8_t *in, int32_t n, int32_t plane, const float *table, float *out);

/* --- bnn_dense.c -------------------------------------------------------------------------- */
/* BITS input of n_words words holding k true elements (tail and per-pixel padding bits 0). */
void bnn_dense_bin_thresh(const uint32_t *in, int32_t n_words, int32_t k,
                          const uint32_t *weights, const int32_t *thresh, int32_t n_out,
                          uint32_t *out);
void bnn_dense_bin_f32(const uint32_t *in, int32_t n_words, int32_t k, const uint32_t *weights,
                       const float *scale, const float *bias, int32_t n_out, float *out);
/* The same from weights interleaved by 4 outputs (the same words, reordered; chosen by the
 * compiler for cortex-m55): outputs 4b..4b+3 (b < n_out / 4) form block b of 4 * n_words words
 * at weights + 4 * b * n_words, word i of output 4b + l at index 4 * i + l; the last n_out % 4
 * outputs follow as plain rows (output o at weights + o * n_words, as in the plain layout). */
void bnn_dense_bin_thresh_i4(const uint32_t *in, int32_t n_words, int32_t k,
                             const uint32_t *weights, const int32_t *thresh, int32_t n_out,
                             uint32_t *out);
void bnn_dense_bin_f32_i4(const uint32_t *in, int32_t n_words, int32_t k,
                          const uint32_t *weights, const float *scale, const float *bias,
                          int32_t n_out, float *out);
/* Same result from weights transposed like a 1x1 conv's (bnn_conv2d_bin_thresh_sliced) on one
 * pixel of 32 * n_words channels: per group of 32 outputs, 32 * n_words words, word j holding in
 * bit i the weight bit of output g * 32 + i at input bit j. Needs 32 * n_words <=
 * BNN_SLICED_MAX_BITS. */
void bnn_dense_bin_thresh_sliced(const uint32_t *in, int32_t n_words, int32_t k,
                                 const uint32_t *tw, const int32_t *thresh, int32_t n_out,
                                 uint32_t *out);
/* REAL input of n_in floats, binary weights (BNN_WORDS(n_in) words per output). */
void bnn_dense_f32_thresh(const float *in, int32_t n_in, const uint32_t *weights,
                          const float *thresh, int32_t n_out, uint32_t *out);
void bnn_dense_f32_f32(const float *in, int32_t n_in, const uint32_t *weights,
                       const float *scale, const float *bias, int32_t n_out, float *out);

/* --- bnn_pool.c --------------------------------------------------------------------------- */
/* Max-pool on bits over valid taps only (ONNX pads with -inf): OR of the window, or AND for
 * channels whose bit is set in and_mask (BNN_WORDS(c) words; NULL = OR everywhere).
 * A window without any valid tap (only possible with pads >= the window) gives bit 0. */
void bnn_maxpool_bits(const uint32_t *in, bnn_dims in_d, const bnn_window *win,
                      const uint32_t *and_mask, uint32_t *out, bnn_dims out_d);
/* Max-pool on REAL CHW over valid taps only; a window without valid taps gives -inf. */
void bnn_maxpool_f32(const float *in, bnn_dims in_d, const bnn_window *win, float *out,
                     bnn_dims out_d);

/* --- bnn_pad.c: ONNX Pad (constant) on the spatial axes --------------------------------- */
/* BITS HWC: pixels outside the input get every channel bit = fill_plus_one (tail bits 0). */
void bnn_pad_bits(const uint32_t *in, bnn_dims in_d, int32_t pad_top, int32_t pad_left,
                  int32_t fill_plus_one, uint32_t *out, bnn_dims out_d);
/* REAL CHW: pixels outside the input get value. */
void bnn_pad_f32(const float *in, bnn_dims in_d, int32_t pad_top, int32_t pad_left, float value,
                 float *out, bnn_dims out_d);

/* --- bnn_transpose.c: a REAL relayout (ONNX Transpose keeping the batch axis first) -------- */
/* in is (in_d.c, in_d.h, in_d.w) in ONNX order; out[i0][i1][i2] = in at index i_k on axis p_k. */
void bnn_transpose_f32(const float *in, bnn_dims in_d, int32_t p0, int32_t p1, int32_t p2, float *out);

/* --- bnn_softmax.c: no libm needed ------------------------------------------------------ */
void bnn_softmax_f32(const float *in, int32_t n, float *out);
void bnn_log_softmax_f32(const float *in, int32_t n, float *out);
/* The libm-free helpers behind them, exposed so they can be tested on their own: exp within
 * 1e-7 relative for normal results (x <= 88.72; 0 below -104; subnormals approximate); log
 * within 1e-7 (relative, absolute near 1) for x > 0. */
float bnn_expf(float x);
float bnn_logf(float x);

/* ==== Mixed precision (issue 8): float32 layers, elementwise ops, concat, thresholds ======== *
 * REAL tensors are float32 CHW, batch 1; BITS as above. Every kernel here computes each output
 * with the float32 operations named in its comment, in that order, one rounding per operation
 * (no FMA: the sources carry `#pragma STDC FP_CONTRACT OFF` and every build bnncc generates
 * passes -ffp-contract=off). Where the comment says "same as onnxruntime" the tests pin the
 * result bit for bit against onnxruntime's CPU kernel; a float sum over a window (real conv,
 * dense, average pools) runs in the order stated, which onnxruntime does not share (MLAS
 * vectorizes it): those agree within rounding only.
 *
 * File map (KERNEL_FILES in bnncc/backend/emit.py; none of them needs bnn_popcount.c):
 *   bnn_conv2d_f32w_f32, bnn_dense_f32w_f32                           -> bnn_real.c
 *   bnn_scale_shift_f32, bnn_add_f32, bnn_sub_f32, bnn_mul_f32,
 *   bnn_div_f32                                                       -> bnn_elementwise.c
 *   bnn_relu_f32, bnn_prelu_f32, bnn_leaky_relu_f32, bnn_clip_f32    -> bnn_activation.c
 *   bnn_concat_f32, bnn_concat_bits                                   -> bnn_concat.c
 *   bnn_avgpool_f32, bnn_avgpool_mlas_f32, bnn_global_avgpool_f32,
 *   bnn_reduce_mean_hw_f32                                            -> bnn_avgpool.c
 *   bnn_pack_thresh_chw_f32                                           -> bnn_pack_thresh.c
 * In-place: every elementwise kernel (scale_shift, add/sub/mul/div, the activations) may be
 * called with out == an input of the same size (each output is written after its inputs are
 * read, at the same index). The windowed kernels and concat need out disjoint from inputs.
 */

/* --- bnn_real.c: float weights -------------------------------------------------------------- */
/* Conv with float32 weights in ONNX layout [c_out][c_in / groups][k_h][k_w]. groups divides
 * in_d.c and out_d.c (groups == 1: plain conv; groups == in_d.c: depthwise, channel multiplier
 * out_d.c / in_d.c). Zero padding, strides and dilations from win.
 * out = acc (+ bias[o] when bias != NULL), acc = 0.0f, then acc = acc + w * x over the valid
 * taps in order (ci, ky, kx) (taps outside the image skipped). */
void bnn_conv2d_f32w_f32(const float *in, bnn_dims in_d, const float *weights,
                         const float *bias, int32_t groups, const bnn_window *win, float *out,
                         bnn_dims out_d);
/* Dense with float32 weights [n_out][n_in] (row o = output o; Gemm transB=1 layout).
 * out[o] = acc (+ bias[o]), acc = 0.0f then acc = acc + w[o][i] * in[i] for i = 0..n_in-1. */
void bnn_dense_f32w_f32(const float *in, int32_t n_in, const float *weights, const float *bias,
                        int32_t n_out, float *out);

/* --- bnn_elementwise.c ---------------------------------------------------------------------- */
/* Per-channel affine: out = in * scale[c] + shift[c] (a multiply, then an add; two roundings).
 * BatchNormalization (inference) is exactly this, the same as onnxruntime's CPU kernel, when the
 * compiler computes, in float32 with one rounding per step:
 *     s = scale_bn * (1.0f / sqrtf(var + eps));   t = B - mean * s;
 * (onnxruntime: inv_std = (var + eps).sqrt().inverse(); new_scale = inv_std * scale;
 * new_bias = bias - mean * new_scale; Y = X * new_scale + new_bias). */
void bnn_scale_shift_f32(const float *in, bnn_dims d, const float *scale, const float *shift,
                         float *out);

/* Broadcast modes of an operand of a two-operand kernel whose output has dims d (C, H, W):
 * FULL (C,H,W) tensor, CHANNEL (C,1,1) one value per channel, PLANE (1,H,W) one plane shared
 * by all channels, SCALAR one value. */
#define BNN_BCAST_FULL 0
#define BNN_BCAST_CHANNEL 1
#define BNN_BCAST_PLANE 2
#define BNN_BCAST_SCALAR 3
/* out[c][y][x] = a op b, a and b read through their broadcast modes; one IEEE operation per
 * element, which is what onnxruntime's Add/Sub/Mul/Div compute. Sub and Div keep the operand
 * order (a - b, a / b), so "k - x" is bnn_sub_f32(k, BNN_BCAST_CHANNEL, x, BNN_BCAST_FULL, ...).
 * An operand that is a constant (Add of a per-channel bias, Mul by a scalar, ...) is the same
 * call with a const array. out may alias a FULL operand. */
void bnn_add_f32(const float *a, int32_t a_mode, const float *b, int32_t b_mode, bnn_dims d,
                 float *out);
void bnn_sub_f32(const float *a, int32_t a_mode, const float *b, int32_t b_mode, bnn_dims d,
                 float *out);
void bnn_mul_f32(const float *a, int32_t a_mode, const float *b, int32_t b_mode, bnn_dims d,
                 float *out);
void bnn_div_f32(const float *a, int32_t a_mode, const float *b, int32_t b_mode, bnn_dims d,
                 float *out);

/* --- bnn_activation.c: n = c * h * w elements (CHW), out may equal in ----------------------- */
/* Relu: out = x < 0 ? 0.0f : x (Relu(-0) = -0, NaN stays NaN: as onnxruntime). */
void bnn_relu_f32(const float *in, int32_t n, float *out);
/* PRelu with one slope per channel: out = x < 0 ? slope[c] * x : x (ONNX / onnxruntime). */
void bnn_prelu_f32(const float *in, bnn_dims d, const float *slope, float *out);
/* LeakyRelu: out = x < 0 ? alpha * x : x (as onnxruntime, -0 and NaN included). */
void bnn_leaky_relu_f32(const float *in, int32_t n, float alpha, float *out);
/* Clip: out = x < lo ? lo : (x > hi ? hi : x). A missing bound is -FLT_MAX / FLT_MAX
 * (-3.40282347e38f / 3.40282347e38f), onnxruntime's defaults (not infinity: Clip(inf) is FLT_MAX). */
void bnn_clip_f32(const float *in, int32_t n, float lo, float hi, float *out);

/* --- bnn_concat.c: channel axis ----------------------------------------------------------- */
/* REAL: copy in (in_d.c channels of in_d.h x in_d.w) into channels [c_offset, c_offset +
 * in_d.c) of a CHW tensor of the same h, w starting at out; one call per input (the compiler
 * skips the call for a producer that wrote straight into its slice). */
void bnn_concat_f32(const float *in, bnn_dims in_d, int32_t c_offset, float *out);
/* BITS: out (h x w pixels, BNN_WORDS(sum of c[k]) words each) = the channels of ins[0], then
 * ins[1], ... (ins[k] has c[k] channels, BNN_WORDS(c[k]) words per pixel), for any channel
 * counts: each input word is shifted into place and ORed; tail bits of out are 0. Every word
 * of out is written; out must not overlap an input. */
void bnn_concat_bits(const uint32_t *const *ins, const int32_t *c, int32_t n_in, int32_t h,
                     int32_t w, uint32_t *out);

/* --- bnn_avgpool.c ------------------------------------------------------------------------ */
/* AveragePool on REAL CHW. Output dims (incl. ceil_mode's extra window) come from out_d; the
 * bottom / right pads are explicit because ceil_mode windows may run past them.
 * sum = 0.0f, then sum = sum + x over the valid taps in order (ky, kx); out = sum / count with
 * count (as onnxruntime computes it) = the number of valid taps when count_include_pad == 0,
 * else the number of taps inside the padded input [-pad_top, in_h + pad_bottom) x
 * [-pad_left, in_w + pad_right) (a ceil_mode window past the padding counts only up to it). */
void bnn_avgpool_f32(const float *in, bnn_dims in_d, const bnn_window *win, int32_t pad_bottom,
                     int32_t pad_right, int32_t count_include_pad, float *out, bnn_dims out_d);
/* AveragePool as onnxruntime runs opsets 7..18 (MLAS, no dilations: win dil 1), except with
 * ceil_mode and count_include_pad both set (onnxruntime then runs bnn_avgpool_f32's loop). For stride_w <= 2
 * and windows up to 32x32 (MLAS's vector kernel) each window column is summed over its valid rows
 * (first row, then + the next), and the window's column sums left to right (padding columns
 * count as +0.0f, the first one taken as is); else the scalar loop of bnn_avgpool_f32. The
 * count_include_pad divisor is always k_h * k_w here (MLAS ignores ceil_mode's overhang), the
 * other divisor the number of valid taps. One division. Bit-exact against onnxruntime's
 * AveragePool-11/17/18 (tests); use bnn_avgpool_f32 for AveragePool-19 and later. A window
 * covering the whole unpadded input with stride 1 runs in MLAS's global kernel (4-lane partial
 * sums): within rounding only. */
void bnn_avgpool_mlas_f32(const float *in, bnn_dims in_d, const bnn_window *win,
                          int32_t pad_bottom, int32_t pad_right, int32_t count_include_pad,
                          float *out, bnn_dims out_d);
/* GlobalAveragePool: out[c] = (sum over the plane in order) / (float)(h * w). */
void bnn_global_avgpool_f32(const float *in, bnn_dims d, float *out);
/* ReduceMean over axes H, W: out[c] = (sum over the plane in order) / (float)(h * w)
 * (see bnn_avgpool.c for onnxruntime's divide). */
void bnn_reduce_mean_hw_f32(const float *in, bnn_dims d, float *out);

/* --- bnn_pack_thresh.c -------------------------------------------------------------------- */
/* REAL CHW -> BITS HWC with per-channel thresholds: bit = (x >= thresh[c]), or bit =
 * (x <= thresh[c]) for channels whose bit is set in flip (BNN_WORDS(c) words; NULL = none).
 * Sign is thresh 0. RSign sign(x - b) is thresh b: for finite x and b, float32 x - b >= 0 iff
 * x >= b (a difference of distinct floats is never 0 and rounding keeps its sign).
 * A constant channel takes thresh -INFINITY (bit 1 for every non-NaN x) or NaN (bit 0 always).
 * flip serves a negative factor folded in front of the sign (the compiler must check the fold).
 * NaN x gives 0 in both directions. */
void bnn_pack_thresh_chw_f32(const float *in, bnn_dims d, const float *thresh,
                             const uint32_t *flip, uint32_t *out);

/* --- helper shared by the windowed kernels ------------------------------------------------ */
/* Taps k in [*k_begin, *k_end) of a window axis land inside [0, size) for output coordinate
 * o: input coordinate o * stride - pad + k * dil. */
static inline void bnn_tap_range(int32_t o, int32_t stride, int32_t pad, int32_t dil,
                                 int32_t k_size, int32_t size, int32_t *k_begin,
                                 int32_t *k_end)
{
    int32_t base = o * stride - pad;
    int32_t begin = base < 0 ? (-base + dil - 1) / dil : 0;
    int32_t end = base > size - 1 ? 0 : (size - 1 - base) / dil + 1;
    if (end > k_size) {
        end = k_size;
    }
    if (begin > end) {
        begin = end;
    }
    *k_begin = begin;
    *k_end = end;
}

#endif /* BNN_H */
