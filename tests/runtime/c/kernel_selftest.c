/*
 * kernel_selftest.c - every optimized runtime kernel against its reference twin on many
 * random cases, on the machine it runs on (host or an emulated Cortex-M).
 *
 * Self-contained: its own PRNG, static buffers sized for 16 KiB of RAM, no file I/O, printf
 * only. Build with every .c file of runtime_c (bnn_ref.c included) and libm, e.g.
 *     cc -std=c99 -O2 -I runtime_c runtime_c/bnn_*.c tests/runtime/c/kernel_selftest.c -lm
 * Returns 0 only if every case matched; prints one line per kernel.
 * Float outputs are compared bit for bit: build both sides with the same flags and without
 * FMA contraction across them (-std=c99 implies -ffp-contract=off in GCC).
 * SELFTEST_CASES (default 120) sets the number of random cases per kernel.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bnn.h"
#include "bnn_ref.h"

/* SELFTEST_WIDE (default 0): also 4608-bit windows, ~19 KiB more RAM (not on the micro:bit). */
#ifndef SELFTEST_WIDE
#define SELFTEST_WIDE 0
#endif
#ifndef SELFTEST_CASES
#define SELFTEST_CASES 120
#endif
#if defined(__GNUC__)
#define SELFTEST_NOINLINE __attribute__((noinline))
#else
#define SELFTEST_NOINLINE
#endif

#define IN_WORDS 256  /* input activations (words or floats) */
#define W_WORDS 768   /* packed weights */
#define OUT_ITEMS 384 /* output floats or words, each side */
#define MAX_C 100

static uint32_t g_in[IN_WORDS];
static uint32_t g_w[W_WORDS];
static uint32_t g_out_a[OUT_ITEMS];
static uint32_t g_out_b[OUT_ITEMS];
static int32_t g_thresh_i[MAX_C];
static float g_thresh_f[MAX_C];
static float g_scale[MAX_C];
static float g_bias[MAX_C];
static float g_fin[IN_WORDS];

static uint32_t g_rng = 0x12345678u;

static uint32_t rnd(void)
{
    /* xorshift32 */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

static int32_t rnd_range(int32_t lo, int32_t hi) /* inclusive */
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

static float rnd_float(void)
{
    /* roughly uniform in [-4, 4), with a few exact zeros. The zeroing is done on the integer:
     * a conditional int-to-float conversion makes GCC 12 emit vcvtne inside an IT block for
     * cortex-m55, which the assembler rejects. */
    int32_t v = (int32_t)(rnd() % 65536u) - 32768;
    v &= -(int32_t)(rnd() % 16u != 0u);
    return (float)v / 8192.0f;
}

/* Float bit patterns the sign and sum paths must handle: -0, +0, denormals, the smallest normal
 * (K_FINITE_SPECIALS of them, finite), then NaNs and infinities. */
static const uint32_t k_specials[] = {0x80000000u, 0x00000000u, 0x80000001u, 0x00000001u,
                                      0x007fffffu, 0x807ffffeu, 0x00800000u, 0x7fc00000u,
                                      0xffc00000u, 0x7f800000u, 0xff800000u, 0x7f800001u};
#define K_FINITE_SPECIALS 7u
#define K_ALL_SPECIALS ((uint32_t)(sizeof k_specials / sizeof k_specials[0]))

/* *x = one of the first n of k_specials, at random. */
static void put_special(float *x, uint32_t n)
{
    memcpy(x, &k_specials[rnd() % n], sizeof(float));
}

static const int32_t k_channels[] = {1, 3, 31, 32, 33, 64, 65, 100};

static int32_t rnd_channels(void)
{
    return k_channels[rnd() % (sizeof k_channels / sizeof k_channels[0])];
}

/* Random bits with the tail bits of every n-bit group cleared. */
static void fill_bits(uint32_t *buf, int32_t groups, int32_t n)
{
    int32_t g, j, words = BNN_WORDS(n);
    for (g = 0; g < groups; ++g) {
        for (j = 0; j < words; ++j) {
            uint32_t v = rnd();
            if (j == words - 1 && n % 32 != 0) {
                v &= ((uint32_t)1u << (n % 32)) - 1u;
            }
            buf[g * words + j] = v;
        }
    }
}

static int32_t out_dim(int32_t size, int32_t k, int32_t stride, int32_t p0, int32_t p1,
                       int32_t dil)
{
    int32_t span = size + p0 + p1 - dil * (k - 1) - 1;
    return span < 0 ? 0 : span / stride + 1;
}

/* A random window and input geometry whose output is non-empty. */
static void rnd_geometry(bnn_window *win, bnn_dims *in_d, bnn_dims *out_d, int32_t c_in,
                         int32_t c_out)
{
    for (;;) {
        int32_t pad_b = rnd_range(0, 2), pad_r = rnd_range(0, 2);
        win->k_h = rnd_range(1, 5);
        win->k_w = rnd_range(1, 5);
        win->stride_h = rnd_range(1, 2);
        win->stride_w = rnd_range(1, 2);
        win->pad_top = rnd_range(0, 2);
        win->pad_left = rnd_range(0, 2);
        win->dil_h = rnd_range(1, 2);
        win->dil_w = rnd_range(1, 2);
        in_d->h = rnd_range(1, 8);
        in_d->w = rnd_range(1, 8);
        in_d->c = c_in;
        out_d->h = out_dim(in_d->h, win->k_h, win->stride_h, win->pad_top, pad_b, win->dil_h);
        out_d->w = out_dim(in_d->w, win->k_w, win->stride_w, win->pad_left, pad_r, win->dil_w);
        out_d->c = c_out;
        if (out_d->h > 0 && out_d->w > 0) {
            return;
        }
    }
}

static int same(const void *a, const void *b, int32_t n_words)
{
    return memcmp(a, b, (size_t)n_words * 4u) == 0;
}

static void fill_params(int32_t n, int32_t max_abs)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        g_thresh_i[i] = rnd_range(-max_abs, max_abs) / (rnd() % 4u == 0u ? 1 : 4);
        g_thresh_f[i] = rnd_float();
        g_scale[i] = rnd_float();
        g_bias[i] = rnd_float();
    }
}

#if SELFTEST_WIDE
/* Transposed weights (groups of `bits` words) -> the group-interleaved layout of
 * bnn_conv2d_bin_thresh_sliced_gi: blocks of 4 groups while 4 remain, then 2, then 1; in a block
 * of g groups (p = 4 / g), word 4 s + l = group l / p's word at bit p s + l % p. */
static void to_gi(const uint32_t *tw, int32_t groups, int32_t bits, uint32_t *gi)
{
    int32_t g0 = 0, g, p, s, l;
    while (g0 < groups) {
        g = groups - g0 >= 4 ? 4 : groups - g0 >= 2 ? 2 : 1;
        p = 4 / g;
        for (s = 0; s < bits / p; ++s) {
            for (l = 0; l < 4; ++l) {
                gi[g0 * bits + 4 * s + l] = tw[(g0 + l / p) * bits + p * s + l % p];
            }
        }
        g0 += g;
    }
}

static uint32_t g_gi[4608];

/* bnn_conv2d_bin_thresh_sliced_gi on tw against the reference on the plain layout. */
static int32_t check_gi(const uint32_t *in, bnn_dims in_d, const uint32_t *tw,
                        const int32_t *thresh, const bnn_window *win, uint32_t *out_a,
                        uint32_t *out_b, bnn_dims out_d)
{
    int32_t bits = win->k_h * win->k_w * in_d.c;
    if (in_d.c % 32 != 0) {
        return 0;
    }
    to_gi(tw, BNN_WORDS(out_d.c), bits, g_gi);
    bnn_conv2d_bin_thresh_sliced_gi(in, in_d, g_gi, thresh, win, out_a, out_d);
    bnn_conv2d_bin_thresh_sliced_ref(in, in_d, tw, thresh, win, out_b, out_d);
    return !same(out_a, out_b, out_d.h * out_d.w * BNN_WORDS(out_d.c));
}
#endif

/* The sliced conv on random transposed weights (in g_w, channels past c_out 0), if the
 * window fits it and the buffer. */
static int32_t check_conv_bin_sliced(const bnn_window *win, bnn_dims in_d, bnn_dims out_d)
{
    int32_t bits = win->k_h * win->k_w * in_d.c, g, j;
    if (bits > BNN_SLICED_MAX_BITS || BNN_WORDS(out_d.c) * bits > W_WORDS) {
        return 0;
    }
    for (g = 0; g < BNN_WORDS(out_d.c); ++g) {
        int32_t n = out_d.c - g * 32 < 32 ? out_d.c - g * 32 : 32;
        for (j = 0; j < bits; ++j) {
            g_w[g * bits + j] = rnd() & (0xffffffffu >> (32 - n));
        }
    }
    bnn_conv2d_bin_thresh_sliced(g_in, in_d, g_w, g_thresh_i, win, g_out_a, out_d);
    bnn_conv2d_bin_thresh_sliced_ref(g_in, in_d, g_w, g_thresh_i, win, g_out_b, out_d);
    if (!same(g_out_a, g_out_b, out_d.h * out_d.w * BNN_WORDS(out_d.c))) {
        return 1;
    }
#if SELFTEST_WIDE
    return check_gi(g_in, in_d, g_w, g_thresh_i, win, g_out_a, g_out_b, out_d);
#else
    return 0;
#endif
}

static int32_t check_conv_bin(void)
{
    int32_t fails = 0, n;
    for (n = 0; n < SELFTEST_CASES; ++n) {
        bnn_window win;
        bnn_dims in_d, out_d;
        int32_t c_in = rnd_channels(), c_out = rnd_channels();
        int32_t out_words, out_floats;
        rnd_geometry(&win, &in_d, &out_d, c_in, c_out);
        out_words = out_d.h * out_d.w * BNN_WORDS(c_out);
        out_floats = out_d.h * out_d.w * c_out;
        if (in_d.h * in_d.w * BNN_WORDS(c_in) > IN_WORDS ||
            c_out * win.k_h * win.k_w * BNN_WORDS(c_in) > W_WORDS || out_floats > OUT_ITEMS) {
            --n; /* too big for the buffers: draw again */
            continue;
        }
        fill_bits(g_in, in_d.h * in_d.w, c_in);
        fill_bits(g_w, c_out * win.k_h * win.k_w, c_in);
        fill_params(c_out, c_in * win.k_h * win.k_w);
        bnn_conv2d_bin_thresh(g_in, in_d, g_w, g_thresh_i, &win, g_out_a, out_d);
        bnn_conv2d_bin_thresh_ref(g_in, in_d, g_w, g_thresh_i, &win, g_out_b, out_d);
        fails += !same(g_out_a, g_out_b, out_words);
        bnn_conv2d_bin_f32(g_in, in_d, g_w, g_scale, g_bias, &win, (float *)g_out_a, out_d);
        bnn_conv2d_bin_f32_ref(g_in, in_d, g_w, g_scale, g_bias, &win, (float *)g_out_b, out_d);
        fails += !same(g_out_a, g_out_b, out_floats);
        fails += check_conv_bin_sliced(&win, in_d, out_d);
    }
    return fails;
}

static int32_t check_conv_real(void)
{
    int32_t fails = 0, n, i;
    for (n = 0; n < SELFTEST_CASES; ++n) {
        bnn_window win;
        bnn_dims in_d, out_d;
        int32_t c_in = rnd_range(1, 4), c_out = rnd_channels();
        int32_t k, out_floats;
        rnd_geometry(&win, &in_d, &out_d, c_in, c_out);
        k = c_in * win.k_h * win.k_w;
        out_floats = out_d.h * out_d.w * c_out;
        if (c_in * in_d.h * in_d.w > IN_WORDS || c_out * BNN_WORDS(k) > W_WORDS ||
            out_floats > OUT_ITEMS) {
            --n;
            continue;
        }
        for (i = 0; i < c_in * in_d.h * in_d.w; ++i) {
            /* every third case: -0, denormals (and sums of them), the smallest normal (no NaN
             * or inf input: a NaN output's sign differs between acc - x and acc + (-x)) */
            g_fin[i] = rnd_float();
            if (n % 3 == 2 && rnd() % 3 == 0) {
                put_special(&g_fin[i], K_FINITE_SPECIALS);
            }
        }
        fill_bits(g_w, c_out, k);
        fill_params(c_out, 1);
        bnn_conv2d_f32_thresh(g_fin, in_d, g_w, g_thresh_f, &win, g_out_a, out_d);
        bnn_conv2d_f32_thresh_ref(g_fin, in_d, g_w, g_thresh_f, &win, g_out_b, out_d);
        fails += !same(g_out_a, g_out_b, out_d.h * out_d.w * BNN_WORDS(c_out));
        bnn_conv2d_f32_f32(g_fin, in_d, g_w, g_scale, g_bias, &win, (float *)g_out_a, out_d);
        bnn_conv2d_f32_f32_ref(g_fin, in_d, g_w, g_scale, g_bias, &win, (float *)g_out_b, out_d);
        fails += !same(g_out_a, g_out_b, out_floats);
        bnn_conv2d_f32_thresh_grouped(g_fin, in_d, g_w, g_thresh_f, &win, g_out_a, out_d);
        bnn_conv2d_f32_thresh_grouped_ref(g_fin, in_d, g_w, g_thresh_f, &win, g_out_b, out_d);
        fails += !same(g_out_a, g_out_b, out_d.h * out_d.w * BNN_WORDS(c_out));
        bnn_conv2d_f32_f32_grouped(g_fin, in_d, g_w, g_scale, g_bias, &win, (float *)g_out_a,
                                   out_d);
        bnn_conv2d_f32_f32_grouped_ref(g_fin, in_d, g_w, g_scale, g_bias, &win,
                                       (float *)g_out_b, out_d);
        fails += !same(g_out_a, g_out_b, out_floats);
    }
    return fails;
}

/* The integer sum of one output pixel and channel (bnn.h): +-(q - offset) over the valid taps. */
static int32_t int_sum_at(const uint8_t *q, int32_t is_s8, bnn_dims in_d, int32_t offset,
                          const uint32_t *w_o, const bnn_window *win, int32_t oy, int32_t ox)
{
    int32_t acc = 0, bit = 0, ci, ky, kx;
    for (ci = 0; ci < in_d.c; ++ci) {
        for (ky = 0; ky < win->k_h; ++ky) {
            for (kx = 0; kx < win->k_w; ++kx, ++bit) {
                int32_t iy = oy * win->stride_h - win->pad_top + ky * win->dil_h;
                int32_t ix = ox * win->stride_w - win->pad_left + kx * win->dil_w, v;
                if (iy < 0 || iy >= in_d.h || ix < 0 || ix >= in_d.w) {
                    continue;
                }
                v = q[(ci * in_d.h + iy) * in_d.w + ix];
                v = (is_s8 ? (int32_t)(int8_t)v : v) - offset;
                acc += ((w_o[bit >> 5] >> (bit & 31)) & 1u) ? v : -v;
            }
        }
    }
    return acc;
}

/* The undecided channels of check_conv_int and their band starts in g_w past its weights (at most 100
 * channels of 4 words), their float thresholds in g_thresh_f, the cast table in g_fin: none of these is
 * used there otherwise, and the micro:bit's 16 KiB of RAM leave no room for more buffers. */
#define FIX_AT 512
#define g_fix_channels ((int32_t *)(g_w + FIX_AT))
#define g_fix_lo ((int32_t *)(g_w + FIX_AT + MAX_C))

/* The undecided channels of an integer-input conv (bnn_int_fix): a random subset, each band from one
 * pixel's sum to another's (ends moved by 0 or 1), float thresholds near x = (q - min) / div summed. */
static void fill_fix(bnn_int_fix *fix, const uint8_t *q, int32_t is_s8, bnn_dims in_d, int32_t offset,
                     const bnn_window *win, bnn_dims out_d)
{
    int32_t k = in_d.c * win->k_h * win->k_w, o, n = 0, i;
    int32_t every = (int32_t)(rnd() % 4u), div = (rnd() & 1u) ? 255 : 7;
    for (i = 0; i < 256; ++i) {
        g_fin[i] = (float)(i + (is_s8 ? -128 : 0)) / (float)div;
    }
    for (o = 0; o < out_d.c; ++o) {
        const uint32_t *w_o = g_w + o * BNN_WORDS(k);
        int32_t s1, s2, t;
        if (every != 0 && (int32_t)(rnd() % 4u) != 0) {
            continue;
        }
        s1 = int_sum_at(q, is_s8, in_d, offset, w_o, win, rnd_range(0, out_d.h - 1), rnd_range(0, out_d.w - 1));
        s2 = int_sum_at(q, is_s8, in_d, offset, w_o, win, rnd_range(0, out_d.h - 1), rnd_range(0, out_d.w - 1));
        t = s1 < s2 ? s1 : s2;
        s2 = s1 < s2 ? s2 : s1;
        s1 = t;
        g_fix_channels[n] = o;
        g_fix_lo[n] = s1 - (int32_t)(rnd() & 1u);
        g_thresh_i[o] = s2 + (int32_t)(rnd() & 1u);
        if ((rnd() & 7u) == 0u) { /* every pixel from lo on undecided (the band's end beyond any sum) */
            g_thresh_i[o] = INT32_MAX;
            g_fix_lo[n] = (rnd() & 1u) ? INT32_MIN : g_fix_lo[n];
        }
        g_thresh_f[n] = (float)(s1 + rnd_range(0, s2 - s1 + 1)) / (float)div;
        ++n;
    }
    fix->n = n;
    fix->channels = g_fix_channels;
    fix->lo = g_fix_lo;
    fix->f_thresh = g_thresh_f;
    fix->table = g_fin;
}

/* The same case with undecided channels (the band tested on the table sums), then the integer input's
 * cast, on g_in (q), g_w (weights) and g_thresh_i as check_conv_int left them. Out of line: inlined, it
 * grew main so that GCC stopped inlining the other checks, and their frames (stacked under main's) broke
 * the micro:bit's stack. */
static SELFTEST_NOINLINE int32_t check_conv_int_fix(int32_t is_s8, bnn_dims in_d, int32_t offset,
                                                    const bnn_window *win, bnn_dims out_d)
{
    bnn_int_fix fix;
    const uint8_t *q = (const uint8_t *)g_in;
    float *table = (float *)g_w; /* the cast's tables, after the conv checks */
    int32_t fails = 0, i, plane, size = in_d.c * in_d.h * in_d.w;
    int32_t words = out_d.h * out_d.w * BNN_WORDS(out_d.c);
    fill_fix(&fix, q, is_s8, in_d, offset, win, out_d);
    if (is_s8) {
        bnn_conv2d_s8_thresh_fix((const int8_t *)g_in, in_d, offset, g_w, g_thresh_i, &fix, win,
                                 g_out_a, out_d);
        bnn_conv2d_s8_thresh_fix_ref((const int8_t *)g_in, in_d, offset, g_w, g_thresh_i, &fix, win,
                                     g_out_b, out_d);
    } else {
        bnn_conv2d_u8_thresh_fix(q, in_d, offset, g_w, g_thresh_i, &fix, win, g_out_a, out_d);
        bnn_conv2d_u8_thresh_fix_ref(q, in_d, offset, g_w, g_thresh_i, &fix, win, g_out_b, out_d);
    }
    fails += !same(g_out_a, g_out_b, words);
    plane = (rnd() & 1u) && in_d.c <= 3 ? in_d.h * in_d.w : size; /* up to 3 tables: 768 floats in g_w */
    for (i = 0; i < (size / plane) * 256; ++i) {
        table[i] = rnd_float();
    }
    if (is_s8) {
        bnn_cast_s8_f32((const int8_t *)g_in, size, plane, table, (float *)g_out_a);
        bnn_cast_s8_f32_ref((const int8_t *)g_in, size, plane, table, (float *)g_out_b);
    } else {
        bnn_cast_u8_f32(q, size, plane, table, (float *)g_out_a);
        bnn_cast_u8_f32_ref(q, size, plane, table, (float *)g_out_b);
    }
    fails += !same(g_out_a, g_out_b, size);
    return fails;
}

/* The integer-input conv (uint8 and int8, tables and direct loop) against its twin: on DSP cores
 * this covers the USUB16 path, which the host build never compiles; then the same with undecided
 * channels (the band tested on the table sums), and the integer input's cast. */
static int32_t check_conv_int(void)
{
    int32_t fails = 0, n, i;
    for (n = 0; n < SELFTEST_CASES; ++n) {
        bnn_window win;
        bnn_dims in_d, out_d;
        int32_t c_in = rnd_range(1, 4), c_out = rnd_channels();
        int32_t k, words, is_s8 = (int32_t)(rnd() & 1u), offset, spread, size;
        uint8_t *q = (uint8_t *)g_in;
        rnd_geometry(&win, &in_d, &out_d, c_in, c_out);
        k = c_in * win.k_h * win.k_w;
        words = out_d.h * out_d.w * BNN_WORDS(c_out);
        size = c_in * in_d.h * in_d.w;
        if (size > 4 * IN_WORDS || c_out * BNN_WORDS(k) > FIX_AT || words > OUT_ITEMS || size > OUT_ITEMS) {
            --n;
            continue;
        }
        for (i = 0; i < size; ++i) {
            q[i] = (uint8_t)((rnd() & 7u) == 0 ? ((rnd() & 1u) ? 0xFFu : 0x00u) : rnd());
        }
        fill_bits(g_w, c_out, k);
        offset = is_s8 ? rnd_range(-128, 127) : rnd_range(0, 255);
        spread = k * ((rnd() & 1u) ? 16 : 255);
        for (i = 0; i < c_out; ++i) {
            g_thresh_i[i] = rnd_range(-spread, spread);
        }
        if (is_s8) {
            bnn_conv2d_s8_thresh((const int8_t *)g_in, in_d, offset, g_w, g_thresh_i, &win, g_out_a, out_d);
            bnn_conv2d_s8_thresh_ref((const int8_t *)g_in, in_d, offset, g_w, g_thresh_i, &win, g_out_b,
                                     out_d);
        } else {
            bnn_conv2d_u8_thresh(q, in_d, offset, g_w, g_thresh_i, &win, g_out_a, out_d);
            bnn_conv2d_u8_thresh_ref(q, in_d, offset, g_w, g_thresh_i, &win, g_out_b, out_d);
        }
        fails += !same(g_out_a, g_out_b, words);
        fails += check_conv_int_fix(is_s8, in_d, offset, &win, out_d);
    }
    return fails;
}

/* Reorders the plain dense weights w (n_out rows of n_words) into the interleaved layout of
 * bnn_dense_bin_*_i4 (to_i4) or back: blocks of four rows, word i of row 4b + l at 4 * i + l
 * of block b; the last n_out % 4 rows stay plain. tmp holds 4 * n_words words. */
static void reorder_i4(uint32_t *w, int32_t n_out, int32_t n_words, uint32_t *tmp, int to_i4)
{
    int32_t b, i, l;
    for (b = 0; b + 4 <= n_out; b += 4) {
        uint32_t *block = w + b * n_words;
        for (l = 0; l < 4; ++l) {
            for (i = 0; i < n_words; ++i) {
                if (to_i4) {
                    tmp[4 * i + l] = block[l * n_words + i];
                } else {
                    tmp[l * n_words + i] = block[4 * i + l];
                }
            }
        }
        memcpy(block, tmp, (size_t)(4 * n_words) * sizeof(uint32_t));
    }
}

/* The interleaved-weight dense (thresh and f32) against the reference on the plain weights w;
 * w is interleaved and restored. */
static int32_t check_dense_i4(const uint32_t *in, int32_t n_words, int32_t k, uint32_t *w,
                              int32_t n_out, uint32_t *tmp, uint32_t *out_a, uint32_t *out_b)
{
    int32_t fails = 0;
    bnn_dense_bin_thresh_ref(in, n_words, k, w, g_thresh_i, n_out, out_b);
    reorder_i4(w, n_out, n_words, tmp, 1);
    bnn_dense_bin_thresh_i4(in, n_words, k, w, g_thresh_i, n_out, out_a);
    fails += !same(out_a, out_b, BNN_WORDS(n_out));
    bnn_dense_bin_f32_i4(in, n_words, k, w, g_scale, g_bias, n_out, (float *)out_a);
    reorder_i4(w, n_out, n_words, tmp, 0);
    bnn_dense_bin_f32_ref(in, n_words, k, w, g_scale, g_bias, n_out, (float *)out_b);
    fails += !same(out_a, out_b, n_out);
    return fails;
}

/* The sliced dense on random transposed weights for the input in g_in (bits from k on 0 in
 * both), if they fit g_w. */
static int32_t check_dense_sliced(int32_t n_words, int32_t k, int32_t n_out)
{
    int32_t bits = 32 * n_words, g, j;
    if (BNN_WORDS(n_out) * bits > W_WORDS) {
        return 0;
    }
    for (g = 0; g < BNN_WORDS(n_out); ++g) {
        int32_t n = n_out - g * 32 < 32 ? n_out - g * 32 : 32;
        for (j = 0; j < bits; ++j) {
            g_w[g * bits + j] = j < k ? rnd() & (0xffffffffu >> (32 - n)) : 0u;
        }
    }
    bnn_dense_bin_thresh_sliced(g_in, n_words, k, g_w, g_thresh_i, n_out, g_out_a);
    bnn_dense_bin_thresh_sliced_ref(g_in, n_words, k, g_w, g_thresh_i, n_out, g_out_b);
    return !same(g_out_a, g_out_b, BNN_WORDS(n_out));
}

/* Rows of whole 8-word blocks and groups of 32 outputs (the v7E-M assembly rows of
 * bnn_dense_bin_thresh): thresholds at the exact dot product, one off it, and at the int32
 * extremes; the outputs past the last group of 32 go through C. w (n_out * n_words words) and
 * the thresholds (n_out <= MAX_C) come from the caller. */
static int32_t check_dense_rows_on(uint32_t *in, int32_t n_words, uint32_t *w,
                                   int32_t n_out, uint32_t *out_a, uint32_t *out_b)
{
    int32_t k = 32 * n_words - rnd_range(0, 31), o, i;
    for (i = 0; i < n_words; ++i) {
        if (32 * i + 32 > k) { /* the bits past k: zero in input and weights */
            uint32_t keep = 32 * i >= k ? 0u : 0xffffffffu >> (32 - (k - 32 * i));
            in[i] &= keep;
            for (o = 0; o < n_out; ++o) {
                w[o * n_words + i] &= keep;
            }
        }
    }
    for (o = 0; o < n_out; ++o) {
        int32_t dot = k, r = rnd_range(0, 9);
        for (i = 0; i < n_words; ++i) {
            uint32_t x = in[i] ^ w[o * n_words + i];
            for (; x != 0u; x &= x - 1u) {
                dot -= 2;
            }
        }
        g_thresh_i[o] = r < 3 ? dot + r - 1
                        : r == 3 ? INT32_MIN
                        : r == 4 ? INT32_MAX
                        : r == 5 ? -INT32_MAX
                                 : rnd_range(-k - 2, k + 2);
    }
    bnn_dense_bin_thresh(in, n_words, k, w, g_thresh_i, n_out, out_a);
    bnn_dense_bin_thresh_ref(in, n_words, k, w, g_thresh_i, n_out, out_b);
    return !same(out_a, out_b, BNN_WORDS(n_out));
}

#if SELFTEST_WIDE
/* Windows up to 3x3x512 = 4608 bits (the bit-sliced counters' upper levels, Helium lane
 * folding): one group of up to 32 output channels, conv and dense. */
#define WIDE_BITS 4608
static uint32_t g_wide_tw[WIDE_BITS];
static uint32_t g_wide_in[4 * 4 * 16];
static uint32_t g_wide_out_a[64], g_wide_out_b[64];
static int32_t g_wide_thresh[256];
static uint32_t g_wide_tmp[4 * 144];
static uint32_t g_rows_w[256 * 33];

static int32_t check_wide(void)
{
    int32_t fails = 0, n, j;
    for (n = 0; n < 12; ++n) {
        static const bnn_window win = {3, 3, 1, 1, 1, 1, 1, 1};
        int32_t c_in = n < 4 ? 512 - 32 * n : rnd_range(200, 512), c_out = rnd_range(1, 32);
        int32_t bits = 9 * c_in, n_words = rnd_range(100, 144), k;
        bnn_dims in_d, out_d;
        in_d.h = rnd_range(1, 4);
        in_d.w = rnd_range(1, 4);
        in_d.c = c_in;
        out_d.h = in_d.h;
        out_d.w = in_d.w;
        out_d.c = c_out;
        fill_bits(g_wide_in, in_d.h * in_d.w, c_in);
        for (j = 0; j < bits; ++j) {
            g_wide_tw[j] = rnd() & (0xffffffffu >> (32 - c_out));
        }
        for (j = 0; j < c_out; ++j) { /* thresholds near the middle: both outcomes occur */
            g_thresh_i[j] = rnd_range(-200, 200);
        }
        bnn_conv2d_bin_thresh_sliced(g_wide_in, in_d, g_wide_tw, g_thresh_i, &win, g_wide_out_a,
                                     out_d);
        bnn_conv2d_bin_thresh_sliced_ref(g_wide_in, in_d, g_wide_tw, g_thresh_i, &win,
                                         g_wide_out_b, out_d);
        fails += !same(g_wide_out_a, g_wide_out_b, in_d.h * in_d.w);
        k = 32 * n_words - rnd_range(0, 31);
        fill_bits(g_wide_in, 1, k);
        for (j = 0; j < 32 * n_words; ++j) {
            g_wide_tw[j] = j < k ? rnd() & (0xffffffffu >> (32 - c_out)) : 0u;
        }
        bnn_dense_bin_thresh_sliced(g_wide_in, n_words, k, g_wide_tw, g_thresh_i, c_out,
                                    g_wide_out_a);
        bnn_dense_bin_thresh_sliced_ref(g_wide_in, n_words, k, g_wide_tw, g_thresh_i, c_out,
                                        g_wide_out_b);
        fails += !same(g_wide_out_a, g_wide_out_b, 1);
        /* plain-layout dense on long rows (Helium: without the broadcast buffer above 64
         * words, carry buffer flushed at 128) and on 22..64 words */
        n_words = n % 2 ? rnd_range(22, 64) : n_words;
        k = 32 * n_words - rnd_range(0, 31);
        c_out = rnd_range(1, 16);
        fill_bits(g_wide_in, 1, k);
        fill_bits(g_wide_tw, c_out, k);
        for (j = 0; j < c_out; ++j) {
            g_thresh_i[j] = rnd_range(-200, 200);
        }
        bnn_dense_bin_thresh(g_wide_in, n_words, k, g_wide_tw, g_thresh_i, c_out, g_wide_out_a);
        bnn_dense_bin_thresh_ref(g_wide_in, n_words, k, g_wide_tw, g_thresh_i, c_out,
                                 g_wide_out_b);
        fails += !same(g_wide_out_a, g_wide_out_b, 1);
        bnn_dense_bin_f32(g_wide_in, n_words, k, g_wide_tw, g_scale, g_bias, c_out,
                          (float *)g_wide_out_a);
        bnn_dense_bin_f32_ref(g_wide_in, n_words, k, g_wide_tw, g_scale, g_bias, c_out,
                              (float *)g_wide_out_b);
        fails += !same(g_wide_out_a, g_wide_out_b, c_out);
        fails += check_dense_i4(g_wide_in, n_words, k, g_wide_tw, c_out, g_wide_tmp,
                                g_wide_out_a, g_wide_out_b);
    }
    for (n = 0; n < 16; ++n) { /* several groups: the group-interleaved layout (Helium blocks of
                                 * 4 and 2 groups), windows of 32 .. 4608 bits, borders, strides */
        static const int32_t shapes[8][2] = {{128, 128}, {64, 64}, {64, 256}, {96, 100},
                                             {512, 64}, {32, 200}, {160, 96}, {256, 72}};
        bnn_window win = {3, 3, 1, 1, 1, 1, 1, 1};
        int32_t c_in = shapes[n % 8][0], c_out = shapes[n % 8][1], bits, groups, g;
        bnn_dims in_d, out_d;
        if (n >= 8) { /* 1x1, stride 2, dilation 2, no padding */
            win.k_h = n % 2 ? 1 : 3;
            win.k_w = win.k_h;
            win.stride_h = win.stride_w = 1 + n % 3 / 2;
            win.dil_h = win.dil_w = 1 + (n % 4 == 0);
            win.pad_top = win.pad_left = n % 3 == 0 ? 0 : 1;
        }
        bits = win.k_h * win.k_w * c_in;
        groups = BNN_WORDS(c_out);
        if (groups * bits > 4608) {
            c_out = 32 * (4608 / bits) - 5;
            groups = BNN_WORDS(c_out);
        }
        in_d.h = rnd_range(2, 4); /* at most 16 pixels of 16 words */
        in_d.w = rnd_range(1, 4);
        in_d.c = c_in;
        out_d.c = c_out;
        out_d.h = (in_d.h + 2 * win.pad_top - win.dil_h * (win.k_h - 1) - 1) / win.stride_h + 1;
        out_d.w = (in_d.w + 2 * win.pad_left - win.dil_w * (win.k_w - 1) - 1) / win.stride_w + 1;
        if (out_d.h < 1 || out_d.w < 1 || out_d.h * out_d.w * groups > 64) {
            continue;
        }
        fill_bits(g_wide_in, in_d.h * in_d.w, c_in);
        for (g = 0; g < groups; ++g) {
            int32_t m = c_out - g * 32 < 32 ? c_out - g * 32 : 32;
            for (j = 0; j < bits; ++j) {
                g_wide_tw[g * bits + j] = rnd() & (0xffffffffu >> (32 - m));
            }
        }
        for (j = 0; j < c_out; ++j) {
            g_wide_thresh[j] = rnd_range(-bits / 8, bits / 8);
        }
        fails += check_gi(g_wide_in, in_d, g_wide_tw, g_wide_thresh, &win, g_wide_out_a, g_wide_out_b, out_d);
        memset(g_wide_in, 0xff, sizeof g_wide_in); /* every bit a mismatch (c_in: whole words) */
        memset(g_wide_tw, 0, sizeof g_wide_tw);
        for (j = 0; j < c_out; ++j) { /* dots from -bits up: thresholds across them */
            g_wide_thresh[j] = -bits + 16 * (j % 64) - 8;
        }
        fails += check_gi(g_wide_in, in_d, g_wide_tw, g_wide_thresh, &win, g_wide_out_a, g_wide_out_b, out_d);
    }
    for (n = 0; n < 4; ++n) { /* every bit a mismatch: counts at the top of each counter level
                                 * (a lost carry of 256 or more flips the outputs near -K) */
        static const bnn_window win = {3, 3, 1, 1, 1, 1, 1, 1};
        int32_t c_in = 512 - 96 * n, bits = 9 * c_in, c_out = 32 - n;
        bnn_dims in_d, out_d;
        in_d.h = 3;
        in_d.w = 3;
        in_d.c = c_in;
        out_d = in_d;
        out_d.c = c_out;
        memset(g_wide_in, 0, sizeof g_wide_in);
        for (j = 0; j < bits; ++j) {
            g_wide_tw[j] = 0xffffffffu >> (32 - c_out);
        }
        for (j = 0; j < c_out; ++j) { /* the centre pixel's dot is -bits; borders -6 c_in, -4 c_in */
            g_thresh_i[j] = -bits + 32 * j - 16;
        }
        bnn_conv2d_bin_thresh_sliced(g_wide_in, in_d, g_wide_tw, g_thresh_i, &win, g_wide_out_a,
                                     out_d);
        bnn_conv2d_bin_thresh_sliced_ref(g_wide_in, in_d, g_wide_tw, g_thresh_i, &win,
                                         g_wide_out_b, out_d);
        fails += !same(g_wide_out_a, g_wide_out_b, 9);
        { /* the same for the dense kernels: plain rows, interleaved by 4, sliced */
            int32_t n_words = 144 - 40 * n, k = 32 * n_words - n, n_out = 16 - n; /* 16 floats out */
            memset(g_wide_in, 0, sizeof g_wide_in);
            for (j = 0; j < n_out; ++j) {
                g_thresh_i[j] = -k + 32 * j - 16;
            }
            for (j = 0; j < n_out * n_words; ++j) {
                g_wide_tw[j] = 0xffffffffu;
            }
            for (j = 0; j < n_out; ++j) { /* bits from k on: 0 in the rows */
                g_wide_tw[j * n_words + n_words - 1] = 0xffffffffu >> n;
            }
            bnn_dense_bin_thresh(g_wide_in, n_words, k, g_wide_tw, g_thresh_i, n_out, g_wide_out_a);
            bnn_dense_bin_thresh_ref(g_wide_in, n_words, k, g_wide_tw, g_thresh_i, n_out,
                                     g_wide_out_b);
            fails += !same(g_wide_out_a, g_wide_out_b, 1);
            fails += check_dense_i4(g_wide_in, n_words, k, g_wide_tw, n_out, g_wide_tmp,
                                    g_wide_out_a, g_wide_out_b);
            for (j = 0; j < 32 * n_words; ++j) {
                g_wide_tw[j] = j < k ? 0xffffffffu >> (32 - n_out) : 0u;
            }
            bnn_dense_bin_thresh_sliced(g_wide_in, n_words, k, g_wide_tw, g_thresh_i, n_out,
                                        g_wide_out_a);
            bnn_dense_bin_thresh_sliced_ref(g_wide_in, n_words, k, g_wide_tw, g_thresh_i, n_out,
                                            g_wide_out_b);
            fails += !same(g_wide_out_a, g_wide_out_b, 1);
        }
    }
    for (n = 0; n < 4; ++n) { /* long rows: 248 words (the assembly's limit), 256 (C) */
        static const int32_t lengths[4] = {136, 248, 256, 144};
        int32_t n_words = lengths[n], c_out = rnd_range(32, 33);
        fill_bits(g_wide_in, 1, 32 * n_words);
        fill_bits(g_rows_w, c_out, 32 * n_words);
        fails += check_dense_rows_on(g_wide_in, n_words, g_rows_w, c_out, g_wide_out_a,
                                     g_wide_out_b);
    }
    return fails;
}
#endif

static int32_t check_dense_rows(void)
{
    int32_t fails = 0, n;
    for (n = 0; n < 24; ++n) {
        int32_t n_words = n % 6 == 5 ? 8 * rnd_range(1, 2) + rnd_range(1, 7) : 8 * rnd_range(1, 3);
        int32_t n_out = rnd_range(32, W_WORDS / n_words < MAX_C ? W_WORDS / n_words : MAX_C);
        fill_bits(g_in, 1, 32 * n_words);
        fill_bits(g_w, n_out, 32 * n_words);
        fails += check_dense_rows_on(g_in, n_words, g_w, n_out, g_out_a, g_out_b);
    }
    return fails;
}

static uint32_t g_i4_tmp[4 * 24];

static int32_t check_dense(void)
{
    int32_t fails = 0, n, i;
    for (n = 0; n < SELFTEST_CASES; ++n) {
        int32_t k = rnd_range(1, 600), n_out = rnd_range(1, 100);
        int32_t extra = rnd_range(0, 2), n_words = BNN_WORDS(k) + extra;
        if (n_words > IN_WORDS || n_out * n_words > W_WORDS || k > IN_WORDS) {
            --n;
            continue;
        }
        fill_bits(g_in, 1, k);
        for (i = 0; i < n_out; ++i) {
            fill_bits(g_w + i * n_words, 1, k);
        }
        for (i = BNN_WORDS(k); i < n_words; ++i) { /* padding words: zero in both */
            int32_t o;
            g_in[i] = 0u;
            for (o = 0; o < n_out; ++o) {
                g_w[o * n_words + i] = 0u;
            }
        }
        fill_params(n_out, k);
        bnn_dense_bin_thresh(g_in, n_words, k, g_w, g_thresh_i, n_out, g_out_a);
        bnn_dense_bin_thresh_ref(g_in, n_words, k, g_w, g_thresh_i, n_out, g_out_b);
        fails += !same(g_out_a, g_out_b, BNN_WORDS(n_out));
        fails += check_dense_sliced(n_words, k, n_out);
        bnn_dense_bin_f32(g_in, n_words, k, g_w, g_scale, g_bias, n_out, (float *)g_out_a);
        bnn_dense_bin_f32_ref(g_in, n_words, k, g_w, g_scale, g_bias, n_out, (float *)g_out_b);
        fails += !same(g_out_a, g_out_b, n_out);
        fails += check_dense_i4(g_in, n_words, k, g_w, n_out, g_i4_tmp, g_out_a, g_out_b);
        /* REAL input: k floats, BNN_WORDS(k) weight words per output */
        if (n_out * BNN_WORDS(k) <= W_WORDS) {
            for (i = 0; i < k; ++i) {
                g_fin[i] = rnd_float();
            }
            fill_bits(g_w, n_out, k);
            bnn_dense_f32_thresh(g_fin, k, g_w, g_thresh_f, n_out, g_out_a);
            bnn_dense_f32_thresh_ref(g_fin, k, g_w, g_thresh_f, n_out, g_out_b);
            fails += !same(g_out_a, g_out_b, BNN_WORDS(n_out));
            bnn_dense_f32_f32(g_fin, k, g_w, g_scale, g_bias, n_out, (float *)g_out_a);
            bnn_dense_f32_f32_ref(g_fin, k, g_w, g_scale, g_bias, n_out, (float *)g_out_b);
            fails += !same(g_out_a, g_out_b, n_out);
        }
    }
    return fails;
}

/* Sign-test edges beyond k_specials: the largest NaNs of either sign, the smallest negatives,
 * -inf's neighbour, +inf's neighbour below, +-1. */
static const uint32_t k_pack_edges[] = {0xffffffffu, 0x7fffffffu, 0x80000002u, 0xff800001u,
                                        0x7f7fffffu, 0xfffffffeu, 0xbf800000u, 0x3f800000u};

/* pack / unpack of every channel count with full and partial words on planes 1..9 (the
 * assembly's 3- and 4-pixel passes, their leftover pixels, the vector paths). */
static int32_t check_pack_planes(void)
{
    static const int32_t channels[] = {1, 31, 32, 33, 64, 65};
    int32_t fails = 0, ci, plane, i;
    for (ci = 0; ci < (int32_t)(sizeof channels / sizeof channels[0]); ++ci) {
        int32_t c = channels[ci];
        for (plane = 1; plane <= 9 && c * plane <= IN_WORDS; ++plane) {
            bnn_dims d;
            d.c = c;
            d.h = (plane % 2 == 0) ? 2 : 1;
            d.w = plane / d.h;
            for (i = 0; i < c * plane; ++i) {
                uint32_t r = rnd() % 8u;
                g_fin[i] = rnd_float();
                if (r == 0u) {
                    put_special(&g_fin[i], K_ALL_SPECIALS);
                } else if (r == 1u) {
                    memcpy(&g_fin[i], &k_pack_edges[rnd() % 8u], sizeof(float));
                }
            }
            bnn_pack_chw_f32(g_fin, d, g_out_a);
            bnn_pack_chw_f32_ref(g_fin, d, g_out_b);
            fails += !same(g_out_a, g_out_b, plane * BNN_WORDS(c));
            fill_bits(g_in, plane, c);
            bnn_unpack_bits_chw_f32(g_in, d, (float *)g_out_a);
            bnn_unpack_bits_chw_f32_ref(g_in, d, (float *)g_out_b);
            fails += !same(g_out_a, g_out_b, c * plane);
        }
    }
    return fails;
}

static int32_t check_pool_and_pack(void)
{
    int32_t fails = 0, n, i;
    for (n = 0; n < SELFTEST_CASES; ++n) {
        bnn_window win;
        bnn_dims in_d, out_d;
        int32_t c = rnd_channels();
        int32_t words = BNN_WORDS(c);
        rnd_geometry(&win, &in_d, &out_d, c, c);
        if (in_d.h * in_d.w * words > IN_WORDS || out_d.h * out_d.w * words > OUT_ITEMS ||
            c * in_d.h * in_d.w > IN_WORDS || c * out_d.h * out_d.w > OUT_ITEMS) {
            --n;
            continue;
        }
        fill_bits(g_in, in_d.h * in_d.w, c);
        fill_bits(g_w, 1, c); /* and_mask */
        bnn_maxpool_bits(g_in, in_d, &win, (n & 1) ? g_w : NULL, g_out_a, out_d);
        bnn_maxpool_bits_ref(g_in, in_d, &win, (n & 1) ? g_w : NULL, g_out_b, out_d);
        fails += !same(g_out_a, g_out_b, out_d.h * out_d.w * words);
        for (i = 0; i < c * in_d.h * in_d.w; ++i) {
            g_fin[i] = rnd_float();
        }
        bnn_maxpool_f32(g_fin, in_d, &win, (float *)g_out_a, out_d);
        bnn_maxpool_f32_ref(g_fin, in_d, &win, (float *)g_out_b, out_d);
        fails += !same(g_out_a, g_out_b, c * out_d.h * out_d.w);
        for (i = 0; i < c * in_d.h * in_d.w; ++i) { /* -0, NaN, inf, denormals in planes too */
            if (rnd() % 4 == 0) {
                put_special(&g_fin[i], K_ALL_SPECIALS);
            }
        }
        bnn_pack_chw_f32(g_fin, in_d, g_out_a);
        bnn_pack_chw_f32_ref(g_fin, in_d, g_out_b);
        fails += !same(g_out_a, g_out_b, in_d.h * in_d.w * words);
        bnn_unpack_bits_chw_f32(g_in, in_d, (float *)g_out_a);
        bnn_unpack_bits_chw_f32_ref(g_in, in_d, (float *)g_out_b);
        fails += !same(g_out_a, g_out_b, c * in_d.h * in_d.w);
    }
    for (n = 0; n < 24; ++n) { /* vectors (1x1 plane: the vector paths), with -0, NaN, inf,
                                * denormals */
        bnn_dims d;
        d.h = 1;
        d.w = 1;
        d.c = n < 8 ? 32 * (n + 1) - (n & 1) : rnd_range(1, IN_WORDS);
        for (i = 0; i < d.c; ++i) {
            g_fin[i] = rnd_float();
            if (rnd() % 4 == 0) {
                put_special(&g_fin[i], K_ALL_SPECIALS);
            }
        }
        bnn_pack_chw_f32(g_fin, d, g_out_a);
        bnn_pack_chw_f32_ref(g_fin, d, g_out_b);
        fails += !same(g_out_a, g_out_b, BNN_WORDS(d.c));
        fill_bits(g_in, 1, d.c);
        bnn_unpack_bits_chw_f32(g_in, d, (float *)g_out_a);
        bnn_unpack_bits_chw_f32_ref(g_in, d, (float *)g_out_b);
        fails += !same(g_out_a, g_out_b, d.c);
    }
    fails += check_pack_planes();
    return fails;
}

static float rel_err(float a, float b)
{
    float d = a > b ? a - b : b - a;
    float m = b < 0.0f ? -b : b;
    return d / (m > 1e-30f ? m : 1e-30f);
}

static int32_t check_softmax(void)
{
    int32_t fails = 0, n, i;
    float *a = (float *)g_out_a, *b = (float *)g_out_b;
    for (n = 0; n < SELFTEST_CASES; ++n) {
        int32_t len = rnd_range(1, 64);
        float spread = (float)rnd_range(1, 40);
        for (i = 0; i < len; ++i) {
            g_fin[i] = rnd_float() * spread;
        }
        bnn_softmax_f32(g_fin, len, a);
        bnn_softmax_f32_ref(g_fin, len, b);
        for (i = 0; i < len; ++i) {
            if (b[i] > 1e-30f && rel_err(a[i], b[i]) > 1e-5f) {
                ++fails;
                break;
            }
        }
        bnn_log_softmax_f32(g_fin, len, a);
        bnn_log_softmax_f32_ref(g_fin, len, b);
        for (i = 0; i < len; ++i) {
            float d = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
            if (d > 2e-6f * (1.0f + (b[i] < 0.0f ? -b[i] : b[i]))) {
                ++fails;
                break;
            }
        }
    }
    return fails;
}

/* ---- mixed-precision kernels (bnn.h, "Mixed precision") --------------------------------- */

static void fill_floats(float *buf, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        buf[i] = rnd_float();
    }
}

static int32_t check_real_layers(void)
{
    int32_t fails = 0, n;
    float *wf = (float *)g_w;
    for (n = 0; n < SELFTEST_CASES; ++n) {
        bnn_window win;
        bnn_dims in_d, out_d;
        int32_t c_in = rnd_range(1, 4), depthwise = (int32_t)(rnd() % 2u);
        int32_t groups = depthwise ? c_in : 1;
        int32_t c_out = depthwise ? c_in * rnd_range(1, 2) : rnd_range(1, 9);
        int32_t n_w, out_floats, n_in, n_out;
        rnd_geometry(&win, &in_d, &out_d, c_in, c_out);
        n_w = c_out * (c_in / groups) * win.k_h * win.k_w;
        out_floats = out_d.h * out_d.w * c_out;
        if (c_in * in_d.h * in_d.w > IN_WORDS || n_w > W_WORDS || out_floats > OUT_ITEMS) {
            --n;
            continue;
        }
        fill_floats(g_fin, c_in * in_d.h * in_d.w);
        fill_floats(wf, n_w);
        fill_params(c_out, 1);
        bnn_conv2d_f32w_f32(g_fin, in_d, wf, (n & 1) ? g_bias : NULL, groups, &win,
                            (float *)g_out_a, out_d);
        bnn_conv2d_f32w_f32_ref(g_fin, in_d, wf, (n & 1) ? g_bias : NULL, groups, &win,
                                (float *)g_out_b, out_d);
        fails += !same(g_out_a, g_out_b, out_floats);
        n_in = rnd_range(1, IN_WORDS);
        n_out = rnd_range(1, W_WORDS / n_in < MAX_C ? W_WORDS / n_in : MAX_C);
        fill_floats(g_fin, n_in);
        fill_floats(wf, n_in * n_out);
        bnn_dense_f32w_f32(g_fin, n_in, wf, (n & 2) ? g_bias : NULL, n_out, (float *)g_out_a);
        bnn_dense_f32w_f32_ref(g_fin, n_in, wf, (n & 2) ? g_bias : NULL, n_out,
                               (float *)g_out_b);
        fails += !same(g_out_a, g_out_b, n_out);
    }
    return fails;
}

typedef void (*binary_fn)(const float *, int32_t, const float *, int32_t, bnn_dims, float *);

static int32_t check_elementwise(void)
{
    static const binary_fn opt[] = {bnn_add_f32, bnn_sub_f32, bnn_mul_f32, bnn_div_f32};
    static const binary_fn ref[] = {bnn_add_f32_ref, bnn_sub_f32_ref, bnn_mul_f32_ref,
                                    bnn_div_f32_ref};
    int32_t fails = 0, n;
    float *a = (float *)g_out_a, *b = (float *)g_out_b, *full = (float *)g_w;
    for (n = 0; n < SELFTEST_CASES; ++n) {
        bnn_dims d;
        int32_t size, op, mode, swap;
        const float *other;
        d.c = rnd_channels();
        d.h = rnd_range(1, 6);
        d.w = rnd_range(1, 6);
        size = d.c * d.h * d.w;
        if (size > IN_WORDS || d.h * d.w > MAX_C) {
            --n;
            continue;
        }
        fill_floats(g_fin, size);
        fill_floats(full, size);
        fill_params(d.c, 1);
        op = (int32_t)(rnd() % 4u);
        mode = (int32_t)(rnd() % 4u);
        swap = (int32_t)(rnd() % 2u);
        other = mode == BNN_BCAST_FULL ? full : (mode == BNN_BCAST_PLANE ? g_bias : g_scale);
        if (swap) {
            opt[op](other, mode, g_fin, BNN_BCAST_FULL, d, a);
            ref[op](other, mode, g_fin, BNN_BCAST_FULL, d, b);
        } else {
            opt[op](g_fin, BNN_BCAST_FULL, other, mode, d, a);
            ref[op](g_fin, BNN_BCAST_FULL, other, mode, d, b);
        }
        fails += !same(a, b, size);
        memcpy(a, g_fin, (size_t)size * 4u); /* in place: out == the full operand */
        opt[op](a, BNN_BCAST_FULL, other, mode, d, a);
        ref[op](g_fin, BNN_BCAST_FULL, other, mode, d, b);
        fails += !same(a, b, size);
        bnn_scale_shift_f32(g_fin, d, g_scale, g_thresh_f, a);
        bnn_scale_shift_f32_ref(g_fin, d, g_scale, g_thresh_f, b);
        fails += !same(a, b, size);
        bnn_prelu_f32(g_fin, d, g_scale, a);
        bnn_prelu_f32_ref(g_fin, d, g_scale, b);
        fails += !same(a, b, size);
        bnn_relu_f32(g_fin, size, a);
        bnn_relu_f32_ref(g_fin, size, b);
        fails += !same(a, b, size);
        bnn_leaky_relu_f32(g_fin, size, g_scale[0], a);
        bnn_leaky_relu_f32_ref(g_fin, size, g_scale[0], b);
        fails += !same(a, b, size);
        bnn_clip_f32(g_fin, size, -1.5f, 2.25f, a);
        bnn_clip_f32_ref(g_fin, size, -1.5f, 2.25f, b);
        fails += !same(a, b, size);
        bnn_global_avgpool_f32(g_fin, d, a);
        bnn_global_avgpool_f32_ref(g_fin, d, b);
        fails += !same(a, b, d.c);
        bnn_reduce_mean_hw_f32(g_fin, d, a);
        bnn_reduce_mean_hw_f32_ref(g_fin, d, b);
        fails += !same(a, b, d.c);
        bnn_pack_thresh_chw_f32(g_fin, d, g_thresh_f, (n & 1) ? g_in : NULL, g_out_a);
        bnn_pack_thresh_chw_f32_ref(g_fin, d, g_thresh_f, (n & 1) ? g_in : NULL, g_out_b);
        fails += !same(g_out_a, g_out_b, d.h * d.w * BNN_WORDS(d.c));
    }
    return fails;
}

static int32_t check_avgpool_concat(void)
{
    int32_t fails = 0, n;
    for (n = 0; n < SELFTEST_CASES; ++n) {
        bnn_window win;
        bnn_dims in_d, out_d;
        int32_t c = rnd_range(1, 5), pad_b = rnd_range(0, 2), pad_r = rnd_range(0, 2);
        int32_t cs[3], k, total = 0, hw;
        const uint32_t *ins[3];
        rnd_geometry(&win, &in_d, &out_d, c, c);
        out_d.h += (int32_t)(rnd() % 2u); /* a ceil_mode-style partial last window */
        out_d.w += (int32_t)(rnd() % 2u);
        if (c * in_d.h * in_d.w > IN_WORDS || c * out_d.h * out_d.w > OUT_ITEMS) {
            --n;
            continue;
        }
        fill_floats(g_fin, c * in_d.h * in_d.w);
        bnn_avgpool_f32(g_fin, in_d, &win, pad_b, pad_r, n & 1, (float *)g_out_a, out_d);
        bnn_avgpool_f32_ref(g_fin, in_d, &win, pad_b, pad_r, n & 1, (float *)g_out_b, out_d);
        fails += !same(g_out_a, g_out_b, c * out_d.h * out_d.w);
        if (win.dil_h == 1 && win.dil_w == 1) {
            bnn_avgpool_mlas_f32(g_fin, in_d, &win, pad_b, pad_r, n & 1, (float *)g_out_a, out_d);
            bnn_avgpool_mlas_f32_ref(g_fin, in_d, &win, pad_b, pad_r, n & 1, (float *)g_out_b,
                                     out_d);
            fails += !same(g_out_a, g_out_b, c * out_d.h * out_d.w);
        }
        /* concat of three BITS inputs with random channel counts, 4 pixels */
        hw = 4;
        for (k = 0; k < 3; ++k) {
            cs[k] = rnd_range(1, 70);
            total += cs[k];
        }
        fill_bits(g_in, hw, cs[0]);
        fill_bits(g_in + 16, hw, cs[1]);
        fill_bits(g_in + 32, hw, cs[2]);
        ins[0] = g_in;
        ins[1] = g_in + 16;
        ins[2] = g_in + 32;
        bnn_concat_bits(ins, cs, 3, 2, 2, g_out_a);
        bnn_concat_bits_ref(ins, cs, 3, 2, 2, g_out_b);
        fails += !same(g_out_a, g_out_b, hw * BNN_WORDS(total));
        /* REAL concat: the input as channels [1, 1 + c) of a c + 1 channel tensor */
        memset(g_out_a, 0, sizeof g_out_a);
        memset(g_out_b, 0, sizeof g_out_b);
        bnn_concat_f32(g_fin, in_d, 1, (float *)g_out_a);
        bnn_concat_f32_ref(g_fin, in_d, 1, (float *)g_out_b);
        fails += !same(g_out_a, g_out_b, (c + 1) * in_d.h * in_d.w);
    }
    return fails;
}

int main(void)
{
    int32_t total = 0, fails;
    fails = check_conv_bin();
    printf("conv2d_bin   : %ld mismatches\n", (long)fails);
    total += fails;
    fails = check_conv_real();
    printf("conv2d_real  : %ld mismatches\n", (long)fails);
    total += fails;
    fails = check_conv_int();
    printf("conv2d_int   : %ld mismatches\n", (long)fails);
    total += fails;
    fails = check_dense();
    printf("dense        : %ld mismatches\n", (long)fails);
    total += fails;
    fails = check_dense_rows();
    printf("dense rows   : %ld mismatches\n", (long)fails);
    total += fails;
#if SELFTEST_WIDE
    fails = check_wide();
    printf("wide sliced  : %ld mismatches\n", (long)fails);
    total += fails;
#endif
    fails = check_pool_and_pack();
    printf("pool+pack    : %ld mismatches\n", (long)fails);
    total += fails;
    fails = check_real_layers();
    printf("real layers  : %ld mismatches\n", (long)fails);
    total += fails;
    fails = check_elementwise();
    printf("elementwise  : %ld mismatches\n", (long)fails);
    total += fails;
    fails = check_avgpool_concat();
    printf("avgpool+cat  : %ld mismatches\n", (long)fails);
    total += fails;
    fails = check_softmax();
    printf("softmax      : %ld mismatches\n", (long)fails);
    total += fails;
    printf("kernel_selftest: %s (%d cases per kernel)\n", total == 0 ? "PASS" : "FAIL",
           SELFTEST_CASES);
    return total == 0 ? 0 : 1;
}
