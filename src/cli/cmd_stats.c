/* dolor stats: the table of statistics subcommands, their option parsing, help and output.
 * The subcommands themselves live in src/cli/stats_<topic>.c (see stats_cli.h). */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats_cli.h"

/* The table, in the order `dolor stats --help` lists them (grouped by topic). */
static const stats_cmd *const stats_cmds[] = {
    &stats_cmd_describe, &stats_cmd_shapiro,                                                 /* descriptive */
    &stats_cmd_ttest,    &stats_cmd_mannwhitney, &stats_cmd_wilcoxon, &stats_cmd_levene,
    &stats_cmd_anova,    &stats_cmd_kruskal,     &stats_cmd_pairwise, &stats_cmd_cor,         /* tests */
    &stats_cmd_chisq,    &stats_cmd_fisher,                                                   /* contingency */
    &stats_cmd_kappa,    &stats_cmd_icc,                                                      /* agreement */
    &stats_cmd_diag,     &stats_cmd_roc,         &stats_cmd_delong,                           /* diagnostic, ROC */
    &stats_cmd_samplesize, &stats_cmd_randomise,                                              /* planning */
    &stats_cmd_table,                                                                         /* study tables */
    &stats_cmd_score,                                                                         /* clinical scores */
    &stats_cmd_friedman, &stats_cmd_rmanova,                                                  /* repeated measures */
};
enum { STATS_NCMDS = 23 };
_Static_assert(sizeof stats_cmds / sizeof *stats_cmds == STATS_NCMDS, "stats subcommand table");

static const stats_cmd *find_cmd(const char *name)
{
    if (!strcmp(name, "randomize"))
        name = "randomise";
    for (int i = 0; i < STATS_NCMDS; i++)
        if (!strcmp(stats_cmds[i]->name, name))
            return stats_cmds[i];
    return NULL;
}

static void stats_help(FILE *fp)
{
    fprintf(fp, "usage: dolor stats <subcommand> [FILE.csv] [options]   (dolor stats <subcommand> --help)\n\n"
                "Statistics on the columns of a CSV (header row; empty cell or NA = missing), printed as R prints\n"
                "them (R 4.2: stats, car, psych, pROC); --format csv|json for machines on every subcommand.\n");
    const char *topic = NULL;
    for (int i = 0; i < STATS_NCMDS; i++) {
        const stats_cmd *s = stats_cmds[i];
        if (!topic || strcmp(topic, s->topic))
            fprintf(fp, "\n%s:\n", topic = s->topic);
        fprintf(fp, "  %-11s %s\n", s->name, s->summary);
    }
    fprintf(fp, "\nexit codes: 0 success, 1 runtime failure, 2 bad input (unknown option or column, non-numeric\n"
                "cell, empty group, zero margin, too few observations). See docs/stats.md.\n");
}

static void cmd_help(const stats_cmd *s, FILE *fp)
{
    fprintf(fp, "usage: dolor stats %s %s\n%s\n", s->name, s->usage, s->summary);
    if (s->details)
        fprintf(fp, "%s", s->details);
    fprintf(fp, "\noptions:\n");
    dolor_opts_print_help(fp, s->opts, s->nopts);
}

/* ---- option values ---- */
static int opt_index(const stats_cmd *s, const char *name)
{
    for (int i = 0; i < s->nopts; i++)
        if (!strcmp(s->opts[i].name, name))
            return i;
    return -1;
}

static const char *opt_value(const stats_ctx *c, const char *name)
{
    int i = opt_index(c->cmd, name);
    if (i < 0) { /* a run function asking for an option its table lacks: a bug, caught by the tests */
        fprintf(stderr, "dolor %s: internal error: option --%s is not in the table\n", c->name, name);
        return NULL;
    }
    return c->val[i];
}

const char *stats_str(const stats_ctx *c, const char *name)
{
    return opt_value(c, name);
}

int stats_flag(const stats_ctx *c, const char *name, int def)
{
    const char *v = opt_value(c, name);
    return v ? v[0] == '1' : def;
}

dolor_status stats_num(const stats_ctx *c, const char *name, double def, double lo, double hi, int lo_open,
                       int hi_open, double *out)
{
    const char *v = opt_value(c, name);
    *out = def;
    if (!v)
        return DOLOR_OK;
    char opt[80];
    snprintf(opt, sizeof opt, "--%s", name);
    dolor_status s = dolor_cli_parse_double(opt, v, -HUGE_VAL, HUGE_VAL, out);
    if (s)
        return s;
    char range[160];
    snprintf(range, sizeof range, "%g %s %s %s %g", lo, lo_open ? "<" : "<=", name, hi_open ? "<" : "<=", hi);
    if (*out < lo || (lo_open && *out == lo))
        return dolor_error(DOLOR_EINVAL, "%s: %s must be %s %g (%s)", opt, v, lo_open ? "above" : "at least", lo,
                           range);
    if (*out > hi || (hi_open && *out == hi))
        return dolor_error(DOLOR_EINVAL, "%s: %s must be %s %g (%s)", opt, v, hi_open ? "below" : "at most", hi,
                           range);
    return DOLOR_OK;
}

dolor_status stats_long(const stats_ctx *c, const char *name, long def, long lo, long hi, long *out)
{
    const char *v = opt_value(c, name);
    *out = def;
    if (!v)
        return DOLOR_OK;
    char opt[80];
    snprintf(opt, sizeof opt, "--%s", name);
    return dolor_cli_parse_int(opt, v, lo, hi, out);
}

dolor_status stats_conf(const stats_ctx *c, double *conf)
{
    return stats_num(c, "conf", 0.95, 0, 1, 1, 1, conf);
}

dolor_status stats_reject(const stats_ctx *c, const char *mode, ...)
{
    va_list ap;
    va_start(ap, mode);
    dolor_status s = DOLOR_OK;
    for (const char *name = va_arg(ap, const char *); name && !s; name = va_arg(ap, const char *))
        if (opt_value(c, name))
            s = dolor_error(DOLOR_EINVAL, "--%s is not used %s (see dolor %s --help)", name, mode, c->name);
    va_end(ap);
    return s;
}

int stats_repeated(const stats_ctx *c, const char *name, const char **out, int cap)
{
    int i = opt_index(c->cmd, name), n = 0;
    for (int r = 0; r < c->nrep; r++)
        if (c->rep_opt[r] == i && n < cap)
            out[n++] = c->rep[r];
    return n;
}

static int is_repeatable(const char *name)
{
    return !strcmp(name, "label") || !strcmp(name, "change");
}

static const char *keep(stats_ctx *c, const char *v)
{
    char **no = realloc(c->owned, (size_t)(c->nowned + 1) * sizeof *no);
    if (!no)
        return NULL;
    c->owned = no;
    return c->owned[c->nowned++] = strdup(v);
}

static dolor_status apply_opt(void *ctx, const dolor_opt_spec *spec, const char *value)
{
    stats_ctx *c = ctx;
    if (value && !(value = keep(c, value)))
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    int i = (int)(spec - c->cmd->opts);
    char opt[80];
    snprintf(opt, sizeof opt, "--%s", spec->name);
    if (spec->type == OPT_FLAG) {
        c->val[i] = value && !strcmp(value, "false") ? "0" : "1";
        return DOLOR_OK;
    }
    double d;
    long l;
    if (spec->type == OPT_NUM && dolor_cli_parse_double(opt, value, -HUGE_VAL, HUGE_VAL, &d))
        return DOLOR_EINVAL;
    if (spec->type == OPT_INT && dolor_cli_parse_int(opt, value, -0x7fffffffffffffffL, 0x7fffffffffffffffL, &l))
        return DOLOR_EINVAL;
    if (is_repeatable(spec->name)) {
        if (c->nrep == STATS_MAX_REPEAT)
            return dolor_error(DOLOR_EINVAL, "%s: given more than %d times", opt, STATS_MAX_REPEAT);
        c->rep_opt[c->nrep] = i;
        c->rep[c->nrep++] = value;
    }
    c->val[i] = value;
    return DOLOR_OK;
}

/* dolor_opts_parse said "unknown option '--x'": say whether it belongs to another subcommand */
static int unknown_option(const stats_ctx *c)
{
    const char *m = dolor_errmsg(), *tag = "unknown option '";
    if (strncmp(m, tag, strlen(tag)))
        return 0;
    char given[128];
    snprintf(given, sizeof given, "%s", m + strlen(tag));
    char *q = strrchr(given, '\'');
    if (q)
        *q = 0;
    char *eq = strchr(given, '=');
    if (eq)
        *eq = 0;
    const char *name = given;
    while (*name == '-')
        name++;
    const char *base = !strncmp(name, "no-", 3) ? name + 3 : name;
    const char *other = NULL;
    for (int i = 0; i < STATS_NCMDS && !other; i++)
        if (opt_index(stats_cmds[i], name) >= 0 || opt_index(stats_cmds[i], base) >= 0)
            other = stats_cmds[i]->name;
    if (other)
        fprintf(stderr, "dolor %s: error: %s is not an option of this command (see dolor %s --help)\n", c->name,
                given, c->name);
    else
        fprintf(stderr, "dolor %s: error: unknown option '%s' (see dolor %s --help)\n", c->name, given, c->name);
    return 1;
}

/* ---- number formatting ---- */
static int g_digits_p = 4, g_digits_est = 5, g_digits_given = 0;

static const char *ring(void)
{
    static char buf[16][48];
    static int i;
    i = (i + 1) % 16;
    return buf[i];
}

const char *fmt_est(double v)
{
    char *b = (char *)ring();
    if (isnan(v))
        snprintf(b, 48, "NA");
    else if (isinf(v))
        snprintf(b, 48, v > 0 ? "Inf" : "-Inf");
    else
        snprintf(b, 48, "%.*g", g_digits_est, v);
    return b;
}

const char *fmt_p(double p)
{
    char *b = (char *)ring();
    if (isnan(p))
        snprintf(b, 48, "NA");
    else if (p < 2.2e-16)
        snprintf(b, 48, "< 2.2e-16");
    else
        snprintf(b, 48, "%.*g", g_digits_p, p);
    return b;
}

const char *fmt_fixed(double v, int decimals)
{
    if (g_digits_given || !isfinite(v))
        return fmt_est(v);
    char *b = (char *)ring();
    snprintf(b, 48, "%.*f", decimals, v);
    return b;
}

const char *fmt_sig(double v, int sig)
{
    if (g_digits_given || !isfinite(v))
        return fmt_est(v);
    char *b = (char *)ring();
    snprintf(b, 48, "%.*g", sig, v);
    return b;
}

void stats_print_one_sided(stats_ctx *c, const dolor_test_result *r)
{
    if (!isnan(r->p_less))
        fprintf(c->fp, "one-sided: p (less) = %s, p (greater) = %s\n", fmt_p(r->p_less), fmt_p(r->p_greater));
}

/* ---- records ---- */
typedef struct {
    char *key;
    char *text; /* formatted value; NULL = null */
    int quoted; /* a string (JSON quotes it) */
} sfield;

typedef struct {
    sfield *f;
    int n, cap;
} srecord;

typedef struct stats_records {
    srecord *r;
    int n, cap;
    char **warn;
    int nwarn;
} stats_records;

static int g_digits_machine = 17;

void out_record(stats_ctx *c)
{
    stats_records *R = c->rec;
    if (!R)
        return;
    if (R->n == R->cap) {
        int nc = R->cap ? 2 * R->cap : 8;
        srecord *nr = realloc(R->r, (size_t)nc * sizeof *nr);
        if (!nr)
            return;
        R->r = nr;
        R->cap = nc;
    }
    memset(&R->r[R->n++], 0, sizeof(srecord));
}

static void out_field(stats_ctx *c, const char *key, char *text, int quoted)
{
    stats_records *R = c->rec;
    if (!R) {
        free(text);
        return;
    }
    if (!R->n)
        out_record(c);
    srecord *r = &R->r[R->n - 1];
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->f[i].key, key)) { /* a later value replaces an earlier one */
            free(r->f[i].text);
            r->f[i].text = text;
            r->f[i].quoted = quoted;
            return;
        }
    if (r->n == r->cap) {
        int nc = r->cap ? 2 * r->cap : 16;
        sfield *nf = realloc(r->f, (size_t)nc * sizeof *nf);
        if (!nf) {
            free(text);
            return;
        }
        r->f = nf;
        r->cap = nc;
    }
    r->f[r->n++] = (sfield){strdup(key), text, quoted};
}

static char *num_text(double v, int digits)
{
    if (isnan(v))
        return NULL;
    char b[64];
    if (isinf(v))
        snprintf(b, sizeof b, "%s", v > 0 ? "Inf" : "-Inf");
    else
        snprintf(b, sizeof b, "%.*g", digits, v);
    return strdup(b);
}

void out_num(stats_ctx *c, const char *key, double v)
{
    out_field(c, key, num_text(v, g_digits_machine), 0);
}

void out_pval(stats_ctx *c, const char *key, double p)
{
    out_field(c, key, num_text(p, g_digits_machine), 0);
}

void out_int(stats_ctx *c, const char *key, long v)
{
    char b[32];
    snprintf(b, sizeof b, "%ld", v);
    out_field(c, key, strdup(b), 0);
}

void out_str(stats_ctx *c, const char *key, const char *s)
{
    out_field(c, key, s ? strdup(s) : NULL, 1);
}

void out_test(stats_ctx *c, const dolor_test_result *r)
{
    if (r->method[0])
        out_str(c, "method", r->method);
    out_num(c, "statistic", r->statistic);
    if (!isnan(r->df))
        out_num(c, "df", r->df);
    if (!isnan(r->df2))
        out_num(c, "df2", r->df2);
    out_pval(c, "p", r->p);
    if (!isnan(r->p_less)) {
        out_pval(c, "p_less", r->p_less);
        out_pval(c, "p_greater", r->p_greater);
    }
    if (!isnan(r->estimate))
        out_num(c, "estimate", r->estimate);
    if (!isnan(r->ci_lo)) {
        out_num(c, "ci_lower", r->ci_lo);
        out_num(c, "ci_upper", r->ci_hi);
    }
    if (!isnan(r->se))
        out_num(c, "se", r->se);
    if (!isnan(r->z)) {
        out_num(c, "z", r->z);
        out_num(c, "sigma", r->sigma);
    }
    out_int(c, "exact", r->exact);
    if (r->n)
        out_int(c, "n", (long)r->n);
}

void out_warn(stats_ctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "dolor %s: warning: %s\n", c->name, msg);
    stats_records *R = c->rec;
    if (!R)
        return;
    char **nw = realloc(R->warn, (size_t)(R->nwarn + 1) * sizeof *nw);
    if (!nw)
        return;
    R->warn = nw;
    R->warn[R->nwarn++] = strdup(msg);
}

static void records_free(stats_records *R)
{
    if (!R)
        return;
    for (int i = 0; i < R->n; i++) {
        for (int j = 0; j < R->r[i].n; j++) {
            free(R->r[i].f[j].key);
            free(R->r[i].f[j].text);
        }
        free(R->r[i].f);
    }
    for (int i = 0; i < R->nwarn; i++)
        free(R->warn[i]);
    free(R->warn);
    free(R->r);
    free(R);
}

static void json_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(fp, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", fp);
        else if (ch == '\t')
            fputs("\\t", fp);
        else if (ch < 0x20)
            fprintf(fp, "\\u%04x", ch);
        else
            fputc(ch, fp);
    }
    fputc('"', fp);
}

static void write_json(const stats_ctx *c, FILE *fp)
{
    const stats_records *R = c->rec;
    fprintf(fp, "{\"command\": ");
    json_string(fp, c->cmd->name);
    fprintf(fp, ",\n \"results\": [");
    for (int i = 0; i < R->n; i++) {
        fprintf(fp, "%s\n  {", i ? "," : "");
        for (int j = 0; j < R->r[i].n; j++) {
            const sfield *f = &R->r[i].f[j];
            fprintf(fp, "%s", j ? ", " : "");
            json_string(fp, f->key);
            fprintf(fp, ": ");
            if (!f->text)
                fputs("null", fp);
            else if (f->quoted)
                json_string(fp, f->text);
            else if (!strcmp(f->text, "Inf") || !strcmp(f->text, "-Inf"))
                json_string(fp, f->text); /* JSON has no infinity */
            else
                fputs(f->text, fp);
        }
        fputc('}', fp);
    }
    fprintf(fp, "\n ],\n \"warnings\": [");
    for (int i = 0; i < R->nwarn; i++) {
        fprintf(fp, "%s", i ? ", " : "");
        json_string(fp, R->warn[i]);
    }
    fprintf(fp, "]}\n");
}

static void write_csv(const stats_ctx *c, FILE *fp)
{
    const stats_records *R = c->rec;
    /* header: the keys in order of first appearance over all records */
    const char **keys = NULL;
    int nk = 0;
    for (int i = 0; i < R->n; i++)
        for (int j = 0; j < R->r[i].n; j++) {
            int seen = 0;
            for (int q = 0; q < nk && !seen; q++)
                seen = !strcmp(keys[q], R->r[i].f[j].key);
            if (!seen) {
                const char **nkeys = realloc(keys, (size_t)(nk + 1) * sizeof *nkeys);
                if (!nkeys)
                    continue;
                keys = nkeys;
                keys[nk++] = R->r[i].f[j].key;
            }
        }
    for (int q = 0; q < nk; q++) {
        if (q)
            fputc(',', fp);
        dolor_csv_write_field(fp, keys[q]);
    }
    fputc('\n', fp);
    for (int i = 0; i < R->n; i++) {
        for (int q = 0; q < nk; q++) {
            if (q)
                fputc(',', fp);
            for (int j = 0; j < R->r[i].n; j++)
                if (!strcmp(R->r[i].f[j].key, keys[q]) && R->r[i].f[j].text)
                    dolor_csv_write_field(fp, R->r[i].f[j].text);
        }
        fputc('\n', fp);
    }
    free(keys);
}

/* ---- data access ---- */
void stats_data_free(stats_data *d)
{
    dolor_csv_free(d->csv);
    dolor_stats_free_strings(d->glev);
    free(d->gcode);
    memset(d, 0, sizeof *d);
}

/* reorder the group levels by --levels a,b (those only, in that order) or --ref-group NAME (first) */
static dolor_status order_groups(const stats_ctx *c, stats_data *d)
{
    const char *levels = opt_index(c->cmd, "levels") >= 0 ? stats_str(c, "levels") : NULL;
    const char *ref = opt_index(c->cmd, "ref-group") >= 0 ? stats_str(c, "ref-group") : NULL;
    if (levels && ref)
        return dolor_error(DOLOR_EINVAL, "give --levels or --ref-group, not both");
    if (ref)
        return dolor_factor_reorder(&d->glev, &d->k, d->gcode, d->csv->nrow, &ref, 1, 1, "--ref-group",
                                    stats_str(c, "by"));
    if (!levels)
        return DOLOR_OK;
    char **want = NULL;
    int nw = 0;
    dolor_status s = dolor_cli_split_list("--levels", levels, &want, &nw);
    if (!s)
        s = dolor_factor_reorder(&d->glev, &d->k, d->gcode, d->csv->nrow, (const char *const *)want, nw, 0,
                                 "--levels", stats_str(c, "by"));
    dolor_cli_free_list(want);
    return s;
}

dolor_status stats_load(const stats_ctx *c, stats_data *d, int need_by)
{
    memset(d, 0, sizeof *d);
    if (!c->file)
        return dolor_error(DOLOR_EINVAL, "no CSV file given");
    dolor_status s = dolor_csv_read(c->file, &d->csv);
    if (s)
        return s;
    if (need_by) {
        const char *by = stats_str(c, "by");
        if (!by)
            return dolor_error(DOLOR_EINVAL, "--by GROUP_COLUMN is required for '%s'", c->cmd->name);
        if ((s = dolor_csv_factor(d->csv, by, &d->glev, &d->k, &d->gcode)))
            return s;
        return order_groups(c, d);
    }
    return DOLOR_OK;
}

dolor_status stats_grouped(const stats_data *d, const char *col, double **y, int **g, size_t *n, size_t **cnt,
                           int min_groups)
{
    double *v;
    *y = NULL;
    *g = NULL;
    *cnt = NULL;
    *n = 0;
    dolor_status s = dolor_csv_numeric(d->csv, col, &v);
    if (s)
        return s;
    *y = malloc((d->csv->nrow + 1) * sizeof **y);
    *g = malloc((d->csv->nrow + 1) * sizeof **g);
    *cnt = calloc((size_t)d->k + 1, sizeof **cnt);
    if (!*y || !*g || !*cnt) {
        free(v);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < d->csv->nrow; i++)
        if (d->gcode[i] >= 0 && !isnan(v[i])) {
            (*y)[*n] = v[i];
            (*g)[*n] = d->gcode[i];
            (*cnt)[d->gcode[i]]++;
            (*n)++;
        }
    free(v);
    if (d->k < min_groups)
        return dolor_error(DOLOR_ENUMERIC, "%s: group column has %d level(s); need at least %d", d->csv->path, d->k,
                           min_groups);
    for (int j = 0; j < d->k; j++)
        if ((*cnt)[j] == 0)
            return dolor_error(DOLOR_ENUMERIC, "%s: column '%s' has no values in group '%s'", d->csv->path, col,
                               d->glev[j]);
    return DOLOR_OK;
}

dolor_status stats_two_groups(const stats_data *d, const char *col, double **a, size_t *na, double **b,
                              size_t *nb)
{
    double *y;
    int *g;
    size_t n, *cnt;
    *a = *b = NULL;
    dolor_status s = stats_grouped(d, col, &y, &g, &n, &cnt, 2);
    if (!s && d->k != 2)
        s = dolor_error(DOLOR_EINVAL, "%s: group column has %d levels; this test needs exactly 2 (or --levels A,B)",
                        d->csv->path, d->k);
    if (!s) {
        *a = malloc((cnt[0] + 1) * sizeof **a);
        *b = malloc((cnt[1] + 1) * sizeof **b);
        *na = *nb = 0;
        if (!*a || !*b)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        for (size_t i = 0; !s && i < n; i++) {
            if (g[i] == 0)
                (*a)[(*na)++] = y[i];
            else
                (*b)[(*nb)++] = y[i];
        }
    }
    free(y);
    free(g);
    free(cnt);
    return s;
}

dolor_status stats_pairs(const stats_data *d, const char *ca, const char *cb, double **a, double **b, size_t *n)
{
    double *va = NULL, *vb = NULL;
    dolor_status s = dolor_csv_numeric(d->csv, ca, &va);
    if (!s)
        s = dolor_csv_numeric(d->csv, cb, &vb);
    *a = *b = NULL;
    *n = 0;
    if (!s) {
        *a = malloc((d->csv->nrow + 1) * sizeof **a);
        *b = malloc((d->csv->nrow + 1) * sizeof **b);
        if (!*a || !*b)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        for (size_t i = 0; !s && i < d->csv->nrow; i++)
            if (!isnan(va[i]) && !isnan(vb[i])) {
                (*a)[*n] = va[i];
                (*b)[*n] = vb[i];
                (*n)++;
            }
    }
    free(va);
    free(vb);
    return s;
}

dolor_status stats_column_complete(const dolor_csv *t, const char *name, double **out)
{
    *out = NULL;
    double *v;
    dolor_status s = dolor_csv_numeric(t, name, &v);
    if (s)
        return s;
    if (t->nrow == 0) {
        free(v);
        return dolor_error(DOLOR_ENUMERIC, "%s: no data rows", t->path);
    }
    for (size_t r = 0; r < t->nrow; r++)
        if (isnan(v[r])) {
            free(v);
            return dolor_error(DOLOR_ENUMERIC, "%s: column '%s', row %zu is empty", t->path, name, r + 1);
        }
    *out = v;
    return DOLOR_OK;
}

dolor_status stats_prefix_column(dolor_status s, const char *col)
{
    char tag[512];
    snprintf(tag, sizeof tag, "column '%s'", col);
    return strstr(dolor_errmsg(), tag) ? s : dolor_error_prefix(s, "%s", tag);
}

int stats_done(stats_ctx *c, dolor_status s, stats_data *d)
{
    if (d)
        stats_data_free(d);
    return s ? dolor_cli_fail(c->name, s) : DOLOR_EXIT_OK;
}

/* ---- dispatch ---- */
static dolor_status write_output(const stats_ctx *c, const char *out)
{
    FILE *fp = stdout;
    dolor_outfile of;
    dolor_status s;
    if (out) {
        if ((s = dolor_outfile_open(&of, out, 1)))
            return s;
        fp = of.fp;
    }
    if (c->format == STATS_JSON)
        write_json(c, fp);
    else if (c->format == STATS_CSV)
        write_csv(c, fp);
    else
        fwrite(c->buf, 1, c->buflen, fp);
    if (out) {
        if (ferror(fp)) {
            dolor_outfile_abort(&of);
            return dolor_error(DOLOR_EIO, "%s: write error", out);
        }
        if ((s = dolor_outfile_commit(&of)))
            return s;
    } else {
        fflush(stdout);
    }
    return DOLOR_OK;
}

static int run_parsed(stats_ctx *c, const stats_cmd *cmd, int argc, char **argv);

static int run_cmd(const stats_cmd *cmd, int argc, char **argv)
{
    stats_ctx c;
    memset(&c, 0, sizeof c);
    int rc = run_parsed(&c, cmd, argc, argv);
    for (int i = 0; i < c.nowned; i++)
        free(c.owned[i]);
    free(c.owned);
    return rc;
}

static int run_parsed(stats_ctx *c, const stats_cmd *cmd, int argc, char **argv)
{
    c->cmd = cmd;
    snprintf(c->name, sizeof c->name, "stats %s", cmd->name);
    int help = 0, rc;
    dolor_status s = dolor_opts_parse(argc, argv, cmd->opts, cmd->nopts, apply_opt, c, &help, &c->pos, &c->npos);
    if (s) {
        free(c->pos);
        if (unknown_option(c))
            return DOLOR_EXIT_INPUT;
        return dolor_cli_fail(c->name, s);
    }
    if (help) {
        free(c->pos);
        cmd_help(cmd, stdout);
        return DOLOR_EXIT_OK;
    }
    if (c->npos > cmd->npos_max) {
        rc = dolor_cli_usage_error(c->name, "unexpected argument '%s' (usage: dolor stats %s %s)",
                                   c->pos[cmd->npos_max], cmd->name, cmd->usage);
        free(c->pos);
        return rc;
    }
    if (c->npos < cmd->npos_min) {
        free(c->pos);
        return dolor_cli_usage_error(c->name, "%s (usage: dolor stats %s %s)",
                                     cmd->npos_max == 2 ? "expected TYPE and one CSV file" : "no CSV file given",
                                     cmd->name, cmd->usage);
    }
    c->file = c->npos ? c->pos[c->npos - 1] : NULL;
    /* output options */
    const char *fmt = opt_index(cmd, "format") >= 0 ? stats_str(c, "format") : NULL;
    if (fmt) {
        if (!strcmp(fmt, "text"))
            c->format = STATS_TEXT;
        else if (!strcmp(fmt, "csv") && (cmd->formats & (1 << STATS_CSV)))
            c->format = STATS_CSV;
        else if (!strcmp(fmt, "json") && (cmd->formats & (1 << STATS_JSON)))
            c->format = STATS_JSON;
        else if ((!strcmp(fmt, "md") || !strcmp(fmt, "markdown")) && (cmd->formats & (1 << STATS_MARKDOWN)))
            c->format = STATS_MARKDOWN;
        else {
            free(c->pos);
            return dolor_cli_usage_error(c->name, "--format: '%s' is not text%s%s%s", fmt,
                                         cmd->formats & (1 << STATS_MARKDOWN) ? ", md" : "",
                                         cmd->formats & (1 << STATS_CSV) ? ", csv" : "",
                                         cmd->formats & (1 << STATS_JSON) ? " or json" : "");
        }
    }
    long dg = 0;
    if (opt_index(cmd, "digits") >= 0 && (s = stats_long(c, "digits", 0, 1, 17, &dg))) {
        free(c->pos);
        return dolor_cli_fail(c->name, s);
    }
    c->digits = (int)dg;
    if (dg) {
        g_digits_p = g_digits_est = g_digits_machine = (int)dg;
        g_digits_given = 1;
    }
    c->rec = calloc(1, sizeof *c->rec);
    c->fp = open_memstream(&c->buf, &c->buflen);
    if (!c->rec || !c->fp) {
        free(c->pos);
        records_free(c->rec);
        return dolor_cli_fail(c->name, dolor_error(DOLOR_ENOMEM, "out of memory"));
    }
    rc = cmd->run(c);
    fclose(c->fp);
    c->fp = NULL;
    if (rc == DOLOR_EXIT_OK) {
        const char *out = opt_index(cmd, "out") >= 0 ? stats_str(c, "out") : NULL;
        if ((s = write_output(c, out)))
            rc = dolor_cli_fail(c->name, s);
    }
    free(c->buf);
    records_free(c->rec);
    free(c->pos);
    return rc;
}

int dolor_cmd_stats(int argc, char **argv)
{
    if (argc < 2) {
        stats_help(stderr);
        return DOLOR_EXIT_INPUT;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        stats_help(stdout);
        return DOLOR_EXIT_OK;
    }
    const stats_cmd *cmd = find_cmd(sub);
    if (!cmd) {
        fprintf(stderr, "dolor stats: error: unknown test '%s'\n\n", sub);
        stats_help(stderr);
        return DOLOR_EXIT_INPUT;
    }
    return run_cmd(cmd, argc - 1, argv + 1);
}
