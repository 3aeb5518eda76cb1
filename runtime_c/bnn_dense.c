/*
 * bnn_dense.c - fully connected layers on BITS input (XNOR-popcount, Harley-Seal or Helium
 * popcount from bnn_popcount.h) and on REAL input (add / subtract by weight bit).
 */
#include "bnn.h"
#include "bnn_pairs.h"
#include "bnn_popcount.h"

BNN_NO_SCHEDULE
void bnn_dense_bin_thresh(const uint32_t *in, int32_t n_words, int32_t k,
                          const uint32_t *weights, const int32_t *thresh, int32_t n_out,
                          uint32_t *out)
{
    int32_t o;
    uint32_t word = 0u;
    for (o = 0; o < n_out; ++o) {
        int32_t acc = k - 2 * (int32_t)bnn_popcount_xor(in, weights + o * n_words, n_words);
        word |= (uint32_t)(acc >= thresh[o]) << (o & 31);
        if ((o & 31) == 31 || o == n_out - 1) {
            out[o >> 5] = word;
            word = 0u;
        }
    }
}

BNN_NO_SCHEDULE
void bnn_dense_bin_f32(const uint32_t *in, int32_t n_words, int32_t k, const uint32_t *weights,
                       const float *scale, const float *bias, int32_t n_out, float *out)
{
    int32_t o;
    for (o = 0; o < n_out; ++o) {
        int32_t acc = k - 2 * (int32_t)bnn_popcount_xor(in, weights + o * n_words, n_words);
        out[o] = scale[o] * (float)acc + bias[o];
    }
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
