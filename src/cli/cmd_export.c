/* dolor export --onnx OUT.onnx: a trained checkpoint (or an untrained registry net) as an ONNX model for
 * inference at one fixed input shape (dolor_net_export_onnx, include/dolor/nn.h; docs/onnx.md). */
#define _POSIX_C_SOURCE 200809L
#include "opts.h"
#include "dolor/nn.h"
#include "dolor/train.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char *onnx, *model, *arch, *arch_opt, *shape;
    long seed;
} export_opts;

static const dolor_opt_spec specs[] = {
    {"onnx", 0, OPT_STR, "write the ONNX model here (opset 17, IR version 8)", .metavar = "OUT.onnx",
     DOLOR_OPT_AT(export_opts, onnx)},
    {"model", 'm', OPT_STR, "checkpoint written by dolor train or dolor detect train", .metavar = "CKPT.safetensors",
     DOLOR_OPT_AT(export_opts, model)},
    {"arch", 'a', OPT_STR, "instead of --model: an untrained net of this registry architecture (listed below), "
     "initialised from --seed", .metavar = "NAME", DOLOR_OPT_AT(export_opts, arch)},
    {"arch-opt", 0, OPT_LIST, "with --arch: architecture options KEY=VALUE,... as dolor train takes them, here with "
     "in_channels and num_classes too", .metavar = "KEY=VALUE,...", DOLOR_OPT_AT(export_opts, arch_opt)},
    {"seed", 0, OPT_INT, "with --arch: seed of the initial weights", .def = "0", DOLOR_OPT_RANGE(0, 9007199254740991.0),
     DOLOR_OPT_AT(export_opts, seed)},
    {"shape", 0, OPT_STR, "the fixed input shape of the model, N,C,H,W or N,C,D,H,W (C: the net's input channels)",
     .metavar = "N,C,H,W", .def = "1 and the checkpoint's network input size (--arch: the net's nominal input)",
     DOLOR_OPT_AT(export_opts, shape)},
};

static void more_help(FILE *fp)
{
    fprintf(fp, "\narchitectures (--arch NAME --arch-opt KEY=VALUE,...):\n");
    for (int i = 0; i < dolor_arch_count(); i++) {
        fprintf(fp, "  %s: ", dolor_arch_name(i));
        for (const char *h = dolor_arch_help(i); *h; h++)
            fputs(*h == '\n' ? "\n      " : (char[2]){*h, 0}, fp);
        fputc('\n', fp);
    }
}

static const dolor_cmd_desc export_cmd = {
    .name = "export",
    .usage = "--onnx OUT.onnx (--model CKPT.safetensors | --arch NAME [--arch-opt K=V,...] [--seed S]) "
             "[--shape N,C,H,W]",
    .summary = "Export a network as an ONNX model (ModelProto, opset 17) for inference in ONNX Runtime,\n"
               "TensorRT, OpenVINO or a browser: batch norm with its running statistics, dropout as the\n"
               "identity, parameters as initializers with their PyTorch state_dict names, input \"image\",\n"
               "outputs with the net's names (\"logits\"; YOLOv8's raw maps). Every shape is fixed at the\n"
               "export shape: export again for another input size.",
    DOLOR_CMD_SPECS(specs),
    .no_positionals = 1,
    .details = "examples:\n"
               "  dolor export --onnx nerve.onnx --model runs/nerve/best.safetensors\n"
               "  dolor export --onnx unet.onnx --arch unet --arch-opt base_channels=8,depth=3 --shape 1,1,128,128\n"
               "\n"
               "exit codes: 0 success, 1 runtime failure (I/O), 2 bad input (options, missing or malformed\n"
               "checkpoint, a shape the net cannot take)\n",
    .more_help = more_help,
};

/* "1,1,256,256" -> dims; 2, 4 or 5 entries, each 1..2^30 */
static dolor_status parse_shape(const char *s, int64_t *dims, int *ndim)
{
    char **items = NULL;
    int n = 0;
    dolor_status st = dolor_cli_split_list("--shape", s, &items, &n);
    if (!st && n != 2 && n != 4 && n != 5)
        st = dolor_error(DOLOR_EINVAL, "--shape: '%s' has %d entries; give N,C,H,W or N,C,D,H,W", s, n);
    for (int i = 0; !st && i < n; i++) {
        long v;
        st = dolor_cli_parse_int("--shape", items[i], 1, 1L << 30, &v);
        dims[i] = v;
    }
    dolor_cli_free_list(items);
    *ndim = n;
    return st;
}

static int export_run(const export_opts *o)
{
    const char *cmd = "export";
    if (!o->onnx)
        return dolor_cli_usage_error(cmd, "--onnx OUT.onnx is required (see dolor export --help)");
    if (!o->model == !o->arch)
        return dolor_cli_usage_error(cmd, "give either --model CKPT.safetensors or --arch NAME");
    if (o->model && (o->arch_opt || o->seed >= 0))
        return dolor_cli_usage_error(cmd, "--%s is for an untrained net (--arch); --model holds its architecture "
                                     "and weights", o->arch_opt ? "arch-opt" : "seed");
    int64_t dims[5];
    int ndim = 0;
    dolor_status s = o->shape ? parse_shape(o->shape, dims, &ndim) : DOLOR_OK;
    if (s)
        return dolor_cli_fail(cmd, s);
    dolor_net *net = NULL;
    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    if (o->model) {
        s = dolor_checkpoint_load(o->model, &net, NULL, &meta);
    } else {
        char **kv = NULL, *json = NULL;
        int nkv = 0;
        if (o->arch_opt)
            s = dolor_cli_split_list("--arch-opt", o->arch_opt, &kv, &nkv);
        if (!s)
            s = dolor_cli_arch_json("--arch-opt", kv, nkv, &json);
        if (!s)
            s = dolor_arch_build(o->arch, json, &net);
        if (!s)
            s = dolor_net_init(net, (uint64_t)(o->seed >= 0 ? o->seed : 0));
        dolor_cli_free_list(kv);
        free(json);
    }
    if (s) {
        dolor_net_free(net);
        return dolor_cli_fail(cmd, s);
    }
    int nin;
    int64_t nominal[5];
    s = dolor_net_input_shape(net, 0, &nin, nominal);
    if (!s && !o->shape) {
        ndim = nin;
        memcpy(dims, nominal, sizeof dims);
        dims[0] = 1;
        if (o->model && meta.height > 0 && meta.width > 0 && (nin == 4 || (nin == 5 && meta.depth > 0))) {
            dims[nin - 2] = meta.height;
            dims[nin - 1] = meta.width;
            if (nin == 5)
                dims[2] = meta.depth;
        }
    }
    if (!s)
        s = dolor_net_export_onnx(net, dims, ndim, o->onnx);
    if (s) {
        dolor_net_free(net);
        return dolor_cli_fail(cmd, s);
    }
    struct stat st;
    long long bytes = stat(o->onnx, &st) == 0 ? (long long)st.st_size : -1;
    printf("dolor export: %s: %s, input \"image\" [%lld", o->onnx, dolor_net_arch(net)[0] ? dolor_net_arch(net) : "graph",
           (long long)dims[0]);
    for (int i = 1; i < ndim; i++)
        printf(", %lld", (long long)dims[i]);
    printf("], outputs");
    for (int k = 0; k < dolor_net_num_outputs(net); k++)
        printf("%s %s", k ? "," : "", dolor_net_output_name(net, k));
    printf("; %zu parameters + %zu buffers; opset 17; %lld bytes\n", dolor_net_num_params(net),
           dolor_net_num_buffers(net), bytes);
    dolor_net_free(net);
    return DOLOR_EXIT_OK;
}

int dolor_cmd_export(int argc, char **argv)
{
    export_opts o = {.seed = -1};
    char **pos = NULL;
    int npos = 0;
    int rc = dolor_cmd_front(&export_cmd, argc, argv, dolor_opt_bind, &o, &pos, &npos, NULL);
    if (rc < 0)
        rc = export_run(&o);
    free(pos);
    free(o.onnx);
    free(o.model);
    free(o.arch);
    free(o.arch_opt);
    free(o.shape);
    return rc;
}
