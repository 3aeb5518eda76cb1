/*
 * bnn_pack.c - REAL CHW <-> BITS HWC.
 *
 * The first and last layers touch every value, so both directions avoid float compares
 * (a library call on soft-float M0+/M3) and work on the float bit patterns, two pixels per
 * step so that neighbouring floats come in and go out with one double-word access.
 */
#include "bnn.h"

/* Type punning through a union is defined in C99 (TC3) and, unlike memcpy, is never a
 * library call on v6-M. */
typedef union {
    float f;
    uint32_t u;
} float_bits;

/* Bit 31 set iff x is NOT >= 0: negative and non-zero (not -0), or NaN of either sign. */
static uint32_t negative_or_nan(float x)
{
    float_bits v;
    v.f = x;
    return (v.u & (v.u - 1u)) | ((v.u & 0x7fffffffu) + 0x007fffffu);
}

void bnn_pack_chw_f32(const float *in, bnn_dims d, uint32_t *out)
{
    int32_t words = BNN_WORDS(d.c);
    int32_t plane = d.h * d.w;
    int32_t p, g, b;
    for (g = 0; g < words; ++g) {
        int32_t n = d.c - g * 32 < 32 ? d.c - g * 32 : 32;
        /* ~0 >> (32 - n) without the undefined shift by 32 */
        uint32_t valid = 0xffffffffu >> (32 - n);
        const float *group = in + g * 32 * plane;
        for (p = 0; p + 1 < plane; p += 2) {
            const float *src = group + (n - 1) * plane + p;
            uint32_t neg0 = 0u, neg1 = 0u;
            /* highest channel first: every bit lands with one shift-or */
            for (b = n; b > 0; --b, src -= plane) {
                neg0 = (neg0 << 1) | (negative_or_nan(src[0]) >> 31);
                neg1 = (neg1 << 1) | (negative_or_nan(src[1]) >> 31);
            }
            out[p * words + g] = ~neg0 & valid;
            out[(p + 1) * words + g] = ~neg1 & valid;
        }
        if (p < plane) {
            const float *src = group + (n - 1) * plane + p;
            uint32_t neg0 = 0u;
            for (b = n; b > 0; --b, src -= plane) {
                neg0 = (neg0 << 1) | (negative_or_nan(src[0]) >> 31);
            }
            out[p * words + g] = ~neg0 & valid;
        }
    }
}

void bnn_unpack_bits_chw_f32(const uint32_t *in, bnn_dims d, float *out)
{
    int32_t words = BNN_WORDS(d.c);
    int32_t plane = d.h * d.w;
    int32_t p, g, b;
    for (g = 0; g < words; ++g) {
        int32_t n = d.c - g * 32 < 32 ? d.c - g * 32 : 32;
        float *group = out + g * 32 * plane;
        for (p = 0; p + 1 < plane; p += 2) {
            uint32_t bits0 = in[p * words + g], bits1 = in[(p + 1) * words + g];
            float *dst = group + p;
            for (b = 0; b < n; ++b, dst += plane) {
                /* -1.0f is 0xbf800000; adding bit << 31 flips the sign to +1.0f */
                float_bits v0, v1;
                v0.u = 0xbf800000u + (bits0 << 31);
                v1.u = 0xbf800000u + (bits1 << 31);
                dst[0] = v0.f;
                dst[1] = v1.f;
                bits0 >>= 1;
                bits1 >>= 1;
            }
        }
        if (p < plane) {
            uint32_t bits0 = in[p * words + g];
            float *dst = group + p;
            for (b = 0; b < n; ++b, dst += plane) {
                float_bits v0;
                v0.u = 0xbf800000u + (bits0 << 31);
                dst[0] = v0.f;
                bits0 >>= 1;
            }
        }
    }
}
