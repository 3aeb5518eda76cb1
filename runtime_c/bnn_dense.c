/*
 * bnn_dense.c - fully connected layers on BITS input (XNOR-popcount, Harley-Seal or Helium
 * popcount from bnn_popcount.h) and on REAL input (add / subtract by weight bit).
 */
#include <stddef.h>

#include "bnn.h"
#include "bnn_pairs.h"
#include "bnn_popcount.h"

#if defined(BNN_HAVE_MVE) && !BNN_COMPACT
/* Helium: four output neurons at once, one per 32-bit lane. A gather load (VLDRW.U32 Qd,
 * [Qm, #imm]) reads word i of the four weight rows, so the plain layout needs no reordering;
 * input word i is broadcast to all lanes once per call (a stack buffer of BNN_DENSE_BCAST
 * vectors; longer inputs broadcast by VDUP in the loop). The mismatch vectors go through a
 * Harley-Seal tree (ones, twos, fours in registers); the eights carries wait in a buffer and
 * are counted after the loop, and the lane counts come out once per four outputs: no VADDV and
 * no reduction tree per output. */
#define BNN_DENSE_BLOCK 4   /* outputs per dense_counts4 */
#define BNN_DENSE_BCAST 64  /* input words broadcast into the stack buffer (1 KiB) */
#define BNN_DENSE_CARRY 16  /* eights carries kept before counting (128 input words) */

/* Per-byte bit counts of every lane (bytes 0..8). */
BNN_ALWAYS_INLINE static inline uint32x4_t bnn_vbytecount(uint32x4_t x)
{
    const uint32x4_t m1 = vdupq_n_u32(0x55555555u), m2 = vdupq_n_u32(0x33333333u);
    x = vsubq_u32(x, vandq_u32(vshrq_n_u32(x, 1), m1));
    x = vaddq_u32(vandq_u32(x, m2), vandq_u32(vshrq_n_u32(x, 2), m2));
    return vandq_u32(vaddq_u32(x, vshrq_n_u32(x, 4)), vdupq_n_u32(0x0f0f0f0fu));
}

/* Sum of the four bytes of every lane (any byte values). */
BNN_ALWAYS_INLINE static inline uint32x4_t bnn_vbytesum(uint32x4_t x)
{
    const uint32x4_t m = vdupq_n_u32(0x00ff00ffu);
    x = vaddq_u32(vandq_u32(x, m), vandq_u32(vshrq_n_u32(x, 8), m));
    return vandq_u32(vaddq_u32(x, vshrq_n_u32(x, 16)), vdupq_n_u32(0xffffu));
}

/* 8 * (popcount of the n carries, lane-wise) + the count held in ones, twos, fours. */
BNN_NOINLINE static uint32x4_t dense_lane_counts(const uint32x4_t *carry, int32_t n,
                                                 uint32x4_t ones, uint32x4_t twos,
                                                 uint32x4_t fours)
{
    uint32x4_t bytes = vdupq_n_u32(0u);
    int32_t i;
    for (i = 0; i < n; ++i) { /* bytes <= 8 * BNN_DENSE_CARRY */
        bytes = vaddq_u32(bytes, bnn_vbytecount(carry[i]));
    }
    /* bytes: ones + 2 twos + 4 fours <= 56 */
    ones = vaddq_u32(bnn_vbytecount(ones), vshlq_n_u32(bnn_vbytecount(twos), 1));
    ones = vaddq_u32(ones, vshlq_n_u32(bnn_vbytecount(fours), 2));
    return vaddq_u32(vshlq_n_u32(bnn_vbytesum(bytes), 3), bnn_vbytesum(ones));
}

/* Lane l: popcount(in[i] ^ w[l * n_words + i]) summed over the n_words words, l = 0..3; bcast:
 * the input words broadcast (n_words <= BNN_DENSE_BCAST) or NULL. */
BNN_NO_SCHEDULE BNN_ALWAYS_INLINE static inline uint32x4_t dense_counts4(
    const uint32x4_t *bcast, const uint32_t *in, int32_t n_words, const uint32_t *w)
{
    uint32x4_t carry[BNN_DENSE_CARRY];
    /* addresses of word i of the four rows */
    uint32x4_t addr = vaddq_n_u32(vmulq_n_u32(vidupq_n_u32(0u, 1), (uint32_t)n_words * 4u),
                                  (uint32_t)(uintptr_t)w);
    uint32x4_t ones = vdupq_n_u32(0u), twos = ones, fours = ones, total = ones;
    int32_t i = 0, n8 = n_words & ~7, n_carry = 0;
#define BNN_DX(j)                                                                            \
    veorq_u32(vldrwq_gather_base_u32(addr, 4 * (j)),                                         \
              bcast != NULL ? bcast[i + (j)] : vdupq_n_u32(in[i + (j)]))
    for (; i != n8; i += 8) {
        uint32x4_t ta, tb, fa, fb;
        BNN_VCSA(ta, ones, ones, BNN_DX(0), BNN_DX(1));
        BNN_VCSA(tb, ones, ones, BNN_DX(2), BNN_DX(3));
        BNN_VCSA(fa, twos, twos, ta, tb);
        BNN_VCSA(ta, ones, ones, BNN_DX(4), BNN_DX(5));
        BNN_VCSA(tb, ones, ones, BNN_DX(6), BNN_DX(7));
        BNN_VCSA(fb, twos, twos, ta, tb);
        BNN_VCSA(carry[n_carry], fours, fours, fa, fb);
        addr = vaddq_n_u32(addr, 32u);
        if (++n_carry == BNN_DENSE_CARRY) {
            total = vaddq_u32(total, dense_lane_counts(carry, n_carry, vdupq_n_u32(0u),
                                                       vdupq_n_u32(0u), vdupq_n_u32(0u)));
            n_carry = 0;
        }
    }
    for (; i != n_words; ++i) { /* leftover words ripple through ones, twos, fours */
        uint32x4_t x = BNN_DX(0), c = vandq_u32(ones, x);
        addr = vaddq_n_u32(addr, 4u);
        ones = veorq_u32(ones, x);
        x = vandq_u32(twos, c);
        twos = veorq_u32(twos, c);
        carry[n_carry] = vandq_u32(fours, x);
        fours = veorq_u32(fours, x);
        if (++n_carry == BNN_DENSE_CARRY) {
            total = vaddq_u32(total, dense_lane_counts(carry, n_carry, vdupq_n_u32(0u),
                                                       vdupq_n_u32(0u), vdupq_n_u32(0u)));
            n_carry = 0;
        }
    }
#undef BNN_DX
    return vaddq_u32(total, dense_lane_counts(carry, n_carry, ones, twos, fours));
}

/* Fills bcast with the n_words input words broadcast; returns 0 when they do not fit. */
static int dense_broadcast(const uint32_t *in, int32_t n_words, uint32x4_t *bcast)
{
    int32_t i;
    if (n_words > BNN_DENSE_BCAST) {
        return 0;
    }
    for (i = 0; i < n_words; ++i) {
        bcast[i] = vdupq_n_u32(in[i]);
    }
    return 1;
}

/* K - 2 * mismatches of four outputs (rows w); two copies, with and without the buffer. */
#define BNN_DENSE_DOTS4(have_bcast, bcast, in, n_words, k, w)                                \
    vsubq_s32(vdupq_n_s32(k),                                                                \
              vreinterpretq_s32_u32(vshlq_n_u32(                                             \
                  (have_bcast) ? dense_counts4((bcast), (in), (n_words), (w))                \
                               : dense_counts4(NULL, (in), (n_words), (w)),                  \
                  1)))
#endif

BNN_NO_SCHEDULE
void bnn_dense_bin_thresh(const uint32_t *in, int32_t n_words, int32_t k,
                          const uint32_t *weights, const int32_t *thresh, int32_t n_out,
                          uint32_t *out)
{
    int32_t o = 0;
    uint32_t word = 0u;
#if defined(BNN_DENSE_BLOCK)
    uint32x4_t bcast[BNN_DENSE_BCAST];
    const int have_bcast = dense_broadcast(in, n_words, bcast);
    for (; o + BNN_DENSE_BLOCK <= n_out; o += BNN_DENSE_BLOCK) {
        int32x4_t dot = BNN_DENSE_DOTS4(have_bcast, bcast, in, n_words, k, weights + o * n_words);
        /* predicate bits 0, 4, 8, 12 (one per lane) to bits 0..3 */
        uint32_t p = (uint32_t)vcmpgeq_s32(dot, vldrwq_s32(thresh + o)) & 0x1111u;
        p |= p >> 3;
        word |= ((p | (p >> 6)) & 0xfu) << (o & 31);
        if ((o & 31) == 28 || o + BNN_DENSE_BLOCK == n_out) {
            out[o >> 5] = word;
            word = 0u;
        }
    }
#endif
    for (; o < n_out; ++o) {
        int32_t acc = k - 2 * (int32_t)bnn_popcount_xor(in, weights + o * n_words, n_words);
        word |= (uint32_t)(acc >= thresh[o]) << (o & 31);
        if ((o & 31) == 31 || o == n_out - 1) {
            out[o >> 5] = word;
            word = 0u;
        }
    }
}

BNN_NO_SCHEDULE
void bnn_dense_bin_f32(const uint32_t *in, int32_t n_words, int32_t k, const uint32_t *weights,
                       const float *scale, const float *bias, int32_t n_out, float *out)
{
    int32_t o = 0;
#if defined(BNN_DENSE_BLOCK)
    uint32x4_t bcast[BNN_DENSE_BCAST];
    const int have_bcast = dense_broadcast(in, n_words, bcast);
    for (; o + BNN_DENSE_BLOCK <= n_out; o += BNN_DENSE_BLOCK) {
        int32_t acc[4], l;
        vstrwq_s32(acc, BNN_DENSE_DOTS4(have_bcast, bcast, in, n_words, k, weights + o * n_words));
        for (l = 0; l < 4; ++l) {
            out[o + l] = scale[o + l] * (float)acc[l] + bias[o + l];
        }
    }
#endif
    for (; o < n_out; ++o) {
        int32_t acc = k - 2 * (int32_t)bnn_popcount_xor(in, weights + o * n_words, n_words);
        out[o] = scale[o] * (float)acc + bias[o];
    }
}

/* REAL-input dense: the input is gathered in chunks as pairs (-x, +x), and each output adds
 * pair[weight bit] in input order (as the reference does, so results agree bit for bit).
 * Outputs go in blocks of 32 so one chunk of pairs serves 32 outputs. */
#define BNN_DENSE_CHUNK 128 /* inputs per chunk (a multiple of 32): 1 KiB of pairs */

/* Accumulators of outputs [o0, o0 + n), n <= 32. */
static void dense_real_block(const float *in, int32_t n_in, const uint32_t *weights,
                             int32_t o0, int32_t n, float *acc)
{
    float pairs[2 * BNN_DENSE_CHUNK];
    int32_t w_words = BNN_WORDS(n_in), i0, j, b;
    for (b = 0; b < n; ++b) {
        acc[b] = 0.0f;
    }
    for (i0 = 0; i0 < n_in; i0 += BNN_DENSE_CHUNK) {
        int32_t m = n_in - i0 < BNN_DENSE_CHUNK ? n_in - i0 : BNN_DENSE_CHUNK;
        for (j = 0; j < m; ++j) {
            pairs[2 * j] = -in[i0 + j];
            pairs[2 * j + 1] = in[i0 + j];
        }
        for (; j % 4 != 0; ++j) {
            pairs[2 * j] = -0.0f;
            pairs[2 * j + 1] = -0.0f;
        }
        for (b = 0; b < n; ++b) {
            acc[b] = bnn_add_pairs(acc[b], pairs, weights + (o0 + b) * w_words + i0 / 32, m);
        }
    }
}

void bnn_dense_f32_thresh(const float *in, int32_t n_in, const uint32_t *weights,
                          const float *thresh, int32_t n_out, uint32_t *out)
{
    float acc[32];
    int32_t o0, b;
    for (o0 = 0; o0 < n_out; o0 += 32) {
        int32_t n = n_out - o0 < 32 ? n_out - o0 : 32;
        uint32_t word = 0u;
        dense_real_block(in, n_in, weights, o0, n, acc);
        for (b = 0; b < n; ++b) {
            word |= (uint32_t)(acc[b] >= thresh[o0 + b]) << b;
        }
        out[o0 / 32] = word;
    }
}

void bnn_dense_f32_f32(const float *in, int32_t n_in, const uint32_t *weights,
                       const float *scale, const float *bias, int32_t n_out, float *out)
{
    float acc[32];
    int32_t o0, b;
    for (o0 = 0; o0 < n_out; o0 += 32) {
        int32_t n = n_out - o0 < 32 ? n_out - o0 : 32;
        dense_real_block(in, n_in, weights, o0, n, acc);
        for (b = 0; b < n; ++b) {
            out[o0 + b] = scale[o0 + b] * acc[b] + bias[o0 + b];
        }
    }
}
