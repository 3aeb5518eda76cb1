/*
 * bnn_conv_real.c - convolution of a REAL (float CHW) input with binary weights: the first
 * layer of most BNNs. Each product is +x or -x, so the kernel only adds and subtracts.
 * Sums run in the order ci, ky, kx over valid taps, as in the reference, so the float
 * results agree bit for bit.
 */
#include "bnn.h"

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
    int32_t w_words = BNN_WORDS(in_d.c * win->k_h * win->k_w);
    int32_t out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox, o;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            uint32_t word = 0u;
            for (o = 0; o < out_d.c; ++o) {
                float acc = conv_real_acc(in, in_d, weights + o * w_words, win, oy, ox);
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
    int32_t w_words = BNN_WORDS(in_d.c * win->k_h * win->k_w);
    int32_t oy, ox, o;
    for (o = 0; o < out_d.c; ++o) {
        const uint32_t *w_o = weights + o * w_words;
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ++ox) {
                float acc = conv_real_acc(in, in_d, w_o, win, oy, ox);
                *out++ = scale[o] * acc + bias[o];
            }
        }
    }
}
