/*
 * bnn_popcount.c - the one out-of-line popcount that every kernel file shares in the compact
 * build (BNN_COMPACT, see bnn.h): one small copy instead of an unrolled Harley-Seal loop
 * inlined into each caller. The compiler copies this file with every model that uses
 * bnn_conv_bin.c or bnn_dense.c.
 */
#include "bnn_popcount.h"

uint32_t bnn_popcount_xor_small(const uint32_t *a, const uint32_t *w, int32_t n)
{
    uint32_t total = 0u;
    int32_t i;
#if defined(BNN_HAVE_HW_POPCOUNT)
    for (i = 0; i < n; ++i) {
        total += bnn_popcount32(a[i] ^ w[i]);
    }
#else
    /* per-byte counts summed lane-wise; each word adds at most 8 to a byte lane, so the
     * lanes are folded into total every 16 words, before any can pass 255 */
    uint32_t bytes = 0u;
    for (i = 0; i < n; ++i) {
        bytes += bnn_bytecount32(a[i] ^ w[i]);
        if ((i & 15) == 15) {
            total += bnn_bytesum_wide32(bytes);
            bytes = 0u;
        }
    }
    total += bnn_bytesum_wide32(bytes);
#endif
    return total;
}
