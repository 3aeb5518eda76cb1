/*
 * bnn_activation.c - Relu, PRelu, LeakyRelu, Clip on REAL tensors, written so that -0.0f and
 * NaN come out as onnxruntime's CPU kernels give them (checked by tests/runtime): every
 * kernel passes x through unless a strict comparison says otherwise, so Relu(-0) = -0,
 * Clip(-0, 0, 6) = -0 and NaN stays NaN.
 */
#include "bnn.h"

void bnn_relu_f32(const float *in, int32_t n, float *out)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        float x = in[i];
        out[i] = x < 0.0f ? 0.0f : x;
    }
}

void bnn_prelu_f32(const float *in, bnn_dims d, const float *slope, float *out)
{
    int32_t plane = d.h * d.w, c, i;
    for (c = 0; c < d.c; ++c) {
        float s = slope[c];
        for (i = 0; i < plane; ++i) {
            float x = *in++;
            *out++ = x < 0.0f ? s * x : x;
        }
    }
}

void bnn_leaky_relu_f32(const float *in, int32_t n, float alpha, float *out)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        float x = in[i];
        out[i] = x < 0.0f ? alpha * x : x;
    }
}

void bnn_clip_f32(const float *in, int32_t n, float lo, float hi, float *out)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        float x = in[i];
        out[i] = x < lo ? lo : (x > hi ? hi : x);
    }
}
