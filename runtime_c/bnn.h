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

/* Largest window (k_h * k_w * c_in input bits, 32..2047) of the bit-sliced conv: the stack
 * buffer of bnn_conv2d_bin_thresh (BNN_SLICED_MAX_BITS words), and the limit of
 * bnn_conv2d_bin_thresh_sliced. Generated models check it (#error) when they use the latter. */
#ifndef BNN_SLICED_MAX_BITS
#define BNN_SLICED_MAX_BITS 640
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
void bnn_conv2d_bin_f32(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                        const float *scale, const float *bias, const bnn_window *win, float *out,
                        bnn_dims out_d);

/* --- bnn_conv_real.c: REAL CHW input, binary weights ------------------------------------- */
/* acc = sum over valid taps of (w ? +x : -x), accumulated in float in weight order (ci, ky,
 * kx), from 0.0f. out bit = (acc >= thresh). */
void bnn_conv2d_f32_thresh(const float *in, bnn_dims in_d, const uint32_t *weights,
                           const float *thresh, const bnn_window *win, uint32_t *out,
                           bnn_dims out_d);
void bnn_conv2d_f32_f32(const float *in, bnn_dims in_d, const uint32_t *weights,
                        const float *scale, const float *bias, const bnn_window *win, float *out,
                        bnn_dims out_d);

/* --- bnn_dense.c -------------------------------------------------------------------------- */
/* BITS input of n_words words holding k true elements (tail and per-pixel padding bits 0). */
void bnn_dense_bin_thresh(const uint32_t *in, int32_t n_words, int32_t k,
                          const uint32_t *weights, const int32_t *thresh, int32_t n_out,
                          uint32_t *out);
void bnn_dense_bin_f32(const uint32_t *in, int32_t n_words, int32_t k, const uint32_t *weights,
                       const float *scale, const float *bias, int32_t n_out, float *out);
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

/* --- bnn_softmax.c: no libm needed ------------------------------------------------------ */
void bnn_softmax_f32(const float *in, int32_t n, float *out);
void bnn_log_softmax_f32(const float *in, int32_t n, float *out);
/* The libm-free helpers behind them, exposed so they can be tested on their own: exp within
 * 1e-7 relative for normal results (x <= 88.72; 0 below -104; subnormals approximate); log
 * within 1e-7 (relative, absolute near 1) for x > 0. */
float bnn_expf(float x);
float bnn_logf(float x);

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
