/*
 * Dummy model: sign(64 inputs) -> binary dense 64->32 with threshold 0 -> binary dense 32->10 with
 * float affine output. Weight word k of output j is weight_word(j, k) (an integer hash), so the
 * Python test recomputes the exact same function; tests/targets/reference.py mirrors it.
 */
#include <stdint.h>

#include "bnn.h"
#include "net.h"

static uint32_t net_arena[NET_ARENA_BYTES / 4];

static uint32_t weight_word(uint32_t j, uint32_t k)
{
    uint32_t h = j * 2654435761u + k * 40503u + 0x9E3779B9u;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return h;
}

/* SWAR popcount: never the libgcc __popcountsi2 call. */
static int32_t popcount32(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (int32_t)((x * 0x01010101u) >> 24);
}

int net_run(const float *input, float *output)
{
    uint32_t *bits_in = net_arena;      /* 2 words */
    uint32_t *bits_hidden = net_arena + 2; /* 1 word */
    int32_t i, j, k;

    BNN_PROFILE_MARK(0);
    for (k = 0; k < 2; k++) {
        bits_in[k] = 0u;
    }
    for (i = 0; i < NET_INPUT_SIZE; i++) {
        if (input[i] >= 0.0f) {
            bits_in[i / 32] |= 1u << (i % 32);
        }
    }

    BNN_PROFILE_MARK(1);
    bits_hidden[0] = 0u;
    for (j = 0; j < 32; j++) {
        int32_t dot = 64;
        for (k = 0; k < 2; k++) {
            dot -= 2 * popcount32(bits_in[k] ^ weight_word((uint32_t)j, (uint32_t)k));
        }
        if (dot >= 0) {
            bits_hidden[0] |= 1u << j;
        }
    }

    BNN_PROFILE_MARK(2);
    for (j = 0; j < NET_OUTPUT_SIZE; j++) {
        int32_t dot = 32 - 2 * popcount32(bits_hidden[0] ^ weight_word(100u + (uint32_t)j, 0u));
        output[j] = (float)dot * 0.1f + input[j] * 0.3f;
    }

    BNN_PROFILE_MARK(NET_NUM_LAYERS);
    return 0;
}
