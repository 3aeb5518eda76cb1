/*
 * bnn_ref.c - reference twins of the bnn.h kernels: the semantics of bnn.h, spelled out
 * tap by tap and bit by bit. Speed does not matter here; being obviously right does.
 */
#include "bnn_ref.h"

#include <math.h>
#include <stddef.h>

static int ref_bit(const uint32_t *words, int32_t i)
{
    return (int)((words[i / 32] >> (i % 32)) & 1u);
}

static void ref_set_bit(uint32_t *words, int32_t i)
{
    words[i / 32] |= (uint32_t)1u << (i % 32);
}

static int32_t ref_popcount(uint32_t x)
{
    int32_t n = 0;
    while (x != 0u) {
        x &= x - 1u;
        ++n;
    }
    return n;
}

/* Input coordinate of tap k for output coordinate o along one axis. */
static int32_t ref_tap(int32_t o, int32_t k, int32_t stride, int32_t pad, int32_t dil)
{
    return o * stride - pad + k * dil;
}

void bnn_pack_chw_f32_ref(const float *in, bnn_dims d, uint32_t *out)
{
    int32_t words = BNN_WORDS(d.c);
    int32_t y, x, c;
    for (y = 0; y < d.h; ++y) {
        for (x = 0; x < d.w; ++x) {
            uint32_t *pix = out + (y * d.w + x) * words;
            for (c = 0; c < words; ++c) {
                pix[c] = 0u;
            }
            for (c = 0; c < d.c; ++c) {
                if (in[(c * d.h + y) * d.w + x] >= 0.0f) {
                    ref_set_bit(pix, c);
                }
            }
        }
    }
}

void bnn_unpack_bits_chw_f32_ref(const uint32_t *in, bnn_dims d, float *out)
{
    int32_t words = BNN_WORDS(d.c);
    int32_t y, x, c;
    for (c = 0; c < d.c; ++c) {
        for (y = 0; y < d.h; ++y) {
            for (x = 0; x < d.w; ++x) {
                const uint32_t *pix = in + (y * d.w + x) * words;
                out[(c * d.h + y) * d.w + x] = ref_bit(pix, c) ? 1.0f : -1.0f;
            }
        }
    }
}

/* Integer accumulator of output channel o at (oy, ox): K_valid - 2 * popcount(valid taps). */
static int32_t ref_conv_bin_acc(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                                const bnn_window *win, int32_t o, int32_t oy, int32_t ox)
{
    int32_t words = BNN_WORDS(in_d.c);
    const uint32_t *w_o = weights + o * win->k_h * win->k_w * words;
    int32_t k_valid = 0, mismatches = 0;
    int32_t ky, kx, j;
    for (ky = 0; ky < win->k_h; ++ky) {
        int32_t iy = ref_tap(oy, ky, win->stride_h, win->pad_top, win->dil_h);
        for (kx = 0; kx < win->k_w; ++kx) {
            int32_t ix = ref_tap(ox, kx, win->stride_w, win->pad_left, win->dil_w);
            if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                continue; /* zero padding: the tap contributes 0 */
            }
            k_valid += in_d.c;
            for (j = 0; j < words; ++j) {
                uint32_t a = in[(iy * in_d.w + ix) * words + j];
                uint32_t w = w_o[(ky * win->k_w + kx) * words + j];
                mismatches += ref_popcount(a ^ w);
            }
        }
    }
    return k_valid - 2 * mismatches;
}

void bnn_conv2d_bin_thresh_ref(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                               const int32_t *thresh, const bnn_window *win, uint32_t *out,
                               bnn_dims out_d)
{
    int32_t out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox, o;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            for (o = 0; o < out_words; ++o) {
                pix[o] = 0u;
            }
            for (o = 0; o < out_d.c; ++o) {
                if (ref_conv_bin_acc(in, in_d, weights, win, o, oy, ox) >= thresh[o]) {
                    ref_set_bit(pix, o);
                }
            }
        }
    }
}

/* Weight bit of output channel o at tap t, input channel ci, in the transposed layout. */
static int ref_tw_bit(const uint32_t *tw, int32_t taps, int32_t c_in, int32_t o, int32_t t,
                      int32_t ci)
{
    return (int)((tw[(o / 32) * taps * c_in + t * c_in + ci] >> (o % 32)) & 1u);
}

void bnn_conv2d_bin_thresh_sliced_ref(const uint32_t *in, bnn_dims in_d, const uint32_t *tw,
                                      const int32_t *thresh, const bnn_window *win,
                                      uint32_t *out, bnn_dims out_d)
{
    int32_t taps = win->k_h * win->k_w, words = BNN_WORDS(in_d.c);
    int32_t out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox, o, ky, kx, ci;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            for (o = 0; o < out_words; ++o) {
                pix[o] = 0u;
            }
            for (o = 0; o < out_d.c; ++o) {
                int32_t k_valid = 0, mismatches = 0;
                for (ky = 0; ky < win->k_h; ++ky) {
                    int32_t iy = ref_tap(oy, ky, win->stride_h, win->pad_top, win->dil_h);
                    for (kx = 0; kx < win->k_w; ++kx) {
                        int32_t ix = ref_tap(ox, kx, win->stride_w, win->pad_left, win->dil_w);
                        if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                            continue; /* zero padding */
                        }
                        k_valid += in_d.c;
                        for (ci = 0; ci < in_d.c; ++ci) {
                            int a = ref_bit(in + (iy * in_d.w + ix) * words, ci);
                            int w = ref_tw_bit(tw, taps, in_d.c, o, ky * win->k_w + kx, ci);
                            mismatches += a != w;
                        }
                    }
                }
                if (k_valid - 2 * mismatches >= thresh[o]) {
                    ref_set_bit(pix, o);
                }
            }
        }
    }
}

void bnn_conv2d_bin_f32_ref(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                            const float *scale, const float *bias, const bnn_window *win,
                            float *out, bnn_dims out_d)
{
    int32_t oy, ox, o;
    for (o = 0; o < out_d.c; ++o) {
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ++ox) {
                int32_t acc = ref_conv_bin_acc(in, in_d, weights, win, o, oy, ox);
                out[(o * out_d.h + oy) * out_d.w + ox] = scale[o] * (float)acc + bias[o];
            }
        }
    }
}

/* Float accumulator of a conv on REAL input over a window of at most BNN_REAL_GROUPED_MAX_TAPS
 * taps, in the grouped order of bnn.h: the optimized kernel tabulates the same group sums, so
 * the two agree bit for bit. */
static float ref_conv_real_grouped_acc(const float *in, bnn_dims in_d, const uint32_t *weights,
                                       const bnn_window *win, int32_t o, int32_t oy, int32_t ox)
{
    int32_t k = in_d.c * win->k_h * win->k_w;
    const uint32_t *w_o = weights + o * BNN_WORDS(k);
    float acc = 0.0f;
    int32_t g0, i;
    for (g0 = 0; g0 < k; g0 += BNN_REAL_GROUP_TAPS) {
        int32_t n = k - g0 < BNN_REAL_GROUP_TAPS ? k - g0 : BNN_REAL_GROUP_TAPS;
        int32_t lo = (n + 1) / 2;
        float low = 0.0f, high = 0.0f, group;
        for (i = 0; i < n; ++i) {
            int32_t tap = g0 + i; /* = (ci * k_h + ky) * k_w + kx */
            int32_t ci = tap / (win->k_h * win->k_w);
            int32_t ky = tap / win->k_w % win->k_h, kx = tap % win->k_w;
            int32_t iy = ref_tap(oy, ky, win->stride_h, win->pad_top, win->dil_h);
            int32_t ix = ref_tap(ox, kx, win->stride_w, win->pad_left, win->dil_w);
            float x = 0.0f;
            if (iy >= 0 && iy < in_d.h && ix >= 0 && ix < in_d.w) {
                x = in[(ci * in_d.h + iy) * in_d.w + ix];
            }
            if (i < lo) {
                low = ref_bit(w_o, tap) ? low + x : low - x;
            } else {
                high = ref_bit(w_o, tap) ? high + x : high - x;
            }
        }
        group = n > lo ? low + high : low;
        acc = g0 == 0 ? group : acc + group;
    }
    return acc;
}

/* Float accumulator of a conv on REAL input in the default order: from 0.0f over the valid taps
 * in the order ci, ky, kx (the order bnn_conv_real.c keeps, so the two agree bit for bit).
 * grouped: the opt-in grouped order (bnn_conv_real_grouped.c) for windows that have it. */
static float ref_conv_real_acc(const float *in, bnn_dims in_d, const uint32_t *weights,
                               const bnn_window *win, int32_t o, int32_t oy, int32_t ox,
                               int32_t grouped)
{
    int32_t k = in_d.c * win->k_h * win->k_w;
    const uint32_t *w_o = weights + o * BNN_WORDS(k);
    float acc = 0.0f;
    int32_t ci, ky, kx;
    if (grouped && k <= BNN_REAL_GROUPED_MAX_TAPS) {
        return ref_conv_real_grouped_acc(in, in_d, weights, win, o, oy, ox);
    }
    for (ci = 0; ci < in_d.c; ++ci) {
        for (ky = 0; ky < win->k_h; ++ky) {
            int32_t iy = ref_tap(oy, ky, win->stride_h, win->pad_top, win->dil_h);
            for (kx = 0; kx < win->k_w; ++kx) {
                int32_t ix = ref_tap(ox, kx, win->stride_w, win->pad_left, win->dil_w);
                float x;
                if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                    continue;
                }
                x = in[(ci * in_d.h + iy) * in_d.w + ix];
                if (ref_bit(w_o, (ci * win->k_h + ky) * win->k_w + kx)) {
                    acc += x;
                } else {
                    acc -= x;
                }
            }
        }
    }
    return acc;
}

static void ref_conv_real_thresh(const float *in, bnn_dims in_d, const uint32_t *weights,
                                 const float *thresh, const bnn_window *win, uint32_t *out,
                                 bnn_dims out_d, int32_t grouped)
{
    int32_t out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox, o;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            for (o = 0; o < out_words; ++o) {
                pix[o] = 0u;
            }
            for (o = 0; o < out_d.c; ++o) {
                if (ref_conv_real_acc(in, in_d, weights, win, o, oy, ox, grouped) >= thresh[o]) {
                    ref_set_bit(pix, o);
                }
            }
        }
    }
}

static void ref_conv_real_f32(const float *in, bnn_dims in_d, const uint32_t *weights,
                              const float *scale, const float *bias, const bnn_window *win,
                              float *out, bnn_dims out_d, int32_t grouped)
{
    int32_t oy, ox, o;
    for (o = 0; o < out_d.c; ++o) {
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ++ox) {
                float acc = ref_conv_real_acc(in, in_d, weights, win, o, oy, ox, grouped);
                out[(o * out_d.h + oy) * out_d.w + ox] = scale[o] * acc + bias[o];
            }
        }
    }
}

void bnn_conv2d_f32_thresh_ref(const float *in, bnn_dims in_d, const uint32_t *weights,
                               const float *thresh, const bnn_window *win, uint32_t *out,
                               bnn_dims out_d)
{
    ref_conv_real_thresh(in, in_d, weights, thresh, win, out, out_d, 0);
}

void bnn_conv2d_f32_f32_ref(const float *in, bnn_dims in_d, const uint32_t *weights,
                            const float *scale, const float *bias, const bnn_window *win,
                            float *out, bnn_dims out_d)
{
    ref_conv_real_f32(in, in_d, weights, scale, bias, win, out, out_d, 0);
}

void bnn_conv2d_f32_thresh_grouped_ref(const float *in, bnn_dims in_d, const uint32_t *weights,
                                       const float *thresh, const bnn_window *win, uint32_t *out,
                                       bnn_dims out_d)
{
    ref_conv_real_thresh(in, in_d, weights, thresh, win, out, out_d, 1);
}

void bnn_conv2d_f32_f32_grouped_ref(const float *in, bnn_dims in_d, const uint32_t *weights,
                                    const float *scale, const float *bias, const bnn_window *win,
                                    float *out, bnn_dims out_d)
{
    ref_conv_real_f32(in, in_d, weights, scale, bias, win, out, out_d, 1);
}

/* Integer-input q at flat index i, as an int32 (u8 or s8 given), and its cast table row (q - min). */
static int32_t ref_int_q(const uint8_t *u8, const int8_t *s8, int32_t i)
{
    return u8 != NULL ? (int32_t)u8[i] : (int32_t)s8[i];
}

static int32_t ref_int_row(const uint8_t *u8, const int8_t *s8, int32_t i)
{
    return u8 != NULL ? (int32_t)u8[i] : (int32_t)s8[i] + 128;
}

/* Integer-input conv, one channel of one pixel: the exact sum of +-(q - offset) over the valid taps
 * (float_sum = 0), or the float sum acc = 0.0f, acc +- table[q - min] in order (ci, ky, kx) (float_sum = 1,
 * returned through *acc_f). */
static int32_t ref_conv_int_sum(const uint8_t *u8, const int8_t *s8, bnn_dims in_d, int32_t offset,
                                const uint32_t *w_o, const bnn_window *win, int32_t oy, int32_t ox,
                                const float *table, float *acc_f)
{
    int32_t acc = 0, ci, ky, kx;
    if (acc_f != NULL) {
        *acc_f = 0.0f;
    }
    for (ci = 0; ci < in_d.c; ++ci) {
        for (ky = 0; ky < win->k_h; ++ky) {
            for (kx = 0; kx < win->k_w; ++kx) {
                int32_t iy = ref_tap(oy, ky, win->stride_h, win->pad_top, win->dil_h);
                int32_t ix = ref_tap(ox, kx, win->stride_w, win->pad_left, win->dil_w);
                int32_t tap = (ci * win->k_h + ky) * win->k_w + kx, i, v;
                if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                    continue;
                }
                i = (ci * in_d.h + iy) * in_d.w + ix;
                v = ref_int_q(u8, s8, i) - offset;
                acc += ref_bit(w_o, tap) ? v : -v;
                if (acc_f != NULL) {
                    float x = table[ref_int_row(u8, s8, i)];
                    *acc_f = ref_bit(w_o, tap) ? *acc_f + x : *acc_f - x;
                }
            }
        }
    }
    return acc;
}

/* Integer-input conv; fix (or NULL): where an undecided channel's integer sum lies in [lo, thresh) the
 * float sum decides (bnn.h, bnn_int_fix). */
static void ref_conv_int_thresh(const uint8_t *u8, const int8_t *s8, bnn_dims in_d,
                                int32_t offset, const uint32_t *weights, const int32_t *thresh,
                                const bnn_int_fix *fix, const bnn_window *win, uint32_t *out,
                                bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w, out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox, o, f;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            for (o = 0; o < out_words; ++o) {
                pix[o] = 0u;
            }
            for (o = 0; o < out_d.c; ++o) {
                const uint32_t *w_o = weights + o * BNN_WORDS(k);
                int32_t acc = ref_conv_int_sum(u8, s8, in_d, offset, w_o, win, oy, ox, NULL, NULL);
                int on = acc >= thresh[o];
                for (f = 0; fix != NULL && f < fix->n; ++f) {
                    if (fix->channels[f] == o && fix->lo[f] <= acc && acc < thresh[o]) {
                        float acc_f;
                        ref_conv_int_sum(u8, s8, in_d, offset, w_o, win, oy, ox, fix->table, &acc_f);
                        on = acc_f >= fix->f_thresh[f];
                    }
                }
                if (on) {
                    ref_set_bit(pix, o);
                }
            }
        }
    }
}

void bnn_conv2d_u8_thresh_ref(const uint8_t *in, bnn_dims in_d, int32_t offset,
                              const uint32_t *weights, const int32_t *thresh,
                              const bnn_window *win, uint32_t *out, bnn_dims out_d)
{
    ref_conv_int_thresh(in, NULL, in_d, offset, weights, thresh, NULL, win, out, out_d);
}

void bnn_conv2d_s8_thresh_ref(const int8_t *in, bnn_dims in_d, int32_t offset,
                              const uint32_t *weights, const int32_t *thresh,
                              const bnn_window *win, uint32_t *out, bnn_dims out_d)
{
    ref_conv_int_thresh(NULL, in, in_d, offset, weights, thresh, NULL, win, out, out_d);
}

void bnn_conv2d_u8_thresh_fix_ref(const uint8_t *in, bnn_dims in_d, int32_t offset,
                                  const uint32_t *weights, const int32_t *thresh,
                                  const bnn_int_fix *fix, const bnn_window *win, uint32_t *out,
                                  bnn_dims out_d)
{
    ref_conv_int_thresh(in, NULL, in_d, offset, weights, thresh, fix, win, out, out_d);
}

void bnn_conv2d_s8_thresh_fix_ref(const int8_t *in, bnn_dims in_d, int32_t offset,
                                  const uint32_t *weights, const int32_t *thresh,
                                  const bnn_int_fix *fix, const bnn_window *win, uint32_t *out,
                                  bnn_dims out_d)
{
    ref_conv_int_thresh(NULL, in, in_d, offset, weights, thresh, fix, win, out, out_d);
}

/* Integer input -> float32: table number i / plane, row q - min. */
void bnn_cast_u8_f32_ref(const uint8_t *in, int32_t n, int32_t plane, const float *table, float *out)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        out[i] = table[(i / plane) * 256 + ref_int_row(in, NULL, i)];
    }
}

void bnn_cast_s8_f32_ref(const int8_t *in, int32_t n, int32_t plane, const float *table, float *out)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        out[i] = table[(i / plane) * 256 + ref_int_row(NULL, in, i)];
    }
}

static int32_t ref_dense_bin_acc(const uint32_t *in, int32_t n_words, int32_t k,
                                 const uint32_t *w_o)
{
    int32_t mismatches = 0, j;
    for (j = 0; j < n_words; ++j) {
        mismatches += ref_popcount(in[j] ^ w_o[j]);
    }
    return k - 2 * mismatches;
}

void bnn_dense_bin_thresh_ref(const uint32_t *in, int32_t n_words, int32_t k,
                              const uint32_t *weights, const int32_t *thresh, int32_t n_out,
                              uint32_t *out)
{
    int32_t o;
    for (o = 0; o < BNN_WORDS(n_out); ++o) {
        out[o] = 0u;
    }
    for (o = 0; o < n_out; ++o) {
        if (ref_dense_bin_acc(in, n_words, k, weights + o * n_words) >= thresh[o]) {
            ref_set_bit(out, o);
        }
    }
}

void bnn_dense_bin_thresh_sliced_ref(const uint32_t *in, int32_t n_words, int32_t k,
                                     const uint32_t *tw, const int32_t *thresh, int32_t n_out,
                                     uint32_t *out)
{
    int32_t bits = 32 * n_words, o, j;
    for (o = 0; o < BNN_WORDS(n_out); ++o) {
        out[o] = 0u;
    }
    for (o = 0; o < n_out; ++o) {
        int32_t mismatches = 0;
        for (j = 0; j < bits; ++j) {
            int w = (int)((tw[(o / 32) * bits + j] >> (o % 32)) & 1u);
            mismatches += ref_bit(in, j) != w;
        }
        if (k - 2 * mismatches >= thresh[o]) {
            ref_set_bit(out, o);
        }
    }
}

void bnn_dense_bin_f32_ref(const uint32_t *in, int32_t n_words, int32_t k,
                           const uint32_t *weights, const float *scale, const float *bias,
                           int32_t n_out, float *out)
{
    int32_t o;
    for (o = 0; o < n_out; ++o) {
        int32_t acc = ref_dense_bin_acc(in, n_words, k, weights + o * n_words);
        out[o] = scale[o] * (float)acc + bias[o];
    }
}

static float ref_dense_real_acc(const float *in, int32_t n_in, const uint32_t *w_o)
{
    float acc = 0.0f;
    int32_t i;
    for (i = 0; i < n_in; ++i) {
        if (ref_bit(w_o, i)) {
            acc += in[i];
        } else {
            acc -= in[i];
        }
    }
    return acc;
}

void bnn_dense_f32_thresh_ref(const float *in, int32_t n_in, const uint32_t *weights,
                              const float *thresh, int32_t n_out, uint32_t *out)
{
    int32_t o;
    for (o = 0; o < BNN_WORDS(n_out); ++o) {
        out[o] = 0u;
    }
    for (o = 0; o < n_out; ++o) {
        if (ref_dense_real_acc(in, n_in, weights + o * BNN_WORDS(n_in)) >= thresh[o]) {
            ref_set_bit(out, o);
        }
    }
}

void bnn_dense_f32_f32_ref(const float *in, int32_t n_in, const uint32_t *weights,
                           const float *scale, const float *bias, int32_t n_out, float *out)
{
    int32_t o;
    for (o = 0; o < n_out; ++o) {
        float acc = ref_dense_real_acc(in, n_in, weights + o * BNN_WORDS(n_in));
        out[o] = scale[o] * acc + bias[o];
    }
}

void bnn_maxpool_bits_ref(const uint32_t *in, bnn_dims in_d, const bnn_window *win,
                          const uint32_t *and_mask, uint32_t *out, bnn_dims out_d)
{
    int32_t words = BNN_WORDS(in_d.c);
    int32_t oy, ox, c, ky, kx;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * words;
            for (c = 0; c < words; ++c) {
                pix[c] = 0u;
            }
            for (c = 0; c < in_d.c; ++c) {
                int use_and = and_mask != NULL && ref_bit(and_mask, c);
                int any = 0, result = use_and ? 1 : 0;
                for (ky = 0; ky < win->k_h; ++ky) {
                    int32_t iy = ref_tap(oy, ky, win->stride_h, win->pad_top, win->dil_h);
                    for (kx = 0; kx < win->k_w; ++kx) {
                        int32_t ix = ref_tap(ox, kx, win->stride_w, win->pad_left, win->dil_w);
                        int bit;
                        if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                            continue; /* padding is -inf: never the max */
                        }
                        any = 1;
                        bit = ref_bit(in + (iy * in_d.w + ix) * words, c);
                        result = use_and ? (result && bit) : (result || bit);
                    }
                }
                /* A window with no valid tap gives bit 0 (-1). */
                if (any && result) {
                    ref_set_bit(pix, c);
                }
            }
        }
    }
}

void bnn_maxpool_f32_ref(const float *in, bnn_dims in_d, const bnn_window *win, float *out,
                         bnn_dims out_d)
{
    int32_t oy, ox, c, ky, kx;
    for (c = 0; c < in_d.c; ++c) {
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ++ox) {
                float best = -INFINITY;
                for (ky = 0; ky < win->k_h; ++ky) {
                    int32_t iy = ref_tap(oy, ky, win->stride_h, win->pad_top, win->dil_h);
                    for (kx = 0; kx < win->k_w; ++kx) {
                        int32_t ix = ref_tap(ox, kx, win->stride_w, win->pad_left, win->dil_w);
                        float x;
                        if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                            continue;
                        }
                        x = in[(c * in_d.h + iy) * in_d.w + ix];
                        if (x > best) {
                            best = x;
                        }
                    }
                }
                out[(c * out_d.h + oy) * out_d.w + ox] = best;
            }
        }
    }
}

void bnn_softmax_f32_ref(const float *in, int32_t n, float *out)
{
    double max = in[0], sum = 0.0;
    int32_t i;
    for (i = 1; i < n; ++i) {
        if (in[i] > max) {
            max = in[i];
        }
    }
    for (i = 0; i < n; ++i) {
        sum += exp((double)in[i] - max);
    }
    for (i = 0; i < n; ++i) {
        out[i] = (float)(exp((double)in[i] - max) / sum);
    }
}

void bnn_log_softmax_f32_ref(const float *in, int32_t n, float *out)
{
    double max = in[0], sum = 0.0;
    int32_t i;
    for (i = 1; i < n; ++i) {
        if (in[i] > max) {
            max = in[i];
        }
    }
    for (i = 0; i < n; ++i) {
        sum += exp((double)in[i] - max);
    }
    for (i = 0; i < n; ++i) {
        out[i] = (float)((double)in[i] - max - log(sum));
    }
}

/* ---- mixed-precision kernels ------------------------------------------------------------ */

static int ref_inside(int32_t i, int32_t size)
{
    return i >= 0 && i < size;
}

void bnn_conv2d_f32w_f32_ref(const float *in, bnn_dims in_d, const float *weights,
                             const float *bias, int32_t groups, const bnn_window *win,
                             float *out, bnn_dims out_d)
{
    int32_t cin_g = in_d.c / groups, cout_g = out_d.c / groups;
    int32_t o, oy, ox, ci, ky, kx;
    for (o = 0; o < out_d.c; ++o) {
        int32_t g = o / cout_g;
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ++ox) {
                float acc = 0.0f;
                for (ci = 0; ci < cin_g; ++ci) {
                    for (ky = 0; ky < win->k_h; ++ky) {
                        int32_t iy = ref_tap(oy, ky, win->stride_h, win->pad_top, win->dil_h);
                        for (kx = 0; kx < win->k_w; ++kx) {
                            int32_t ix = ref_tap(ox, kx, win->stride_w, win->pad_left,
                                                 win->dil_w);
                            float wv, xv, p;
                            if (!ref_inside(iy, in_d.h) || !ref_inside(ix, in_d.w)) {
                                continue;
                            }
                            wv = weights[((o * cin_g + ci) * win->k_h + ky) * win->k_w + kx];
                            xv = in[((g * cin_g + ci) * in_d.h + iy) * in_d.w + ix];
                            p = wv * xv;
                            acc = acc + p;
                        }
                    }
                }
                if (bias != NULL) {
                    acc = acc + bias[o];
                }
                out[(o * out_d.h + oy) * out_d.w + ox] = acc;
            }
        }
    }
}

void bnn_dense_f32w_f32_ref(const float *in, int32_t n_in, const float *weights,
                            const float *bias, int32_t n_out, float *out)
{
    int32_t o, i;
    for (o = 0; o < n_out; ++o) {
        float acc = 0.0f;
        for (i = 0; i < n_in; ++i) {
            float p = weights[o * n_in + i] * in[i];
            acc = acc + p;
        }
        if (bias != NULL) {
            acc = acc + bias[o];
        }
        out[o] = acc;
    }
}

void bnn_scale_shift_f32_ref(const float *in, bnn_dims d, const float *scale,
                             const float *shift, float *out)
{
    int32_t c, i, plane = d.h * d.w;
    for (c = 0; c < d.c; ++c) {
        for (i = 0; i < plane; ++i) {
            float p = in[c * plane + i] * scale[c];
            out[c * plane + i] = p + shift[c];
        }
    }
}

/* Element (c, i) of an operand in broadcast mode `mode` (i = y * w + x). */
static float ref_operand(const float *v, int32_t mode, bnn_dims d, int32_t c, int32_t i)
{
    switch (mode) {
    case BNN_BCAST_FULL:
        return v[c * d.h * d.w + i];
    case BNN_BCAST_CHANNEL:
        return v[c];
    case BNN_BCAST_PLANE:
        return v[i];
    default:
        return v[0];
    }
}

/* op: 0 add, 1 sub, 2 mul, 3 div. */
static void ref_binary(int op, const float *a, int32_t a_mode, const float *b, int32_t b_mode,
                       bnn_dims d, float *out)
{
    int32_t c, i, plane = d.h * d.w;
    for (c = 0; c < d.c; ++c) {
        for (i = 0; i < plane; ++i) {
            float x = ref_operand(a, a_mode, d, c, i), y = ref_operand(b, b_mode, d, c, i);
            float r = op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : x / y;
            out[c * plane + i] = r;
        }
    }
}

void bnn_add_f32_ref(const float *a, int32_t a_mode, const float *b, int32_t b_mode,
                     bnn_dims d, float *out)
{
    ref_binary(0, a, a_mode, b, b_mode, d, out);
}

void bnn_sub_f32_ref(const float *a, int32_t a_mode, const float *b, int32_t b_mode,
                     bnn_dims d, float *out)
{
    ref_binary(1, a, a_mode, b, b_mode, d, out);
}

void bnn_mul_f32_ref(const float *a, int32_t a_mode, const float *b, int32_t b_mode,
                     bnn_dims d, float *out)
{
    ref_binary(2, a, a_mode, b, b_mode, d, out);
}

void bnn_div_f32_ref(const float *a, int32_t a_mode, const float *b, int32_t b_mode,
                     bnn_dims d, float *out)
{
    ref_binary(3, a, a_mode, b, b_mode, d, out);
}

void bnn_relu_f32_ref(const float *in, int32_t n, float *out)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        out[i] = in[i] < 0.0f ? 0.0f : in[i];
    }
}

void bnn_prelu_f32_ref(const float *in, bnn_dims d, const float *slope, float *out)
{
    int32_t c, i, plane = d.h * d.w;
    for (c = 0; c < d.c; ++c) {
        for (i = 0; i < plane; ++i) {
            float x = in[c * plane + i];
            out[c * plane + i] = x < 0.0f ? slope[c] * x : x;
        }
    }
}

void bnn_leaky_relu_f32_ref(const float *in, int32_t n, float alpha, float *out)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        out[i] = in[i] < 0.0f ? alpha * in[i] : in[i];
    }
}

void bnn_clip_f32_ref(const float *in, int32_t n, float lo, float hi, float *out)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        float x = in[i];
        if (x < lo) {
            x = lo;
        } else if (x > hi) {
            x = hi;
        }
        out[i] = x;
    }
}

void bnn_concat_f32_ref(const float *in, bnn_dims in_d, int32_t c_offset, float *out)
{
    int32_t c, i, plane = in_d.h * in_d.w;
    for (c = 0; c < in_d.c; ++c) {
        for (i = 0; i < plane; ++i) {
            out[(c_offset + c) * plane + i] = in[c * plane + i];
        }
    }
}

void bnn_concat_bits_ref(const uint32_t *const *ins, const int32_t *c, int32_t n_in, int32_t h,
                         int32_t w, uint32_t *out)
{
    int32_t total = 0, k, p, j, ch;
    for (k = 0; k < n_in; ++k) {
        total += c[k];
    }
    for (p = 0; p < h * w; ++p) {
        uint32_t *pix = out + p * BNN_WORDS(total);
        int32_t pos = 0;
        for (j = 0; j < BNN_WORDS(total); ++j) {
            pix[j] = 0u;
        }
        for (k = 0; k < n_in; ++k) {
            const uint32_t *src = ins[k] + p * BNN_WORDS(c[k]);
            for (ch = 0; ch < c[k]; ++ch, ++pos) {
                if (ref_bit(src, ch)) {
                    ref_set_bit(pix, pos);
                }
            }
        }
    }
}

void bnn_avgpool_f32_ref(const float *in, bnn_dims in_d, const bnn_window *win,
                         int32_t pad_bottom, int32_t pad_right, int32_t count_include_pad,
                         float *out, bnn_dims out_d)
{
    int32_t c, oy, ox, ky, kx;
    for (c = 0; c < in_d.c; ++c) {
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ++ox) {
                float sum = 0.0f;
                int32_t valid = 0, padded = 0;
                for (ky = 0; ky < win->k_h; ++ky) {
                    int32_t iy = ref_tap(oy, ky, win->stride_h, win->pad_top, win->dil_h);
                    for (kx = 0; kx < win->k_w; ++kx) {
                        int32_t ix = ref_tap(ox, kx, win->stride_w, win->pad_left, win->dil_w);
                        if (iy >= -win->pad_top && iy < in_d.h + pad_bottom &&
                            ix >= -win->pad_left && ix < in_d.w + pad_right) {
                            ++padded;
                        }
                        if (ref_inside(iy, in_d.h) && ref_inside(ix, in_d.w)) {
                            sum = sum + in[(c * in_d.h + iy) * in_d.w + ix];
                            ++valid;
                        }
                    }
                }
                out[(c * out_d.h + oy) * out_d.w + ox] =
                    sum / (float)(count_include_pad ? padded : valid);
            }
        }
    }
}

void bnn_global_avgpool_f32_ref(const float *in, bnn_dims d, float *out)
{
    int32_t c, i, plane = d.h * d.w;
    for (c = 0; c < d.c; ++c) {
        float sum = 0.0f;
        for (i = 0; i < plane; ++i) {
            sum = sum + in[c * plane + i];
        }
        out[c] = sum / (float)plane;
    }
}

void bnn_reduce_mean_hw_f32_ref(const float *in, bnn_dims d, float *out)
{
    bnn_global_avgpool_f32_ref(in, d, out);
}

void bnn_pack_thresh_chw_f32_ref(const float *in, bnn_dims d, const float *thresh,
                                 const uint32_t *flip, uint32_t *out)
{
    int32_t words = BNN_WORDS(d.c);
    int32_t y, x, c;
    for (y = 0; y < d.h; ++y) {
        for (x = 0; x < d.w; ++x) {
            uint32_t *pix = out + (y * d.w + x) * words;
            for (c = 0; c < words; ++c) {
                pix[c] = 0u;
            }
            for (c = 0; c < d.c; ++c) {
                float v = in[(c * d.h + y) * d.w + x];
                int flipped = flip != NULL && ref_bit(flip, c);
                if (flipped ? v <= thresh[c] : v >= thresh[c]) {
                    ref_set_bit(pix, c);
                }
            }
        }
    }
}

void bnn_avgpool_mlas_f32_ref(const float *in, bnn_dims in_d, const bnn_window *win,
                              int32_t pad_bottom, int32_t pad_right, int32_t count_include_pad,
                              float *out, bnn_dims out_d)
{
    int vector = win->stride_w <= 2 && win->k_h <= 32 && win->k_w <= 32 &&
                 win->pad_left + pad_right + in_d.w <= 2045;
    int32_t c, oy, ox, ky, kx;
    (void)pad_bottom;
    for (c = 0; c < in_d.c; ++c) {
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ++ox) {
                float sum = 0.0f;
                int32_t valid_rows = 0, valid_cols = 0, first_col = 1;
                for (ky = 0; ky < win->k_h; ++ky) {
                    valid_rows += ref_inside(ref_tap(oy, ky, win->stride_h, win->pad_top, 1),
                                             in_d.h);
                }
                for (kx = 0; kx < win->k_w; ++kx) {
                    int32_t ix = ref_tap(ox, kx, win->stride_w, win->pad_left, 1);
                    float col = 0.0f;
                    int first_row = 1;
                    valid_cols += ref_inside(ix, in_d.w);
                    for (ky = 0; ky < win->k_h; ++ky) {
                        int32_t iy = ref_tap(oy, ky, win->stride_h, win->pad_top, 1);
                        if (ref_inside(iy, in_d.h) && ref_inside(ix, in_d.w)) {
                            float v = in[(c * in_d.h + iy) * in_d.w + ix];
                            if (vector) {
                                col = first_row ? v : col + v;
                            } else {
                                sum = sum + v; /* scalar loop: row-major from 0 */
                            }
                            first_row = 0;
                        }
                    }
                    (void)col;
                    if (vector) {
                        sum = first_col ? col : sum + col;
                        first_col = 0;
                    }
                }
                if (!vector) {
                    /* the scalar loop sums rows outer, columns inner: redo it in that order */
                    sum = 0.0f;
                    for (ky = 0; ky < win->k_h; ++ky) {
                        int32_t iy = ref_tap(oy, ky, win->stride_h, win->pad_top, 1);
                        for (kx = 0; kx < win->k_w; ++kx) {
                            int32_t ix = ref_tap(ox, kx, win->stride_w, win->pad_left, 1);
                            if (ref_inside(iy, in_d.h) && ref_inside(ix, in_d.w)) {
                                sum = sum + in[(c * in_d.h + iy) * in_d.w + ix];
                            }
                        }
                    }
                }
                out[(c * out_d.h + oy) * out_d.w + ox] =
                    sum / (count_include_pad ? (float)(win->k_h * win->k_w)
                           : (float)(valid_rows * valid_cols > 1 ? valid_rows * valid_cols : 1));
            }
        }
    }
}
