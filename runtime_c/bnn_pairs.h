/*
 * bnn_pairs.h - float accumulation with binary weights, shared by the real-input conv and dense.
 *
 * pairs[2i] = -x_i and pairs[2i + 1] = +x_i, so weight bit i picks the signed input without a
 * branch or a multiply. Sums run in index order (the order bnn.h promises for real-input layers).
 */
#ifndef BNN_PAIRS_H
#define BNN_PAIRS_H

#include <stdint.h>

/* acc + sum over i < k of pairs[2i + bit i of w], in order, four taps per step. The caller pads
 * pairs to a multiple of four taps with (-0, -0), which adds nothing (acc + -0.0f == acc); weight
 * tail bits are 0. */
static inline float bnn_add_pairs(float acc, const float *pairs, const uint32_t *w, int32_t k)
{
    int32_t groups = (k + 3) / 4;
    while (groups > 0) {
        uint32_t bits = *w++;
        int32_t m = groups < 8 ? groups : 8;
        groups -= m;
        do {
            acc += pairs[bits & 1u];
            acc += pairs[2 + ((bits >> 1) & 1u)];
            acc += pairs[4 + ((bits >> 2) & 1u)];
            acc += pairs[6 + ((bits >> 3) & 1u)];
            bits >>= 4;
            pairs += 8;
        } while (--m != 0);
    }
    return acc;
}

#endif /* BNN_PAIRS_H */
