/*
 * bnn_dense.c - fully connected layers on BITS input (XNOR-popcount) and on REAL input
 * (add / subtract by weight bit, summed in input order like the reference).
 */
#include "bnn.h"
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

static float dense_real_acc(const float *in, int32_t n_in, const uint32_t *w_o)
{
    float acc = 0.0f;
    int32_t i;
    for (i = 0; i < n_in; ++i) {
        if ((w_o[i >> 5] >> (i & 31)) & 1u) {
            acc += in[i];
        } else {
            acc -= in[i];
        }
    }
    return acc;
}

void bnn_dense_f32_thresh(const float *in, int32_t n_in, const uint32_t *weights,
                          const float *thresh, int32_t n_out, uint32_t *out)
{
    int32_t o, w_words = BNN_WORDS(n_in);
    uint32_t word = 0u;
    for (o = 0; o < n_out; ++o) {
        float acc = dense_real_acc(in, n_in, weights + o * w_words);
        word |= (uint32_t)(acc >= thresh[o]) << (o & 31);
        if ((o & 31) == 31 || o == n_out - 1) {
            out[o >> 5] = word;
            word = 0u;
        }
    }
}

void bnn_dense_f32_f32(const float *in, int32_t n_in, const uint32_t *weights,
                       const float *scale, const float *bias, int32_t n_out, float *out)
{
    int32_t o, w_words = BNN_WORDS(n_in);
    for (o = 0; o < n_out; ++o) {
        out[o] = scale[o] * dense_real_acc(in, n_in, weights + o * w_words) + bias[o];
    }
}
