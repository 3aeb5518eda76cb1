/*
 * bnn_pack_thresh.c - REAL CHW -> BITS HWC with a threshold per channel (sign, RSign, and
 * folded per-channel shifts), optionally flipped to x <= t per channel.
 */
#include "bnn.h"

#include <stddef.h>

void bnn_pack_thresh_chw_f32(const float *in, bnn_dims d, const float *thresh,
                             const uint32_t *flip, uint32_t *out)
{
    int32_t words = BNN_WORDS(d.c), plane = d.h * d.w, p, j;
    for (p = 0; p < plane; ++p) {
        for (j = 0; j < words; ++j) {
            uint32_t word = 0u;
            uint32_t fl = flip != NULL ? flip[j] : 0u;
            int32_t n = d.c - 32 * j < 32 ? d.c - 32 * j : 32, b;
            for (b = 0; b < n; ++b) {
                float x = in[(32 * j + b) * plane + p], t = thresh[32 * j + b];
                int bit = ((fl >> b) & 1u) ? (x <= t) : (x >= t);
                word |= (uint32_t)bit << b;
            }
            out[p * words + j] = word;
        }
    }
}
