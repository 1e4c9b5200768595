/* dolor stats samplesize | randomise: planning a trial. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stats_cli.h"

static dolor_status two_doubles(const char *opt, const char *s, double *a, double *b)
{
    char **it;
    int n;
    dolor_status st = dolor_cli_split_list(opt, s, &it, &n);
    if (st)
        return st;
    if (n != 2) {
        dolor_cli_free_list(it);
        return dolor_error(DOLOR_EINVAL, "%s: expected two comma-separated numbers, got '%s'", opt, s);
    }
    st = dolor_cli_parse_double(opt, it[0], -HUGE_VAL, HUGE_VAL, a);
    if (!st)
        st = dolor_cli_parse_double(opt, it[1], -HUGE_VAL, HUGE_VAL, b);
    dolor_cli_free_list(it);
    return st;
}

static int run_samplesize(stats_ctx *c)
{
    const char *props = stats_str(c, "proportions"), *means = stats_str(c, "means");
    int sides = stats_flag(c, "one-sided", 0) ? 1 : 2, cc = stats_flag(c, "cc", 0), tb = stats_flag(c, "t", 0);
    double alpha, power, dropout, x, y;
    dolor_samplesize r;
    dolor_status s = stats_num(c, "alpha", 0.05, 0, 1, 1, 1, &alpha);
    if (!s)
        s = stats_num(c, "power", 0.8, 0, 1, 1, 1, &power);
    if (!s)
        s = stats_num(c, "dropout", 0, 0, 1, 0, 1, &dropout);
    if (!s && !!props + !!means != 1)
        s = dolor_error(DOLOR_EINVAL, "give exactly one of --proportions and --means");
    if (!s)
        s = props ? stats_reject(c, "with --proportions", "t", NULL) : stats_reject(c, "with --means", "cc", NULL);
    if (!s && props) {
        if (!(s = two_doubles("--proportions", props, &x, &y)))
            s = dolor_samplesize_compute_proportions(x, y, alpha, power, sides, cc, &r);
        if (!s) {
            fprintf(c->fp, "Two proportions: p1 = %g, p2 = %g, alpha = %g (%s), power = %g%s\n", x, y, alpha,
                    sides == 2 ? "two-sided" : "one-sided", power, cc ? ", Fleiss continuity correction" : "");
            out_str(c, "design", "two proportions");
            out_num(c, "p1", x);
            out_num(c, "p2", y);
        }
    } else if (!s) {
        if (!(s = two_doubles("--means", means, &x, &y)))
            s = dolor_samplesize_compute_means(x, y, alpha, power, sides, tb, &r);
        if (!s) {
            fprintf(c->fp, "Two means: delta = %g, sd = %g, alpha = %g (%s), power = %g, %s\n", x, y, alpha,
                    sides == 2 ? "two-sided" : "one-sided", power, tb ? "t test (power.t.test)" : "normal approximation");
            out_str(c, "design", tb ? "two means, t test" : "two means, normal approximation");
            out_num(c, "delta", x);
            out_num(c, "sd", y);
        }
    }
    size_t nd = 0;
    if (!s && dropout > 0)
        s = dolor_samplesize_inflate((double)r.n_ceil, dropout, &nd);
    if (!s) {
        fprintf(c->fp, "n per group = %s -> %zu (total %zu)\n", fmt_fixed(r.n, 4), r.n_ceil, r.total);
        if (dropout > 0)
            fprintf(c->fp, "with %g%% dropout: %zu per group (total %zu)\n", dropout * 100, nd, 2 * nd);
        out_num(c, "alpha", alpha);
        out_num(c, "power", power);
        out_int(c, "sides", sides);
        out_num(c, "n_per_group", r.n);
        out_int(c, "n_per_group_ceil", (long)r.n_ceil);
        out_int(c, "total", (long)r.total);
        if (dropout > 0) {
            out_num(c, "dropout", dropout);
            out_int(c, "n_per_group_dropout", (long)nd);
        }
    }
    return stats_done(c, s, NULL);
}

static dolor_status int_list(const char *opt, const char *s, int **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!s)
        return DOLOR_OK;
    char **it;
    dolor_status st = dolor_cli_split_list(opt, s, &it, n);
    if (st)
        return st;
    *out = malloc((size_t)*n * sizeof **out);
    if (!*out)
        st = dolor_error(DOLOR_ENOMEM, "out of memory");
    for (int i = 0; !st && i < *n; i++) {
        long v;
        if ((st = dolor_cli_parse_int(opt, it[i], 1, 100000, &v)))
            break;
        (*out)[i] = (int)v;
    }
    if (st) {
        free(*out);
        *out = NULL;
    }
    dolor_cli_free_list(it);
    return st;
}

static int run_randomise(stats_ctx *c)
{
    long n, seed;
    char **arms = NULL, **strata = NULL;
    int narms = 0, nstrata = 0, nratio = 0, nblocks = 0, simple = stats_flag(c, "simple", 0);
    int *ratio = NULL, *blocks = NULL;
    const char *csv = stats_str(c, "csv");
    dolor_randlist *l = NULL;
    dolor_status s = stats_long(c, "n", -1, 1, 100000000L, &n);
    if (!s)
        s = stats_long(c, "seed", -1, 0, 0x7fffffffffffffffL, &seed);
    if (!s && stats_str(c, "arms"))
        s = dolor_cli_split_list("--arms", stats_str(c, "arms"), &arms, &narms);
    if (!s && stats_str(c, "strata"))
        s = dolor_cli_split_list("--strata", stats_str(c, "strata"), &strata, &nstrata);
    if (!s)
        s = int_list("--ratio", stats_str(c, "ratio"), &ratio, &nratio);
    if (!s)
        s = int_list("--blocks", stats_str(c, "blocks"), &blocks, &nblocks);
    if (!s && (n < 0 || seed < 0))
        s = dolor_error(DOLOR_EINVAL, "--n and --seed are required");
    if (!s && simple && blocks)
        s = dolor_error(DOLOR_EINVAL, "give --blocks or --simple, not both");
    if (!s && !arms)
        narms = nratio > 0 ? nratio : 2;
    if (!s && ratio && nratio != narms)
        s = dolor_error(DOLOR_EINVAL, "--ratio has %d values but there are %d arms", nratio, narms);
    if (!s) {
        int dflt_block = 0;
        if (!simple && !blocks) {
            int sum = 0;
            for (int i = 0; i < narms; i++)
                sum += ratio ? ratio[i] : 1;
            dflt_block = 2 * sum;
        }
        dolor_rand_opts opt = {.n_arms = narms,
                               .arm_names = (const char *const *)arms,
                               .ratio = ratio,
                               .method = simple ? DOLOR_RAND_SIMPLE : DOLOR_RAND_BLOCKS,
                               .block_sizes = blocks ? blocks : &dflt_block,
                               .n_block_sizes = blocks ? nblocks : 1,
                               .n_strata = strata ? nstrata : 1,
                               .strata_names = (const char *const *)strata,
                               .n_per_stratum = (size_t)n,
                               .seed = (uint64_t)seed};
        s = dolor_randlist_create(&opt, &l);
    }
    if (!s && csv) {
        s = dolor_randlist_write_csv(l, csv);
        if (!s)
            fprintf(c->fp, "randomisation list (%zu subjects) written to %s\n", l->n, csv);
    } else if (!s) {
        dolor_randlist_print(l, c->fp);
    }
    for (size_t i = 0; !s && i < l->n; i++) {
        out_record(c);
        out_str(c, "stratum", l->strata_names[l->stratum[i]]);
        out_int(c, "sequence", (long)l->seq[i]);
        out_int(c, "block", l->block[i]);
        out_int(c, "block_size", l->block_size[i]);
        out_str(c, "arm", l->arm_names[l->arm[i]]);
    }
    dolor_randlist_free(l);
    dolor_cli_free_list(arms);
    dolor_cli_free_list(strata);
    free(ratio);
    free(blocks);
    return stats_done(c, s, NULL);
}

static const dolor_opt_spec samplesize_opts[] = {
    {.name = "proportions", .type = OPT_LIST, .metavar = "P1,P2", .help = "P1,P2: two proportions to tell apart"},
    {.name = "means", .type = OPT_LIST, .metavar = "DELTA,SD", .help = "DELTA,SD: a difference of means and the common SD"},
    {.name = "alpha", .type = OPT_NUM, .def = "0.05", .help = "type I error, 0 < alpha < 1"},
    {.name = "power", .type = OPT_NUM, .def = "0.8", .help = "power 1 - beta, 0 < power < 1"},
    {.name = "one-sided", .type = OPT_FLAG, .help = "one-sided test (default two-sided)"},
    {.name = "cc", .type = OPT_FLAG, .help = "proportions: Fleiss' continuity correction"},
    {.name = "t", .type = OPT_FLAG, .help = "means: power.t.test's noncentral-t solution (default: normal)"},
    {.name = "dropout", .type = OPT_NUM, .metavar = "D", .def = "0", .help = "expected dropout fraction D, 0 <= D < 1: n / (1 - D)"},
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_samplesize = {
    .name = "samplesize",
    .topic = "planning",
    .usage = "--proportions P1,P2 [--cc] | --means DELTA,SD [--t]  [--alpha 0.05] [--power 0.8] [--one-sided]\n"
             "       [--dropout 0.1]",
    .summary = "per-group sample size for two proportions or two means (R power.prop.test, power.t.test)",
    .details = "Proportions: pooled normal approximation = the root of power.prop.test (strict = FALSE); --cc\n"
               "adds Fleiss' continuity correction. Means: 2(z_a+z_b)^2 sd^2/delta^2, or --t for power.t.test.\n",
    .opts = samplesize_opts,
    .nopts = sizeof samplesize_opts / sizeof *samplesize_opts,
    .npos_min = 0,
    .npos_max = 0,
    .formats = STATS_FORMATS,
    .run = run_samplesize,
};

static const dolor_opt_spec randomise_opts[] = {
    {.name = "n", .type = OPT_INT, DOLOR_OPT_RANGE(1, 1e8), .help = "subjects per stratum"},
    {.name = "seed", .type = OPT_INT, DOLOR_OPT_RANGE(0, 9.2e18), .help = "random seed (the same seed gives the same list)"},
    {.name = "arms", .type = OPT_LIST, .help = "arm names (default A,B)"},
    {.name = "ratio", .type = OPT_LIST, .help = "allocation ratio, e.g. 2,1 (default 1:1)"},
    {.name = "blocks", .type = OPT_LIST,
     .help = "block sizes drawn at random, each a multiple of the ratio sum (default twice the ratio sum)"},
    {.name = "simple", .type = OPT_FLAG, .help = "simple randomisation instead of permuted blocks"},
    {.name = "strata", .type = OPT_LIST, .help = "strata names; N subjects in each"},
    {.name = "csv", .type = OPT_STR, .metavar = "FILE", .help = "write the list as CSV to FILE (id,stratum,sequence,block,block_size,arm)"},
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_randomise = {
    .name = "randomise",
    .topic = "planning",
    .usage = "--n N --seed S [--arms A,B] [--ratio 1,1] [--blocks 4,6 | --simple] [--strata S1,S2] [--csv OUT.csv]",
    .summary = "randomisation list: permuted blocks or simple, stratified, reproducible from the seed",
    .opts = randomise_opts,
    .nopts = sizeof randomise_opts / sizeof *randomise_opts,
    .npos_min = 0,
    .npos_max = 0,
    .formats = STATS_FORMATS,
    .run = run_randomise,
};
