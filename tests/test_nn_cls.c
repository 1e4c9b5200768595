/* nn, classification: SGD (momentum, dampening, Nesterov, weight decay) and Adam (coupled L2) against
 * torch.optim step by step; binary cross-entropy with logits (pos_weight), cross-entropy with class
 * weights, sigmoid focal loss against PyTorch (float64 autograd); 5 optimizer steps of SGD-Nesterov
 * and of Adam on a 3D ResNet-10 twin (width 4, input 2x1x32x64x64, BCE) reproducing PyTorch's
 * losses (at 2x1x16x32x32 torch's own float32 run leaves its float64 one: see the generator). Fixtures: tools/gen_cls_fixtures.py -> tests/fixtures/cls/. Tolerances:
 *   losses and gradients: |dolor - torch| <= 1e-5 + 1e-4 |torch| (double sums of float logits);
 *   optimizer steps: 1e-6 + 1e-5 |torch| (float32 both sides, the same operation order);
 *   ResNet steps: 1e-4 relative on each of the 5 losses (float32 network vs the float64 twin). */
#include "check.h"
#include "dolor/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ATOL 1e-5
#define RTOL 1e-4
#include "nn_fx.h"

static int load(fx_file *f, const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "../cls/%s", name);
    return fx_load(f, rel);
}

static const fx_rec *need(const fx_file *f, const char *prefix, const char *key)
{
    char k[96];
    snprintf(k, sizeof k, "%s.%s", prefix, key);
    const fx_rec *r = fx_get(f, k);
    CHECKF(r != NULL, "%s: record %s missing", f->path, k);
    return r;
}

static void test_losses(void)
{
    fx_file f;
    if (!load(&f, "loss.bin"))
        return;
    static const char *cases[] = {"bce", "bce_pw", "ce", "ce_w", "focal", "focal_na"};
    for (int c = 0; c < 6; c++) {
        const char *nm = cases[c];
        const fx_rec *x = need(&f, nm, "x"), *t = need(&f, nm, "t"), *L = need(&f, nm, "loss"), *dx = need(&f, nm, "dx");
        if (!x || !t || !L || !dx)
            continue;
        dolor_tensor *lt = fx_tensor(x), *d = NULL;
        CHECK_OK(dolor_tensor_create(&d, 2, x->shape));
        float loss = NAN, w = 0.75f;
        char what[96];
        if (strncmp(nm, "bce", 3) == 0) {
            const fx_rec *pw = fx_get(&f, "bce_pw.pw");
            CHECK_OK(dolor_loss_bce_logits(lt, F32(t), c == 1 ? F32(pw) : NULL, w, &loss, d));
        } else if (strncmp(nm, "ce", 2) == 0) {
            int lab[16];
            for (size_t i = 0; i < t->numel; i++)
                lab[i] = (int)F32(t)[i];
            CHECK_OK(dolor_loss_cross_entropy_cls(lt, lab, c == 3 ? F32(fx_get(&f, "ce_w.w")) : NULL, w, &loss, d));
        } else {
            const float *par = F32(need(&f, nm, "par"));
            CHECK_OK(dolor_loss_focal(lt, F32(t), par[0], par[1], w, &loss, d));
        }
        snprintf(what, sizeof what, "%s loss", nm);
        cmp_rec(what, &loss, L);
        /* the gradient is added, scaled by weight */
        for (size_t i = 0; i < d->numel; i++)
            d->data[i] /= w;
        snprintf(what, sizeof what, "%s d/dlogits", nm);
        cmp_rec(what, d->data, dx);
        dolor_tensor_free(lt);
        dolor_tensor_free(d);
    }
    /* errors: nothing written */
    const fx_rec *x = fx_get(&f, "ce.x");
    dolor_tensor *lt = fx_tensor(x), *d = NULL, *bad = NULL;
    int64_t s3[3] = {2, 2, 2};
    CHECK_OK(dolor_tensor_create(&d, 2, x->shape));
    CHECK_OK(dolor_tensor_create(&bad, 3, s3));
    int lab[7] = {0, 1, 2, 3, 4, 0, 0};
    float loss = -1, tg[28] = {0};
    CHECK_ERR(dolor_loss_cross_entropy_cls(lt, lab, NULL, 1, &loss, d), DOLOR_EINVAL, "label 4 at index 4");
    CHECK(loss == -1 && d->data[0] == 0);
    lab[4] = 0;
    float zw[4] = {0, 1, 1, 1};
    CHECK_ERR(dolor_loss_cross_entropy_cls(lt, (int[7]){0, 0, 0, 0, 0, 0, 0}, zw, 1, &loss, d), DOLOR_EINVAL, "sum to 0");
    float nw[4] = {1, -1, 1, 1};
    CHECK_ERR(dolor_loss_cross_entropy_cls(lt, lab, nw, 1, &loss, d), DOLOR_EINVAL, "class weight -1 of class 1");
    tg[5] = 1.5f;
    CHECK_ERR(dolor_loss_bce_logits(lt, tg, NULL, 1, &loss, d), DOLOR_EINVAL, "target 1.5 at index 5");
    tg[5] = NAN;
    CHECK_ERR(dolor_loss_focal(lt, tg, 0.25f, 2, 1, &loss, d), DOLOR_EINVAL, "at index 5");
    tg[5] = 0;
    CHECK_ERR(dolor_loss_focal(lt, tg, 0.25f, -1, 1, &loss, d), DOLOR_EINVAL, "gamma -1");
    CHECK_ERR(dolor_loss_bce_logits(bad, tg, NULL, 1, &loss, NULL), DOLOR_ESHAPE, "[N, K] (ndim is 3)");
    CHECK_ERR(dolor_loss_bce_logits(lt, tg, NULL, 1, &loss, bad), DOLOR_ESHAPE, "dlogits must be [7, 4]");
    CHECK(loss == -1);
    /* a confident, correct logit: a finite, tiny loss (no overflow in softplus) */
    lt->data[0] = 200.f;
    tg[0] = 1.f;
    dolor_tensor one = {.ndim = 2, .shape = {1, 1}, .numel = 1, .data = lt->data};
    CHECK_OK(dolor_loss_bce_logits(&one, tg, NULL, 1, &loss, NULL));
    CHECK(isfinite(loss) && loss < 1e-30f);
    lt->data[0] = -200.f;
    CHECK_OK(dolor_loss_focal(&one, tg, 0.25f, 2, 1, &loss, NULL));
    CHECK_NEAR(loss, 0.25 * 200.0, 1e-3);
    dolor_tensor_free(lt);
    dolor_tensor_free(d);
    dolor_tensor_free(bad);
    fx_free(&f);
}

static void test_optim(void)
{
    fx_file f;
    if (!load(&f, "optim.bin"))
        return;
    static const char *cfgs[] = {"sgd_nesterov", "sgd_damp", "sgd_plain", "adam", "adam_b"};
    const fx_rec *p0 = fx_get(&f, "p0");
    CHECK(p0 != NULL);
    if (!p0) {
        fx_free(&f);
        return;
    }
    size_t n = p0->numel;
    float *p = malloc(n * sizeof *p);
    for (int c = 0; c < 5; c++) {
        const float *par = F32(need(&f, cfgs[c], "par"));
        if (!par)
            continue;
        memcpy(p, p0->data, n * sizeof *p);
        dolor_sgd *sgd = NULL;
        dolor_adamw *adam = NULL;
        if (c < 3)
            CHECK_OK(dolor_sgd_create(n, par[1], par[2], par[3], par[4] != 0, &sgd));
        else
            CHECK_OK(dolor_adam_create(n, par[1], par[2], par[3], par[4], &adam));
        if (!sgd && !adam)
            continue;
        for (int s = 0; s < 4; s++) {
            char key[16], what[96];
            snprintf(key, sizeof key, "g%d", s);
            const float *g = F32(fx_get(&f, key));
            if (sgd)
                dolor_sgd_step(sgd, p, g, par[0]);
            else
                dolor_adam_step(adam, p, g, par[0]);
            snprintf(key, sizeof key, "p%d", s);
            snprintf(what, sizeof what, "%s, parameters after step %d", cfgs[c], s + 1);
            const fx_rec *r = need(&f, cfgs[c], key);
            int bad = 0;
            size_t wi = 0;
            for (size_t i = 0; r && i < n; i++)
                if (!(fabs((double)p[i] - F32(r)[i]) <= 1e-6 + 1e-5 * fabs((double)F32(r)[i])) && !bad++)
                    wi = i;
            CHECKF(r && bad == 0, "%s: %d of %zu off; first at %zu: dolor %.9g, torch %.9g", what, bad, n, wi, p[wi],
                   r ? F32(r)[wi] : 0.f);
        }
        dolor_sgd_free(sgd);
        dolor_adamw_free(adam);
    }
    free(p);
    dolor_sgd *s = NULL;
    CHECK_ERR(dolor_sgd_create(10, 0, 0, 0, 1, &s), DOLOR_EINVAL, "Nesterov momentum requires");
    CHECK_ERR(dolor_sgd_create(10, 0.9f, 0.1f, 0, 1, &s), DOLOR_EINVAL, "zero dampening");
    CHECK_ERR(dolor_sgd_create(10, -0.5f, 0, 0, 0, &s), DOLOR_EINVAL, "momentum -0.5");
    CHECK_ERR(dolor_sgd_create(0, 0.9f, 0, 0, 0, &s), DOLOR_EINVAL, "n is 0");
    CHECK(s == NULL);
    CHECK_OK(dolor_sgd_create(10, 0, 0, 0, 0, &s));
    CHECK(s && s->buf == NULL); /* plain SGD keeps no state */
    dolor_sgd_free(s);
    dolor_sgd_free(NULL);
    fx_free(&f);
}

static void test_resnet_steps(void)
{
    fx_file f;
    if (!load(&f, "resnet_steps.bin"))
        return;
    for (int which = 0; which < 2; which++) {
        const fx_rec *ref = fx_get(&f, which ? "adam.loss" : "sgd.loss");
        CHECK(ref && ref->numel == 5);
        dolor_net *g = NULL;
        CHECK_OK(dolor_arch_build("resnet", "{\"depth\": 10, \"in_channels\": 1, \"num_classes\": 1, \"spatial_dims\": 3, \"width\": 4}", &g));
        if (!g || !ref)
            break;
        fx_det_fill(g);
        size_t np = dolor_net_num_params(g);
        dolor_sgd *sgd = NULL;
        dolor_adamw *adam = NULL;
        if (which)
            CHECK_OK(dolor_adam_create(np, 0.9f, 0.999f, 1e-8f, 1e-4f, &adam));
        else
            CHECK_OK(dolor_sgd_create(np, 0.9f, 0, 1e-3f, 1, &sgd));
        int64_t xs[5] = {2, 1, 32, 64, 64}, ys[2] = {2, 1};
        dolor_tensor *x = NULL, *y = NULL, *dy = NULL;
        CHECK_OK(dolor_tensor_create(&x, 5, xs));
        CHECK_OK(dolor_tensor_create(&y, 2, ys));
        CHECK_OK(dolor_tensor_create(&dy, 2, ys));
        for (size_t k = 0; k < x->numel; k++)
            x->data[k] = (float)(1.5 * sin(0.01 * (double)k) + 0.5 * sin(1.37 * (double)k + 0.2));
        const float tgt[2] = {1, 0};
        float losses[5] = {0};
        const dolor_tensor *ins[1] = {x};
        dolor_tensor *outs[1] = {y};
        const dolor_tensor *douts[1] = {dy};
        for (int s = 0; s < 5; s++) {
            CHECK_OK(dolor_net_run(g, ins, outs, 1));
            memset(dy->data, 0, dy->numel * sizeof(float));
            CHECK_OK(dolor_loss_bce_logits(y, tgt, NULL, 1, &losses[s], dy));
            CHECK_OK(dolor_net_backward_outputs(g, douts));
            if (sgd)
                dolor_sgd_step(sgd, dolor_net_params(g), dolor_net_grads(g), 0.01f);
            else
                dolor_adam_step(adam, dolor_net_params(g), dolor_net_grads(g), 1e-3f);
        }
        for (int s = 0; s < 5; s++) {
            double rel = fabs(losses[s] - F32(ref)[s]) / fabs(F32(ref)[s]);
            if (getenv("DOLOR_NN_VERBOSE"))
                fprintf(stderr, "%s step %d: dolor %.7f torch %.7f rel %.2g\n", which ? "adam" : "sgd", s + 1, losses[s],
                        F32(ref)[s], rel);
            CHECKF(rel <= 1e-4, "3D ResNet-10 %s: loss before step %d is %.7f, torch %.7f (relative %.3g)",
                   which ? "Adam" : "SGD-Nesterov", s + 1, losses[s], F32(ref)[s], rel);
        }
        dolor_tensor_free(x);
        dolor_tensor_free(y);
        dolor_tensor_free(dy);
        dolor_sgd_free(sgd);
        dolor_adamw_free(adam);
        dolor_net_free(g);
    }
    fx_free(&f);
}

int main(void)
{
    test_losses();
    test_optim();
    test_resnet_steps();
    return dolor_test_finish();
}
