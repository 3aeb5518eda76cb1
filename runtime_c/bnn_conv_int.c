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
 */
#include "bnn.h"
#include "bnn_popcount.h"

#define CI_TAPS 5
#define CI_GROUPS ((BNN_INT_TABLE_MAX_TAPS + CI_TAPS - 1) / CI_TAPS)
#define CI_CHUNK 64 /* output channels per pass (their per-channel data lives on the stack) */
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
#else
#define CI_DSP 0
#endif

#if defined(__GNUC__)
#define CI_NOINLINE __attribute__((noinline))
#else
#define CI_NOINLINE
#endif

/* The taps of output pixels (oy, ox0) and (oy, ox1) in order (ci, ky, kx), one word per tap:
 * u0 | u1 << 16 with u = input byte XOR flip (0x80 for int8: q + 128), pad_u outside the image. */
static void gather_pairs(const uint8_t *in, bnn_dims in_d, const bnn_window *win, int32_t oy,
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

/* Table of one group of 5 taps for both pixels: t[p] = t0 + 2 * (sum of a[b] over the bits b of p),
 * t0 = CI_BIAS - (a[0] + ... + a[4]) per 16-bit lane (so t[p] = 2 P - S of the group + CI_BIAS, never
 * negative). Straight-line: 36 adds and 32 stores. */
static void int_table5(const uint32_t *a, uint32_t *t)
{
    uint32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4];
    uint32_t t0 = CI_BIAS2 - (a0 + a1 + a2 + a3 + a4);
    uint32_t v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15;
    a0 <<= 1;
    a1 <<= 1;
    a2 <<= 1;
    a3 <<= 1;
    a4 <<= 1;
    t[0] = t0;
    t[16] = t0 + a4;
    v1 = t0 + a0;
    t[1] = v1;
    t[17] = v1 + a4;
    v2 = t0 + a1;
    t[2] = v2;
    t[18] = v2 + a4;
    v3 = v2 + a0;
    t[3] = v3;
    t[19] = v3 + a4;
    v4 = t0 + a2;
    t[4] = v4;
    t[20] = v4 + a4;
    v5 = v4 + a0;
    t[5] = v5;
    t[21] = v5 + a4;
    v6 = v4 + a1;
    t[6] = v6;
    t[22] = v6 + a4;
    v7 = v6 + a0;
    t[7] = v7;
    t[23] = v7 + a4;
    v8 = t0 + a3;
    t[8] = v8;
    t[24] = v8 + a4;
    v9 = v8 + a0;
    t[9] = v9;
    t[25] = v9 + a4;
    v10 = v8 + a1;
    t[10] = v10;
    t[26] = v10 + a4;
    v11 = v10 + a0;
    t[11] = v11;
    t[27] = v11 + a4;
    v12 = v8 + a2;
    t[12] = v12;
    t[28] = v12 + a4;
    v13 = v12 + a0;
    t[13] = v13;
    t[29] = v13 + a4;
    v14 = v12 + a1;
    t[14] = v14;
    t[30] = v14 + a4;
    v15 = v14 + a0;
    t[15] = v15;
    t[31] = v15 + a4;
}

/* The same for a last group of n < 5 taps. */
static void int_table_short(const uint32_t *a, int32_t n, uint32_t *t)
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
/* 16 channels at a time collect in r: pixel 0 in bits 0-15, pixel 1 in bits 16-31, each new bit
 * entering at the top of its half (no more than 16, so no bit crosses into the other half). */
#define CI_DEFINE_CHANNELS(NG)                                                                  \
    static CI_NOINLINE void ci_channels##NG(const uint8_t *tb, const uint16_t *off,             \
                                            const uint32_t *bm1, int32_t nc, uint32_t *w0,      \
                                            uint32_t *w1)                                       \
    {                                                                                           \
        int32_t h, i, m;                                                                        \
        for (h = 0; h < nc; h += 16) {                                                          \
            uint32_t r = 0u;                                                                    \
            m = nc - h < 16 ? nc - h : 16;                                                      \
            for (i = 0; i < m; ++i, off += NG) {                                                \
                r = (r >> 1) | (ci_usub16(bm1[h + i], CI_SUM(NG)) & 0x80008000u);               \
            }                                                                                   \
            w0[h >> 5] |= ((r & 0xFFFFu) >> (16 - m)) << (h & 16);                              \
            w1[h >> 5] |= (r >> (32 - m)) << (h & 16);                                          \
        }                                                                                       \
    }
#else
/* Channels from the last of each word down, each bit shifted in at the bottom. */
#define CI_DEFINE_CHANNELS(NG)                                                                  \
    static CI_NOINLINE void ci_channels##NG(const uint8_t *tb, const uint16_t *offs,            \
                                            const uint32_t *bm1, int32_t nc, uint32_t *w0,      \
                                            uint32_t *w1)                                       \
    {                                                                                           \
        int32_t h, o;                                                                           \
        for (h = 0; h < nc; h += 32) {                                                          \
            int32_t last = nc - h < 32 ? nc - 1 : h + 31;                                       \
            const uint16_t *off = offs + last * NG;                                             \
            uint32_t x0 = 0u, x1 = 0u;                                                          \
            for (o = last; o >= h; --o, off -= NG) {                                            \
                uint32_t p = CI_SUM(NG);                                                        \
                x0 = (x0 << 1) | (((bm1[o] - (p & 0xFFFFu)) >> 15) & 1u);                       \
                x1 = (x1 << 1) | (((bm1[o] - (p >> 16)) >> 15) & 1u);                           \
            }                                                                                   \
            w0[h >> 5] = x0;                                                                    \
            w1[h >> 5] = x1;                                                                    \
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

/* acc = 2 P - S - pad_u (2 n1 - k) >= thresh (n1 = popcount of the channel's weights) <=>
 * p = 2 P - S + ng CI_BIAS >= thresh + pad_u (2 n1 - k) + ng CI_BIAS = bias (clamped at 0: p >= 0).
 * Per pair of output pixels each group of 5 taps gets a table of 2 P - S + CI_BIAS for its 32 weight
 * patterns, both pixels in the 16-bit halves of a word; per output channel the byte offsets of its
 * patterns' entries (offs) and its bias are prepared once per call. */
static void conv_int_thresh(const uint8_t *in, bnn_dims in_d, int32_t offset, uint32_t flip,
                            const uint32_t *weights, const int32_t *thresh,
                            const bnn_window *win, uint32_t *out, bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w, out_words = BNN_WORDS(out_d.c);
    int32_t ng = (k + CI_TAPS - 1) / CI_TAPS, tail = k - (ng - 1) * CI_TAPS;
    uint32_t pad_u = (uint32_t)(offset + (flip ? 128 : 0));
    uint32_t a[CI_GROUPS * CI_TAPS];
    uint32_t tab[CI_GROUPS * 32];
    uint16_t offs[CI_CHUNK * CI_GROUPS];
    uint32_t bias[CI_CHUNK];
    const uint8_t *tb = (const uint8_t *)tab;
    int32_t c0, oy, ox, o, j;
    for (c0 = 0; c0 < out_d.c; c0 += CI_CHUNK) {
        int32_t nc = out_d.c - c0 < CI_CHUNK ? out_d.c - c0 : CI_CHUNK;
        for (o = 0; o < nc; ++o) {
            uint32_t bits = weights[c0 + o];
            int32_t b = thresh[c0 + o] + (int32_t)pad_u * (2 * (int32_t)bnn_popcount32(bits) - k)
                        + ng * (int32_t)CI_BIAS;
            b = b < 0 ? 0 : b; /* p >= 0 always: on */
            bias[o] = ((uint32_t)(b - 1) & 0xFFFFu) * (CI_DSP ? 0x10001u : 1u); /* bias - 1, 16 bits */
            for (j = 0; j < ng; ++j) {
                offs[o * ng + j] = (uint16_t)((32 * j + (int32_t)((bits >> (CI_TAPS * j)) & 31u)) * 4);
            }
        }
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ox += 2) {
                int32_t ox1 = ox + 1 < out_d.w ? ox + 1 : ox; /* a lone last pixel: computed twice */
                uint32_t *pix0 = out + (oy * out_d.w + ox) * out_words + c0 / 32;
                uint32_t *pix1 = out + (oy * out_d.w + ox1) * out_words + c0 / 32;
                uint32_t w0[CI_CHUNK / 32] = {0u}, w1[CI_CHUNK / 32] = {0u};
                gather_pairs(in, in_d, win, oy, ox, ox1, flip, pad_u, a);
                for (j = 0; j < ng - 1; ++j) {
                    int_table5(a + j * CI_TAPS, tab + 32 * j);
                }
                if (tail == CI_TAPS) {
                    int_table5(a + j * CI_TAPS, tab + 32 * j);
                } else {
                    int_table_short(a + j * CI_TAPS, tail, tab + 32 * j);
                }
                switch (ng) {
                case 1: ci_channels1(tb, offs, bias, nc, w0, w1); break;
                case 2: ci_channels2(tb, offs, bias, nc, w0, w1); break;
                case 3: ci_channels3(tb, offs, bias, nc, w0, w1); break;
                case 4: ci_channels4(tb, offs, bias, nc, w0, w1); break;
                case 5: ci_channels5(tb, offs, bias, nc, w0, w1); break;
                case 6: ci_channels6(tb, offs, bias, nc, w0, w1); break;
                default: ci_channels7(tb, offs, bias, nc, w0, w1); break;
                }
                pix0[0] = w0[0];
                pix1[0] = w1[0]; /* pix1 == pix0 for a lone last pixel: same value */
                if (nc > 32) {
                    pix0[1] = w0[1];
                    pix1[1] = w1[1];
                }
            }
        }
    }
}

/* Windows over BNN_INT_TABLE_MAX_TAPS taps: the plain sum over the valid taps. */
static void conv_int_thresh_direct(const uint8_t *in, bnn_dims in_d, int32_t offset,
                                   uint32_t flip, const uint32_t *weights,
                                   const int32_t *thresh, const bnn_window *win, uint32_t *out,
                                   bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w, w_words = BNN_WORDS(k);
    int32_t out_words = BNN_WORDS(out_d.c), plane = in_d.h * in_d.w;
    int32_t oy, ox, o, ci, ky, kx;
    int32_t q_offset = offset + (flip ? 128 : 0);
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            for (o = 0; o < out_words; ++o) {
                pix[o] = 0u;
            }
            for (o = 0; o < out_d.c; ++o) {
                const uint32_t *w_o = weights + o * w_words;
                int32_t acc = 0, bit = 0;
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
                pix[o >> 5] |= (uint32_t)(acc >= thresh[o]) << (o & 31);
            }
        }
    }
}

void bnn_conv2d_u8_thresh(const uint8_t *in, bnn_dims in_d, int32_t offset,
                          const uint32_t *weights, const int32_t *thresh, const bnn_window *win,
                          uint32_t *out, bnn_dims out_d)
{
    if (in_d.c * win->k_h * win->k_w <= BNN_INT_TABLE_MAX_TAPS) {
        conv_int_thresh(in, in_d, offset, 0u, weights, thresh, win, out, out_d);
    } else {
        conv_int_thresh_direct(in, in_d, offset, 0u, weights, thresh, win, out, out_d);
    }
}

void bnn_conv2d_s8_thresh(const int8_t *in, bnn_dims in_d, int32_t offset,
                          const uint32_t *weights, const int32_t *thresh, const bnn_window *win,
                          uint32_t *out, bnn_dims out_d)
{
    const uint8_t *bytes = (const uint8_t *)(const void *)in;
    if (in_d.c * win->k_h * win->k_w <= BNN_INT_TABLE_MAX_TAPS) {
        conv_int_thresh(bytes, in_d, offset, 0x80u, weights, thresh, win, out, out_d);
    } else {
        conv_int_thresh_direct(bytes, in_d, offset, 0x80u, weights, thresh, win, out, out_d);
    }
}

/* The listed channels again, in float: acc = 0.0f, then acc = acc + x or acc - x over the valid taps in
 * order (ci, ky, kx), x = table[u] (u = q, or q + 128 for int8), exactly bnn_conv2d_f32_thresh on the cast
 * input; their bits in out are overwritten with acc >= thresh[i]. For the few channels whose integer
 * threshold passes/int_input.py cannot prove (the float sum alone decides them). */
static void conv_int_fix_f32(const uint8_t *in, bnn_dims in_d, uint32_t flip, const float *table,
                             const uint32_t *weights, int32_t n_fix, const int32_t *channels,
                             const float *thresh, const bnn_window *win, uint32_t *out,
                             bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w, w_words = BNN_WORDS(k);
    int32_t out_words = BNN_WORDS(out_d.c), plane = in_d.h * in_d.w;
    int32_t oy, ox, i, ci, ky, kx;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            for (i = 0; i < n_fix; ++i) {
                int32_t o = channels[i], bit = 0;
                const uint32_t *w_o = weights + o * w_words;
                float acc = 0.0f;
                for (ci = 0; ci < in_d.c; ++ci) {
                    for (ky = 0; ky < win->k_h; ++ky) {
                        int32_t iy = oy * win->stride_h - win->pad_top + ky * win->dil_h;
                        for (kx = 0; kx < win->k_w; ++kx, ++bit) {
                            int32_t ix = ox * win->stride_w - win->pad_left + kx * win->dil_w;
                            float x;
                            if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                                continue;
                            }
                            x = table[in[ci * plane + iy * in_d.w + ix] ^ flip];
                            acc = ((w_o[bit >> 5] >> (bit & 31)) & 1u) ? acc + x : acc - x;
                        }
                    }
                }
                pix[o >> 5] = (pix[o >> 5] & ~(1u << (o & 31))) | ((uint32_t)(acc >= thresh[i]) << (o & 31));
            }
        }
    }
}

void bnn_conv2d_u8_fix_f32(const uint8_t *in, bnn_dims in_d, const float *table,
                           const uint32_t *weights, int32_t n_fix, const int32_t *channels,
                           const float *thresh, const bnn_window *win, uint32_t *out, bnn_dims out_d)
{
    conv_int_fix_f32(in, in_d, 0u, table, weights, n_fix, channels, thresh, win, out, out_d);
}

void bnn_conv2d_s8_fix_f32(const int8_t *in, bnn_dims in_d, const float *table,
                           const uint32_t *weights, int32_t n_fix, const int32_t *channels,
                           const float *thresh, const bnn_window *win, uint32_t *out, bnn_dims out_d)
{
    conv_int_fix_f32((const uint8_t *)(const void *)in, in_d, 0x80u, table, weights, n_fix, channels,
                     thresh, win, out, out_d);
}
