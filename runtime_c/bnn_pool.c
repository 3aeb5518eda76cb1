/*
 * bnn_pool.c - max-pooling on bits (a word-wide OR / AND) and on floats, valid taps only.
 */
#include "bnn.h"

#include <math.h>
#include <stddef.h>

void bnn_maxpool_bits(const uint32_t *in, bnn_dims in_d, const bnn_window *win,
                      const uint32_t *and_mask, uint32_t *out, bnn_dims out_d)
{
    int32_t words = BNN_WORDS(in_d.c);
    int32_t oy, ox, ky0, ky1, kx0, kx1, ky, kx, j;
    for (oy = 0; oy < out_d.h; ++oy) {
        bnn_tap_range(oy, win->stride_h, win->pad_top, win->dil_h, win->k_h, in_d.h, &ky0, &ky1);
        for (ox = 0; ox < out_d.w; ++ox) {
            bnn_tap_range(ox, win->stride_w, win->pad_left, win->dil_w, win->k_w, in_d.w, &kx0,
                          &kx1);
            for (j = 0; j < words; ++j) {
                /* A window without valid taps gives 0 (the max of nothing is -inf). */
                uint32_t any = (ky0 < ky1 && kx0 < kx1) ? 0xffffffffu : 0u;
                uint32_t or_acc = 0u, and_acc = any;
                uint32_t mask = and_mask != NULL ? and_mask[j] : 0u;
                for (ky = ky0; ky < ky1; ++ky) {
                    int32_t iy = oy * win->stride_h - win->pad_top + ky * win->dil_h;
                    for (kx = kx0; kx < kx1; ++kx) {
                        int32_t ix = ox * win->stride_w - win->pad_left + kx * win->dil_w;
                        uint32_t v = in[(iy * in_d.w + ix) * words + j];
                        or_acc |= v;
                        and_acc &= v;
                    }
                }
                *out++ = (or_acc & ~mask) | (and_acc & mask);
            }
        }
    }
}

void bnn_maxpool_f32(const float *in, bnn_dims in_d, const bnn_window *win, float *out,
                     bnn_dims out_d)
{
    int32_t c, oy, ox, ky0, ky1, kx0, kx1, ky, kx;
    for (c = 0; c < in_d.c; ++c) {
        const float *plane = in + c * in_d.h * in_d.w;
        for (oy = 0; oy < out_d.h; ++oy) {
            bnn_tap_range(oy, win->stride_h, win->pad_top, win->dil_h, win->k_h, in_d.h, &ky0,
                          &ky1);
            for (ox = 0; ox < out_d.w; ++ox) {
                float best = -INFINITY;
                bnn_tap_range(ox, win->stride_w, win->pad_left, win->dil_w, win->k_w, in_d.w,
                              &kx0, &kx1);
                for (ky = ky0; ky < ky1; ++ky) {
                    int32_t iy = oy * win->stride_h - win->pad_top + ky * win->dil_h;
                    for (kx = kx0; kx < kx1; ++kx) {
                        int32_t ix = ox * win->stride_w - win->pad_left + kx * win->dil_w;
                        float x = plane[iy * in_d.w + ix];
                        if (x > best) {
                            best = x;
                        }
                    }
                }
                *out++ = best;
            }
        }
    }
}
