/*
 * bnn_semihost.c - bnn_target_io.h over Arm semihosting (BKPT 0xAB), without newlib.
 * QEMU serves it with -semihosting-config enable=on,target=native: files are host files relative
 * to QEMU's working directory, console text goes to QEMU's stdout, and SYS_EXIT_EXTENDED becomes
 * QEMU's exit status. Also reports faults (Fault_Handler in startup.c calls bnn_fault_report).
 */
#include <stdint.h>

#include "bnn_target_io.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int32_t semihost_call(int32_t op, const void *arg)
{
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static uint32_t string_length(const char *s)
{
    uint32_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

int32_t bnn_io_open(const char *path, int32_t mode)
{
    /* Semihosting fopen modes: 1 = "rb", 5 = "wb". */
    uint32_t args[3];
    args[0] = (uint32_t)(uintptr_t)path;
    args[1] = mode == BNN_IO_WRITE ? 5u : 1u;
    args[2] = string_length(path);
    return semihost_call(SYS_OPEN, args);
}

int32_t bnn_io_read(int32_t handle, void *buf, uint32_t n)
{
    uint32_t args[3];
    args[0] = (uint32_t)handle;
    args[1] = (uint32_t)(uintptr_t)buf;
    args[2] = n;
    /* SYS_READ returns the number of bytes NOT read. */
    int32_t left = semihost_call(SYS_READ, args);
    return left < 0 || (uint32_t)left > n ? -1 : (int32_t)(n - (uint32_t)left);
}

int32_t bnn_io_write(int32_t handle, const void *buf, uint32_t n)
{
    uint32_t args[3];
    args[0] = (uint32_t)handle;
    args[1] = (uint32_t)(uintptr_t)buf;
    args[2] = n;
    /* SYS_WRITE returns the number of bytes NOT written. */
    int32_t left = semihost_call(SYS_WRITE, args);
    return left < 0 || (uint32_t)left > n ? -1 : (int32_t)(n - (uint32_t)left);
}

void bnn_io_close(int32_t handle)
{
    uint32_t args[1];
    args[0] = (uint32_t)handle;
    (void)semihost_call(SYS_CLOSE, args);
}

void bnn_puts(const char *s)
{
    (void)semihost_call(SYS_WRITE0, s);
}

void bnn_put_hex(const char *label, uint32_t value)
{
    char text[12];
    int i;
    text[0] = ' ';
    for (i = 0; i < 8; i++) {
        uint32_t nibble = (value >> (28 - 4 * i)) & 0xFu;
        text[1 + i] = (char)(nibble < 10u ? '0' + nibble : 'a' + nibble - 10u);
    }
    text[9] = '\n';
    text[10] = '\0';
    bnn_puts(label);
    bnn_puts(text);
}

void bnn_exit(int status)
{
    uint32_t args[2];
    args[0] = ADP_STOPPED_APPLICATION_EXIT;
    args[1] = (uint32_t)status;
    (void)semihost_call(SYS_EXIT_EXTENDED, args);
    for (;;) {
    }
}

/* Exit status of a fault; the host runner maps it to "hard fault". */
#define BNN_EXIT_FAULT 3

void bnn_fault_report(const uint32_t *frame, uint32_t ipsr);

void bnn_fault_report(const uint32_t *frame, uint32_t ipsr)
{
    bnn_puts("BNN_FAULT\n");
    bnn_put_hex("exception", ipsr & 0x1FFu);
    if (frame == 0) {
        bnn_puts("stack overflow: sp ran below the stack reserved in the linker script\n");
    } else {
        /* Hardware-stacked frame: r0 r1 r2 r3 r12 lr pc xpsr. */
        bnn_put_hex("pc", frame[6]);
        bnn_put_hex("lr", frame[5]);
    }
#if !defined(__ARM_ARCH_6M__)
    /* CFSR/HFSR/MMFAR/BFAR exist from ARMv7-M on; reading them on v6-M would fault again. */
    bnn_put_hex("cfsr", *(volatile uint32_t *)0xE000ED28u);
    bnn_put_hex("hfsr", *(volatile uint32_t *)0xE000ED2Cu);
    bnn_put_hex("mmfar", *(volatile uint32_t *)0xE000ED34u);
    bnn_put_hex("bfar", *(volatile uint32_t *)0xE000ED38u);
#endif
    bnn_exit(BNN_EXIT_FAULT);
}
