/* Patient-level splits: stratified group k-fold (ml.h) for test folds and for validation inside each training fold. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/ml.h"
#include "dolor/stats.h"
#include "dolor/study.h"
#include "study_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void dolor_study_split_free(dolor_study_split *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->stem ? s->stem[i] : NULL);
        free(s->patient ? s->patient[i] : NULL);
        free(s->stratum ? s->stratum[i] : NULL);
    }
    free(s->stem);
    free(s->patient);
    free(s->stratum);
    free(s->set);
    free(s);
}

/* Stem without a known image extension. */
size_t dolor_study_stem_len(const char *s)
{
    static const char *const ext[] = {".nii.gz", ".png", ".jpg", ".jpeg", ".nii", ".mha", ".mhd", ".dcm"};
    size_t n = strlen(s);
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && !strcasecmp(s + n - e, ext[i]))
            return n - e;
    }
    return n;
}

/* Index of str in a list of n strings, adding it when absent. */
static int intern(char **names, int *n, const char *str)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(names[i], str))
            return i;
    names[*n] = (char *)str;
    return (*n)++;
}

static long gcd(long a, long b)
{
    while (b) {
        long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Read patient and stratum of every case from the CSV. */
static dolor_status read_patients(const dolor_study_config *cfg, dolor_study_split *sp)
{
    dolor_csv *t = NULL;
    dolor_status s = dolor_csv_read(cfg->patients, &t);
    if (s)
        return dolor_error_prefix(s, "dataset.patients");
    int cs = dolor_csv_column(t, cfg->stem_column), cp = dolor_csv_column(t, cfg->patient_column);
    int cr = cfg->stratum_column ? dolor_csv_column(t, cfg->stratum_column) : -1;
    const char *miss = cs < 0 ? cfg->stem_column : cp < 0 ? cfg->patient_column
                     : (cfg->stratum_column && cr < 0) ? cfg->stratum_column : NULL;
    if (miss) {
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no column '%s' (dataset.%s_column)", cfg->patients, miss,
                        miss == cfg->stem_column ? "stem" : miss == cfg->patient_column ? "patient" : "stratum");
        goto done;
    }
    size_t *row_of = malloc((sp->n ? sp->n : 1) * sizeof *row_of);
    if (!row_of) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < sp->n; i++)
        row_of[i] = (size_t)-1;
    for (size_t r = 0; !s && r < t->nrow; r++) {
        const char *st = t->cells[r * t->ncol + cs];
        const char *pa = t->cells[r * t->ncol + cp];
        const char *sr = cr >= 0 ? t->cells[r * t->ncol + cr] : "";
        if (!st || !st[0]) {
            s = dolor_error(DOLOR_EINVAL, "%s: line %zu: %s is empty", cfg->patients, t->line[r], cfg->stem_column);
            break;
        }
        size_t L = dolor_study_stem_len(st);
        size_t hit = (size_t)-1;
        for (size_t i = 0; i < sp->n; i++)
            if (strlen(sp->stem[i]) == L && !strncmp(sp->stem[i], st, L)) {
                hit = i;
                break;
            }
        if (hit == (size_t)-1)
            continue; /* rows for images not in the folders are ignored */
        if (row_of[hit] != (size_t)-1) {
            s = dolor_error(DOLOR_EINVAL, "%s: line %zu: case '%s' is also on line %zu", cfg->patients, t->line[r],
                            sp->stem[hit], t->line[row_of[hit]]);
            break;
        }
        row_of[hit] = r;
        if (!pa || !pa[0]) {
            s = dolor_error(DOLOR_EINVAL, "%s: line %zu: %s is empty for case '%s' (every case needs a patient ID)",
                            cfg->patients, t->line[r], cfg->patient_column, sp->stem[hit]);
            break;
        }
        if (cr >= 0 && (!sr || !sr[0])) {
            s = dolor_error(DOLOR_EINVAL, "%s: line %zu: %s is empty for case '%s' (dataset.stratum_column)",
                            cfg->patients, t->line[r], cfg->stratum_column, sp->stem[hit]);
            break;
        }
        sp->patient[hit] = strdup(pa);
        sp->stratum[hit] = strdup(sr);
        if (!sp->patient[hit] || !sp->stratum[hit])
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; !s && i < sp->n; i++)
        if (row_of[i] == (size_t)-1)
            s = dolor_error(DOLOR_EINVAL, "%s: case '%s' (an image in dataset.images) has no row: every case needs a "
                            "patient ID", cfg->patients, sp->stem[i]);
    free(row_of);
done:
    dolor_csv_free(t);
    return s;
}

dolor_status dolor_study_split_make(const dolor_study_config *cfg, char *const *stems, size_t n,
                                    dolor_study_split **out)
{
    *out = NULL;
    dolor_study_split *sp = calloc(1, sizeof *sp);
    if (!sp)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    sp->n = n;
    sp->k = cfg->split == DOLOR_STUDY_KFOLD ? cfg->folds : 1;
    sp->stem = calloc(n + 1, sizeof *sp->stem);
    sp->patient = calloc(n + 1, sizeof *sp->patient);
    sp->stratum = calloc(n + 1, sizeof *sp->stratum);
    sp->set = calloc((size_t)sp->k * n + 1, 1);
    int *gid = malloc((n + 1) * sizeof *gid), *yid = malloc((n + 1) * sizeof *yid);
    int *fold = malloc((n + 1) * sizeof *fold), *inner = malloc((n + 1) * sizeof *inner);
    int *sub_g = malloc((n + 1) * sizeof *sub_g), *sub_y = malloc((n + 1) * sizeof *sub_y);
    size_t *sub_i = malloc((n + 1) * sizeof *sub_i);
    char **gnames = calloc(n + 1, sizeof *gnames), **ynames = calloc(n + 1, sizeof *ynames);
    dolor_status s = DOLOR_OK;
    if (!sp->stem || !sp->patient || !sp->stratum || !sp->set || !gid || !yid || !fold || !inner || !sub_g ||
        !sub_y || !sub_i || !gnames || !ynames) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; !s && i < n; i++) {
        sp->stem[i] = strdup(stems[i]);
        if (!sp->stem[i])
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    if (!s && cfg->patients)
        s = read_patients(cfg, sp);
    for (size_t i = 0; !s && i < n; i++) {
        if (!sp->patient[i])
            sp->patient[i] = strdup(sp->stem[i]);
        if (!sp->stratum[i])
            sp->stratum[i] = strdup("");
        if (!sp->patient[i] || !sp->stratum[i])
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    if (s)
        goto done;
    int G = 0, Y = 0;
    for (size_t i = 0; i < n; i++) {
        gid[i] = intern(gnames, &G, sp->patient[i]);
        yid[i] = intern(ynames, &Y, sp->stratum[i]);
    }
    /* a patient whose images carry different strata: the majority rules in the k-fold; say nothing */
    int parts = sp->k, a = 0, b = 0;
    if (cfg->split == DOLOR_STUDY_HOLDOUT) {
        long r0 = (long)cfg->ratios[0], r1 = (long)cfg->ratios[1], r2 = (long)cfg->ratios[2];
        long g = gcd(gcd(r0, r1), r2);
        a = (int)(r0 / g);
        b = (int)(r1 / g);
        parts = (int)((r0 + r1 + r2) / g);
    }
    if (G < parts) {
        if (cfg->split == DOLOR_STUDY_KFOLD)
            s = dolor_error(DOLOR_EINVAL, "split.folds: %d folds but only %d patients", parts, G);
        else
            s = dolor_error(DOLOR_EINVAL, "split.ratios: %d:%d:%d needs at least %d patients, the dataset has %d", a, b,
                            parts - a - b, parts, G);
        goto done;
    }
    s = dolor_stratified_group_kfold(yid, gid, n, Y, parts, (uint64_t)cfg->split_seed, fold);
    if (s) {
        s = dolor_error_prefix(s, cfg->split == DOLOR_STUDY_KFOLD ? "split.folds" : "split.ratios");
        goto done;
    }
    if (cfg->split == DOLOR_STUDY_HOLDOUT) {
        for (size_t i = 0; i < n; i++)
            sp->set[i] = fold[i] < a ? DOLOR_SPLIT_TRAIN : fold[i] < a + b ? DOLOR_SPLIT_VAL : DOLOR_SPLIT_TEST;
    } else {
        int kv = (int)lround(1.0 / cfg->val_share);
        if (kv < 2)
            kv = 2;
        for (int f = 0; !s && f < sp->k; f++) {
            size_t m = 0;
            int Gs = 0;
            for (size_t i = 0; i < n; i++)
                if (fold[i] != f) {
                    sub_i[m] = i;
                    sub_g[m] = gid[i];
                    sub_y[m] = yid[i];
                    m++;
                }
            /* training patients of this fold */
            char *seen = calloc((size_t)G + 1, 1);
            if (!seen) {
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
                break;
            }
            for (size_t j = 0; j < m; j++)
                if (!seen[sub_g[j]]++)
                    Gs++;
            free(seen);
            if (Gs < kv) {
                s = dolor_error(DOLOR_EINVAL, "split.val_share: %g of the %d training patients of fold %d leaves no "
                                "validation or no training patient", cfg->val_share, Gs, f + 1);
                break;
            }
            s = dolor_stratified_group_kfold(sub_y, sub_g, m, Y, kv, (uint64_t)cfg->split_seed + 1 + (uint64_t)f,
                                             inner);
            if (s) {
                s = dolor_error_prefix(s, "split.val_share (fold %d)", f + 1);
                break;
            }
            for (size_t i = 0; i < n; i++)
                sp->set[(size_t)f * n + i] = DOLOR_SPLIT_TEST;
            for (size_t j = 0; j < m; j++)
                sp->set[(size_t)f * n + sub_i[j]] = inner[j] == 0 ? DOLOR_SPLIT_VAL : DOLOR_SPLIT_TRAIN;
        }
    }
    if (s)
        goto done;
    /* every stratum in every test fold (and in the hold-out test set) */
    if (cfg->stratum_column) {
        for (int f = 0; !s && f < sp->k; f++)
            for (int y = 0; !s && y < Y; y++) {
                int hit = 0;
                for (size_t i = 0; i < n && !hit; i++)
                    hit = yid[i] == y && sp->set[(size_t)f * n + i] == DOLOR_SPLIT_TEST;
                if (!hit) {
                    int pats = 0;
                    char *seen = calloc((size_t)G + 1, 1);
                    for (size_t i = 0; seen && i < n; i++)
                        if (yid[i] == y && !seen[gid[i]]++)
                            pats++;
                    free(seen);
                    s = dolor_error(DOLOR_EINVAL, "split: %s '%s' is absent from test %s %d (%d patient%s with it for "
                                    "%d parts)", cfg->stratum_column, ynames[y],
                                    sp->k > 1 ? "fold" : "set", f + 1, pats, pats == 1 ? "" : "s", parts);
                }
            }
    }
done:
    free(gid);
    free(yid);
    free(fold);
    free(inner);
    free(sub_g);
    free(sub_y);
    free(sub_i);
    free(gnames);
    free(ynames);
    if (s) {
        dolor_study_split_free(sp);
        return s;
    }
    *out = sp;
    return DOLOR_OK;
}

dolor_status dolor_study_split_write(const dolor_study_split *sp, const char *path)
{
    static const char *const set_name[] = {"train", "val", "test"};
    dolor_outfile f;
    dolor_status s = dolor_outfile_open(&f, path, 1);
    if (s)
        return s;
    fprintf(f.fp, "fold,case,patient,stratum,set\n");
    for (int k = 0; k < sp->k; k++)
        for (size_t i = 0; i < sp->n; i++) {
            fprintf(f.fp, "%d,", k + 1);
            dolor_csv_write_field(f.fp, sp->stem[i]);
            fputc(',', f.fp);
            dolor_csv_write_field(f.fp, sp->patient[i]);
            fputc(',', f.fp);
            dolor_csv_write_field(f.fp, sp->stratum[i]);
            fprintf(f.fp, ",%s\n", set_name[sp->set[(size_t)k * sp->n + i]]);
        }
    return dolor_outfile_commit(&f);
}
