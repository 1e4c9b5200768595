/* dolor phantom: write a synthetic B-mode nerve-block dataset. */
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "dolor/phantom.h"

typedef struct {
    char *out;
    long count, seed;
    int quiet, mf3d, axial, size_set, wh_set;
    unsigned char given[16];
    dolor_phantom_config cfg;
    dolor_mf3d_config mcfg;
    dolor_axdisc_config acfg;
} phantom_opts;

/* uses: the --kind that takes the option (checked in dolor_cmd_phantom) */
static const dolor_opt_spec specs[] = {
    {"out", 'o', OPT_STR, "output folder (created if needed)", .metavar = "DIR", DOLOR_OPT_AT(phantom_opts, out)},
    {"count", 'n', OPT_INT, "number of images", .def = "100", DOLOR_OPT_RANGE(1, 1000000),
     DOLOR_OPT_AT(phantom_opts, count)},
    {"size", 0, OPT_INT, "width and height in pixels (axial-disc: default 512)", .metavar = "PX", .def = "256", DOLOR_OPT_RANGE(64, 4096)},
    {"width", 0, OPT_INT, "width alone (multifidus3d: x voxels, default 180)", .metavar = "PX",
     DOLOR_OPT_RANGE(64, 4096)},
    {"height", 0, OPT_INT, "height alone (multifidus3d: y voxels, default 180)", .metavar = "PX",
     DOLOR_OPT_RANGE(64, 4096)},
    {"seed", 0, OPT_INT, "seed; the same seed gives the same files", .metavar = "S", .def = "1",
     DOLOR_OPT_RANGE(0, INFINITY), DOLOR_OPT_AT(phantom_opts, seed)},
    {"depth-mm", 0, OPT_NUM, "imaging depth; structures keep their size in mm", .metavar = "MM", .def = "38.4",
     DOLOR_OPT_RANGE(10, 150), .uses = "nerve", DOLOR_OPT_AT(phantom_opts, cfg.depth_mm)},
    {"vessel-prob", 0, OPT_NUM, "probability of an artery per image", .metavar = "P", .def = "1",
     DOLOR_OPT_RANGE(0, 1), .uses = "nerve", DOLOR_OPT_AT(phantom_opts, cfg.vessel_prob)},
    {"bone-prob", 0, OPT_NUM, "probability of a bone line per image", .metavar = "P", .def = "0.8",
     DOLOR_OPT_RANGE(0, 1), .uses = "nerve", DOLOR_OPT_AT(phantom_opts, cfg.bone_prob)},
    {"dynamic-range", 0, OPT_NUM, "log-compression range", .metavar = "DB", .def = "60", DOLOR_OPT_RANGE(10, 100),
     .uses = "nerve", DOLOR_OPT_AT(phantom_opts, cfg.dynamic_range_db)},
    {"kind", 0, OPT_STR, "nerve (the 2D set above) or multifidus3d: DIR/volumes/NNNN.mha 3D multifidus volumes "
     "(180x180x70 by default; --width, --height, --slices) at fat-infiltration grades, DIR/grades.csv (grade, "
     "reference boxes); or axial-disc: axial lumbar T2-like slices (512x512 by default, --size) with herniations "
     "of known MSU type, label maps, YOLO detect/segment/pose labels and DIR/truth.csv (docs/ldh.md)",
     .metavar = "KIND", .def = "nerve"},
    {"spacing-mm", 0, OPT_NUM, "pixel spacing", .metavar = "MM", .def = "0.4", DOLOR_OPT_RANGE(0.1, 2),
     .uses = "axial-disc", DOLOR_OPT_AT(phantom_opts, acfg.spacing_mm)},
    {"slices", 0, OPT_INT, "voxels along z", .def = "70", DOLOR_OPT_RANGE(8, 1024), .uses = "multifidus3d"},
    {"grades", 0, OPT_INT, "number of fat grades", .metavar = "G", .def = "2", DOLOR_OPT_RANGE(2, 5),
     .uses = "multifidus3d"},
    {"quiet", 'q', OPT_FLAG, "no progress bar", DOLOR_OPT_AT(phantom_opts, quiet)},
};
#define NSPECS ((int)(sizeof specs / sizeof *specs))
_Static_assert(NSPECS <= 16, "phantom_opts.given holds 16 options");

static const dolor_cmd_desc phantom_cmd = {
    .name = "phantom",
    .usage = "-o DIR [-n COUNT] [--size PX] [--seed S] [options]",
    .summary = "Write a synthetic B-mode ultrasound dataset of peripheral nerve block scenes:\n"
               "  DIR/images/NNNN.png  8-bit grey images (speckle, attenuation with TGC, fascia,\n"
               "                       honeycomb nerve, anechoic artery with posterior enhancement,\n"
               "                       bone line with acoustic shadow)\n"
               "  DIR/masks/NNNN.png   palette label maps: 0 background, 1 nerve, 2 vessel\n"
               "                       (the usgra-nerve convention; bone and fascia are not labelled)\n"
               "  DIR/README.txt, DIR/phantom.csv (per-image geometry)\n"
               "The same seed gives the same files. Options marked [nerve] or [multifidus3d] belong to that --kind.",
    DOLOR_CMD_SPECS(specs),
    .no_positionals = 1,
    .details = "exit codes: 0 success, 1 runtime failure (I/O), 2 bad option values\n",
};

static dolor_status apply(void *ctx, const dolor_opt_spec *sp, const char *v)
{
    phantom_opts *o = ctx;
    const char *n = sp->name;
    o->given[sp - specs] = 1;
    if (sp->bound)
        return dolor_opt_bind(ctx, sp, v);
    int x = v ? (int)strtol(v, NULL, 10) : 0; /* numbers are checked against the table before apply */
    if (!strcmp(n, "size")) o->size_set |= 3, o->cfg.width = o->cfg.height = x;
    else if (!strcmp(n, "width")) o->size_set |= 1, o->wh_set = 1, o->cfg.width = x;
    else if (!strcmp(n, "height")) o->size_set |= 2, o->wh_set = 1, o->cfg.height = x;
    else if (!strcmp(n, "slices")) o->mcfg.nz = x;
    else if (!strcmp(n, "grades")) o->mcfg.grades = x;
    else if (!strcmp(n, "kind")) {
        if (strcmp(v, "multifidus3d") && strcmp(v, "nerve") && strcmp(v, "axial-disc"))
            return dolor_error(DOLOR_EINVAL, "--kind: '%s' is not nerve, multifidus3d or axial-disc", v);
        o->mf3d = !strcmp(v, "multifidus3d");
        o->axial = !strcmp(v, "axial-disc");
    } else {
        return dolor_error(DOLOR_EINVAL, "option --%s is not handled", n);
    }
    return DOLOR_OK;
}

static int phantom_run(phantom_opts *o);

int dolor_cmd_phantom(int argc, char **argv)
{
    phantom_opts o = {.count = 100, .seed = 1};
    dolor_mf3d_config_default(&o.mcfg);
    dolor_axdisc_config_default(&o.acfg);
    dolor_phantom_config_default(&o.cfg);
    char **pos = NULL;
    int npos = 0;
    int rc = dolor_cmd_front(&phantom_cmd, argc, argv, apply, &o, &pos, &npos, NULL);
    if (rc < 0)
        rc = phantom_run(&o);
    free(pos);
    free(o.out);
    return rc;
}

static int phantom_run(phantom_opts *o)
{
    const char *cmd = "phantom";
    const char *kind = o->axial ? "axial-disc" : o->mf3d ? "multifidus3d" : "nerve";
    for (int i = 0; i < NSPECS; i++)
        if (o->given[i] && specs[i].uses && strcmp(specs[i].uses, kind))
            return dolor_cli_usage_error(cmd, "--%s is an option of --kind %s; --kind %s does not use it",
                                         specs[i].name, specs[i].uses, kind);
    if (!o->out)
        return dolor_cli_usage_error(cmd, "-o DIR is required");
    const char *out = o->out;
    long count = o->count;
    int quiet = o->quiet;
    dolor_phantom_config cfg = o->cfg;
    dolor_mf3d_config mcfg = o->mcfg;
    dolor_status s;
    double t0 = dolor_time_ms();
    if (o->axial) {
        if (o->wh_set)
            return dolor_cli_usage_error(cmd, "--width and --height are not options of --kind axial-disc (square "
                                              "slices: --size)");
        if (o->size_set)
            o->acfg.size = cfg.width;
        s = dolor_phantom_write_axial_disc(out, (int)count, &o->acfg, (uint64_t)o->seed, !quiet);
        if (s)
            return dolor_cli_fail(cmd, s);
        if (!quiet)
            printf("wrote %ld axial disc slices (%dx%d, %g mm) to %s in %.2f s\n", count, o->acfg.size, o->acfg.size,
                   o->acfg.spacing_mm, out, (dolor_time_ms() - t0) / 1000.0);
        return DOLOR_EXIT_OK;
    }
    if (o->mf3d) {
        if (o->size_set & 1)
            mcfg.nx = cfg.width;
        if (o->size_set & 2)
            mcfg.ny = cfg.height;
        s = dolor_phantom_write_multifidus3d(out, (int)count, &mcfg, (uint64_t)o->seed, !quiet);
        if (s)
            return dolor_cli_fail(cmd, s);
        if (!quiet)
            printf("wrote %ld multifidus volumes (%dx%dx%d, %d grades) to %s in %.2f s\n", count, mcfg.nx, mcfg.ny,
                   mcfg.nz, mcfg.grades, out, (dolor_time_ms() - t0) / 1000.0);
        return DOLOR_EXIT_OK;
    }
    s = dolor_phantom_write_dataset(out, (int)count, &cfg, (uint64_t)o->seed, !quiet);
    if (s)
        return dolor_cli_fail(cmd, s);
    if (!quiet)
        printf("wrote %ld image/mask pairs (%dx%d) to %s in %.2f s\n", count, cfg.width, cfg.height, out,
               (dolor_time_ms() - t0) / 1000.0);
    return DOLOR_EXIT_OK;
}
