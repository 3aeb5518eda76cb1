/*
 * bnn_popcount.h - population count without libgcc.
 *
 * No Cortex-M core has a popcount instruction, and __builtin_popcount becomes a call to
 * libgcc's __popcountsi2 there (20-29 instructions per word). So the builtin is used only
 * where the target really has the instruction; everywhere else a SWAR count is inlined.
 * Long bit vectors should not count word by word at all: see bnn_popcount_xor() below,
 * which folds words with carry-save adders (Harley-Seal) and counts rarely.
 */
#ifndef BNN_POPCOUNT_H
#define BNN_POPCOUNT_H

#include <stdint.h>

#if defined(__ARM_FEATURE_SIMD32) || defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#define BNN_HAVE_USADA8 1
#endif

#if (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__POPCNT__) || (defined(__aarch64__) && defined(__ARM_NEON)))
#define BNN_HAVE_HW_POPCOUNT 1
#endif

/* Per-byte bit counts of x (each byte 0..8). */
static inline uint32_t bnn_bytecount32(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (x + (x >> 4)) & 0x0f0f0f0fu;
}

/* Sum of the four bytes of x (bytes small enough that the sum fits in 8 bits for the
 * multiply form: callers keep each byte sum below 256). */
static inline uint32_t bnn_bytesum32(uint32_t x)
{
#if defined(BNN_HAVE_USADA8)
    return __usada8(x, 0u, 0u);
#else
    return (x * 0x01010101u) >> 24;
#endif
}

static inline uint32_t bnn_popcount32(uint32_t x)
{
#if defined(BNN_HAVE_HW_POPCOUNT)
    return (uint32_t)__builtin_popcount(x);
#else
    return bnn_bytesum32(bnn_bytecount32(x));
#endif
}

/* Carry-save adder: adds three bit vectors lane-wise, giving a sum bit and a carry bit. */
#define BNN_CSA(carry, sum, a, b, c)                                                          \
    do {                                                                                     \
        uint32_t bnn_u_ = (a) ^ (b);                                                         \
        (carry) = ((a) & (b)) | (bnn_u_ & (c));                                              \
        (sum) = bnn_u_ ^ (c);                                                                \
    } while (0)

/* popcount(a[i] ^ w[i]) summed over n words, Harley-Seal style: words are folded 8 at a
 * time into bit-sliced counters (ones, twos, fours) and only the eights are counted. */
static inline uint32_t bnn_popcount_xor(const uint32_t *a, const uint32_t *w, int32_t n)
{
#if defined(BNN_HAVE_HW_POPCOUNT)
    uint32_t total = 0;
    int32_t i;
    for (i = 0; i < n; ++i) {
        total += bnn_popcount32(a[i] ^ w[i]);
    }
    return total;
#else
    uint32_t ones = 0, twos = 0, fours = 0, eights_total = 0;
    uint32_t twos_a, twos_b, fours_a, fours_b, eights;
    uint32_t bytes;
    while (n >= 8) {
        BNN_CSA(twos_a, ones, ones, a[0] ^ w[0], a[1] ^ w[1]);
        BNN_CSA(twos_b, ones, ones, a[2] ^ w[2], a[3] ^ w[3]);
        BNN_CSA(fours_a, twos, twos, twos_a, twos_b);
        BNN_CSA(twos_a, ones, ones, a[4] ^ w[4], a[5] ^ w[5]);
        BNN_CSA(twos_b, ones, ones, a[6] ^ w[6], a[7] ^ w[7]);
        BNN_CSA(fours_b, twos, twos, twos_a, twos_b);
        BNN_CSA(eights, fours, fours, fours_a, fours_b);
        eights_total += bnn_bytesum32(bnn_bytecount32(eights));
        a += 8;
        w += 8;
        n -= 8;
    }
    if (n >= 4) {
        BNN_CSA(twos_a, ones, ones, a[0] ^ w[0], a[1] ^ w[1]);
        BNN_CSA(twos_b, ones, ones, a[2] ^ w[2], a[3] ^ w[3]);
        BNN_CSA(fours_a, twos, twos, twos_a, twos_b);
        /* fours + fours_a may carry into eights */
        eights = fours & fours_a;
        fours ^= fours_a;
        eights_total += bnn_bytesum32(bnn_bytecount32(eights));
        a += 4;
        w += 4;
        n -= 4;
    }
    if (n >= 2) {
        BNN_CSA(twos_a, ones, ones, a[0] ^ w[0], a[1] ^ w[1]);
        fours_a = twos & twos_a;
        twos ^= twos_a;
        eights = fours & fours_a;
        fours ^= fours_a;
        eights_total += bnn_bytesum32(bnn_bytecount32(eights));
        a += 2;
        w += 2;
        n -= 2;
    }
    /* Weighted byte counts: ones + 2*twos + 4*fours (+ the last odd word) <= 8*8 = 64 per
     * byte, so one byte sum finishes the count. */
    bytes = bnn_bytecount32(ones) + (bnn_bytecount32(twos) << 1) +
            (bnn_bytecount32(fours) << 2);
    if (n > 0) {
        bytes += bnn_bytecount32(a[0] ^ w[0]);
    }
    return (eights_total << 3) + bnn_bytesum32(bytes);
#endif
}

#endif /* BNN_POPCOUNT_H */
