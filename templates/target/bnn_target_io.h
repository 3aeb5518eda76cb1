/*
 * bnn_target_io.h - the few host services a bnncc harness needs: files, console, exit.
 * bnn_semihost.c implements them with Arm semihosting (QEMU, or a debugger on a real board);
 * bnn_host_io.c with stdio for a native build.
 */
#ifndef BNN_TARGET_IO_H
#define BNN_TARGET_IO_H

#include <stdint.h>

#define BNN_IO_READ 0
#define BNN_IO_WRITE 1

/* A handle >= 0, or -1 when the file cannot be opened. */
int32_t bnn_io_open(const char *path, int32_t mode);
/* Bytes transferred (fewer than n at end of file), -1 on error. */
int32_t bnn_io_read(int32_t handle, void *buf, uint32_t n);
int32_t bnn_io_write(int32_t handle, const void *buf, uint32_t n);
void bnn_io_close(int32_t handle);
void bnn_puts(const char *s);
/* Prints "label value" with value in hex and a newline. */
void bnn_put_hex(const char *label, uint32_t value);
void bnn_exit(int status);

#endif /* BNN_TARGET_IO_H */
