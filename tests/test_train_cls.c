/* train, classification: validation metrics (accuracy, Mann-Whitney AUC with ties, sensitivity,
 * specificity; binary and one-vs-rest macro) on hand-computed cases; optimizer and loss names; short
 * training runs (a 3D ResNet-10 with SGD-Nesterov + BCE, a 2D ResNet-10 with AdamW + weighted CE on 3
 * classes, the step schedule) writing log.csv, val_predictions.csv and checkpoints whose metadata
 * (task, depth, class names of a one-logit classifier) load back; configuration errors. */
#include "check.h"
#include "test_util.h"
#include "dolor/io.h"
#include "dolor/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];

static void test_metrics(void)
{
    dolor_cls_metrics m;
    /* binary, K = 2: P(class 1) in column 1 */
    float p1[4] = {0.1f, 0.4f, 0.35f, 0.8f}, pb[8];
    int y1[4] = {0, 0, 1, 1};
    for (int i = 0; i < 4; i++) {
        pb[2 * i] = 1 - p1[i];
        pb[2 * i + 1] = p1[i];
    }
    dolor_cls_metrics_compute(pb, y1, 4, 2, &m);
    CHECK_NEAR(m.auc, 0.75, 1e-12);
    CHECK_NEAR(m.accuracy, 0.75, 1e-12); /* predictions 0 0 0 1 */
    CHECK_NEAR(m.sensitivity, 0.5, 1e-12);
    CHECK_NEAR(m.specificity, 1.0, 1e-12);
    /* ties count 1/2: positives {0.5, 0.9}, negatives {0.5, 0.2} -> 3.5 / 4 */
    float p2[4] = {0.5f, 0.5f, 0.2f, 0.9f};
    int y2[4] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        pb[2 * i] = 1 - p2[i];
        pb[2 * i + 1] = p2[i];
    }
    dolor_cls_metrics_compute(pb, y2, 4, 2, &m);
    CHECK_NEAR(m.auc, 0.875, 1e-12);
    CHECK_NEAR(m.accuracy, 0.75, 1e-12); /* 0.5 counts as positive */
    CHECK_NEAR(m.sensitivity, 1.0, 1e-12);
    CHECK_NEAR(m.specificity, 0.5, 1e-12);
    /* one class only: AUC and specificity undefined */
    int y3[4] = {1, 1, 1, 1};
    dolor_cls_metrics_compute(pb, y3, 4, 2, &m);
    CHECK(isnan(m.auc) && isnan(m.specificity) && m.sensitivity == 0.75);
    /* 3 classes: argmax 0 1 2 0; AUC 1 for every class; sensitivity (1 + 1/2 + 1) / 3,
     * specificity (2/3 + 1 + 1) / 3 */
    float p4[12] = {0.7f, 0.2f, 0.1f, 0.2f, 0.6f, 0.2f, 0.1f, 0.3f, 0.6f, 0.5f, 0.4f, 0.1f};
    int y4[4] = {0, 1, 2, 1};
    dolor_cls_metrics_compute(p4, y4, 4, 3, &m);
    CHECK_NEAR(m.accuracy, 0.75, 1e-12);
    CHECK_NEAR(m.auc, 1.0, 1e-12);
    CHECK_NEAR(m.sensitivity, 5.0 / 6.0, 1e-12);
    CHECK_NEAR(m.specificity, 8.0 / 9.0, 1e-12);
    dolor_cls_metrics_compute(p4, y4, 0, 3, &m);
    CHECK(isnan(m.accuracy));
}

static void test_names(void)
{
    dolor_optimizer_kind k;
    dolor_cls_loss l;
    CHECK_OK(dolor_optimizer_parse("adamw", &k));
    CHECK(k == DOLOR_OPT_ADAMW && strcmp(dolor_optimizer_name(DOLOR_OPT_SGD), "sgd") == 0);
    CHECK_ERR(dolor_optimizer_parse("rmsprop", &k), DOLOR_EINVAL, "'rmsprop' is not one of sgd, adam, adamw");
    CHECK_OK(dolor_cls_loss_parse("focal", &l));
    CHECK(l == DOLOR_CLS_LOSS_FOCAL && strcmp(dolor_cls_loss_name(DOLOR_CLS_LOSS_CE), "ce") == 0);
    CHECK_ERR(dolor_cls_loss_parse("dice", &l), DOLOR_EINVAL, "'dice' is not one of bce, ce, focal");
}

/* n volumes 12x12x6 (x, y, z): class (i % K) has a bright cube whose size grows with the class */
static void make_volumes(const char *csvname, int n, int K, int dims)
{
    char path[600], csv[8192] = "image,label,patient\n";
    for (int i = 0; i < n; i++) {
        int64_t sz[3] = {12, 12, dims == 3 ? 6 : 1};
        dolor_image *img = NULL;
        CHECK_OK(dims == 3 ? dolor_image_create(&img, DOLOR_F32, 1, 3, sz) : dolor_image_create2d(&img, DOLOR_F32, 1, 12, 12));
        if (!img)
            return;
        float *v = img->data;
        int c = i % K, r = 2 + 2 * c;
        for (int z = 0; z < sz[2]; z++)
            for (int y = 0; y < 12; y++)
                for (int x = 0; x < 12; x++) {
                    double noise = sin(1.7 * (x + 13 * y + 131 * z + 977 * i));
                    int in = abs(x - 6) < r && abs(y - 6) < r;
                    v[(z * 12 + y) * 12 + x] = (float)(in ? 3.0 + noise : noise);
                }
        snprintf(path, sizeof path, "%s/%s_%02d.mha", tmp, csvname, i);
        CHECK_OK(dolor_image_write(path, img));
        dolor_image_free(img);
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%s_%02d.mha,%d,P%d\n", csvname, i, c, i / 2);
    }
    snprintf(path, sizeof path, "%s/%s.csv", tmp, csvname);
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs(csv, fp);
        fclose(fp);
    }
}

static int count_lines(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    int n = 0, c;
    while ((c = fgetc(fp)) != EOF)
        n += c == '\n';
    fclose(fp);
    return n;
}

static void test_train_3d(void)
{
    make_volumes("v3", 16, 2, 3);
    char p[600], out[600];
    snprintf(p, sizeof p, "%s/v3.csv", tmp);
    snprintf(out, sizeof out, "%s/run3d", tmp);
    dolor_cls_config dc;
    dolor_cls_config_default(&dc);
    dc.csv = p;
    dc.spatial_dims = 3;
    dc.depth = 8;
    dc.height = dc.width = 16;
    dolor_cls_dataset *ds = NULL;
    CHECK_OK(dolor_cls_dataset_open(&dc, &ds));
    if (!ds)
        return;
    size_t *tr, *va, ntr, nva;
    CHECK_OK(dolor_cls_dataset_split(ds, 0.25, 1, &tr, &ntr, &va, &nva));
    dolor_net *net = NULL;
    CHECK_OK(dolor_arch_build("resnet", "{\"depth\": 10, \"in_channels\": 1, \"num_classes\": 1, \"spatial_dims\": 3, \"width\": 4}", &net));
    CHECK_OK(dolor_net_init(net, 3));
    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.task, sizeof meta.task, "classification");
    snprintf(meta.arch_name, sizeof meta.arch_name, "resnet");
    dolor_net_config_json(net, meta.arch_config, sizeof meta.arch_config);
    meta.in_channels = 1;
    meta.num_classes = 2;
    snprintf(meta.class_names[0], 64, "low");
    snprintf(meta.class_names[1], 64, "high");
    meta.label_values[1] = 1;
    meta.depth = 8;
    meta.height = meta.width = 16;
    dolor_cls_train_config c;
    dolor_cls_train_config_default(&c);
    c.out_dir = out;
    c.epochs = 3;
    c.batch_size = 4;
    c.nesterov = 1;
    c.lr = 0.01;
    c.step_size = 2;
    c.quiet = 1;
    double best = -1;
    CHECK_OK(dolor_cls_train_run(&c, net, NULL, ds, tr, ntr, va, nva, &meta, &best));
    CHECK(meta.epoch == 3 && best >= 0 && best <= 1);
    snprintf(p, sizeof p, "%s/log.csv", out);
    CHECK(count_lines(p) == 4);
    FILE *fp = fopen(p, "r");
    char line[512] = "";
    if (fp) {
        CHECK(fgets(line, sizeof line, fp) != NULL);
        CHECK(strcmp(line, "epoch,train_loss,val_loss,accuracy,auc,sensitivity,specificity,lr,seconds\n") == 0);
        /* step schedule: lr 0.01 for epochs 1-2, 0.001 in epoch 3 */
        while (fgets(line, sizeof line, fp))
            ;
        fclose(fp);
        CHECK(strstr(line, ",0.001,") != NULL);
    }
    snprintf(p, sizeof p, "%s/val_predictions.csv", out);
    CHECK(count_lines(p) == (int)nva + 1);
    /* best and last load back as a one-logit classifier with two class names */
    dolor_model_meta m2;
    dolor_net *n2 = NULL;
    dolor_adamw *o2 = NULL;
    snprintf(p, sizeof p, "%s/last.safetensors", out);
    CHECK_OK(dolor_checkpoint_load(p, &n2, &o2, &m2));
    CHECK(o2 == NULL); /* SGD: no Adam moments stored */
    CHECK(strcmp(m2.task, "classification") == 0 && m2.num_classes == 2 && m2.depth == 8 && m2.height == 16);
    CHECK(strcmp(m2.class_names[1], "high") == 0 && m2.epoch == 3);
    int nd;
    int64_t od[5];
    CHECK(n2 && dolor_net_output_shape(n2, 0, &nd, od) == DOLOR_OK && nd == 2 && od[1] == 1);
    dolor_net_free(n2);
    snprintf(p, sizeof p, "%s/best.safetensors", out);
    CHECK_OK(dolor_checkpoint_read_meta(p, &m2));
    CHECK_NEAR(m2.val_dice, best, 1e-12);
    /* errors: CE needs one logit per class; the 2D dataset does not fit a 3D net */
    c.loss = DOLOR_CLS_LOSS_CE;
    CHECK_ERR(dolor_cls_train_run(&c, net, NULL, ds, tr, ntr, va, nva, &meta, NULL), DOLOR_EINVAL,
              "loss ce with 1 logits and 2 classes");
    c.loss = DOLOR_CLS_LOSS_BCE;
    c.batch_size = 0;
    CHECK_ERR(dolor_cls_train_run(&c, net, NULL, ds, tr, ntr, va, nva, &meta, NULL), DOLOR_EINVAL, "batch 0");
    c.batch_size = 4;
    CHECK_ERR(dolor_cls_train_run(&c, net, NULL, ds, tr, 0, va, nva, &meta, NULL), DOLOR_EINVAL, "no training cases");
    dolor_net_free(net);
    CHECK_OK(dolor_arch_build("resnet", "{\"depth\": 10, \"in_channels\": 1, \"num_classes\": 1, \"spatial_dims\": 2, \"width\": 4}", &net));
    CHECK_ERR(dolor_cls_train_run(&c, net, NULL, ds, tr, ntr, va, nva, &meta, NULL), DOLOR_ESHAPE, "the dataset gives 3D");
    dolor_net_free(net);
    free(tr);
    free(va);
    dolor_cls_dataset_free(ds);
}

static void test_train_2d_ce(void)
{
    make_volumes("v2", 18, 3, 2);
    char p[600], out[600];
    snprintf(p, sizeof p, "%s/v2.csv", tmp);
    snprintf(out, sizeof out, "%s/run2d", tmp);
    dolor_cls_config dc;
    dolor_cls_config_default(&dc);
    dc.csv = p;
    dc.height = dc.width = 32;
    dolor_cls_dataset *ds = NULL;
    CHECK_OK(dolor_cls_dataset_open(&dc, &ds));
    if (!ds)
        return;
    CHECK(dolor_cls_dataset_num_classes(ds) == 3);
    size_t *tr, *va, ntr, nva;
    CHECK_OK(dolor_cls_dataset_kfold(ds, 3, 1, 2, &tr, &ntr, &va, &nva));
    dolor_net *net = NULL;
    CHECK_OK(dolor_arch_build("resnet", "{\"depth\": 10, \"in_channels\": 1, \"num_classes\": 3, \"width\": 4}", &net));
    CHECK_OK(dolor_net_init(net, 3));
    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.task, sizeof meta.task, "classification");
    dolor_net_config_json(net, meta.arch_config, sizeof meta.arch_config);
    meta.num_classes = 3;
    for (int k = 0; k < 3; k++) {
        snprintf(meta.class_names[k], 64, "%d", k);
        meta.label_values[k] = k;
    }
    meta.height = meta.width = 32;
    dolor_cls_train_config c;
    dolor_cls_train_config_default(&c);
    c.out_dir = out;
    c.epochs = 2;
    c.batch_size = 6;
    c.optimizer = DOLOR_OPT_ADAMW;
    c.lr = 1e-3;
    c.schedule = DOLOR_LR_COSINE;
    c.warmup_epochs = 1;
    c.loss = DOLOR_CLS_LOSS_CE;
    float cw[3] = {1, 2, 0.5f};
    c.class_weights = cw;
    c.quiet = 1;
    CHECK_OK(dolor_cls_train_run(&c, net, NULL, ds, tr, ntr, va, nva, &meta, NULL));
    dolor_model_meta m2;
    dolor_net *n2 = NULL;
    dolor_adamw *o2 = NULL;
    snprintf(p, sizeof p, "%s/last.safetensors", out);
    CHECK_OK(dolor_checkpoint_load(p, &n2, &o2, &m2));
    CHECK(o2 != NULL && o2->step == (int64_t)(ntr / 6) * 2); /* AdamW moments stored */
    CHECK(m2.num_classes == 3 && m2.depth == 0);
    dolor_adamw_free(o2);
    dolor_net_free(n2);
    dolor_net_free(net);
    free(tr);
    free(va);
    dolor_cls_dataset_free(ds);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/dolor_test_train_cls_%d", (int)getpid());
    mkdir(tmp, 0755);
    test_metrics();
    test_names();
    test_train_3d();
    test_train_2d_ce();
    dolor_test_rm_rf(tmp);
    return dolor_test_finish();
}
