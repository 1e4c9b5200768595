/* dolor: command-line entry point. Subcommands live in src/cli/cmd_*.c and are
 * referenced weakly, so a build without one still links and says so. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define DECL(name) int dolor_cmd_##name(int argc, char **argv) __attribute__((weak));
DECL(train)
DECL(predict)
DECL(plan)
DECL(eval)
DECL(phantom)
DECL(info)
DECL(convert)
DECL(stats)
DECL(bench)
DECL(features)
DECL(forest)
DECL(study)
DECL(detect)
DECL(ldh)
DECL(stream)
DECL(export)
#undef DECL

static const struct {
    const char *name;
    dolor_cmd_fn fn;
    const char *help;
} commands[] = {
    {"train", dolor_cmd_train, "train a segmentation network on a folder of images and masks"},
    {"plan", dolor_cmd_plan, "fingerprint an nnU-Net dataset and derive a 3D training plan (JSON) as nnU-Net does"},
    {"predict", dolor_cmd_predict, "apply a trained checkpoint to images; write label maps and overlays"},
    {"eval", dolor_cmd_eval, "compare predicted label maps with ground truth (Dice, IoU, ...)"},
    {"phantom", dolor_cmd_phantom, "generate a synthetic B-mode nerve-block dataset with masks"},
    {"info", dolor_cmd_info, "print an image's geometry and main attributes (DICOM, NIfTI, ...)"},
    {"convert", dolor_cmd_convert, "convert between DICOM, NIfTI, MetaImage and PNG, keeping geometry"},
    {"stats", dolor_cmd_stats, "statistics on CSV columns (tests, agreement, ROC, Table 1, ...)"},
    {"bench", dolor_cmd_bench, "time inference and training steps"},
    {"features", dolor_cmd_features, "texture features (first order, Nakagami, GLCM) of 2D/3D images -> CSV"},
    {"forest", dolor_cmd_forest, "random forest on a feature table: train, predict, cross-validate"},
    {"detect", dolor_cmd_detect, "YOLOv8 detection, instance segmentation and keypoints: train, predict, eval"},
    {"ldh", dolor_cmd_ldh, "grade lumbar disc herniation (MSU) from disc masks and keypoints; agreement with truth"},
    {"study", dolor_cmd_study, "run a whole study from one YAML config: patient-level CV, tables, methods"},
    {"stream", dolor_cmd_stream, "segment a video live: decode, infer, draw on threads; overlay video, live view"},
    {"export", dolor_cmd_export, "write a checkpoint as an ONNX model (opset 17, fixed input shape)"},
};

static void usage(FILE *fp)
{
    fprintf(fp, "dolor %s - imaging AI for pain medicine and spine care\n\n"
                "usage: dolor <command> [options]   (dolor <command> --help for details)\n\ncommands:\n",
            DOLOR_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (commands[i].fn)
            fprintf(fp, "  %-9s %s\n", commands[i].name, commands[i].help);
    fprintf(fp, "\nexit codes: 0 success, 1 runtime failure, 2 bad input or usage\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return DOLOR_EXIT_INPUT;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return DOLOR_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dolor %s\n", DOLOR_VERSION_STRING);
        return DOLOR_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            if (!commands[i].fn) {
                fprintf(stderr, "dolor: command '%s' is not built into this version\n", argv[1]);
                return DOLOR_EXIT_FAIL;
            }
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "dolor: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return DOLOR_EXIT_INPUT;
}
