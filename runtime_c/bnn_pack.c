/*
 * bnn_pack.c - REAL CHW <-> BITS HWC.
 *
 * The first and last layers touch every value, so both directions avoid float compares (a library
 * call on soft-float M0+/M3) and work on the float bit patterns:
 * - x >= 0 (+-0, positives, +inf; not NaN) iff (u & (u - 1)) < 0x7f800000 on the bits u (v6-M: SUBS,
 *   ANDS, CMP, its carry shifted in by ADCS), iff u <= (0xff + (u >> 31)) << 23 (Thumb-2: ADD with
 *   a shifted operand, RSBS, ADC);
 * - bit b -> -1.0f + (b << 31), i.e. 0xbf800000 + (bit << 31).
 * On the scalar cores (!BNN_COMPACT) full 32-channel words go through the assembly below, the 32
 * channels unrolled, several pixels per pass so that one LDM / STM moves a channel's floats of all
 * of them. Per value: M0+ pack 4 instructions + 2/3 (LDM and the plane step, 3 pixels); M0+ unpack
 * about 2.1: two delta swaps turn four pixels' words into nibbles (a channel's four bits), and each
 * nibble's four floats come from a 256-byte table with one LDM and leave with one STM (7 per
 * channel of four pixels); M3/M4/M7/M33 pack 3 + 1/2 (4 pixels), unpack 1.5 + 1/2 (ADD of bit 0
 * at bit 31, BIC of bit 1 at bit 31, whose bit 0 at bit 30 lands on a zero of 0xbf800000; one LSR
 * per two bits). conv64 (64 x 16 x 16) pack / unpack instructions, before -> after: M0+ 153,780
 * -> 79,608 / 120,973 -> 35,177, M4 127,859 -> 58,903 / 101,209 -> 33,668. Partial words, the
 * pixels left over and the compact build take the C loops (two pixels per step); Helium has its
 * own vector loops (BNN_PACK_MVE).
 */
#include "bnn.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2) && !defined(BNN_NO_MVE)
/* Helium with float support: four pixels per vector (see pack_mve / unpack_mve). */
#include <arm_mve.h>
#define BNN_PACK_MVE 1
#endif

/* The assembly passes: Thumb-2 (GCC, clang) and v6-M (GCC: clang has only the unified syntax
 * and keeps the C loops there). */
#if !BNN_COMPACT && defined(__arm__) && defined(__thumb__) && !defined(BNN_NO_ASM) && \
    !defined(BNN_PACK_MVE) && (defined(__GNUC__) || defined(__clang__))
#if defined(__thumb2__)
#define BNN_PACK_T2 1
#elif !defined(__clang__)
#define BNN_PACK_V6M 1
#endif
#endif

/* Type punning through a union is defined in C99 (TC3) and, unlike memcpy, is never a
 * library call on v6-M. */
typedef union {
    float f;
    uint32_t u;
} float_bits;

/* 1 iff x >= 0: +0, -0, positives, +inf; 0 for negatives, -inf and NaN of either sign. Clearing
 * the lowest set bit leaves +-0 at 0, keeps every other negative (and -inf, -NaN) >= 0x80000000, a
 * positive NaN >= 0x7f800000 (its set mantissa bits lose one, its exponent stays all ones) and
 * +inf or a number below it. (The Helium pack below keeps an earlier form, bit 31 of
 * (u & (u - 1)) | ((u & 0x7fffffff) + 0x007fffff), for "not >= 0".) */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused)) /* the assembly below replaces it in some builds */
#endif
static uint32_t is_nonneg(float x)
{
    float_bits v;
    v.f = x;
    return (uint32_t)((v.u & (v.u - 1u)) < 0x7f800000u);
}

/* acc = 2 acc + is_nonneg(x), the compare's carry added in by ADC: v6-M 4 instructions (k =
 * 0x7f7fffff: CMP k, u & (u - 1) sets the carry iff x >= 0), Thumb-2 3 (k = 0xff: the carry of
 * ((k + sign) << 23) - u; GCC formed the bit with a compare and conditional moves, then shifted
 * it in). */
#if !BNN_COMPACT && defined(__arm__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(BNN_NO_ASM)
#if defined(__thumb2__)
#define BNN_SHIFT_IN_POS(acc, x, k)                                                          \
    do {                                                                                     \
        float_bits si_v;                                                                     \
        uint32_t si_t;                                                                       \
        si_v.f = (x);                                                                        \
        __asm__("add %1, %3, %2, lsr #31\n\trsbs %1, %2, %1, lsl #23\n\tadc %0, %0, %0"     \
                : "+r"(acc), "=&r"(si_t)                                                     \
                : "r"(si_v.u), "r"(k)                                                        \
                : "cc");                                                                     \
    } while (0)
#define BNN_SHIFT_IN_K 0xffu
#elif defined(__thumb__) && !defined(__clang__) /* v6-M, GCC (its default divided syntax
                                                  * restored after) */
#define BNN_SHIFT_IN_POS(acc, x, k)                                                          \
    do {                                                                                     \
        float_bits si_v;                                                                     \
        uint32_t si_t;                                                                       \
        si_v.f = (x);                                                                        \
        __asm__(".syntax unified\n\tsubs %1, %2, #1\n\tands %1, %2\n\tcmp %3, %1\n\t"         \
                "adcs %0, %0\n\t.syntax divided"                                              \
                : "+l"(acc), "=&l"(si_t)                                                     \
                : "l"(si_v.u), "l"(k)                                                        \
                : "cc");                                                                     \
    } while (0)
#define BNN_SHIFT_IN_K 0x7f7fffffu
#endif
#endif
#if !defined(BNN_SHIFT_IN_POS)
#define BNN_SHIFT_IN_POS(acc, x, k) ((void)(k), (acc) = ((acc) << 1) | is_nonneg(x))
#define BNN_SHIFT_IN_K 0u
#endif

#if defined(BNN_PACK_T2) || defined(BNN_PACK_V6M)
/* One call of the pixel-pass loops below: full 32-channel words of one group, pixels
 * [p, p + count) with count a multiple of the pass width. */
typedef struct {
    const void *src;     /* [0]  pack: channel 31 of pixel p;  unpack: word g of pixel p */
    void *dst;           /* [4]  pack: word g of pixel p;      unpack: channel 0 of pixel p */
    const void *end;     /* [8]  the planar pointer at pixel p + count */
    int32_t plane_bytes; /* [12] one channel's plane */
    int32_t word_bytes;  /* [16] one pixel's words */
} px_job;

/* Naked: the bodies are complete functions (AAPCS: r0 = the job / the vector arguments). noipa
 * keeps GCC from dropping the parameters that no C statement reads. */
#if defined(__clang__)
#define BNN_NAKED __attribute__((naked, noinline))
#else
#define BNN_NAKED __attribute__((naked, noinline, noipa))
#endif
#define BNN_UNUSED __attribute__((unused))
#define BNN_S(x) #x
#define BNN_STR(x) BNN_S(x)
#endif

#if defined(BNN_PACK_V6M)
/* v6-M pack, three pixels per pass: r0-r2 the three words (nonneg bits, channel 31 first), r3-r5
 * the LDM'd floats, r6 scratch, r7 the planar pointer; r8 = 0x7f7fffff, r9 = -(plane + 12) bytes,
 * r10 the pass pointer, r11 its end. */
#define PK3_VALUES                                                                           \
    "subs r6, r3, #1\n\tands r6, r3\n\tcmp r8, r6\n\tadcs r0, r0\n\t"                        \
    "subs r6, r4, #1\n\tands r6, r4\n\tcmp r8, r6\n\tadcs r1, r1\n\t"                        \
    "subs r6, r5, #1\n\tands r6, r5\n\tcmp r8, r6\n\tadcs r2, r2\n\t"
#define PK3_CHANNEL "ldm r7!, {r3, r4, r5}\n\tadd r7, r9\n\t" PK3_VALUES

static BNN_NAKED void pack_px(const px_job *job BNN_UNUSED)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, lr}\n\t"
            "mov r4, r8\n\tmov r5, r9\n\tmov r6, r10\n\tmov r7, r11\n\t"
            "push {r4, r5, r6, r7}\n\t"
            "ldr r4, [r0, #16]\n\tldr r5, [r0, #4]\n\tpush {r4, r5}\n\t" /* [sp] word bytes, [sp+4] dst */
            "ldr r4, [r0, #0]\n\tmov r10, r4\n\t"
            "ldr r4, [r0, #8]\n\tmov r11, r4\n\t"
            "ldr r4, [r0, #12]\n\tadds r4, #12\n\tnegs r4, r4\n\tmov r9, r4\n\t"
            "movs r4, #0xff\n\tlsls r4, r4, #23\n\tsubs r4, #1\n\tmov r8, r4\n"
            "1:\n\t"
            "mov r7, r10\n\t"
            ".rept 31\n\t" PK3_CHANNEL ".endr\n\t"
            "ldm r7!, {r3, r4, r5}\n\t" PK3_VALUES
            "ldr r6, [sp]\n\tldr r7, [sp, #4]\n\t"
            "str r0, [r7]\n\tadds r7, r6\n\tstr r1, [r7]\n\tadds r7, r6\n\tstr r2, [r7]\n\t"
            "adds r7, r6\n\tstr r7, [sp, #4]\n\t"
            "mov r7, r10\n\tadds r7, #12\n\tmov r10, r7\n\t"
            "cmp r7, r11\n\tbeq 2f\n\tb 1b\n"
            "2:\n\t"
            "add sp, #8\n\t"
            "pop {r4, r5, r6, r7}\n\t"
            "mov r8, r4\n\tmov r9, r5\n\tmov r10, r6\n\tmov r11, r7\n\t"
            "pop {r4, r5, r6, r7, pc}\n\t"
            ".syntax divided");
}

/* v6-M unpack, four pixels per pass, through a table: two delta swaps turn the four pixels' words
 * into four words of nibbles, nibble m of word j = channel 4m + j of the four pixels (bit i = pixel
 * i), and each nibble picks its four floats from k_nibble_floats with one LDM and stores them with
 * one STM: 7 instructions per channel of four pixels. r0 the nibble word, r1 scratch, r2-r5 the
 * floats, r6 the planar pointer, r7 channel j's plane; r8 = the table, r9 = 4 plane - 16 bytes,
 * r10 the pass pointer, r11 its end, r12 = plane bytes; [sp] word bytes, [sp+4] the words'
 * pointer, [sp+8..16] nibble words 1..3, [sp+20] 0x55555555, [sp+24] 0x33333333. */
static const uint32_t k_nibble_floats[64] = {
#define BNN_NIB_F(n, i) (((n) >> (i)) & 1 ? 0x3f800000u : 0xbf800000u)
#define BNN_NIB(n) BNN_NIB_F(n, 0), BNN_NIB_F(n, 1), BNN_NIB_F(n, 2), BNN_NIB_F(n, 3)
    BNN_NIB(0),  BNN_NIB(1),  BNN_NIB(2),  BNN_NIB(3),  BNN_NIB(4),  BNN_NIB(5),
    BNN_NIB(6),  BNN_NIB(7),  BNN_NIB(8),  BNN_NIB(9),  BNN_NIB(10), BNN_NIB(11),
    BNN_NIB(12), BNN_NIB(13), BNN_NIB(14), BNN_NIB(15)
#undef BNN_NIB
#undef BNN_NIB_F
};

#define UP4_NIB_LAST                                                                         \
    "lsls r1, r0, #28\n\tlsrs r1, r1, #24\n\tadd r1, r8\n\t"                                 \
    "ldm r1!, {r2, r3, r4, r5}\n\tstm r6!, {r2, r3, r4, r5}\n\t"
#define UP4_NIB UP4_NIB_LAST "add r6, r9\n\tlsrs r0, r0, #4\n\t"
/* t = ((x >> s) ^ y) & mask; y ^= t; x ^= t << s */
#define UP4_SWAP(x, y, s)                                                                    \
    "lsrs r1, " x ", #" s "\n\teors r1, " y "\n\tands r1, r5\n\teors " y ", r1\n\t"          \
    "lsls r1, r1, #" s "\n\teors " x ", r1\n\t"

static BNN_NAKED void unpack_px(const px_job *job BNN_UNUSED, const uint32_t *table BNN_UNUSED)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, lr}\n\t"
            "mov r4, r8\n\tmov r5, r9\n\tmov r6, r10\n\tmov r7, r11\n\t"
            "push {r4, r5, r6, r7}\n\t"
            "sub sp, #28\n\t"
            "mov r8, r1\n\t"
            "ldr r4, [r0, #16]\n\tstr r4, [sp]\n\t"
            "ldr r4, [r0, #0]\n\tstr r4, [sp, #4]\n\t"
            "ldr r4, [r0, #4]\n\tmov r10, r4\n\t"
            "ldr r4, [r0, #8]\n\tmov r11, r4\n\t"
            "ldr r4, [r0, #12]\n\tmov r12, r4\n\tlsls r4, r4, #2\n\tsubs r4, #16\n\tmov r9, r4\n\t"
            "ldr r4, =0x55555555\n\tstr r4, [sp, #20]\n\t"
            "ldr r4, =0x33333333\n\tstr r4, [sp, #24]\n\t"
            "b 1f\n\t"
            ".ltorg\n"
            "1:\n\t"
            "ldr r1, [sp]\n\tldr r6, [sp, #4]\n\t"
            "ldr r0, [r6]\n\tadds r6, r1\n\tldr r2, [r6]\n\tadds r6, r1\n\t"
            "ldr r3, [r6]\n\tadds r6, r1\n\tldr r4, [r6]\n\tadds r6, r1\n\t"
            "str r6, [sp, #4]\n\t"
            "ldr r5, [sp, #20]\n\t"
            UP4_SWAP("r0", "r2", "1") UP4_SWAP("r3", "r4", "1")
            "ldr r5, [sp, #24]\n\t"
            UP4_SWAP("r0", "r3", "2") UP4_SWAP("r2", "r4", "2")
            "str r2, [sp, #8]\n\tstr r3, [sp, #12]\n\tstr r4, [sp, #16]\n\t"
            "mov r6, r10\n\tmov r7, r6\n\t"
            ".rept 7\n\t" UP4_NIB ".endr\n\t" UP4_NIB_LAST
            "ldr r0, [sp, #8]\n\tadd r7, r12\n\tmov r6, r7\n\t"
            ".rept 7\n\t" UP4_NIB ".endr\n\t" UP4_NIB_LAST
            "ldr r0, [sp, #12]\n\tadd r7, r12\n\tmov r6, r7\n\t"
            ".rept 7\n\t" UP4_NIB ".endr\n\t" UP4_NIB_LAST
            "ldr r0, [sp, #16]\n\tadd r7, r12\n\tmov r6, r7\n\t"
            ".rept 7\n\t" UP4_NIB ".endr\n\t" UP4_NIB_LAST
            "mov r7, r10\n\tadds r7, #16\n\tmov r10, r7\n\t"
            "cmp r7, r11\n\tbeq 2f\n\tb 1b\n"
            "2:\n\t"
            "add sp, #28\n\t"
            "pop {r4, r5, r6, r7}\n\t"
            "mov r8, r4\n\tmov r9, r5\n\tmov r10, r6\n\tmov r11, r7\n\t"
            "pop {r4, r5, r6, r7, pc}\n\t"
            ".syntax divided");
}

/* A vector (plane 1), v6-M: `words` full words; four channels per LDM, taken from the top down
 * (r4, r3, r2, r1) so that channel 31 enters first. r0 the word, r5 scratch, r6 = 0x7f7fffff. */
#define PKV_GROUP                                                                            \
    "ldm r7!, {r1, r2, r3, r4}\n\t"                                                          \
    "subs r5, r4, #1\n\tands r5, r4\n\tcmp r6, r5\n\tadcs r0, r0\n\t"                        \
    "subs r5, r3, #1\n\tands r5, r3\n\tcmp r6, r5\n\tadcs r0, r0\n\t"                        \
    "subs r5, r2, #1\n\tands r5, r2\n\tcmp r6, r5\n\tadcs r0, r0\n\t"                        \
    "subs r5, r1, #1\n\tands r5, r1\n\tcmp r6, r5\n\tadcs r0, r0\n\t"

static BNN_NAKED void pack_vector_words(const float *in BNN_UNUSED, int32_t words BNN_UNUSED,
                                        uint32_t *out BNN_UNUSED)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, lr}\n\t"
            "mov r4, r8\n\tmov r5, r9\n\tpush {r4, r5}\n\t"
            "mov r8, r2\n\tmov r9, r1\n\t"
            "movs r7, #112\n\tadds r7, r0\n\t" /* channels 28..31 of the first word */
            "movs r6, #0xff\n\tlsls r6, r6, #23\n\tsubs r6, #1\n"
            "1:\n\t"
            ".rept 7\n\t" PKV_GROUP "subs r7, #32\n\t.endr\n\t"
            PKV_GROUP
            "mov r5, r8\n\tstm r5!, {r0}\n\tmov r8, r5\n\t"
            "adds r7, #224\n\t" /* channels 28..31 of the next word */
            "mov r5, r9\n\tsubs r5, #1\n\tmov r9, r5\n\tbeq 2f\n\tb 1b\n"
            "2:\n\t"
            "pop {r4, r5}\n\tmov r8, r4\n\tmov r9, r5\n\t"
            "pop {r4, r5, r6, r7, pc}\n\t"
            ".syntax divided");
}

/* A vector (plane 1), v6-M: `words` full words to 32 floats each, five per STM. r0 the word, r1 =
 * -1.0f, r2 the output, r3-r7 the floats. */
#define UPV_ONE(r) "lsls " r ", r0, #31\n\tadds " r ", r1\n\tlsrs r0, r0, #1\n\t"
#define UPV_FIVE                                                                             \
    UPV_ONE("r3") UPV_ONE("r4") UPV_ONE("r5") UPV_ONE("r6") UPV_ONE("r7")                    \
    "stm r2!, {r3, r4, r5, r6, r7}\n\t"

static BNN_NAKED void unpack_vector_words(const uint32_t *in BNN_UNUSED,
                                          int32_t words BNN_UNUSED, float *out BNN_UNUSED)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, lr}\n\t"
            "mov r4, r8\n\tmov r5, r9\n\tpush {r4, r5}\n\t"
            "mov r8, r0\n\tmov r9, r1\n\t"
            "movs r1, #0x81\n\tlsls r1, r1, #23\n\tnegs r1, r1\n"
            "1:\n\t"
            "mov r3, r8\n\tldm r3!, {r0}\n\tmov r8, r3\n\t"
            ".rept 6\n\t" UPV_FIVE ".endr\n\t"
            UPV_ONE("r3") "lsls r4, r0, #31\n\tadds r4, r1\n\t"
            "stm r2!, {r3, r4}\n\t"
            "mov r3, r9\n\tsubs r3, #1\n\tmov r9, r3\n\tbeq 2f\n\tb 1b\n"
            "2:\n\t"
            "pop {r4, r5}\n\tmov r8, r4\n\tmov r9, r5\n\t"
            "pop {r4, r5, r6, r7, pc}\n\t"
            ".syntax divided");
}
#define BNN_PACK_PIX 3
#define BNN_UNPACK_PIX 4
#define UNPACK_PX(job) unpack_px(job, k_nibble_floats)
#endif /* BNN_PACK_V6M */

#if defined(BNN_PACK_T2)
/* Thumb-2 pack, four pixels per pass: r0-r3 the four words (nonneg bits, channel 31 first), r4-r7
 * the LDM'd floats, r8 scratch, r9 the planar pointer, r10 = 0xff, r11 = plane bytes, r12 the
 * pass pointer, lr its end. */
#define PK4_VALUES                                                                           \
    "add r8, r10, r4, lsr #31\n\trsbs r8, r4, r8, lsl #23\n\tadcs r0, r0\n\t"                \
    "add r8, r10, r5, lsr #31\n\trsbs r8, r5, r8, lsl #23\n\tadcs r1, r1\n\t"                \
    "add r8, r10, r6, lsr #31\n\trsbs r8, r6, r8, lsl #23\n\tadcs r2, r2\n\t"                \
    "add r8, r10, r7, lsr #31\n\trsbs r8, r7, r8, lsl #23\n\tadcs r3, r3\n\t"
#define PK4_CHANNEL "ldm r9, {r4, r5, r6, r7}\n\tsub r9, r9, r11\n\t" PK4_VALUES

static BNN_NAKED void pack_px(const px_job *job BNN_UNUSED)
{
    __asm__("push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "ldr r1, [r0, #4]\n\tldr r2, [r0, #16]\n\tpush {r1, r2}\n\t" /* [sp] dst, [sp+4] word bytes */
            "ldr r12, [r0, #0]\n\tldr lr, [r0, #8]\n\tldr r11, [r0, #12]\n\t"
            "mov r10, #0xff\n"
            "1:\n\t"
            "mov r9, r12\n\t"
            ".rept 31\n\t" PK4_CHANNEL ".endr\n\t"
            "ldm r9, {r4, r5, r6, r7}\n\t" PK4_VALUES
            "ldrd r8, r9, [sp]\n\t"
            "str r0, [r8]\n\tstr r1, [r8, r9]\n\tadd r8, r8, r9, lsl #1\n\t"
            "str r2, [r8]\n\tstr r3, [r8, r9]\n\tadd r8, r8, r9, lsl #1\n\t"
            "str r8, [sp]\n\t"
            "add r12, r12, #16\n\t"
            "cmp r12, lr\n\tbne 1b\n\t"
            "add sp, #8\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}

/* Thumb-2 unpack, four pixels per pass: r0-r3 the four words (shifted down two bits per two
 * channels), r4-r7 the floats of one channel, r8 = 0xbf800000 (-1.0f), r9 the planar pointer,
 * r10 = plane bytes, r11 the words' pointer, r12 the pass pointer, lr its end. Even channel:
 * -1.0f + (bit 0 << 31); odd channel: -1.0f & ~(word << 30), bit 1 at bit 31 and bit 0 at bit 30,
 * which is 0 in +-1.0f. */
#define UP4_EVEN                                                                             \
    "add r4, r8, r0, lsl #31\n\tadd r5, r8, r1, lsl #31\n\t"                                 \
    "add r6, r8, r2, lsl #31\n\tadd r7, r8, r3, lsl #31\n\t"                                 \
    "stm r9, {r4, r5, r6, r7}\n\tadd r9, r9, r10\n\t"
#define UP4_ODD                                                                              \
    "bic r4, r8, r0, lsl #30\n\tbic r5, r8, r1, lsl #30\n\t"                                 \
    "bic r6, r8, r2, lsl #30\n\tbic r7, r8, r3, lsl #30\n\t"                                 \
    "stm r9, {r4, r5, r6, r7}\n\t"
#define UP4_PAIR                                                                             \
    UP4_EVEN UP4_ODD "add r9, r9, r10\n\t"                                                   \
    "lsrs r0, r0, #2\n\tlsrs r1, r1, #2\n\tlsrs r2, r2, #2\n\tlsrs r3, r3, #2\n\t"

static BNN_NAKED void unpack_px(const px_job *job BNN_UNUSED)
{
    __asm__("push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "ldr r1, [r0, #16]\n\tpush {r1, r2}\n\t" /* [sp] word bytes */
            "ldr r11, [r0, #0]\n\tldr r12, [r0, #4]\n\tldr lr, [r0, #8]\n\tldr r10, [r0, #12]\n\t"
            "movw r8, #0\n\tmovt r8, #0xbf80\n"
            "1:\n\t"
            "ldr r9, [sp]\n\t"
            "ldr r0, [r11]\n\tldr r1, [r11, r9]\n\tadd r11, r11, r9, lsl #1\n\t"
            "ldr r2, [r11]\n\tldr r3, [r11, r9]\n\tadd r11, r11, r9, lsl #1\n\t"
            "mov r9, r12\n\t"
            ".rept 15\n\t" UP4_PAIR ".endr\n\t"
            UP4_EVEN UP4_ODD
            "add r12, r12, #16\n\t"
            "cmp r12, lr\n\tbne 1b\n\t"
            "add sp, #8\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}

/* A vector (plane 1), Thumb-2: `words` full words; eight channels per LDMDB, from the top down
 * (r11 .. r4) so that channel 31 enters first. r3 = 0xff, r12 the word, lr scratch. */
#define PKV_ONE(r) "add lr, r3, " r ", lsr #31\n\trsbs lr, " r ", lr, lsl #23\n\tadc r12, r12, r12\n\t"
#define PKV_EIGHT                                                                            \
    "ldmdb r0!, {r4, r5, r6, r7, r8, r9, r10, r11}\n\t"                                      \
    PKV_ONE("r11") PKV_ONE("r10") PKV_ONE("r9") PKV_ONE("r8")                                \
    PKV_ONE("r7") PKV_ONE("r6") PKV_ONE("r5") PKV_ONE("r4")

static BNN_NAKED void pack_vector_words(const float *in BNN_UNUSED, int32_t words BNN_UNUSED,
                                        uint32_t *out BNN_UNUSED)
{
    __asm__("push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "mov r3, #0xff\n\t"
            "add r0, r0, #128\n" /* past channel 31 of the first word */
            "1:\n\t"
            PKV_EIGHT PKV_EIGHT PKV_EIGHT PKV_EIGHT
            "str r12, [r2], #4\n\t"
            "add r0, r0, #256\n\t" /* past channel 31 of the next word */
            "subs r1, r1, #1\n\tbne 1b\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}

/* A vector (plane 1), Thumb-2: `words` full words to 32 floats each, eight per STM (even and odd
 * channels as in unpack_px). r3 = -1.0f, r12 the word. */
#define UPV_PAIR(a, b)                                                                       \
    "add " a ", r3, r12, lsl #31\n\tbic " b ", r3, r12, lsl #30\n\tlsr r12, r12, #2\n\t"
#define UPV_EIGHT                                                                            \
    UPV_PAIR("r4", "r5") UPV_PAIR("r6", "r7") UPV_PAIR("r8", "r9") UPV_PAIR("r10", "r11")   \
    "stmia r2!, {r4, r5, r6, r7, r8, r9, r10, r11}\n\t"

static BNN_NAKED void unpack_vector_words(const uint32_t *in BNN_UNUSED,
                                          int32_t words BNN_UNUSED, float *out BNN_UNUSED)
{
    __asm__("push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "movw r3, #0\n\tmovt r3, #0xbf80\n"
            "1:\n\t"
            "ldr r12, [r0], #4\n\t"
            UPV_EIGHT UPV_EIGHT UPV_EIGHT UPV_EIGHT
            "subs r1, r1, #1\n\tbne 1b\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}
#define BNN_PACK_PIX 4
#define BNN_UNPACK_PIX 4
#define UNPACK_PX(job) unpack_px(job)
#endif /* BNN_PACK_T2 */

#if defined(BNN_PACK_MVE)
/* Pixels [0, plane & ~3) of channel group g, four pixels per vector: lane i of a vector is
 * pixel p + i, so the 32 strided channel loads of the scalar loop become contiguous vector
 * loads and the four packed words leave with one scatter store. */
static void pack_mve(const float *in, int32_t plane, int32_t words, int32_t g, int32_t n,
                     uint32_t *out)
{
    static const uint32_t lane_offsets[4] = {0u, 1u, 2u, 3u};
    const uint32x4_t offsets = vmulq_n_u32(vldrwq_u32(lane_offsets), (uint32_t)words);
    const uint32x4_t valid = vdupq_n_u32(0xffffffffu >> (32 - n));
    int32_t p, b;
    for (p = 0; p + 4 <= plane; p += 4) {
        const float *src = in + (g * 32 + n - 1) * plane + p;
        uint32x4_t neg = vdupq_n_u32(0u);
        for (b = n; b > 0; --b, src -= plane) {
            uint32x4_t u = vreinterpretq_u32_f32(vldrwq_f32(src));
            /* bit 31: negative and non-zero, or NaN (see is_nonneg) */
            uint32x4_t flag = vorrq_u32(vandq_u32(u, vsubq_n_u32(u, 1u)),
                                        vaddq_n_u32(vandq_u32(u, vdupq_n_u32(0x7fffffffu)),
                                                    0x007fffffu));
            neg = vsliq_n_u32(vshrq_n_u32(flag, 31), neg, 1);
        }
        vstrwq_scatter_shifted_offset_u32(out + p * words + g, offsets, vbicq_u32(valid, neg));
    }
}

/* Pixels [0, plane & ~3) of channel group g: the inverse of pack_mve. */
static void unpack_mve(const uint32_t *in, int32_t plane, int32_t words, int32_t g, int32_t n,
                       float *out)
{
    static const uint32_t lane_offsets[4] = {0u, 1u, 2u, 3u};
    const uint32x4_t offsets = vmulq_n_u32(vldrwq_u32(lane_offsets), (uint32_t)words);
    const uint32x4_t minus_one = vdupq_n_u32(0xbf800000u);
    int32_t p, b;
    for (p = 0; p + 4 <= plane; p += 4) {
        uint32x4_t bits = vldrwq_gather_shifted_offset_u32(in + p * words + g, offsets);
        float *dst = out + g * 32 * plane + p;
        for (b = 0; b < n; ++b, dst += plane) {
            vstrwq_f32(dst, vreinterpretq_f32_u32(vaddq_u32(minus_one, vshlq_n_u32(bits, 31))));
            bits = vshrq_n_u32(bits, 1);
        }
    }
}

/* A vector (plane 1, e.g. a dense layer's input): the full words of c channels, four channels
 * per vector; returns how many words it wrote (the last partial one is left to the caller). */
static int32_t pack_vector_mve(const float *in, int32_t c, uint32_t *out)
{
    static const int32_t lane_shifts[4] = {0, 1, 2, 3};
    int32_t g, j;
    for (g = 0; g < c / 32; ++g) {
        int32x4_t shifts = vldrwq_s32(lane_shifts);
        uint32x4_t neg = vdupq_n_u32(0u);
        for (j = 0; j < 32; j += 4) {
            uint32x4_t u = vreinterpretq_u32_f32(vldrwq_f32(in + g * 32 + j));
            /* bit 31: negative and non-zero, or NaN (see is_nonneg) */
            uint32x4_t flag = vorrq_u32(vandq_u32(u, vsubq_n_u32(u, 1u)),
                                        vaddq_n_u32(vandq_u32(u, vdupq_n_u32(0x7fffffffu)),
                                                    0x007fffffu));
            neg = vorrq_u32(neg, vshlq_u32(vshrq_n_u32(flag, 31), shifts));
            shifts = vaddq_n_s32(shifts, 4);
        }
        out[g] = ~vaddvq_u32(neg); /* the lanes' bits are disjoint: the sum is their OR */
    }
    return g;
}

/* A vector (plane 1, e.g. a dense layer's output): channels b..b+3 of a word in one vector. */
static void unpack_vector_mve(const uint32_t *in, int32_t c, float *out)
{
    static const int32_t lane_shifts[4] = {0, -1, -2, -3};
    const int32x4_t shifts = vldrwq_s32(lane_shifts);
    const uint32x4_t minus_one = vdupq_n_u32(0xbf800000u);
    int32_t g, b;
    for (g = 0; g < BNN_WORDS(c); ++g) {
        int32_t n = c - g * 32 < 32 ? c - g * 32 : 32;
        uint32x4_t bits = vshlq_u32(vdupq_n_u32(in[g]), shifts); /* lane i: word >> i */
        if (n == 32) {
            for (b = 0; b < 32; b += 4) {
                vstrwq_f32(out + g * 32 + b,
                           vreinterpretq_f32_u32(vaddq_u32(minus_one, vshlq_n_u32(bits, 31))));
                bits = vshrq_n_u32(bits, 4);
            }
            continue;
        }
        for (b = 0; b < n; b += 4) {
            vstrwq_p_f32(out + g * 32 + b,
                         vreinterpretq_f32_u32(vaddq_u32(minus_one, vshlq_n_u32(bits, 31))),
                         vctp32q((uint32_t)(n - b)));
            bits = vshrq_n_u32(bits, 4);
        }
    }
}
#endif

#if !defined(BNN_PACK_MVE) && !BNN_COMPACT && !defined(BNN_PACK_T2) && !defined(BNN_PACK_V6M)
/* A vector (plane 1, e.g. a dense layer's input), scalar cores without the assembly: the 32
 * channels of a word are contiguous floats, read forwards four at a time; each ">= 0" bit enters
 * the word from the top, so channel 0 ends at bit 0. */
static void pack_vector_words(const float *in, int32_t words, uint32_t *out)
{
    int32_t g, j;
    for (g = 0; g < words; ++g, in += 32) {
        uint32_t pos = 0u;
        for (j = 0; j < 32; j += 4) {
            pos = (pos >> 1) | (is_nonneg(in[j]) << 31);
            pos = (pos >> 1) | (is_nonneg(in[j + 1]) << 31);
            pos = (pos >> 1) | (is_nonneg(in[j + 2]) << 31);
            pos = (pos >> 1) | (is_nonneg(in[j + 3]) << 31);
        }
        out[g] = pos;
    }
}

/* A vector (plane 1, e.g. a dense layer's output), scalar cores without the assembly: -1.0f +
 * bit * 2^31 per channel, four contiguous floats per step. */
static void unpack_vector_words(const uint32_t *in, int32_t words, float *out)
{
    float_bits *dst = (float_bits *)out;
    int32_t g, b;
    for (g = 0; g < words; ++g, dst += 32) {
        uint32_t bits = in[g];
        for (b = 0; b < 32; b += 4) {
            dst[b].u = 0xbf800000u + (bits << 31);
            dst[b + 1].u = 0xbf800000u + ((bits >> 1) << 31);
            dst[b + 2].u = 0xbf800000u + ((bits >> 2) << 31);
            dst[b + 3].u = 0xbf800000u + ((bits >> 3) << 31);
            bits >>= 4;
        }
    }
}
#endif

#if defined(BNN_PACK_V6M)
/* plane - plane % 3 without a division (a library call on v6-M): x * 43691 >> 17 is x / 3 for
 * x < 98304. */
static int32_t whole_passes(int32_t plane)
{
    int32_t q = 0;
    while (plane >= 98304) {
        plane -= 98304;
        q += 98304;
    }
    return q + 3 * (int32_t)(((uint32_t)plane * 43691u) >> 17);
}
#elif defined(BNN_PACK_T2)
#define whole_passes(plane) ((plane) & ~3)
#endif

void bnn_pack_chw_f32(const float *in, bnn_dims d, uint32_t *out)
{
    const uint32_t k = BNN_SHIFT_IN_K;
    int32_t words = BNN_WORDS(d.c);
    int32_t plane = d.h * d.w;
    int32_t p, g = 0, b;
#if defined(BNN_PACK_MVE)
    if (plane == 1) {
        g = pack_vector_mve(in, d.c, out);
    }
#elif !BNN_COMPACT
    if (plane == 1 && d.c >= 32) {
        pack_vector_words(in, d.c / 32, out);
        g = d.c / 32;
    }
#endif
    for (; g < words; ++g) {
        int32_t n = d.c - g * 32 < 32 ? d.c - g * 32 : 32;
        /* ~0 >> (32 - n) without the undefined shift by 32 */
        uint32_t valid = 0xffffffffu >> (32 - n);
        const float *group = in + g * 32 * plane;
        p = 0;
#if defined(BNN_PACK_MVE)
        pack_mve(in, plane, words, g, n, out);
        p = plane & ~3;
#elif defined(BNN_PACK_PIX)
        if (n == 32 && plane >= BNN_PACK_PIX) {
            px_job job;
            p = whole_passes(plane);
            job.src = group + 31 * plane;
            job.dst = out + g;
            job.end = group + 31 * plane + p;
            job.plane_bytes = plane * (int32_t)sizeof(float);
            job.word_bytes = words * (int32_t)sizeof(uint32_t);
            pack_px(&job);
        }
#endif
        for (; p + 1 < plane; p += 2) {
            const float *src = group + (n - 1) * plane + p;
            uint32_t pos0 = 0u, pos1 = 0u;
            /* highest channel first: every bit lands with one shift-or */
            for (b = n; b > 0; --b, src -= plane) {
                BNN_SHIFT_IN_POS(pos0, src[0], k);
                BNN_SHIFT_IN_POS(pos1, src[1], k);
            }
            out[p * words + g] = pos0 & valid;
            out[(p + 1) * words + g] = pos1 & valid;
        }
        if (p < plane) {
            const float *src = group + (n - 1) * plane + p;
            uint32_t pos0 = 0u;
            for (b = n; b > 0; --b, src -= plane) {
                BNN_SHIFT_IN_POS(pos0, src[0], k);
            }
            out[p * words + g] = pos0 & valid;
        }
    }
}

void bnn_unpack_bits_chw_f32(const uint32_t *in, bnn_dims d, float *out)
{
    int32_t words = BNN_WORDS(d.c);
    int32_t plane = d.h * d.w;
    int32_t p, g, b;
    g = 0;
#if defined(BNN_PACK_MVE)
    if (plane == 1) {
        unpack_vector_mve(in, d.c, out);
        return;
    }
#elif !BNN_COMPACT
    if (plane == 1 && d.c >= 32) {
        unpack_vector_words(in, d.c / 32, out);
        g = d.c / 32;
    }
#endif
    for (; g < words; ++g) {
        int32_t n = d.c - g * 32 < 32 ? d.c - g * 32 : 32;
        float *group = out + g * 32 * plane;
        p = 0;
#if defined(BNN_PACK_MVE)
        unpack_mve(in, plane, words, g, n, out);
        p = plane & ~3;
#elif defined(BNN_UNPACK_PIX)
        if (n == 32 && plane >= BNN_UNPACK_PIX) {
            px_job job;
            p = plane & ~3;
            job.src = in + g;
            job.dst = group;
            job.end = group + p;
            job.plane_bytes = plane * (int32_t)sizeof(float);
            job.word_bytes = words * (int32_t)sizeof(uint32_t);
            UNPACK_PX(&job);
        }
#endif
        for (; p + 1 < plane; p += 2) {
            uint32_t bits0 = in[p * words + g], bits1 = in[(p + 1) * words + g];
            float *dst = group + p;
            for (b = 0; b < n; ++b, dst += plane) {
                /* -1.0f is 0xbf800000; adding bit << 31 flips the sign to +1.0f */
                float_bits v0, v1;
                v0.u = 0xbf800000u + (bits0 << 31);
                v1.u = 0xbf800000u + (bits1 << 31);
                dst[0] = v0.f;
                dst[1] = v1.f;
                bits0 >>= 1;
                bits1 >>= 1;
            }
        }
        if (p < plane) {
            uint32_t bits0 = in[p * words + g];
            float *dst = group + p;
            for (b = 0; b < n; ++b, dst += plane) {
                float_bits v0;
                v0.u = 0xbf800000u + (bits0 << 31);
                dst[0] = v0.f;
                bits0 >>= 1;
            }
        }
    }
}
