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

/* Column sum of rows [r0, r1) at column ix (r1 > r0): the first row, then the others added. */
static float column_sum(const float *plane, int32_t w, int32_t r0, int32_t r1, int32_t ix)
{
    float s;
    int32_t r;
    if (r1 <= r0) {
        return 0.0f; /* no valid row (a window onnxruntime never forms) */
    }
    s = plane[r0 * w + ix];
    for (r = r0 + 1; r < r1; ++r) {
        s = s + plane[r * w + ix];
    }
    return s;
}

void bnn_avgpool_mlas_f32(const float *in, bnn_dims in_d, const bnn_window *win,
                          int32_t pad_bottom, int32_t pad_right, int32_t count_include_pad,
                          float *out, bnn_dims out_d)
{
    /* MLAS's choice: its vector kernel for strides_w <= 2 and windows <= 32 whose padded row
     * fits its 2048-float buffer, else the scalar loop (as bnn_avgpool_f32, but the
     * count_include_pad divisor is always k_h * k_w). */
    int vector = win->stride_w <= 2 && win->k_h <= 32 && win->k_w <= 32 &&
                 win->pad_left + pad_right + in_d.w <= 2048 - 3;
    int32_t c, oy, ox, kx;
    (void)pad_bottom;
    if (!vector) {
        int32_t ky0, ky1, kx0, kx1, ky;
        for (c = 0; c < in_d.c; ++c) {
            const float *plane = in + c * in_d.h * in_d.w;
            for (oy = 0; oy < out_d.h; ++oy) {
                bnn_tap_range(oy, win->stride_h, win->pad_top, 1, win->k_h, in_d.h, &ky0, &ky1);
                for (ox = 0; ox < out_d.w; ++ox) {
                    float sum = 0.0f;
                    int32_t count;
                    int32_t iy0 = oy * win->stride_h - win->pad_top;
                    int32_t ix0 = ox * win->stride_w - win->pad_left;
                    bnn_tap_range(ox, win->stride_w, win->pad_left, 1, win->k_w, in_d.w, &kx0,
                                  &kx1);
                    for (ky = ky0; ky < ky1; ++ky) {
                        for (kx = kx0; kx < kx1; ++kx) {
                            sum = sum + plane[(iy0 + ky) * in_d.w + ix0 + kx];
                        }
                    }
                    count = count_include_pad ? win->k_h * win->k_w : (ky1 - ky0) * (kx1 - kx0);
                    *out++ = sum / (float)(count > 1 ? count : 1);
                }
            }
        }
        return;
    }
    for (c = 0; c < in_d.c; ++c) {
        const float *plane = in + c * in_d.h * in_d.w;
        for (oy = 0; oy < out_d.h; ++oy) {
            int32_t r0 = oy * win->stride_h - win->pad_top, r1 = r0 + win->k_h;
            if (r0 < 0) {
                r0 = 0;
            }
            if (r1 > in_d.h) {
                r1 = in_d.h;
            }
            if (r1 < r0) {
                r1 = r0;
            }
            for (ox = 0; ox < out_d.w; ++ox) {
                /* Window columns of the padded row, left to right; padding columns are 0.0f. */
                int32_t p0 = ox * win->stride_w - win->pad_left, lo, hi;
                float sum = 0.0f, divisor;
                for (kx = 0; kx < win->k_w; ++kx) {
                    int32_t ix = p0 + kx;
                    float v = (ix >= 0 && ix < in_d.w) ? column_sum(plane, in_d.w, r0, r1, ix)
                                                       : 0.0f;
                    sum = kx == 0 ? v : sum + v;
                }
                lo = p0 < 0 ? 0 : p0;
                hi = p0 + win->k_w < in_d.w ? p0 + win->k_w : in_d.w;
                hi = hi > lo ? hi : lo;
                if (count_include_pad) {
                    divisor = (float)(win->k_h * win->k_w);
                } else {
                    divisor = (float)((hi - lo) * (r1 - r0));
                    divisor = divisor > 1.0f ? divisor : 1.0f;
                }
                *out++ = sum / divisor;
            }
        }
    }
}
