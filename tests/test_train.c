/* train: learning-rate schedules, safetensors checkpoints (round trip and bad
 * files), a short training run that must learn a toy task, resume, and
 * whole-image inference geometry. */
#define _GNU_SOURCE
#include "check.h"
#include "test_util.h"
#include "dolor/eval.h"
#include "dolor/io.h"
#include "dolor/train.h"

#define ATOL 1e-4
#define RTOL 1e-3
#include "nn_fx.h"

#include <unistd.h>

static char tmpdir[] = "/tmp/dolor_train_XXXXXX";

static void test_schedule(void)
{
    /* torch CosineAnnealingLR(T_max=T, eta_min=0): lr_t = base*(1+cos(pi t/T))/2 */
    CHECK_NEAR(dolor_lr_at(DOLOR_LR_COSINE, 1e-3, 0, 100, 0), 1e-3, 1e-15);
    CHECK_NEAR(dolor_lr_at(DOLOR_LR_COSINE, 1e-3, 50, 100, 0), 5e-4, 1e-15);
    CHECK_NEAR(dolor_lr_at(DOLOR_LR_COSINE, 1e-3, 25, 100, 0), 1e-3 * (1 + cos(M_PI / 4)) / 2, 1e-15);
    CHECK_NEAR(dolor_lr_at(DOLOR_LR_COSINE, 1e-3, 100, 100, 0), 0.0, 1e-15);
    /* nnU-Net poly: base*(1-t/T)^0.9 */
    CHECK_NEAR(dolor_lr_at(DOLOR_LR_POLY, 1e-2, 30, 100, 0), 1e-2 * pow(0.7, 0.9), 1e-15);
    /* linear warm-up over 10 steps, then cosine over the remaining 90 */
    CHECK_NEAR(dolor_lr_at(DOLOR_LR_COSINE, 1e-3, 4, 100, 10), 5e-4, 1e-15);
    CHECK_NEAR(dolor_lr_at(DOLOR_LR_COSINE, 1e-3, 55, 100, 10), 5e-4, 1e-15);
    dolor_lr_schedule sch;
    CHECK_OK(dolor_lr_schedule_parse("poly", &sch));
    CHECK(sch == DOLOR_LR_POLY);
    CHECK_ERR(dolor_lr_schedule_parse("stair", &sch), DOLOR_EINVAL, "'stair' is not one of cosine, poly, constant, step");
    /* StepLR (torch: step_size 30, gamma 0.1 -> 0.1 at 0..29, 0.01 at 30..59) after 2 warm-up steps */
    CHECK_OK(dolor_lr_schedule_parse("step", &sch));
    CHECK(sch == DOLOR_LR_STEP && strcmp(dolor_lr_schedule_name(sch), "step") == 0);
    CHECK_NEAR(dolor_lr_at_step(0.1, 0, 2, 30, 0.1), 0.05, 1e-15);
    CHECK_NEAR(dolor_lr_at_step(0.1, 2, 2, 30, 0.1), 0.1, 1e-15);
    CHECK_NEAR(dolor_lr_at_step(0.1, 31, 2, 30, 0.1), 0.1, 1e-15);
    CHECK_NEAR(dolor_lr_at_step(0.1, 32, 2, 30, 0.1), 0.01, 1e-15);
    CHECK_NEAR(dolor_lr_at_step(0.1, 95, 2, 30, 0.5), 0.1 * 0.125, 1e-15);
    /* through dolor_lr_at: step_size ceil(90 / 3) = 30, gamma 0.1 */
    CHECK_NEAR(dolor_lr_at(DOLOR_LR_STEP, 1.0, 39, 100, 10), 1.0, 1e-15);
    CHECK_NEAR(dolor_lr_at(DOLOR_LR_STEP, 1.0, 40, 100, 10), 0.1, 1e-15);
    CHECK_NEAR(dolor_lr_at(DOLOR_LR_STEP, 1.0, 99, 100, 10), 0.01, 1e-15);
}

static void fill_meta(dolor_model_meta *m, int k, int size)
{
    memset(m, 0, sizeof *m);
    dolor_unet_config_default(&m->arch);
    m->arch.in_channels = 1;
    m->arch.num_classes = k;
    m->arch.base_channels = 8;
    m->arch.depth = 2;
    m->num_classes = k;
    const char *names[] = {"background", "nerve", "vessel"};
    for (int c = 0; c < k; c++) {
        snprintf(m->class_names[c], sizeof m->class_names[c], "%s", names[c]);
        m->label_values[c] = c == 0 ? 0 : 10 * c;
    }
    m->height = m->width = size;
    m->epoch = 3;
    m->val_dice = 0.625;
    m->seed = 99;
}

static void test_checkpoint(void)
{
    dolor_model_meta meta, back;
    fill_meta(&meta, 3, 32);
    dolor_net *net = NULL, *net2 = NULL;
    dolor_adamw *opt = NULL, *opt2 = NULL;
    CHECK_OK(dolor_unet_create(&meta.arch, &net));
    CHECK_OK(dolor_net_init(net, 5));
    size_t np = dolor_net_num_params(net), nb = dolor_net_num_buffers(net);
    CHECK_OK(dolor_adamw_create(np, 0.9f, 0.999f, 1e-8f, 0.01f, &opt));
    for (size_t i = 0; i < np; i++) {
        opt->m[i] = (float)i * 1e-6f;
        opt->v[i] = (float)(np - i) * 1e-7f;
    }
    opt->step = 17;
    for (size_t i = 0; i < nb; i++)
        dolor_net_buffers(net)[i] = 0.5f + (float)i * 1e-3f;
    char path[256];
    snprintf(path, sizeof path, "%s/ck.safetensors", tmpdir);
    CHECK_OK(dolor_checkpoint_save(path, net, opt, &meta));
    CHECK_OK(dolor_checkpoint_load(path, &net2, &opt2, &back));
    if (net2 && opt2) {
        CHECK(dolor_net_num_params(net2) == np);
        CHECK(memcmp(dolor_net_params(net), dolor_net_params(net2), np * sizeof(float)) == 0);
        CHECK(memcmp(dolor_net_buffers(net), dolor_net_buffers(net2), nb * sizeof(float)) == 0);
        CHECK(memcmp(opt->m, opt2->m, np * sizeof(float)) == 0);
        CHECK(memcmp(opt->v, opt2->v, np * sizeof(float)) == 0);
        CHECK(opt2->step == 17);
        CHECK_NEAR(opt2->weight_decay, 0.01, 1e-9);
    }
    CHECK(back.num_classes == 3 && back.epoch == 3 && back.height == 32 && back.arch.depth == 2 &&
          back.arch.base_channels == 8 && back.seed == 99);
    CHECK(strcmp(back.class_names[2], "vessel") == 0 && back.label_values[2] == 20);
    CHECK_NEAR(back.val_dice, 0.625, 1e-15);
    dolor_net_free(net2);
    dolor_adamw_free(opt2);
    net2 = NULL;

    /* header is JSON with the state_dict names PyTorch uses */
    FILE *fp = fopen(path, "rb");
    unsigned char len8[8];
    CHECK(fp && fread(len8, 1, 8, fp) == 8);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)len8[i] << (8 * i);
    char *hdr = calloc(1, hlen + 1);
    CHECK(fread(hdr, 1, hlen, fp) == hlen);
    dolor_net_tensor t0;
    dolor_net_tensor_at(net, 0, &t0);
    CHECK(strstr(hdr, t0.name) != NULL && strstr(hdr, "\"__metadata__\"") != NULL && strstr(hdr, "\"F32\"") != NULL);
    free(hdr);
    fseek(fp, 0, SEEK_END);
    long full = ftell(fp);
    fclose(fp);

    /* truncated copy: header intact, data cut */
    char tpath[256];
    snprintf(tpath, sizeof tpath, "%s/trunc.safetensors", tmpdir);
    {
        FILE *in = fopen(path, "rb"), *out = fopen(tpath, "wb");
        char *buf = malloc((size_t)full);
        CHECK(fread(buf, 1, (size_t)full, in) == (size_t)full);
        fwrite(buf, 1, (size_t)full / 2, out); /* cut in the middle of the parameters */
        fclose(in);
        fclose(out);
        CHECK_ERR(dolor_checkpoint_load(tpath, &net2, NULL, &back), DOLOR_EFORMAT, "truncated");
        out = fopen(tpath, "wb");
        fwrite(buf, 1, 20, out); /* cut inside the header */
        fclose(out);
        CHECK_ERR(dolor_checkpoint_load(tpath, &net2, NULL, &back), DOLOR_EFORMAT, "truncated");
        out = fopen(tpath, "wb");
        fwrite(buf, 1, (size_t)full - 100, out); /* cut inside the data */
        fclose(out);
        CHECK_ERR(dolor_checkpoint_load(tpath, &net2, NULL, &back), DOLOR_EFORMAT, "truncated");
        free(buf);
    }
    /* edited headers: a renamed tensor, a wrong shape, a wrong dtype, a bad metadata value */
    {
        FILE *in = fopen(path, "rb");
        char *buf = malloc((size_t)full);
        CHECK(fread(buf, 1, (size_t)full, in) == (size_t)full);
        fclose(in);
        struct { const char *from, *to, *needle; } edits[] = {
            {"head.weight", "head.weighz", "'head.weight' is missing"},
            {"\"F32\"", "\"F16\"", "dtype F16"},
            {"\"epoch\":\"3\"", "\"epoch\":\"x\"", "__metadata__.epoch is 'x'"},
            {"\\\"upsample\\\": \\\"transposed\\\"", "\\\"upsample\\\": \\\"nearest___\\\"", "upsample"},
            {"\"architecture\":\"unet\"", "\"architecture\":\"unex\"", "architecture 'unex' is not in the registry"},
        };
        for (size_t k = 0; k < sizeof edits / sizeof *edits; k++) {
            char *b = malloc((size_t)full);
            memcpy(b, buf, (size_t)full);
            char *at = NULL;
            for (char *p = b + 8; p < b + 8 + hlen - strlen(edits[k].from); p++)
                if (memcmp(p, edits[k].from, strlen(edits[k].from)) == 0) {
                    at = p;
                    break;
                }
            CHECKF(at != NULL, "edit %zu: '%s' not found in the header", k, edits[k].from);
            CHECKF(strlen(edits[k].from) == strlen(edits[k].to), "edit %zu changes the header length", k);
            if (at && strlen(edits[k].from) == strlen(edits[k].to)) {
                memcpy(at, edits[k].to, strlen(edits[k].to));
                FILE *o2 = fopen(tpath, "wb");
                fwrite(b, 1, (size_t)full, o2);
                fclose(o2);
                dolor_status st = dolor_checkpoint_load(tpath, &net2, NULL, &back);
                CHECKF(st != DOLOR_OK && strstr(dolor_errmsg(), edits[k].needle) && net2 == NULL,
                       "edit %zu -> %s '%s' (want '%s')", k, dolor_status_name(st), dolor_errmsg(), edits[k].needle);
            }
            free(b);
        }
        free(buf);
    }
    /* not a safetensors file */
    fp = fopen(tpath, "wb");
    fputs("epoch,train_loss\n1,0.5\n", fp);
    fclose(fp);
    CHECK_ERR(dolor_checkpoint_load(tpath, &net2, NULL, &back), DOLOR_EFORMAT, "not a safetensors file");
    CHECK(net2 == NULL);
    CHECK_ERR(dolor_checkpoint_load("/nonexistent/x.safetensors", &net2, NULL, &back), DOLOR_ENOTFOUND, "cannot open");
    /* the header alone */
    CHECK_OK(dolor_checkpoint_read_meta(path, &back));
    CHECK(back.epoch == 3 && back.num_classes == 3 && strcmp(back.class_names[1], "nerve") == 0);
    dolor_net_free(net);
    dolor_adamw_free(opt);
    remove(path);
    remove(tpath);
}

/* A toy dataset: dark background with a bright disc (class 1, value 10) and a
 * dark-ringed square (class 2, value 20) at random positions. */
static void make_toy_dataset(const char *root, int n, int size)
{
    char d1[512], d2[512], p[600];
    snprintf(d1, sizeof d1, "%s/images", root);
    snprintf(d2, sizeof d2, "%s/masks", root);
    dolor_mkdir_p(d1);
    dolor_mkdir_p(d2);
    dolor_rng r;
    dolor_rng_seed(&r, 11);
    for (int i = 0; i < n; i++) {
        dolor_image *img, *mask;
        dolor_image_create2d(&img, DOLOR_U8, 1, size, size);
        dolor_image_create2d(&mask, DOLOR_U8, 1, size, size);
        uint8_t *a = img->data, *m = mask->data;
        double cx = 8 + dolor_rng_uniform(&r) * (size - 16), cy = 8 + dolor_rng_uniform(&r) * (size - 16);
        int sx = (int)(dolor_rng_uniform(&r) * (size - 10)), sy = (int)(dolor_rng_uniform(&r) * (size - 10));
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                size_t k = (size_t)y * size + x;
                a[k] = (uint8_t)(60 + dolor_rng_uniform(&r) * 30);
                if (x >= sx && x < sx + 8 && y >= sy && y < sy + 8) {
                    a[k] = 10;
                    m[k] = 20;
                } else if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < 25) {
                    a[k] = 220;
                    m[k] = 10;
                }
            }
        snprintf(p, sizeof p, "%s/%03d.png", d1, i);
        dolor_png_write(p, img);
        snprintf(p, sizeof p, "%s/%03d.png", d2, i);
        dolor_png_write_labels(p, mask, NULL, 0);
        dolor_image_free(img);
        dolor_image_free(mask);
    }
}

static double read_last_mean_dice(const char *log, int *rows)
{
    FILE *fp = fopen(log, "r");
    char line[1024];
    double mean = NAN;
    *rows = 0;
    if (!fp)
        return NAN;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] < '0' || line[0] > '9')
            continue;
        (*rows)++;
        /* epoch,train_loss,val_loss,dice_nerve,dice_vessel,mean_dice,lr,seconds */
        double v[8];
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
            mean = v[5];
    }
    fclose(fp);
    return mean;
}

static void test_training_run(void)
{
    char root[512], out[512], log[600];
    snprintf(root, sizeof root, "%s/toy", tmpdir);
    snprintf(out, sizeof out, "%s/run", tmpdir);
    snprintf(log, sizeof log, "%s/log.csv", out);
    const int size = 32;
    make_toy_dataset(root, 24, size);
    dolor_model_meta meta;
    fill_meta(&meta, 3, size);
    meta.epoch = 0;
    meta.val_dice = NAN;
    const char *names[3] = {"background", "nerve", "vessel"};
    char d1[600], d2[600];
    snprintf(d1, sizeof d1, "%s/images", root);
    snprintf(d2, sizeof d2, "%s/masks", root);
    dolor_dataset_config dc = {d1, d2, 3, names, meta.label_values, size, size};
    dolor_dataset *ds = NULL;
    CHECK_OK(dolor_dataset_open(&dc, &ds));
    if (!ds)
        return;
    size_t *tr = NULL, *va = NULL, ntr = 0, nva = 0;
    CHECK_OK(dolor_dataset_split(ds, 0.25, 3, NULL, &tr, &ntr, &va, &nva));
    CHECK(ntr == 18 && nva == 6);
    dolor_net *net = NULL;
    CHECK_OK(dolor_unet_create(&meta.arch, &net));
    CHECK_OK(dolor_net_init(net, 1));
    dolor_train_config tc;
    dolor_train_config_default(&tc);
    tc.out_dir = out;
    tc.epochs = 10;
    tc.batch_size = 6;
    tc.lr = 1e-2;
    tc.augment = 0;
    tc.quiet = 1;
    double best = -1;
    CHECK_OK(dolor_train_run(&tc, net, NULL, ds, tr, ntr, va, nva, &meta, &best));
    int rows = 0;
    double last = read_last_mean_dice(log, &rows);
    CHECK(rows == 10);
    CHECKF(last > 0.5, "toy task last-epoch mean Dice %.3f (expected > 0.5)", last);
    CHECKF(best > 0.6, "toy task best mean Dice %.3f (expected > 0.6)", best);
    CHECK(meta.epoch == 10);

    /* resume from last.safetensors for one more epoch: the log continues at row 11 */
    char lastp[600];
    snprintf(lastp, sizeof lastp, "%s/last.safetensors", out);
    dolor_net *net2 = NULL;
    dolor_adamw *opt2 = NULL;
    dolor_model_meta m2;
    CHECK_OK(dolor_checkpoint_load(lastp, &net2, &opt2, &m2));
    if (net2 && opt2) {
        CHECK(m2.epoch == 10 && opt2->step == 10 * 3);
        tc.epochs = 11;
        CHECK_OK(dolor_train_run(&tc, net2, opt2, ds, tr, ntr, va, nva, &m2, &best));
        read_last_mean_dice(log, &rows);
        CHECK(rows == 11 && m2.epoch == 11 && opt2->step == 11 * 3);
    }

    /* ensembles and test-time mirroring (issue 12) on the trained toy model and a validation image */
    {
        dolor_image *vim = NULL, *c1 = NULL, *c2 = NULL, *c3 = NULL, *ct = NULL, *fim = NULL, *cft = NULL;
        CHECK_OK(dolor_image_read(dolor_dataset_image_path(ds, va[0]), &vim));
        dolor_net *two[2] = {net, net};
        dolor_model_meta metas[2] = {meta, meta};
        dolor_segment_scratch *es = NULL;
        if (vim) {
            CHECK_OK(dolor_segment_image(net, &meta, vim, NULL, &c1));
            CHECK_OK(dolor_segment_ensemble(two, metas, 1, vim, NULL, &es, &c2));
            CHECK_OK(dolor_segment_ensemble(two, metas, 2, vim, NULL, &es, &c3));
            size_t n = dolor_image_nvox(vim);
            /* one model: the argmax of the probabilities is that of the logits; the same model twice: the same */
            CHECK(c1 && c2 && c3 && !memcmp(c1->data, c2->data, n) && !memcmp(c2->data, c3->data, n));
            dolor_segment_opts tt = {.mirror_x = 1};
            CHECK_OK(dolor_segment_ensemble(two, metas, 1, vim, &tt, &es, &ct));
            /* a task without a side (squares and discs): the mirrored pass agrees with the plain one */
            size_t agree = 0;
            for (size_t p = 0; c1 && ct && p < n; p++)
                agree += ((uint8_t *)c1->data)[p] == ((uint8_t *)ct->data)[p];
            CHECKF(agree >= n * 95 / 100, "TTA changed %zu of %zu pixels", n - agree, n);
            /* left-right TTA is mirror-equivariant: segmenting the mirrored image gives the mirrored map */
            CHECK_OK(dolor_image_clone(vim, &fim));
            int w = (int)vim->size[0], h = (int)vim->size[1];
            for (int y = 0; fim && y < h; y++)
                for (int x = 0; x < w; x++)
                    ((uint8_t *)fim->data)[y * w + x] = ((uint8_t *)vim->data)[y * w + (w - 1 - x)];
            CHECK_OK(dolor_segment_ensemble(two, metas, 1, fim, &tt, &es, &cft));
            size_t same = 0;
            for (int y = 0; ct && cft && y < h; y++)
                for (int x = 0; x < w; x++)
                    same += ((uint8_t *)cft->data)[y * w + x] == ((uint8_t *)ct->data)[y * w + (w - 1 - x)];
            CHECKF(same >= n * 99 / 100, "mirrored TTA differs at %zu of %zu pixels", n - same, n);
            /* models that disagree: an error naming what differs */
            dolor_image *bad = NULL;
            metas[1].label_values[2] = 7;
            CHECK_ERR(dolor_segment_ensemble(two, metas, 2, vim, NULL, &es, &bad), DOLOR_EINVAL, "model 2's class 2");
            metas[1] = meta;
            metas[1].num_classes = 2;
            CHECK_ERR(dolor_segment_ensemble(two, metas, 2, vim, NULL, &es, &bad), DOLOR_EINVAL, "2 classes");
            CHECK(bad == NULL);
            CHECK_ERR(dolor_segment_ensemble(two, metas, 0, vim, NULL, &es, &bad), DOLOR_EINVAL, "no model");
            /* sliding windows on an image of exactly one tile: whole-image inference (weights cancel) */
            dolor_image *sl = NULL, *big = NULL, *slb = NULL;
            CHECK(vim->size[0] == meta.width && vim->size[1] == meta.height);
            CHECK_OK(dolor_segment_sliding(net, &meta, vim, 0.5, &sl));
            CHECK(sl && c1 && !memcmp(sl->data, c1->data, n));
            /* a larger image at native resolution: several tiles, size and geometry kept */
            CHECK_OK(dolor_image_create2d(&big, DOLOR_U8, 1, 70, 45));
            if (big) {
                big->spacing[0] = 0.3;
                for (size_t p = 0; p < 70 * 45; p++)
                    ((uint8_t *)big->data)[p] = (uint8_t)(60 + (p * 37) % 30);
                CHECK_OK(dolor_segment_sliding(net, &meta, big, 0.5, &slb));
                CHECK(slb && slb->size[0] == 70 && slb->size[1] == 45 && slb->spacing[0] == 0.3);
            }
            CHECK_ERR(dolor_segment_sliding(net, &meta, vim, 1.0, &bad), DOLOR_EINVAL, "overlap 1");
            dolor_image_free(sl);
            dolor_image_free(big);
            dolor_image_free(slb);
        }
        dolor_segment_scratch_free(es);
        dolor_image_free(vim);
        dolor_image_free(fim);
        dolor_image_free(c1);
        dolor_image_free(c2);
        dolor_image_free(c3);
        dolor_image_free(ct);
        dolor_image_free(cft);
    }

    /* whole-image inference keeps size and geometry; labels map back to values */
    dolor_image *img = NULL, *cls = NULL, *lab = NULL, *ov = NULL;
    dolor_image_create2d(&img, DOLOR_U8, 1, 45, 37);
    img->spacing[0] = 0.1;
    img->spacing[1] = 0.2;
    img->origin[0] = 5;
    dolor_segment_scratch *sc = NULL;
    CHECK_OK(dolor_segment_image(net, &meta, img, &sc, &cls));
    if (cls) {
        CHECK(cls->size[0] == 45 && cls->size[1] == 37 && cls->spacing[1] == 0.2 && cls->origin[0] == 5);
        CHECK_OK(dolor_classes_to_labels(cls, &meta, &lab));
        int label_ok = 1;
        for (size_t p = 0; lab && p < dolor_image_nvox(cls); p++)
            label_ok &= dolor_image_get(lab, p) == meta.label_values[((uint8_t *)cls->data)[p]];
        CHECK(label_ok);
        CHECK_OK(dolor_overlay_make(img, cls, 3, NULL, &ov));
        CHECK(ov && ov->ncomp == 3 && ov->size[0] == 45);
    }
    dolor_segment_scratch_free(sc);
    dolor_image_free(img);
    dolor_image_free(cls);
    dolor_image_free(lab);
    dolor_image_free(ov);
    dolor_net_free(net);
    dolor_net_free(net2);
    dolor_adamw_free(opt2);
    dolor_dataset_free(ds);
    free(tr);
    free(va);
}

/* The toy dataset of test_training_run (3 classes, 32 x 32), its model description in *m and the seeded
 * 25% validation split; NULL (a failed check) when it cannot be opened. */
static dolor_dataset *open_toy(dolor_model_meta *m, size_t **tr, size_t *ntr, size_t **va, size_t *nva)
{
    static char d1[600], d2[600];
    static const char *names[3] = {"background", "nerve", "vessel"};
    snprintf(d1, sizeof d1, "%s/toy/images", tmpdir);
    snprintf(d2, sizeof d2, "%s/toy/masks", tmpdir);
    fill_meta(m, 3, 32);
    m->epoch = 0;
    m->val_dice = NAN;
    dolor_dataset_config dc = {d1, d2, 3, names, m->label_values, 32, 32};
    dolor_dataset *ds = NULL;
    CHECK_OK(dolor_dataset_open(&dc, &ds));
    if (ds)
        CHECK_OK(dolor_dataset_split(ds, 0.25, 3, NULL, tr, ntr, va, nva));
    return ds;
}

/* SGD in the segmentation loop (nnU-Net's optimizer): two steps of dolor_train_run with momentum 0.9, Nesterov
 * and coupled weight decay equal the update of torch.optim.SGD written out here by hand (buf = g + wd p on the
 * first step, buf = m buf + g + wd p after; p -= lr (g + wd p + m buf)) on the same batches, gradients
 * from the same forward/backward. One batch holds every training case, so each epoch is one step. */
static void test_sgd_run(void)
{
    char out[512];
    snprintf(out, sizeof out, "%s/sgd", tmpdir);
    dolor_model_meta ma, mr;
    size_t *tr = NULL, *va = NULL, ntr = 0, nva = 0;
    dolor_dataset *ds = open_toy(&ma, &tr, &ntr, &va, &nva);
    if (!ds)
        return;
    mr = ma;
    const float lr = 0.05f, m = 0.9f, wd = 1e-3f;
    dolor_train_config tc;
    dolor_train_config_default(&tc);
    tc.out_dir = out;
    tc.batch_size = (int)ntr;
    tc.lr = lr;
    tc.weight_decay = wd;
    tc.optimizer = DOLOR_OPT_SGD;
    tc.momentum = m;
    tc.nesterov = 1;
    tc.schedule = DOLOR_LR_CONSTANT;
    tc.warmup_epochs = 0;
    tc.augment = 0;
    tc.quiet = 1;
    tc.epochs = 2;
    dolor_net *a = NULL, *r = NULL;
    CHECK_OK(dolor_unet_create(&ma.arch, &a));
    CHECK_OK(dolor_net_init(a, 9));
    CHECK_OK(dolor_unet_create(&mr.arch, &r));
    CHECK_OK(dolor_net_init(r, 9));
    CHECK_OK(dolor_train_run(&tc, a, NULL, ds, tr, ntr, va, nva, &ma, NULL));
    CHECK(ma.epoch == 2 && ma.opt_step == 2);

    /* the reference: the loader in the loop's order (the same seed), forward, CE + soft Dice, backward, SGD */
    size_t np = dolor_net_num_params(r);
    float *buf = calloc(np, sizeof(float));
    dolor_loader *ld = NULL;
    dolor_tensor *x = NULL, *lg = NULL, *dl = NULL;
    uint8_t *lab = malloc(ntr * 32 * 32);
    CHECK_OK(dolor_loader_create(ds, tr, ntr, (int)ntr, 1, 1, NULL, tc.seed, &ld));
    CHECK_OK(dolor_tensor_create4(&x, (int)ntr, 1, 32, 32));
    CHECK_OK(dolor_tensor_create4(&lg, (int)ntr, 3, 32, 32));
    CHECK_OK(dolor_tensor_create4(&dl, (int)ntr, 3, 32, 32));
    for (int step = 0; buf && lab && ld && x && lg && dl && step < 2; step++) {
        int count = 0;
        CHECK_OK(dolor_loader_next(ld, x, lab, NULL, &count));
        if (count == 0) { /* the next epoch */
            CHECK_OK(dolor_loader_next(ld, x, lab, NULL, &count));
        }
        CHECK(count == (int)ntr);
        float ce = 0, dice = 0;
        CHECK_OK(dolor_net_forward(r, x, lg, 1));
        memset(dl->data, 0, dl->numel * sizeof(float));
        CHECK_OK(dolor_loss_cross_entropy(lg, lab, 1.0f, &ce, dl));
        CHECK_OK(dolor_loss_soft_dice(lg, lab, 0, 1e-5f, 1.0f, &dice, dl));
        CHECK_OK(dolor_net_backward(r, dl));
        float *p = dolor_net_params(r);
        const float *g = dolor_net_grads(r);
        for (size_t i = 0; i < np; i++) {
            float d = g[i] + wd * p[i];
            buf[i] = step ? m * buf[i] + d : d;
            p[i] -= lr * (d + m * buf[i]);
        }
    }
    double maxd = 0, maxp = 0;
    const float *pa = dolor_net_params(a), *pr = dolor_net_params(r);
    for (size_t i = 0; i < np; i++) {
        maxd = fmax(maxd, fabs((double)pa[i] - pr[i]));
        maxp = fmax(maxp, fabs((double)pr[i]));
    }
    CHECKF(maxd <= 1e-5 * (1 + maxp), "SGD (Nesterov) in dolor_train_run differs from the hand-written update by %g", maxd);
    /* a mutation the check must see: without momentum the second step differs */
    {
        char out0[600];
        snprintf(out0, sizeof out0, "%s/sgd0", tmpdir);
        dolor_model_meta m0 = mr;
        dolor_net *z = NULL;
        CHECK_OK(dolor_unet_create(&m0.arch, &z));
        CHECK_OK(dolor_net_init(z, 9));
        tc.out_dir = out0;
        tc.momentum = 0;
        tc.nesterov = 0;
        CHECK_OK(dolor_train_run(&tc, z, NULL, ds, tr, ntr, va, nva, &m0, NULL));
        double dz = 0;
        for (size_t i = 0; z && i < np; i++)
            dz = fmax(dz, fabs((double)dolor_net_params(z)[i] - pr[i]));
        CHECKF(dz > 100 * maxd && dz > 1e-6, "momentum 0 gave the momentum-0.9 weights (diff %g)", dz);
        dolor_net_free(z);
    }
    free(buf);
    free(lab);
    dolor_loader_free(ld);
    dolor_tensor_free(x);
    dolor_tensor_free(lg);
    dolor_tensor_free(dl);
    dolor_net_free(a);
    dolor_net_free(r);
    dolor_dataset_free(ds);
    free(tr);
    free(va);
}

/* Two epochs in one go and one epoch + a resumed epoch give identical weights. */
static void test_resume_identical(void)
{
    char out1[512], out2[512], lastp[600];
    snprintf(out1, sizeof out1, "%s/straight", tmpdir);
    snprintf(out2, sizeof out2, "%s/split", tmpdir);
    dolor_model_meta ma, mb;
    size_t *tr = NULL, *va = NULL, ntr = 0, nva = 0;
    dolor_dataset *ds = open_toy(&ma, &tr, &ntr, &va, &nva);
    if (!ds)
        return;
    mb = ma;
    dolor_train_config tc;
    dolor_train_config_default(&tc);
    tc.batch_size = 6;
    tc.lr = 5e-3;
    tc.quiet = 1;
    tc.epochs = 2; /* augmentation on: the loader must resume its sequence too */
    dolor_net *a = NULL, *b = NULL, *b2 = NULL;
    dolor_adamw *ob = NULL;
    CHECK_OK(dolor_unet_create(&ma.arch, &a));
    CHECK_OK(dolor_net_init(a, 9));
    CHECK_OK(dolor_unet_create(&mb.arch, &b));
    CHECK_OK(dolor_net_init(b, 9));
    tc.out_dir = out1;
    CHECK_OK(dolor_train_run(&tc, a, NULL, ds, tr, ntr, va, nva, &ma, NULL));
    tc.out_dir = out2;
    tc.epochs = 1;
    CHECK_OK(dolor_train_run(&tc, b, NULL, ds, tr, ntr, va, nva, &mb, NULL));
    snprintf(lastp, sizeof lastp, "%s/last.safetensors", out2);
    CHECK_OK(dolor_checkpoint_load(lastp, &b2, &ob, &mb));
    tc.epochs = 2;
    if (b2 && ob) {
        CHECK_OK(dolor_train_run(&tc, b2, ob, ds, tr, ntr, va, nva, &mb, NULL));
        size_t np = dolor_net_num_params(a);
        CHECKF(memcmp(dolor_net_params(a), dolor_net_params(b2), np * sizeof(float)) == 0,
               "parameters after 2 epochs differ between a straight and a resumed run");
        CHECK(memcmp(dolor_net_buffers(a), dolor_net_buffers(b2), dolor_net_num_buffers(a) * sizeof(float)) == 0);
        CHECK(ob->step == 2 * 3 && mb.epoch == 2);
    }
    dolor_net_free(a);
    dolor_net_free(b);
    dolor_net_free(b2);
    dolor_adamw_free(ob);
    dolor_dataset_free(ds);
    free(tr);
    free(va);
}

/* weights from PyTorch: a twin's state_dict saved with torchvision / first-release triplet-attention /
 * DataParallel names, converted by tools/torch_weights.py (tools/gen_nn_arch_fixtures.py): dolor
 * loads it as a checkpoint and reproduces the twin's inference output */
static void test_converted_weights(void)
{
    fx_file f;
    if (!fx_load(&f, "converted_resnet_unet.bin"))
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/nn/converted_resnet_unet.safetensors", DOLOR_TEST_FIXTURES);
    dolor_net *net = NULL;
    dolor_model_meta meta;
    CHECK_OK(dolor_checkpoint_load(path, &net, NULL, &meta));
    if (net) {
        CHECK(strcmp(meta.arch_name, "resnet_unet") == 0 && meta.num_classes == 3 && meta.height == 40 &&
              strcmp(meta.class_names[2], "vessel") == 0 && meta.label_values[2] == 2 && meta.in_channels == 1);
        int64_t xd[4] = {1, 1, 40, 40}, yd[4] = {1, 3, 40, 40};
        dolor_tensor *x = NULL, *y = NULL;
        CHECK_OK(dolor_tensor_create(&x, 4, xd));
        CHECK_OK(dolor_tensor_create(&y, 4, yd));
        for (size_t k = 0; k < x->numel; k++)
            x->data[k] = (float)(1.5 * sin(0.01 * (double)k) + 0.5 * sin(1.37 * (double)k + 0.2));
        CHECK_OK(dolor_net_forward(net, x, y, 0));
        cmp_rec("converted PyTorch weights: inference logits", y->data, fx_get(&f, "y_eval"));
        dolor_tensor_free(x);
        dolor_tensor_free(y);
    }
    dolor_net_free(net);
    fx_free(&f);
}

/* One colour table (issue 12): label-map palettes, labels.txt tables and overlays show class c in
 * dolor_label_colour(c), which holds the Okabe-Ito palette (values typed from Okabe & Ito 2008). */
static void test_colour_table(void)
{
    static const uint8_t okabe_ito[8][3] = {{0, 0, 0},      {230, 159, 0}, {86, 180, 233}, {0, 158, 115},
                                            {240, 228, 66}, {0, 114, 178}, {213, 94, 0},   {204, 121, 167}};
    int bad = 0;
    for (int c = 0; c < 8; c++) {
        uint8_t rgb[3];
        dolor_label_colour(c, rgb);
        bad += memcmp(rgb, okabe_ito[c], 3) != 0;
    }
    CHECKF(bad == 0, "%d of the first 8 colours are not Okabe-Ito's", bad);
    /* later classes: distinct from each other and from the first 8 */
    uint8_t all[DOLOR_MAX_CLASSES][3];
    for (int c = 0; c < DOLOR_MAX_CLASSES; c++)
        dolor_label_colour(c, all[c]);
    int dup = 0;
    for (int a = 0; a < DOLOR_MAX_CLASSES; a++)
        for (int b = a + 1; b < DOLOR_MAX_CLASSES; b++)
            dup += memcmp(all[a], all[b], 3) == 0;
    CHECKF(dup == 0, "%d pairs of classes share a colour", dup);

    /* the palette PNG (no palette given) */
    dolor_image *lab = NULL, *cls = NULL, *img = NULL, *ov = NULL, *ov2 = NULL, *tr = NULL;
    CHECK_OK(dolor_image_create2d(&lab, DOLOR_U8, 1, 40, 30));
    if (!lab)
        return;
    for (int p = 0; p < 40 * 30; p++)
        ((uint8_t *)lab->data)[p] = (uint8_t)(p % 5);
    char path[600];
    snprintf(path, sizeof path, "%s/pal.png", tmpdir);
    CHECK_OK(dolor_png_write_labels(path, lab, NULL, 0));
    /* PLTE read with a minimal chunk walk (independent of dolor's reader) */
    size_t len = 0;
    unsigned char *buf = (unsigned char *)dolor_test_slurp(path, &len);
    int checked = 0;
    for (size_t o = 8; buf && o + 12 <= len;) {
        size_t n = (size_t)buf[o] << 24 | (size_t)buf[o + 1] << 16 | (size_t)buf[o + 2] << 8 | buf[o + 3];
        if (!memcmp(buf + o + 4, "PLTE", 4)) {
            for (int v = 0; v < 5 && (size_t)v * 3 + 3 <= n; v++, checked++)
                bad += memcmp(buf + o + 8 + 3 * v, all[v], 3) != 0;
            break;
        }
        o += 12 + n;
    }
    free(buf);
    CHECKF(checked == 5 && bad == 0, "palette PNG: %d entries checked, %d differ from dolor_label_colour", checked,
           bad);
    /* label values that are not class indices: value 255 holds class 1 */
    uint8_t pal[256 * 3];
    const int values[2] = {0, 255};
    dolor_label_palette(values, 2, pal);
    CHECK(!memcmp(pal + 3 * 255, all[1], 3) && !memcmp(pal, all[0], 3) && !memcmp(pal + 3 * 2, all[2], 3));
    /* the ITK-SNAP table */
    const char *names[3] = {"background", "nerve", "vessel"};
    dolor_label_table *t = NULL;
    CHECK_OK(dolor_label_table_from_classes(names, 3, &t));
    CHECK(t && !memcmp(t->labels[1].rgb, all[1], 3) && !memcmp(t->labels[2].rgb, all[2], 3));
    dolor_label_table_free(t);

    /* the overlay: an isolated class-2 square's outline is exactly colour 2 */
    CHECK_OK(dolor_image_create2d(&img, DOLOR_U8, 1, 80, 60));
    CHECK_OK(dolor_image_create2d(&cls, DOLOR_U8, 1, 80, 60));
    CHECK_OK(dolor_image_create2d(&tr, DOLOR_U8, 1, 80, 60));
    if (!img || !cls || !tr)
        goto done;
    memset(img->data, 100, 80 * 60);
    for (int y = 35; y < 45; y++)
        for (int x = 55; x < 65; x++) {
            ((uint8_t *)cls->data)[y * 80 + x] = 2;
            ((uint8_t *)tr->data)[(y - 2) * 80 + x - 2] = 1;
        }
    CHECK_OK(dolor_overlay_make(img, cls, 3, NULL, &ov));
    const uint8_t *o = ov ? ov->data : NULL;
    CHECK(o && !memcmp(o + (35 * 80 + 60) * 3, all[2], 3));
    /* inside: 0.45 colour + 0.55 grey (hand: 0.55*100 + 0.45*86 = 93.7 -> 94 red) */
    CHECK(o && o[(40 * 80 + 60) * 3] == 94 && o[(40 * 80 + 60) * 3 + 1] == 136);
    /* without options the render is the plain overlay */
    CHECK_OK(dolor_overlay_render(img, cls, 3, NULL, &ov2));
    CHECK(ov && ov2 && !memcmp(ov->data, ov2->data, 80 * 60 * 3));
    dolor_image_free(ov2);
    ov2 = NULL;
    /* legend (case ID, nerve, vessel, truth) and the truth contour */
    dolor_overlay_opts oo = {.class_names = names, .case_id = "c7", .truth = tr};
    CHECK_OK(dolor_overlay_render(img, cls, 3, &oo, &ov2));
    const uint8_t *q = ov2 ? ov2->data : NULL;
    /* scale 1: box from (0,0), text lines 9 px apart from y = 2; swatches 7x7 at x = 2 */
    CHECK(q && q[0] == 0 && q[1] == 0 && q[2] == 0);
    CHECK(q && !memcmp(q + (13 * 80 + 5) * 3, all[1], 3));  /* nerve swatch, line 2 */
    CHECK(q && !memcmp(q + (22 * 80 + 5) * 3, all[2], 3));  /* vessel swatch, line 3 */
    /* "C" of the case ID: its top row is .###. -> (3,2) on, (2,2) off */
    CHECK(q && q[(2 * 80 + 3) * 3] == 255 && q[(2 * 80 + 2) * 3] == 0);
    /* truth square (53..62, 33..42): its right edge x = 62 at y = 40 is white or black, never a class colour */
    const uint8_t *e = q ? q + (40 * 80 + 62) * 3 : NULL;
    CHECK(e && (e[0] == e[1] && e[1] == e[2]) && (e[0] == 0 || e[0] == 255));
    /* a bad truth size is an error */
    dolor_image *small = NULL;
    CHECK_OK(dolor_image_create2d(&small, DOLOR_U8, 1, 4, 4));
    oo.truth = small;
    dolor_image *ov3 = NULL;
    CHECK_ERR(dolor_overlay_render(img, cls, 3, &oo, &ov3), DOLOR_ESHAPE, "truth");
    CHECK(ov3 == NULL);
    dolor_image_free(small);
done:
    dolor_image_free(lab);
    dolor_image_free(cls);
    dolor_image_free(img);
    dolor_image_free(tr);
    dolor_image_free(ov);
    dolor_image_free(ov2);
}

/* Sliding windows (issue 12): tile origins, the Gaussian importance map and the blend against a NumPy/SciPy
 * transcription of nnU-Net v2 (tools/gen_sliding_fixtures.py). */
static int read_floats(const char *path, double *v, int cap)
{
    FILE *fp = fopen(path, "r");
    int n = 0;
    while (fp && n < cap && fscanf(fp, "%lf", &v[n]) == 1)
        n++;
    if (fp)
        fclose(fp);
    return n;
}

typedef struct {
    int th, tw;
} blend_ctx;

static dolor_status blend_tile(void *ctx, int y0, int x0, int t, float *l)
{
    blend_ctx *b = ctx;
    for (int y = 0; y < b->th; y++)
        for (int x = 0; x < b->tw; x++) {
            l[y * b->tw + x] = (float)(sin(0.3 * (y0 + y) + 0.2 * (x0 + x)) + 0.1 * t);
            l[b->th * b->tw + y * b->tw + x] = (float)(0.05 * ((y0 + y) + x0));
        }
    return DOLOR_OK;
}

/* 3D tile logits of tools/gen_sliding_fixtures.py blend3d.txt */
static dolor_status blend_tile3d(void *ctx, const int *o, int t, float *l)
{
    const int *T = ctx;
    size_t tv = (size_t)T[0] * T[1] * T[2], i = 0;
    for (int z = 0; z < T[0]; z++)
        for (int y = 0; y < T[1]; y++)
            for (int x = 0; x < T[2]; x++, i++) {
                l[i] = (float)(sin(0.3 * (o[1] + y) + 0.2 * (o[2] + x) - 0.25 * (o[0] + z)) + 0.1 * t);
                l[tv + i] = (float)(0.05 * ((o[1] + y) + o[2]) + 0.03 * o[0]);
            }
    return DOLOR_OK;
}

/* 3D sliding windows: the Gaussian (sigma = tile / 8 per axis) and the blend at 40 % overlap against
 * the NumPy/SciPy transcription; the 2D map is the 3D one with a depth of 1. */
static void test_sliding3d(void)
{
    const char *fix = DOLOR_TEST_FIXTURES "/sliding";
    static double want[16 * 16 * 16];
    static float got[16 * 16 * 16], g2[16 * 24];
    const int tiles[2][3] = {{6, 8, 5}, {16, 16, 16}};
    for (int i = 0; i < 2; i++) {
        char p[600];
        const int *t = tiles[i];
        snprintf(p, sizeof p, "%s/gaussian_%dx%dx%d.txt", fix, t[0], t[1], t[2]);
        int n = read_floats(p, want, 16 * 16 * 16);
        CHECKF(n == t[0] * t[1] * t[2], "%s: %d values", p, n);
        dolor_gaussian_importance_nd(3, t, 1.0 / 8, got);
        double worst = 0;
        for (int k = 0; k < n; k++)
            worst = fmax(worst, fabs(got[k] - want[k]) / want[k]);
        CHECKF(worst < 1e-6, "Gaussian %dx%dx%d: worst relative difference %.3g from SciPy", t[0], t[1], t[2], worst);
        CHECK(got[((size_t)(t[0] / 2) * t[1] + t[1] / 2) * t[2] + t[2] / 2] == 1.0f);
    }
    const int one[3] = {1, 16, 24};
    dolor_gaussian_importance_nd(3, one, 1.0 / 8, got);
    dolor_gaussian_importance(16, 24, 1.0 / 8, g2);
    int same = 1;
    for (int k = 0; k < 16 * 24; k++)
        same &= got[k] == g2[k];
    CHECK(same);
    enum { D = 11, H = 20, W = 13 };
    static double wb[2 * D * H * W];
    static float ob[2 * D * H * W];
    char p[600];
    snprintf(p, sizeof p, "%s/blend3d.txt", fix);
    CHECK(read_floats(p, wb, 2 * D * H * W) == 2 * D * H * W);
    const int size[3] = {D, H, W}, tile[3] = {6, 8, 6};
    CHECK_OK(dolor_sliding_window_nd(3, size, tile, 0.6, 2, blend_tile3d, (void *)tile, ob));
    double worst = 0;
    for (int k = 0; k < 2 * D * H * W; k++)
        worst = fmax(worst, fabs(ob[k] - wb[k]));
    CHECKF(worst < 1e-5, "blend 3D: worst difference %.3g from NumPy", worst);
    const int small[3] = {5, 20, 13};
    CHECK_ERR(dolor_sliding_window_nd(3, small, tile, 0.5, 2, blend_tile3d, (void *)tile, ob), DOLOR_EINVAL,
              "image 13x20x5, tile 6x8x6");
    CHECK_ERR(dolor_sliding_window_nd(4, size, tile, 0.5, 2, blend_tile3d, (void *)tile, ob), DOLOR_EINVAL,
              "4 spatial axes");
}

static void test_sliding(void)
{
    const char *fix = DOLOR_TEST_FIXTURES "/sliding";
    static double want[64 * 64];
    static float got[64 * 64];
    const int sizes[3][2] = {{8, 6}, {16, 24}, {64, 64}};
    for (int i = 0; i < 3; i++) {
        char p[600];
        int h = sizes[i][0], w = sizes[i][1];
        snprintf(p, sizeof p, "%s/gaussian_%dx%d.txt", fix, h, w);
        int n = read_floats(p, want, 64 * 64);
        CHECKF(n == h * w, "%s: %d values", p, n);
        dolor_gaussian_importance(h, w, 1.0 / 8, got);
        double worst = 0;
        for (int k = 0; k < n; k++)
            worst = fmax(worst, fabs(got[k] - want[k]) / want[k]);
        CHECKF(worst < 1e-6, "Gaussian %dx%d: worst relative difference %.3g from SciPy", h, w, worst);
        CHECK(got[(h / 2) * w + w / 2] == 1.0f);
    }
    char p[600];
    snprintf(p, sizeof p, "%s/steps.csv", fix);
    FILE *fp = fopen(p, "r");
    CHECKF(fp != NULL, "missing %s", p);
    char line[512];
    int rows = 0, bad = 0;
    while (fp && fgets(line, sizeof line, fp)) {
        int image, tile;
        double st;
        char rest[400];
        if (sscanf(line, "%d,%d,%lf,%399[^\n]", &image, &tile, &st, rest) != 4)
            continue;
        int steps[64], n = dolor_sliding_steps(image, tile, st, steps, 64), k = 0, off = 0, v, used;
        while (sscanf(rest + off, "%d%n", &v, &used) == 1) {
            bad += k >= n || steps[k] != v;
            k++;
            off += used;
        }
        bad += k != n;
        rows++;
    }
    if (fp)
        fclose(fp);
    CHECKF(rows == 10 && bad == 0, "%d step rows, %d differ from nnU-Net's", rows, bad);
    int st1[4];
    CHECK(dolor_sliding_steps(5, 8, 0.5, st1, 4) == -1 && dolor_sliding_steps(8, 8, 0.0, st1, 4) == -1);
    /* the blend of synthetic tile logits */
    static double wb[2 * 20 * 13];
    static float ob[2 * 20 * 13];
    snprintf(p, sizeof p, "%s/blend.txt", fix);
    CHECK(read_floats(p, wb, 2 * 20 * 13) == 2 * 20 * 13);
    blend_ctx bc = {8, 6};
    CHECK_OK(dolor_sliding_window(20, 13, 8, 6, 0.5, 2, blend_tile, &bc, ob));
    double worst = 0;
    for (int k = 0; k < 2 * 20 * 13; k++)
        worst = fmax(worst, fabs(ob[k] - wb[k]));
    CHECKF(worst < 1e-5, "blend: worst difference %.3g from NumPy", worst);
    CHECK_ERR(dolor_sliding_window(5, 13, 8, 6, 0.5, 2, blend_tile, &bc, ob), DOLOR_EINVAL, "tile 6x8");
    test_sliding3d();
}


/* ---- 3D prediction keeps the input's affine (issue 12): raw NIfTI-1 headers compared as ITK-SNAP reads them ---- */

/* The voxel-to-RAS affine of a NIfTI-1 header (348 bytes): the sform when sform_code > 0 (want_q 0), else or
 * with want_q the qform from its quaternion (NIfTI-1 standard, nifti1.h method 2). Returns 0 if neither. */
static int nifti_affine(const unsigned char *h, int want_q, double A[3][4])
{
    short qc, sc;
    float f[4];
    memcpy(&qc, h + 252, 2);
    memcpy(&sc, h + 254, 2);
    if (sc > 0 && !want_q) {
        for (int r = 0; r < 3; r++) {
            memcpy(f, h + 280 + 16 * r, 16);
            for (int c = 0; c < 4; c++)
                A[r][c] = f[c];
        }
        return 1;
    }
    if (qc <= 0)
        return 0;
    float q[6], pd[8];
    memcpy(q, h + 256, 24);
    memcpy(pd, h + 76, 32);
    double b = q[0], c = q[1], d = q[2], a = 1.0 - (b * b + c * c + d * d);
    a = a > 0 ? sqrt(a) : 0;
    double R[3][3] = {{a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)},
                      {2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)},
                      {2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b}};
    double sp[3] = {pd[1], pd[2], (pd[0] < 0 ? -1.0 : 1.0) * pd[3]};
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < 3; k++)
            A[r][k] = R[r][k] * sp[k];
        A[r][3] = q[3 + r];
    }
    return 1;
}

static int read_header(const char *path, unsigned char h[348])
{
    FILE *f = fopen(path, "rb");
    int ok = f && fread(h, 1, 348, f) == 348;
    if (f)
        fclose(f);
    return ok;
}

static void test_volume_affine(void)
{
    const char *in = DOLOR_TEST_FIXTURES "/plan/oblique_qform.nii";
    dolor_image *img = NULL;
    CHECK_OK(dolor_image_read(in, &img));
    dolor_net *net = NULL;
    CHECK_OK(dolor_arch_build("unet", "{\"in_channels\": 1, \"num_classes\": 3, \"base_channels\": 2, \"depth\": 1, "
                                      "\"spatial_dims\": 3}", &net));
    if (!img || !net) {
        dolor_image_free(img);
        dolor_net_free(net);
        return;
    }
    CHECK_OK(dolor_net_init(net, 7));
    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.in_channels = 1;
    meta.num_classes = 3;
    for (int k = 0; k < 3; k++)
        meta.label_values[k] = k;
    meta.width = 8; /* a patch smaller than the volume along x and y, larger along z (padded) */
    meta.height = 8;
    meta.depth = 8;
    snprintf(meta.task, sizeof meta.task, "segmentation");
    /* at the image's own spacing, then at another (resampled there and back) */
    const char *plans[2] = {"{\"plan\": {\"target_spacing_mm_xyz\": [0.9, 1.1, 3.3], \"normalization\": [{\"scheme\": "
                            "\"zscore\"}]}}",
                            "{\"plan\": {\"target_spacing_mm_xyz\": [0.6, 0.8, 2.0], \"normalization\": [{\"scheme\": "
                            "\"zscore\"}]}}"};
    unsigned char hi[348], ho[348];
    CHECK(read_header(in, hi));
    double Ai[3][4], Aq[3][4], Ao[3][4], Aoq[3][4];
    short sci;
    memcpy(&sci, hi + 254, 2);
    CHECK(sci == 0 && nifti_affine(hi, 0, Ai) && nifti_affine(hi, 1, Aq)); /* the fixture has a qform only */
    for (int p = 0; p < 2; p++) {
        snprintf(meta.train_json, sizeof meta.train_json, "%s", plans[p]);
        dolor_image *cls = NULL;
        CHECK_OK(dolor_segment_volume(net, &meta, img, 0.5, &cls));
        if (!cls)
            continue;
        CHECK(cls->size[0] == 12 && cls->size[1] == 10 && cls->size[2] == 6 && cls->dtype == DOLOR_U8);
        int inrange = 1;
        for (size_t i = 0; i < dolor_image_nvox(cls); i++)
            inrange &= ((uint8_t *)cls->data)[i] < 3;
        CHECK(inrange);
        char out[600];
        snprintf(out, sizeof out, "%s/affine_%d.nii", tmpdir, p);
        CHECK_OK(dolor_image_write(out, cls));
        CHECK(read_header(out, ho));
        short sco, qco;
        memcpy(&qco, ho + 252, 2);
        memcpy(&sco, ho + 254, 2);
        CHECK(qco > 0 && sco > 0 && nifti_affine(ho, 0, Ao) && nifti_affine(ho, 1, Aoq));
        double worst = 0, worstq = 0;
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++) {
                worst = fmax(worst, fabs(Ao[r][c] - Ai[r][c]));   /* what ITK-SNAP uses: sform, else qform */
                worstq = fmax(worstq, fabs(Aoq[r][c] - Aq[r][c])); /* and the qform on its own */
            }
        CHECKF(worst < 1e-4 && worstq < 1e-4, "plan %d: output affine differs from the input's by %.3g (sform) and "
               "%.3g (qform)", p, worst, worstq);
        dolor_image_free(cls);
    }
    /* a 2D U-Net or a checkpoint without its plan is refused */
    meta.train_json[0] = 0;
    dolor_image *bad = NULL;
    CHECK_ERR(dolor_segment_volume(net, &meta, img, 0.5, &bad), DOLOR_EFORMAT, "train.plan");
    CHECK_ERR(dolor_segment_volume(net, &meta, img, 1.0, &bad), DOLOR_EINVAL, "overlap 1");
    dolor_net *n2 = NULL;
    CHECK_OK(dolor_arch_build("unet", "{\"depth\": 1, \"base_channels\": 2}", &n2));
    CHECK_ERR(dolor_segment_volume(n2, &meta, img, 0.5, &bad), DOLOR_EUNSUPPORTED, "not a 3D U-Net");
    dolor_net_free(n2);
    dolor_net_free(net);
    dolor_image_free(img);
}

/* dolor_patch_origin: nnU-Net v2's get_bbox rule. Expected bounds from its formulas, worked by hand and in
 * Python (lo = -t // 2, hi = size + t // 2 + t % 2 - patch): the corners drawn over many seeded draws
 * reach exactly those bounds (past the borders); a patch larger than the volume has padding on both sides
 * whenever the volume is under half the patch (margin = the patch) or with nnU-Net's margin 0; a
 * foreground-centred patch holds its voxel at floor(patch / 2), also at the volume's corners. */
static void test_patch_origin(void)
{
    dolor_rng r;
    dolor_rng_seed(&r, 12);
    struct { int64_t size; int p, pad; int64_t lo, hi; int both; } cs[] = {
        {50, 32, -1, -16, 34, 0}, {30, 32, -1, -16, 14, 0}, {20, 20, -1, -10, 10, 0}, {9, 20, -1, -10, -1, 1},
        {9, 20, 0, -6, -5, 1},    {7, 5, -1, -3, 5, 0},     {40, 16, 0, 0, 24, 0},
    };
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        int both = 1, inside = 1; /* both sides padded; the patch overlaps the volume */
        for (int i = 0; i < 4000; i++) {
            int64_t o;
            dolor_patch_origin(&r, 1, &cs[c].size, &cs[c].p, cs[c].pad < 0 ? NULL : &cs[c].pad, NULL, &o);
            mn = o < mn ? o : mn;
            mx = o > mx ? o : mx;
            if (cs[c].both && !(o < 0 && o + cs[c].p > cs[c].size))
                both = 0;
            if (o >= cs[c].size || o + cs[c].p <= 0)
                inside = 0;
        }
        CHECKF(mn == cs[c].lo && mx == cs[c].hi, "case %zu: corners [%lld, %lld], want [%lld, %lld]", c,
               (long long)mn, (long long)mx, (long long)cs[c].lo, (long long)cs[c].hi);
        CHECKF(both, "case %zu: a patch larger than the volume without padding on both sides", c);
        CHECKF(inside, "case %zu: a patch that misses the volume", c);
    }
    /* 3D with pad = the patch (the training default): past the lower and the upper border on every axis */
    int64_t n[3] = {64, 48, 20}, lo3[3] = {INT64_MAX, INT64_MAX, INT64_MAX}, hi3[3] = {INT64_MIN, INT64_MIN, INT64_MIN};
    int P[3] = {32, 32, 20};
    for (int i = 0; i < 4000; i++) {
        int64_t o[3];
        dolor_patch_origin(&r, 3, n, P, NULL, NULL, o);
        for (int a = 0; a < 3; a++) {
            lo3[a] = o[a] < lo3[a] ? o[a] : lo3[a];
            hi3[a] = o[a] > hi3[a] ? o[a] : hi3[a];
        }
    }
    for (int a = 0; a < 3; a++)
        CHECKF(lo3[a] == -P[a] / 2 && hi3[a] + P[a] == n[a] + P[a] / 2, "axis %d: corners [%lld, %lld]", a,
               (long long)lo3[a], (long long)hi3[a]);
    /* foreground-centred: the voxel stays at the patch's centre, wherever it is */
    int64_t fg[5][3] = {{0, 0, 0}, {63, 47, 19}, {5, 40, 10}, {31, 0, 19}, {63, 23, 0}};
    int fgok = 1;
    for (int k = 0; k < 5; k++) {
        int64_t o[3];
        dolor_patch_origin(NULL, 3, n, P, NULL, fg[k], o);
        for (int a = 0; a < 3; a++)
            if (o[a] + P[a] / 2 != fg[k][a] || fg[k][a] < o[a] || fg[k][a] >= o[a] + P[a])
                fgok = 0;
    }
    CHECKF(fgok, "a foreground-centred patch moved off its voxel");
    /* nnU-Net's margin 0 (no augmentation enlargement): clamped from below only, the upper side runs over */
    int64_t sz = 40, c0 = 39, c1 = 2, o0, o1;
    int p16 = 16, pad0 = 0;
    dolor_patch_origin(NULL, 1, &sz, &p16, &pad0, &c0, &o0);
    dolor_patch_origin(NULL, 1, &sz, &p16, &pad0, &c1, &o1);
    CHECKF(o0 == 31 && o1 == 0, "margin 0: corners %lld and %lld, want 31 and 0", (long long)o0, (long long)o1);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_schedule();
    test_patch_origin();
    test_colour_table();
    test_sliding();
    test_volume_affine();
    test_checkpoint();
    test_training_run();
    test_resume_identical();
    test_sgd_run();
    test_converted_weights();
    dolor_test_rm_rf(tmpdir);
    return dolor_test_finish();
}
