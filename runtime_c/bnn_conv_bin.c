/*
 * bnn_conv_bin.c - XNOR-popcount convolution of a BITS input with binary weights.
 *
 * Interior pixels (window fully inside the image): the neighbourhood is gathered once into
 * one contiguous vector laid out like the weights, and every output channel is a single
 * Harley-Seal popcount over it. Border pixels sum over their valid rows only; in HWC the
 * valid taps of one window row are contiguous in the input and in the weights alike.
 */
#include "bnn.h"
#include "bnn_popcount.h"

/* Words of one gathered neighbourhood kept on the stack (3x3 taps of 448 channels). */
#define BNN_GATHER_WORDS 126

/* Accumulator (K_valid - 2 * popcount over valid taps) of every output channel of one pixel,
 * handed to emit() together with the channel index. */
typedef struct {
    const uint32_t *in;
    bnn_dims in_d;
    const uint32_t *weights;
    const bnn_window *win;
    int32_t words;     /* BNN_WORDS(c_in) */
    int32_t taps_words; /* k_h * k_w * words: weight words per output channel */
} conv_bin_ctx;

/* Gathers the full neighbourhood of an interior pixel; returns 0 if it does not fit. */
static int gather_interior(const conv_bin_ctx *cx, int32_t iy0, int32_t ix0, uint32_t *act)
{
    const bnn_window *win = cx->win;
    int32_t ky, kx, j;
    if (cx->taps_words > BNN_GATHER_WORDS) {
        return 0;
    }
    for (ky = 0; ky < win->k_h; ++ky) {
        for (kx = 0; kx < win->k_w; ++kx) {
            const uint32_t *src =
                cx->in + ((iy0 + ky * win->dil_h) * cx->in_d.w + ix0 + kx * win->dil_w) *
                             cx->words;
            for (j = 0; j < cx->words; ++j) {
                *act++ = src[j];
            }
        }
    }
    return 1;
}

/* popcount over the valid taps [ky0, ky1) x [kx0, kx1) for channel weights w_o. */
static uint32_t mismatches_valid(const conv_bin_ctx *cx, int32_t iy0, int32_t ix0, int32_t ky0,
                                 int32_t ky1, int32_t kx0, int32_t kx1, const uint32_t *w_o)
{
    const bnn_window *win = cx->win;
    int32_t ky, kx;
    uint32_t pc = 0u;
    for (ky = ky0; ky < ky1; ++ky) {
        const uint32_t *row = cx->in + (iy0 + ky * win->dil_h) * cx->in_d.w * cx->words;
        const uint32_t *w_row = w_o + ky * win->k_w * cx->words;
        if (win->dil_w == 1) {
            pc += bnn_popcount_xor(row + (ix0 + kx0) * cx->words, w_row + kx0 * cx->words,
                                   (kx1 - kx0) * cx->words);
        } else {
            for (kx = kx0; kx < kx1; ++kx) {
                pc += bnn_popcount_xor(row + (ix0 + kx * win->dil_w) * cx->words,
                                       w_row + kx * cx->words, cx->words);
            }
        }
    }
    return pc;
}

/* Accumulators of all output channels of pixel (oy, ox) into acc[c_out]. */
static void conv_bin_pixel(const conv_bin_ctx *cx, int32_t oy, int32_t ox, int32_t c_out,
                           int32_t *acc)
{
    const bnn_window *win = cx->win;
    uint32_t act[BNN_GATHER_WORDS];
    int32_t iy0 = oy * win->stride_h - win->pad_top;
    int32_t ix0 = ox * win->stride_w - win->pad_left;
    int32_t ky0, ky1, kx0, kx1, o, k_valid;
    bnn_tap_range(oy, win->stride_h, win->pad_top, win->dil_h, win->k_h, cx->in_d.h, &ky0, &ky1);
    bnn_tap_range(ox, win->stride_w, win->pad_left, win->dil_w, win->k_w, cx->in_d.w, &kx0, &kx1);
    k_valid = (ky1 - ky0) * (kx1 - kx0) * cx->in_d.c;
    if (ky0 == 0 && ky1 == win->k_h && kx0 == 0 && kx1 == win->k_w &&
        gather_interior(cx, iy0, ix0, act)) {
        const uint32_t *w_o = cx->weights;
        for (o = 0; o < c_out; ++o, w_o += cx->taps_words) {
            acc[o] = k_valid - 2 * (int32_t)bnn_popcount_xor(act, w_o, cx->taps_words);
        }
        return;
    }
    for (o = 0; o < c_out; ++o) {
        const uint32_t *w_o = cx->weights + o * cx->taps_words;
        acc[o] = k_valid - 2 * (int32_t)mismatches_valid(cx, iy0, ix0, ky0, ky1, kx0, kx1, w_o);
    }
}

static conv_bin_ctx make_ctx(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                             const bnn_window *win)
{
    conv_bin_ctx cx;
    cx.in = in;
    cx.in_d = in_d;
    cx.weights = weights;
    cx.win = win;
    cx.words = BNN_WORDS(in_d.c);
    cx.taps_words = win->k_h * win->k_w * cx.words;
    return cx;
}

/* Output channels are done 32 at a time so the accumulators fit in one small array. */
void bnn_conv2d_bin_thresh(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                           const int32_t *thresh, const bnn_window *win, uint32_t *out,
                           bnn_dims out_d)
{
    conv_bin_ctx cx = make_ctx(in, in_d, weights, win);
    int32_t out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox, g, b;
    int32_t acc[32];
    for (g = 0; g < out_words; ++g) {
        int32_t n = out_d.c - g * 32 < 32 ? out_d.c - g * 32 : 32;
        cx.weights = weights + g * 32 * cx.taps_words;
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ++ox) {
                uint32_t word = 0u;
                conv_bin_pixel(&cx, oy, ox, n, acc);
                for (b = n - 1; b >= 0; --b) {
                    word = (word << 1) | (uint32_t)(acc[b] >= thresh[g * 32 + b]);
                }
                out[(oy * out_d.w + ox) * out_words + g] = word;
            }
        }
    }
}

void bnn_conv2d_bin_f32(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                        const float *scale, const float *bias, const bnn_window *win, float *out,
                        bnn_dims out_d)
{
    conv_bin_ctx cx = make_ctx(in, in_d, weights, win);
    int32_t plane = out_d.h * out_d.w;
    int32_t oy, ox, g, b;
    int32_t acc[32];
    for (g = 0; g * 32 < out_d.c; ++g) {
        int32_t n = out_d.c - g * 32 < 32 ? out_d.c - g * 32 : 32;
        cx.weights = weights + g * 32 * cx.taps_words;
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ++ox) {
                conv_bin_pixel(&cx, oy, ox, n, acc);
                for (b = 0; b < n; ++b) {
                    int32_t o = g * 32 + b;
                    out[o * plane + oy * out_d.w + ox] = scale[o] * (float)acc[b] + bias[o];
                }
            }
        }
    }
}
