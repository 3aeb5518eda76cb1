/*
 * bnn_pack.c - REAL CHW <-> BITS HWC.
 *
 * The sign test works on the float's bit pattern: on soft-float cores (M0+, M3) a float
 * compare is a library call, and the packing of the first layer touches every input value.
 */
#include "bnn.h"

#include <string.h>

/* x >= 0 for a float given by its bits: +0 .. +inf, and -0. NaN gives 0. */
static uint32_t sign_bit_of(const float *x)
{
    uint32_t u;
    memcpy(&u, x, sizeof u);
    return (uint32_t)(u <= 0x7f800000u) | (uint32_t)(u == 0x80000000u);
}

void bnn_pack_chw_f32(const float *in, bnn_dims d, uint32_t *out)
{
    int32_t words = BNN_WORDS(d.c);
    int32_t plane = d.h * d.w;
    int32_t p, c0, b;
    for (p = 0; p < plane; ++p) {
        const float *src = in + p;
        uint32_t *dst = out + p * words;
        for (c0 = 0; c0 < d.c; c0 += 32) {
            int32_t n = d.c - c0 < 32 ? d.c - c0 : 32;
            uint32_t word = 0u;
            /* highest channel first so every bit lands with one shift-or */
            for (b = n - 1; b >= 0; --b) {
                word = (word << 1) | sign_bit_of(src + (c0 + b) * plane);
            }
            *dst++ = word;
        }
    }
}

void bnn_unpack_bits_chw_f32(const uint32_t *in, bnn_dims d, float *out)
{
    int32_t words = BNN_WORDS(d.c);
    int32_t plane = d.h * d.w;
    int32_t p, c;
    for (c = 0; c < d.c; ++c) {
        const uint32_t *src = in + c / 32;
        int32_t shift = c % 32;
        float *dst = out + c * plane;
        for (p = 0; p < plane; ++p) {
            /* +1.0f is 0x3f800000, -1.0f is 0xbf800000: the bit only picks the sign */
            uint32_t bits = 0xbf800000u ^ (((src[p * words] >> shift) & 1u) << 31);
            memcpy(dst + p, &bits, sizeof bits);
        }
    }
}
