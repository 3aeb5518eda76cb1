/*
 * bnn_host_io.c - bnn_target_io.h over stdio, for running a bnncc harness natively.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bnn_target_io.h"

#define MAX_FILES 4
static FILE *open_files[MAX_FILES];

int32_t bnn_io_open(const char *path, int32_t mode)
{
    int32_t h;
    for (h = 0; h < MAX_FILES; h++) {
        if (open_files[h] == NULL) {
            open_files[h] = fopen(path, mode == BNN_IO_WRITE ? "wb" : "rb");
            return open_files[h] == NULL ? -1 : h;
        }
    }
    return -1;
}

int32_t bnn_io_read(int32_t handle, void *buf, uint32_t n)
{
    size_t got = fread(buf, 1, n, open_files[handle]);
    return ferror(open_files[handle]) ? -1 : (int32_t)got;
}

int32_t bnn_io_write(int32_t handle, const void *buf, uint32_t n)
{
    size_t put = fwrite(buf, 1, n, open_files[handle]);
    return put != n ? -1 : (int32_t)put;
}

void bnn_io_close(int32_t handle)
{
    fclose(open_files[handle]);
    open_files[handle] = NULL;
}

void bnn_puts(const char *s)
{
    fputs(s, stdout);
    fflush(stdout);
}

void bnn_put_hex(const char *label, uint32_t value)
{
    printf("%s %08lx\n", label, (unsigned long)value);
    fflush(stdout);
}

void bnn_exit(int status)
{
    exit(status);
}
