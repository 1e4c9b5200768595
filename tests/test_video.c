/* tests for src/video: FFmpeg writer/reader round trips (pixels and timestamps against the frames we made),
 * truncated and unknown-codec files, volumes (DICOM cine) and folders of frames. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "dolor/io.h"
#include "dolor/video.h"
#include "test_util.h"

#include <unistd.h>

#define W 64
#define H 48
#define NF 12

/* timestamps with a variable frame rate, so a writer that assumed a fixed rate would fail */
static const double pts_in[NF] = {0, 40, 80, 150, 190, 230, 300, 333, 367, 400, 480, 520};

/* frame f: a horizontal ramp plus a bright 12x12 square moving 3 pixels per frame */
static void make_frame(dolor_image *img, int f)
{
    uint8_t *d = img->data;
    int nc = img->ncomp;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int v = 20 + x * 2;
            if (x >= 4 + 3 * f && x < 16 + 3 * f && y >= 10 && y < 22)
                v = 235;
            for (int c = 0; c < nc; c++)
                d[(y * W + x) * nc + c] = (uint8_t)(nc == 3 && c == 1 ? v / 2 : v);
        }
}

static double mean_abs_diff(const dolor_image *a, const dolor_image *b)
{
    size_t n = dolor_image_nvox(a) * (size_t)a->ncomp;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += fabs((double)((uint8_t *)a->data)[i] - (double)((uint8_t *)b->data)[i]);
    return s / (double)n;
}

static void write_video(const char *path, const char *codec, int nc, int *ok)
{
    dolor_video_writer_opts o = {.codec = codec, .fps = 25};
    dolor_video_writer *w = NULL;
    dolor_image *img = NULL;
    *ok = 0;
    CHECK_OK(dolor_video_writer_open(path, W, H, nc, &o, &w));
    CHECK_OK(dolor_image_create2d(&img, DOLOR_U8, nc, W, H));
    if (!w || !img) {
        dolor_video_writer_abort(w);
        dolor_image_free(img);
        return;
    }
    for (int f = 0; f < NF; f++) {
        make_frame(img, f);
        CHECK_OK(dolor_video_write(w, img, pts_in[f]));
    }
    CHECK(access(path, F_OK) != 0); /* nothing at the path before close */
    CHECK_OK(dolor_video_writer_close(w));
    dolor_image_free(img);
    *ok = access(path, F_OK) == 0;
}

static void round_trip(const char *dir, const char *name, const char *codec, const char *want_codec, int nc,
                       double tol)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int ok;
    write_video(path, codec, nc, &ok);
    CHECKF(ok, "%s not written", path);
    dolor_video_reader *r = NULL;
    CHECK_OK(dolor_video_open(path, NULL, &r));
    if (!r)
        return;
    const dolor_video_info *in = dolor_video_get_info(r);
    CHECKF(strcmp(in->codec, want_codec) == 0, "%s: codec %s, expected %s", name, in->codec, want_codec);
    CHECK(in->width == W && in->height == H);
    CHECKF(in->ncomp == 3, "%s: ncomp %d (YUV video reads as RGB)", name, in->ncomp);
    dolor_video_close(r);
    /* read as the writer's components */
    dolor_video_open_opts oo = {.want_ncomp = nc};
    CHECK_OK(dolor_video_open(path, &oo, &r));
    if (!r)
        return;
    dolor_image *ref = NULL, *fr = NULL;
    CHECK_OK(dolor_image_create2d(&ref, DOLOR_U8, nc, W, H));
    int n = 0;
    double worst = 0;
    for (;;) {
        double t = -1;
        int64_t idx = -1;
        dolor_status s = dolor_video_read(r, &fr, &t, &idx);
        CHECK_OK(s);
        if (s || !fr)
            break;
        CHECK(idx == n);
        if (n < NF) {
            CHECK_NEAR(t, pts_in[n], 0.5);
            make_frame(ref, n);
            double e = mean_abs_diff(fr, ref);
            worst = e > worst ? e : worst;
        }
        dolor_image_free(fr);
        n++;
    }
    CHECKF(n == NF, "%s: %d frames read, %d written", name, n, NF);
    CHECKF(worst < tol, "%s: mean |decoded - original| up to %.2f (tolerance %.2f)", name, worst, tol);
    /* after the end, still the end */
    CHECK_OK(dolor_video_read(r, &fr, NULL, NULL));
    CHECK(fr == NULL);
    dolor_image_free(ref);
    dolor_video_close(r);
}

static void truncated(const char *dir)
{
    char path[512], cut[512];
    snprintf(path, sizeof path, "%s/trunc_src.mp4", dir);
    snprintf(cut, sizeof cut, "%s/cut.mp4", dir);
    int ok;
    write_video(path, NULL, 1, &ok);
    size_t len = 0;
    char *buf = dolor_test_slurp(path, &len);
    CHECK(buf && len > 1000);
    if (!buf)
        return;
    FILE *fp = fopen(cut, "wb");
    fwrite(buf, 1, len * 9 / 10, fp); /* faststart: the index comes first; the I frame is ~1/3 of the file */
    fclose(fp);
    free(buf);
    dolor_video_reader *r = NULL;
    CHECK_OK(dolor_video_open(cut, NULL, &r));
    if (!r)
        return;
    CHECK(dolor_video_get_info(r)->nframes == NF);
    int n = 0;
    dolor_status s;
    dolor_image *fr = NULL;
    while (!(s = dolor_video_read(r, &fr, NULL, NULL)) && fr) {
        dolor_image_free(fr);
        n++;
    }
    CHECKF(s == DOLOR_EFORMAT && n > 0 && n < NF, "truncated: %d frames then %s '%s'", n, dolor_status_name(s),
           dolor_errmsg());
    char want[64];
    snprintf(want, sizeof want, "frame %d", n);
    CHECKF(strstr(dolor_errmsg(), want) && strstr(dolor_errmsg(), "cut.mp4"), "message '%s' should name %s",
           dolor_errmsg(), want);
    /* sticky */
    CHECK(dolor_video_read(r, &fr, NULL, NULL) == DOLOR_EFORMAT && !fr);
    dolor_video_close(r);
}

static void unknown_codec(const char *dir)
{
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/mj.avi", dir);
    snprintf(bad, sizeof bad, "%s/zz.avi", dir);
    int ok;
    write_video(path, "mjpeg", 3, &ok);
    size_t len = 0;
    char *buf = dolor_test_slurp(path, &len);
    if (!buf)
        return;
    int patched = 0;
    for (size_t i = 0; i + 4 <= len; i++)
        if (!memcmp(buf + i, "MJPG", 4) || !memcmp(buf + i, "mjpg", 4)) {
            memcpy(buf + i, "ZZZZ", 4);
            patched++;
        }
    CHECK(patched >= 1);
    FILE *fp = fopen(bad, "wb");
    fwrite(buf, 1, len, fp);
    fclose(fp);
    free(buf);
    dolor_video_reader *r = NULL;
    CHECK_ERR(dolor_video_open(bad, NULL, &r), DOLOR_EUNSUPPORTED, "unsupported video codec 'ZZZZ'");
    CHECK(r == NULL);
}

static void writer_errors(const char *dir)
{
    char path[512];
    dolor_video_writer *w = NULL;
    snprintf(path, sizeof path, "%s/e.mp4", dir);
    dolor_video_writer_opts o = {.codec = "nosuchcodec"};
    CHECK_ERR(dolor_video_writer_open(path, W, H, 1, &o, &w), DOLOR_EUNSUPPORTED, "'nosuchcodec'");
    CHECK_ERR(dolor_video_writer_open(path, 63, H, 1, NULL, &w), DOLOR_EINVAL, "63x48");
    CHECK_ERR(dolor_video_writer_open(path, W, H, 2, NULL, &w), DOLOR_EINVAL, "2 components");
    snprintf(path, sizeof path, "%s/e.xyz123", dir);
    CHECK_ERR(dolor_video_writer_open(path, W, H, 1, NULL, &w), DOLOR_EINVAL, "extension");
    snprintf(path, sizeof path, "%s/e.mp4", dir);
    CHECK_OK(dolor_video_writer_open(path, W, H, 1, NULL, &w));
    dolor_image *img = NULL, *rgb = NULL;
    dolor_image_create2d(&img, DOLOR_U8, 1, W, H);
    dolor_image_create2d(&rgb, DOLOR_U8, 3, W, H);
    CHECK_OK(dolor_video_write(w, img, 10));
    CHECK_ERR(dolor_video_write(w, img, 10), DOLOR_EINVAL, "not after the previous one");
    CHECK_ERR(dolor_video_write(w, rgb, 50), DOLOR_ESHAPE, "frame 1");
    dolor_video_writer_abort(w);
    CHECK(access(path, F_OK) != 0);
    int n = 0;
    char **left = dolor_test_list_dir(dir, &n);
    for (int i = 0; left && i < n; i++)
        CHECKF(!strstr(left[i], ".tmp"), "temporary file left: %s", left[i]);
    dolor_test_free_list(left);
    dolor_image_free(img);
    dolor_image_free(rgb);
    dolor_video_reader *r = NULL;
    CHECK_ERR(dolor_video_open("/nonexistent/v.mp4", NULL, &r), DOLOR_ENOTFOUND, "/nonexistent/v.mp4");
    snprintf(path, sizeof path, "%s/not_video.mp4", dir);
    FILE *fp = fopen(path, "wb");
    fputs("this is not a video file at all, only text\n", fp);
    fclose(fp);
    CHECK_ERR(dolor_video_open(path, NULL, &r), DOLOR_EFORMAT, "not_video.mp4");
}

static void folders(const char *dir)
{
    char sub[512], path[600];
    snprintf(sub, sizeof sub, "%s/seq", dir);
    mkdir(sub, 0755);
    dolor_image *img[3] = {0};
    for (int f = 0; f < 3; f++) {
        dolor_image_create2d(&img[f], DOLOR_U8, 1, W, H);
        make_frame(img[f], f);
        snprintf(path, sizeof path, "%s/f%03d.png", sub, f);
        CHECK_OK(dolor_png_write(path, img[f]));
    }
    /* folder through dolor's readers, and the same frames as an FFmpeg image2 pattern */
    for (int pass = 0; pass < 2; pass++) {
        dolor_video_reader *r = NULL;
        snprintf(path, sizeof path, pass ? "%s/f%%03d.png" : "%s", sub);
        dolor_video_open_opts o = {.want_ncomp = 1, .fps = 10};
        CHECK_OK(dolor_video_open(path, &o, &r));
        if (!r)
            continue;
        CHECK(strcmp(dolor_video_get_info(r)->container, pass ? "image2" : "folder") == 0);
        dolor_image *fr = NULL;
        double t;
        int n = 0;
        while (!dolor_video_read(r, &fr, &t, NULL) && fr) {
            if (n < 3) {
                CHECKF(mean_abs_diff(fr, img[n]) == 0, "pass %d frame %d differs", pass, n);
                if (!pass)
                    CHECK_NEAR(t, 100.0 * n, 1e-9);
            }
            dolor_image_free(fr);
            n++;
        }
        CHECKF(n == 3, "pass %d: %d frames", pass, n);
        dolor_video_close(r);
    }
    /* resized 2x down: align_corners=False samples x' at 2x' + 0.5, the mean of columns 2x', 2x' + 1, so the
     * ramp 20 + 2x gives 21 + 4x' (rows 0..4 are below the square); libswscale's bilinear within 2 */
    for (int pass = 0; pass < 2; pass++) {
        dolor_video_reader *r = NULL;
        snprintf(path, sizeof path, pass ? "%s/f%%03d.png" : "%s", sub);
        dolor_video_open_opts o = {.want_ncomp = 1, .width = W / 2, .height = H / 2};
        CHECK_OK(dolor_video_open(path, &o, &r));
        if (!r)
            continue;
        CHECK(dolor_video_get_info(r)->width == W / 2 && dolor_video_get_info(r)->src_width == W);
        dolor_image *fr = NULL;
        CHECK_OK(dolor_video_read(r, &fr, NULL, NULL));
        if (fr) {
            CHECK(fr->size[0] == W / 2 && fr->size[1] == H / 2);
            int bad = 0;
            for (int y = 0; y < 4; y++)
                for (int x = 1; x < W / 2 - 1; x++)
                    bad += fabs((double)((uint8_t *)fr->data)[y * (W / 2) + x] - (21 + 4 * x)) > (pass ? 2 : 0);
            CHECKF(bad == 0, "pass %d: %d resized pixels off", pass, bad);
        }
        dolor_image_free(fr);
        dolor_video_close(r);
    }
    for (int f = 0; f < 3; f++)
        dolor_image_free(img[f]);
}

static void dicom_cine(void)
{
    const char *root = getenv("DOLOR_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/formats/dicom/octave-dicom/US-PAL-8-10x-echo.dcm", root ? root : "../shared/data");
    if (!DOLOR_TEST_NEED_DATA(path))
        return;
    dolor_image *vol = NULL;
    CHECK_OK(dolor_image_read(path, &vol));
    dolor_video_reader *r = NULL;
    CHECK_OK(dolor_video_open(path, NULL, &r));
    if (!r || !vol) {
        dolor_image_free(vol);
        dolor_video_close(r);
        return;
    }
    const dolor_video_info *in = dolor_video_get_info(r);
    /* the file: 10 frames (NumberOfFrames), 600 columns x 430 rows, PALETTE COLOR read as its indices (io.h) */
    CHECKF(in->nframes == 10 && in->width == 600 && in->height == 430 && in->ncomp == 1,
           "cine %lld frames %dx%d x%d", (long long)in->nframes, in->width, in->height, in->ncomp);
    dolor_image *fr = NULL;
    int n = 0, same = 1;
    size_t plane = (size_t)in->width * (size_t)in->height;
    while (!dolor_video_read(r, &fr, NULL, NULL) && fr) {
        if (vol->dtype == DOLOR_U8 && vol->ncomp == 1)
            same &= memcmp(fr->data, (uint8_t *)vol->data + (size_t)n * plane, plane) == 0;
        dolor_image_free(fr);
        n++;
    }
    CHECK(n == 10);
    CHECK(same);
    dolor_video_close(r);
    dolor_image_free(vol);
}

int main(void)
{
    char dir[256];
    if (!dolor_test_tmpdir(dir, sizeof dir, "video"))
        return dolor_test_finish();
    if (dolor_video_has_encoder("libx264"))
        round_trip(dir, "x264.mp4", "libx264", "h264", 1, 3.0);
    else
        SKIP("this libavcodec has no libx264 encoder");
    round_trip(dir, "rgb_x264.mkv", NULL, dolor_video_has_encoder("libx264") ? "h264" : "mpeg4", 3, 6.0);
    round_trip(dir, "mpeg4.avi", "mpeg4", "mpeg4", 1, 4.0);
    round_trip(dir, "mjpeg.avi", "mjpeg", "mjpeg", 3, 6.0);
    truncated(dir);
    unknown_codec(dir);
    writer_errors(dir);
    folders(dir);
    dicom_cine();
    if (!getenv("KEEP")) dolor_test_rm_rf(dir); else printf("%s\n", dir);
    return dolor_test_finish();
}
