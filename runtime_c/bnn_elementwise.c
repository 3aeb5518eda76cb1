/*
 * bnn_elementwise.c - per-channel affine (inference BatchNormalization) and two-operand
 * Add / Sub / Mul / Div with broadcasting, on REAL CHW tensors. One IEEE float32 operation per
 * step, in the order bnn.h states (the same as onnxruntime's CPU kernels), never contracted.
 */
#include "bnn.h"

void bnn_scale_shift_f32(const float *in, bnn_dims d, const float *scale, const float *shift,
                         float *out)
{
    int32_t plane = d.h * d.w, c, i;
    for (c = 0; c < d.c; ++c) {
        float s = scale[c], t = shift[c];
        for (i = 0; i < plane; ++i) {
            float p = *in++ * s;
            *out++ = p + t;
        }
    }
}

/* Element strides (per channel, per pixel) of an operand in broadcast mode `mode`. */
static void bcast_strides(int32_t mode, bnn_dims d, int32_t *sc, int32_t *sp)
{
    *sc = (mode == BNN_BCAST_FULL) ? d.h * d.w : (mode == BNN_BCAST_CHANNEL ? 1 : 0);
    *sp = (mode == BNN_BCAST_FULL || mode == BNN_BCAST_PLANE) ? 1 : 0;
}

#define BNN_BINARY_OP(name, expr)                                                             \
    void name(const float *a, int32_t a_mode, const float *b, int32_t b_mode, bnn_dims d,       \
              float *out)                                                                     \
    {                                                                                         \
        int32_t plane = d.h * d.w, asc, asp, bsc, bsp, c, i;                                  \
        bcast_strides(a_mode, d, &asc, &asp);                                                 \
        bcast_strides(b_mode, d, &bsc, &bsp);                                                 \
        for (c = 0; c < d.c; ++c) {                                                           \
            const float *pa = a + c * asc, *pb = b + c * bsc;                                 \
            for (i = 0; i < plane; ++i) {                                                     \
                float x = pa[i * asp], y = pb[i * bsp];                                       \
                *out++ = expr;                                                                \
            }                                                                                 \
        }                                                                                     \
    }

BNN_BINARY_OP(bnn_add_f32, x + y)
BNN_BINARY_OP(bnn_sub_f32, x - y)
BNN_BINARY_OP(bnn_mul_f32, x * y)
BNN_BINARY_OP(bnn_div_f32, x / y)
