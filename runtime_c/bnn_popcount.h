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

#include "bnn.h"

#if defined(__ARM_FEATURE_SIMD32) || defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#define BNN_HAVE_USADA8 1
#endif

#if defined(__ARM_FEATURE_MVE) && !defined(BNN_NO_MVE)
#include <arm_mve.h>
#define BNN_HAVE_MVE 1
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

/* Sum of the four bytes of x; the multiply form needs the total below 256. */
static inline uint32_t bnn_bytesum32(uint32_t x)
{
#if defined(BNN_HAVE_USADA8)
    return __usada8(x, 0u, 0u);
#else
    return (x * 0x01010101u) >> 24;
#endif
}

/* Sum of the four bytes of x, any byte values (total up to 1020). */
static inline uint32_t bnn_bytesum_wide32(uint32_t x)
{
#if defined(BNN_HAVE_USADA8)
    return __usada8(x, 0u, 0u);
#else
    x = (x & 0x00ff00ffu) + ((x >> 8) & 0x00ff00ffu);
    return (x + (x >> 16)) & 0xffffu;
#endif
}

/* acc + the sum of the four bytes of x (one USADA8 on DSP cores); total below 256. */
static inline uint32_t bnn_bytesum_acc32(uint32_t x, uint32_t acc)
{
#if defined(BNN_HAVE_USADA8)
    return __usada8(x, 0u, acc);
#else
    return acc + ((x * 0x01010101u) >> 24);
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

/* GCC 12's instruction scheduler hoists the loads of a carry-save block ahead of the adder
 * tree and then spills; measured 10-25% more instructions in QEMU on v7-M / v8-M (not on
 * v6-M). Kernels built around the adders carry this attribute; build with
 * -DBNN_NO_SCHEDULE= to keep GCC's scheduling (e.g. when tuning cycles on a dual-issue M7). */
#if !defined(BNN_NO_SCHEDULE)
#if defined(__GNUC__) && !defined(__clang__) && defined(__arm__) && !defined(__ARM_ARCH_6M__)
#define BNN_NO_SCHEDULE __attribute__((optimize("no-schedule-insns", "no-schedule-insns2")))
#else
#define BNN_NO_SCHEDULE
#endif
#endif

/* Keeps a hot kernel a function of its own, so that its register allocation does not depend
 * on the code of its caller (instruction counts moved by several percent with unrelated
 * changes in the caller while it was inlined). */
#if defined(__GNUC__) || defined(__clang__)
#define BNN_NOINLINE __attribute__((noinline))
#define BNN_ALWAYS_INLINE __attribute__((always_inline))
#else
#define BNN_NOINLINE
#define BNN_ALWAYS_INLINE
#endif

/* Carry-save adder: adds three bit vectors lane-wise, giving a sum bit and a carry bit. */
#define BNN_CSA(carry, sum, a, b, c)                                                          \
    do {                                                                                     \
        uint32_t bnn_a_ = (a), bnn_b_ = (b), bnn_c_ = (c);                                   \
        uint32_t bnn_u_ = bnn_a_ ^ bnn_b_;                                                   \
        (carry) = (bnn_a_ & bnn_b_) | (bnn_u_ & bnn_c_);                                     \
        (sum) = bnn_u_ ^ bnn_c_;                                                             \
    } while (0)

/* Harley-Seal popcount of the words X(0..n-1), X(i) an expression of the word index i:
 * words are folded 8 at a time by carry-save adders into bit-sliced counters ones, twos and
 * fours; only the eights carry of each block is counted. Leftover pairs go through one more
 * adder and the last odd word is counted alone. Per word this costs ~5 ALU ops plus the
 * loads, against ~12 for a SWAR count. (16-word blocks measured slower: register spills.) */
#define BNN_HS_POPCOUNT(result, n_words, X)                                                  \
    do {                                                                                     \
        uint32_t hs_ones = 0u, hs_twos = 0u, hs_fours = 0u, hs_total = 0u, hs_bytes;         \
        uint32_t hs_i = 0u, hs_n8 = (uint32_t)(n_words) & ~7u;                               \
        for (; hs_i != hs_n8; hs_i += 8u) {                                                  \
            uint32_t hs_ta, hs_tb, hs_fa, hs_fb, hs_e;                                       \
            BNN_CSA(hs_ta, hs_ones, hs_ones, X(hs_i), X(hs_i + 1u));                         \
            BNN_CSA(hs_tb, hs_ones, hs_ones, X(hs_i + 2u), X(hs_i + 3u));                    \
            BNN_CSA(hs_fa, hs_twos, hs_twos, hs_ta, hs_tb);                                  \
            BNN_CSA(hs_ta, hs_ones, hs_ones, X(hs_i + 4u), X(hs_i + 5u));                    \
            BNN_CSA(hs_tb, hs_ones, hs_ones, X(hs_i + 6u), X(hs_i + 7u));                    \
            BNN_CSA(hs_fb, hs_twos, hs_twos, hs_ta, hs_tb);                                  \
            BNN_CSA(hs_e, hs_fours, hs_fours, hs_fa, hs_fb);                                 \
            hs_total = bnn_bytesum_acc32(bnn_bytecount32(hs_e), hs_total);                   \
        }                                                                                    \
        /* byte lanes: ones + 2 twos + 4 fours + 2 * 3 pair carries + 1 word <= 112 */       \
        hs_bytes = 0u;                                                                       \
        for (; hs_i + 2u <= (uint32_t)(n_words); hs_i += 2u) {                               \
            uint32_t hs_ta;                                                                  \
            BNN_CSA(hs_ta, hs_ones, hs_ones, X(hs_i), X(hs_i + 1u));                         \
            hs_bytes += bnn_bytecount32(hs_ta) << 1;                                         \
        }                                                                                    \
        if (hs_i != (uint32_t)(n_words)) {                                                   \
            hs_bytes += bnn_bytecount32(X(hs_i));                                            \
        }                                                                                    \
        hs_bytes += bnn_bytecount32(hs_ones) + (bnn_bytecount32(hs_twos) << 1) +             \
                    (bnn_bytecount32(hs_fours) << 2);                                        \
        (result) = (hs_total << 3) + bnn_bytesum_wide32(hs_bytes);                           \
    } while (0)

#if defined(BNN_HAVE_MVE)
/* BNN_CSA on vectors. */
#define BNN_VCSA(carry, sum, a, b, c)                                                        \
    do {                                                                                     \
        uint32x4_t vc_a = (a), vc_b = (b), vc_c = (c);                                       \
        uint32x4_t vc_u = veorq_u32(vc_a, vc_b);                                             \
        (carry) = vorrq_u32(vandq_u32(vc_a, vc_b), vandq_u32(vc_u, vc_c));                   \
        (sum) = veorq_u32(vc_u, vc_c);                                                       \
    } while (0)

/* Helium: four words per vector, SWAR byte counts summed across lanes by VADDVA.U8 (~3.5
 * instructions per word against ~10 for the scalar Harley-Seal loop). */
static inline uint32_t bnn_popcount_xor_mve(const uint32_t *a, const uint32_t *w, int32_t n)
{
    const uint32x4_t m1 = vdupq_n_u32(0x55555555u), m2 = vdupq_n_u32(0x33333333u);
    const uint32x4_t m4 = vdupq_n_u32(0x0f0f0f0fu);
    uint32_t total = 0u;
    int32_t i;
    for (i = 0; i + 4 <= n; i += 4) {
        uint32x4_t x = veorq_u32(vldrwq_u32(a + i), vldrwq_u32(w + i));
        x = vsubq_u32(x, vandq_u32(vshrq_n_u32(x, 1), m1));
        x = vaddq_u32(vandq_u32(x, m2), vandq_u32(vshrq_n_u32(x, 2), m2));
        x = vandq_u32(vaddq_u32(x, vshrq_n_u32(x, 4)), m4);
        total = vaddvaq_u8(total, vreinterpretq_u8_u32(x));
    }
    for (; i < n; ++i) {
        total += bnn_popcount32(a[i] ^ w[i]);
    }
    return total;
}
#endif

/* popcount(a[i] ^ w[i]) summed over n words: a short loop (no Harley-Seal unrolling), defined
 * once in bnn_popcount.c for every kernel file. The compact build (BNN_COMPACT) uses it as
 * bnn_popcount_xor; it is exported in every build so that tests can reach it directly. */
uint32_t bnn_popcount_xor_small(const uint32_t *a, const uint32_t *w, int32_t n);

#if BNN_COMPACT
#define bnn_popcount_xor(a, w, n) bnn_popcount_xor_small((a), (w), (n))
#else
/* popcount(a[i] ^ w[i]) summed over n words. */
BNN_NO_SCHEDULE static inline uint32_t bnn_popcount_xor(const uint32_t *a, const uint32_t *w,
                                                        int32_t n)
{
    uint32_t result;
#if defined(BNN_HAVE_MVE)
    result = bnn_popcount_xor_mve(a, w, n);
#elif defined(BNN_HAVE_HW_POPCOUNT)
    int32_t i;
    result = 0u;
    for (i = 0; i < n; ++i) {
        result += bnn_popcount32(a[i] ^ w[i]);
    }
#else
#define BNN_X_XOR(i) (a[i] ^ w[i])
    BNN_HS_POPCOUNT(result, n, BNN_X_XOR);
#undef BNN_X_XOR
#endif
    return result;
}
#endif

/* popcount((a[i] ^ w[i]) & m[i]) summed over n words: taps masked out by m do not count. */
BNN_NO_SCHEDULE static inline uint32_t bnn_popcount_xor_masked(const uint32_t *a, const uint32_t *w,
                                               const uint32_t *m, int32_t n)
{
    uint32_t result;
#if defined(BNN_HAVE_HW_POPCOUNT)
    int32_t i;
    result = 0u;
    for (i = 0; i < n; ++i) {
        result += bnn_popcount32((a[i] ^ w[i]) & m[i]);
    }
#else
#define BNN_X_XOR_MASKED(i) ((a[i] ^ w[i]) & m[i])
    BNN_HS_POPCOUNT(result, n, BNN_X_XOR_MASKED);
#undef BNN_X_XOR_MASKED
#endif
    return result;
}

#endif /* BNN_POPCOUNT_H */
