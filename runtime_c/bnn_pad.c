/*
 * bnn_pad.c - constant padding of a feature map (ONNX Pad, mode "constant", spatial axes only).
 * A plain copy: it is its own reference.
 */
#include "bnn.h"

void bnn_pad_bits(const uint32_t *in, bnn_dims in_d, int32_t pad_top, int32_t pad_left,
                  int32_t fill_plus_one, uint32_t *out, bnn_dims out_d)
{
    int32_t words = BNN_WORDS(in_d.c);
    int32_t tail = in_d.c % 32;
    int32_t y, x, j;
    for (y = 0; y < out_d.h; ++y) {
        int32_t iy = y - pad_top;
        for (x = 0; x < out_d.w; ++x) {
            int32_t ix = x - pad_left;
            int inside = iy >= 0 && iy < in_d.h && ix >= 0 && ix < in_d.w;
            for (j = 0; j < words; ++j) {
                uint32_t fill = 0u;
                if (fill_plus_one) {
                    /* +1 on every true channel, tail bits 0 */
                    fill = (j == words - 1 && tail != 0) ? ((1u << tail) - 1u) : 0xffffffffu;
                }
                *out++ = inside ? in[(iy * in_d.w + ix) * words + j] : fill;
            }
        }
    }
}

void bnn_pad_f32(const float *in, bnn_dims in_d, int32_t pad_top, int32_t pad_left, float value,
                 float *out, bnn_dims out_d)
{
    int32_t ch, y, x;
    for (ch = 0; ch < out_d.c; ++ch) {
        for (y = 0; y < out_d.h; ++y) {
            int32_t iy = y - pad_top;
            for (x = 0; x < out_d.w; ++x) {
                int32_t ix = x - pad_left;
                int inside = iy >= 0 && iy < in_d.h && ix >= 0 && ix < in_d.w;
                *out++ = inside ? in[(ch * in_d.h + iy) * in_d.w + ix] : value;
            }
        }
    }
}
