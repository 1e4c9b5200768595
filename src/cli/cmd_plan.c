/* dolor plan DATASET: the fingerprint of an nnU-Net dataset and the 3D plan derived from it as nnU-Net
 * does (Isensee et al., Nature Methods 2021; rules in include/dolor/data.h), written as JSON for
 * dolor train --plan. */
#include "opts.h"
#include "dolor/data.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *output;
    long max_voxels, base, batch;
    double memory_mb;
    int quiet;
} plan_opts;

static const dolor_opt_spec specs[] = {
    {"output", 'o', OPT_STR, "plan JSON to write", .metavar = "FILE", .def = "plan.json",
     DOLOR_OPT_AT(plan_opts, output)},
    {"max-patch-voxels", 0, OPT_INT, "patch budget in voxels (training time grows with it)", .def = "262144",
     DOLOR_OPT_RANGE(4096, 1e9), DOLOR_OPT_AT(plan_opts, max_voxels)},
    {"memory-mb", 0, OPT_NUM, "training memory budget (estimate) in MB", .def = "2048", DOLOR_OPT_RANGE(1, 1e7),
     DOLOR_OPT_AT(plan_opts, memory_mb)},
    {"base", 0, OPT_INT, "U-Net channels at level 0", .def = "16", DOLOR_OPT_RANGE(1, 64),
     DOLOR_OPT_AT(plan_opts, base)},
    {"batch", 0, OPT_INT, "patches per batch", .def = "2", DOLOR_OPT_RANGE(1, 64), DOLOR_OPT_AT(plan_opts, batch)},
    {"quiet", 'q', OPT_FLAG, "print nothing but errors", DOLOR_OPT_AT(plan_opts, quiet)},
};

static const dolor_cmd_desc plan_cmd = {
    .name = "plan",
    .usage = "DATASET [options]",
    .summary = "Fingerprint an nnU-Net v2 dataset (dataset.json, imagesTr/, labelsTr/): spacings, sizes,\n"
               "per-channel foreground intensity mean/sd/median/0.5 and 99.5 percentiles, class voxel\n"
               "counts; and derive the 3D plan nnU-Net's rules give (Isensee et al., Nature Methods\n"
               "18:203, 2021): target spacing (median, anisotropic axes at the 10th percentile), patch\n"
               "size within a voxel and memory budget, U-Net depth from the patch, normalisation per\n"
               "channel (z-score; CT: clip to the foreground percentiles). Written as JSON for\n"
               "dolor train --plan; edit it freely.",
    DOLOR_CMD_SPECS(specs),
    .details = "exit codes: 0 success, 1 I/O failure, 2 bad dataset or option\n",
};

int dolor_cmd_plan(int argc, char **argv)
{
    plan_opts o = {.max_voxels = 262144, .base = 16, .batch = 2, .memory_mb = 2048};
    char **pos = NULL;
    int npos = 0;
    int rc = dolor_cmd_front(&plan_cmd, argc, argv, dolor_opt_bind, &o, &pos, &npos, NULL);
    if (rc >= 0) {
        free(o.output);
        return rc;
    }
    if (npos != 1) {
        free(pos);
        free(o.output);
        if (npos == 0)
            return dolor_cli_usage_error("plan", "no DATASET folder");
        return dolor_cli_usage_error("plan", "one DATASET folder, not %d arguments", npos);
    }
    const char *dir = pos[0];
    const char *out = o.output ? o.output : "plan.json";
    dolor_fingerprint *fp = NULL;
    dolor_plan pl;
    dolor_plan_opts po;
    dolor_plan_opts_default(&po);
    po.max_patch_voxels = o.max_voxels;
    po.memory_mb = o.memory_mb;
    po.base_channels = (int)o.base;
    po.batch_size = (int)o.batch;
    dolor_status s = dolor_fingerprint_compute(dir, &fp);
    if (!s)
        s = dolor_plan_derive(fp, dir, &po, &pl);
    if (!s)
        s = dolor_plan_write(&pl, fp, out);
    if (s) {
        rc = dolor_cli_fail("plan", s);
    } else {
        rc = DOLOR_EXIT_OK;
        if (!o.quiet) {
            printf("dataset: %s, %zu cases, %d channels, %d classes\n", dir, fp->ncases, fp->nchannels,
                   fp->nclasses);
            printf("target spacing mm (x, y, z): %.6g %.6g %.6g\n", pl.target_spacing[0], pl.target_spacing[1],
                   pl.target_spacing[2]);
            printf("patch (x, y, z): %d x %d x %d, batch %d, U-Net depth %d, base %d (memory estimate %.0f MB)\n",
                   pl.patch[0], pl.patch[1], pl.patch[2], pl.batch_size, pl.depth, pl.base_channels, pl.est_memory_mb);
            for (int c = 0; c < fp->nchannels; c++)
                printf("channel %s: %s; foreground mean %.6g sd %.6g, 0.5-99.5%% %.6g..%.6g\n", fp->channel_names[c],
                       pl.ct[c] ? "ct (clip, fingerprint z-score)" : "zscore per case", fp->intensity[c].mean,
                       fp->intensity[c].sd, fp->intensity[c].p00_5, fp->intensity[c].p99_5);
            printf("plan: %s\n", out);
        }
    }
    dolor_fingerprint_free(fp);
    free(pos);
    free(o.output);
    return rc;
}
