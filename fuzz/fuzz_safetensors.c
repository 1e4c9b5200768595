/* libFuzzer target: safetensors bytes -> dolor_checkpoint_read_meta and
 * dolor_checkpoint_load (header JSON, __metadata__, tensor table, data
 * section, network and optimizer creation). The checkpoint API reads files,
 * so each input is written to one memory file (memfd) opened by its
 * /proc/self/fd path. */
#define _GNU_SOURCE
#include "dolor/train.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.safetensors", 0);
        if (fd < 0)
            return 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    dolor_model_meta meta;
    if (dolor_checkpoint_read_meta(path, &meta) != DOLOR_OK)
        return 0;
    dolor_net *net = NULL;
    dolor_adamw *opt = NULL;
    if (dolor_checkpoint_load(path, &net, &opt, &meta) == DOLOR_OK) {
        volatile float s = dolor_net_params(net)[0];
        (void)s;
    }
    dolor_net_free(net);
    dolor_adamw_free(opt);
    return 0;
}
