/*
 * bnn_conv_real.c - convolution of a REAL (float CHW) input with binary weights: the first
 * layer of most BNNs. Each product is +x or -x, so the kernel only adds and subtracts.
 * The DEFAULT (exact) order: acc = 0.0f, then acc + x or acc - x over the valid taps in order
 * ci, ky, kx, as in the reference, so the float results agree bit for bit. With +-1 weights this
 * is onnxruntime's result (im2col + MLAS SGEMM accumulates acc +- x in the same order for
 * windows inside one K block; tests/e2e checks it on random non-dyadic inputs). The faster
 * grouped order is opt-in: bnn_conv_real_grouped.c.
 *
 * Per output pixel the window is gathered once as pairs (-x, +x), in weight order; every
 * output channel then adds pair[bit] for each weight bit: no branch, no index arithmetic.
 * Taps outside the image hold (-0, -0): acc + (-0.0f) == acc for every acc (+0 stays +0),
 * so they change nothing, exactly like skipping them.
 */
#include "bnn.h"
#include "bnn_pairs.h"

/* Window taps (c_in * k_h * k_w) gathered on the stack: 2 floats each, 1 KiB (a 3-channel 5x5
 * first layer is 75 taps). Larger windows use the tap-by-tap loop. A multiple of 4
 * (bnn_add_pairs pads to whole groups). */
#define BNN_REAL_PATCH_TAPS 128

/* Whether a window of k taps goes through the gathered pairs. The compact build (BNN_COMPACT,
 * bnn.h) keeps only the tap-by-tap loop: the pair code is then dead and compiled out. */
#if BNN_COMPACT
#define BNN_USE_PAIRS(k) 0
#else
#define BNN_USE_PAIRS(k) ((k) <= BNN_REAL_PATCH_TAPS)
#endif

static void gather_pairs(const float *in, bnn_dims in_d, const bnn_window *win, int32_t oy,
                         int32_t ox, float *pairs)
{
    int32_t plane = in_d.h * in_d.w, ci, ky, kx;
    int32_t iy0 = oy * win->stride_h - win->pad_top, ix0 = ox * win->stride_w - win->pad_left;
    for (ci = 0; ci < in_d.c; ++ci) {
        for (ky = 0; ky < win->k_h; ++ky) {
            int32_t iy = iy0 + ky * win->dil_h;
            for (kx = 0; kx < win->k_w; ++kx, pairs += 2) {
                int32_t ix = ix0 + kx * win->dil_w;
                if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                    pairs[0] = -0.0f;
                    pairs[1] = -0.0f;
                } else {
                    float x = in[ci * plane + iy * in_d.w + ix];
                    pairs[0] = -x;
                    pairs[1] = x;
                }
            }
        }
    }
    for (ci = in_d.c * win->k_h * win->k_w; ci % 4 != 0; ++ci, pairs += 2) {
        pairs[0] = -0.0f; /* pad to whole groups of four taps */
        pairs[1] = -0.0f;
    }
}

/* Four output pixels of a row times four output channels per pass (bnn_conv2d_f32_thresh / _f32 for
 * windows of at most BNN_REAL_QUAD_TAPS taps). The window of the four pixels is gathered once per
 * pass into x4 (x4[4 t + l] = input of pixel ox + l at tap t, weight order); the weights become a
 * table of +-1.0f (signs[4 (g k4 + t) + j] = weight bit t of channel 4 g + j), and every sum is
 * acc = fma(x, +-1.0f, acc) tap by tap: x * +-1 is exact, so each step rounds acc +- x exactly like
 * the one-pixel loop's add or subtract, in the same order. Taps outside the image, pixels past the
 * row and the padding to whole groups of four taps hold x = -0 (with sign +1.0f), which adds
 * nothing: acc + -0 == acc, and acc, which starts at +0 and rounds to nearest, is never -0.
 *   - BNN_REAL_MVE (Helium with float, M55): one vector lane per pixel, a VFMA by a scalar sign per
 *     tap and channel; only when flush_safe (below), as Helium flushes denormals.
 *   - BNN_REAL_VFMA (any FPU with fused multiply-add: M4, M7, M33, M55 outside Helium): sixteen
 *     accumulators in FPU registers, per tap one VLDM of the four inputs, one VLDM of the four
 *     signs and sixteen VFMA (18 instructions for 16 MACs; the scalar FPU does not flush).
 *   - otherwise (the host): the same products and sums in C (-ffp-contract=off keeps them apart;
 *     x * +-1 then acc + that is the same rounding as the fused form).
 * Soft-float cores (a library call per add) and the compact build keep the one-pixel loop. */
#if !BNN_COMPACT && (!defined(__arm__) || (defined(__ARM_FP) && (__ARM_FP & 4)))
#define BNN_REAL_QUAD 1
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2) && !defined(BNN_NO_MVE)
#include <arm_mve.h>
#define BNN_REAL_MVE 1
#endif
#if defined(__arm__) && defined(__ARM_FEATURE_FMA) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(BNN_NO_ASM)
#define BNN_REAL_VFMA 1
#endif
#endif

#if defined(BNN_REAL_QUAD)
#define BNN_REAL_QUAD_TAPS 64 /* 1 KiB of inputs on the stack */
#define BNN_REAL_SIGNS 512    /* 2 KiB of signs: channels per block = 512 / taps, in steps of 4 */

typedef union {
    float f;
    uint32_t u;
} bnn_real_bits;

/* Clang vectorizes small float loops at -O2, with Helium on the M55, whose float instructions
 * flush denormals (below): the loops that must stay on the scalar FPU say so. */
#if defined(__clang__)
#define BNN_SCALAR_LOOP _Pragma("clang loop vectorize(disable) interleave(disable) unroll(disable)")
#else
#define BNN_SCALAR_LOOP
#endif

static void gather_x4(const float *in, bnn_dims in_d, const bnn_window *win, int32_t oy, int32_t ox,
                      int32_t n_px, float *x4)
{
    int32_t plane = in_d.h * in_d.w, ci, ky, kx, l, t = 0;
    int32_t iy0 = oy * win->stride_h - win->pad_top, ix0 = ox * win->stride_w - win->pad_left;
    int contiguous = n_px == 4 && win->stride_w == 1 && ix0 >= 0 &&
                     ix0 + 3 + (win->k_w - 1) * win->dil_w < in_d.w;
    for (ci = 0; ci < in_d.c; ++ci) {
        for (ky = 0; ky < win->k_h; ++ky) {
            int32_t iy = iy0 + ky * win->dil_h;
            const float *row = in + ci * plane + iy * in_d.w;
            int row_ok = iy >= 0 && iy < in_d.h;
            if (row_ok && contiguous) { /* four neighbouring inputs per tap */
                const float *src = row + ix0;
                for (kx = 0; kx < win->k_w; ++kx, ++t, x4 += 4, src += win->dil_w) {
                    x4[0] = src[0];
                    x4[1] = src[1];
                    x4[2] = src[2];
                    x4[3] = src[3];
                }
                continue;
            }
#if defined(BNN_REAL_MVE)
            if (win->stride_w == 1) { /* a border: the lanes inside the row, +0 elsewhere */
                for (kx = 0; kx < win->k_w; ++kx, ++t, x4 += 4) {
                    int32_t ix = ix0 + kx * win->dil_w, hi = in_d.w - ix, lo = -ix;
                    mve_pred16_t in_row;
                    hi = hi < n_px ? hi : n_px;
                    in_row = row_ok && hi > 0 ? vctp32q((uint32_t)hi) : 0;
                    in_row &= lo > 0 ? (mve_pred16_t)~vctp32q((uint32_t)lo) : 0xffff;
                    /* inactive lanes are not read: ix may point before the row */
                    vstrwq_f32(x4, vldrwq_z_f32(row + ix, in_row));
                }
                continue;
            }
#endif
            for (kx = 0; kx < win->k_w; ++kx, ++t, x4 += 4) {
                for (l = 0; l < 4; ++l) {
                    int32_t ix = ix0 + l * win->stride_w + kx * win->dil_w;
                    x4[l] = row_ok && l < n_px && ix >= 0 && ix < in_d.w ? row[ix] : -0.0f;
                }
            }
        }
    }
    for (; t % 4 != 0; ++t, x4 += 4) { /* whole groups of four taps */
        x4[0] = x4[1] = x4[2] = x4[3] = -0.0f;
    }
}

/* The signs of channels c0 .. c0 + n - 1 (n a multiple of 4; channels from c_out on get +1.0f,
 * their sums are never stored), k4 taps each (taps from k on: +1.0f, against x = -0). */
static void sign_table(const uint32_t *weights, int32_t w_words, int32_t k, int32_t k4, int32_t c0,
                       int32_t n, int32_t c_out, float *signs)
{
    int32_t c, t;
    for (c = c0; c < c0 + n; ++c) {
        uint32_t *dst = (uint32_t *)(void *)(signs + ((c - c0) >> 2) * 4 * k4 + ((c - c0) & 3));
        const uint32_t *w = weights + c * w_words;
        uint32_t bits = 0u;
        for (t = 0; t < k4; ++t, bits >>= 1, dst += 4) {
            if ((t & 31) == 0) { /* taps from k on, and channels from c_out on: +1.0f */
                bits = c >= c_out ? ~0u : t < k ? w[t >> 5] | (k - t < 32 ? ~0u << (k - t) : 0u) : ~0u;
            }
            *dst = 0xbf800000u + (bits << 31); /* -1.0f, or +1.0f */
        }
    }
}

/* Channels per sign table: as many as fit, a multiple of 32 or a power of two below 32 (so a
 * block never splits a 32-channel word unevenly). */
static int32_t sign_block(int32_t k4, int32_t c_out)
{
    int32_t fit = BNN_REAL_SIGNS / k4, b = 4;
    int32_t c4 = (c_out + 3) & ~3;
    if (fit >= c4) {
        return c4;
    }
    if (fit >= 32) {
        return fit & ~31;
    }
    while (b * 2 <= fit) {
        b *= 2;
    }
    return b;
}

/* s[4 j + l]: the sum of channel j (of four) at pixel l (of four) over k4 taps. */
typedef struct {
    float s[16];
} bnn_sums16;

static inline bnn_sums16 sums_4x4(const float *x4, const float *signs, int32_t k4)
{
    bnn_sums16 r;
#if defined(BNN_REAL_VFMA)
    /* s8-s23 the sixteen accumulators (loaded from zeros, stored to r), s0-s3 the four inputs and
     * s4-s7 the four signs of a tap; four taps per loop pass */
    static const float zeros[16] = {0.0f};
    int32_t t = k4;
#define BNN_VFMA_TAP                                                                             \
    "vldmia %[x]!, {s0-s3}\n\t"                                                                  \
    "vldmia %[s]!, {s4-s7}\n\t"                                                                  \
    "vfma.f32 s8, s0, s4\n\tvfma.f32 s9, s1, s4\n\tvfma.f32 s10, s2, s4\n\t"                     \
    "vfma.f32 s11, s3, s4\n\tvfma.f32 s12, s0, s5\n\tvfma.f32 s13, s1, s5\n\t"                   \
    "vfma.f32 s14, s2, s5\n\tvfma.f32 s15, s3, s5\n\tvfma.f32 s16, s0, s6\n\t"                   \
    "vfma.f32 s17, s1, s6\n\tvfma.f32 s18, s2, s6\n\tvfma.f32 s19, s3, s6\n\t"                   \
    "vfma.f32 s20, s0, s7\n\tvfma.f32 s21, s1, s7\n\tvfma.f32 s22, s2, s7\n\t"                   \
    "vfma.f32 s23, s3, s7\n\t"
    __asm__("vldmia %[z], {s8-s23}\n"
            "1:\n\t" BNN_VFMA_TAP BNN_VFMA_TAP BNN_VFMA_TAP BNN_VFMA_TAP
            "subs %[t], %[t], #4\n\t"
            "bne 1b\n\t"
            "vstmia %[r], {s8-s23}"
            : [x] "+r"(x4), [s] "+r"(signs), [t] "+r"(t), "=m"(r)
            : [z] "r"(zeros), [r] "r"(r.s), "m"(zeros)
            : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12",
              "s13", "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "cc",
              "memory");
#undef BNN_VFMA_TAP
#else
    int32_t t, i;
    for (i = 0; i < 16; ++i) {
        r.s[i] = 0.0f;
    }
    for (t = 0; t < k4; ++t, x4 += 4, signs += 4) {
        BNN_SCALAR_LOOP
        for (i = 0; i < 16; ++i) {
            float p = x4[i & 3] * signs[i >> 2]; /* exact: +-x */
            r.s[i] += p;
        }
    }
#endif
    return r;
}

#if defined(BNN_REAL_MVE)
/* Helium with float (M55): the pixels in vector lanes. Helium's float instructions run with the
 * standard FPSCR value (Armv8.1-M: flush-to-zero and default NaN): a denormal input, sum or
 * threshold would become 0 there and not in the scalar code or in onnxruntime. So this path runs
 * only when no input x has 0 < |x| < 2^-103 and no threshold is denormal: every input is then 0 or
 * a multiple of 2^-126, so is every partial sum, and a nonzero one is never denormal; NaN and inf
 * inputs give a NaN or inf sum and the same comparison in both. Otherwise, and for float outputs
 * (scale * acc + bias could be denormal), the scalar FPU runs (sums_4x4). */

/* 1 if no input is a nonzero below 2^-103 in magnitude and no threshold is denormal. */
static int flush_safe(const float *in, int32_t n, const float *thresh, int32_t n_thresh)
{
    const uint32_t *u = (const uint32_t *)(const void *)in;
    const uint32_t *t = (const uint32_t *)(const void *)thresh;
    int32_t i;
    uint32_t tiny = 0u;
    for (i = 0; i < n; ++i) { /* (u << 1) - 1 wraps for +-0: 0 < |x| < 2^-103 */
        tiny |= (uint32_t)((u[i] << 1) - 1u < 0x17ffffffu);
    }
    for (i = 0; i < n_thresh; ++i) { /* 0 < |t| < 2^-126 */
        tiny |= (uint32_t)((t[i] << 1) - 1u < 0x00ffffffu);
    }
    return tiny == 0u;
}

/* The bits (acc_j >= thresh) of four channels c..c+3 at four pixels, OR-ed into word (lane = pixel):
 * per tap one vector of inputs and four VFMA by the channels' signs. */
static inline uint32x4_t thresh_4x4_mve(const float *x4, const float *signs, int32_t k4,
                                         const float *thresh, int32_t c, uint32x4_t word)
{
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0, x;
    uint32_t s0, s1, s2, s3;
    int32_t t = k4;
#if defined(__GNUC__) && !defined(BNN_NO_ASM)
    /* per tap 7 instructions (GCC's loop: 11, four separate sign loads and a pointer add) */
#define BNN_MVE_TAP                                                                              \
    "vldrw.32 %q[x], [%[xp]], #16\n\t"                                                         \
    "ldrd %[s0], %[s1], [%[sp]], #8\n\t"                                                         \
    "ldrd %[s2], %[s3], [%[sp]], #8\n\t"                                                         \
    "vfma.f32 %q[a0], %q[x], %[s0]\n\t"                                                         \
    "vfma.f32 %q[a1], %q[x], %[s1]\n\t"                                                         \
    "vfma.f32 %q[a2], %q[x], %[s2]\n\t"                                                         \
    "vfma.f32 %q[a3], %q[x], %[s3]\n\t"
    __asm__("1:\n\t" BNN_MVE_TAP BNN_MVE_TAP BNN_MVE_TAP BNN_MVE_TAP
            "subs %[t], %[t], #4\n\t"
            "bne 1b"
            : [a0] "+w"(a0), [a1] "+w"(a1), [a2] "+w"(a2), [a3] "+w"(a3), [x] "=&w"(x),
              [xp] "+r"(x4), [sp] "+r"(signs), [t] "+r"(t), [s0] "=&r"(s0), [s1] "=&r"(s1),
              [s2] "=&r"(s2), [s3] "=&r"(s3)
            :
            : "cc", "memory");
#undef BNN_MVE_TAP
#else
    for (; t > 0; --t, x4 += 4, signs += 4) {
        x = vldrwq_f32(x4);
        a0 = vfmaq_n_f32(a0, x, signs[0]);
        a1 = vfmaq_n_f32(a1, x, signs[1]);
        a2 = vfmaq_n_f32(a2, x, signs[2]);
        a3 = vfmaq_n_f32(a3, x, signs[3]);
    }
    (void)s0, (void)s1, (void)s2, (void)s3;
#endif
    word = vorrq_m_u32(word, word, vdupq_n_u32(1u << (c & 31)), vcmpgeq_n_f32(a0, thresh[0]));
    word = vorrq_m_u32(word, word, vdupq_n_u32(2u << (c & 31)), vcmpgeq_n_f32(a1, thresh[1]));
    word = vorrq_m_u32(word, word, vdupq_n_u32(4u << (c & 31)), vcmpgeq_n_f32(a2, thresh[2]));
    return vorrq_m_u32(word, word, vdupq_n_u32(8u << (c & 31)), vcmpgeq_n_f32(a3, thresh[3]));
}
#endif

/* The real-input conv, four pixels by four channels at a time; thresholded bits into out_bits
 * (thresh) or scale * acc + bias into out_f (CHW). Not inlined: its buffers stay off the callers'
 * frames. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void conv_real_quads(const float *in, bnn_dims in_d, const uint32_t *weights,
                            const float *thresh, const float *scale, const float *bias,
                            const bnn_window *win, uint32_t *out_bits, float *out_f,
                            bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w, k4 = (k + 3) & ~3, w_words = BNN_WORDS(k);
    int32_t out_words = BNN_WORDS(out_d.c), plane = out_d.h * out_d.w;
    int32_t block = sign_block(k4, out_d.c), c0, oy, ox, c, j, l;
    float x4[4 * BNN_REAL_QUAD_TAPS];
    float signs[BNN_REAL_SIGNS];
#if defined(BNN_REAL_MVE)
    static const uint32_t lane_init[4] = {0u, 1u, 2u, 3u};
    const uint32x4_t offsets = vmulq_n_u32(vldrwq_u32(lane_init), (uint32_t)out_words);
    int vector = out_bits != 0 && flush_safe(in, in_d.c * in_d.h * in_d.w, thresh, out_d.c);
#endif
    for (c0 = 0; c0 < out_d.c; c0 += block) {
        int32_t c_end = c0 + block < out_d.c ? c0 + block : out_d.c;
        sign_table(weights, w_words, k, k4, c0, block, out_d.c, signs);
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ox += 4) {
                int32_t n_px = out_d.w - ox < 4 ? out_d.w - ox : 4;
                uint32_t *pix = out_bits ? out_bits + (oy * out_d.w + ox) * out_words : 0;
                uint32_t w[4] = {0u, 0u, 0u, 0u};
                gather_x4(in, in_d, win, oy, ox, n_px, x4);
#if defined(BNN_REAL_MVE)
                if (vector) {
                    mve_pred16_t lanes = vctp32q((uint32_t)n_px);
                    uint32x4_t word = vdupq_n_u32(0u);
                    for (c = c0; c < c_end; c += 4) {
                        const float *th = thresh + c;
                        float th_pad[4];
                        if (c + 4 > out_d.c) { /* the last channels: NaN compares false */
                            bnn_real_bits nan;
                            nan.u = 0x7fc00000u;
                            for (j = 0; j < 4; ++j) {
                                th_pad[j] = c + j < out_d.c ? thresh[c + j] : nan.f;
                            }
                            th = th_pad;
                        }
                        word = thresh_4x4_mve(x4, signs + (c - c0) * k4, k4, th, c, word);
                        if ((c & 31) == 28 || c + 4 >= c_end) {
                            uint32_t *dst = pix + (c >> 5);
                            if (c - (c & 31) < c0) { /* the word's lower channels: an earlier block */
                                word = vorrq_u32(word, vldrwq_gather_shifted_offset_z_u32(dst, offsets, lanes));
                            }
                            vstrwq_scatter_shifted_offset_p_u32(dst, offsets, word, lanes);
                            word = vdupq_n_u32(0u);
                        }
                    }
                    continue;
                }
#endif
                for (c = c0; c < c_end; c += 4) {
                    bnn_sums16 s = sums_4x4(x4, signs + (c - c0) * k4, k4);
                    int32_t n_ch = c_end - c < 4 ? c_end - c : 4;
                    if (out_f) {
                        for (j = 0; j < n_ch; ++j) {
                            float *d = out_f + (c + j) * plane + oy * out_d.w + ox;
                            BNN_SCALAR_LOOP
                            for (l = 0; l < n_px; ++l) {
                                d[l] = scale[c + j] * s.s[4 * j + l] + bias[c + j];
                            }
                        }
                        continue;
                    }
                    BNN_SCALAR_LOOP
                    for (j = 0; j < n_ch; ++j) {
                        uint32_t bit = (uint32_t)1u << ((c + j) & 31);
                        float t = thresh[c + j];
#if defined(__clang__) && defined(BNN_REAL_MVE) /* clang's SLP would make these one Helium compare */
                        BNN_SCALAR_LOOP
                        for (l = 0; l < 4; ++l) {
                            w[l] |= s.s[4 * j + l] >= t ? bit : 0u;
                        }
#else
                        w[0] |= s.s[4 * j] >= t ? bit : 0u;
                        w[1] |= s.s[4 * j + 1] >= t ? bit : 0u;
                        w[2] |= s.s[4 * j + 2] >= t ? bit : 0u;
                        w[3] |= s.s[4 * j + 3] >= t ? bit : 0u;
#endif
                    }
                    if ((c & 31) == 28 || c + 4 >= c_end) {
                        uint32_t *dst = pix + (c >> 5);
                        int merge = c - (c & 31) < c0; /* the word's lower channels: an earlier block */
                        for (l = 0; l < n_px; ++l, dst += out_words) {
                            *dst = merge ? *dst | w[l] : w[l]; /* pixels past the row: not written */
                            w[l] = 0u;
                        }
                    }
                }
            }
        }
    }
}
#endif

static float conv_real_acc(const float *in, bnn_dims in_d, const uint32_t *w_o,
                           const bnn_window *win, int32_t oy, int32_t ox)
{
    int32_t ky0, ky1, kx0, kx1, ci, ky, kx;
    int32_t plane = in_d.h * in_d.w;
    float acc = 0.0f;
    bnn_tap_range(oy, win->stride_h, win->pad_top, win->dil_h, win->k_h, in_d.h, &ky0, &ky1);
    bnn_tap_range(ox, win->stride_w, win->pad_left, win->dil_w, win->k_w, in_d.w, &kx0, &kx1);
    for (ci = 0; ci < in_d.c; ++ci) {
        for (ky = ky0; ky < ky1; ++ky) {
            int32_t iy = oy * win->stride_h - win->pad_top + ky * win->dil_h;
            const float *row = in + ci * plane + iy * in_d.w;
            int32_t ix = ox * win->stride_w - win->pad_left + kx0 * win->dil_w;
            int32_t bit = (ci * win->k_h + ky) * win->k_w + kx0;
            for (kx = kx0; kx < kx1; ++kx, ++bit, ix += win->dil_w) {
                float x = row[ix];
                if ((w_o[bit >> 5] >> (bit & 31)) & 1u) {
                    acc += x;
                } else {
                    acc -= x;
                }
            }
        }
    }
    return acc;
}

void bnn_conv2d_f32_thresh(const float *in, bnn_dims in_d, const uint32_t *weights,
                           const float *thresh, const bnn_window *win, uint32_t *out,
                           bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w;
    int32_t w_words = BNN_WORDS(k);
    int32_t out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox, o;
    float pairs[2 * BNN_REAL_PATCH_TAPS];
#if defined(BNN_REAL_QUAD)
    if (k <= BNN_REAL_QUAD_TAPS) {
        conv_real_quads(in, in_d, weights, thresh, 0, 0, win, out, 0, out_d);
        return;
    }
#endif
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            uint32_t word = 0u;
            if (BNN_USE_PAIRS(k)) {
                gather_pairs(in, in_d, win, oy, ox, pairs);
            }
            for (o = 0; o < out_d.c; ++o) {
                float acc = BNN_USE_PAIRS(k)
                                ? bnn_add_pairs(0.0f, pairs, weights + o * w_words, k)
                                : conv_real_acc(in, in_d, weights + o * w_words, win, oy, ox);
                word |= (uint32_t)(acc >= thresh[o]) << (o & 31);
                if ((o & 31) == 31 || o == out_d.c - 1) {
                    pix[o >> 5] = word;
                    word = 0u;
                }
            }
        }
    }
}

void bnn_conv2d_f32_f32(const float *in, bnn_dims in_d, const uint32_t *weights,
                        const float *scale, const float *bias, const bnn_window *win, float *out,
                        bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w;
    int32_t w_words = BNN_WORDS(k);
    int32_t plane = out_d.h * out_d.w;
    int32_t oy, ox, o;
    float pairs[2 * BNN_REAL_PATCH_TAPS];
#if defined(BNN_REAL_QUAD)
    if (k <= BNN_REAL_QUAD_TAPS) {
        conv_real_quads(in, in_d, weights, 0, scale, bias, win, 0, out, out_d);
        return;
    }
#endif
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            float *dst = out + oy * out_d.w + ox;
            if (BNN_USE_PAIRS(k)) {
                gather_pairs(in, in_d, win, oy, ox, pairs);
            }
            for (o = 0; o < out_d.c; ++o) {
                const uint32_t *w_o = weights + o * w_words;
                float acc = BNN_USE_PAIRS(k)
                                ? bnn_add_pairs(0.0f, pairs, w_o, k)
                                : conv_real_acc(in, in_d, w_o, win, oy, ox);
                dst[o * plane] = scale[o] * acc + bias[o];
            }
        }
    }
}
