/* dolor stream refuses a model whose input is not one grey channel (exit 2, nothing written): a fastseg net
 * built with in_channels 3 and saved as a checkpoint, on a small grey and a small RGB video made here. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "dolor/io.h"
#include "dolor/nn.h"
#include "dolor/train.h"
#include "dolor/video.h"
#include "test_util.h"

#include <unistd.h>

static void make_video(const char *path, int nc)
{
    dolor_video_writer *w = NULL;
    dolor_image *img = NULL;
    CHECK_OK(dolor_video_writer_open(path, 32, 32, nc, NULL, &w));
    CHECK_OK(dolor_image_create2d(&img, DOLOR_U8, nc, 32, 32));
    for (int f = 0; w && img && f < 3; f++) {
        memset(img->data, 40 * f, 32 * 32 * (size_t)nc);
        CHECK_OK(dolor_video_write(w, img, 40.0 * f));
    }
    if (w)
        CHECK_OK(dolor_video_writer_close(w));
    dolor_image_free(img);
}

int main(void)
{
    char dir[256], ck[512], grey[512], rgb[512], out[512];
    if (!dolor_test_tmpdir(dir, sizeof dir, "stream_channels"))
        return dolor_test_finish();
    dolor_net *net = NULL;
    CHECK_OK(dolor_arch_build("fastseg", "{\"in_channels\": 3, \"num_classes\": 2, \"width\": 8}", &net));
    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.in_channels = 3;
    meta.num_classes = 2;
    snprintf(meta.class_names[0], sizeof meta.class_names[0], "background");
    snprintf(meta.class_names[1], sizeof meta.class_names[1], "polyp");
    meta.label_values[1] = 1;
    meta.height = meta.width = 32;
    meta.val_dice = NAN;
    snprintf(ck, sizeof ck, "%s/rgb.safetensors", dir);
    if (net)
        CHECK_OK(dolor_checkpoint_save(ck, net, NULL, &meta));
    dolor_net_free(net);
    /* a folder of grey PNG frames (H.264 would decode as YUV -> RGB) and an RGB video */
    snprintf(grey, sizeof grey, "%s/grey", dir);
    mkdir(grey, 0755);
    for (int f = 0; f < 2; f++) {
        dolor_image *img = NULL;
        char p[600];
        snprintf(p, sizeof p, "%s/f%d.png", grey, f);
        CHECK_OK(dolor_image_create2d(&img, DOLOR_U8, 1, 32, 32));
        if (img)
            CHECK_OK(dolor_png_write(p, img));
        dolor_image_free(img);
    }
    snprintf(rgb, sizeof rgb, "%s/rgb.mkv", dir);
    make_video(rgb, 3);
    const char *in[2] = {grey, rgb};
    const char *want[2] = {"has 1 (grey)", "has 3 (RGB)"};
    for (int i = 0; i < 2; i++) {
        char *o = NULL, *e = NULL;
        snprintf(out, sizeof out, "%s/ov%d.mp4", dir, i);
        int rc = dolor_test_run(&o, &e, "stream --model '%s' '%s' -o '%s' --labels '%s/lab%d'", ck, in[i], out, dir, i);
        CHECKF(rc == 2, "rc %d, stderr %s", rc, e ? e : "");
        CHECKF(e && strstr(e, "takes 3 input channels but") && strstr(e, want[i]), "stderr: %s", e ? e : "");
        CHECK(access(out, F_OK) != 0);
        free(o);
        free(e);
    }
    int n = 0;
    char **left = dolor_test_list_dir(dir, &n);
    CHECKF(n == 3, "%d entries in the folder (checkpoint and two inputs expected)", n);
    dolor_test_free_list(left);
    dolor_test_rm_rf(dir);
    return dolor_test_finish();
}
