/*
 * bnn_conv_real_grouped.c - the FAST (opt-in) real-input conv with binary weights:
 * bnn_conv2d_f32_thresh_grouped / bnn_conv2d_f32_f32_grouped. The compiler calls them only when
 * asked (`--fast-real-conv`) and only for windows of at most BNN_REAL_GROUPED_MAX_TAPS taps
 * (3x3 on 3 channels, 5x5 on 1); a default build never references this file.
 *
 * They sum in the grouped order of bnn.h: the taps (order ci, ky, kx) split into groups of
 * BNN_REAL_GROUP_TAPS, each group into a low and a high half, each half summed from 0.0f tap by
 * tap, the group sum = low + high, and acc = group 0 + group 1 + ... in order. This is NOT
 * onnxruntime's order (bnn_conv_real.c keeps that one): on inputs that are not exactly summable
 * a sign within rounding of its threshold can differ. A half or group sum depends only on
 * the inputs and the weight bits of its own taps, so per output pixel the kernel tabulates every
 * group's sum for all 2^5 weight patterns once (about 2 float operations per entry), and each
 * output channel then adds one table entry per group: 6 lookups instead of 27 additions on a
 * 3x3x3 window. Two horizontally adjacent output pixels share each lookup (the tables of both
 * are interleaved). Taps outside the image are 0.0f.
 * bnn_ref.c computes the same operations directly, so the two agree bit for bit.
 * A larger window falls back to the tap-by-tap kernels of bnn_conv_real.c.
 */
#include "bnn.h"

#define RG_TAPS BNN_REAL_GROUP_TAPS
#define RG_TABLE 64 /* floats per group: 32 weight patterns x 2 output pixels */
#define RG_FLOATS (RG_TABLE * (BNN_REAL_GROUPED_MAX_TAPS / RG_TAPS) + 8)

/* The k taps of output pixel (oy, ox), order (ci, ky, kx); 0.0f outside the image. */
static void gather_taps(const float *in, bnn_dims in_d, const bnn_window *win, int32_t oy,
                        int32_t ox, float *x)
{
    int32_t plane = in_d.h * in_d.w, ci, ky, kx;
    int32_t iy0 = oy * win->stride_h - win->pad_top, ix0 = ox * win->stride_w - win->pad_left;
    int32_t inside = iy0 >= 0 && iy0 + (win->k_h - 1) * win->dil_h < in_d.h && ix0 >= 0 &&
                     ix0 + (win->k_w - 1) * win->dil_w < in_d.w;
    for (ci = 0; ci < in_d.c; ++ci) {
        const float *ch = in + ci * plane;
        for (ky = 0; ky < win->k_h; ++ky) {
            int32_t iy = iy0 + ky * win->dil_h;
            const float *row = ch + iy * in_d.w + ix0;
            if (inside && win->k_w == 3 && win->dil_w == 1) { /* the common 3x3 window */
                x[0] = row[0];
                x[1] = row[1];
                x[2] = row[2];
                x += 3;
            } else if (inside) {
                for (kx = 0; kx < win->k_w; ++kx) {
                    *x++ = row[kx * win->dil_w];
                }
            } else {
                int32_t row_ok = iy >= 0 && iy < in_d.h;
                for (kx = 0; kx < win->k_w; ++kx) {
                    int32_t ix = ix0 + kx * win->dil_w;
                    *x++ = (row_ok && ix >= 0 && ix < in_d.w) ? row[kx * win->dil_w] : 0.0f;
                }
            }
        }
    }
}

#if !BNN_COMPACT
/* The table of a full group (5 taps), all in registers: halves of 3 and 2 taps, then the
 * 32 sums t[2 * (i + 8 * j)] = low[i] + high[j]. */
#define RG_ROW(j, bj)                                                                       \
    do {                                                                                    \
        float b_ = (bj);                                                                    \
        float *r_ = t + 16 * (j);                                                           \
        r_[0] = l0 + b_;                                                                    \
        r_[2] = l1 + b_;                                                                    \
        r_[4] = l2 + b_;                                                                    \
        r_[6] = l3 + b_;                                                                    \
        r_[8] = l4 + b_;                                                                    \
        r_[10] = l5 + b_;                                                                   \
        r_[12] = l6 + b_;                                                                   \
        r_[14] = l7 + b_;                                                                   \
    } while (0)

static void group_table5(const float *x, float *t)
{
    float x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4];
    float m = 0.0f - x0, p = 0.0f + x0;                       /* patterns of tap 0 */
    float mm = m - x1, pm = p - x1, mp = m + x1, pp = p + x1; /* bit 0 = tap 0, bit 1 = tap 1 */
    float l0 = mm - x2, l1 = pm - x2, l2 = mp - x2, l3 = pp - x2;
    float l4 = mm + x2, l5 = pm + x2, l6 = mp + x2, l7 = pp + x2;
    float hm = 0.0f - x3, hp = 0.0f + x3;
    RG_ROW(0, hm - x4);
    RG_ROW(1, hp - x4);
    RG_ROW(2, hm + x4);
    RG_ROW(3, hp + x4);
}

/* The same for the short last group of a window (n = 1 to 4 taps): halves of at most 2 taps. */
static void group_table_short(const float *x, int32_t n, float *t)
{
    int32_t lo = (n + 1) / 2;
    float m = 0.0f - x[0], p = 0.0f + x[0];
    float a0 = m, a1 = p, a2 = 0.0f, a3 = 0.0f, b0, b1, b2 = 0.0f, b3 = 0.0f;
    if (lo == 2) {
        a0 = m - x[1];
        a1 = p - x[1];
        a2 = m + x[1];
        a3 = p + x[1];
    }
    if (n == lo) {
        t[0] = a0;
        t[2] = a1;
        if (lo == 2) {
            t[4] = a2;
            t[6] = a3;
        }
        return;
    }
    b0 = 0.0f - x[lo];
    b1 = 0.0f + x[lo];
    if (n - lo == 2) {
        float c = x[lo + 1];
        b2 = b0 + c;
        b3 = b1 + c;
        b0 = b0 - c;
        b1 = b1 - c;
    }
    if (lo == 1) { /* n = 2: t[i + 2j] */
        t[0] = a0 + b0;
        t[2] = a1 + b0;
        t[4] = a0 + b1;
        t[6] = a1 + b1;
        return;
    }
    /* lo = 2: n = 3 (t[i + 4j], j < 2) or n = 4 (j < 4) */
    t[0] = a0 + b0;
    t[2] = a1 + b0;
    t[4] = a2 + b0;
    t[6] = a3 + b0;
    t[8] = a0 + b1;
    t[10] = a1 + b1;
    t[12] = a2 + b1;
    t[14] = a3 + b1;
    if (n == 4) {
        t[16] = a0 + b2;
        t[18] = a1 + b2;
        t[20] = a2 + b2;
        t[22] = a3 + b2;
        t[24] = a0 + b3;
        t[26] = a1 + b3;
        t[28] = a2 + b3;
        t[30] = a3 + b3;
    }
}

/* 31 << 3: the byte offset of a 5-bit pattern in a table of float pairs. Read through a volatile
 * so that the compiler keeps it in a register, where one AND with a shifted operand extracts and
 * scales the pattern. */
static const volatile uint32_t rg_mask8_storage = 31u << 3;
#define rg_mask8 (rg_mask8_storage)

/* a0, a1 (the two pixels) = the grouped sums over NG groups for output channel bits. Groups 4 to
 * 6 are addressed from tab_hi so that every load has a small constant offset. */
#define RG_LOOK(j)                                                                          \
    do {                                                                                    \
        const char *e_ = (const char *)((j) < 4 ? tab : tab_hi) +                           \
                         ((bits >> (RG_TAPS * (j) - 3)) & mask8);                            \
        const float *t_ = (const float *)(const void *)e_ + ((j) & 3) * RG_TABLE;           \
        a0 += t_[0];                                                                        \
        a1 += t_[1];                                                                        \
    } while (0)

#define RG_SUMS(NG)                                                                         \
    const float *t0_ = tab + 2 * (bits & 31u);                                              \
    float a0 = t0_[0], a1 = t0_[1];                                                         \
    if ((NG) > 1) RG_LOOK(1);                                                               \
    if ((NG) > 2) RG_LOOK(2);                                                               \
    if ((NG) > 3) RG_LOOK(3);                                                               \
    if ((NG) > 4) RG_LOOK(4);                                                               \
    if ((NG) > 5) RG_LOOK(5);                                                               \
    if ((NG) > 6) RG_LOOK(6)

/* LOOP(NG) with NG a constant, so each copy unrolls its groups. */
#define RG_SWITCH(ng, LOOP)                                                                 \
    switch (ng) {                                                                           \
    case 1: LOOP(1); break;                                                                 \
    case 2: LOOP(2); break;                                                                 \
    case 3: LOOP(3); break;                                                                 \
    case 4: LOOP(4); break;                                                                 \
    case 5: LOOP(5); break;                                                                 \
    case 6: LOOP(6); break;                                                                 \
    default: LOOP(7); break;                                                                \
    }

/* Tables of output pixels (oy, ox) and (oy, ox1), interleaved; returns the group count. */
static int32_t pair_tables(const float *in, bnn_dims in_d, const bnn_window *win, int32_t oy,
                           int32_t ox, int32_t ox1, float *tab)
{
    float x0[BNN_REAL_GROUPED_MAX_TAPS], x1[BNN_REAL_GROUPED_MAX_TAPS];
    int32_t k = in_d.c * win->k_h * win->k_w, j;
    gather_taps(in, in_d, win, oy, ox, x0);
    gather_taps(in, in_d, win, oy, ox1, x1);
    for (j = 0; j * RG_TAPS < k; ++j) {
        int32_t n = k - j * RG_TAPS < RG_TAPS ? k - j * RG_TAPS : RG_TAPS;
        if (n == RG_TAPS) {
            group_table5(x0 + j * RG_TAPS, tab + j * RG_TABLE);
            group_table5(x1 + j * RG_TAPS, tab + j * RG_TABLE + 1);
        } else {
            group_table_short(x0 + j * RG_TAPS, n, tab + j * RG_TABLE);
            group_table_short(x1 + j * RG_TAPS, n, tab + j * RG_TABLE + 1);
        }
    }
    return j;
}

/* Threshold output: 32 channels per word, both pixels. */
#define RG_THRESH(NG)                                                                       \
    do {                                                                                    \
        const uint32_t *w_ = weights;                                                       \
        const float *th_ = thresh;                                                          \
        const uint32_t mask8 = rg_mask8;                                                          \
        int32_t wi_, left_ = out_d.c;                                                       \
        for (wi_ = 0; wi_ < out_words; ++wi_, left_ -= 32) {                                \
            uint32_t w0 = 0u, w1 = 0u, m_ = 1u;                                             \
            int32_t n_ = left_ < 32 ? left_ : 32;                                           \
            do {                                                                            \
                uint32_t bits = *w_++;                                                      \
                float th;                                                                   \
                RG_SUMS(NG);                                                                \
                th = *th_++;                                                                \
                if (a0 >= th) {                                                             \
                    w0 |= m_;                                                               \
                }                                                                           \
                if (a1 >= th) {                                                             \
                    w1 |= m_;                                                               \
                }                                                                           \
                m_ <<= 1;                                                                   \
            } while (--n_ != 0);                                                            \
            pix0[wi_] = w0;                                                                 \
            pix1[wi_] = w1;                                                                 \
        }                                                                                   \
    } while (0)

static void grouped_thresh(const float *in, bnn_dims in_d, const uint32_t *weights,
                           const float *thresh, const bnn_window *win, uint32_t *out,
                           bnn_dims out_d)
{
    int32_t out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox;
    float tab[RG_FLOATS];
    const float *tab_hi = tab + 4 * RG_TABLE;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ox += 2) {
            int32_t ox1 = ox + 1 < out_d.w ? ox + 1 : ox; /* a lone last pixel: computed twice */
            uint32_t *pix0 = out + (oy * out_d.w + ox) * out_words;
            uint32_t *pix1 = out + (oy * out_d.w + ox1) * out_words;
            int32_t ng = pair_tables(in, in_d, win, oy, ox, ox1, tab);
            RG_SWITCH(ng, RG_THRESH)
        }
    }
}

/* Real output: scale * acc + bias, CHW. */
#define RG_F32(NG)                                                                          \
    do {                                                                                    \
        int32_t o_;                                                                         \
        const uint32_t mask8 = rg_mask8;                                                    \
        for (o_ = 0; o_ < out_d.c; ++o_) {                                                  \
            uint32_t bits = weights[o_];                                                    \
            RG_SUMS(NG);                                                                    \
            dst0[o_ * plane] = scale[o_] * a0 + bias[o_];                                   \
            dst1[o_ * plane] = scale[o_] * a1 + bias[o_];                                   \
        }                                                                                   \
    } while (0)

static void grouped_f32(const float *in, bnn_dims in_d, const uint32_t *weights,
                        const float *scale, const float *bias, const bnn_window *win, float *out,
                        bnn_dims out_d)
{
    int32_t plane = out_d.h * out_d.w;
    int32_t oy, ox;
    float tab[RG_FLOATS];
    const float *tab_hi = tab + 4 * RG_TABLE;
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ox += 2) {
            int32_t ox1 = ox + 1 < out_d.w ? ox + 1 : ox;
            float *dst0 = out + oy * out_d.w + ox;
            float *dst1 = out + oy * out_d.w + ox1;
            int32_t ng = pair_tables(in, in_d, win, oy, ox, ox1, tab);
            RG_SWITCH(ng, RG_F32)
        }
    }
}
#else
/* Compact build: the grouped order computed directly (as in bnn_ref.c), one output at a time. */
static float grouped_acc(const float *x, int32_t k, uint32_t bits)
{
    float acc = 0.0f;
    int32_t j, i;
    for (j = 0; j * RG_TAPS < k; ++j) {
        int32_t n = k - j * RG_TAPS < RG_TAPS ? k - j * RG_TAPS : RG_TAPS;
        int32_t lo = (n + 1) / 2;
        float h[2] = {0.0f, 0.0f}, g;
        for (i = 0; i < n; ++i) {
            float xi = x[j * RG_TAPS + i];
            float *s = &h[i >= lo];
            *s = ((bits >> (j * RG_TAPS + i)) & 1u) ? *s + xi : *s - xi;
        }
        g = n > lo ? h[0] + h[1] : h[0];
        acc = j == 0 ? g : acc + g;
    }
    return acc;
}

static void grouped_thresh(const float *in, bnn_dims in_d, const uint32_t *weights,
                           const float *thresh, const bnn_window *win, uint32_t *out,
                           bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w, out_words = BNN_WORDS(out_d.c);
    int32_t oy, ox, o;
    float x[BNN_REAL_GROUPED_MAX_TAPS];
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            uint32_t *pix = out + (oy * out_d.w + ox) * out_words;
            gather_taps(in, in_d, win, oy, ox, x);
            for (o = 0; o < out_words; ++o) {
                pix[o] = 0u;
            }
            for (o = 0; o < out_d.c; ++o) {
                pix[o >> 5] |= (uint32_t)(grouped_acc(x, k, weights[o]) >= thresh[o]) << (o & 31);
            }
        }
    }
}

static void grouped_f32(const float *in, bnn_dims in_d, const uint32_t *weights,
                        const float *scale, const float *bias, const bnn_window *win, float *out,
                        bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w, plane = out_d.h * out_d.w;
    int32_t oy, ox, o;
    float x[BNN_REAL_GROUPED_MAX_TAPS];
    for (oy = 0; oy < out_d.h; ++oy) {
        for (ox = 0; ox < out_d.w; ++ox) {
            gather_taps(in, in_d, win, oy, ox, x);
            for (o = 0; o < out_d.c; ++o) {
                out[o * plane + oy * out_d.w + ox] =
                    scale[o] * grouped_acc(x, k, weights[o]) + bias[o];
            }
        }
    }
}
#endif

void bnn_conv2d_f32_thresh_grouped(const float *in, bnn_dims in_d, const uint32_t *weights,
                                   const float *thresh, const bnn_window *win, uint32_t *out,
                                   bnn_dims out_d)
{
    if (in_d.c * win->k_h * win->k_w > BNN_REAL_GROUPED_MAX_TAPS) {
        bnn_conv2d_f32_thresh(in, in_d, weights, thresh, win, out, out_d);
        return;
    }
    grouped_thresh(in, in_d, weights, thresh, win, out, out_d);
}

void bnn_conv2d_f32_f32_grouped(const float *in, bnn_dims in_d, const uint32_t *weights,
                                const float *scale, const float *bias, const bnn_window *win,
                                float *out, bnn_dims out_d)
{
    if (in_d.c * win->k_h * win->k_w > BNN_REAL_GROUPED_MAX_TAPS) {
        bnn_conv2d_f32_f32(in, in_d, weights, scale, bias, win, out, out_d);
        return;
    }
    grouped_f32(in, in_d, weights, scale, bias, win, out, out_d);
}
