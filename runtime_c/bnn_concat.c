/*
 * bnn_concat.c - concatenation on the channel axis: REAL (a plane copy) and BITS (each input
 * word shifted into its place in the destination pixel and ORed, for any channel counts).
 */
#include "bnn.h"

void bnn_concat_f32(const float *in, bnn_dims in_d, int32_t c_offset, float *out)
{
    int32_t n = in_d.c * in_d.h * in_d.w, i;
    float *dst = out + c_offset * in_d.h * in_d.w;
    if (dst == in) {
        return; /* the producer wrote straight into its slice */
    }
    for (i = 0; i < n; ++i) {
        dst[i] = in[i];
    }
}

void bnn_concat_bits(const uint32_t *const *ins, const int32_t *c, int32_t n_in, int32_t h,
                     int32_t w, uint32_t *out)
{
    int32_t c_total = 0, p, k, j, out_words;
    for (k = 0; k < n_in; ++k) {
        c_total += c[k];
    }
    out_words = BNN_WORDS(c_total);
    for (p = 0; p < h * w; ++p) {
        uint32_t *pix = out + p * out_words;
        int32_t pos = 0;
        for (j = 0; j < out_words; ++j) {
            pix[j] = 0u;
        }
        for (k = 0; k < n_in; ++k) {
            int32_t in_words = BNN_WORDS(c[k]);
            const uint32_t *src = ins[k] + p * in_words;
            for (j = 0; j < in_words; ++j) {
                /* Input tail bits are 0, so ORing whole words sets exactly the channels. */
                uint32_t v = src[j];
                int32_t bits = c[k] - 32 * j < 32 ? c[k] - 32 * j : 32;
                int32_t s = pos % 32;
                pix[pos / 32] |= v << s;
                if (s != 0 && s + bits > 32) {
                    pix[pos / 32 + 1] |= v >> (32 - s);
                }
                pos += bits;
            }
        }
    }
}
