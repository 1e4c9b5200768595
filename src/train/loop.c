/* The training loop: epochs of AdamW steps, validation, checkpoints, log.csv. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/eval.h"
#include "dolor/train.h"
#include "textbuf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void dolor_train_config_default(dolor_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->epochs = 50;
    c->batch_size = 8;
    c->lr = 1e-3;
    c->weight_decay = 1e-4;
    c->optimizer = DOLOR_OPT_ADAMW;
    c->momentum = 0.99;
    c->nesterov = 1;
    c->schedule = DOLOR_LR_COSINE;
    c->warmup_epochs = 1;
    c->ce_weight = 1.0;
    c->dice_weight = 1.0;
    c->augment = 1;
    dolor_augment_config_default(&c->aug);
    c->seed = 42;
}

/* On resume keep the rows of epochs 1..done from an existing log. log.csv is
 * rewritten whole and renamed each epoch, so dolor never leaves a torn line;
 * a row that is incomplete (no newline at the end of the file: a copy cut
 * short, an editor) or out of sequence is still skipped, and said on stderr. */
static void load_old_log(const char *path, int done, strbuf *log)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return;
    char line[4096];
    int first = 1, next = 1;
    long lineno = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        if (first) {
            first = 0;
            continue; /* header is rewritten */
        }
        size_t n = strlen(line);
        char *end;
        long e = strtol(line, &end, 10);
        if (n == 0 || line[n - 1] != '\n') {
            fprintf(stderr, "%s: line %ld is incomplete (no newline); skipped\n", path, lineno);
            break;
        }
        if (end == line || *end != ',' || e != next) {
            fprintf(stderr, "%s: line %ld is not the row of epoch %d; skipped\n", path, lineno, next);
            continue;
        }
        if (e > done)
            break;
        if (sb_add(log, line) != 0)
            break;
        next++;
    }
    fclose(fp);
}

dolor_status dolor_train_run(const dolor_train_config *cfg, dolor_net *net, dolor_adamw *opt, dolor_dataset *ds,
                             const size_t *train_idx, size_t n_train, const size_t *val_idx, size_t n_val,
                             dolor_model_meta *meta, double *best_dice)
{
    const int H = dolor_dataset_height(ds), W = dolor_dataset_width(ds), K = meta->num_classes;
    const int C = dolor_dataset_channels(ds);
    if (n_train == 0)
        return dolor_error(DOLOR_EINVAL, "train: no training cases");
    {
        int ind = 0;
        int64_t idm[5];
        if (dolor_net_input_shape(net, 0, &ind, idm) == DOLOR_OK && ind == 4 && idm[1] != C)
            return dolor_error(DOLOR_ESHAPE, "train: the model takes %lld input channels but the dataset has %d",
                               (long long)idm[1], C);
    }
    int B = cfg->batch_size < (int)n_train ? cfg->batch_size : (int)n_train;
    /* data-parallel (train.h dolor_train_dist): this rank's share of every batch; rank 0 alone writes files */
    const dolor_train_dist *dist = cfg->dist && cfg->dist->size > 1 ? cfg->dist : NULL;
    const int shard = dist ? B / dist->size : B, first = dist ? dist->rank * shard : 0, writer = !dist || !dist->rank;
    if (dist && B % dist->size)
        return dolor_error(DOLOR_EINVAL, "train: batch %d is not divisible by the %d data-parallel ranks", B,
                           dist->size);
    dolor_status s = dolor_mkdir_p(cfg->out_dir);
    if (s)
        return s;
    dolor_loader *tl = NULL, *vl = NULL;
    dolor_tensor *x = NULL, *logits = NULL, *dlogits = NULL, *x1 = NULL, *logits1 = NULL;
    uint8_t *labels = NULL, *pred = NULL, *label1 = NULL;
    dolor_seg_eval *ev = NULL;
    dolor_adamw *own_opt = NULL;
    dolor_sgd *sgd = NULL;
    strbuf log = {0};
    char path_last[4096], path_best[4096], path_log[4096];
    snprintf(path_last, sizeof path_last, "%s/last.safetensors", cfg->out_dir);
    snprintf(path_best, sizeof path_best, "%s/best.safetensors", cfg->out_dir);
    snprintf(path_log, sizeof path_log, "%s/log.csv", cfg->out_dir);

    if (opt && opt->n != dolor_net_num_params(net))
        return dolor_error(DOLOR_EINVAL, "train: optimizer holds %zu values but the network has %zu parameters", opt->n,
                           dolor_net_num_params(net));
    /* a resumed run continues the same seeded batch/augmentation sequence at its epoch */
    s = dolor_loader_create_at(ds, train_idx, n_train, B, 1, 1, cfg->augment ? &cfg->aug : NULL, cfg->seed,
                               meta->epoch, &tl);
    if (!s && n_val)
        s = dolor_loader_create(ds, val_idx, n_val, 1, 0, 0, NULL, cfg->seed, &vl);
    if (!s)
        s = dolor_tensor_create4(&x, B, C, H, W);
    if (!s)
        s = dolor_tensor_create4(&logits, B, K, H, W);
    if (!s)
        s = dolor_tensor_create4(&dlogits, B, K, H, W);
    if (!s)
        s = dolor_tensor_create4(&x1, 1, C, H, W);
    if (!s)
        s = dolor_tensor_create4(&logits1, 1, K, H, W);
    if (s)
        goto done;
    labels = malloc((size_t)B * H * W);
    pred = malloc((size_t)H * W);
    label1 = malloc((size_t)H * W);
    if (!labels || !pred || !label1) {
        s = dolor_error(DOLOR_ENOMEM, "train: out of memory");
        goto done;
    }
    {
        const char *names[DOLOR_MAX_CLASSES];
        for (int c = 0; c < K; c++)
            names[c] = meta->class_names[c];
        s = dolor_seg_eval_create(K, names, &ev);
        if (s)
            goto done;
    }
    int64_t spe = (int64_t)dolor_loader_batches_per_epoch(tl);
    /* the optimizer: AdamW or Adam continue a state handed in (resume); SGD's momentum buffer is not stored
     * in checkpoints, so a resumed SGD run restarts it from zero at step epoch * steps-per-epoch */
    int64_t step;
    if (cfg->optimizer == DOLOR_OPT_SGD) {
        s = dolor_sgd_create(dolor_net_num_params(net), (float)cfg->momentum, 0, (float)cfg->weight_decay,
                             cfg->nesterov, &sgd);
        if (s)
            goto done;
        opt = NULL;
        step = (int64_t)meta->epoch * spe;
    } else {
        if (!opt) {
            size_t np = dolor_net_num_params(net);
            s = cfg->optimizer == DOLOR_OPT_ADAM
                    ? dolor_adam_create(np, 0.9f, 0.999f, 1e-8f, (float)cfg->weight_decay, &own_opt)
                    : dolor_adamw_create(np, 0.9f, 0.999f, 1e-8f, (float)cfg->weight_decay, &own_opt);
            if (s)
                goto done;
            opt = own_opt;
        }
        step = opt->step;
    }

    int64_t total = spe * cfg->epochs, warm = spe * cfg->warmup_epochs;
    double best = best_dice ? *best_dice : -1.0;
    if (isnan(best))
        best = -1.0;
    /* log header */
    {
        char line[2048] = "epoch,train_loss,val_loss";
        for (int c = 1; c < K; c++)
            snprintf(line + strlen(line), sizeof line - strlen(line), ",dice_%s", meta->class_names[c]);
        snprintf(line + strlen(line), sizeof line - strlen(line), ",mean_dice,lr,seconds\n");
        if (sb_add(&log, line) != 0) {
            s = dolor_error(DOLOR_ENOMEM, "train: out of memory for the log");
            goto done;
        }
        if (meta->epoch > 0)
            load_old_log(path_log, meta->epoch, &log);
    }
    double t_start = dolor_time_ms();
    if (writer) {
        char mom[64] = "";
        if (sgd)
            snprintf(mom, sizeof mom, " (momentum %g%s)", cfg->momentum, cfg->nesterov ? ", Nesterov" : "");
        fprintf(stderr, "training: %zu cases (%zu validation), batch %d, %lld steps/epoch, epochs %d..%d, %s%s, %s lr %.2g\n",
                n_train, n_val, B, (long long)spe, meta->epoch + 1, cfg->epochs, dolor_optimizer_name(cfg->optimizer),
                mom, dolor_lr_schedule_name(cfg->schedule), cfg->lr);
    }
    if (writer && dist)
        fprintf(stderr, "training: data-parallel on %d ranks, %d cases of each batch per rank, gradients averaged\n",
                dist->size, shard);
    for (int epoch = meta->epoch; epoch < cfg->epochs; epoch++) {
        double t0 = dolor_time_ms();
        char label[64], suffix[96];
        snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, cfg->epochs);
        dolor_progress *bar = cfg->quiet || !writer ? NULL : dolor_progress_create(label, spe);
        double loss_sum = 0;
        int64_t nb = 0;
        double lr = cfg->lr;
        for (;;) {
            int count = 0;
            s = dolor_loader_next(tl, x, labels, NULL, &count);
            if (s) {
                dolor_progress_finish(bar, "failed");
                goto done;
            }
            if (count == 0)
                break;
            /* this rank's share of the batch (all of it with one process) */
            dolor_tensor xv = *x, lv = *logits, dv = *dlogits;
            const uint8_t *lab = labels + (size_t)first * H * W;
            xv.shape[0] = lv.shape[0] = dv.shape[0] = shard;
            xv.numel = x->numel / (size_t)B * (size_t)shard;
            lv.numel = dv.numel = logits->numel / (size_t)B * (size_t)shard;
            xv.data = x->data + (size_t)first * (x->numel / (size_t)B);
            lv.data = logits->data + (size_t)first * (logits->numel / (size_t)B);
            dv.data = dlogits->data + (size_t)first * (logits->numel / (size_t)B);
            s = dolor_net_forward(net, &xv, &lv, 1);
            if (s) {
                dolor_progress_finish(bar, "failed");
                goto done;
            }
            memset(dv.data, 0, dv.numel * sizeof(float));
            float ce = 0, dice = 0;
            s = dolor_loss_cross_entropy(&lv, lab, (float)cfg->ce_weight, &ce, &dv);
            if (!s && cfg->dice_weight > 0)
                s = dolor_loss_soft_dice(&lv, lab, 0, 1e-5f, (float)cfg->dice_weight, &dice, &dv);
            if (!s)
                s = dolor_net_backward(net, &dv);
            double loss = cfg->ce_weight * ce + cfg->dice_weight * dice;
            if (!s && dist) {
                /* the mean gradient and loss over the ranks */
                float *g = dolor_net_grads(net);
                size_t ng = dolor_net_num_params(net);
                s = dist->allreduce_sum(dist->ctx, g, ng);
                for (size_t i = 0; !s && i < ng; i++)
                    g[i] /= (float)dist->size;
                if (!s)
                    s = dist->allreduce_sum64(dist->ctx, &loss, 1);
                loss /= dist->size;
            }
            if (s) {
                dolor_progress_finish(bar, "failed");
                goto done;
            }
            if (!isfinite(loss)) {
                dolor_progress_finish(bar, "diverged");
                s = dolor_error(DOLOR_ENUMERIC, "train: loss is %g at epoch %d step %lld; lower --lr (now %g)", loss,
                                epoch + 1, (long long)step, cfg->lr);
                goto done;
            }
            lr = dolor_lr_at(cfg->schedule, cfg->lr, step, total, warm);
            if (sgd)
                dolor_sgd_step(sgd, dolor_net_params(net), dolor_net_grads(net), (float)lr);
            else if (cfg->optimizer == DOLOR_OPT_ADAM)
                dolor_adam_step(opt, dolor_net_params(net), dolor_net_grads(net), (float)lr);
            else
                dolor_adamw_step(opt, dolor_net_params(net), dolor_net_grads(net), (float)lr);
            step++;
            loss_sum += loss;
            nb++;
            snprintf(suffix, sizeof suffix, "loss %.4f lr %.2e", loss_sum / (double)nb, lr);
            dolor_progress_update(bar, nb, suffix);
        }
        snprintf(suffix, sizeof suffix, "loss %.4f", nb ? loss_sum / (double)nb : NAN);
        dolor_progress_finish(bar, suffix);

        /* validation at network size */
        dolor_seg_eval_reset(ev);
        double vloss = 0;
        size_t nv = 0;
        for (; vl;) {
            int count = 0;
            size_t case_i = 0;
            s = dolor_loader_next(vl, x1, label1, &case_i, &count);
            if (s)
                goto done;
            if (count == 0)
                break;
            s = dolor_net_forward(net, x1, logits1, 0);
            if (s)
                goto done;
            float ce = 0, dice = 0;
            s = dolor_loss_cross_entropy(logits1, label1, 1.0f, &ce, NULL);
            if (!s && cfg->dice_weight > 0)
                s = dolor_loss_soft_dice(logits1, label1, 0, 1e-5f, 1.0f, &dice, NULL);
            if (s)
                goto done;
            vloss += cfg->ce_weight * ce + cfg->dice_weight * dice;
            nv++;
            size_t plane = (size_t)H * W;
            for (size_t p = 0; p < plane; p++) {
                int bc = 0;
                float bv = logits1->data[p];
                for (int c = 1; c < K; c++)
                    if (logits1->data[(size_t)c * plane + p] > bv) {
                        bv = logits1->data[(size_t)c * plane + p];
                        bc = c;
                    }
                pred[p] = (uint8_t)bc;
            }
            s = dolor_seg_eval_add(ev, dolor_dataset_stem(ds, case_i), label1, pred, plane);
            if (s)
                goto done;
        }
        double mean = nv ? dolor_seg_eval_mean_fg_dice(ev) : NAN;
        double secs = (dolor_time_ms() - t0) / 1000.0;
        meta->epoch = epoch + 1;
        meta->val_dice = mean;
        meta->opt_step = step;
        int improved = nv && !isnan(mean) && mean > best;
        char line[2048];
        snprintf(line, sizeof line, "%d,%.6f,%.6f", epoch + 1, nb ? loss_sum / (double)nb : NAN,
                 nv ? vloss / (double)nv : NAN);
        char dice_txt[1024] = "";
        for (int c = 1; c < K; c++) {
            double d = dolor_seg_eval_mean_dice(ev, c);
            snprintf(line + strlen(line), sizeof line - strlen(line), ",%.6f", d);
            snprintf(dice_txt + strlen(dice_txt), sizeof dice_txt - strlen(dice_txt), " %s %.3f",
                     meta->class_names[c], d);
        }
        snprintf(line + strlen(line), sizeof line - strlen(line), ",%.6f,%.6g,%.2f\n", mean, lr, secs);
        /* log, then best, then last (each written whole and renamed): a crash
         * between them leaves last.safetensors at the previous epoch, and the
         * resumed run redoes this epoch bit for bit (rows past last's epoch are
         * dropped from the log; a best already saved for it is not improved on) */
        if (sb_add(&log, line) != 0) {
            s = dolor_error(DOLOR_ENOMEM, "train: out of memory for the log");
            goto done;
        }
        if (writer)
            s = write_text(path_log, log.buf);
        if (!s && writer && (improved || (!nv && epoch + 1 == cfg->epochs)))
            s = dolor_checkpoint_save(path_best, net, NULL, meta);
        if (!s && writer)
            s = dolor_checkpoint_save(path_last, net, opt, meta);
        if (s)
            goto done;
        if (improved)
            best = mean;
        if (writer)
            fprintf(stderr, "epoch %d/%d  train loss %.4f  val loss %.4f  Dice%s  mean %.3f  lr %.2e  %.1f s%s\n",
                epoch + 1, cfg->epochs, nb ? loss_sum / (double)nb : NAN, nv ? vloss / (double)nv : NAN, dice_txt,
                mean, lr, secs, improved ? "  [best]" : "");
        int stop = cfg->time_limit_min > 0 && (dolor_time_ms() - t_start) / 60000.0 >= cfg->time_limit_min &&
                   epoch + 1 < cfg->epochs;
        if (dist) { /* every rank stops after the same epoch */
            double any = stop;
            s = dist->allreduce_sum64(dist->ctx, &any, 1);
            if (s)
                goto done;
            stop = any > 0;
        }
        if (stop) {
            fprintf(stderr, "time limit of %.1f min reached after epoch %d; stopping (resume with --resume %s)\n",
                    cfg->time_limit_min, epoch + 1, path_last);
            break;
        }
    }
    if (best_dice)
        *best_dice = best;
done:
    dolor_loader_free(tl);
    dolor_loader_free(vl);
    dolor_tensor_free(x);
    dolor_tensor_free(logits);
    dolor_tensor_free(dlogits);
    dolor_tensor_free(x1);
    dolor_tensor_free(logits1);
    free(labels);
    free(pred);
    free(label1);
    dolor_seg_eval_free(ev);
    dolor_adamw_free(own_opt);
    dolor_sgd_free(sgd);
    free(log.buf);
    return s;
}
