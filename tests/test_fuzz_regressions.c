/* Fuzz targets added for issue 7, replayed in the normal build: every seed in
 * fuzz/corpus/<target>/ and every input that once crashed (or hung) a target,
 * kept in tests/fixtures/<target>/crash/, goes through the target's own
 * LLVMFuzzerTestOneInput (included below under another name), so ASan builds
 * (make asan) check them too. Plus value checks of the in-memory readers the
 * targets use (dolor_png_decode, dolor_csv_read_mem) and of the fixed
 * findings. The older targets' crash inputs are replayed by test_io_dicom and
 * test_io_formats; fuzz_train_config needs the CLI sources and is replayed by
 * its own crash directory through `dolor train --config` when there is one. */
#define _GNU_SOURCE /* memfd_create, for fuzz_safetensors.c */
#include "check.h"
#include "test_util.h"

#include "dolor/io.h"
#include "dolor/stats.h"
#include "dolor/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LLVMFuzzerTestOneInput fuzz_png_one
#include "../fuzz/fuzz_png.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_jpeg_one
#include "../fuzz/fuzz_jpeg.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_csv_one
#include "../fuzz/fuzz_csv.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_safetensors_one
#include "../fuzz/fuzz_safetensors.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_dicom_pixel_one
#include "../fuzz/fuzz_dicom_pixel.c"
#undef LLVMFuzzerTestOneInput

/* Run every file of dir through fn; returns the number of files (-1: no such folder). */
static int replay(const char *dir, int (*fn)(const uint8_t *, size_t))
{
    int n = 0, nfiles;
    char **files = dolor_test_list_dir(dir, &nfiles);
    for (int i = 0; i < nfiles; i++) {
        size_t len = 0;
        unsigned char *b = (unsigned char *)dolor_test_slurp(files[i], &len);
        if (b)
            fn(b, len), n++;
        free(b);
    }
    dolor_test_free_list(files);
    return files ? n : -1;
}

static void test_replay(void)
{
    static const struct { const char *name; int (*fn)(const uint8_t *, size_t); int min_seeds; } t[] = {
        {"png", fuzz_png_one, 8},           {"jpeg", fuzz_jpeg_one, 3},
        {"csv", fuzz_csv_one, 4},           {"safetensors", fuzz_safetensors_one, 2},
        {"dicom_pixel", fuzz_dicom_pixel_one, 10},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char d[4096];
        snprintf(d, sizeof d, "%s/../../fuzz/corpus/%s", DOLOR_TEST_FIXTURES, t[i].name);
        int seeds = replay(d, t[i].fn);
        CHECKF(seeds >= t[i].min_seeds, "fuzz/corpus/%s: %d seeds (want >= %d)", t[i].name, seeds, t[i].min_seeds);
        snprintf(d, sizeof d, "%s/%s/crash", DOLOR_TEST_FIXTURES, t[i].name);
        int crashes = replay(d, t[i].fn);
        printf("%-12s %3d seeds, %d crash inputs replayed\n", t[i].name, seeds, crashes < 0 ? 0 : crashes);
    }
}

/* dolor_png_decode gives what the encoder in tools/fuzz_corpus.py wrote. */
static void test_png_decode(void)
{
    char p[4096];
    size_t n = 0;
    snprintf(p, sizeof p, "%s/../../fuzz/corpus/png/grey8_phys.png", DOLOR_TEST_FIXTURES);
    unsigned char *b = (unsigned char *)dolor_test_slurp(p, &n);
    CHECK(b && n > 50);
    if (!b)
        return;
    dolor_image *img = NULL;
    CHECK_OK(dolor_png_decode(b, n, "grey8_phys.png", &img));
    if (img) {
        CHECK(img->size[0] == 16 && img->size[1] == 12 && img->ncomp == 1 && img->dtype == DOLOR_U8);
        CHECK_NEAR(img->spacing[0], 0.2, 1e-12);
        CHECK_NEAR(img->spacing[1], 0.25, 1e-12);
        CHECK_NEAR(dolor_image_get(img, 2 * 16 + 3), (3 * 16 + 2 * 5) & 255, 0);
        CHECK_NEAR(dolor_image_get(img, 11 * 16 + 15), (15 * 16 + 11 * 5) & 255, 0);
    }
    dolor_image_free(img);
    CHECK_ERR(dolor_png_decode(b, n - 20, "cut.png", &img), DOLOR_EFORMAT, "cut.png");
    CHECK(img == NULL);
    CHECK_ERR(dolor_png_decode(b, 5, NULL, &img), DOLOR_EFORMAT, "PNG data");
    free(b);
}

static void test_csv_mem(void)
{
    const char text[] = "id,age,note\r\n1,54,\"a, \"\"b\"\"\"\r\n2,NA,\r\n"; /* no NUL needed: length given */
    dolor_csv *t = NULL;
    CHECK_OK(dolor_csv_read_mem(text, sizeof text - 1, "mem.csv", &t));
    if (t) {
        CHECK(t->ncol == 3 && t->nrow == 2 && !strcmp(t->path, "mem.csv"));
        CHECK(!strcmp(t->cells[2], "a, \"b\"") && t->cells[4] == NULL && t->cells[5] == NULL);
        CHECK(t->line[1] == 3);
    }
    dolor_csv_free(t);
    t = NULL;
    CHECK_ERR(dolor_csv_read_mem(NULL, 0, NULL, &t), DOLOR_EFORMAT, "CSV data: empty file");
    CHECK_ERR(dolor_csv_read_mem("a,b\n\"x,1\n", 9, "q.csv", &t), DOLOR_EFORMAT, "q.csv: line 2");
}

/* Hangs found by fuzzing, now refused before the codec library sees the data. fuzz_dicom found a JPEG 2000 frame
 * whose SIZ declared 100 x 3801188 pixels in 38012 tiles for a 100x100 data set: OpenJPEG spent seconds building
 * tiles before dolor compared the sizes. */
static void test_codec_hangs(void)
{
    static const struct { const char *file, *needle; } c[] = {
        {"j2k_siz_3801188_rows.bin", "JPEG 2000 header says 16x3801188 pixels, the data set 16x12"},
        {"j2k_65536_tiles.bin", "JPEG 2000 header declares 256 x 256 tiles"},
        /* fuzz_dicom_pixel: CharLS 2.4 spun for 17 s on this 6x4 near-lossless frame cut off before its end */
        {"jls_near_truncated.bin", "frame 0: JPEG-LS data of 108 bytes is truncated (no end-of-image marker)"},
    };
    for (int i = 0; i < 3; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/dicom_pixel/crash/%s", DOLOR_TEST_FIXTURES, c[i].file);
        size_t n = 0;
        unsigned char *b = (unsigned char *)dolor_test_slurp(p, &n);
        uint8_t *file = NULL;
        size_t len = b ? pixel_dicom(b, n, &file) : 0;
        CHECKF(len > 0, "%s", p);
        dolor_dicom *d = NULL;
        dolor_image *img = NULL;
        if (len) {
            CHECK_OK(dolor_dicom_open_memory(file, len, c[i].file, &d));
            if (d)
                CHECK_ERR(dolor_dicom_read_image(d, &img), DOLOR_EFORMAT, c[i].needle);
        }
        dolor_image_free(img);
        dolor_dicom_free(d);
        free(file);
        free(b);
    }
}

/* The seed checkpoints load; fuzz_safetensors' finding (a 4 KB file claiming base_channels 2048 and depth 5, which
 * made dolor ask for 509 GB) is refused before anything is allocated. */
static void test_checkpoint_size(void)
{
    char p[4096];
    dolor_net *net = NULL;
    dolor_adamw *opt = NULL;
    dolor_model_meta meta;
    snprintf(p, sizeof p, "%s/../../fuzz/corpus/safetensors/bilinear_last.safetensors", DOLOR_TEST_FIXTURES);
    CHECK_OK(dolor_checkpoint_load(p, &net, &opt, &meta));
    CHECK(net && opt && meta.arch.base_channels == 1 && meta.arch.depth == 1 && meta.num_classes == 3);
    dolor_net_free(net);
    dolor_adamw_free(opt);
    net = NULL;
    opt = NULL;
    snprintf(p, sizeof p, "%s/safetensors/crash/base2048_depth5.safetensors", DOLOR_TEST_FIXTURES);
    CHECK_OK(dolor_checkpoint_read_meta(p, &meta)); /* the header itself is well formed */
    CHECK_ERR(dolor_checkpoint_load(p, &net, &opt, &meta), DOLOR_EFORMAT,
              "truncated (584 bytes of tensor data): nn: the network has 127331538947 parameters and 770048 buffer values");
    CHECK(net == NULL && opt == NULL);
}

/* Every committed pixel seed decodes (so the fuzzer starts inside each decoder, not at its first check). */
static void test_pixel_seeds(void)
{
    char d[4096];
    snprintf(d, sizeof d, "%s/../../fuzz/corpus/dicom_pixel", DOLOR_TEST_FIXTURES);
    int ok = 0, n = 0, nfiles;
    char **files = dolor_test_list_dir(d, &nfiles);
    CHECKF(files != NULL, "%s", d);
    for (int i = 0; i < nfiles; i++) {
        const char *name = strrchr(files[i], '/') + 1;
        size_t len = 0;
        unsigned char *b = (unsigned char *)dolor_test_slurp(files[i], &len);
        uint8_t *file = NULL;
        size_t flen = b ? pixel_dicom(b, len, &file) : 0;
        dolor_dicom *dc = NULL;
        dolor_image *img = NULL;
        dolor_status s = flen ? dolor_dicom_open_memory(file, flen, name, &dc) : DOLOR_EFORMAT;
        if (!s)
            s = dolor_dicom_read_image(dc, &img);
        CHECKF(s == DOLOR_OK, "%s: %s", name, dolor_errmsg());
        ok += s == DOLOR_OK;
        n++;
        dolor_image_free(img);
        dolor_dicom_free(dc);
        free(file);
        free(b);
    }
    dolor_test_free_list(files);
    printf("dicom_pixel seeds decoded: %d of %d\n", ok, n);
}

/* fuzz_jpeg: 124 bytes declaring 17408x64267 pixels made libjpeg fill 1.1 GB for over a minute; now refused from
 * the header (more than 1024 samples per byte of data), from memory and from a file alike. */
static void test_jpeg_bomb(void)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/jpeg/crash/huge_declared_size.jpg", DOLOR_TEST_FIXTURES);
    size_t n = 0;
    unsigned char *b = (unsigned char *)dolor_test_slurp(p, &n);
    dolor_image *img = NULL;
    CHECK(b && n == 124);
    if (b)
        CHECK_ERR(dolor_jpeg_decode(b, n, "bomb.jpg", &img), DOLOR_EFORMAT,
                  "bomb.jpg: corrupt JPEG: header declares 17408x64267 pixels but the data is only 124 bytes");
    CHECK_ERR(dolor_image_read(p, &img), DOLOR_EFORMAT, "declares 17408x64267 pixels but the data is only 124 bytes");
    CHECK(img == NULL);
    free(b);
    /* a real seed still decodes */
    snprintf(p, sizeof p, "%s/../../fuzz/corpus/jpeg/implicit_u8_jpeglossy.jpg", DOLOR_TEST_FIXTURES);
    CHECK_OK(dolor_image_read(p, &img));
    CHECK(img && img->ncomp == 1 && img->dtype == DOLOR_U8);
    dolor_image_free(img);
}

int main(void)
{
    test_jpeg_bomb();
    test_pixel_seeds();
    test_checkpoint_size();
    test_codec_hangs();
    test_replay();
    test_png_decode();
    test_csv_mem();
    return dolor_test_finish();
}
