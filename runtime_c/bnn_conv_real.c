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

/* Four output pixels of a row at once (bnn_conv2d_f32_thresh / _f32 for windows of at most
 * BNN_REAL_QUAD_TAPS taps): on Helium with float (BNN_REAL_MVE) one vector lane per pixel, on a
 * scalar FPU (BNN_REAL_QUAD: M4, M7, M33; and the host) four accumulators in FPU registers. Each
 * pixel sums its taps in the same order as the one-pixel loop. Soft-float cores (a library call per
 * add) and the compact build keep the one-pixel loop. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2) && !defined(BNN_NO_MVE) && !BNN_COMPACT
#include <arm_mve.h>
#define BNN_REAL_MVE 1
#elif !BNN_COMPACT && (!defined(__arm__) || (defined(__ARM_FP) && (__ARM_FP & 4)))
#define BNN_REAL_QUAD 1
#endif

#if defined(BNN_REAL_MVE) || defined(BNN_REAL_QUAD)
#define BNN_REAL_QUAD_TAPS 64 /* 2 KiB of quads on the stack */

/* The window of pixels (oy, ox + l), l < n_px, as quads: q[8 t + l] = -x and q[8 t + 4 + l] = +x of
 * pixel ox + l at tap t (weight order), so weight bit b of tap t picks the four floats at
 * q + 8 t + 4 b: one VLDM, or one Helium vector. Taps outside the image and pixels past the row hold
 * -0 (acc + -0 == acc); padded with -0 to a multiple of 4 taps. */
static void gather_quads(const float *in, bnn_dims in_d, const bnn_window *win, int32_t oy,
                         int32_t ox, int32_t n_px, float *q)
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
                for (kx = 0; kx < win->k_w; ++kx, ++t, q += 8, src += win->dil_w) {
#if defined(BNN_REAL_MVE) /* the same as below, in one vector (its callers avoid denormals) */
                    float32x4_t x = vldrwq_f32(src);
                    vstrwq_f32(q, vnegq_f32(x));
                    vstrwq_f32(q + 4, x);
#else
                    float x0 = src[0], x1 = src[1], x2 = src[2], x3 = src[3];
                    q[0] = -x0;
                    q[1] = -x1;
                    q[2] = -x2;
                    q[3] = -x3;
                    q[4] = x0;
                    q[5] = x1;
                    q[6] = x2;
                    q[7] = x3;
#endif
                }
                continue;
            }
            for (kx = 0; kx < win->k_w; ++kx, ++t, q += 8) {
                for (l = 0; l < 4; ++l) {
                    int32_t ix = ix0 + l * win->stride_w + kx * win->dil_w;
                    if (row_ok && l < n_px && ix >= 0 && ix < in_d.w) {
                        float x = row[ix];
                        q[l] = -x;
                        q[4 + l] = x;
                    } else {
                        q[l] = -0.0f;
                        q[4 + l] = -0.0f;
                    }
                }
            }
        }
    }
    for (; t % 4 != 0; ++t, q += 8) { /* whole groups of four taps */
        for (l = 0; l < 8; ++l) {
            q[l] = -0.0f;
        }
    }
}

#endif

#if defined(BNN_REAL_MVE)
/* Helium with float (M55): four output pixels of a row at once, one per vector lane. Each lane
 * runs the same sums in the same order as the scalar code (acc = 0, then acc + x or acc - x tap by
 * tap), and VADD.F32 rounds to nearest like the scalar add. But Helium's float instructions run
 * with the standard FPSCR value (Armv8.1-M: flush-to-zero and default NaN): a denormal input, sum
 * or threshold would become 0 there and not in the scalar code or in onnxruntime. So the vector
 * path runs only when no input x has 0 < |x| < 2^-103 and no threshold is denormal: every input
 * is then 0 or a multiple of 2^-126, so is every partial sum, and a nonzero one is never
 * denormal; NaN and inf inputs give a NaN or inf sum and the same comparison in both. Otherwise,
 * and for float outputs (scale * acc + bias could be denormal), the scalar loop runs. */

/* The four lanes' sums over the k taps of weight row w, in tap order. */
static inline float32x4_t add_pairs4(const float *q, const uint32_t *w, int32_t k)
{
    float32x4_t acc = vdupq_n_f32(0.0f);
    int32_t groups = (k + 3) / 4;
    while (groups > 0) {
        uint32_t bits = *w++;
        int32_t m = groups < 8 ? groups : 8;
        groups -= m;
        do {
            acc = vaddq_f32(acc, vldrwq_f32(q + ((bits & 1u) << 2)));
            acc = vaddq_f32(acc, vldrwq_f32(q + 8 + ((bits & 2u) << 1)));
            acc = vaddq_f32(acc, vldrwq_f32(q + 16 + (bits & 4u)));
            acc = vaddq_f32(acc, vldrwq_f32(q + 24 + ((bits & 8u) >> 1)));
            bits >>= 4;
            q += 32;
        } while (--m != 0);
    }
    return acc;
}

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

static void conv_real_thresh_mve(const float *in, bnn_dims in_d, const uint32_t *weights,
                                 const float *thresh, const bnn_window *win, uint32_t *out,
                                 bnn_dims out_d)
{
    static const uint32_t lane_init[4] = {0u, 1u, 2u, 3u};
    int32_t k = in_d.c * win->k_h * win->k_w, w_words = BNN_WORDS(k);
    int32_t out_words = BNN_WORDS(out_d.c), oy, ox, o;
    const uint32x4_t offsets = vmulq_n_u32(vldrwq_u32(lane_init), (uint32_t)out_words);
    float quads[8 * BNN_REAL_QUAD_TAPS];
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ox += 4) {
            int32_t n_px = out_d.w - ox < 4 ? out_d.w - ox : 4;
            mve_pred16_t lanes = vctp32q((uint32_t)n_px);
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            uint32x4_t word = vdupq_n_u32(0u);
            gather_quads(in, in_d, win, oy, ox, n_px, quads);
            for (o = 0; o < out_d.c; ++o) {
                float32x4_t acc = add_pairs4(quads, weights + o * w_words, k);
                word = vorrq_m_u32(word, word, vdupq_n_u32(1u << (o & 31)),
                                   vcmpgeq_n_f32(acc, thresh[o]));
                if ((o & 31) == 31 || o == out_d.c - 1) {
                    vstrwq_scatter_shifted_offset_p_u32(pix + (o >> 5), offsets, word, lanes);
                    word = vdupq_n_u32(0u);
                }
            }
        }
    }
}

#endif

#if defined(BNN_REAL_QUAD)
/* The four pixels' sums over the k taps of weight row w, in tap order, on the scalar FPU (which
 * does not flush denormals; no FMA): the same bits as the one-pixel loop. */
typedef struct {
    float a0, a1, a2, a3;
} bnn_quad_sums;

static inline bnn_quad_sums add_quads(const float *q, const uint32_t *w, int32_t k)
{
    bnn_quad_sums acc;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    int32_t groups = (k + 3) / 4;
    while (groups > 0) {
        uint32_t bits = *w++;
        int32_t m = groups < 8 ? groups : 8;
        groups -= m;
#if defined(__thumb2__) && defined(__ARM_FP) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(BNN_NO_ASM)
        /* per tap: the quad's address, one VLDM of its four floats, four VADDs (8 instructions
         * for 4 MACs; GCC's code loaded each float on its own and did not unroll: 14) */
#define BNN_QUAD_TAP(i)                                                                      \
    __asm__("ubfx %[r], %[bits], #" #i ", #1\n\t"                                           \
            "add %[r], %[q], %[r], lsl #4\n\t"                                               \
            "vldmia %[r], {s8-s11}\n\t"                                                      \
            "vadd.f32 %[a0], %[a0], s8\n\t"                                                  \
            "vadd.f32 %[a1], %[a1], s9\n\t"                                                  \
            "vadd.f32 %[a2], %[a2], s10\n\t"                                                 \
            "vadd.f32 %[a3], %[a3], s11\n\t"                                                 \
            "add %[q], %[q], #32"                                                            \
            : [a0] "+t"(a0), [a1] "+t"(a1), [a2] "+t"(a2), [a3] "+t"(a3), [q] "+r"(q),        \
              [r] "=&r"(r)                                                                   \
            : [bits] "r"(bits)                                                               \
            : "s8", "s9", "s10", "s11", "memory")
        do {
            uint32_t r;
            BNN_QUAD_TAP(0);
            BNN_QUAD_TAP(1);
            BNN_QUAD_TAP(2);
            BNN_QUAD_TAP(3);
            bits >>= 4;
        } while (--m != 0);
#undef BNN_QUAD_TAP
#else
        for (m *= 4; m > 0; --m, bits >>= 1, q += 8) {
            const float *p = q + ((bits & 1u) << 2);
            a0 += p[0];
            a1 += p[1];
            a2 += p[2];
            a3 += p[3];
        }
#endif
    }
    acc.a0 = a0;
    acc.a1 = a1;
    acc.a2 = a2;
    acc.a3 = a3;
    return acc;
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
#if defined(BNN_REAL_MVE)
    if (k <= BNN_REAL_QUAD_TAPS &&
        flush_safe(in, in_d.c * in_d.h * in_d.w, thresh, out_d.c)) {
        conv_real_thresh_mve(in, in_d, weights, thresh, win, out, out_d);
        return;
    }
#endif
#if defined(BNN_REAL_QUAD)
    if (k <= BNN_REAL_QUAD_TAPS) {
        float quads[8 * BNN_REAL_QUAD_TAPS];
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ox += 4) {
                int32_t n_px = out_d.w - ox < 4 ? out_d.w - ox : 4;
                uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
                uint32_t w0 = 0u, w1 = 0u, w2 = 0u, w3 = 0u;
                gather_quads(in, in_d, win, oy, ox, n_px, quads);
                for (o = 0; o < out_d.c; ++o) {
                    bnn_quad_sums acc = add_quads(quads, weights + o * w_words, k);
                    uint32_t bit = (uint32_t)1u << (o & 31);
                    float t = thresh[o];
                    w0 |= acc.a0 >= t ? bit : 0u;
                    w1 |= acc.a1 >= t ? bit : 0u;
                    w2 |= acc.a2 >= t ? bit : 0u;
                    w3 |= acc.a3 >= t ? bit : 0u;
                    if ((o & 31) == 31 || o == out_d.c - 1) {
                        uint32_t *dst = pix + (o >> 5);
                        dst[0] = w0; /* pixels past the row: their words are not written */
                        if (n_px > 1) {
                            dst[out_words] = w1;
                        }
                        if (n_px > 2) {
                            dst[2 * out_words] = w2;
                        }
                        if (n_px > 3) {
                            dst[3 * out_words] = w3;
                        }
                        w0 = w1 = w2 = w3 = 0u;
                    }
                }
            }
        }
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
        float quads[8 * BNN_REAL_QUAD_TAPS];
        for (oy = 0; oy < out_d.h; ++oy) {
            for (ox = 0; ox < out_d.w; ox += 4) {
                int32_t n_px = out_d.w - ox < 4 ? out_d.w - ox : 4;
                float *dst = out + oy * out_d.w + ox;
                gather_quads(in, in_d, win, oy, ox, n_px, quads);
                for (o = 0; o < out_d.c; ++o) {
                    bnn_quad_sums acc = add_quads(quads, weights + o * w_words, k);
                    float *d = dst + o * plane;
                    d[0] = scale[o] * acc.a0 + bias[o];
                    if (n_px > 1) {
                        d[1] = scale[o] * acc.a1 + bias[o];
                    }
                    if (n_px > 2) {
                        d[2] = scale[o] * acc.a2 + bias[o];
                    }
                    if (n_px > 3) {
                        d[3] = scale[o] * acc.a3 + bias[o];
                    }
                }
            }
        }
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
