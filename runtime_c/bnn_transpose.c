/*
 * bnn_transpose.c - a float32 relayout (ONNX Transpose of a (d0, d1, d2) tensor, batch axis first), such as
 * an NHWC model input read by NCHW layers. A plain copy: it is its own reference.
 */
#include "bnn.h"

void bnn_transpose_f32(const float *in, bnn_dims in_d, int32_t p0, int32_t p1, int32_t p2, float *out)
{
    const int32_t size[3] = {in_d.c, in_d.h, in_d.w};
    const int32_t stride[3] = {in_d.h * in_d.w, in_d.w, 1};
    int32_t i, j, k;
    for (i = 0; i < size[p0]; ++i) {
        for (j = 0; j < size[p1]; ++j) {
            const float *row = in + i * stride[p0] + j * stride[p1];
            for (k = 0; k < size[p2]; ++k) {
                *out++ = row[k * stride[p2]];
            }
        }
    }
}
