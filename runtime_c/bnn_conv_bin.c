/*
 * bnn_conv_bin.c - XNOR-popcount convolution of a BITS input with binary weights.
 *
 * Two paths:
 *  - bit-sliced (bnn_conv2d_bin_thresh_sliced, and bnn_conv2d_bin_thresh for windows up to
 *    BNN_SLICED_MAX_BITS input bits): 32 output channels are counted at once in carry-save
 *    form and thresholded by a bit-sliced compare; see the section "bit-sliced path" below.
 *    This is the fast path on Cortex-M.
 *  - per channel (float outputs, larger windows): the window's input words are gathered once
 *    per pixel into a contiguous vector laid out like one channel's weights
 *    ([k_h][k_w][words]); each output channel is then one Harley-Seal popcount over it. Border
 *    pixels gather zeros plus a word mask for the taps outside the image.
 * Both follow ONNX zero padding: taps outside the image add nothing, dot = K_valid - 2 *
 * popcount over the valid taps.
 */
#include <stddef.h>

#include "bnn.h"
#include "bnn_popcount.h"

/* Words of one gathered window held on the stack (twice: activations and border mask);
 * 96 covers 3x3 windows up to 341 input channels and 5x5 up to 96. */
#define BNN_GATHER_WORDS 96

typedef struct {
    const uint32_t *in;
    bnn_dims in_d;
    const bnn_window *win;
    int32_t words;      /* BNN_WORDS(c_in): words per input pixel */
    int32_t taps_words; /* k_h * k_w * words: weight words per output channel */
    int32_t k_fixed;    /* > 0: K_valid of every pixel (the dense layer's true length) */
    int32_t levels;     /* bit-sliced counter levels the window needs (5 .. 13) */
} conv_bin_ctx;

typedef struct {
    int32_t iy0, ix0;        /* input coordinates of tap (0, 0), may lie outside */
    int32_t ky0, ky1, kx0, kx1; /* valid taps */
    int32_t k_valid;
    int interior;
} window_at;

static window_at locate(const conv_bin_ctx *cx, int32_t oy, int32_t ox)
{
    const bnn_window *win = cx->win;
    window_at at;
    at.iy0 = oy * win->stride_h - win->pad_top;
    at.ix0 = ox * win->stride_w - win->pad_left;
    bnn_tap_range(oy, win->stride_h, win->pad_top, win->dil_h, win->k_h, cx->in_d.h, &at.ky0,
                  &at.ky1);
    bnn_tap_range(ox, win->stride_w, win->pad_left, win->dil_w, win->k_w, cx->in_d.w, &at.kx0,
                  &at.kx1);
    at.k_valid = (at.ky1 - at.ky0) * (at.kx1 - at.kx0) * cx->in_d.c;
    at.interior = at.ky0 == 0 && at.ky1 == win->k_h && at.kx0 == 0 && at.kx1 == win->k_w;
    return at;
}

/* Copies the window into act; for border windows also writes mask (ones on valid taps). */
static void gather(const conv_bin_ctx *cx, const window_at *at, uint32_t *act, uint32_t *mask)
{
    const bnn_window *win = cx->win;
    int32_t ky, kx, j, words = cx->words;
    for (ky = 0; ky < win->k_h; ++ky) {
        int32_t iy = at->iy0 + ky * win->dil_h;
        int row_ok = ky >= at->ky0 && ky < at->ky1;
        for (kx = 0; kx < win->k_w; ++kx) {
            int ok = row_ok && kx >= at->kx0 && kx < at->kx1;
            if (ok) {
                const uint32_t *src =
                    cx->in + (iy * cx->in_d.w + at->ix0 + kx * win->dil_w) * words;
                for (j = 0; j < words; ++j) {
                    act[j] = src[j];
                }
            } else {
                for (j = 0; j < words; ++j) {
                    act[j] = 0u;
                }
            }
            if (mask != NULL) {
                for (j = 0; j < words; ++j) {
                    mask[j] = ok ? 0xffffffffu : 0u;
                }
                mask += words;
            }
            act += words;
        }
    }
}

/* popcount over the valid taps only, straight from the input (no gathering). */
static uint32_t mismatches_direct(const conv_bin_ctx *cx, const window_at *at,
                                  const uint32_t *w_o)
{
    const bnn_window *win = cx->win;
    int32_t ky, kx, words = cx->words;
    uint32_t pc = 0u;
    for (ky = at->ky0; ky < at->ky1; ++ky) {
        const uint32_t *row = cx->in + (at->iy0 + ky * win->dil_h) * cx->in_d.w * words;
        const uint32_t *w_row = w_o + ky * win->k_w * words;
        for (kx = at->kx0; kx < at->kx1; ++kx) {
            pc += bnn_popcount_xor(row + (at->ix0 + kx * win->dil_w) * words,
                                   w_row + kx * words, words);
        }
    }
    return pc;
}

/* Output channels [0, n) of one pixel (weights start at w, n <= 32). With thresh, returns
 * the packed output bits; without, stores the accumulators in acc and returns 0. */
static uint32_t conv_bin_pixel(const conv_bin_ctx *cx, int32_t oy, int32_t ox,
                               const uint32_t *w, int32_t n, const int32_t *thresh,
                               int32_t *acc)
{
    uint32_t act[BNN_GATHER_WORDS], mask[BNN_GATHER_WORDS];
    window_at at = locate(cx, oy, ox);
    int32_t taps_words = cx->taps_words, b;
    uint32_t bits = 0u;
    for (b = 0; b < n; ++b, w += taps_words) {
        uint32_t pc;
        int32_t dot;
        if (BNN_COMPACT || taps_words > BNN_GATHER_WORDS) {
            /* compact build: no gathering, the masked popcount is not even compiled in */
            pc = mismatches_direct(cx, &at, w);
        } else if (at.interior) {
            if (b == 0) {
                gather(cx, &at, act, NULL);
            }
            pc = bnn_popcount_xor(act, w, taps_words);
        } else {
            if (b == 0) {
                gather(cx, &at, act, mask);
            }
            pc = bnn_popcount_xor_masked(act, w, mask, taps_words);
        }
        dot = at.k_valid - 2 * (int32_t)pc;
        if (thresh != NULL) {
            bits |= (uint32_t)(dot >= thresh[b]) << b;
        } else {
            acc[b] = dot;
        }
    }
    return bits;
}

/* ---- bit-sliced path (thresholded output) -------------------------------------------
 * Cortex-M has no popcount, so counting mismatches per output channel and comparing each
 * count is expensive. Here 32 output channels are counted at once instead: the weights of a
 * channel group are transposed, so that word tw[j] holds input bit j's weight for all 32
 * channels. The compiler emits them transposed (bnn_conv2d_bin_thresh_sliced reads them from
 * flash); bnn_conv2d_bin_thresh transposes once per call into a stack buffer and runs the
 * same code. For every input bit the activation bit is broadcast to a word and
 * XORed with tw[j], giving one mismatch bit per channel; these words are summed lane-wise by
 * carry-save adders into a bit-sliced counter (ones, twos, fours, high[]). The threshold test
 * is a bit-sliced compare, so the 32 output bits come out already packed. */

/* BNN_SLICED_MAX_BITS (bnn.h): the largest window of the bit-sliced path. */
#if BNN_SLICED_MAX_BITS < 32 || BNN_SLICED_MAX_BITS > 8188
#error "BNN_SLICED_MAX_BITS must lie in [32, 8188] (the bit-sliced counter has 13 levels)"
#endif
#if BNN_TRANSPOSE_MAX_BITS < 32 || BNN_TRANSPOSE_MAX_BITS > BNN_SLICED_MAX_BITS
#error "BNN_TRANSPOSE_MAX_BITS must lie in [32, BNN_SLICED_MAX_BITS]"
#endif
#define BNN_SLICE_HIGH 8 /* counter levels above the sixteens: counts up to 8191 */
#define BNN_SLICE_LEVELS (5 + BNN_SLICE_HIGH)

/* In-place transpose of a 32x32 bit matrix: bit c of m[r] moves to bit r of m[c]. */
static void transpose32(uint32_t *m)
{
    uint32_t mask = 0x0000ffffu, t;
    int32_t j, k;
    for (j = 16; j != 0; j >>= 1, mask ^= mask << j) {
        for (k = 0; k < 32; k = (k + j + 1) & ~j) {
            t = ((m[k] >> j) ^ m[k + j]) & mask;
            m[k] ^= t << j;
            m[k + j] ^= t;
        }
    }
}

/* tw[t * c_in + ci] bit b = weight bit of channel b (of n <= 32) at tap t, input channel ci:
 * the layout bnncc emits for bnn_conv2d_bin_thresh_sliced (bnncc/passes/pack.py). */
static void transpose_weights(const conv_bin_ctx *cx, const uint32_t *w, int32_t n, uint32_t *tw)
{
    int32_t taps = cx->win->k_h * cx->win->k_w, c_in = cx->in_d.c, t, q, b;
    uint32_t block[32];
    for (t = 0; t < taps; ++t) {
        for (q = 0; q < cx->words; ++q) {
            int32_t bits = c_in - q * 32 < 32 ? c_in - q * 32 : 32;
            for (b = 0; b < 32; ++b) {
                block[b] = b < n ? w[b * cx->taps_words + t * cx->words + q] : 0u;
            }
            transpose32(block);
            for (b = 0; b < bits; ++b) {
                tw[t * c_in + q * 32 + b] = block[b];
            }
        }
    }
}

/* Bit-sliced "count <= limit" per channel, for one K_valid: limit = floor((K_valid - th) / 2),
 * since K_valid - 2 * count >= th. */
typedef struct {
    int32_t k_valid;
    uint32_t level[BNN_SLICE_LEVELS]; /* bit k of every channel's limit */
    uint32_t never, always;           /* limit < 0; limit >= largest count */
} sliced_limit;

static void make_limit(int32_t k_valid, const int32_t *thresh, int32_t n, int32_t levels,
                       sliced_limit *lim)
{
    uint32_t block[32];
    int32_t b;
    lim->k_valid = k_valid;
    lim->never = 0u;
    lim->always = 0u;
    for (b = 0; b < 32; ++b) {
        /* thresholds may sit at the int32 limits (constant channels): k_valid - t is formed
         * only when it is >= 0, in unsigned arithmetic, where it cannot overflow */
        int32_t t = b < n ? thresh[b] : INT32_MAX;
        block[b] = 0u;
        if (t > k_valid) {
            lim->never |= (uint32_t)1u << b;
        } else {
            uint32_t limit = ((uint32_t)k_valid - (uint32_t)t) / 2u;
            if (limit >= (1u << levels) - 1u) { /* every count fits `levels` bits */
                lim->always |= (uint32_t)1u << b;
            } else {
                block[b] = limit;
            }
        }
    }
    transpose32(block);
    for (b = 0; b < BNN_SLICE_LEVELS; ++b) {
        lim->level[b] = block[b];
    }
}

/* Adds carry (lane-wise, weight 32) into the in-memory counter levels. */
#define BNN_ADD_HIGH(high, carry)                                                            \
    do {                                                                                     \
        uint32_t ah_c = (carry), *ah_p = (high);                                             \
        while (ah_c != 0u) {                                                                 \
            uint32_t ah_next = *ah_p & ah_c;                                                 \
            *ah_p++ ^= ah_c;                                                                 \
            ah_c = ah_next;                                                                  \
        }                                                                                    \
    } while (0)

/* Mismatch word of input bit i of activation word a: tw[i] XOR the bit broadcast to all
 * lanes, so lane b is set where channel b's weight differs from the input bit. */
#define BNN_MISMATCH(tw, a, i) ((tw)[i] ^ BNN_BROADCAST_BIT(a, i))

/* Bit i of a copied to all 32 bits. Moving the bit to the top and shifting it back
 * arithmetically is 2 instructions on v6-M (1 on v7-M: sbfx) against 3 for 0 - (bit & 1);
 * the arithmetic right shift of a negative value is implementation-defined in C99, so the
 * portable form is kept for compilers that do not shift arithmetically (the test below is a
 * constant the compiler folds). */
#define BNN_BROADCAST_BIT(a, i)                                                              \
    ((((int32_t)-1) >> 1) == -1                                                              \
         ? (uint32_t)((int32_t)((uint32_t)(a) << (31 - (i))) >> 31)                          \
         : 0u - (((a) >> (i)) & 1u))

/* Eight input bits (bit offsets o..o+7 of word a, weights tw[o..o+7]) into ones, twos and
 * fours; the eights carry goes to e. */
#define BNN_SLICED_BLOCK8(e, tw, a, o)                                                       \
    do {                                                                                     \
        uint32_t sb_ta, sb_tb, sb_fa, sb_fb;                                                 \
        BNN_CSA(sb_ta, ones, ones, BNN_MISMATCH(tw, a, (o) + 0), BNN_MISMATCH(tw, a, (o) + 1)); \
        BNN_CSA(sb_tb, ones, ones, BNN_MISMATCH(tw, a, (o) + 2), BNN_MISMATCH(tw, a, (o) + 3)); \
        BNN_CSA(sb_fa, twos, twos, sb_ta, sb_tb);                                            \
        BNN_CSA(sb_ta, ones, ones, BNN_MISMATCH(tw, a, (o) + 4), BNN_MISMATCH(tw, a, (o) + 5)); \
        BNN_CSA(sb_tb, ones, ones, BNN_MISMATCH(tw, a, (o) + 6), BNN_MISMATCH(tw, a, (o) + 7)); \
        BNN_CSA(sb_fb, twos, twos, sb_ta, sb_tb);                                            \
        BNN_CSA(e, fours, fours, sb_fa, sb_fb);                                              \
    } while (0)

#if defined(__ARM_FEATURE_MVE) && !defined(BNN_NO_MVE)
/* Helium (M55/M85): lane l of a vector takes bits l, l + 4, ... of the activation word, so
 * each step handles four input bits with one vector load of tw and three vector ops (4 x 32
 * binary MACs). Each lane keeps its own bit-sliced counter (it sees at most BNN_SLICED_MAX_BITS / 4
 * bits); the lanes are summed into the scalar counter once per pixel. */
#include <arm_mve.h>
#define BNN_MVE_HIGH 9 /* lane levels above the twos: lane counts up to 2047 */
#define BNN_MVE_FOLD 64 /* fours carries kept on the stack before folding (32 input words) */
#define BNN_GI_FOLD 128 /* the same for the group-interleaved conv (bnn_conv2d_bin_thresh_sliced_gi) */

/* BNN_VCSA: bnn_popcount.h */

/* Step k handles bits 4k + l in lane l, so one vector load of tw[4k .. 4k + 3] matches the
 * plain transposed order (the same tw as the scalar loop). v holds bit 28 + l of the word at
 * bit 31 of lane l; shifting it left by 28 - 4k brings bit 4k + l there, and an arithmetic
 * shift broadcasts it. */
#define BNN_VMISMATCH(t, v, k)                                                               \
    veorq_u32(vldrwq_u32((t) + 4 * (k)),                                                     \
              vreinterpretq_u32_s32(vshrq_n_s32(                                             \
                  vreinterpretq_s32_u32(                                                     \
                      (k) == 7 ? (v) : vshlq_n_u32((v), (k) == 7 ? 4 : 28 - 4 * (k))),      \
                  31)))

/* Half a word (4 vectors, 16 input bits) into ones and twos; the fours carry is kept for
 * fold_carries: with only eight Q registers a deeper tree per word would spill. */
#define BNN_VBLOCK4(t, v, k)                                                                 \
    do {                                                                                     \
        uint32x4_t vb_ta, vb_tb, vb_f;                                                       \
        BNN_VCSA(vb_ta, v_ones, v_ones, BNN_VMISMATCH(t, v, (k)), BNN_VMISMATCH(t, v, (k) + 1)); \
        BNN_VCSA(vb_tb, v_ones, v_ones, BNN_VMISMATCH(t, v, (k) + 2),                        \
                 BNN_VMISMATCH(t, v, (k) + 3));                                              \
        BNN_VCSA(vb_f, v_twos, v_twos, vb_ta, vb_tb);                                        \
        v_carry[n_carry++] = vb_f;                                                           \
    } while (0)

#define BNN_FULL_WORD(word, t)                                                               \
    do {                                                                                     \
        uint32x4_t fw_v = vshlq_u32(vdupq_n_u32(word), lane_shift);                          \
        BNN_VBLOCK4(t, fw_v, 0);                                                             \
        BNN_VBLOCK4(t, fw_v, 4);                                                             \
    } while (0)

/* Folds the carry buffer when it is full (after a word: two carries per word). Windows
 * below 1024 bits (BNN_SMALL_LEVELS) have at most 31 full words, 62 carries: the buffer never
 * fills, and the test is left out of their copy of sliced_pixel (levels is a constant there). */
#define BNN_SMALL_LEVELS 10
#define BNN_FOLD_IF_FULL()                                                                   \
    do {                                                                                     \
        if (levels > BNN_SMALL_LEVELS && n_carry == BNN_MVE_FOLD) {                          \
            fold_carries(v_carry, BNN_MVE_FOLD, v_lanes + 2, lane_levels - 2);               \
            n_carry = 0;                                                                     \
        }                                                                                    \
    } while (0)

/* Adds the fours carries carry[0..n) (n <= BNN_GI_FOLD) into the lane levels lanes[0..]
 * (4, 8, ...): carry-save trees of eight into 4s, 8s, 16s (then one of four for the rest). The
 * loop keeps only those three levels in Q registers (with the tree's temporaries, all eight) and
 * writes each tree's 32s carry to e[]; they are summed afterwards into five levels 32 .. 512: n
 * carries of weight 4 on top of the 4s..16s (at most 28) make at most (4 n + 28) / 32 <= 16 of
 * weight 32 per lane bit (an earlier version with three levels lost 256 when every input bit of
 * 1024 mismatched). Then one ripple-carry add into the upper lane levels. Called when the buffer
 * is full and once per pixel. */
BNN_ALWAYS_INLINE static inline void fold_carries_at(const uint32x4_t *carry, int32_t n,
                                                     uint32x4_t *lanes, int32_t n_lanes)
{
    uint32x4_t c1 = lanes[0], c2 = lanes[1], c4 = lanes[2], zero = vdupq_n_u32(0u);
    uint32x4_t h32 = zero, h64 = zero, h128 = zero, h256 = zero, h512 = zero, add[5];
    uint32x4_t e_buf[BNN_GI_FOLD / 8 + 4], *e_end = e_buf;
    const uint32x4_t *e;
    int32_t i, k, n8 = n & ~7;
    for (i = 0; i != n8; i += 8) {
        uint32x4_t ta, tb, fa, fb, c;
        BNN_VCSA(ta, c1, c1, carry[i], carry[i + 1]);
        BNN_VCSA(tb, c1, c1, carry[i + 2], carry[i + 3]);
        BNN_VCSA(fa, c2, c2, ta, tb);
        BNN_VCSA(ta, c1, c1, carry[i + 4], carry[i + 5]);
        BNN_VCSA(tb, c1, c1, carry[i + 6], carry[i + 7]);
        BNN_VCSA(fb, c2, c2, ta, tb);
        BNN_VCSA(c, c4, c4, fa, fb);
        *e_end++ = c;
    }
    if (!BNN_COMPACT && (n & 4) != 0) { /* a tree of four: one carry into the 4s */
        uint32x4_t ta, tb, f;
        BNN_VCSA(ta, c1, c1, carry[n8], carry[n8 + 1]);
        BNN_VCSA(tb, c1, c1, carry[n8 + 2], carry[n8 + 3]);
        BNN_VCSA(f, c2, c2, ta, tb);
        *e_end++ = vandq_u32(c4, f);
        c4 = veorq_u32(c4, f);
        n8 += 4;
    }
    for (i = 0; n8 + i != n; ++i) {
        uint32x4_t c = carry[n8 + i], next;
        next = vandq_u32(c1, c);
        c1 = veorq_u32(c1, c);
        c = next;
        next = vandq_u32(c2, c);
        c2 = veorq_u32(c2, c);
        c = next;
        *e_end++ = vandq_u32(c4, c);
        c4 = veorq_u32(c4, c);
    }
    lanes[0] = c1;
    lanes[1] = c2;
    lanes[2] = c4;
    for (e = e_buf; e != e_end; ++e) {
        uint32x4_t c = *e, next;
        next = vandq_u32(h32, c);
        h32 = veorq_u32(h32, c);
        c = vandq_u32(h64, next);
        h64 = veorq_u32(h64, next);
        next = vandq_u32(h128, c);
        h128 = veorq_u32(h128, c);
        h512 = veorq_u32(h512, vandq_u32(h256, next));
        h256 = veorq_u32(h256, next);
    }
    add[0] = h32;
    add[1] = h64;
    add[2] = h128;
    add[3] = h256;
    add[4] = h512;
    c1 = zero; /* ripple-carry add of the five levels into lanes[3..] */
    for (k = 3; k < n_lanes; ++k) { /* lanes[n_lanes ..] would stay 0: counts fit */
        uint32x4_t x = lanes[k], y = k < 8 ? add[k - 3] : zero, u = veorq_u32(x, y);
        lanes[k] = veorq_u32(u, c1);
        c1 = vorrq_u32(vandq_u32(x, y), vandq_u32(u, c1));
    }
}

/* The mid-pixel fold, out of line (the hot loop keeps its registers). */
BNN_NO_SCHEDULE BNN_NOINLINE static void fold_carries(const uint32x4_t *carry, int32_t n, uint32x4_t *lanes,
                                      int32_t n_lanes)
{
    fold_carries_at(carry, n, lanes, n_lanes);
}

/* The sum of the four lane counters (levels[0..lane_levels)) into count[0..n_count): lanes
 * 0+1 and 2+3 are summed lane-wise with VREV64 and a bit-sliced vector adder, then the two
 * partial sums with a second vector adder that reads the pairs two words on (lane 0 of level
 * k + 2 words is lane 2 of level k); lane 0 then holds the total. merge: add it to count[]
 * (the scalar counter of partial words), else overwrite count[]. */
BNN_ALWAYS_INLINE static inline void add_lanes(const uint32x4_t *levels, int32_t lane_levels,
                                                uint32_t *count, int32_t n_count, int merge)
{
    uint32_t pair[4 * (4 + BNN_MVE_HIGH)];
    uint32x4_t carry = vdupq_n_u32(0u);
    uint32_t c = 0u;
    int32_t k;
    for (k = 0; k < lane_levels; ++k) {
        uint32x4_t x = levels[k], y = vrev64q_u32(levels[k]), u = veorq_u32(x, y);
        vstrwq_u32(pair + 4 * k, veorq_u32(u, carry));
        carry = vorrq_u32(vandq_u32(x, y), vandq_u32(u, carry));
    }
    vstrwq_u32(pair + 4 * lane_levels, carry);
    vstrwq_u32(pair + 4 * lane_levels + 4, vdupq_n_u32(0u)); /* read by level lane_levels */
    carry = vdupq_n_u32(0u);
    for (k = 0; k < n_count; ++k) {
        uint32_t t;
        if (k <= lane_levels) {
            uint32x4_t x = vldrwq_u32(pair + 4 * k), y = vldrwq_u32(pair + 4 * k + 2);
            uint32x4_t u = veorq_u32(x, y);
            t = vgetq_lane_u32(veorq_u32(u, carry), 0);
            carry = vorrq_u32(vandq_u32(x, y), vandq_u32(u, carry));
        } else {
            t = k == lane_levels + 1 ? vgetq_lane_u32(carry, 0) : 0u;
        }
        if (merge) {
            uint32_t x = count[k], u = x ^ t;
            count[k] = u ^ c;
            c = (x & t) | (u & c);
        } else {
            count[k] = t;
        }
    }
}

#else
#define BNN_FOLD_IF_FULL() ((void)0)
#endif

#if defined(__ARM_FEATURE_MVE) && !defined(BNN_NO_MVE)
#elif BNN_COMPACT
/* Scalar, compact build: one block of 8 in a loop over the word; each eights carry ripples
 * through eights and sixteens, the 32s carry into high[] in memory. */
#define BNN_FULL_WORD(word, t)                                                               \
    do {                                                                                     \
        uint32_t fw_w = (word);                                                              \
        const uint32_t *fw_t = (t), *fw_end = fw_t + 32;                                     \
        for (; fw_t != fw_end; fw_t += 8, fw_w >>= 8) {                                      \
            uint32_t fw_c, fw_next;                                                          \
            BNN_SLICED_BLOCK8(fw_c, fw_t, fw_w, 0);                                          \
            fw_next = eights & fw_c;                                                         \
            eights ^= fw_c;                                                                  \
            fw_c = fw_next;                                                                  \
            fw_next = sixteens & fw_c;                                                       \
            sixteens ^= fw_c;                                                                \
            BNN_ADD_HIGH(high, fw_next);                                                     \
        }                                                                                    \
    } while (0)
#else
/* Scalar: 32 input bits as four blocks of 8, then eights / sixteens carry-save, and the
 * 32s carry into high[] in memory. */
#define BNN_FULL_WORD(word, t)                                                               \
    do {                                                                                     \
        uint32_t fw_e1, fw_e2, fw_s1, fw_s2, fw_c32;                                         \
        BNN_SLICED_BLOCK8(fw_e1, t, word, 0);                                                \
        BNN_SLICED_BLOCK8(fw_e2, t, word, 8);                                                \
        BNN_CSA(fw_s1, eights, eights, fw_e1, fw_e2);                                        \
        BNN_SLICED_BLOCK8(fw_e1, t, word, 16);                                               \
        BNN_SLICED_BLOCK8(fw_e2, t, word, 24);                                               \
        BNN_CSA(fw_s2, eights, eights, fw_e1, fw_e2);                                        \
        BNN_CSA(fw_c32, sixteens, sixteens, fw_s1, fw_s2);                                   \
        BNN_ADD_HIGH(high, fw_c32);                                                          \
    } while (0)
#endif

/* Output bits of the channel group at one pixel; tw: the group's transposed weights. The scalar
 * counter is ones..sixteens in registers and high[] (32s and up) in memory.
 * BNN_NO_SCHEDULE, BNN_NOINLINE: see bnn_popcount.h (hoisted loads, spills). */
BNN_NO_SCHEDULE BNN_ALWAYS_INLINE static inline uint32_t sliced_pixel(
    const conv_bin_ctx *cx, const window_at *at, const uint32_t *tw, const sliced_limit *lim,
    uint32_t valid_channels, const int32_t levels)
{
    const bnn_window *win = cx->win;
    int32_t c_in = cx->in_d.c, words = cx->words, ky, kx, q, b;
    uint32_t ones = 0u, twos = 0u, fours = 0u, eights = 0u, sixteens = 0u, borrow = 0u;
    uint32_t high[BNN_SLICE_HIGH];
    uint32_t count[BNN_SLICE_LEVELS];
#if defined(__ARM_FEATURE_MVE) && !defined(BNN_NO_MVE)
    static const int32_t lane_shift_init[4] = {3, 2, 1, 0}; /* bit 28 + l to bit 31 */
    const int32x4_t lane_shift = vldrwq_s32(lane_shift_init);
    uint32x4_t v_ones = vdupq_n_u32(0u), v_twos = v_ones;
    uint32x4_t v_lanes[2 + BNN_MVE_HIGH]; /* ones, twos, then levels 4 .. 1024 from [2] */
    uint32x4_t v_carry[BNN_MVE_FOLD];
    int32_t n_carry = 0;
    /* lane counts stay below 2^(levels - 2): a lane sees at most a quarter of the bits */
    const int32_t lane_levels = levels - 2 < 5 ? 5 : levels - 2;
    for (b = 0; b < lane_levels; ++b) {
        v_lanes[b] = v_ones;
    }
#endif
    for (b = 0; b < levels - 5; ++b) { /* carries never reach the levels above */
        high[b] = 0u;
    }
    for (ky = at->ky0; ky < at->ky1; ++ky) {
        const uint32_t *row = cx->in + (at->iy0 + ky * win->dil_h) * cx->in_d.w * words;
        if (!BNN_COMPACT && c_in % 32 == 0 && win->dil_w == 1) {
            /* the valid taps of this row are contiguous words, in the input and in tw (a
             * second expansion of BNN_FULL_WORD: left out of the compact build) */
            const uint32_t *a = row + (at->ix0 + at->kx0) * words;
            const uint32_t *t = tw + (ky * win->k_w + at->kx0) * c_in;
            int32_t j, n_words = (at->kx1 - at->kx0) * words;
            for (j = 0; j < n_words; ++j, t += 32) {
                uint32_t word = a[j];
                BNN_FULL_WORD(word, t);
                BNN_FOLD_IF_FULL();
            }
            continue;
        }
        for (kx = at->kx0; kx < at->kx1; ++kx) {
            const uint32_t *a = row + (at->ix0 + kx * win->dil_w) * words;
            const uint32_t *t = tw + (ky * win->k_w + kx) * c_in;
            int32_t left = c_in;
            for (q = 0; q < words; ++q, t += 32, left -= 32) {
                uint32_t word = a[q];
                if (left >= 32) {
                    BNN_FULL_WORD(word, t);
                    BNN_FOLD_IF_FULL();
                } else {
                    for (b = 0; b < left; ++b) { /* ripple one word at a time */
                        uint32_t c = BNN_MISMATCH(t, word, b), next;
                        next = ones & c;
                        ones ^= c;
                        c = next;
                        next = twos & c;
                        twos ^= c;
                        c = next;
                        next = fours & c;
                        fours ^= c;
                        c = next;
                        next = eights & c;
                        eights ^= c;
                        c = next;
                        next = sixteens & c;
                        sixteens ^= c;
                        BNN_ADD_HIGH(high, next);
                    }
                }
            }
        }
    }
#if defined(__ARM_FEATURE_MVE) && !defined(BNN_NO_MVE)
    fold_carries_at(v_carry, n_carry, v_lanes + 2, lane_levels - 2);
    v_lanes[0] = v_ones;
    v_lanes[1] = v_twos;
    if (!BNN_COMPACT && c_in % 32 == 0) { /* whole words only: the scalar counter stayed 0 */
        add_lanes(v_lanes, lane_levels, count, levels, 0);
    } else
#endif
    {
        count[0] = ones;
        count[1] = twos;
        count[2] = fours;
        count[3] = eights;
        count[4] = sixteens;
        for (b = 0; b < levels - 5; ++b) {
            count[5 + b] = high[b];
        }
#if defined(__ARM_FEATURE_MVE) && !defined(BNN_NO_MVE)
        add_lanes(v_lanes, lane_levels, count, levels, 1);
#endif
    }
    /* count <= limit, lane-wise: no borrow out of limit - count */
    for (b = 0; b < levels; ++b) {
        uint32_t l = lim->level[b], c = count[b];
        borrow = (~l & (c | borrow)) | (l & c & borrow);
    }
    return ((~borrow & ~lim->never) | lim->always) & valid_channels;
}

/* Two copies of sliced_pixel with the number of counter levels a constant: windows below 2048
 * bits (11 levels; a variable level count costs 5-20% more instructions, measured), and every
 * window up to BNN_SLICED_MAX_BITS. The compact build keeps only the second. */
#define BNN_NARROW_LEVELS 11
BNN_NO_SCHEDULE BNN_NOINLINE static uint32_t sliced_pixel_narrow(const conv_bin_ctx *cx,
                                                                 const window_at *at,
                                                                 const uint32_t *tw,
                                                                 const sliced_limit *lim,
                                                                 uint32_t valid_channels)
{
    return sliced_pixel(cx, at, tw, lim, valid_channels, BNN_NARROW_LEVELS);
}

#if defined(BNN_SMALL_LEVELS) && !BNN_COMPACT
/* Helium only: windows below 1024 bits, no mid-window fold (conv64 on M55: 7.08 -> 7.45 bMAC/instr
 * against the 11-level copy). */
BNN_NO_SCHEDULE BNN_NOINLINE static uint32_t sliced_pixel_small(const conv_bin_ctx *cx,
                                                                const window_at *at,
                                                                const uint32_t *tw,
                                                                const sliced_limit *lim,
                                                                uint32_t valid_channels)
{
    return sliced_pixel(cx, at, tw, lim, valid_channels, BNN_SMALL_LEVELS);
}
#endif

BNN_NO_SCHEDULE BNN_NOINLINE static uint32_t sliced_pixel_wide(const conv_bin_ctx *cx,
                                                               const window_at *at,
                                                               const uint32_t *tw,
                                                               const sliced_limit *lim,
                                                               uint32_t valid_channels)
{
    return sliced_pixel(cx, at, tw, lim, valid_channels, BNN_SLICE_LEVELS);
}

#define BNN_LIMIT_CACHE 4 /* distinct K_valid values kept per group (interior + borders) */

/* One group of n <= 32 output channels over all pixels: tw holds the group's transposed
 * weights, thresh its thresholds, out its first output word. BNN_NOINLINE: one copy for both
 * kernels, and the stack buffer of bnn_conv2d_bin_thresh stays out of the sliced kernel. */
BNN_NOINLINE static void sliced_group(const conv_bin_ctx *cx, const uint32_t *tw,
                                      const int32_t *thresh, int32_t n, uint32_t *out,
                                      bnn_dims out_d)
{
    sliced_limit cache[BNN_LIMIT_CACHE];
    uint32_t valid_channels = 0xffffffffu >> (32 - n);
    int32_t out_words = BNN_WORDS(out_d.c), oy, ox, i, n_cached = 0;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox, out += out_words) {
            window_at at = locate(cx, oy, ox);
            const sliced_limit *lim = NULL;
            if (cx->k_fixed > 0) {
                at.k_valid = cx->k_fixed;
            }
            for (i = 0; i < n_cached; ++i) {
                if (cache[i].k_valid == at.k_valid) {
                    lim = &cache[i];
                    break;
                }
            }
            if (lim == NULL) {
                i = n_cached < BNN_LIMIT_CACHE ? n_cached++ : BNN_LIMIT_CACHE - 1;
                make_limit(at.k_valid, thresh, n, cx->levels, &cache[i]);
                lim = &cache[i];
            }
#if defined(BNN_SMALL_LEVELS) && !BNN_COMPACT
            if (!BNN_COMPACT && cx->levels <= BNN_SMALL_LEVELS) {
                *out = sliced_pixel_small(cx, &at, tw, lim, valid_channels);
                continue;
            }
#endif
            *out = !BNN_COMPACT && cx->levels <= BNN_NARROW_LEVELS
                       ? sliced_pixel_narrow(cx, &at, tw, lim, valid_channels)
                       : sliced_pixel_wide(cx, &at, tw, lim, valid_channels);
        }
    }
}

/* ---- group-interleaved weights (bnn_conv2d_bin_thresh_sliced_gi) -------------------------
 * The transposed weights of bnn_conv2d_bin_thresh_sliced, reordered so that one Helium vector
 * holds G = 4 or 2 channel groups: the groups go in blocks of 4 while 4 remain, then one of 2,
 * then one of 1 (plain). A block of G groups from group g0 starts at word g0 * K (K = k_h * k_w *
 * c_in, a multiple of 32); with P = 4 / G bit phases its word 4 s + l is the word of group
 * g0 + l / P at window bit P s + l % P (s < K / P). Lane l of the vector of step s thus counts
 * group g0 + l / P over the bits of phase l % P: with G = 4 each lane ends with its group's whole
 * count (no lane sum), with G = 2 one VREV64 adder sums the two phases. The window position, the
 * fold of the upper levels and the threshold compare are paid once for the G groups.
 * The same flash words as the plain layout; c_in must be a multiple of 32. */
static int32_t gi_block_groups(int32_t groups_left)
{
    return groups_left >= 4 ? 4 : groups_left >= 2 ? 2 : 1;
}

#if defined(__ARM_FEATURE_MVE) && !defined(BNN_NO_MVE)
typedef struct {
    int32_t k_valid;
    uint32x4_t not_level[BNN_SLICE_LEVELS]; /* lane l: group l / P's limit bits, inverted */
    uint32x4_t never, always;           /* never includes the missing channels of a last group */
} gi_limit;

static void make_gi_limit(int32_t k_valid, const int32_t *thresh, int32_t n_channels, int32_t g,
                          int32_t levels, gi_limit *lim)
{
    uint32_t lane[BNN_SLICE_LEVELS + 2][4];
    int32_t p = 4 / g, l, b;
    for (l = 0; l < 4; l += p) { /* once per group, copied to its p lanes */
        sliced_limit one;
        int32_t first = (l / p) * 32, n = n_channels - first < 32 ? n_channels - first : 32, q;
        make_limit(k_valid, thresh + first, n, levels, &one);
        for (q = l; q < l + p; ++q) {
            for (b = 0; b < BNN_SLICE_LEVELS; ++b) {
                lane[b][q] = one.level[b];
            }
            lane[BNN_SLICE_LEVELS][q] = one.never;
            lane[BNN_SLICE_LEVELS + 1][q] = one.always;
        }
    }
    lim->k_valid = k_valid;
    for (b = 0; b < BNN_SLICE_LEVELS; ++b) {
        lim->not_level[b] = vmvnq_u32(vldrwq_u32(lane[b]));
    }
    lim->never = vldrwq_u32(lane[BNN_SLICE_LEVELS]);
    lim->always = vldrwq_u32(lane[BNN_SLICE_LEVELS + 1]);
}

/* Step s of P phases: lane l holds bit P s + l % P of the word (pre-shifted by P - 1 - l % P,
 * so that the bit sits at 31 - (32 - P (s + 1))) broadcast to the lane. */
#define BNN_GI_SHIFT(p, s) (32 - (p) * ((s) + 1))
#define BNN_GI_MISMATCH(t, v, s, p)                                                          \
    veorq_u32(vldrwq_u32((t) + 4 * (s)),                                                     \
              vreinterpretq_u32_s32(vshrq_n_s32(                                             \
                  vreinterpretq_s32_u32(BNN_GI_SHIFT(p, s) == 0                              \
                                            ? (v)                                            \
                                            : vshlq_n_u32((v), BNN_GI_SHIFT(p, s) == 0       \
                                                                   ? 1                       \
                                                                   : BNN_GI_SHIFT(p, s))),   \
                  31)))

#define BNN_GI_BLOCK4(t, v, s, p)                                                            \
    do {                                                                                     \
        uint32x4_t gb_ta, gb_tb, gb_f;                                                       \
        BNN_VCSA(gb_ta, v_ones, v_ones, BNN_GI_MISMATCH(t, v, (s), p),                       \
                 BNN_GI_MISMATCH(t, v, (s) + 1, p));                                         \
        BNN_VCSA(gb_tb, v_ones, v_ones, BNN_GI_MISMATCH(t, v, (s) + 2, p),                   \
                 BNN_GI_MISMATCH(t, v, (s) + 3, p));                                         \
        BNN_VCSA(gb_f, v_twos, v_twos, gb_ta, gb_tb);                                        \
        *carry_end++ = gb_f;                                                                 \
    } while (0)

/* One input word (32 bits, all G groups): 8 G vectors, 2 G carries. */
#define BNN_GI_WORD(word, t, g)                                                              \
    do {                                                                                     \
        if ((g) == 4) {                                                                      \
            uint32x4_t gw_v = vdupq_n_u32(word);                                             \
            BNN_GI_BLOCK4(t, gw_v, 0, 1);                                                    \
            BNN_GI_BLOCK4(t, gw_v, 4, 1);                                                    \
            BNN_GI_BLOCK4(t, gw_v, 8, 1);                                                    \
            BNN_GI_BLOCK4(t, gw_v, 12, 1);                                                   \
            BNN_GI_BLOCK4(t, gw_v, 16, 1);                                                   \
            BNN_GI_BLOCK4(t, gw_v, 20, 1);                                                   \
            BNN_GI_BLOCK4(t, gw_v, 24, 1);                                                   \
            BNN_GI_BLOCK4(t, gw_v, 28, 1);                                                   \
        } else {                                                                             \
            uint32x4_t gw_v = vshlq_u32(vdupq_n_u32(word), pair_shift);                      \
            BNN_GI_BLOCK4(t, gw_v, 0, 2);                                                    \
            BNN_GI_BLOCK4(t, gw_v, 4, 2);                                                    \
            BNN_GI_BLOCK4(t, gw_v, 8, 2);                                                    \
            BNN_GI_BLOCK4(t, gw_v, 12, 2);                                                   \
        }                                                                                    \
    } while (0)

/* The G groups of one pixel into out[0 .. G). levels: counter levels of the whole window (a
 * lane sees K G / 4 of its bits). */
BNN_NO_SCHEDULE BNN_ALWAYS_INLINE static inline void gi_pixel(const conv_bin_ctx *cx,
                                                              const window_at *at,
                                                              const uint32_t *tw,
                                                              const gi_limit *lim, uint32_t *out,
                                                              const int32_t g, const int32_t levels)
{
    static const int32_t pair_shift_init[4] = {1, 0, 1, 0}; /* P - 1 - l % P for P = 2 */
    const bnn_window *win = cx->win;
    const int32_t c_in = cx->in_d.c, words = cx->words, step_words = 32 * g;
    const int32_t lane_levels = g == 4 ? levels : levels - 1 < 5 ? 5 : levels - 1;
    const int32x4_t pair_shift = vldrwq_s32(pair_shift_init);
    uint32x4_t v_ones = vdupq_n_u32(0u), v_twos = v_ones, borrow = v_ones, carry = v_ones;
    uint32x4_t v_lanes[BNN_SLICE_LEVELS + 1];
    uint32x4_t v_carry[BNN_GI_FOLD], *carry_end = v_carry;
    int32_t ky, kx, b;
    for (b = 0; b < lane_levels; ++b) {
        v_lanes[b] = v_ones;
    }
    {
        /* row pointers stepped by constant strides; the valid taps of a row are contiguous
         * words when dil_w is 1 (c_in: whole words), one run per row */
        const int32_t row_step = win->dil_h * cx->in_d.w * words, t_row_step = win->k_w * c_in * g;
        const int32_t dense_row = win->dil_w == 1;
        const int32_t runs = dense_row ? 1 : at->kx1 - at->kx0;
        const int32_t run_words = dense_row ? (at->kx1 - at->kx0) * words : words;
        const int32_t run_step = win->dil_w * words;
        const uint32_t *row = cx->in + ((at->iy0 + at->ky0 * win->dil_h) * cx->in_d.w + at->ix0 +
                                        at->kx0 * win->dil_w) * words;
        const uint32_t *t_row = tw + (size_t)(at->ky0 * win->k_w + at->kx0) * c_in * g;
        for (ky = at->ky1 - at->ky0; ky != 0; --ky, row += row_step, t_row += t_row_step) {
            const uint32_t *t = t_row, *a = row;
            for (kx = runs; kx != 0; --kx, a += run_step) {
                int32_t j;
                for (j = 0; j < run_words; ++j, t += step_words) {
                    uint32_t word = a[j];
                    BNN_GI_WORD(word, t, g);
                    /* windows below 1024 bits in pairs: at most 124 carries, never full */
                    if ((g == 4 || levels > BNN_SMALL_LEVELS) &&
                        carry_end - v_carry > BNN_GI_FOLD - 2 * g) {
                        fold_carries(v_carry, (int32_t)(carry_end - v_carry), v_lanes + 2,
                                     lane_levels - 2);
                        carry_end = v_carry;
                    }
                }
            }
        }
    }
    /* out of line: inlined here, GCC spilled the tree (56 instructions per eight carries, 48 in
     * fold_carries) */
    fold_carries(v_carry, (int32_t)(carry_end - v_carry), v_lanes + 2, lane_levels - 2);
    v_lanes[0] = v_ones;
    v_lanes[1] = v_twos;
    /* count <= limit, lane-wise: no borrow out of limit - count. With g == 2 the count of level
     * b is first summed over lanes 0 + 1 and 2 + 3 (VREV64; both lanes of a pair get the sum). */
    for (b = 0; b < levels; ++b) { /* borrow = majority(~limit, count, borrow) */
        uint32x4_t nl = lim->not_level[b], c = b < lane_levels ? v_lanes[b] : vdupq_n_u32(0u);
        uint32x4_t u;
        if (g == 2) {
            uint32x4_t y = vrev64q_u32(c), sum;
            u = veorq_u32(c, y);
            sum = veorq_u32(u, carry);
            carry = vorrq_u32(vandq_u32(c, y), vandq_u32(u, carry));
            c = sum;
        }
        u = veorq_u32(nl, c);
        borrow = vorrq_u32(vandq_u32(nl, c), vandq_u32(u, borrow));
    }
    borrow = vorrq_u32(vbicq_u32(vmvnq_u32(borrow), lim->never), lim->always);
    if (g == 4) {
        vstrwq_u32(out, borrow);
    } else {
        out[0] = vgetq_lane_u32(borrow, 0);
        out[1] = vgetq_lane_u32(borrow, 2);
    }
}

#define BNN_GI_PIXEL(name, g, levels)                                                        \
    BNN_NO_SCHEDULE BNN_NOINLINE static void name(const conv_bin_ctx *cx, const window_at *at, \
                                                  const uint32_t *tw, const gi_limit *lim,    \
                                                  uint32_t *out)                              \
    {                                                                                        \
        gi_pixel(cx, at, tw, lim, out, g, levels);                                           \
    }
#if !BNN_COMPACT
BNN_GI_PIXEL(gi_pixel_2_small, 2, BNN_SMALL_LEVELS)
BNN_GI_PIXEL(gi_pixel_2_narrow, 2, BNN_NARROW_LEVELS)
BNN_GI_PIXEL(gi_pixel_4_narrow, 4, BNN_NARROW_LEVELS)
#endif
BNN_GI_PIXEL(gi_pixel_2_wide, 2, BNN_SLICE_LEVELS)
BNN_GI_PIXEL(gi_pixel_4_wide, 4, BNN_SLICE_LEVELS)

/* One block of g groups (n_channels channels from the block's first) over all pixels. */
BNN_NOINLINE static void gi_block(const conv_bin_ctx *cx, const uint32_t *tw,
                                  const int32_t *thresh, int32_t n_channels, int32_t g,
                                  uint32_t *out, bnn_dims out_d)
{
    gi_limit cache[BNN_LIMIT_CACHE];
    int32_t out_words = BNN_WORDS(out_d.c), oy, ox, i, n_cached = 0;
    int narrow = !BNN_COMPACT && cx->levels <= BNN_NARROW_LEVELS;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox, out += out_words) {
            window_at at = locate(cx, oy, ox);
            const gi_limit *lim = NULL;
            for (i = 0; i < n_cached; ++i) {
                if (cache[i].k_valid == at.k_valid) {
                    lim = &cache[i];
                    break;
                }
            }
            if (lim == NULL) {
                i = n_cached < BNN_LIMIT_CACHE ? n_cached++ : BNN_LIMIT_CACHE - 1;
                make_gi_limit(at.k_valid, thresh, n_channels, g, cx->levels, &cache[i]);
                lim = &cache[i];
            }
#if !BNN_COMPACT
            if (g == 2 && cx->levels <= BNN_SMALL_LEVELS) {
                gi_pixel_2_small(cx, &at, tw, lim, out);
                continue;
            }
            if (narrow) {
                if (g == 4) {
                    gi_pixel_4_narrow(cx, &at, tw, lim, out);
                } else {
                    gi_pixel_2_narrow(cx, &at, tw, lim, out);
                }
                continue;
            }
#endif
            (void)narrow;
            if (g == 4) {
                gi_pixel_4_wide(cx, &at, tw, lim, out);
            } else {
                gi_pixel_2_wide(cx, &at, tw, lim, out);
            }
        }
    }
}
#else
/* Without Helium: the plain bit loop over the interleaved words (the layout is chosen for
 * Helium cores only; this keeps every build able to run a model compiled for one). */
static void gi_block(const conv_bin_ctx *cx, const uint32_t *tw, const int32_t *thresh,
                     int32_t n_channels, int32_t g, uint32_t *out, bnn_dims out_d)
{
    const bnn_window *win = cx->win;
    int32_t c_in = cx->in_d.c, p = 4 / g, out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox, o, ky, kx, ci;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox, out += out_words) {
            window_at at = locate(cx, oy, ox);
            for (o = 0; o < g; ++o) {
                out[o] = 0u; /* the bits of missing channels stay 0 */
            }
            for (o = 0; o < n_channels; ++o) {
                int32_t lane_base = (o / 32) * p, count = 0;
                for (ky = at.ky0; ky < at.ky1; ++ky) {
                    for (kx = at.kx0; kx < at.kx1; ++kx) {
                        const uint32_t *a = cx->in + ((at.iy0 + ky * win->dil_h) * cx->in_d.w +
                                                      at.ix0 + kx * win->dil_w) * cx->words;
                        for (ci = 0; ci < c_in; ++ci) {
                            int32_t j = (ky * win->k_w + kx) * c_in + ci;
                            uint32_t w = tw[4 * (j / p) + lane_base + j % p];
                            count += (int32_t)(((w >> (o % 32)) ^ (a[ci / 32] >> (ci % 32))) & 1u);
                        }
                    }
                }
                out[o / 32] |= (uint32_t)(at.k_valid - 2 * count >= thresh[o]) << (o % 32);
            }
        }
    }
}
#endif

/* Channels in group g (32 but for the last group). */
static int32_t group_channels(bnn_dims out_d, int32_t g)
{
    return out_d.c - g * 32 < 32 ? out_d.c - g * 32 : 32;
}

/* The whole thresholded conv through the sliced path, transposing each group's weights into
 * a stack buffer; returns 0 if the window is too large for it. */
static int conv_sliced(const conv_bin_ctx *cx, const uint32_t *weights, const int32_t *thresh,
                       uint32_t *out, bnn_dims out_d)
{
    uint32_t tw[BNN_TRANSPOSE_MAX_BITS];
    int32_t g;
    if (cx->win->k_h * cx->win->k_w * cx->in_d.c > BNN_TRANSPOSE_MAX_BITS) {
        return 0;
    }
    for (g = 0; g * 32 < out_d.c; ++g) {
        int32_t n = group_channels(out_d, g);
        transpose_weights(cx, weights + g * 32 * cx->taps_words, n, tw);
        sliced_group(cx, tw, thresh + g * 32, n, out + g, out_d);
    }
    return 1;
}

static conv_bin_ctx make_ctx(const uint32_t *in, bnn_dims in_d, const bnn_window *win)
{
    conv_bin_ctx cx;
    cx.in = in;
    cx.in_d = in_d;
    cx.win = win;
    cx.words = BNN_WORDS(in_d.c);
    cx.taps_words = win->k_h * win->k_w * cx.words;
    cx.k_fixed = 0;
    /* counts reach k_h * k_w * c_in: levels = its bit length, at least the five in registers */
    cx.levels = 5;
    while (cx.levels < BNN_SLICE_LEVELS && (win->k_h * win->k_w * in_d.c) >> cx.levels != 0) {
        ++cx.levels;
    }
    return cx;
}

void bnn_conv2d_bin_thresh(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                           const int32_t *thresh, const bnn_window *win, uint32_t *out,
                           bnn_dims out_d)
{
    conv_bin_ctx cx = make_ctx(in, in_d, win);
    int32_t out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox, g;
    if (conv_sliced(&cx, weights, thresh, out, out_d)) {
        return;
    }
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            for (g = 0; g < out_words; ++g) {
                int32_t n = group_channels(out_d, g);
                *out++ = conv_bin_pixel(&cx, oy, ox, weights + g * 32 * cx.taps_words, n,
                                        thresh + g * 32, NULL);
            }
        }
    }
}

void bnn_conv2d_bin_thresh_sliced(const uint32_t *in, bnn_dims in_d, const uint32_t *tw,
                                  const int32_t *thresh, const bnn_window *win, uint32_t *out,
                                  bnn_dims out_d)
{
    conv_bin_ctx cx = make_ctx(in, in_d, win);
    int32_t bits = win->k_h * win->k_w * in_d.c, g;
    for (g = 0; g * 32 < out_d.c; ++g) {
        sliced_group(&cx, tw + g * bits, thresh + g * 32, group_channels(out_d, g), out + g,
                     out_d);
    }
}

void bnn_conv2d_bin_thresh_sliced_gi(const uint32_t *in, bnn_dims in_d, const uint32_t *tw,
                                     const int32_t *thresh, const bnn_window *win, uint32_t *out,
                                     bnn_dims out_d)
{
    conv_bin_ctx cx = make_ctx(in, in_d, win);
    int32_t bits = win->k_h * win->k_w * in_d.c, groups = BNN_WORDS(out_d.c), g0 = 0;
    while (g0 < groups) {
        int32_t g = gi_block_groups(groups - g0);
        int32_t n = out_d.c - g0 * 32 < 32 * g ? out_d.c - g0 * 32 : 32 * g;
        if (g == 1) {
            sliced_group(&cx, tw + g0 * bits, thresh + g0 * 32, n, out + g0, out_d);
        } else {
            gi_block(&cx, tw + g0 * bits, thresh + g0 * 32, n, g, out + g0, out_d);
        }
        g0 += g;
    }
}

void bnn_conv2d_bin_f32(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                        const float *scale, const float *bias, const bnn_window *win, float *out,
                        bnn_dims out_d)
{
    conv_bin_ctx cx = make_ctx(in, in_d, win);
    int32_t plane = out_d.h * out_d.w;
    int32_t oy, ox, g, b;
    int32_t acc[32];
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            for (g = 0; g * 32 < out_d.c; ++g) {
                int32_t n = group_channels(out_d, g);
                (void)conv_bin_pixel(&cx, oy, ox, weights + g * 32 * cx.taps_words, n, NULL,
                                     acc);
                for (b = 0; b < n; ++b) {
                    int32_t o = g * 32 + b;
                    out[o * plane + oy * out_d.w + ox] = scale[o] * (float)acc[b] + bias[o];
                }
            }
        }
    }
}

/* A dense layer is a 1x1 conv on one pixel of 32 * n_words channels: the padding bits are 0 in
 * the input and in tw, so they add no mismatch, and K_valid is the true length k. */
void bnn_dense_bin_thresh_sliced(const uint32_t *in, int32_t n_words, int32_t k,
                                 const uint32_t *tw, const int32_t *thresh, int32_t n_out,
                                 uint32_t *out)
{
    static const bnn_window one = {1, 1, 1, 1, 0, 0, 1, 1};
    bnn_dims in_d, out_d;
    conv_bin_ctx cx;
    int32_t g;
    in_d.h = 1;
    in_d.w = 1;
    in_d.c = 32 * n_words;
    out_d.h = 1;
    out_d.w = 1;
    out_d.c = n_out;
    cx = make_ctx(in, in_d, &one);
    cx.k_fixed = k;
    for (g = 0; g * 32 < n_out; ++g) {
        sliced_group(&cx, tw + g * in_d.c, thresh + g * 32, group_channels(out_d, g), out + g,
                     out_d);
    }
}
