/*
 * Kernel model for the target tests: the same shape as dummy_model, but built from the runtime's
 * bnn_pack_chw_f32, bnn_dense_bin_thresh and bnn_dense_bin_f32 (weights drawn once with numpy,
 * seed 42). Its outputs must be bit-identical on every core and on the host.
 */
#include <stdint.h>

#include "bnn.h"
#include "net.h"

static const uint32_t fc1_weights[32 * 2] = {
    0x16D92688u, 0xC621FBCDu,
    0xA791FFC1u, 0x705A5661u,
    0x6EDA1624u, 0xDBCD12C2u,
    0x1600888Du, 0xB286B60Eu,
    0x339381EBu, 0x181C01B5u,
    0x86C7538Cu, 0xF9C262EDu,
    0xBC5A4471u, 0xC2DA0D2Fu,
    0xB7AC9740u, 0xC93B82A3u,
    0x8362D113u, 0x20CC0E16u,
    0xD6F9BD6Eu, 0x734C7E29u,
    0x80171029u, 0x5EEC9E8Bu,
    0x2EBB92AFu, 0xED407866u,
    0xC814CE06u, 0xA4D45831u,
    0x6704A0B6u, 0xD2A0814Du,
    0x8BA13E23u, 0x718397CAu,
    0x7351513Au, 0x3A2C511Eu,
    0x17963822u, 0x8DF944C3u,
    0xE34CBFAFu, 0x105653E3u,
    0xDBB8FA6Eu, 0xD3DFA2F0u,
    0x46D9B92Cu, 0xA1B4C210u,
    0x2A4C73F5u, 0xC21209C3u,
    0xB355791Fu, 0x5AC236BEu,
    0x11633489u, 0xF87FAA6Du,
    0x7218933Cu, 0xE4A395F7u,
    0xAD8C19B0u, 0xC744240Fu,
    0xC288C510u, 0x31D3D7A4u,
    0x5D28F217u, 0x777B0717u,
    0x7F6F4439u, 0x0B36B93Du,
    0x8BEBFAA0u, 0x277F8422u,
    0xBE4DE22Bu, 0xAEDC4BD3u,
    0xEC2AC8D4u, 0xBEA8BB8Eu,
    0x5DDC4B0Bu, 0xF7AEB7C3u};
static const int32_t fc1_thresh[32] = {-1, -2, 5, -2, -6, 0, 4, -4, 0, -5, 2, 0, -2, -4, 1, 2, 6, -1, -4, 4, 2, 3, -5, -2, 3, 4, -1, 4, 4, -1, 5, -3};
static const uint32_t fc2_weights[10] = {
    0x3D53A8B1u,
    0xAEB8067Du,
    0xA302D2B1u,
    0x23C6D19Au,
    0xD52E3C45u,
    0x332D2F17u,
    0xCE0DDE47u,
    0x01E27E63u,
    0xCBFDE031u,
    0xC973E041u};
static const float fc2_scale[10] = {0x1.879a880000000p-2f, 0x1.9c3ea20000000p-2f, 0x1.c2eeea0000000p-2f, 0x1.1e2a360000000p-2f, 0x1.56653e0000000p-2f, 0x1.eb1ab00000000p-4f, 0x1.b75b8c0000000p-4f, 0x1.896c1c0000000p-2f, 0x1.2466b80000000p-2f, 0x1.5499d40000000p-2f};
static const float fc2_bias[10] = {-0x1.9b81b80000000p-4f, 0x1.8ffb600000000p-5f, 0x1.682ccc0000000p-3f, 0x1.b4fa440000000p-3f, 0x1.e76ebc0000000p-3f, -0x1.ac836c0000000p-4f, -0x1.1c11a60000000p-3f, 0x1.0791f80000000p-2f, -0x1.d626460000000p-5f, -0x1.87e40e0000000p-2f};

static uint32_t net_arena[NET_ARENA_BYTES / 4];

int net_run(const float *input, float *output)
{
    uint32_t *bits_in = net_arena;
    uint32_t *bits_hidden = net_arena + 2;
    bnn_dims in_dims = {1, 1, 64};

    BNN_PROFILE_MARK(0);
    bnn_pack_chw_f32(input, in_dims, bits_in);
    BNN_PROFILE_MARK(1);
    bnn_dense_bin_thresh(bits_in, 2, 64, fc1_weights, fc1_thresh, 32, bits_hidden);
    BNN_PROFILE_MARK(2);
    bnn_dense_bin_f32(bits_hidden, 1, 32, fc2_weights, fc2_scale, fc2_bias, 10, output);
    BNN_PROFILE_MARK(NET_NUM_LAYERS);
    return 0;
}
