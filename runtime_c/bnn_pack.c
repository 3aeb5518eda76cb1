/*
 * bnn_pack.c - REAL CHW <-> BITS HWC.
 *
 * The first and last layers touch every value, so both directions avoid float compares
 * (a library call on soft-float M0+/M3) and work on the float bit patterns, two pixels per
 * step so that neighbouring floats come in and go out with one double-word access.
 */
#include "bnn.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2) && !defined(BNN_NO_MVE)
/* Helium with float support: four pixels per vector (see pack_mve / unpack_mve). */
#include <arm_mve.h>
#define BNN_PACK_MVE 1
#endif

/* Type punning through a union is defined in C99 (TC3) and, unlike memcpy, is never a
 * library call on v6-M. */
typedef union {
    float f;
    uint32_t u;
} float_bits;

/* 1 iff x is NOT >= 0: negative and non-zero (not -0), or NaN of either sign. The bits made
 * monotonic (negatives flipped below the positives, -0 just below +0: i = u ^ ((sign ? ~0 : 0) >> 1)),
 * x >= 0 iff -1 <= i <= +inf as integers: one unsigned compare of i + 1. (The Helium pack below keeps
 * an earlier form, bit 31 of (u & (u - 1)) | ((u & 0x7fffffff) + 0x007fffff).) */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused)) /* the assembly below replaces it in some builds */
#endif
static uint32_t not_nonneg(float x)
{
    float_bits v;
    uint32_t i;
    v.f = x;
    i = v.u ^ ((uint32_t)(0 - (v.u >> 31)) >> 1);
    return (uint32_t)(i + 1u > 0x7f800001u);
}

/* acc = 2 acc + not_nonneg(x) (below) in assembly: the compare's carry added in by ADC, 6
 * instructions per value with its load (GCC formed the bit with a compare and two conditional moves,
 * then shifted it in: 8 on v7-M; conv64 pack M4 151,680 -> ..., M0+ 220,353 -> ...). */
#if !BNN_COMPACT && defined(__arm__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(BNN_NO_ASM)
#if defined(__thumb2__)
#define BNN_SHIFT_IN_NEG(acc, x, limit)                                                      \
    do {                                                                                     \
        float_bits si_v;                                                                     \
        uint32_t si_t;                                                                       \
        si_v.f = (x);                                                                        \
        __asm__("asr %1, %2, #31\n\teor %1, %2, %1, lsr #1\n\tadds %1, %1, #1\n\t"         \
                "cmp %1, %3\n\tadc %0, %0, %0"                                                \
                : "+r"(acc), "=&r"(si_t)                                                     \
                : "r"(si_v.u), "r"(limit)                                                    \
                : "cc");                                                                     \
    } while (0)
#elif !defined(__clang__) /* v6-M, GCC (its default divided syntax restored after; clang has
                            * only the unified one and keeps the C form) */
#define BNN_SHIFT_IN_NEG(acc, x, limit)                                                      \
    do {                                                                                     \
        float_bits si_v;                                                                     \
        uint32_t si_t;                                                                       \
        si_v.f = (x);                                                                        \
        __asm__(".syntax unified\n\tasrs %1, %2, #31\n\tlsrs %1, %1, #1\n\teors %1, %2\n\t" \
                "adds %1, #1\n\tcmp %1, %3\n\tadcs %0, %0\n\t.syntax divided"                \
                : "+l"(acc), "=&l"(si_t)                                                     \
                : "l"(si_v.u), "l"(limit)                                                    \
                : "cc");                                                                     \
    } while (0)
#endif
#endif
#if !defined(BNN_SHIFT_IN_NEG)
#define BNN_SHIFT_IN_NEG(acc, x, limit) ((void)(limit), (acc) = ((acc) << 1) | not_nonneg(x))
#endif


#if defined(BNN_PACK_MVE)
/* Pixels [0, plane & ~3) of channel group g, four pixels per vector: lane i of a vector is
 * pixel p + i, so the 32 strided channel loads of the scalar loop become contiguous vector
 * loads and the four packed words leave with one scatter store. */
static void pack_mve(const float *in, int32_t plane, int32_t words, int32_t g, int32_t n,
                     uint32_t *out)
{
    static const uint32_t lane_offsets[4] = {0u, 1u, 2u, 3u};
    const uint32x4_t offsets = vmulq_n_u32(vldrwq_u32(lane_offsets), (uint32_t)words);
    const uint32x4_t valid = vdupq_n_u32(0xffffffffu >> (32 - n));
    int32_t p, b;
    for (p = 0; p + 4 <= plane; p += 4) {
        const float *src = in + (g * 32 + n - 1) * plane + p;
        uint32x4_t neg = vdupq_n_u32(0u);
        for (b = n; b > 0; --b, src -= plane) {
            uint32x4_t u = vreinterpretq_u32_f32(vldrwq_f32(src));
            /* bit 31: negative and non-zero, or NaN (see not_nonneg) */
            uint32x4_t flag = vorrq_u32(vandq_u32(u, vsubq_n_u32(u, 1u)),
                                        vaddq_n_u32(vandq_u32(u, vdupq_n_u32(0x7fffffffu)),
                                                    0x007fffffu));
            neg = vsliq_n_u32(vshrq_n_u32(flag, 31), neg, 1);
        }
        vstrwq_scatter_shifted_offset_u32(out + p * words + g, offsets, vbicq_u32(valid, neg));
    }
}

/* Pixels [0, plane & ~3) of channel group g: the inverse of pack_mve. */
static void unpack_mve(const uint32_t *in, int32_t plane, int32_t words, int32_t g, int32_t n,
                       float *out)
{
    static const uint32_t lane_offsets[4] = {0u, 1u, 2u, 3u};
    const uint32x4_t offsets = vmulq_n_u32(vldrwq_u32(lane_offsets), (uint32_t)words);
    const uint32x4_t minus_one = vdupq_n_u32(0xbf800000u);
    int32_t p, b;
    for (p = 0; p + 4 <= plane; p += 4) {
        uint32x4_t bits = vldrwq_gather_shifted_offset_u32(in + p * words + g, offsets);
        float *dst = out + g * 32 * plane + p;
        for (b = 0; b < n; ++b, dst += plane) {
            vstrwq_f32(dst, vreinterpretq_f32_u32(vaddq_u32(minus_one, vshlq_n_u32(bits, 31))));
            bits = vshrq_n_u32(bits, 1);
        }
    }
}

/* A vector (plane 1, e.g. a dense layer's input): the full words of c channels, four channels
 * per vector; returns how many words it wrote (the last partial one is left to the caller). */
static int32_t pack_vector_mve(const float *in, int32_t c, uint32_t *out)
{
    static const int32_t lane_shifts[4] = {0, 1, 2, 3};
    int32_t g, j;
    for (g = 0; g < c / 32; ++g) {
        int32x4_t shifts = vldrwq_s32(lane_shifts);
        uint32x4_t neg = vdupq_n_u32(0u);
        for (j = 0; j < 32; j += 4) {
            uint32x4_t u = vreinterpretq_u32_f32(vldrwq_f32(in + g * 32 + j));
            /* bit 31: negative and non-zero, or NaN (see not_nonneg) */
            uint32x4_t flag = vorrq_u32(vandq_u32(u, vsubq_n_u32(u, 1u)),
                                        vaddq_n_u32(vandq_u32(u, vdupq_n_u32(0x7fffffffu)),
                                                    0x007fffffu));
            neg = vorrq_u32(neg, vshlq_u32(vshrq_n_u32(flag, 31), shifts));
            shifts = vaddq_n_s32(shifts, 4);
        }
        out[g] = ~vaddvq_u32(neg); /* the lanes' bits are disjoint: the sum is their OR */
    }
    return g;
}

/* A vector (plane 1, e.g. a dense layer's output): channels b..b+3 of a word in one vector. */
static void unpack_vector_mve(const uint32_t *in, int32_t c, float *out)
{
    static const int32_t lane_shifts[4] = {0, -1, -2, -3};
    const int32x4_t shifts = vldrwq_s32(lane_shifts);
    const uint32x4_t minus_one = vdupq_n_u32(0xbf800000u);
    int32_t g, b;
    for (g = 0; g < BNN_WORDS(c); ++g) {
        int32_t n = c - g * 32 < 32 ? c - g * 32 : 32;
        uint32x4_t bits = vshlq_u32(vdupq_n_u32(in[g]), shifts); /* lane i: word >> i */
        if (n == 32) {
            for (b = 0; b < 32; b += 4) {
                vstrwq_f32(out + g * 32 + b,
                           vreinterpretq_f32_u32(vaddq_u32(minus_one, vshlq_n_u32(bits, 31))));
                bits = vshrq_n_u32(bits, 4);
            }
            continue;
        }
        for (b = 0; b < n; b += 4) {
            vstrwq_p_f32(out + g * 32 + b,
                         vreinterpretq_f32_u32(vaddq_u32(minus_one, vshlq_n_u32(bits, 31))),
                         vctp32q((uint32_t)(n - b)));
            bits = vshrq_n_u32(bits, 4);
        }
    }
}
#endif

#if !defined(BNN_PACK_MVE) && !BNN_COMPACT
/* A vector (plane 1, e.g. a dense layer's input), scalar cores: the 32 channels of a word are
 * contiguous floats, read forwards four at a time; each "not >= 0" bit 31 enters the word from
 * the top, so channel 0 ends at bit 0. Returns the number of full words written. */
static int32_t pack_vector(const float *in, int32_t c, uint32_t *out)
{
    int32_t g, j;
    for (g = 0; g < c / 32; ++g, in += 32) {
        uint32_t neg = 0u;
        for (j = 0; j < 32; j += 4) {
            neg = (neg >> 1) | (not_nonneg(in[j]) << 31);
            neg = (neg >> 1) | (not_nonneg(in[j + 1]) << 31);
            neg = (neg >> 1) | (not_nonneg(in[j + 2]) << 31);
            neg = (neg >> 1) | (not_nonneg(in[j + 3]) << 31);
        }
        out[g] = ~neg;
    }
    return g;
}

/* A vector (plane 1, e.g. a dense layer's output), scalar cores: -1.0f + bit * 2^31 per
 * channel, four contiguous floats per step; returns the number of full words done. */
static int32_t unpack_vector(const uint32_t *in, int32_t c, float *out)
{
    float_bits *dst = (float_bits *)out;
    int32_t g, b;
    for (g = 0; g < c / 32; ++g, dst += 32) {
        uint32_t bits = in[g];
        for (b = 0; b < 32; b += 4) {
            dst[b].u = 0xbf800000u + (bits << 31);
            dst[b + 1].u = 0xbf800000u + ((bits >> 1) << 31);
            dst[b + 2].u = 0xbf800000u + ((bits >> 2) << 31);
            dst[b + 3].u = 0xbf800000u + ((bits >> 3) << 31);
            bits >>= 4;
        }
    }
    return g;
}
#endif

void bnn_pack_chw_f32(const float *in, bnn_dims d, uint32_t *out)
{
    const uint32_t limit = 0x7f800002u; /* not_nonneg: i + 1 >= limit */
    int32_t words = BNN_WORDS(d.c);
    int32_t plane = d.h * d.w;
    int32_t p, g = 0, b;
#if defined(BNN_PACK_MVE)
    if (plane == 1) {
        g = pack_vector_mve(in, d.c, out);
    }
#endif
#if !defined(BNN_PACK_MVE) && !BNN_COMPACT
    if (plane == 1) {
        g = pack_vector(in, d.c, out);
    }
#endif
    for (; g < words; ++g) {
        int32_t n = d.c - g * 32 < 32 ? d.c - g * 32 : 32;
        /* ~0 >> (32 - n) without the undefined shift by 32 */
        uint32_t valid = 0xffffffffu >> (32 - n);
        const float *group = in + g * 32 * plane;
        p = 0;
#if defined(BNN_PACK_MVE)
        pack_mve(in, plane, words, g, n, out);
        p = plane & ~3;
#endif
        for (; p + 1 < plane; p += 2) {
            const float *src = group + (n - 1) * plane + p;
            uint32_t neg0 = 0u, neg1 = 0u;
            /* highest channel first: every bit lands with one shift-or */
            for (b = n; b > 0; --b, src -= plane) {
                BNN_SHIFT_IN_NEG(neg0, src[0], limit);
                BNN_SHIFT_IN_NEG(neg1, src[1], limit);
            }
            out[p * words + g] = ~neg0 & valid;
            out[(p + 1) * words + g] = ~neg1 & valid;
        }
        if (p < plane) {
            const float *src = group + (n - 1) * plane + p;
            uint32_t neg0 = 0u;
            for (b = n; b > 0; --b, src -= plane) {
                BNN_SHIFT_IN_NEG(neg0, src[0], limit);
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
    g = 0;
#if defined(BNN_PACK_MVE)
    if (plane == 1) {
        unpack_vector_mve(in, d.c, out);
        return;
    }
#elif !BNN_COMPACT
    if (plane == 1) {
        g = unpack_vector(in, d.c, out);
    }
#endif
    for (; g < words; ++g) {
        int32_t n = d.c - g * 32 < 32 ? d.c - g * 32 : 32;
        float *group = out + g * 32 * plane;
        p = 0;
#if defined(BNN_PACK_MVE)
        unpack_mve(in, plane, words, g, n, out);
        p = plane & ~3;
#endif
        for (; p + 1 < plane; p += 2) {
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
