/*
 * bnn_real.c - conv and dense with float32 weights (the real first and last layers of a
 * mixed-precision BNN). Plain loops: acc = 0.0f, then acc = acc + w * x in the stated order,
 * one rounding per operation (no FMA); bias added last. onnxruntime (MLAS GEMM, FMA, blocked
 * sums) adds in another order: results agree within float rounding, not bit for bit.
 */
#include "bnn.h"

#include <stddef.h>

void bnn_conv2d_f32w_f32(const float *in, bnn_dims in_d, const float *weights,
                         const float *bias, int32_t groups, const bnn_window *win, float *out,
                         bnn_dims out_d)
{
    int32_t cin_g = in_d.c / groups, cout_g = out_d.c / groups, plane = in_d.h * in_d.w;
    int32_t o, oy, ox, ci, ky, kx, ky0, ky1, kx0, kx1;
    for (o = 0; o < out_d.c; ++o) {
        const float *w_o = weights + o * cin_g * win->k_h * win->k_w;
        const float *in_g = in + (o / cout_g) * cin_g * plane;
        for (oy = 0; oy < out_d.h; ++oy) {
            bnn_tap_range(oy, win->stride_h, win->pad_top, win->dil_h, win->k_h, in_d.h, &ky0,
                          &ky1);
            for (ox = 0; ox < out_d.w; ++ox) {
                float acc = 0.0f;
                bnn_tap_range(ox, win->stride_w, win->pad_left, win->dil_w, win->k_w, in_d.w,
                              &kx0, &kx1);
                for (ci = 0; ci < cin_g; ++ci) {
                    const float *w_c = w_o + ci * win->k_h * win->k_w;
                    const float *x_c = in_g + ci * plane;
                    for (ky = ky0; ky < ky1; ++ky) {
                        int32_t iy = oy * win->stride_h - win->pad_top + ky * win->dil_h;
                        for (kx = kx0; kx < kx1; ++kx) {
                            int32_t ix = ox * win->stride_w - win->pad_left + kx * win->dil_w;
                            float p = w_c[ky * win->k_w + kx] * x_c[iy * in_d.w + ix];
                            acc = acc + p;
                        }
                    }
                }
                *out++ = bias != NULL ? acc + bias[o] : acc;
            }
        }
    }
}

void bnn_dense_f32w_f32(const float *in, int32_t n_in, const float *weights, const float *bias,
                        int32_t n_out, float *out)
{
    int32_t o, i;
    for (o = 0; o < n_out; ++o) {
        const float *w_o = weights + o * n_in;
        float acc = 0.0f;
        for (i = 0; i < n_in; ++i) {
            float p = w_o[i] * in[i];
            acc = acc + p;
        }
        out[o] = bias != NULL ? acc + bias[o] : acc;
    }
}
