/* nn: every layer (forward and backward), the losses, the whole U-Net and 5 AdamW steps against
 * PyTorch 1.13 fixtures (tools/gen_nn_fixtures.py, float64 references stored as float32).
 *
 * Tolerance for every tensor comparison: |dolor - torch| <= 1e-4 + 1e-3 * |torch|, element-wise;
 * a failure prints the worst element (index and both values). */
#include "check.h"
#include "dolor/nn.h"
#include "nn/nn_internal.h"

#include <omp.h>
#include <stdint.h>

#define ATOL 1e-4
#define RTOL 1e-3

#include "nn_fx.h"

/* copy a fixture record into a named parameter of a layer graph */
static void set_tensor(dolor_net *g, const char *name, const fx_rec *r)
{
    for (int i = 0; i < dolor_net_num_tensors(g); i++) {
        dolor_net_tensor t;
        dolor_net_tensor_at(g, i, &t);
        if (strcmp(t.name, name) == 0) {
            CHECKF(r && r->numel == t.numel, "%s: fixture has %zu elements, net %zu", name, r ? r->numel : 0,
                   t.numel);
            if (r && r->numel == t.numel)
                memcpy((t.is_buffer ? g->buffers : g->params) + t.offset, r->data, t.numel * sizeof(float));
            return;
        }
    }
    CHECKF(0, "tensor %s not in the graph", name);
}

static const float *get_tensor(dolor_net *g, const char *name, int grad)
{
    for (int i = 0; i < dolor_net_num_tensors(g); i++) {
        dolor_net_tensor t;
        dolor_net_tensor_at(g, i, &t);
        if (strcmp(t.name, name) == 0)
            return (t.is_buffer ? g->buffers : grad ? g->grads : g->params) + t.offset;
    }
    return NULL;
}

/* ---------------------------------------------------------------- layers ---- */

/* Run a one-op graph (built by the caller) forward (training) and backward on the fixture case
 * and compare y and dx; returns the graph for parameter-gradient checks. */
static void run_layer(dolor_net *g, const char *tag, const fx_rec *x, const fx_rec *y, const fx_rec *dy,
                      const fx_rec *dx, int training)
{
    dolor_tensor *tx = fx_tensor(x), *ty = fx_tensor(y), *tdy = dy ? fx_tensor(dy) : NULL;
    CHECK(tx && ty && (tdy || !dy));
    if (!tx || !ty || (dy && !tdy))
        goto out;
    memset(ty->data, 0, ty->numel * sizeof(float));
    const dolor_tensor *in[1] = {tx};
    char what[128];
    CHECK_OK(nn_graph_forward(g, in, ty, training));
    snprintf(what, sizeof what, "%s forward", tag);
    cmp_rec(what, ty->data, y);
    if (training && dx) {
        CHECK_OK(nn_graph_backward(g, tdy));
        snprintf(what, sizeof what, "%s d/dx", tag);
        cmp_rec(what, nn_graph_input_grad(g, 0), dx);
    }
out:
    dolor_tensor_free(tx);
    dolor_tensor_free(ty);
    dolor_tensor_free(tdy);
}

static void test_conv(int deconv)
{
    fx_file f;
    if (!fx_load(&f, deconv ? "deconv.bin" : "conv.bin"))
        return;
    int count = (int)F32(fx_get(&f, "count"))[0];
    for (int c = 0; c < count; c++) {
        const float *cfg = F32(fx_getc(&f, c, "cfg"));
        int cin = (int)cfg[0], cout = (int)cfg[1];
        int k = deconv ? 2 : (int)cfg[2], pad = deconv ? 0 : (int)cfg[3], bias = (int)cfg[deconv ? 2 : 4];
        dolor_net *g;
        CHECK_OK(nn_graph_create(&g));
        g->need_input_grad = 1;
        int v = nn_add_input(g, cin);
        v = deconv ? nn_add_deconv(g, "m", v, cout, bias) : nn_add_conv(g, "m", v, cout, k, pad, bias);
        CHECK_OK(nn_graph_finalize(g, v));
        set_tensor(g, "m.weight", fx_getc(&f, c, "w"));
        if (bias)
            set_tensor(g, "m.bias", fx_getc(&f, c, "b"));
        char tag[64];
        snprintf(tag, sizeof tag, "%s case %d (cin %d cout %d k %d bias %d)", deconv ? "deconv" : "conv", c, cin, cout,
                 k, bias);
        run_layer(g, tag, fx_getc(&f, c, "x"), fx_getc(&f, c, "y"), fx_getc(&f, c, "dy"), fx_getc(&f, c, "dx"), 1);
        char what[128];
        snprintf(what, sizeof what, "%s d/dweight", tag);
        cmp_rec(what, get_tensor(g, "m.weight", 1), fx_getc(&f, c, "dw"));
        if (bias) {
            snprintf(what, sizeof what, "%s d/dbias", tag);
            cmp_rec(what, get_tensor(g, "m.bias", 1), fx_getc(&f, c, "db"));
        }
        /* inference plan gives the same output */
        run_layer(g, tag, fx_getc(&f, c, "x"), fx_getc(&f, c, "y"), NULL, NULL, 0);
        dolor_net_free(g);
    }
    fx_free(&f);
}

static void test_bn(void)
{
    fx_file f;
    if (!fx_load(&f, "bn.bin"))
        return;
    int count = (int)F32(fx_get(&f, "count"))[0];
    for (int c = 0; c < count; c++) {
        const float *cfg = F32(fx_getc(&f, c, "cfg"));
        int C = (int)cfg[0], relu = (int)cfg[1];
        dolor_net *g;
        CHECK_OK(nn_graph_create(&g));
        g->need_input_grad = 1;
        int v = nn_add_bn(g, "bn", nn_add_input(g, C), relu);
        CHECK_OK(nn_graph_finalize(g, v));
        set_tensor(g, "bn.weight", fx_getc(&f, c, "w"));
        set_tensor(g, "bn.bias", fx_getc(&f, c, "b"));
        set_tensor(g, "bn.running_mean", fx_getc(&f, c, "rm0"));
        set_tensor(g, "bn.running_var", fx_getc(&f, c, "rv0"));
        char tag[64], what[128];
        snprintf(tag, sizeof tag, "batchnorm%s case %d (C %d)", relu ? "+relu" : "", c, C);
        run_layer(g, tag, fx_getc(&f, c, "x"), fx_getc(&f, c, "y"), fx_getc(&f, c, "dy"), fx_getc(&f, c, "dx"), 1);
        snprintf(what, sizeof what, "%s d/dweight", tag);
        cmp_rec(what, get_tensor(g, "bn.weight", 1), fx_getc(&f, c, "dw"));
        snprintf(what, sizeof what, "%s d/dbias", tag);
        cmp_rec(what, get_tensor(g, "bn.bias", 1), fx_getc(&f, c, "db"));
        snprintf(what, sizeof what, "%s running_mean", tag);
        cmp_rec(what, get_tensor(g, "bn.running_mean", 0), fx_getc(&f, c, "rm1"));
        snprintf(what, sizeof what, "%s running_var", tag);
        cmp_rec(what, get_tensor(g, "bn.running_var", 0), fx_getc(&f, c, "rv1"));
        snprintf(tag, sizeof tag, "batchnorm%s eval case %d (C %d)", relu ? "+relu" : "", c, C);
        run_layer(g, tag, fx_getc(&f, c, "x"), fx_getc(&f, c, "y_eval"), NULL, NULL, 0);
        dolor_net_free(g);
    }
    fx_free(&f);
}

static void test_simple(nn_op_kind kind, const char *file)
{
    fx_file f;
    if (!fx_load(&f, file))
        return;
    int count = (int)F32(fx_get(&f, "count"))[0];
    for (int c = 0; c < count; c++) {
        const fx_rec *x = fx_getc(&f, c, "x");
        if (!x)
            continue;
        dolor_net *g;
        CHECK_OK(nn_graph_create(&g));
        g->need_input_grad = 1;
        int v = nn_add_input(g, (int)x->shape[1]);
        v = kind == NN_OP_RELU ? nn_add_relu(g, v) : kind == NN_OP_MAXPOOL ? nn_add_pool(g, v) : nn_add_upsample(g, v);
        CHECK_OK(nn_graph_finalize(g, v));
        char tag[64];
        snprintf(tag, sizeof tag, "%s case %d", file, c);
        run_layer(g, tag, x, fx_getc(&f, c, "y"), fx_getc(&f, c, "dy"), fx_getc(&f, c, "dx"), 1);
        run_layer(g, tag, x, fx_getc(&f, c, "y"), NULL, NULL, 0);
        dolor_net_free(g);
    }
    fx_free(&f);
}

static void test_concat(void)
{
    fx_file f;
    if (!fx_load(&f, "concat.bin"))
        return;
    int count = (int)F32(fx_get(&f, "count"))[0];
    for (int c = 0; c < count; c++) {
        dolor_tensor *a = fx_tensor(fx_getc(&f, c, "a")), *b = fx_tensor(fx_getc(&f, c, "b"));
        dolor_tensor *y = fx_tensor(fx_getc(&f, c, "y")), *dy = fx_tensor(fx_getc(&f, c, "dy"));
        CHECK(a && b && y && dy);
        if (a && b && y && dy) {
            dolor_net *g;
            CHECK_OK(nn_graph_create(&g));
            g->need_input_grad = 1;
            int va = nn_add_input(g, (int)a->shape[1]), vb = nn_add_input(g, (int)b->shape[1]);
            CHECK_OK(nn_graph_finalize(g, nn_add_concat(g, va, vb)));
            const dolor_tensor *in[2] = {a, b};
            memset(y->data, 0, y->numel * sizeof(float));
            char what[64];
            CHECK_OK(nn_graph_forward(g, in, y, 1));
            snprintf(what, sizeof what, "concat case %d forward", c);
            cmp_rec(what, y->data, fx_getc(&f, c, "y"));
            CHECK_OK(nn_graph_backward(g, dy));
            snprintf(what, sizeof what, "concat case %d d/da", c);
            cmp_rec(what, nn_graph_input_grad(g, 0), fx_getc(&f, c, "da"));
            snprintf(what, sizeof what, "concat case %d d/db", c);
            cmp_rec(what, nn_graph_input_grad(g, 1), fx_getc(&f, c, "db"));
            dolor_net_free(g);
        }
        dolor_tensor_free(a);
        dolor_tensor_free(b);
        dolor_tensor_free(y);
        dolor_tensor_free(dy);
    }
    fx_free(&f);
}

static void test_losses(void)
{
    fx_file f;
    if (!fx_load(&f, "loss.bin"))
        return;
    int count = (int)F32(fx_get(&f, "count"))[0];
    for (int c = 0; c < count; c++) {
        dolor_tensor *z = fx_tensor(fx_getc(&f, c, "logits"));
        const fx_rec *lr = fx_getc(&f, c, "labels");
        if (!z || !lr) {
            CHECK(0);
            dolor_tensor_free(z);
            continue;
        }
        const uint8_t *lab = lr->data;
        dolor_tensor *d = NULL;
        CHECK_OK(dolor_tensor_create(&d, 4, z->shape));
        float loss = 0;
        char what[64];
        /* weight 0.5 twice = weight 1 (checks that the gradient is added, not stored) */
        CHECK_OK(dolor_loss_cross_entropy(z, lab, 0.5f, &loss, d));
        CHECK_OK(dolor_loss_cross_entropy(z, lab, 0.5f, &loss, d));
        snprintf(what, sizeof what, "cross-entropy case %d", c);
        cmp_rec(what, &loss, fx_getc(&f, c, "ce"));
        snprintf(what, sizeof what, "cross-entropy case %d gradient", c);
        cmp_rec(what, d->data, fx_getc(&f, c, "dce"));
        for (int bg = 0; bg <= 1; bg++) {
            char key[16];
            memset(d->data, 0, d->numel * sizeof(float));
            CHECK_OK(dolor_loss_soft_dice(z, lab, bg, bg ? 1e-5f : 1.0f, 1.0f, &loss, d));
            snprintf(key, sizeof key, "dice%d", bg);
            snprintf(what, sizeof what, "soft Dice bg %d case %d", bg, c);
            cmp_rec(what, &loss, fx_getc(&f, c, key));
            snprintf(key, sizeof key, "ddice%d", bg);
            snprintf(what, sizeof what, "soft Dice bg %d case %d gradient", bg, c);
            cmp_rec(what, d->data, fx_getc(&f, c, key));
        }
        /* loss without gradient; bad label */
        float l2 = -1;
        CHECK_OK(dolor_loss_cross_entropy(z, lab, 1.f, &l2, NULL));
        cmp_rec("cross-entropy without gradient", &l2, fx_getc(&f, c, "ce"));
        uint8_t *bad = malloc(lr->numel);
        memcpy(bad, lab, lr->numel);
        bad[lr->numel - 1] = (uint8_t)z->shape[1];
        char needle[32];
        snprintf(needle, sizeof needle, "label %d", (int)z->shape[1]);
        CHECK_ERR(dolor_loss_cross_entropy(z, bad, 1.f, &l2, NULL), DOLOR_EINVAL, needle);
        CHECK_ERR(dolor_loss_soft_dice(z, bad, 1, 1e-5f, 1.f, &l2, NULL), DOLOR_EINVAL, needle);
        free(bad);
        dolor_tensor_free(d);
        dolor_tensor_free(z);
    }
    fx_free(&f);
}

/* ------------------------------------------------------------------ U-Net ---- */

static void test_unet(const char *file)
{
    fx_file f;
    if (!fx_load(&f, file))
        return;
    const float *c = F32(fx_get(&f, "cfg"));
    dolor_unet_config cfg;
    dolor_unet_config_default(&cfg);
    cfg.in_channels = (int)c[0];
    cfg.num_classes = (int)c[1];
    cfg.base_channels = (int)c[2];
    cfg.depth = (int)c[3];
    cfg.upsample = (dolor_upsample)(int)c[4];
    dolor_net *net = NULL;
    CHECK_OK(dolor_unet_create(&cfg, &net));
    if (!net) {
        fx_free(&f);
        return;
    }
    /* names and order match the PyTorch state_dict */
    const fx_rec *names = fx_get(&f, "names");
    char *nm = calloc(names->numel + 1, 1);
    memcpy(nm, names->data, names->numel);
    int i = 0;
    for (char *save, *tok = strtok_r(nm, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save), i++) {
        dolor_net_tensor t;
        CHECK_OK(dolor_net_tensor_at(net, i, &t));
        CHECKF(strcmp(t.name, tok) == 0, "%s: tensor %d is %s, torch has %s", file, i, t.name, tok);
    }
    free(nm);
    CHECK(i == dolor_net_num_tensors(net));
    dolor_net_tensor t;
    CHECK_ERR(dolor_net_tensor_at(net, i, &t), DOLOR_EINVAL, "out of range");
    const fx_rec *p0 = fx_get(&f, "params0"), *b0 = fx_get(&f, "buffers0");
    CHECK(p0->numel == dolor_net_num_params(net));
    CHECK(b0->numel == dolor_net_num_buffers(net));
    memcpy(dolor_net_params(net), p0->data, p0->numel * sizeof(float));
    memcpy(dolor_net_buffers(net), b0->data, b0->numel * sizeof(float));

    dolor_tensor *x = fx_tensor(fx_get(&f, "x")), *logits = NULL, *dl = NULL;
    const uint8_t *lab = fx_get(&f, "labels")->data;
    CHECK_OK(dolor_tensor_create4(&logits, x->shape[0], cfg.num_classes, x->shape[2], x->shape[3]));
    CHECK_OK(dolor_tensor_create4(&dl, x->shape[0], cfg.num_classes, x->shape[2], x->shape[3]));
    dolor_adamw *opt = NULL;
    CHECK_OK(dolor_adamw_create(dolor_net_num_params(net), 0.9f, 0.999f, 1e-8f, 1e-2f, &opt));
    const float *losses = F32(fx_get(&f, "losses"));
    char what[128];
    for (int step = 0; step < 5; step++) {
        CHECK_OK(dolor_net_forward(net, x, logits, 1));
        memset(dl->data, 0, dl->numel * sizeof(float));
        float ce, dice;
        CHECK_OK(dolor_loss_cross_entropy(logits, lab, 1.f, &ce, dl));
        CHECK_OK(dolor_loss_soft_dice(logits, lab, 1, 1e-5f, 1.f, &dice, dl));
        float loss = ce + dice;
        snprintf(what, sizeof what, "%s loss at AdamW step %d", file, step);
        cmp(what, &loss, &losses[step], 1);
        CHECK_OK(dolor_net_backward(net, dl));
        if (step == 0) {
            snprintf(what, sizeof what, "%s logits (training forward)", file);
            cmp_rec(what, logits->data, fx_get(&f, "logits0"));
            snprintf(what, sizeof what, "%s parameter gradients", file);
            cmp_flat(net, what, dolor_net_grads(net), fx_get(&f, "grads0"), 0);
            snprintf(what, sizeof what, "%s running stats after one step", file);
            cmp_flat(net, what, dolor_net_buffers(net), fx_get(&f, "buffers_after0"), 1);
        }
        dolor_adamw_step(opt, dolor_net_params(net), dolor_net_grads(net), 1e-3f);
    }
    snprintf(what, sizeof what, "%s parameters after 5 AdamW steps", file);
    cmp_flat(net, what, dolor_net_params(net), fx_get(&f, "params5"), 0);
    snprintf(what, sizeof what, "%s running stats after 5 steps", file);
    cmp_flat(net, what, dolor_net_buffers(net), fx_get(&f, "buffers5"), 1);
    CHECK_OK(dolor_net_forward(net, x, logits, 0));
    snprintf(what, sizeof what, "%s logits (inference)", file);
    cmp_rec(what, logits->data, fx_get(&f, "logits_eval"));

    /* shape errors */
    dolor_tensor *bad = NULL;
    CHECK_OK(dolor_tensor_create4(&bad, 1, cfg.in_channels, 18, 32));
    CHECK_ERR(dolor_net_forward(net, bad, logits, 0), DOLOR_ESHAPE, "18 x 32");
    dolor_tensor_free(bad);
    CHECK_OK(dolor_tensor_create4(&bad, x->shape[0], cfg.num_classes + 1, x->shape[2], x->shape[3]));
    CHECK_ERR(dolor_net_forward(net, x, bad, 0), DOLOR_ESHAPE, "logits");
    dolor_tensor_free(bad);

    dolor_adamw_free(opt);
    dolor_tensor_free(x);
    dolor_tensor_free(logits);
    dolor_tensor_free(dl);
    dolor_net_free(net);
    fx_free(&f);
}

/* API behaviour on the default U-Net: names, shapes, init, layouts kept blocked, errors. */
static void test_unet_api(void)
{
    dolor_unet_config cfg;
    dolor_unet_config_default(&cfg);
    CHECK(cfg.in_channels == 1 && cfg.num_classes == 2 && cfg.base_channels == 16 && cfg.depth == 4 &&
          cfg.upsample == DOLOR_UP_TRANSPOSED);
    dolor_net *net = NULL;
    dolor_unet_config bad = cfg;
    bad.depth = 0;
    CHECK_ERR(dolor_unet_create(&bad, &net), DOLOR_EINVAL, "depth 0");
    bad = cfg;
    bad.upsample = (dolor_upsample)7;
    CHECK_ERR(dolor_unet_create(&bad, &net), DOLOR_EINVAL, "upsample 7");
    CHECK_OK(dolor_unet_create(&cfg, &net));
    if (!net)
        return;
    CHECK(dolor_net_config(net)->base_channels == 16);
    dolor_net_tensor t;
    CHECK_OK(dolor_net_tensor_at(net, 0, &t));
    CHECK(strcmp(t.name, "enc0.conv1.weight") == 0 && t.ndim == 4 && t.shape[0] == 16 && t.shape[1] == 1 &&
          t.shape[2] == 3 && t.shape[3] == 3 && !t.is_buffer && t.offset == 0 && t.numel == 144);
    CHECK_OK(dolor_net_tensor_at(net, 3, &t));
    CHECK(strcmp(t.name, "enc0.bn1.running_mean") == 0 && t.is_buffer && t.offset == 0 && t.numel == 16);
    int found = 0;
    size_t np = 0, nb = 0;
    for (int i = 0; i < dolor_net_num_tensors(net); i++) {
        CHECK_OK(dolor_net_tensor_at(net, i, &t));
        if (t.is_buffer) {
            CHECK(t.offset == nb);
            nb += t.numel;
        } else {
            CHECK(t.offset == np);
            np += t.numel;
        }
        if (strcmp(t.name, "up3.weight") == 0)
            found = t.shape[0] == 256 && t.shape[1] == 128 && t.shape[2] == 2;
        if (strcmp(t.name, "head.bias") == 0)
            found += t.numel == 2;
    }
    CHECK(found == 2);
    CHECK(np == dolor_net_num_params(net) && nb == dolor_net_num_buffers(net));
    CHECK(np == 1942306); /* sum(p.numel() for p in UNet(1, 2, 16, 4).parameters()) */
    /* init: conv weights in +-1/sqrt(fan_in) with ~uniform spread, BN 1/0, running 0/1 */
    CHECK_OK(dolor_net_init(net, 5));
    for (int i = 0; i < dolor_net_num_tensors(net); i++) {
        CHECK_OK(dolor_net_tensor_at(net, i, &t));
        const float *v = (t.is_buffer ? dolor_net_buffers(net) : dolor_net_params(net)) + t.offset;
        if (strstr(t.name, "conv") && t.ndim == 4) {
            double bound = 1.0 / sqrt((double)(t.shape[1] * t.shape[2] * t.shape[3])), mx = 0, ss = 0;
            for (size_t j = 0; j < t.numel; j++) {
                mx = fmax(mx, fabs(v[j]));
                ss += (double)v[j] * v[j];
            }
            CHECKF(mx <= bound && mx > 0.9 * bound, "%s: max |w| %g, bound %g", t.name, mx, bound);
            if (t.numel > 1000) /* uniform(-b, b) has variance b^2/3 */
                CHECK_NEAR(ss / t.numel, bound * bound / 3, 0.1 * bound * bound / 3);
        }
        if (strstr(t.name, ".running_var") || (strstr(t.name, ".bn") && strstr(t.name, ".weight")))
            for (size_t j = 0; j < t.numel; j++)
                CHECK(v[j] == 1.f);
    }
    dolor_net_free(net);
    /* a smaller net (channels still multiples of 16) for running */
    cfg.depth = 2;
    CHECK_OK(dolor_unet_create(&cfg, &net));
    CHECK_OK(dolor_net_init(net, 5));
    dolor_tensor *x = NULL, *y = NULL, *badt = NULL;
    CHECK_OK(dolor_tensor_create4(&x, 2, 1, 32, 48));
    CHECK_OK(dolor_tensor_create4(&y, 2, 2, 32, 48));
    for (size_t i = 0; i < x->numel; i++)
        x->data[i] = (float)sin(0.37 * (double)i);
    CHECK_ERR(dolor_net_backward(net, y), DOLOR_EINVAL, "training forward");
    CHECK_OK(dolor_net_forward(net, x, y, 1));
    CHECK_OK(dolor_tensor_create4(&badt, 2, 2, 32, 32));
    CHECK_ERR(dolor_net_backward(net, badt), DOLOR_ESHAPE, "[2, 2, 32, 32]");
    CHECK_OK(dolor_net_backward(net, y));
    /* same inputs, same results, bit for bit (grads overwritten, not accumulated) */
    size_t np2 = dolor_net_num_params(net);
    float *g1 = malloc(np2 * sizeof *g1);
    memcpy(g1, dolor_net_grads(net), np2 * sizeof *g1);
    dolor_tensor *y2 = NULL;
    CHECK_OK(dolor_tensor_create4(&y2, 2, 2, 32, 48));
    CHECK_OK(dolor_net_forward(net, x, y2, 1));
    CHECK(memcmp(y->data, y2->data, y->numel * sizeof(float)) == 0);
    CHECK_OK(dolor_net_backward(net, y));
    CHECK(memcmp(g1, dolor_net_grads(net), np2 * sizeof *g1) == 0);
    free(g1);
    /* losses do not depend on the number of threads */
    uint8_t *lab = calloc(y->numel / 2, 1);
    for (size_t i = 0; i < y->numel / 2; i++)
        lab[i] = (uint8_t)(i % 7 == 0);
    float l1, l2, d1, d2;
    omp_set_num_threads(1);
    CHECK_OK(dolor_loss_cross_entropy(y2, lab, 1.f, &l1, NULL));
    CHECK_OK(dolor_loss_soft_dice(y2, lab, 0, 1e-5f, 1.f, &d1, NULL));
    omp_set_num_threads(2);
    CHECK_OK(dolor_loss_cross_entropy(y2, lab, 1.f, &l2, NULL));
    CHECK_OK(dolor_loss_soft_dice(y2, lab, 0, 1e-5f, 1.f, &d2, NULL));
    CHECK(memcmp(&l1, &l2, sizeof l1) == 0 && memcmp(&d1, &d2, sizeof d1) == 0);
    free(lab);
    dolor_tensor_free(y2);
    CHECK_OK(dolor_net_forward(net, x, y, 0));
    /* activations stay in oneDNN's blocked layouts: no reorders between layers */
    CHECK(nn_graph_activation_reorders(net, 1) == 0);
    CHECK(nn_graph_activation_reorders(net, 0) == 0);
    const dnnl_memory_desc_t *md = nn_graph_value_md(net, 1, net->ops[1].out); /* enc0.bn1 output */
    CHECKF(md && md->format_desc.blocking.inner_nblks == 1 && md->format_desc.blocking.inner_blks[0] == 16,
           "training activations are not nChw16c");
    /* a second call with the same shape plans nothing new */
    size_t bytes = nn_graph_plan_bytes(net);
    CHECK_OK(dolor_net_forward(net, x, y, 1));
    CHECK(nn_graph_plan_bytes(net) == bytes);
    dolor_tensor_free(badt);
    dolor_tensor_free(x);
    dolor_tensor_free(y);
    dolor_net_free(net);
    dolor_net_free(NULL);
}

int main(void)
{
    test_unet_api();
    test_unet("unet.bin");
    test_unet("unet_bilinear.bin");
    test_conv(0);
    test_conv(1);
    test_bn();
    test_simple(NN_OP_RELU, "relu.bin");
    test_simple(NN_OP_MAXPOOL, "pool.bin");
    test_simple(NN_OP_UPSAMPLE, "upsample.bin");
    test_concat();
    test_losses();
    return dolor_test_finish();
}
