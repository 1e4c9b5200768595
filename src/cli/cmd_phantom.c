/* dolor phantom: write a synthetic B-mode nerve-block dataset. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dolor/phantom.h"

static void phantom_usage(FILE *fp)
{
    fprintf(fp,
            "usage: dolor phantom -o DIR [-n COUNT] [--size PX] [--seed S] [options]\n"
            "\n"
            "Write a synthetic B-mode ultrasound dataset of peripheral nerve block scenes:\n"
            "  DIR/images/NNNN.png  8-bit grey images (speckle, attenuation with TGC, fascia,\n"
            "                       honeycomb nerve, anechoic artery with posterior enhancement,\n"
            "                       bone line with acoustic shadow)\n"
            "  DIR/masks/NNNN.png   palette label maps: 0 background, 1 nerve, 2 vessel\n"
            "                       (the usgra-nerve convention; bone and fascia are not labelled)\n"
            "  DIR/README.txt, DIR/phantom.csv (per-image geometry)\n"
            "The same seed gives the same files.\n"
            "\n"
            "options:\n"
            "  -o, --out DIR          output folder (created if needed)\n"
            "  -n, --count N          number of images (default 100)\n"
            "  --size PX              width and height in pixels (default 256)\n"
            "  --width PX, --height PX  set them separately (64..4096)\n"
            "  --seed S               seed (default 1)\n"
            "  --depth-mm MM          imaging depth (default 38.4); structures keep their size in mm\n"
            "  --vessel-prob P        probability of an artery per image (default 1)\n"
            "  --bone-prob P          probability of a bone line per image (default 0.8)\n"
            "  --dynamic-range DB     log-compression range (default 60)\n"
            "  --kind KIND            nerve (default, the 2D set above) or multifidus3d: DIR/volumes/NNNN.mha\n"
            "                         3D multifidus volumes (180x180x70 by default; --width, --height, --slices)\n"
            "                         at fat-infiltration grades, DIR/grades.csv (grade, reference boxes)\n"
            "  --slices N             multifidus3d: voxels along z (default 70)\n"
            "  --grades G             multifidus3d: number of fat grades, 2..5 (default 2)\n"
            "  -q, --quiet            no progress bar\n"
            "  -h, --help             this help\n"
            "\n"
            "exit codes: 0 success, 1 runtime failure (I/O), 2 bad option values\n");
}

int dolor_cmd_phantom(int argc, char **argv)
{
    enum { O_SIZE = 256, O_WIDTH, O_HEIGHT, O_SEED, O_DEPTH, O_VPROB, O_BPROB, O_DR, O_KIND, O_SLICES, O_GRADES };
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},         {"count", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, O_SIZE},     {"width", required_argument, NULL, O_WIDTH},
        {"height", required_argument, NULL, O_HEIGHT}, {"seed", required_argument, NULL, O_SEED},
        {"depth-mm", required_argument, NULL, O_DEPTH}, {"vessel-prob", required_argument, NULL, O_VPROB},
        {"bone-prob", required_argument, NULL, O_BPROB}, {"dynamic-range", required_argument, NULL, O_DR},
        {"kind", required_argument, NULL, O_KIND},     {"slices", required_argument, NULL, O_SLICES},
        {"grades", required_argument, NULL, O_GRADES},
        {"quiet", no_argument, NULL, 'q'},             {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "phantom";
    const char *out = NULL;
    long count = 100, v, seed = 1;
    int quiet = 0, mf3d = 0, size_set = 0;
    dolor_mf3d_config mcfg;
    dolor_mf3d_config_default(&mcfg);
    dolor_phantom_config cfg;
    dolor_phantom_config_default(&cfg);
    dolor_status s = DOLOR_OK;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":o:n:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        case 'n': s = dolor_cli_parse_int("--count", optarg, 1, 1000000, &count); break;
        case O_SIZE:
            size_set |= 3;
            if (!(s = dolor_cli_parse_int("--size", optarg, 64, 4096, &v)))
                cfg.width = cfg.height = (int)v;
            break;
        case O_WIDTH:
            size_set |= 1;
            if (!(s = dolor_cli_parse_int("--width", optarg, 64, 4096, &v)))
                cfg.width = (int)v;
            break;
        case O_HEIGHT:
            size_set |= 2;
            if (!(s = dolor_cli_parse_int("--height", optarg, 64, 4096, &v)))
                cfg.height = (int)v;
            break;
        case O_SEED: s = dolor_cli_parse_int("--seed", optarg, 0, LONG_MAX, &seed); break;
        case O_DEPTH: s = dolor_cli_parse_double("--depth-mm", optarg, 10, 150, &cfg.depth_mm); break;
        case O_VPROB: s = dolor_cli_parse_double("--vessel-prob", optarg, 0, 1, &cfg.vessel_prob); break;
        case O_BPROB: s = dolor_cli_parse_double("--bone-prob", optarg, 0, 1, &cfg.bone_prob); break;
        case O_DR: s = dolor_cli_parse_double("--dynamic-range", optarg, 10, 100, &cfg.dynamic_range_db); break;
        case O_KIND:
            if (!strcmp(optarg, "multifidus3d"))
                mf3d = 1;
            else if (strcmp(optarg, "nerve"))
                return dolor_cli_usage_error(cmd, "--kind: '%s' is not nerve or multifidus3d", optarg);
            break;
        case O_SLICES:
            if (!(s = dolor_cli_parse_int("--slices", optarg, 8, 1024, &v)))
                mcfg.nz = (int)v;
            break;
        case O_GRADES:
            if (!(s = dolor_cli_parse_int("--grades", optarg, 2, 5, &v)))
                mcfg.grades = (int)v;
            break;
        case 'q': quiet = 1; break;
        case 'h': phantom_usage(stdout); return DOLOR_EXIT_OK;
        case ':': return dolor_cli_usage_error(cmd, "option %s needs a value", argv[optind - 1]);
        default: return dolor_cli_usage_error(cmd, "unknown option %s", argv[optind - 1]);
        }
        if (s)
            return dolor_cli_fail(cmd, s);
    }
    if (optind < argc)
        return dolor_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!out)
        return dolor_cli_usage_error(cmd, "-o DIR is required");
    double t0 = dolor_time_ms();
    if (mf3d) {
        if (size_set & 1)
            mcfg.nx = cfg.width;
        if (size_set & 2)
            mcfg.ny = cfg.height;
        s = dolor_phantom_write_multifidus3d(out, (int)count, &mcfg, (uint64_t)seed, !quiet);
        if (s)
            return dolor_cli_fail(cmd, s);
        if (!quiet)
            printf("wrote %ld multifidus volumes (%dx%dx%d, %d grades) to %s in %.2f s\n", count, mcfg.nx, mcfg.ny,
                   mcfg.nz, mcfg.grades, out, (dolor_time_ms() - t0) / 1000.0);
        return DOLOR_EXIT_OK;
    }
    s = dolor_phantom_write_dataset(out, (int)count, &cfg, (uint64_t)seed, !quiet);
    if (s)
        return dolor_cli_fail(cmd, s);
    if (!quiet)
        printf("wrote %ld image/mask pairs (%dx%d) to %s in %.2f s\n", count, cfg.width, cfg.height, out,
               (dolor_time_ms() - t0) / 1000.0);
    return DOLOR_EXIT_OK;
}
