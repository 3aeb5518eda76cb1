/*
 * icount_plugin.c - QEMU TCG plugin (API version 1, QEMU 7.x) counting guest instructions exactly.
 *
 * Debian ships QEMU with plugin support but without qemu-plugin.h, so the few API entry points used
 * are declared here. Every translated block adds its instruction count when it starts executing;
 * each time a block starting at the address given as mark=0x... (bnn_profile_mark) executes, the
 * running count is appended to the file given as out=PATH. The harness calls the mark before and
 * after every layer, so differences of successive lines are per-layer instruction counts.
 *
 * Build: cc -O2 -shared -fPIC -o libbnn_icount.so icount_plugin.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;

enum qemu_plugin_cb_flags {
    QEMU_PLUGIN_CB_NO_REGS,
    QEMU_PLUGIN_CB_R_REGS,
    QEMU_PLUGIN_CB_RW_REGS,
};

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t executed;
static uint64_t mark_address;
static FILE *out;

/* userdata packs the block's instruction count and whether it starts at the mark. */
static void block_executed(unsigned int vcpu_index, void *userdata)
{
    uintptr_t data = (uintptr_t)userdata;
    (void)vcpu_index;
    if (data & 1u) {
        fprintf(out, "mark %llu\n", (unsigned long long)executed);
    }
    executed += data >> 1;
}

static void block_translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    uintptr_t data = (uintptr_t)qemu_plugin_tb_n_insns(tb) << 1;
    (void)id;
    if (qemu_plugin_tb_vaddr(tb) == mark_address) {
        data |= 1u;
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, block_executed, QEMU_PLUGIN_CB_NO_REGS, (void *)data);
}

static void at_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    fprintf(out, "total %llu\n", (unsigned long long)executed);
    fclose(out);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t *info, int argc,
                                                               char **argv)
{
    int i;
    const char *path = NULL;
    (void)info;
    for (i = 0; i < argc; i++) {
        if (strncmp(argv[i], "mark=", 5) == 0) {
            mark_address = strtoull(argv[i] + 5, NULL, 0);
        } else if (strncmp(argv[i], "out=", 4) == 0) {
            path = argv[i] + 4;
        }
    }
    if (path == NULL || (out = fopen(path, "w")) == NULL) {
        fprintf(stderr, "bnn icount plugin: needs out=PATH\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, block_translated);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
