/* Classification training: mini-batches from a dolor_cls_dataset, SGD / Adam / AdamW, BCE / CE / focal
 * losses, a schedule with warm-up, per-epoch validation (accuracy, AUC, sensitivity, specificity), log.csv,
 * best/last checkpoints and the best epoch's validation predictions. */
#include "dolor/train.h"
#include "textbuf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *opt_names[] = {"sgd", "adam", "adamw"};
static const char *loss_names[] = {"bce", "ce", "focal"};
_Static_assert(sizeof opt_names / sizeof opt_names[0] == DOLOR_OPT_ADAMW + 1, "one name per optimizer");
_Static_assert(sizeof loss_names / sizeof loss_names[0] == DOLOR_CLS_LOSS_FOCAL + 1, "one name per loss");

dolor_status dolor_optimizer_parse(const char *name, dolor_optimizer_kind *out)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, opt_names[i]) == 0) {
            *out = (dolor_optimizer_kind)i;
            return DOLOR_OK;
        }
    return dolor_error(DOLOR_EINVAL, "optimizer '%s' is not one of sgd, adam, adamw", name ? name : "");
}

const char *dolor_optimizer_name(dolor_optimizer_kind k) { return (unsigned)k < 3 ? opt_names[k] : "unknown"; }

dolor_status dolor_cls_loss_parse(const char *name, dolor_cls_loss *out)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, loss_names[i]) == 0) {
            *out = (dolor_cls_loss)i;
            return DOLOR_OK;
        }
    return dolor_error(DOLOR_EINVAL, "classification loss '%s' is not one of bce, ce, focal", name ? name : "");
}

const char *dolor_cls_loss_name(dolor_cls_loss l) { return (unsigned)l < 3 ? loss_names[l] : "unknown"; }

void dolor_cls_train_config_default(dolor_cls_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->epochs = 20;
    c->batch_size = 4;
    c->optimizer = DOLOR_OPT_SGD;
    c->lr = 1e-3;
    c->momentum = 0.9;
    c->weight_decay = 1e-4;
    c->schedule = DOLOR_LR_STEP;
    c->step_size = 10;
    c->gamma = 0.1;
    c->loss = DOLOR_CLS_LOSS_BCE;
    c->pos_weight = 1;
    c->focal_alpha = 0.25;
    c->focal_gamma = 2;
    c->augment = 1;
    dolor_cls_augment_default(&c->aug);
    c->seed = 42;
}

/* ------------------------------------------------------------------ metrics ---- */

typedef struct scored {
    float s;
    int pos;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return x < y ? -1 : x > y;
}

/* Mann-Whitney AUC of score s (column k of prob) for class k vs the rest; NaN without both groups */
static double auc_ovr(const float *prob, const int *labels, size_t n, int K, int k, scored *w)
{
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        w[i].s = prob[i * (size_t)K + (size_t)k];
        w[i].pos = labels[i] == k;
        np += (size_t)w[i].pos;
    }
    size_t nn = n - np;
    if (np == 0 || nn == 0)
        return NAN;
    qsort(w, n, sizeof *w, cmp_scored);
    /* rank sum of the positives, ties at their mean rank */
    double rsum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && w[j].s == w[i].s)
            j++;
        double rank = 0.5 * (double)(i + 1 + j); /* mean of ranks i+1..j */
        for (size_t t = i; t < j; t++)
            if (w[t].pos)
                rsum += rank;
        i = j;
    }
    return (rsum - 0.5 * (double)np * (double)(np + 1)) / ((double)np * (double)nn);
}

void dolor_cls_metrics_compute(const float *prob, const int *labels, size_t n, int K, dolor_cls_metrics *out)
{
    out->accuracy = out->auc = out->sensitivity = out->specificity = NAN;
    if (n == 0 || K < 2)
        return;
    scored *w = malloc(n * sizeof *w);
    int *pred = malloc(n * sizeof *pred);
    if (!w || !pred) {
        free(w);
        free(pred);
        return;
    }
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = prob + i * (size_t)K;
        int b = 0;
        if (K == 2)
            b = p[1] >= 0.5f;
        else
            for (int k = 1; k < K; k++)
                if (p[k] > p[b])
                    b = k;
        pred[i] = b;
        correct += (size_t)(b == labels[i]);
    }
    out->accuracy = (double)correct / (double)n;
    int first = K == 2 ? 1 : 0;
    double sa = 0, ss = 0, sp = 0;
    int na = 0, ns = 0, nsp = 0;
    for (int k = first; k < K; k++) {
        double a = auc_ovr(prob, labels, n, K, k, w);
        size_t tp = 0, P = 0, tn = 0, N = 0;
        for (size_t i = 0; i < n; i++) {
            if (labels[i] == k) {
                P++;
                tp += (size_t)(pred[i] == k);
            } else {
                N++;
                tn += (size_t)(pred[i] != k);
            }
        }
        if (!isnan(a)) {
            sa += a;
            na++;
        }
        if (P) {
            ss += (double)tp / (double)P;
            ns++;
        }
        if (N) {
            sp += (double)tn / (double)N;
            nsp++;
        }
    }
    out->auc = na ? sa / na : NAN;
    out->sensitivity = ns ? ss / ns : NAN;
    out->specificity = nsp ? sp / nsp : NAN;
    free(w);
    free(pred);
}

/* ---------------------------------------------------------------- training ---- */

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* a view of t with batch extent n (t's memory holds at least n samples) */
static dolor_tensor batch_view(const dolor_tensor *t, int64_t n)
{
    dolor_tensor v = *t;
    v.numel = t->numel / (size_t)t->shape[0] * (size_t)n;
    v.shape[0] = n;
    return v;
}

/* loss of logits [b, Kout] against labels; adds weight * gradient into d when d != NULL */
static dolor_status cls_loss(const dolor_cls_train_config *cfg, const float *cw, const dolor_tensor *logits,
                             const int *labels, float *targets, float *loss, dolor_tensor *d)
{
    int64_t b = logits->shape[0];
    if (cfg->loss == DOLOR_CLS_LOSS_CE)
        return dolor_loss_cross_entropy_cls(logits, labels, cw, 1.0f, loss, d);
    for (int64_t i = 0; i < b; i++)
        targets[i] = (float)labels[i];
    if (cfg->loss == DOLOR_CLS_LOSS_BCE) {
        float pw = (float)cfg->pos_weight;
        return dolor_loss_bce_logits(logits, targets, &pw, 1.0f, loss, d);
    }
    return dolor_loss_focal(logits, targets, (float)cfg->focal_alpha, (float)cfg->focal_gamma, 1.0f, loss, d);
}

dolor_status dolor_cls_train_run(const dolor_cls_train_config *cfg, dolor_net *net, dolor_adamw *opt,
                                 const dolor_cls_dataset *ds, const size_t *train_idx, size_t n_train,
                                 const size_t *val_idx, size_t n_val, dolor_model_meta *meta, double *best_auc)
{
    const int K = dolor_cls_dataset_num_classes(ds);
    int D, H, W;
    dolor_cls_dataset_size(ds, &D, &H, &W);
    const int dims = dolor_cls_dataset_spatial_dims(ds);
    if (!cfg->out_dir || !cfg->out_dir[0])
        return dolor_error(DOLOR_EINVAL, "classification training: no output folder");
    if (n_train == 0)
        return dolor_error(DOLOR_EINVAL, "classification training: no training cases");
    if (cfg->epochs < 1 || cfg->batch_size < 1 || !(cfg->lr > 0) || !(cfg->weight_decay >= 0) ||
        cfg->warmup_epochs < 0 || cfg->step_size < 1 || !(cfg->gamma > 0))
        return dolor_error(DOLOR_EINVAL,
                           "classification training: epochs %d, batch %d, lr %g, weight decay %g, warm-up %d, step size "
                           "%d, gamma %g (need >= 1, >= 1, > 0, >= 0, >= 0, >= 1, > 0)",
                           cfg->epochs, cfg->batch_size, cfg->lr, cfg->weight_decay, cfg->warmup_epochs,
                           cfg->step_size, cfg->gamma);
    if (K > DOLOR_MAX_CLASSES)
        return dolor_error(DOLOR_EINVAL, "classification training: %d classes (at most %d)", K, DOLOR_MAX_CLASSES);
    if (dolor_net_num_outputs(net) != 1)
        return dolor_error(DOLOR_ESHAPE, "classification training: the net has %d outputs (a classifier has 1)",
                           dolor_net_num_outputs(net));
    int ond = 0, ind = 0;
    int64_t od[5], id[5];
    dolor_net_output_shape(net, 0, &ond, od);
    dolor_net_input_shape(net, 0, &ind, id);
    if (ond != 2)
        return dolor_error(DOLOR_ESHAPE, "classification training: the net's output is %dD (a classifier gives [N, K])",
                           ond);
    if (ind != dims + 2 || id[1] != 1)
        return dolor_error(DOLOR_ESHAPE,
                           "classification training: the net takes %dD input with %lld channels; the dataset gives "
                           "%dD grey %s",
                           ind - 2, (long long)id[1], dims, dims == 3 ? "volumes" : "images");
    const int Kout = (int)od[1];
    if (cfg->loss == DOLOR_CLS_LOSS_CE ? Kout != K : (Kout != 1 || K != 2))
        return dolor_error(DOLOR_EINVAL,
                           "classification training: loss %s with %d logits and %d classes (bce and focal need 1 logit "
                           "and 2 classes, ce one logit per class: --arch-opt num_classes=%d)",
                           dolor_cls_loss_name(cfg->loss), Kout, K, cfg->loss == DOLOR_CLS_LOSS_CE ? K : 1);
    if (!(cfg->pos_weight >= 0) || !(cfg->focal_gamma >= 0) || !(cfg->focal_alpha <= 1))
        return dolor_error(DOLOR_EINVAL, "classification training: pos_weight %g, focal alpha %g, gamma %g",
                           cfg->pos_weight, cfg->focal_alpha, cfg->focal_gamma);

    dolor_status s = dolor_mkdir_p(cfg->out_dir);
    if (s)
        return s;
    char path_log[4096], path_best[4096], path_last[4096], path_pred[4096];
    snprintf(path_log, sizeof path_log, "%s/log.csv", cfg->out_dir);
    snprintf(path_best, sizeof path_best, "%s/best.safetensors", cfg->out_dir);
    snprintf(path_last, sizeof path_last, "%s/last.safetensors", cfg->out_dir);
    snprintf(path_pred, sizeof path_pred, "%s/val_predictions.csv", cfg->out_dir);

    int B = cfg->batch_size;
    if ((size_t)B > n_train)
        B = (int)n_train;
    const int64_t spe = (int64_t)(n_train / (size_t)B);
    const size_t per = (size_t)D * H * W;
    int64_t xs[5] = {B, 1, D, H, W}, x2[4] = {B, 1, H, W}, ls[2] = {B, Kout};
    dolor_tensor *x = NULL, *logits = NULL, *dlogits = NULL;
    float *targets = malloc((size_t)B * sizeof *targets), *prob = malloc((n_val + 1) * (size_t)K * sizeof *prob);
    int *labels = malloc((size_t)B * sizeof *labels), *order = malloc(n_train * sizeof *order);
    int *vlab = malloc((n_val + 1) * sizeof *vlab);
    float cw[DOLOR_MAX_CLASSES];
    dolor_sgd *sgd = NULL;
    dolor_adamw *own = NULL;
    strbuf log = {0};
    double best = best_auc ? *best_auc : -1.0;
    if (isnan(best))
        best = -1.0;
    if (!targets || !prob || !labels || !order || !vlab) {
        s = dolor_error(DOLOR_ENOMEM, "classification training: out of memory");
        goto done;
    }
    if (cfg->class_weights)
        for (int k = 0; k < K; k++)
            cw[k] = cfg->class_weights[k];
    s = dims == 3 ? dolor_tensor_create(&x, 5, xs) : dolor_tensor_create(&x, 4, x2);
    if (!s)
        s = dolor_tensor_create(&logits, 2, ls);
    if (!s)
        s = dolor_tensor_create(&dlogits, 2, ls);
    if (s)
        goto done;
    size_t np = dolor_net_num_params(net);
    if (cfg->optimizer == DOLOR_OPT_SGD)
        s = dolor_sgd_create(np, (float)cfg->momentum, 0, (float)cfg->weight_decay, cfg->nesterov, &sgd);
    else if (!opt || opt->n != np) {
        s = cfg->optimizer == DOLOR_OPT_ADAM
                ? dolor_adam_create(np, 0.9f, 0.999f, 1e-8f, (float)cfg->weight_decay, &own)
                : dolor_adamw_create(np, 0.9f, 0.999f, 1e-8f, (float)cfg->weight_decay, &own);
        opt = own;
    }
    if (s)
        goto done;
    if (sgd)
        opt = NULL; /* an Adam state handed in does not apply */

    const int64_t total = spe * cfg->epochs, warm = spe * cfg->warmup_epochs;
    int64_t step = (int64_t)meta->epoch * spe;
    if (sb_add(&log, "epoch,train_loss,val_loss,accuracy,auc,sensitivity,specificity,lr,seconds\n")) {
        s = dolor_error(DOLOR_ENOMEM, "classification training: out of memory for the log");
        goto done;
    }
    if (meta->epoch > 0) { /* keep the rows of the epochs done */
        FILE *fp = fopen(path_log, "r");
        char line[1024];
        int next = 1;
        if (fp) {
            if (fgets(line, sizeof line, fp))
                while (fgets(line, sizeof line, fp) && next <= meta->epoch)
                    if (atoi(line) == next && strchr(line, '\n') && !sb_add(&log, line))
                        next++;
            fclose(fp);
        }
    }
    fprintf(stderr,
            "training: %zu cases (%zu validation), %d classes, batch %d, %lld steps/epoch, epochs %d..%d, %s lr %.2g, "
            "%s schedule, loss %s\n",
            n_train, n_val, K, B, (long long)spe, meta->epoch + 1, cfg->epochs, dolor_optimizer_name(cfg->optimizer),
            cfg->lr, dolor_lr_schedule_name(cfg->schedule), dolor_cls_loss_name(cfg->loss));
    double t_start = dolor_time_ms();
    for (int epoch = meta->epoch; epoch < cfg->epochs; epoch++) {
        double t0 = dolor_time_ms();
        for (size_t i = 0; i < n_train; i++)
            order[i] = (int)i;
        dolor_rng r;
        dolor_rng_seed(&r, mix64(cfg->seed ^ mix64(0x434C53ULL + (uint64_t)epoch)));
        dolor_rng_shuffle_int(&r, order, n_train);
        char label[64], suffix[96];
        snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, cfg->epochs);
        dolor_progress *bar = cfg->quiet ? NULL : dolor_progress_create(label, spe);
        double loss_sum = 0, lr = cfg->lr;
        for (int64_t b = 0; b < spe; b++) {
            size_t cases[1024];
            size_t *cs = B <= 1024 ? cases : NULL;
            if (!cs) {
                s = dolor_error(DOLOR_EINVAL, "classification training: batch %d (at most 1024)", B);
                break;
            }
            for (int j = 0; j < B; j++) {
                cs[j] = train_idx[order[b * B + j]];
                labels[j] = dolor_cls_dataset_label(ds, cs[j]);
            }
            s = dolor_cls_dataset_batch(ds, cs, B, cfg->augment ? &cfg->aug : NULL, cfg->seed, epoch, x->data);
            const dolor_tensor *ins[1] = {x};
            dolor_tensor *outs[1] = {logits};
            const dolor_tensor *douts[1] = {dlogits};
            if (!s)
                s = dolor_net_run(net, ins, outs, 1);
            float loss = 0;
            memset(dlogits->data, 0, dlogits->numel * sizeof(float));
            if (!s)
                s = cls_loss(cfg, cfg->class_weights ? cw : NULL, logits, labels, targets, &loss, dlogits);
            if (!s)
                s = dolor_net_backward_outputs(net, douts);
            if (!s && !isfinite(loss))
                s = dolor_error(DOLOR_ENUMERIC, "classification training: loss is %g at epoch %d step %lld; lower --lr "
                                                "(now %g)",
                                loss, epoch + 1, (long long)step + 1, cfg->lr);
            if (s)
                break;
            lr = cfg->schedule == DOLOR_LR_STEP
                     ? dolor_lr_at_step(cfg->lr, step, warm, (int64_t)cfg->step_size * spe, cfg->gamma)
                     : dolor_lr_at(cfg->schedule, cfg->lr, step, total, warm);
            float *P = dolor_net_params(net);
            const float *G = dolor_net_grads(net);
            if (sgd)
                dolor_sgd_step(sgd, P, G, (float)lr);
            else if (cfg->optimizer == DOLOR_OPT_ADAM)
                dolor_adam_step(opt, P, G, (float)lr);
            else
                dolor_adamw_step(opt, P, G, (float)lr);
            step++;
            loss_sum += loss;
            snprintf(suffix, sizeof suffix, "loss %.4f lr %.2e", loss_sum / (double)(b + 1), lr);
            dolor_progress_update(bar, b + 1, suffix);
        }
        if (s) {
            dolor_progress_finish(bar, "failed");
            goto done;
        }
        snprintf(suffix, sizeof suffix, "loss %.4f", loss_sum / (double)spe);
        dolor_progress_finish(bar, suffix);

        /* validation, one case at a time in inference mode */
        double vloss = 0;
        dolor_tensor x1 = batch_view(x, 1), l1 = batch_view(logits, 1);
        for (size_t v = 0; v < n_val; v++) {
            size_t c = val_idx[v];
            vlab[v] = dolor_cls_dataset_label(ds, c);
            memcpy(x1.data, dolor_cls_dataset_image(ds, c), per * sizeof(float));
            const dolor_tensor *ins[1] = {&x1};
            dolor_tensor *outs[1] = {&l1};
            s = dolor_net_run(net, ins, outs, 0);
            float loss = 0;
            if (!s)
                s = cls_loss(cfg, cfg->class_weights ? cw : NULL, &l1, &vlab[v], targets, &loss, NULL);
            if (s)
                goto done;
            vloss += loss;
            float *p = prob + v * (size_t)K;
            if (Kout == 1) {
                double z = l1.data[0];
                p[1] = (float)(1.0 / (1.0 + exp(-z)));
                p[0] = 1.0f - p[1];
            } else {
                double mx = l1.data[0], sum = 0;
                for (int k = 1; k < K; k++)
                    mx = l1.data[k] > mx ? l1.data[k] : mx;
                for (int k = 0; k < K; k++)
                    sum += exp(l1.data[k] - mx);
                for (int k = 0; k < K; k++)
                    p[k] = (float)(exp(l1.data[k] - mx) / sum);
            }
        }
        dolor_cls_metrics m;
        dolor_cls_metrics_compute(prob, vlab, n_val, K, &m);
        double score = !isnan(m.auc) ? m.auc : m.accuracy;
        double secs = (dolor_time_ms() - t0) / 1000.0;
        meta->epoch = epoch + 1;
        meta->val_dice = score;
        meta->opt_step = step;
        int improved = n_val && !isnan(score) && score > best;
        char line[512];
        snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%.2f\n", epoch + 1, loss_sum / (double)spe,
                 n_val ? vloss / (double)n_val : NAN, m.accuracy, m.auc, m.sensitivity, m.specificity, lr, secs);
        if (sb_add(&log, line)) {
            s = dolor_error(DOLOR_ENOMEM, "classification training: out of memory for the log");
            goto done;
        }
        s = write_text(path_log, log.buf);
        if (!s && improved) {
            strbuf pr = {0};
            char row[4096];
            snprintf(row, sizeof row, "path,patient,label");
            for (int k = 0; k < K; k++)
                snprintf(row + strlen(row), sizeof row - strlen(row), ",prob_%d", k);
            int bad = sb_add(&pr, row) || sb_add(&pr, "\n");
            for (size_t v = 0; v < n_val && !bad; v++) {
                size_t c = val_idx[v];
                /* paths and patients are quoted as RFC 4180 fields */
                const char *f[2] = {dolor_cls_dataset_path(ds, c), dolor_cls_dataset_patient(ds, c)};
                for (int q = 0; q < 2 && !bad; q++) {
                    size_t o = 0;
                    row[o++] = '"';
                    for (const char *t = f[q]; *t && o < sizeof row - 4; t++) {
                        if (*t == '"')
                            row[o++] = '"';
                        row[o++] = *t;
                    }
                    row[o++] = '"';
                    row[o++] = ',';
                    row[o] = 0;
                    bad = sb_add(&pr, row);
                }
                snprintf(row, sizeof row, "%s", dolor_cls_dataset_class_name(ds, vlab[v]));
                for (int k = 0; k < K; k++)
                    snprintf(row + strlen(row), sizeof row - strlen(row), ",%.6g", prob[v * (size_t)K + (size_t)k]);
                bad = bad || sb_add(&pr, row) || sb_add(&pr, "\n");
            }
            s = bad ? dolor_error(DOLOR_ENOMEM, "classification training: out of memory") : write_text(path_pred, pr.buf);
            free(pr.buf);
            if (!s)
                s = dolor_checkpoint_save(path_best, net, NULL, meta);
        }
        if (!s && !n_val && epoch + 1 == cfg->epochs)
            s = dolor_checkpoint_save(path_best, net, NULL, meta);
        if (!s)
            s = dolor_checkpoint_save(path_last, net, sgd ? NULL : opt, meta);
        if (s)
            goto done;
        if (improved)
            best = score;
        fprintf(stderr,
                "epoch %d/%d  train loss %.4f  val loss %.4f  acc %.3f  AUC %.3f  sens %.3f  spec %.3f  lr %.2e  %.1f s%s\n",
                epoch + 1, cfg->epochs, loss_sum / (double)spe, n_val ? vloss / (double)n_val : NAN, m.accuracy, m.auc,
                m.sensitivity, m.specificity, lr, secs, improved ? "  [best]" : "");
        if (cfg->time_limit_min > 0 && (dolor_time_ms() - t_start) / 60000.0 >= cfg->time_limit_min &&
            epoch + 1 < cfg->epochs) {
            fprintf(stderr, "time limit of %.1f min reached after epoch %d; stopping\n", cfg->time_limit_min, epoch + 1);
            break;
        }
    }
    if (best_auc)
        *best_auc = best;
done:
    dolor_tensor_free(x);
    dolor_tensor_free(logits);
    dolor_tensor_free(dlogits);
    free(targets);
    free(prob);
    free(labels);
    free(order);
    free(vlab);
    dolor_sgd_free(sgd);
    dolor_adamw_free(own);
    free(log.buf);
    return s;
}
