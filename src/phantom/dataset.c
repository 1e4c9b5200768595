/* dolor_phantom_write_dataset: a folder of phantom images, masks, README and
 * a per-image geometry table. */
#include "dolor/io.h"
#include "dolor/phantom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LabelMe / PASCAL VOC colours, as in the usgra-nerve masks. */
static const uint8_t palette[9] = {0, 0, 0, 128, 0, 0, 0, 128, 0};

static int digits_for(int count)
{
    int d = 1;
    for (int v = count - 1; v >= 10; v /= 10)
        d++;
    return d < 4 ? 4 : d;
}

static dolor_status write_text(const char *path, const char *text)
{
    dolor_outfile f;
    dolor_status s = dolor_outfile_open(&f, path, 1);
    if (s)
        return s;
    fputs(text, f.fp);
    if (ferror(f.fp)) {
        s = dolor_error(DOLOR_EIO, "%s: write error", path);
        dolor_outfile_abort(&f);
        return s;
    }
    return dolor_outfile_commit(&f);
}

typedef struct row {
    dolor_phantom_info info;
    uint64_t seed;
    size_t nerve_px, vessel_px;
} row;

dolor_status dolor_phantom_write_dataset(const char *dir, int count, const dolor_phantom_config *cfg, uint64_t seed,
                                         int show_progress)
{
    dolor_phantom_config def;
    if (!cfg) {
        dolor_phantom_config_default(&def);
        cfg = &def;
    }
    if (count < 1 || count > 1000000)
        return dolor_error(DOLOR_EINVAL, "phantom: count is %d (must be 1..1000000)", count);
    /* validate the config before touching the disk */
    dolor_image *ti = NULL, *tm = NULL;
    dolor_phantom_config probe = *cfg;
    probe.width = probe.width >= 64 && probe.width <= 4096 ? 64 : probe.width;
    probe.height = probe.height >= 64 && probe.height <= 4096 ? 64 : probe.height;
    dolor_status s = dolor_phantom_generate(&probe, 0, &ti, &tm, NULL);
    dolor_image_free(ti);
    dolor_image_free(tm);
    if (s)
        return s;

    size_t dl = strlen(dir) + 64;
    char *p = malloc(dl), *q = malloc(dl);
    row *rows = calloc((size_t)count, sizeof *rows);
    if (!p || !q || !rows) {
        free(p);
        free(q);
        free(rows);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    snprintf(p, dl, "%s/images", dir);
    snprintf(q, dl, "%s/masks", dir);
    if ((s = dolor_mkdir_p(p)) || (s = dolor_mkdir_p(q))) {
        free(p);
        free(q);
        free(rows);
        return s;
    }
    const int nd = digits_for(count);
    dolor_status first = DOLOR_OK;
    char firstmsg[1024] = "";
    int done = 0;
    dolor_progress *prog = show_progress ? dolor_progress_create("phantom", count) : NULL;

#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < count; i++) {
        int stop;
#pragma omp atomic read
        stop = first;
        if (stop)
            continue;
        char ip[4096], mp[4096];
        snprintf(ip, sizeof ip, "%s/images/%0*d.png", dir, nd, i);
        snprintf(mp, sizeof mp, "%s/masks/%0*d.png", dir, nd, i);
        dolor_image *img = NULL, *msk = NULL;
        uint64_t sd = dolor_phantom_image_seed(seed, i);
        dolor_status e = dolor_phantom_generate(cfg, sd, &img, &msk, &rows[i].info);
        if (!e)
            e = dolor_png_write(ip, img);
        if (!e)
            e = dolor_png_write_labels(mp, msk, palette, 3);
        if (!e) {
            const uint8_t *l = msk->data;
            size_t n = dolor_image_nvox(msk), a = 0, b = 0;
            for (size_t k = 0; k < n; k++) {
                a += l[k] == DOLOR_PHANTOM_NERVE;
                b += l[k] == DOLOR_PHANTOM_VESSEL;
            }
            rows[i].seed = sd;
            rows[i].nerve_px = a;
            rows[i].vessel_px = b;
        }
        dolor_image_free(img);
        dolor_image_free(msk);
#pragma omp critical(dolor_phantom_ds)
        {
            if (e && !first) {
                first = e;
                snprintf(firstmsg, sizeof firstmsg, "%s", dolor_errmsg());
            }
            done++;
            dolor_progress_update(prog, done, NULL);
        }
    }
    dolor_progress_finish(prog, first ? "failed" : NULL);
    if (first) {
        free(p);
        free(q);
        free(rows);
        return dolor_error(first, "%s", firstmsg);
    }

    /* per-image table */
    snprintf(p, dl, "%s/phantom.csv", dir);
    dolor_outfile f;
    if ((s = dolor_outfile_open(&f, p, 1))) {
        free(p);
        free(q);
        free(rows);
        return s;
    }
    fprintf(f.fp, "file,seed,nerve_cx,nerve_cy,nerve_a,nerve_b,nerve_angle,nfascicles,has_vessel,vessel_cx,"
                  "vessel_cy,vessel_r,has_bone,bone_y_min,nerve_px,vessel_px\n");
    for (int i = 0; i < count; i++) {
        const dolor_phantom_info *in = &rows[i].info;
        fprintf(f.fp, "%0*d.png,%llu,%.3f,%.3f,%.3f,%.3f,%.4f,%d,%d,", nd, i, (unsigned long long)rows[i].seed,
                in->nerve_cx, in->nerve_cy, in->nerve_a, in->nerve_b, in->nerve_angle, in->nfascicles,
                in->has_vessel);
        if (in->has_vessel)
            fprintf(f.fp, "%.3f,%.3f,%.3f,", in->vessel_cx, in->vessel_cy, in->vessel_r);
        else
            fputs("NA,NA,NA,", f.fp);
        fprintf(f.fp, "%d,", in->has_bone);
        if (in->has_bone)
            fprintf(f.fp, "%.3f,", in->bone_y_min);
        else
            fputs("NA,", f.fp);
        fprintf(f.fp, "%zu,%zu\n", rows[i].nerve_px, rows[i].vessel_px);
    }
    if (ferror(f.fp)) {
        s = dolor_error(DOLOR_EIO, "%s: write error", p);
        dolor_outfile_abort(&f);
    } else {
        s = dolor_outfile_commit(&f);
    }
    free(rows);
    if (s) {
        free(p);
        free(q);
        return s;
    }

    /* README */
    char text[4096];
    snprintf(text, sizeof text,
             "Synthetic B-mode ultrasound phantom: peripheral nerve block scenes (dolor %s)\n"
             "\n"
             "images/NNNN.png  8-bit grey B-mode-like images, %dx%d pixels, %.4f mm per pixel\n"
             "                 (imaging depth %.1f mm), depth increasing downwards\n"
             "masks/NNNN.png   palette PNG label maps; the pixel value is the class:\n"
             "                   0 background  (black)\n"
             "                   1 nerve       (red 128,0,0)\n"
             "                   2 vessel      (green 0,128,0), an artery\n"
             "                 the same convention as the usgra-nerve dataset (1 nerve, 2 vessel).\n"
             "phantom.csv      per image: seed, nerve and artery geometry (pixels), bone presence,\n"
             "                 nerve and vessel areas in pixels\n"
             "\n"
             "Drawn but NOT labelled (background in the masks): fascia lines, muscle texture, the\n"
             "bone surface and its acoustic shadow, the near-field band, posterior acoustic\n"
             "enhancement below the artery.\n"
             "\n"
             "Each image: a honeycomb hyperechoic nerve (bright oval with dark round fascicles),\n"
             "an anechoic round artery (probability %.2f) beside it, never overlapping, a bright\n"
             "bone line with an acoustic shadow below both (probability %.2f); speckle from the\n"
             "convolution model (complex Gaussian scatterers through a Gaussian PSF, envelope\n"
             "detection, so Rayleigh-distributed and multiplicative), attenuation along each beam\n"
             "with imperfect time-gain compensation, log compression over %.0f dB.\n"
             "\n"
             "Made with: dolor phantom -o DIR -n %d --width %d --height %d --depth-mm %g --vessel-prob %g\n"
             "           --bone-prob %g --dynamic-range %g --seed %llu\n"
             "Image i uses seed dolor_phantom_image_seed(%llu, i): the same seed gives the same\n"
             "files, and image i does not depend on the count.\n"
             "Synthetic data: no patient information; free to use without restriction.\n",
             DOLOR_VERSION_STRING, cfg->width, cfg->height, cfg->depth_mm / cfg->height, cfg->depth_mm,
             cfg->vessel_prob, cfg->bone_prob, cfg->dynamic_range_db, count, cfg->width, cfg->height, cfg->depth_mm,
             cfg->vessel_prob, cfg->bone_prob, cfg->dynamic_range_db, (unsigned long long)seed,
             (unsigned long long)seed);
    snprintf(p, dl, "%s/README.txt", dir);
    s = write_text(p, text);
    free(p);
    free(q);
    return s;
}
