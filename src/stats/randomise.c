/* Randomisation lists: simple and permuted blocks (fixed or random block
 * sizes), stratified, seeded with dolor_rng. See include/dolor/stats.h. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/stats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void dolor_randlist_free(dolor_randlist *l)
{
    if (!l)
        return;
    if (l->arm_names)
        for (int i = 0; i < l->n_arms; i++)
            free(l->arm_names[i]);
    if (l->strata_names)
        for (int i = 0; i < l->n_strata; i++)
            free(l->strata_names[i]);
    free(l->arm_names);
    free(l->strata_names);
    free(l->stratum);
    free(l->seq);
    free(l->block);
    free(l->block_size);
    free(l->arm);
    free(l);
}

dolor_status dolor_randlist_create(const dolor_rand_opts *o, dolor_randlist **out)
{
    if (!o || !out)
        return dolor_error(DOLOR_EINVAL, "randomise: NULL argument");
    *out = NULL;
    if (o->n_arms < 2 || o->n_arms > 64)
        return dolor_error(DOLOR_EINVAL, "randomise: %d arms (needs 2..64)", o->n_arms);
    if (o->n_strata < 1 || o->n_strata > 100000)
        return dolor_error(DOLOR_EINVAL, "randomise: %d strata (needs at least 1)", o->n_strata);
    if (o->n_per_stratum < 1 || o->n_per_stratum > 100000000)
        return dolor_error(DOLOR_EINVAL, "randomise: %zu subjects per stratum (needs 1..1e8)", o->n_per_stratum);
    if (o->method != DOLOR_RAND_SIMPLE && o->method != DOLOR_RAND_BLOCKS)
        return dolor_error(DOLOR_EINVAL, "randomise: unknown method %d", (int)o->method);
    long rsum = 0;
    for (int a = 0; a < o->n_arms; a++) {
        int r = o->ratio ? o->ratio[a] : 1;
        if (r < 1 || r > 1000)
            return dolor_error(DOLOR_EINVAL, "randomise: ratio for arm %d is %d (needs 1..1000)", a + 1, r);
        rsum += r;
    }
    int maxbs = 0;
    if (o->method == DOLOR_RAND_BLOCKS) {
        if (!o->block_sizes || o->n_block_sizes < 1)
            return dolor_error(DOLOR_EINVAL, "randomise: permuted blocks need at least one block size");
        for (int i = 0; i < o->n_block_sizes; i++) {
            int b = o->block_sizes[i];
            if (b < 1 || b > 100000 || b % rsum != 0)
                return dolor_error(DOLOR_EINVAL,
                                   "randomise: block size %d is not a positive multiple of the ratio sum %ld", b,
                                   rsum);
            if (b > maxbs)
                maxbs = b;
        }
    }
    dolor_randlist *l = calloc(1, sizeof *l);
    if (!l)
        return dolor_error(DOLOR_ENOMEM, "randomise: out of memory");
    size_t n = (size_t)o->n_strata * (size_t)o->n_per_stratum;
    l->n = n;
    l->n_arms = o->n_arms;
    l->n_strata = o->n_strata;
    l->seed = o->seed;
    l->method = o->method;
    l->arm_names = calloc((size_t)o->n_arms, sizeof *l->arm_names);
    l->strata_names = calloc((size_t)o->n_strata, sizeof *l->strata_names);
    l->stratum = malloc(n * sizeof *l->stratum);
    l->seq = malloc(n * sizeof *l->seq);
    l->block = malloc(n * sizeof *l->block);
    l->block_size = malloc(n * sizeof *l->block_size);
    l->arm = malloc(n * sizeof *l->arm);
    int *blk = malloc((size_t)(maxbs > 0 ? maxbs : 1) * sizeof *blk);
    if (!l->arm_names || !l->strata_names || !l->stratum || !l->seq || !l->block || !l->block_size || !l->arm ||
        !blk)
        goto oom;
    for (int a = 0; a < o->n_arms; a++) {
        char buf[16];
        if (o->arm_names && o->arm_names[a]) {
            l->arm_names[a] = strdup(o->arm_names[a]);
        } else {
            if (a < 26)
                snprintf(buf, sizeof buf, "%c", 'A' + a);
            else
                snprintf(buf, sizeof buf, "arm%d", a + 1);
            l->arm_names[a] = strdup(buf);
        }
        if (!l->arm_names[a])
            goto oom;
    }
    for (int s = 0; s < o->n_strata; s++) {
        char buf[24];
        if (o->strata_names && o->strata_names[s])
            l->strata_names[s] = strdup(o->strata_names[s]);
        else {
            if (o->n_strata == 1)
                snprintf(buf, sizeof buf, "all");
            else
                snprintf(buf, sizeof buf, "S%d", s + 1);
            l->strata_names[s] = strdup(buf);
        }
        if (!l->strata_names[s])
            goto oom;
    }
    dolor_rng rng;
    dolor_rng_seed(&rng, o->seed);
    size_t pos = 0;
    for (int s = 0; s < o->n_strata; s++) {
        size_t done = 0;
        int bno = 0;
        while (done < o->n_per_stratum) {
            if (o->method == DOLOR_RAND_SIMPLE) {
                uint64_t u = dolor_rng_below(&rng, (uint64_t)rsum);
                int a = 0;
                for (long acc = 0; a < o->n_arms; a++) {
                    acc += o->ratio ? o->ratio[a] : 1;
                    if ((long)u < acc)
                        break;
                }
                l->stratum[pos] = s;
                l->seq[pos] = done + 1;
                l->block[pos] = 0;
                l->block_size[pos] = 0;
                l->arm[pos] = a;
                pos++;
                done++;
                continue;
            }
            int bs = o->block_sizes[o->n_block_sizes == 1 ? 0 : dolor_rng_below(&rng, (uint64_t)o->n_block_sizes)];
            int mult = bs / (int)rsum, f = 0;
            for (int a = 0; a < o->n_arms; a++) {
                int cnt = (o->ratio ? o->ratio[a] : 1) * mult;
                for (int c = 0; c < cnt; c++)
                    blk[f++] = a;
            }
            dolor_rng_shuffle_int(&rng, blk, (size_t)bs);
            bno++;
            for (int c = 0; c < bs && done < o->n_per_stratum; c++) {
                l->stratum[pos] = s;
                l->seq[pos] = done + 1;
                l->block[pos] = bno;
                l->block_size[pos] = bs;
                l->arm[pos] = blk[c];
                pos++;
                done++;
                if (done == o->n_per_stratum && c + 1 < bs)
                    l->truncated_last_block++;
            }
        }
    }
    free(blk);
    *out = l;
    return DOLOR_OK;
oom:
    free(blk);
    dolor_randlist_free(l);
    return dolor_error(DOLOR_ENOMEM, "randomise: out of memory");
}

static void write_rows(const dolor_randlist *l, FILE *fp, int csv)
{
    int w = 1;
    for (long m = 10; m <= (long)l->n; m *= 10)
        w++;
    if (w < 3)
        w = 3;
    if (csv)
        fprintf(fp, "id,stratum,sequence,block,block_size,arm\n");
    else
        fprintf(fp, "%-*s  %-12s %8s %6s %10s  %s\n", w + 6, "id", "stratum", "sequence", "block", "block_size",
                "arm");
    for (size_t i = 0; i < l->n; i++) {
        char id[64];
        const char *sn = l->strata_names[l->stratum[i]];
        if (l->n_strata > 1)
            snprintf(id, sizeof id, "%.40s-%0*zu", sn, w, l->seq[i]);
        else
            snprintf(id, sizeof id, "%0*zu", w, l->seq[i]);
        if (csv)
            fprintf(fp, "%s,%s,%zu,%d,%d,%s\n", id, sn, l->seq[i], l->block[i], l->block_size[i],
                    l->arm_names[l->arm[i]]);
        else
            fprintf(fp, "%-*s  %-12s %8zu %6d %10d  %s\n", w + 6, id, sn, l->seq[i], l->block[i], l->block_size[i],
                    l->arm_names[l->arm[i]]);
    }
}

dolor_status dolor_randlist_write_csv(const dolor_randlist *l, const char *path)
{
    if (!l || !path)
        return dolor_error(DOLOR_EINVAL, "randomisation CSV: NULL argument");
    dolor_outfile f;
    dolor_status s = dolor_outfile_open(&f, path, 1);
    if (s)
        return s;
    write_rows(l, f.fp, 1);
    if (ferror(f.fp)) {
        dolor_outfile_abort(&f);
        return dolor_error(DOLOR_EIO, "%s: write failed", path);
    }
    return dolor_outfile_commit(&f);
}

void dolor_randlist_print(const dolor_randlist *l, FILE *fp)
{
    if (!l || !fp)
        return;
    fprintf(fp, "Randomisation list: %s, seed %" PRIu64 ", %zu subjects in %d stratum/strata\n",
            l->method == DOLOR_RAND_SIMPLE ? "simple" : "permuted blocks", l->seed, l->n, l->n_strata);
    write_rows(l, fp, 0);
    fprintf(fp, "\nTotals per stratum:\n");
    for (int s = 0; s < l->n_strata; s++) {
        fprintf(fp, "  %-12s", l->strata_names[s]);
        for (int a = 0; a < l->n_arms; a++) {
            long c = 0;
            for (size_t i = 0; i < l->n; i++)
                c += l->stratum[i] == s && l->arm[i] == a;
            fprintf(fp, "  %s: %ld", l->arm_names[a], c);
        }
        fputc('\n', fp);
    }
    if (l->truncated_last_block)
        fprintf(fp, "note: the last block of %d stratum/strata was cut short by the stratum size\n",
                l->truncated_last_block);
}
