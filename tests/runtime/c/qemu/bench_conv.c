/*
 * bench_conv.c - instruction count of the kernel-speed target on an emulated Cortex-M:
 * a binary 3x3 conv, 64 -> 64 channels, 16x16 input, stride 1, pad 1, threshold output,
 * including packing the float input and unpacking the output to float.
 *
 * Run under qemu-system-arm with -icount shift=0, SysTick on the core clock counts
 * instructions in units of one tick (25-62 instructions depending on the board); a
 * calibration loop of known length converts ticks to instructions. Prints
 * "<name> <ticks>" lines; the test driving it does the arithmetic. With -DWITH_REF the
 * reference twins are measured too and both outputs are compared.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bnn.h"
#include "bnn_ref.h"

#define H 16
#define W 16
#define C 64

static float g_in[C * H * W];
static float g_out[C * H * W];
#if defined(WITH_REF)
static float g_out_ref[C * H * W];
#endif
static uint32_t g_bits[H * W * 2], g_obits[H * W * 2];
static uint32_t g_w[C * 9 * 2];
static int32_t g_th[C];
static uint32_t g_rng = 1u;

static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static void ticks_start(void)
{
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 5u; /* enable, core clock, no interrupt: runs below 2^24 ticks only */
    while (SYST_CVR == 0u) {
    }
}

static uint32_t ticks_now(void)
{
    return 0xFFFFFFu - SYST_CVR;
}

/* 2 * n instructions: subs + bne */
static void spin(uint32_t n)
{
#if defined(__ARM_ARCH_6M__)
    __asm__ volatile(".syntax unified\n1: subs %0, %0, #1\n bne 1b\n .syntax divided"
                     : "+l"(n) : : "cc");
#else
    __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+l"(n) : : "cc");
#endif
}

int main(void)
{
    const bnn_window win = {3, 3, 1, 1, 1, 1, 1, 1};
    const bnn_dims d = {H, W, C};
    uint32_t t0, t1, t2, t3, i;
    for (i = 0; i < C * H * W; ++i) {
        g_in[i] = (float)((int32_t)(rnd() % 2001u) - 1000);
    }
    for (i = 0; i < C * 9 * 2; ++i) {
        g_w[i] = rnd();
    }
    for (i = 0; i < C; ++i) {
        g_th[i] = (int32_t)(rnd() % 41u) - 20;
    }
    ticks_start();
    t0 = ticks_now();
    spin(100000u);
    t1 = ticks_now();
    printf("calib_200k %lu\n", (unsigned long)(t1 - t0));
    t0 = ticks_now();
    bnn_pack_chw_f32(g_in, d, g_bits);
    t1 = ticks_now();
    bnn_conv2d_bin_thresh(g_bits, d, g_w, g_th, &win, g_obits, d);
    t2 = ticks_now();
    bnn_unpack_bits_chw_f32(g_obits, d, g_out);
    t3 = ticks_now();
    printf("opt_pack %lu\nopt_conv %lu\nopt_unpack %lu\n", (unsigned long)(t1 - t0),
           (unsigned long)(t2 - t1), (unsigned long)(t3 - t2));
#if defined(WITH_REF)
    t0 = ticks_now();
    bnn_pack_chw_f32_ref(g_in, d, g_bits);
    t1 = ticks_now();
    bnn_conv2d_bin_thresh_ref(g_bits, d, g_w, g_th, &win, g_obits, d);
    t2 = ticks_now();
    bnn_unpack_bits_chw_f32_ref(g_obits, d, g_out_ref);
    t3 = ticks_now();
    printf("ref_pack %lu\nref_conv %lu\nref_unpack %lu\n", (unsigned long)(t1 - t0),
           (unsigned long)(t2 - t1), (unsigned long)(t3 - t2));
    if (memcmp(g_out, g_out_ref, sizeof g_out) != 0) {
        printf("MISMATCH\n");
        return 3;
    }
#endif
    return 0;
}
