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

/* Lane l: popcount(in[i] ^ w_l[i]) summed over the n_words words, l = 0..3, where w_l[i] is
 * w[l * n_words + i] (plain rows, read by gather loads) or, interleaved, w[4 * i + l] (one
 * contiguous VLDRW per word: no address vector, so the tree fits the 8 Q registers without
 * spills); bcast: the input words broadcast (n_words <= BNN_DENSE_BCAST) or NULL. */
BNN_NO_SCHEDULE BNN_ALWAYS_INLINE static inline uint32x4_t dense_counts4(
    const uint32x4_t *bcast, const uint32_t *in, int32_t n_words, const uint32_t *w,
    const int interleaved)
{
    uint32x4_t carry[BNN_DENSE_CARRY];
    /* addresses of word i of the four rows (plain layout) */
    uint32x4_t addr = vaddq_n_u32(vmulq_n_u32(vidupq_n_u32(0u, 1), (uint32_t)n_words * 4u),
                                  (uint32_t)(uintptr_t)w);
    uint32x4_t ones = vdupq_n_u32(0u), twos = ones, fours = ones, total = ones;
    int32_t i = 0, n8 = n_words & ~7, n_carry = 0;
#define BNN_DW(j) (interleaved ? vldrwq_u32(w + 4 * (j)) : vldrwq_gather_base_u32(addr, 4 * (j)))
#define BNN_DX(j)                                                                            \
    veorq_u32(BNN_DW(j), bcast != NULL ? bcast[i + (j)] : vdupq_n_u32(in[i + (j)]))
#define BNN_DSTEP(n)                                                                         \
    do {                                                                                     \
        if (interleaved) {                                                                   \
            w += 4 * (n);                                                                    \
        } else {                                                                             \
            addr = vaddq_n_u32(addr, 4u * (n));                                              \
        }                                                                                    \
    } while (0)
    for (; i != n8; i += 8) {
        uint32x4_t ta, tb, fa, fb;
        BNN_VCSA(ta, ones, ones, BNN_DX(0), BNN_DX(1));
        BNN_VCSA(tb, ones, ones, BNN_DX(2), BNN_DX(3));
        BNN_VCSA(fa, twos, twos, ta, tb);
        BNN_VCSA(ta, ones, ones, BNN_DX(4), BNN_DX(5));
        BNN_VCSA(tb, ones, ones, BNN_DX(6), BNN_DX(7));
        BNN_VCSA(fb, twos, twos, ta, tb);
        BNN_VCSA(carry[n_carry], fours, fours, fa, fb);
        BNN_DSTEP(8);
        if (++n_carry == BNN_DENSE_CARRY) {
            total = vaddq_u32(total, dense_lane_counts(carry, n_carry, vdupq_n_u32(0u),
                                                       vdupq_n_u32(0u), vdupq_n_u32(0u)));
            n_carry = 0;
        }
    }
    for (; i != n_words; ++i) { /* leftover words ripple through ones, twos, fours */
        uint32x4_t x = BNN_DX(0), c = vandq_u32(ones, x);
        BNN_DSTEP(1);
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
#undef BNN_DSTEP
#undef BNN_DX
#undef BNN_DW
    return vaddq_u32(total, dense_lane_counts(carry, n_carry, ones, twos, fours));
}

/* --- interleaved rows (bnn_dense_bin_*_i4): word i of the four rows of a block is one
 * contiguous vector, so the Harley-Seal tree has the 8 Q registers to itself. GCC spills
 * around it even so, hence a chunk of up to BNN_I4_CHUNK blocks of 8 words in inline assembly:
 * q0, q1, q2 = ones, twos, fours, q3..q7 the words and the adders. Per 8 words x 4 outputs:
 * 16 loads, 8 VEOR, 7 adders (35), one store of the eights carry and LE = 61 instructions
 * (~7.6 per 128 binary MACs); each carry is then counted lane-wise (13). */
#define BNN_I4_CHUNK 7 /* carries per chunk: 7 x 32 bits per lane keep the byte sums below 256 */

#define BNN_I4_X_BCAST(qa, qt)                                                               \
    "vldrw.u32 " qa ", [%[w]], #16\n\t"                                                      \
    "vldrw.u32 " qt ", [%[b]], #16\n\t"                                                      \
    "veor " qa ", " qa ", " qt "\n\t"
#define BNN_I4_X_DUP(qa, qt)                                                                 \
    "vldrw.u32 " qa ", [%[w]], #16\n\t"                                                      \
    "ldr %[t], [%[b]], #4\n\t"                                                               \
    "vdup.32 " qt ", %[t]\n\t"                                                               \
    "veor " qa ", " qa ", " qt "\n\t"
/* carry-save adder: s, a, b -> s = sum, a = carry (u: scratch) */
#define BNN_I4_CSA(s, a, b, u)                                                               \
    "veor " u ", " s ", " a "\n\t"                                                           \
    "vand " a ", " s ", " a "\n\t"                                                           \
    "veor " s ", " u ", " b "\n\t"                                                           \
    "vand " u ", " u ", " b "\n\t"                                                           \
    "vorr " a ", " a ", " u "\n\t"
/* per-byte bit counts of x (t: scratch; q5, q6, q7 = 0x55.., 0x33.., 0x0f..) */
#define BNN_I4_BYTECOUNT(x, t)                                                               \
    "vshr.u32 " t ", " x ", #1\n\t"                                                          \
    "vand " t ", " t ", q5\n\t"                                                              \
    "vsub.i32 " x ", " x ", " t "\n\t"                                                       \
    "vshr.u32 " t ", " x ", #2\n\t"                                                          \
    "vand " t ", " t ", q6\n\t"                                                              \
    "vand " x ", " x ", q6\n\t"                                                              \
    "vadd.i32 " x ", " x ", " t "\n\t"                                                       \
    "vshr.u32 " t ", " x ", #4\n\t"                                                          \
    "vadd.i32 " x ", " x ", " t "\n\t"                                                       \
    "vand " x ", " x ", q7\n\t"
/* One chunk of n (0..BNN_I4_CHUNK) blocks of 8 words. state = {ones, twos, fours, eights}: the
 * first three bit-sliced, eights a lane count of the carries so far. Not the last chunk: state
 * updated, the carries of this chunk counted into eights. The last chunk: state[0] = the lane
 * counts, 8 * eights + ones + 2 * twos + 4 * fours. */
#define BNN_I4_CHUNK_ASM(X, LAST)                                                            \
    "vldrw.u32 q0, [%[s]]\n\t"                                                               \
    "vldrw.u32 q1, [%[s], #16]\n\t"                                                          \
    "vldrw.u32 q2, [%[s], #32]\n\t"                                                          \
    "wls lr, %[n], 3f\n"                                                                     \
    "1:\n\t"                                                                                 \
    X("q3", "q4") X("q4", "q5") BNN_I4_CSA("q0", "q3", "q4", "q5")                           \
    X("q4", "q5") X("q5", "q6") BNN_I4_CSA("q0", "q4", "q5", "q6")                           \
    BNN_I4_CSA("q1", "q3", "q4", "q5")                                                       \
    X("q4", "q5") X("q5", "q6") BNN_I4_CSA("q0", "q4", "q5", "q6")                           \
    X("q5", "q6") X("q6", "q7") BNN_I4_CSA("q0", "q5", "q6", "q7")                           \
    BNN_I4_CSA("q1", "q4", "q5", "q6")                                                       \
    BNN_I4_CSA("q2", "q3", "q4", "q5")                                                       \
    "vstrw.32 q3, [%[c]], #16\n\t"                                                           \
    "le lr, 1b\n"                                                                            \
    "3:\n\t"                                                                                 \
    "vmov.i8 q5, #0x55\n\t"                                                                  \
    "vmov.i8 q6, #0x33\n\t"                                                                  \
    "vmov.i8 q7, #0x0f\n\t"                                                                  \
    LAST                                                                                     \
    "vmov.i32 q1, #0\n\t"                                                                    \
    "wls lr, %[n], 4f\n"                                                                     \
    "2:\n\t"                                                                                 \
    "vldrw.u32 q2, [%[c], #-16]!\n\t"                                                       \
    BNN_I4_BYTECOUNT("q2", "q3")                                                             \
    "vadd.i32 q1, q1, q2\n\t"                                                                \
    "le lr, 2b\n"                                                                            \
    "4:\n\t"                                                                                 \
    "mov %[t], #0x01010101\n\t"                                                              \
    "vmul.i32 q1, q1, %[t]\n\t"                                                              \
    "vshr.u32 q1, q1, #24\n\t"                                                               \
    "vldrw.u32 q2, [%[s], #48]\n\t"                                                          \
    "vadd.i32 q1, q1, q2\n\t"
/* not the last chunk: keep the levels, add the carries' count to eights */
#define BNN_I4_MORE                                                                          \
    "vstrw.32 q0, [%[s]]\n\t"                                                                \
    "vstrw.32 q1, [%[s], #16]\n\t"                                                           \
    "vstrw.32 q2, [%[s], #32]\n\t"
#define BNN_I4_MORE_END "vstrw.32 q1, [%[s], #48]\n\t"
/* the last chunk: q0 = byte counts of ones + 2 twos + 4 fours (<= 56), then the total */
#define BNN_I4_LAST                                                                          \
    BNN_I4_BYTECOUNT("q0", "q3")                                                             \
    BNN_I4_BYTECOUNT("q1", "q3")                                                             \
    "vadd.i32 q1, q1, q1\n\t"                                                                \
    "vadd.i32 q0, q0, q1\n\t"                                                                \
    BNN_I4_BYTECOUNT("q2", "q3")                                                             \
    "vshl.i32 q2, q2, #2\n\t"                                                                \
    "vadd.i32 q0, q0, q2\n\t"
#define BNN_I4_LAST_END                                                                      \
    "vmul.i32 q0, q0, %[t]\n\t"                                                              \
    "vshr.u32 q0, q0, #24\n\t"                                                               \
    "vshl.i32 q1, q1, #3\n\t"                                                                \
    "vadd.i32 q0, q0, q1\n\t"                                                                \
    "vstrw.32 q0, [%[s]]\n\t"

#define BNN_I4_CHUNK_CALL(X, LAST, END)                                                      \
    __asm__ volatile(BNN_I4_CHUNK_ASM(X, LAST) END                                           \
                     : [w] "+r"(wp), [b] "+r"(bp), [c] "+r"(cp), [t] "=&r"(t)                 \
                     : [n] "r"(n), [s] "r"(state)                                             \
                     : "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "lr", "memory")

/* n blocks of 8 words into state (see BNN_I4_CHUNK_ASM); *w and *b advance (b: broadcast
 * vectors, or with dup the input words). */
BNN_ALWAYS_INLINE static inline void dense_i4_chunk(const uint32_t **w, const uint8_t **b,
                                                    int32_t n, uint32x4_t *state, const int dup,
                                                    const int last)
{
    uint32x4_t carry[BNN_I4_CHUNK];
    const uint32_t *wp = *w;
    const uint8_t *bp = *b;
    uint32x4_t *cp = carry;
    uint32_t t;
    if (dup && last) {
        BNN_I4_CHUNK_CALL(BNN_I4_X_DUP, BNN_I4_LAST, BNN_I4_LAST_END);
    } else if (dup) {
        BNN_I4_CHUNK_CALL(BNN_I4_X_DUP, BNN_I4_MORE, BNN_I4_MORE_END);
    } else if (last) {
        BNN_I4_CHUNK_CALL(BNN_I4_X_BCAST, BNN_I4_LAST, BNN_I4_LAST_END);
    } else {
        BNN_I4_CHUNK_CALL(BNN_I4_X_BCAST, BNN_I4_MORE, BNN_I4_MORE_END);
    }
    (void)t;
    *w = wp;
    *b = bp;
}

/* Lane l: popcount(in[i] ^ w[4 * i + l]) over the n_words words (one interleaved block);
 * bcast: the input words broadcast, or NULL (VDUP in the loop). */
BNN_NO_SCHEDULE BNN_ALWAYS_INLINE static inline uint32x4_t dense_counts4_i4(
    const uint32x4_t *bcast, const uint32_t *in, int32_t n_words, const uint32_t *w)
{
    uint32x4_t state[4], ones = vdupq_n_u32(0u), twos = ones, fours = ones, carry = ones;
    const uint8_t *b = bcast != NULL ? (const uint8_t *)bcast : (const uint8_t *)in;
    int32_t n8 = n_words >> 3, i;
    for (i = n_words & ~7; i != n_words; ++i) { /* the last n_words % 8 words ripple first */
        uint32x4_t x = veorq_u32(vldrwq_u32(w + 4 * i),
                                 bcast != NULL ? bcast[i] : vdupq_n_u32(in[i]));
        uint32x4_t c = vandq_u32(ones, x);
        ones = veorq_u32(ones, x);
        x = vandq_u32(twos, c);
        twos = veorq_u32(twos, c);
        carry = vaddq_u32(carry, bnn_vbytecount(vandq_u32(fours, x))); /* bytes <= 56 */
        fours = veorq_u32(fours, x);
    }
    state[0] = ones;
    state[1] = twos;
    state[2] = fours;
    state[3] = vshrq_n_u32(vmulq_n_u32(carry, 0x01010101u), 24);
    for (; n8 > BNN_I4_CHUNK; n8 -= BNN_I4_CHUNK) {
        dense_i4_chunk(&w, &b, BNN_I4_CHUNK, state, bcast == NULL, 0);
    }
    dense_i4_chunk(&w, &b, n8, state, bcast == NULL, 1);
    return state[0];
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
#define BNN_DENSE_DOTS4(have_bcast, bcast, in, n_words, k, w, il)                            \
    vsubq_s32(vdupq_n_s32(k),                                                                \
              vreinterpretq_s32_u32(vshlq_n_u32(                                             \
                  (have_bcast) ? dense_counts4((bcast), (in), (n_words), (w), (il))          \
                               : dense_counts4(NULL, (in), (n_words), (w), (il)),            \
                  1)))
#define BNN_DENSE_DOTS4_I4(have_bcast, bcast, in, n_words, k, w)                             \
    vsubq_s32(vdupq_n_s32(k),                                                                \
              vreinterpretq_s32_u32(vshlq_n_u32(                                             \
                  dense_counts4_i4((have_bcast) ? (bcast) : NULL, (in), (n_words), (w)), 1)))
#endif

#if !BNN_COMPACT && !defined(BNN_HAVE_MVE) && defined(__thumb2__) && defined(__ARM_FEATURE_DSP) && \
    (defined(__GNUC__) || defined(__clang__)) && !defined(BNN_NO_ASM)
/* v7E-M / v8-M with DSP (M4, M7, M33): thresholded dense rows in assembly, one output per pass
 * over its row, 8-word Harley-Seal blocks. GCC's code for the same loop loads one word per LDR
 * and keeps the levels in too few registers; here LDM brings 4 input and 3 + 2 + 2 weight words
 * per block (6 loads per 8 words), the first block of a row starts from zero levels (no reset),
 * the eights carries are counted into byte lanes (7 ops, immediate masks) and summed once per
 * row, and each result bit is shifted into the output word through the carry flag. Per 8 words:
 * 6 loads, 8 EOR, 7 adders (35), 8 to count the carry, 2 loop = 59 instructions; per row ~38
 * more (the levels counted nibble-combined, threshold by QSUB, the bit). Rows of n_words % 8
 * == 0 words, 8..248 words (byte lanes of the carry count stay below 256), whole groups of 32
 * outputs; the caller does the rest in C. */
#define BNN_DENSE_ROWS_ASM 1
typedef struct {
    const uint32_t *in;     /* input words */
    const uint32_t *in_end; /* in + n_words */
    int32_t k;
    const int32_t *thresh;
    uint32_t *out;
    const uint32_t *w_end; /* weights + 32 * groups * n_words */
} bnn_dense_rows_args;
void bnn_dense_rows_dsp(const uint32_t *w, const bnn_dense_rows_args *a);

/* carry-save adder: s, a, b -> s = sum, a = carry (u: scratch) */
#define BNN_R_CSA(s, a, b, u)                                                                \
    "eor " u ", " s ", " a "\n\t"                                                            \
    "and " a ", " s ", " a "\n\t"                                                            \
    "eor " s ", " u ", " b "\n\t"                                                            \
    "and " u ", " u ", " b "\n\t"                                                            \
    "orr " a ", " a ", " u "\n\t"
/* 2-bit then 4-bit field counts of x (t: scratch) */
#define BNN_R_NIBBLES(x, t)                                                                  \
    "and " t ", " x ", #0xaaaaaaaa\n\t"                                                      \
    "sub " x ", " x ", " t ", lsr #1\n\t"                                                    \
    "and " t ", " x ", #0xcccccccc\n\t"                                                      \
    "and " x ", " x ", #0x33333333\n\t"                                                      \
    "add " x ", " x ", " t ", lsr #2\n\t"
/* words 0..3 of a block: x in r7-r10, w in r11, r12, lr and r11 again */
#define BNN_R_LOAD_LO                                                                        \
    "ldm r0!, {r7, r8, r9, r10}\n\t"                                                         \
    "ldm r1!, {r11, r12, lr}\n\t"                                                            \
    "eor r7, r7, r11\n\t"                                                                    \
    "eor r8, r8, r12\n\t"                                                                    \
    "eor r9, r9, lr\n\t"                                                                     \
    "ldr r11, [r1], #4\n\t"                                                                  \
    "eor r10, r10, r11\n\t"
/* words 4..7 (r7 holds the fours carry of words 0..3): x in r8-r11, w in r12, lr twice;
 * then the adders of words 4..7 leave their fours carry in r8 */
#define BNN_R_HI                                                                             \
    "ldm r0!, {r8, r9, r10, r11}\n\t"                                                        \
    "ldm r1!, {r12, lr}\n\t"                                                                 \
    "eor r8, r8, r12\n\t"                                                                    \
    "eor r9, r9, lr\n\t"                                                                     \
    "ldm r1!, {r12, lr}\n\t"                                                                 \
    "eor r10, r10, r12\n\t"                                                                  \
    "eor r11, r11, lr\n\t"                                                                   \
    BNN_R_CSA("r3", "r8", "r9", "r12")                                                       \
    BNN_R_CSA("r3", "r10", "r11", "r12")                                                     \
    BNN_R_CSA("r4", "r8", "r10", "r12")
/* byte counts of r7 (r12: scratch) */
#define BNN_R_BYTES7                                                                         \
    BNN_R_NIBBLES("r7", "r12")                                                               \
    "add r7, r7, r7, lsr #4\n\t"                                                             \
    "and r7, r7, #0x0f0f0f0f\n\t"

/* r0 = input pointer, r1 = weights, r2 = in_end, r3/r4/r5 = ones/twos/fours, r6 = byte counts
 * of the eights carries; stack: in, k, thresh, out, w_end, the output word (a sentinel bit 1
 * shifted up by one per output: it reaches the carry after 32). */
__asm__(
    "\t.pushsection .text.bnn_dense_rows_dsp,\"ax\",%progbits\n"
    "\t.syntax unified\n"
    "\t.thumb\n"
    "\t.p2align 2\n"
    "\t.global bnn_dense_rows_dsp\n"
    "\t.thumb_func\n"
    "\t.type bnn_dense_rows_dsp, %function\n"
    "bnn_dense_rows_dsp:\n\t"
    "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
    "sub sp, sp, #24\n\t"
    "ldm r1, {r2, r3, r4, r5, r6, r7}\n\t"
    "stm sp, {r2, r4, r5, r6, r7}\n\t"
    "mov r1, r0\n\t"
    "mov r0, r2\n\t"
    "mov r2, r3\n\t"
    "movs r8, #1\n\t"
    "str r8, [sp, #20]\n"
    /* a row: the first block from zero levels */
    "1:\n\t"
    BNN_R_LOAD_LO
    "eor r3, r7, r8\n\t"
    "and r7, r7, r8\n\t"
    BNN_R_CSA("r3", "r9", "r10", "r11")
    "eor r4, r7, r9\n\t"
    "and r7, r7, r9\n\t"
    BNN_R_HI
    "eor r5, r7, r8\n\t"
    "and r7, r7, r8\n\t"
    BNN_R_BYTES7
    "mov r6, r7\n\t"
    "cmp r0, r2\n\t"
    "beq 3f\n"
    "2:\n\t"
    BNN_R_LOAD_LO
    BNN_R_CSA("r3", "r7", "r8", "r11")
    BNN_R_CSA("r3", "r9", "r10", "r11")
    BNN_R_CSA("r4", "r7", "r9", "r11")
    BNN_R_HI
    BNN_R_CSA("r5", "r7", "r8", "r12")
    BNN_R_BYTES7
    "add r6, r6, r7\n\t"
    "cmp r0, r2\n\t"
    "bne 2b\n"
    /* the row's count: 8 * bytesum(r6) + bytesum(ones + 2 twos + 4 fours) (bytes <= 56) */
    "3:\n\t"
    BNN_R_NIBBLES("r3", "r7")
    BNN_R_NIBBLES("r4", "r7")
    BNN_R_NIBBLES("r5", "r7")
    "add r3, r3, r4, lsl #1\n\t" /* nibbles <= 12 */
    "and r7, r3, #0xf0f0f0f0\n\t"
    "and r3, r3, #0x0f0f0f0f\n\t"
    "add r3, r3, r7, lsr #4\n\t"
    "add r5, r5, r5, lsr #4\n\t"
    "and r5, r5, #0x0f0f0f0f\n\t"
    "add r3, r3, r5, lsl #2\n\t"
    "movs r12, #0\n\t"
    "usad8 r3, r3, r12\n\t"
    "usad8 r6, r6, r12\n\t"
    "ldr r7, [sp, #4]\n\t"
    "sub r7, r7, r3, lsl #1\n\t"
    "sub r7, r7, r6, lsl #4\n\t" /* k - 2 * mismatches */
    "ldr r8, [sp, #8]\n\t"
    "ldr r9, [r8], #4\n\t"
    "str r8, [sp, #8]\n\t"
    "qsub r7, r7, r9\n\t"        /* negative iff below the threshold */
    "ldr r10, [sp, #20]\n\t"
    "adds r7, r7, r7\n\t"        /* carry = below */
    "adcs r10, r10, r10\n\t"     /* carry = the sentinel after 32 outputs */
    "str r10, [sp, #20]\n\t"
    "ldr r0, [sp]\n\t"
    "bcc 1b\n\t"
    /* 32 outputs: bit 31 - j holds "below" of output j */
    "rbit r10, r10\n\t"
    "mvn r10, r10\n\t"
    "ldr r8, [sp, #12]\n\t"
    "str r10, [r8], #4\n\t"
    "str r8, [sp, #12]\n\t"
    "movs r10, #1\n\t"
    "str r10, [sp, #20]\n\t"
    "ldr r8, [sp, #16]\n\t"
    "cmp r1, r8\n\t"
    "bne 1b\n\t"
    "add sp, sp, #24\n\t"
    "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
    "\t.size bnn_dense_rows_dsp, .-bnn_dense_rows_dsp\n"
    "\t.popsection\n");
#undef BNN_R_BYTES7
#undef BNN_R_HI
#undef BNN_R_LOAD_LO
#undef BNN_R_NIBBLES
#undef BNN_R_CSA
#endif

#if !BNN_COMPACT && defined(__ARM_ARCH_6M__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(BNN_NO_ASM)
/* v6-M (M0, M0+): popcount(x[i] ^ w[i]) over n8 blocks of 8 words in assembly. GCC's code for
 * the C loop moves values between the 8 low registers and spends ~150 instructions per row
 * around it (call, pair loop, level counts, byte sums). Here: LDM loads 2 words at a time, the
 * adders take 6 two-operand ops (u = s ^ a; a &= ~u; s = u ^ b; a |= u & b), fours lives in r8,
 * the eights carries are counted into byte lanes in r9 (<= 8 per block, so <= 31 blocks), the
 * levels are counted nibble-combined and everything summed in halfwords: 81 instructions per
 * 8 words, ~70 per row. */
#define BNN_DENSE_ROW_V6M 1
uint32_t bnn_dense_row_v6m(const uint32_t *x, const uint32_t *w, int32_t n8);

/* carry-save adder: s, a, b -> s = sum, a = carry (u: scratch) */
#define BNN_T_CSA(s, a, b, u)                                                                \
    "eors " s ", " a "\n\t"                                                                  \
    "bics " a ", " s "\n\t"                                                                  \
    "mov " u ", " s "\n\t"                                                                   \
    "ands " u ", " b "\n\t"                                                                  \
    "eors " s ", " b "\n\t"                                                                  \
    "orrs " a ", " u "\n\t"
/* two words x ^ w into a, b (u: scratch) */
#define BNN_T_LOAD2(a, b, u)                                                                 \
    "ldm r0!, {" a ", " b "}\n\t"                                                            \
    "ldm r1!, {" u "}\n\t"                                                                   \
    "eors " a ", " u "\n\t"                                                                  \
    "ldm r1!, {" u "}\n\t"                                                                   \
    "eors " b ", " u "\n\t"
/* x -= (x >> 1) & m; x = (x & m') + ((x >> 2) & m') (m, m' in r5, t: scratch) */
#define BNN_T_STEP1(x, t)                                                                    \
    "lsrs " t ", " x ", #1\n\t"                                                              \
    "ands " t ", r5\n\t"                                                                     \
    "subs " x ", " x ", " t "\n\t"
#define BNN_T_STEP2(x, t)                                                                    \
    "lsrs " t ", " x ", #2\n\t"                                                              \
    "ands " t ", r5\n\t"                                                                     \
    "ands " x ", r5\n\t"                                                                     \
    "adds " x ", " x ", " t "\n\t"
/* (x & m) + ((x >> n) & m), m in r5 */
#define BNN_T_FOLD(x, t, n)                                                                  \
    "lsrs " t ", " x ", #" n "\n\t"                                                          \
    "ands " t ", r5\n\t"                                                                     \
    "ands " x ", r5\n\t"                                                                     \
    "adds " x ", " x ", " t "\n\t"

/* r0 = x, r1 = w, r2/r3 = ones/twos, r8 = fours, r9 = byte counts of the eights carries,
 * r10 = the end of x, r12 = the fours carry of words 0..3 while 4..7 are added. */
__asm__(
    "\t.pushsection .text.bnn_dense_row_v6m,\"ax\",%progbits\n"
    "\t.syntax unified\n"
    "\t.thumb\n"
    "\t.p2align 2\n"
    "\t.global bnn_dense_row_v6m\n"
    "\t.thumb_func\n"
    "\t.type bnn_dense_row_v6m, %function\n"
    "bnn_dense_row_v6m:\n\t"
    "push {r4, r5, r6, r7, lr}\n\t"
    "mov r4, r8\n\t"
    "mov r5, r9\n\t"
    "mov r6, r10\n\t"
    "push {r4, r5, r6}\n\t"
    "lsls r2, r2, #5\n\t"
    "adds r2, r2, r0\n\t"
    "mov r10, r2\n\t"
    "movs r2, #0\n\t"
    "movs r3, #0\n\t"
    "mov r8, r2\n\t"
    "mov r9, r2\n"
    "1:\n\t"
    "ldm r0!, {r4, r5}\n\t"
    "ldm r1!, {r6, r7}\n\t"
    "eors r4, r6\n\t"
    "eors r5, r7\n\t"
    BNN_T_CSA("r2", "r4", "r5", "r6")
    BNN_T_LOAD2("r5", "r6", "r7")
    BNN_T_CSA("r2", "r5", "r6", "r7")
    BNN_T_CSA("r3", "r4", "r5", "r6")
    BNN_T_LOAD2("r5", "r6", "r7")
    BNN_T_CSA("r2", "r5", "r6", "r7")
    "mov r12, r4\n\t"
    BNN_T_LOAD2("r4", "r6", "r7")
    BNN_T_CSA("r2", "r4", "r6", "r7")
    BNN_T_CSA("r3", "r5", "r4", "r6")
    "mov r4, r12\n\t"
    "mov r6, r8\n\t"
    BNN_T_CSA("r6", "r4", "r5", "r7")
    "mov r8, r6\n\t"
    "ldr r5, =0x55555555\n\t"
    BNN_T_STEP1("r4", "r6")
    "ldr r5, =0x33333333\n\t"
    BNN_T_STEP2("r4", "r6")
    "lsrs r6, r4, #4\n\t"
    "adds r4, r4, r6\n\t"
    "ldr r5, =0x0f0f0f0f\n\t"
    "ands r4, r5\n\t"
    "add r9, r4\n\t"
    "cmp r0, r10\n\t"
    "bne 1b\n\t"
    /* ones + 2 twos + 4 fours in bytes (<= 56), then 8 * eights added in halfwords */
    "mov r4, r8\n\t"
    "ldr r5, =0x55555555\n\t"
    BNN_T_STEP1("r2", "r6")
    BNN_T_STEP1("r3", "r6")
    BNN_T_STEP1("r4", "r6")
    "ldr r5, =0x33333333\n\t"
    BNN_T_STEP2("r2", "r6")
    BNN_T_STEP2("r3", "r6")
    BNN_T_STEP2("r4", "r6")
    "lsls r3, r3, #1\n\t"
    "adds r2, r2, r3\n\t" /* nibbles <= 12 */
    "ldr r5, =0x0f0f0f0f\n\t"
    BNN_T_FOLD("r2", "r6", "4")
    "lsrs r6, r4, #4\n\t"
    "adds r4, r4, r6\n\t"
    "ands r4, r5\n\t"
    "lsls r4, r4, #2\n\t"
    "adds r2, r2, r4\n\t" /* bytes <= 56 */
    "ldr r5, =0x00ff00ff\n\t"
    BNN_T_FOLD("r2", "r6", "8")
    "mov r4, r9\n\t"
    BNN_T_FOLD("r4", "r6", "8")
    "lsls r4, r4, #3\n\t"
    "adds r2, r2, r4\n\t" /* halfwords <= 112 + 8 * 496 */
    "lsrs r0, r2, #16\n\t"
    "uxth r2, r2\n\t"
    "adds r0, r0, r2\n\t"
    "pop {r4, r5, r6}\n\t"
    "mov r8, r4\n\t"
    "mov r9, r5\n\t"
    "mov r10, r6\n\t"
    "pop {r4, r5, r6, r7, pc}\n\t"
    ".ltorg\n"
    "\t.size bnn_dense_row_v6m, .-bnn_dense_row_v6m\n"
    "\t.popsection\n");
#undef BNN_T_FOLD
#undef BNN_T_STEP2
#undef BNN_T_STEP1
#undef BNN_T_LOAD2
#undef BNN_T_CSA
#endif

/* popcount(in[i] ^ w[4 * i]) over n words: one row of a block of the interleaved layout. */
BNN_NO_SCHEDULE static inline uint32_t dense_popcount_xor_i4(const uint32_t *in, const uint32_t *w,
                                                             int32_t n)
{
    uint32_t result;
#if BNN_COMPACT || defined(BNN_HAVE_HW_POPCOUNT)
    int32_t i;
    result = 0u;
    for (i = 0; i < n; ++i) {
        result += bnn_popcount32(in[i] ^ w[4 * i]);
    }
#else
#define BNN_X_XOR_I4(i) (in[i] ^ w[4u * (i)])
    BNN_HS_POPCOUNT(result, n, BNN_X_XOR_I4);
#undef BNN_X_XOR_I4
#endif
    return result;
}

/* Mismatches of output o: plain rows, or the interleaved layout (see bnn.h) where outputs below
 * n_out & ~3 sit in blocks of four and the last n_out % 4 rows are plain. */
BNN_ALWAYS_INLINE static inline uint32_t dense_row_count(const uint32_t *in, int32_t n_words,
                                                         const uint32_t *weights, int32_t o,
                                                         int32_t n_out, const int interleaved)
{
    if (interleaved && o < (n_out & ~3)) {
        return dense_popcount_xor_i4(in, weights + (o & ~3) * n_words + (o & 3), n_words);
    }
#if defined(BNN_DENSE_ROW_V6M)
    if ((n_words & 7) == 0 && n_words != 0 && n_words <= 248) {
        return bnn_dense_row_v6m(in, weights + o * n_words, n_words >> 3);
    }
#endif
    return bnn_popcount_xor(in, weights + o * n_words, n_words);
}

BNN_NO_SCHEDULE BNN_ALWAYS_INLINE static inline void dense_bin_thresh(
    const uint32_t *in, int32_t n_words, int32_t k, const uint32_t *weights,
    const int32_t *thresh, int32_t n_out, uint32_t *out, const int interleaved)
{
    int32_t o = 0;
    uint32_t word = 0u;
#if defined(BNN_DENSE_BLOCK)
    uint32x4_t bcast[BNN_DENSE_BCAST];
    const int have_bcast = dense_broadcast(in, n_words, bcast);
    for (; o + BNN_DENSE_BLOCK <= n_out; o += BNN_DENSE_BLOCK) {
        int32x4_t dot = interleaved ? BNN_DENSE_DOTS4_I4(have_bcast, bcast, in, n_words, k,
                                                         weights + o * n_words)
                                    : BNN_DENSE_DOTS4(have_bcast, bcast, in, n_words, k,
                                                      weights + o * n_words, 0);
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
#if defined(BNN_DENSE_ROWS_ASM)
    if (!interleaved && (n_words & 7) == 0 && n_words >= 8 && n_words <= 248 && n_out >= 32) {
        bnn_dense_rows_args a;
        a.in = in;
        a.in_end = in + n_words;
        a.k = k;
        a.thresh = thresh;
        a.out = out;
        a.w_end = weights + (n_out & ~31) * n_words;
        bnn_dense_rows_dsp(weights, &a);
        o = n_out & ~31;
    }
#endif
    for (; o < n_out; ++o) {
        int32_t acc = k - 2 * (int32_t)dense_row_count(in, n_words, weights, o, n_out, interleaved);
        word |= (uint32_t)(acc >= thresh[o]) << (o & 31);
        if ((o & 31) == 31 || o == n_out - 1) {
            out[o >> 5] = word;
            word = 0u;
        }
    }
}

BNN_NO_SCHEDULE BNN_ALWAYS_INLINE static inline void dense_bin_f32(
    const uint32_t *in, int32_t n_words, int32_t k, const uint32_t *weights, const float *scale,
    const float *bias, int32_t n_out, float *out, const int interleaved)
{
    int32_t o = 0;
#if defined(BNN_DENSE_BLOCK)
    uint32x4_t bcast[BNN_DENSE_BCAST];
    const int have_bcast = dense_broadcast(in, n_words, bcast);
    for (; o + BNN_DENSE_BLOCK <= n_out; o += BNN_DENSE_BLOCK) {
        int32_t acc[4], l;
        vstrwq_s32(acc, interleaved ? BNN_DENSE_DOTS4_I4(have_bcast, bcast, in, n_words, k,
                                                         weights + o * n_words)
                                    : BNN_DENSE_DOTS4(have_bcast, bcast, in, n_words, k,
                                                      weights + o * n_words, 0));
        for (l = 0; l < 4; ++l) {
            out[o + l] = scale[o + l] * (float)acc[l] + bias[o + l];
        }
    }
#endif
    for (; o < n_out; ++o) {
        int32_t acc = k - 2 * (int32_t)dense_row_count(in, n_words, weights, o, n_out, interleaved);
        out[o] = scale[o] * (float)acc + bias[o];
    }
}

void bnn_dense_bin_thresh(const uint32_t *in, int32_t n_words, int32_t k,
                          const uint32_t *weights, const int32_t *thresh, int32_t n_out,
                          uint32_t *out)
{
    dense_bin_thresh(in, n_words, k, weights, thresh, n_out, out, 0);
}

void bnn_dense_bin_f32(const uint32_t *in, int32_t n_words, int32_t k, const uint32_t *weights,
                       const float *scale, const float *bias, int32_t n_out, float *out)
{
    dense_bin_f32(in, n_words, k, weights, scale, bias, n_out, out, 0);
}

void bnn_dense_bin_thresh_i4(const uint32_t *in, int32_t n_words, int32_t k,
                             const uint32_t *weights, const int32_t *thresh, int32_t n_out,
                             uint32_t *out)
{
    dense_bin_thresh(in, n_words, k, weights, thresh, n_out, out, 1);
}

void bnn_dense_bin_f32_i4(const uint32_t *in, int32_t n_words, int32_t k, const uint32_t *weights,
                          const float *scale, const float *bias, int32_t n_out, float *out)
{
    dense_bin_f32(in, n_words, k, weights, scale, bias, n_out, out, 1);
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
