/*
 * bnn_avgpool.c - AveragePool, GlobalAveragePool and ReduceMean over H, W on REAL CHW.
 * Sums start at 0.0f and add the valid taps row by row (the order of onnxruntime's scalar
 * MLAS pooling kernel); the mean is one float division by the count, as onnxruntime
 * divides (MLAS pooling: sum / (float)count; ReduceMean: sum /= (float)n). onnxruntime's
 * vectorized kernels sum in other orders, so results may differ in the last bits.
 */
#include "bnn.h"

/* Taps of one axis inside the padded input [-pad_lo, size + pad_hi) for output o. */
static int32_t padded_taps(int32_t o, int32_t stride, int32_t pad_lo, int32_t pad_hi,
                           int32_t dil, int32_t k_size, int32_t size)
{
    int32_t k, n = 0;
    for (k = 0; k < k_size; ++k) {
        int32_t i = o * stride - pad_lo + k * dil;
        if (i >= -pad_lo && i < size + pad_hi) {
            ++n;
        }
    }
    return n;
}

void bnn_avgpool_f32(const float *in, bnn_dims in_d, const bnn_window *win, int32_t pad_bottom,
                     int32_t pad_right, int32_t count_include_pad, float *out, bnn_dims out_d)
{
    int32_t c, oy, ox, ky0, ky1, kx0, kx1, ky, kx;
    for (c = 0; c < in_d.c; ++c) {
        const float *plane = in + c * in_d.h * in_d.w;
        for (oy = 0; oy < out_d.h; ++oy) {
            int32_t ny = count_include_pad
                             ? padded_taps(oy, win->stride_h, win->pad_top, pad_bottom,
                                           win->dil_h, win->k_h, in_d.h)
                             : 0;
            bnn_tap_range(oy, win->stride_h, win->pad_top, win->dil_h, win->k_h, in_d.h, &ky0,
                          &ky1);
            for (ox = 0; ox < out_d.w; ++ox) {
                float sum = 0.0f;
                int32_t count;
                bnn_tap_range(ox, win->stride_w, win->pad_left, win->dil_w, win->k_w, in_d.w,
                              &kx0, &kx1);
                for (ky = ky0; ky < ky1; ++ky) {
                    int32_t iy = oy * win->stride_h - win->pad_top + ky * win->dil_h;
                    for (kx = kx0; kx < kx1; ++kx) {
                        int32_t ix = ox * win->stride_w - win->pad_left + kx * win->dil_w;
                        sum = sum + plane[iy * in_d.w + ix];
                    }
                }
                if (count_include_pad) {
                    count = ny * padded_taps(ox, win->stride_w, win->pad_left, pad_right,
                                             win->dil_w, win->k_w, in_d.w);
                } else {
                    count = (ky1 - ky0) * (kx1 - kx0);
                }
                *out++ = sum / (float)count;
            }
        }
    }
}

void bnn_global_avgpool_f32(const float *in, bnn_dims d, float *out)
{
    int32_t plane = d.h * d.w, c, i;
    for (c = 0; c < d.c; ++c) {
        float sum = 0.0f;
        for (i = 0; i < plane; ++i) {
            sum = sum + *in++;
        }
        out[c] = sum / (float)plane;
    }
}

void bnn_reduce_mean_hw_f32(const float *in, bnn_dims d, float *out)
{
    bnn_global_avgpool_f32(in, d, out);
}
