/*
 * bnn_conv_int.c - convolution of an INTEGER (uint8 or int8, CHW) model input with binary weights:
 * the first layer of a model whose input is uint8/int8 followed by Cast and a scalar normalization
 * (passes/int_input.py proves the integer thresholds exact against onnxruntime's float chain).
 *
 * acc = sum over the valid taps of (w ? +(q - offset) : -(q - offset)), an exact integer; a tap
 * outside the image counts as q = offset (x = 0 in the model). out bit = (acc >= thresh[c]).
 * No float, no rounding: any summation order gives the same result.
 *
 * Windows of at most 32 taps: every tap is held as u = q (uint8) or q + 128 (int8), a tap outside
 * the image as the offset in the same encoding, so acc = 2 P - S - offset_u * (2 n1 - k) with
 * P = sum of u over the taps whose weight bit is 1, S = sum of all u, n1 = popcount(weights).
 * Per pair of output pixels the kernel tabulates, for each group of 5 taps, P of the group for all
 * 32 weight patterns with the two pixels in the two 16-bit halves of a word (P <= 32 * 255 fits),
 * so an output channel costs one load and one add per group for both pixels. Larger windows: a
 * direct loop. bnn_ref.c computes the plain sum.
 *
 * The _fix entry points take the channels whose integer threshold is not provably exact (bnn.h,
 * bnn_int_fix): per pass such a channel's table entries are summed once more (its entry offsets are
 * already on the stack) and both ends of its band tested in the two 16-bit lanes at once (ci_band);
 * only an undecided (pixel, channel) pays for the float sum in onnxruntime's order (ci_fix_sum).
 * Thresholds and band ends are clamped to the reachable range first, so any int32 is taken.
 */
#include <stddef.h>

#include "bnn.h"
#include "bnn_popcount.h"

#define CI_TAPS 5
#define CI_GROUPS ((BNN_INT_TABLE_MAX_TAPS + CI_TAPS - 1) / CI_TAPS)
#define CI_CHUNK 64 /* output channels per pass (their per-channel data lives on the stack) */
#define CI_TAB_BYTES (CI_GROUPS * 32 * 4) /* one pair's tables */
/* Per group and lane, t[p] = 2 P - S + CI_BIAS >= 0 (S <= 5 * 255 < CI_BIAS), so the sum over the
 * groups is 2 P - S + ng * CI_BIAS, below 2^15 in each 16-bit lane (k <= 32 taps of bytes). */
#define CI_BIAS 1280u
#define CI_BIAS2 (CI_BIAS * 0x10001u)

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Lane-wise a - b (ARMv7E-M / v8-M DSP). */
static inline uint32_t ci_usub16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("usub16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#define CI_DSP 1
#define CI_PIXELS 4 /* output pixels per pass: two pairs share each channel's offset loads */
#else
#define CI_DSP 0
#define CI_PIXELS 2
#endif

#if defined(__GNUC__)
#define CI_NOINLINE __attribute__((noinline))
#define CI_INLINE __attribute__((always_inline)) inline
#else
#define CI_NOINLINE
#define CI_INLINE
#endif

/* The taps of output pixels (oy, ox0) and (oy, ox1) in order (ci, ky, kx), one word per tap:
 * u0 | u1 << 16 with u = input byte XOR flip (0x80 for int8: q + 128), pad_u outside the image. */
static inline void gather_pairs(const uint8_t *in, bnn_dims in_d, const bnn_window *win, int32_t oy,
                         int32_t ox0, int32_t ox1, uint32_t flip, uint32_t pad_u, uint32_t *a)
{
    int32_t plane = in_d.h * in_d.w, ci, ky, kx;
    int32_t iy0 = oy * win->stride_h - win->pad_top;
    int32_t ix0 = ox0 * win->stride_w - win->pad_left, ix1 = ox1 * win->stride_w - win->pad_left;
    int32_t last_x = ix1 + (win->k_w - 1) * win->dil_w, last_y = iy0 + (win->k_h - 1) * win->dil_h;
    uint32_t flip2 = flip * 0x10001u;
    if (iy0 >= 0 && ix0 >= 0 && last_y < in_d.h && last_x < in_d.w) { /* inside the image */
        int32_t step = ix1 - ix0;
        const uint8_t *plane_at = in + iy0 * in_d.w + ix0;
        if (win->k_w == 3 && win->dil_w == 1) { /* the common 3-wide rows, unrolled */
            for (ci = 0; ci < in_d.c; ++ci, plane_at += plane) {
                const uint8_t *row = plane_at;
                for (ky = 0; ky < win->k_h; ++ky, row += win->dil_h * in_d.w, a += 3) {
                    a[0] = ((uint32_t)row[0] | ((uint32_t)row[step] << 16)) ^ flip2;
                    a[1] = ((uint32_t)row[1] | ((uint32_t)row[step + 1] << 16)) ^ flip2;
                    a[2] = ((uint32_t)row[2] | ((uint32_t)row[step + 2] << 16)) ^ flip2;
                }
            }
            return;
        }
        for (ci = 0; ci < in_d.c; ++ci, plane_at += plane) {
            for (ky = 0; ky < win->k_h; ++ky) {
                const uint8_t *row = plane_at + ky * win->dil_h * in_d.w;
                for (kx = 0; kx < win->k_w; ++kx, row += win->dil_w) {
                    *a++ = ((uint32_t)row[0] | ((uint32_t)row[step] << 16)) ^ flip2;
                }
            }
        }
        return;
    }
    for (ci = 0; ci < in_d.c; ++ci) {
        for (ky = 0; ky < win->k_h; ++ky) {
            int32_t iy = iy0 + ky * win->dil_h;
            int32_t inside_y = iy >= 0 && iy < in_d.h;
            for (kx = 0; kx < win->k_w; ++kx) {
                int32_t x0 = ix0 + kx * win->dil_w, x1 = ix1 + kx * win->dil_w;
                uint32_t v0 = pad_u, v1 = pad_u;
                if (inside_y && x0 >= 0 && x0 < in_d.w) {
                    v0 = in[ci * plane + iy * in_d.w + x0] ^ flip;
                }
                if (inside_y && x1 >= 0 && x1 < in_d.w) {
                    v1 = in[ci * plane + iy * in_d.w + x1] ^ flip;
                }
                *a++ = v0 | (v1 << 16);
            }
        }
    }
}

/* t[i] = x, t[i + 1] = y: one STRD on Thumb-2 cores. */
#if defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2
#define CI_STORE2(t, i, x, y) __asm__("strd %0, %1, [%2, %3]" : : "r"(x), "r"(y), "r"(t), "i"(4 * (i)) : "memory")
#else
#define CI_STORE2(t, i, x, y) ((t)[i] = (x), (t)[(i) + 1] = (y))
#endif

/* Table of one group of 5 taps for both pixels: t[p] = t0 + 2 * (sum of a[b] over the bits b of p),
 * t0 = CI_BIAS - (a[0] + ... + a[4]) per 16-bit lane (so t[p] = 2 P - S of the group + CI_BIAS, never
 * negative). Straight-line: 36 adds (each with its doubling) and 16 double stores. */
static void int_table5(const uint32_t *a, uint32_t *t)
{
    uint32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4];
    uint32_t t0 = CI_BIAS2 - (a0 + a1 + a2 + a3 + a4);
    uint32_t x, y;
    x = t0;
    y = x + 2u * a0;
    CI_STORE2(t, 0, x, y);
    CI_STORE2(t, 16, x + 2u * a4, y + 2u * a4);
    x = t0 + 2u * a1;
    y = x + 2u * a0;
    CI_STORE2(t, 2, x, y);
    CI_STORE2(t, 18, x + 2u * a4, y + 2u * a4);
    x = t0 + 2u * a2;
    y = x + 2u * a0;
    CI_STORE2(t, 4, x, y);
    CI_STORE2(t, 20, x + 2u * a4, y + 2u * a4);
    x = t0 + 2u * a1 + 2u * a2;
    y = x + 2u * a0;
    CI_STORE2(t, 6, x, y);
    CI_STORE2(t, 22, x + 2u * a4, y + 2u * a4);
    x = t0 + 2u * a3;
    y = x + 2u * a0;
    CI_STORE2(t, 8, x, y);
    CI_STORE2(t, 24, x + 2u * a4, y + 2u * a4);
    x = t0 + 2u * a1 + 2u * a3;
    y = x + 2u * a0;
    CI_STORE2(t, 10, x, y);
    CI_STORE2(t, 26, x + 2u * a4, y + 2u * a4);
    x = t0 + 2u * a2 + 2u * a3;
    y = x + 2u * a0;
    CI_STORE2(t, 12, x, y);
    CI_STORE2(t, 28, x + 2u * a4, y + 2u * a4);
    x = t0 + 2u * a1 + 2u * a2 + 2u * a3;
    y = x + 2u * a0;
    CI_STORE2(t, 14, x, y);
    CI_STORE2(t, 30, x + 2u * a4, y + 2u * a4);
}

/* The same for a last group of n < 5 taps (inlined like pair_tables). */
static CI_INLINE void int_table_short(const uint32_t *a, int32_t n, uint32_t *t)
{
    int32_t b, i;
    uint32_t t0 = CI_BIAS2;
    for (b = 0; b < n; ++b) {
        t0 -= a[b];
    }
    t[0] = t0;
    for (b = 0; b < n; ++b) {
        int32_t half = 1 << b;
        for (i = 0; i < half; ++i) {
            t[half + i] = t[i] + 2u * a[b];
        }
    }
}

/* The group tables of one pair of pixels from their gathered taps a (inlined into each of the two
 * copies of conv_int_thresh, as into the one caller it had). */
static CI_INLINE void pair_tables(const uint32_t *a, int32_t ng, int32_t tail, uint32_t *tab)
{
    int32_t j;
    for (j = 0; j < ng - 1; ++j) {
        int_table5(a + j * CI_TAPS, tab + 32 * j);
    }
    if (tail == CI_TAPS) {
        int_table5(a + j * CI_TAPS, tab + 32 * j);
    } else {
        int_table_short(a + j * CI_TAPS, tail, tab + 32 * j);
    }
}

/* p = 2 P - S + ng CI_BIAS of one output channel, both pixels: its NG table entries (byte offsets off). */
#define CI_LOOKUP(j) (*(const uint32_t *)(const void *)(tb + off[j]))
#define CI_SUM(NG)                                                                              \
    (CI_LOOKUP(0) + (NG > 1 ? CI_LOOKUP(1) : 0u) + (NG > 2 ? CI_LOOKUP(2) : 0u) +              \
     (NG > 3 ? CI_LOOKUP(3) : 0u) + (NG > 4 ? CI_LOOKUP(4) : 0u) + (NG > 5 ? CI_LOOKUP(5) : 0u) + \
     (NG > 6 ? CI_LOOKUP(6) : 0u))

/* The output bits of channels 0..nc-1 for both pixels into w0[], w1[] (one word per 32 channels): bit
 * = p >= bias, i.e. the sign bit of (bias - 1) - p in 16 bits (both below 2^15); bm1[o] = bias - 1.
 * A function per group count (constant offsets, everything in registers; not inlined, so the
 * table pointer stays a register on ARMv6-M too). */
#if CI_DSP
/* Two pairs of pixels (tables at tb and tb + CI_TAB_BYTES) per channel: the entry offsets are loaded
 * once for both. 16 channels at a time collect in r: the pair's first pixel in bits 0-15, its second
 * in bits 16-31, each new bit entering at the top of its half (no more than 16, so no bit crosses into
 * the other half). w[0..3]: the words of the four pixels. */
#define CI_ACC(NG, j)                                                                           \
    if (NG > j) {                                                                               \
        uint32_t q = off[j];                                                                    \
        pa += *(const uint32_t *)(const void *)(tb + q);                                        \
        pb += *(const uint32_t *)(const void *)(tb2 + q);                                       \
    }
#define CI_DEFINE_CHANNELS(NG)                                                                  \
    static CI_NOINLINE void ci_channels##NG(const uint8_t *tb, const uint8_t *tb2,              \
                                            const uint16_t *off, const uint32_t *bm1, int32_t nc, \
                                            uint32_t *w)                                        \
    {                                                                                           \
        int32_t h, i, m;                                                                        \
        for (h = 0; h < nc; h += 16) {                                                          \
            uint32_t ra = 0u, rb = 0u;                                                          \
            int32_t at = (h >> 5) * 4, sh = h & 16;                                             \
            m = nc - h < 16 ? nc - h : 16;                                                      \
            for (i = 0; i < m; ++i, off += NG) {                                                \
                uint32_t pa = 0u, pb = 0u, b = bm1[h + i];                                      \
                CI_ACC(NG, 0) CI_ACC(NG, 1) CI_ACC(NG, 2) CI_ACC(NG, 3) CI_ACC(NG, 4)           \
                CI_ACC(NG, 5) CI_ACC(NG, 6)                                                     \
                ra = (ra >> 1) | (ci_usub16(b, pa) & 0x80008000u);                              \
                rb = (rb >> 1) | (ci_usub16(b, pb) & 0x80008000u);                              \
            }                                                                                   \
            w[at] |= ((ra & 0xFFFFu) >> (16 - m)) << sh;                                        \
            w[at + 1] |= (ra >> (32 - m)) << sh;                                                \
            w[at + 2] |= ((rb & 0xFFFFu) >> (16 - m)) << sh;                                    \
            w[at + 3] |= (rb >> (32 - m)) << sh;                                                \
        }                                                                                       \
    }
#else
/* One pair of pixels; channels from the last of each word down, each bit shifted in at the bottom.
 * w[4 * word + 0..1]: the words of the two pixels. */
#define CI_DEFINE_CHANNELS(NG)                                                                  \
    static CI_NOINLINE void ci_channels##NG(const uint8_t *tb, const uint8_t *tb2,              \
                                            const uint16_t *offs, const uint32_t *bm1,          \
                                            int32_t nc, uint32_t *w)                            \
    {                                                                                           \
        int32_t h, o;                                                                           \
        (void)tb2;                                                                              \
        for (h = 0; h < nc; h += 32) {                                                          \
            int32_t last = nc - h < 32 ? nc - 1 : h + 31;                                       \
            const uint16_t *off = offs + last * NG;                                             \
            uint32_t x0 = 0u, x1 = 0u;                                                          \
            for (o = last; o >= h; --o, off -= NG) {                                            \
                uint32_t p = CI_SUM(NG);                                                        \
                x0 = (x0 << 1) | (((bm1[o] - (p & 0xFFFFu)) >> 15) & 1u);                       \
                x1 = (x1 << 1) | (((bm1[o] - (p >> 16)) >> 15) & 1u);                           \
            }                                                                                   \
            w[(h >> 5) * 4] = x0;                                                               \
            w[(h >> 5) * 4 + 1] = x1;                                                           \
        }                                                                                       \
    }
#endif
CI_DEFINE_CHANNELS(1)
CI_DEFINE_CHANNELS(2)
CI_DEFINE_CHANNELS(3)
CI_DEFINE_CHANNELS(4)
CI_DEFINE_CHANNELS(5)
CI_DEFINE_CHANNELS(6)
CI_DEFINE_CHANNELS(7)

/* The float sum of an undecided (pixel, channel): acc = 0.0f, then acc +- table[u] over the valid taps
 * in order (ci, ky, kx), as bnn_conv2d_f32_thresh sums the cast input. */
static CI_NOINLINE float ci_fix_sum(const uint8_t *in, bnn_dims in_d, uint32_t flip, const float *table,
                                    const uint32_t *w_o, const bnn_window *win, int32_t oy, int32_t ox)
{
    int32_t iy0 = oy * win->stride_h - win->pad_top, ix0 = ox * win->stride_w - win->pad_left;
    int32_t ci, ky, kx, bit = 0;
    float acc = 0.0f;
    for (ci = 0; ci < in_d.c; ++ci) {
        for (ky = 0; ky < win->k_h; ++ky) {
            int32_t iy = iy0 + ky * win->dil_h;
            for (kx = 0; kx < win->k_w; ++kx, ++bit) {
                int32_t ix = ix0 + kx * win->dil_w;
                float x;
                if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                    continue;
                }
                x = table[in[(ci * in_d.h + iy) * in_d.w + ix] ^ flip];
                acc = ((w_o[bit >> 5] >> (bit & 31)) & 1u) ? acc + x : acc - x;
            }
        }
    }
    return acc;
}

/* A threshold t on the integer sum as a level on p = sum + c: clamped to [0, 2^15] (0 <= p < 2^15, so
 * p >= level keeps its truth; |t| first clamped far beyond any reachable sum, so nothing overflows). */
static int32_t ci_level(int32_t t, int32_t c)
{
    t = t < -0x10000 ? -0x10000 : t > 0x10000 ? 0x10000 : t;
    t += c;
    return t < 0 ? 0 : t > 0x8000 ? 0x8000 : t;
}

/* c = p - acc of a channel with weight bits `bits` (see conv_int_thresh). */
static int32_t ci_shift(uint32_t bits, uint32_t pad_u, int32_t k, int32_t ng)
{
    return (int32_t)pad_u * (2 * (int32_t)bnn_popcount32(bits) - k) + ng * (int32_t)CI_BIAS;
}

/* The pixels (bit i: pixel i of the pass) where one channel's p lies in [lo', t'): its table entries
 * (byte offsets off) summed again, for both pixels of a pair in the two lanes of a word; (p | 2^15) - level
 * leaves bit 15 of a lane set iff p >= level (levels in [0, 2^15]: no borrow crosses into the other lane).
 * lo2, hi2: lo', t' in both lanes. */
static CI_NOINLINE uint32_t ci_band(const uint8_t *tb, const uint16_t *off, int32_t ng, uint32_t lo2,
                                    uint32_t hi2)
{
    uint32_t pa = 0x80008000u, pb = 0x80008000u, ma, mb;
    int32_t j;
    for (j = 0; j < ng; ++j) {
        uint32_t q = off[j];
        pa += *(const uint32_t *)(const void *)(tb + q);
        if (CI_PIXELS > 2) {
            pb += *(const uint32_t *)(const void *)(tb + CI_TAB_BYTES + q);
        }
    }
    ma = (pa - lo2) & ~(pa - hi2);
    mb = CI_PIXELS > 2 ? (pb - lo2) & ~(pb - hi2) : 0u;
    return ((ma >> 15) & 1u) | ((ma >> 30) & 2u) | ((mb >> 13) & 4u) | ((mb >> 28) & 8u);
}

/* acc = 2 P - S - pad_u (2 n1 - k) >= thresh (n1 = popcount of the channel's weights) <=>
 * p = 2 P - S + ng CI_BIAS >= thresh + pad_u (2 n1 - k) + ng CI_BIAS = bias (clamped at 0: p >= 0).
 * Per pair of output pixels each group of 5 taps gets a table of 2 P - S + CI_BIAS for its 32 weight
 * patterns, both pixels in the 16-bit halves of a word; per output channel the byte offsets of its
 * patterns' entries (offs) and its bias are prepared once per call.
 * fix (or NULL): the undecided channels; per pass each one's band is tested on its table sums (ci_band),
 * and only an undecided pixel pays for the float sum. Inlined into a copy without (fix = NULL: none of
 * that code, no register it holds) and a copy with, so a model links the one it calls. */
static CI_INLINE void conv_int_thresh(const uint8_t *in, bnn_dims in_d, int32_t offset, uint32_t flip,
                            const uint32_t *weights, const int32_t *thresh, const bnn_int_fix *fix,
                            const bnn_window *win, uint32_t *out, bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w, out_words = BNN_WORDS(out_d.c);
    int32_t ng = (k + CI_TAPS - 1) / CI_TAPS, tail = k - (ng - 1) * CI_TAPS;
    uint32_t pad_u = (uint32_t)(offset + (flip ? 128 : 0));
    uint32_t a[CI_GROUPS * CI_TAPS];
    uint32_t tab[CI_PIXELS / 2 * CI_GROUPS * 32];
    uint16_t offs[CI_CHUNK * CI_GROUPS];
    uint32_t bias[CI_CHUNK];
    const uint8_t *tb = (const uint8_t *)tab;
    int32_t c0, oy, ox, o, j, f0 = 0, f1 = 0;
    for (c0 = 0; c0 < out_d.c; c0 += CI_CHUNK, f0 = f1) {
        int32_t nc = out_d.c - c0 < CI_CHUNK ? out_d.c - c0 : CI_CHUNK;
        for (o = 0; o < nc; ++o) {
            uint32_t bits = weights[c0 + o];
            int32_t b = ci_level(thresh[c0 + o], ci_shift(bits, pad_u, k, ng)); /* p >= b: on */
            bias[o] = ((uint32_t)(b - 1) & 0xFFFFu) * (CI_DSP ? 0x10001u : 1u); /* bias - 1, 16 bits */
            for (j = 0; j < ng; ++j) {
                offs[o * ng + j] = (uint16_t)((32 * j + (int32_t)((bits >> (CI_TAPS * j)) & 31u)) * 4);
            }
        }
        while (fix != NULL && f1 < fix->n && fix->channels[f1] < c0 + nc) { /* this chunk's undecided */
            ++f1;
        }
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ox += CI_PIXELS) {
                int32_t px[CI_PIXELS], i, f;
                uint32_t w[CI_CHUNK / 32 * 4] = {0u}; /* w[4 * word + pixel] */
                for (i = 0; i < CI_PIXELS; ++i) { /* past the row's end: the last pixel again */
                    px[i] = ox + i < out_d.w ? ox + i : out_d.w - 1;
                }
                for (i = 0; i < CI_PIXELS; i += 2) {
                    if (flip) { /* constant flips: no XOR for uint8 */
                        gather_pairs(in, in_d, win, oy, px[i], px[i + 1], 0x80u, pad_u, a);
                    } else {
                        gather_pairs(in, in_d, win, oy, px[i], px[i + 1], 0u, pad_u, a);
                    }
                    pair_tables(a, ng, tail, tab + (i / 2) * CI_GROUPS * 32);
                }
                switch (ng) {
                case 1: ci_channels1(tb, tb + CI_TAB_BYTES, offs, bias, nc, w); break;
                case 2: ci_channels2(tb, tb + CI_TAB_BYTES, offs, bias, nc, w); break;
                case 3: ci_channels3(tb, tb + CI_TAB_BYTES, offs, bias, nc, w); break;
                case 4: ci_channels4(tb, tb + CI_TAB_BYTES, offs, bias, nc, w); break;
                case 5: ci_channels5(tb, tb + CI_TAB_BYTES, offs, bias, nc, w); break;
                case 6: ci_channels6(tb, tb + CI_TAB_BYTES, offs, bias, nc, w); break;
                default: ci_channels7(tb, tb + CI_TAB_BYTES, offs, bias, nc, w); break;
                }
                for (f = f0; f < f1; ++f) { /* the undecided channels: p in [lo', t')? */
                    int32_t oc = fix->channels[f] - c0;
                    uint32_t t_lvl = (bias[oc] + 1u) & 0xFFFFu; /* t' */
                    /* lo' = lo + c; c = t' - thresh unless t' was clamped */
                    int32_t c = t_lvl > 0u && t_lvl < 0x8000u ? (int32_t)t_lvl - thresh[c0 + oc]
                                                              : ci_shift(weights[c0 + oc], pad_u, k, ng);
                    uint32_t m = ci_band(tb, offs + oc * ng, ng, (uint32_t)ci_level(fix->lo[f], c) * 0x10001u,
                                         t_lvl * 0x10001u);
                    for (i = 0; m != 0u; ++i, m >>= 1) { /* rare: the float sum decides */
                        if (m & 1u) {
                            uint32_t one = 1u << (oc & 31), *word = &w[(oc >> 5) * 4 + i];
                            float acc = ci_fix_sum(in, in_d, flip, fix->table, weights + c0 + oc, win, oy, px[i]);
                            *word = acc >= fix->f_thresh[f] ? *word | one : *word & ~one;
                        }
                    }
                }
                for (i = 0; i < CI_PIXELS; ++i) { /* a pixel written twice gets the same bits */
                    uint32_t *pix = out + (oy * out_d.w + px[i]) * out_words + c0 / 32;
                    pix[0] = w[i];
                    if (nc > 32) {
                        pix[1] = w[4 + i];
                    }
                }
            }
        }
    }
}

/* Windows over BNN_INT_TABLE_MAX_TAPS taps: the plain sum over the valid taps (undecided channels of
 * fix: the float sum where lo <= acc < thresh). Inlined like conv_int_thresh. */
static CI_INLINE void conv_int_thresh_direct(const uint8_t *in, bnn_dims in_d, int32_t offset,
                                   uint32_t flip, const uint32_t *weights,
                                   const int32_t *thresh, const bnn_int_fix *fix,
                                   const bnn_window *win, uint32_t *out, bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w, w_words = BNN_WORDS(k);
    int32_t out_words = BNN_WORDS(out_d.c), plane = in_d.h * in_d.w;
    int32_t oy, ox, o, ci, ky, kx;
    int32_t q_offset = offset + (flip ? 128 : 0);
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            int32_t f = 0;
            for (o = 0; o < out_words; ++o) {
                pix[o] = 0u;
            }
            for (o = 0; o < out_d.c; ++o) {
                const uint32_t *w_o = weights + o * w_words;
                int32_t acc = 0, bit = 0, on;
                for (ci = 0; ci < in_d.c; ++ci) {
                    for (ky = 0; ky < win->k_h; ++ky) {
                        int32_t iy = oy * win->stride_h - win->pad_top + ky * win->dil_h;
                        for (kx = 0; kx < win->k_w; ++kx, ++bit) {
                            int32_t ix = ox * win->stride_w - win->pad_left + kx * win->dil_w;
                            int32_t v;
                            if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                                continue;
                            }
                            v = (int32_t)(in[ci * plane + iy * in_d.w + ix] ^ flip) - q_offset;
                            acc += ((w_o[bit >> 5] >> (bit & 31)) & 1u) ? v : -v;
                        }
                    }
                }
                on = acc >= thresh[o];
                if (fix != NULL && f < fix->n && fix->channels[f] == o) {
                    if (!on && acc >= fix->lo[f]) {
                        on = ci_fix_sum(in, in_d, flip, fix->table, w_o, win, oy, ox) >= fix->f_thresh[f];
                    }
                    ++f;
                }
                pix[o >> 5] |= (uint32_t)on << (o & 31);
            }
        }
    }
}

/* The direct loop without and with undecided channels (out of line: the table path's caller stays small). */
static CI_NOINLINE void conv_int_direct(const uint8_t *in, bnn_dims in_d, int32_t offset, uint32_t flip,
                                        const uint32_t *weights, const int32_t *thresh, const bnn_window *win,
                                        uint32_t *out, bnn_dims out_d)
{
    conv_int_thresh_direct(in, in_d, offset, flip, weights, thresh, NULL, win, out, out_d);
}

static CI_NOINLINE void conv_int_direct_fix(const uint8_t *in, bnn_dims in_d, int32_t offset, uint32_t flip,
                                            const uint32_t *weights, const int32_t *thresh,
                                            const bnn_int_fix *fix, const bnn_window *win, uint32_t *out,
                                            bnn_dims out_d)
{
    conv_int_thresh_direct(in, in_d, offset, flip, weights, thresh, fix, win, out, out_d);
}

static void conv_int(const uint8_t *in, bnn_dims in_d, int32_t offset, uint32_t flip,
                     const uint32_t *weights, const int32_t *thresh, const bnn_window *win, uint32_t *out,
                     bnn_dims out_d)
{
    if (in_d.c * win->k_h * win->k_w <= BNN_INT_TABLE_MAX_TAPS) {
        conv_int_thresh(in, in_d, offset, flip, weights, thresh, NULL, win, out, out_d);
    } else {
        conv_int_direct(in, in_d, offset, flip, weights, thresh, win, out, out_d);
    }
}

static void conv_int_fix(const uint8_t *in, bnn_dims in_d, int32_t offset, uint32_t flip,
                         const uint32_t *weights, const int32_t *thresh, const bnn_int_fix *fix,
                         const bnn_window *win, uint32_t *out, bnn_dims out_d)
{
    if (in_d.c * win->k_h * win->k_w <= BNN_INT_TABLE_MAX_TAPS) {
        conv_int_thresh(in, in_d, offset, flip, weights, thresh, fix, win, out, out_d);
    } else {
        conv_int_direct_fix(in, in_d, offset, flip, weights, thresh, fix, win, out, out_d);
    }
}

void bnn_conv2d_u8_thresh(const uint8_t *in, bnn_dims in_d, int32_t offset,
                          const uint32_t *weights, const int32_t *thresh, const bnn_window *win,
                          uint32_t *out, bnn_dims out_d)
{
    conv_int(in, in_d, offset, 0u, weights, thresh, win, out, out_d);
}

void bnn_conv2d_s8_thresh(const int8_t *in, bnn_dims in_d, int32_t offset,
                          const uint32_t *weights, const int32_t *thresh, const bnn_window *win,
                          uint32_t *out, bnn_dims out_d)
{
    conv_int((const uint8_t *)(const void *)in, in_d, offset, 0x80u, weights, thresh, win, out, out_d);
}

void bnn_conv2d_u8_thresh_fix(const uint8_t *in, bnn_dims in_d, int32_t offset,
                              const uint32_t *weights, const int32_t *thresh,
                              const bnn_int_fix *fix, const bnn_window *win, uint32_t *out,
                              bnn_dims out_d)
{
    conv_int_fix(in, in_d, offset, 0u, weights, thresh, fix, win, out, out_d);
}

void bnn_conv2d_s8_thresh_fix(const int8_t *in, bnn_dims in_d, int32_t offset,
                              const uint32_t *weights, const int32_t *thresh,
                              const bnn_int_fix *fix, const bnn_window *win, uint32_t *out,
                              bnn_dims out_d)
{
    conv_int_fix((const uint8_t *)(const void *)in, in_d, offset, 0x80u, weights, thresh, fix, win, out,
                 out_d);
}
