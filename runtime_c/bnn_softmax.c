/*
 * bnn_softmax.c - softmax and log-softmax without libm.
 *
 * Small MCU images should not pull in libm for one layer, so exp and log are computed here:
 * range reduction by powers of two plus a short polynomial, accurate to ~1e-7 relative.
 */
#include "bnn.h"

#include <string.h>

static float float_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t bits_from_float(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float bnn_expf(float x)
{
    /* ln 2 split so that k * LN2_HI is exact for |k| < 2^9 */
    const float LN2_HI = 0.693145751953125f;
    const float LN2_LO = 1.428606765330187e-06f;
    const float LOG2E = 1.4426950408889634f;
    float r, p;
    int32_t k;
    if (x != x) {
        return x; /* NaN */
    }
    if (x < -104.0f) {
        return 0.0f; /* below the smallest subnormal */
    }
    if (x > 88.72f) {
        x = 88.72f; /* saturate near FLT_MAX instead of overflowing the exponent */
    }
    /* k = round(x / ln 2), without a libm round */
    p = x * LOG2E;
    k = (int32_t)(p < 0.0f ? p - 0.5f : p + 0.5f);
    r = (x - (float)k * LN2_HI) - (float)k * LN2_LO; /* |r| <= ln2 / 2 */
    /* Taylor series of e^r to degree 7: error < 6e-9 relative on |r| <= 0.347 */
    p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* multiply by 2^k; results below 2^-126 need two steps to reach the subnormals */
    if (k > 127) { /* only k = 128, from the saturated top of the range */
        p *= 2.0f;
        k = 127;
    }
    while (k < -126) {
        p *= 5.421010862427522e-20f; /* 2^-64 */
        k += 64;
    }
    return p * float_from_bits((uint32_t)(k + 127) << 23);
}

float bnn_logf(float x)
{
    const float LN2_HI = 0.693145751953125f;
    const float LN2_LO = 1.428606765330187e-06f;
    uint32_t u = bits_from_float(x);
    int32_t e;
    float m, f, s, s2, p;
    if (!(x > 0.0f)) {
        return x == 0.0f ? -float_from_bits(0x7f800000u) : float_from_bits(0x7fc00000u);
    }
    if (u < 0x00800000u) { /* subnormal: scale by 2^32 first */
        x *= 4294967296.0f;
        u = bits_from_float(x);
        e = -32;
    } else {
        e = 0;
    }
    if (u >= 0x7f800000u) {
        return x; /* +inf */
    }
    e += (int32_t)(u >> 23) - 127;
    m = float_from_bits((u & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
    if (m > 1.41421356f) {
        m *= 0.5f;
        e += 1;
    }
    /* log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172 */
    f = m - 1.0f;
    s = f / (2.0f + f);
    s2 = s * s;
    p = 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return (float)e * LN2_LO + 2.0f * s * p + (float)e * LN2_HI;
}

static float max_of(const float *in, int32_t n)
{
    float max = in[0];
    int32_t i;
    for (i = 1; i < n; ++i) {
        if (in[i] > max) {
            max = in[i];
        }
    }
    return max;
}

void bnn_softmax_f32(const float *in, int32_t n, float *out)
{
    float max = max_of(in, n), sum = 0.0f, inv;
    int32_t i;
    for (i = 0; i < n; ++i) {
        out[i] = bnn_expf(in[i] - max);
        sum += out[i];
    }
    inv = 1.0f / sum;
    for (i = 0; i < n; ++i) {
        out[i] *= inv;
    }
}

void bnn_log_softmax_f32(const float *in, int32_t n, float *out)
{
    float max = max_of(in, n), sum = 0.0f, log_sum;
    int32_t i;
    for (i = 0; i < n; ++i) {
        sum += bnn_expf(in[i] - max);
    }
    log_sum = bnn_logf(sum);
    /* (x - max) first: exact for nearby values, so outputs near 0 keep their precision */
    for (i = 0; i < n; ++i) {
        out[i] = (in[i] - max) - log_sum;
    }
}
