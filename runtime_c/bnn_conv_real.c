/*
 * bnn_conv_real.c - convolution of a REAL (float CHW) input with binary weights: the first
 * layer of most BNNs. Each product is +x or -x, so the kernel only adds and subtracts.
 * The DEFAULT (exact) order: acc = 0.0f, then acc + x or acc - x over the valid taps in order
 * ci, ky, kx, as in the reference, so the float results agree bit for bit. With +-1 weights this
 * is onnxruntime's result (im2col + MLAS SGEMM accumulates acc +- x in the same order for
 * windows inside one K block; tests/e2e checks it on random non-dyadic inputs). The faster
 * grouped order is opt-in: bnn_conv_real_grouped.c.
 *
 * Per output pixel the window is gathered once as pairs (-x, +x), in weight order; every
 * output channel then adds pair[bit] for each weight bit: no branch, no index arithmetic.
 * Taps outside the image hold (-0, -0): acc + (-0.0f) == acc for every acc (+0 stays +0),
 * so they change nothing, exactly like skipping them.
 */
#include "bnn.h"
#include "bnn_pairs.h"

/* Window taps (c_in * k_h * k_w) gathered on the stack: 2 floats each, 1 KiB (a 3-channel 5x5
 * first layer is 75 taps). Larger windows use the tap-by-tap loop. A multiple of 4
 * (bnn_add_pairs pads to whole groups). */
#define BNN_REAL_PATCH_TAPS 128

/* Whether a window of k taps goes through the gathered pairs. The compact build (BNN_COMPACT,
 * bnn.h) keeps only the tap-by-tap loop: the pair code is then dead and compiled out. */
#if BNN_COMPACT
#define BNN_USE_PAIRS(k) 0
#else
#define BNN_USE_PAIRS(k) ((k) <= BNN_REAL_PATCH_TAPS)
#endif

static void gather_pairs(const float *in, bnn_dims in_d, const bnn_window *win, int32_t oy,
                         int32_t ox, float *pairs)
{
    int32_t plane = in_d.h * in_d.w, ci, ky, kx;
    int32_t iy0 = oy * win->stride_h - win->pad_top, ix0 = ox * win->stride_w - win->pad_left;
    for (ci = 0; ci < in_d.c; ++ci) {
        for (ky = 0; ky < win->k_h; ++ky) {
            int32_t iy = iy0 + ky * win->dil_h;
            for (kx = 0; kx < win->k_w; ++kx, pairs += 2) {
                int32_t ix = ix0 + kx * win->dil_w;
                if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                    pairs[0] = -0.0f;
                    pairs[1] = -0.0f;
                } else {
                    float x = in[ci * plane + iy * in_d.w + ix];
                    pairs[0] = -x;
                    pairs[1] = x;
                }
            }
        }
    }
    for (ci = in_d.c * win->k_h * win->k_w; ci % 4 != 0; ++ci, pairs += 2) {
        pairs[0] = -0.0f; /* pad to whole groups of four taps */
        pairs[1] = -0.0f;
    }
}

static float conv_real_acc(const float *in, bnn_dims in_d, const uint32_t *w_o,
                           const bnn_window *win, int32_t oy, int32_t ox)
{
    int32_t ky0, ky1, kx0, kx1, ci, ky, kx;
    int32_t plane = in_d.h * in_d.w;
    float acc = 0.0f;
    bnn_tap_range(oy, win->stride_h, win->pad_top, win->dil_h, win->k_h, in_d.h, &ky0, &ky1);
    bnn_tap_range(ox, win->stride_w, win->pad_left, win->dil_w, win->k_w, in_d.w, &kx0, &kx1);
    for (ci = 0; ci < in_d.c; ++ci) {
        for (ky = ky0; ky < ky1; ++ky) {
            int32_t iy = oy * win->stride_h - win->pad_top + ky * win->dil_h;
            const float *row = in + ci * plane + iy * in_d.w;
            int32_t ix = ox * win->stride_w - win->pad_left + kx0 * win->dil_w;
            int32_t bit = (ci * win->k_h + ky) * win->k_w + kx0;
            for (kx = kx0; kx < kx1; ++kx, ++bit, ix += win->dil_w) {
                float x = row[ix];
                if ((w_o[bit >> 5] >> (bit & 31)) & 1u) {
                    acc += x;
                } else {
                    acc -= x;
                }
            }
        }
    }
    return acc;
}

void bnn_conv2d_f32_thresh(const float *in, bnn_dims in_d, const uint32_t *weights,
                           const float *thresh, const bnn_window *win, uint32_t *out,
                           bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w;
    int32_t w_words = BNN_WORDS(k);
    int32_t out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox, o;
    float pairs[2 * BNN_REAL_PATCH_TAPS];
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            uint32_t word = 0u;
            if (BNN_USE_PAIRS(k)) {
                gather_pairs(in, in_d, win, oy, ox, pairs);
            }
            for (o = 0; o < out_d.c; ++o) {
                float acc = BNN_USE_PAIRS(k)
                                ? bnn_add_pairs(0.0f, pairs, weights + o * w_words, k)
                                : conv_real_acc(in, in_d, weights + o * w_words, win, oy, ox);
                word |= (uint32_t)(acc >= thresh[o]) << (o & 31);
                if ((o & 31) == 31 || o == out_d.c - 1) {
                    pix[o >> 5] = word;
                    word = 0u;
                }
            }
        }
    }
}

void bnn_conv2d_f32_f32(const float *in, bnn_dims in_d, const uint32_t *weights,
                        const float *scale, const float *bias, const bnn_window *win, float *out,
                        bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w;
    int32_t w_words = BNN_WORDS(k);
    int32_t plane = out_d.h * out_d.w;
    int32_t oy, ox, o;
    float pairs[2 * BNN_REAL_PATCH_TAPS];
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            float *dst = out + oy * out_d.w + ox;
            if (BNN_USE_PAIRS(k)) {
                gather_pairs(in, in_d, win, oy, ox, pairs);
            }
            for (o = 0; o < out_d.c; ++o) {
                const uint32_t *w_o = weights + o * w_words;
                float acc = BNN_USE_PAIRS(k)
                                ? bnn_add_pairs(0.0f, pairs, w_o, k)
                                : conv_real_acc(in, in_d, w_o, win, oy, ox);
                dst[o * plane] = scale[o] * acc + bias[o];
            }
        }
    }
}
