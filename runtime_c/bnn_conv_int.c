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

/* u of the k taps of output pixel (oy, ox) in order (ci, ky, kx): input bytes XOR flip (0x80
 * for int8: q + 128), pad_u outside the image; returns their sum S. */
static int32_t gather_u(const uint8_t *in, bnn_dims in_d, const bnn_window *win, int32_t oy,
                        int32_t ox, uint32_t flip, uint32_t pad_u, uint32_t *u)
{
    int32_t plane = in_d.h * in_d.w, ci, ky, kx, s = 0;
    int32_t iy0 = oy * win->stride_h - win->pad_top, ix0 = ox * win->stride_w - win->pad_left;
    for (ci = 0; ci < in_d.c; ++ci) {
        for (ky = 0; ky < win->k_h; ++ky) {
            int32_t iy = iy0 + ky * win->dil_h;
            for (kx = 0; kx < win->k_w; ++kx) {
                int32_t ix = ix0 + kx * win->dil_w;
                uint32_t v = pad_u;
                if (iy >= 0 && iy < in_d.h && ix >= 0 && ix < in_d.w) {
                    v = in[ci * plane + iy * in_d.w + ix] ^ flip;
                }
                *u++ = v;
                s += (int32_t)v;
            }
        }
    }
    return s;
}

/* Table of one group of n taps for both pixels: t[p] = P0(p) | P1(p) << 16. */
static void int_group_table(const uint32_t *u0, const uint32_t *u1, int32_t n, uint32_t *t)
{
    int32_t b, i;
    t[0] = 0u;
    for (b = 0; b < n; ++b) {
        uint32_t add = u0[b] | (u1[b] << 16);
        int32_t half = 1 << b;
        for (i = 0; i < half; ++i) {
            t[half + i] = t[i] + add;
        }
    }
}

static void conv_int_thresh(const uint8_t *in, bnn_dims in_d, int32_t offset, uint32_t flip,
                            const uint32_t *weights, const int32_t *thresh,
                            const bnn_window *win, uint32_t *out, bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w, out_words = BNN_WORDS(out_d.c);
    uint32_t pad_u = (uint32_t)(offset + (flip ? 128 : 0));
    int32_t oy, ox, o;
    uint32_t u0[BNN_INT_TABLE_MAX_TAPS], u1[BNN_INT_TABLE_MAX_TAPS];
    uint32_t tab[CI_GROUPS * 32];
    int32_t ng = (k + CI_TAPS - 1) / CI_TAPS;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ox += 2) {
            int32_t ox1 = ox + 1 < out_d.w ? ox + 1 : ox; /* a lone last pixel: computed twice */
            uint32_t *pix0 = out + (oy * out_d.w + ox) * out_words;
            uint32_t *pix1 = out + (oy * out_d.w + ox1) * out_words;
            int32_t s0 = gather_u(in, in_d, win, oy, ox, flip, pad_u, u0);
            int32_t s1 = gather_u(in, in_d, win, oy, ox1, flip, pad_u, u1);
            int32_t j, wi = 0;
            uint32_t w0 = 0u, w1 = 0u;
            for (j = 0; j < ng; ++j) {
                int32_t n = k - j * CI_TAPS < CI_TAPS ? k - j * CI_TAPS : CI_TAPS;
                int_group_table(u0 + j * CI_TAPS, u1 + j * CI_TAPS, n, tab + 32 * j);
            }
            for (o = 0; o < out_d.c; ++o) {
                uint32_t bits = weights[o], p = 0u;
                /* 2 P - S - pad_u (2 n1 - k) >= t  <=>  2 P >= t + S + pad_u (2 n1 - k) */
                int32_t base = thresh[o] + (int32_t)pad_u * (2 * (int32_t)bnn_popcount32(bits) - k);
                const uint32_t *t = tab;
                for (j = 0; j < ng; ++j, t += 32, bits >>= CI_TAPS) {
                    p += t[bits & 31u];
                }
                w0 |= (uint32_t)(2 * (int32_t)(p & 0xFFFFu) >= base + s0) << (o & 31);
                w1 |= (uint32_t)(2 * (int32_t)(p >> 16) >= base + s1) << (o & 31);
                if ((o & 31) == 31 || o == out_d.c - 1) {
                    pix0[wi] = w0;
                    pix1[wi] = w1; /* pix1 == pix0 for a lone last pixel: same value */
                    ++wi;
                    w0 = w1 = 0u;
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
