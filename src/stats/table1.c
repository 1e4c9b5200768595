/* Study tables: "Table 1" (baseline characteristics by group with the test
 * chosen per variable, SPSS-style) and within-group changes from baseline;
 * rendering as plain text, Markdown or CSV. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

const char *dolor_test_kind_name(dolor_test_kind k)
{
    switch (k) {
    case DOLOR_TEST_STUDENT_T: return "Student t";
    case DOLOR_TEST_WELCH_T: return "Welch t";
    case DOLOR_TEST_MANN_WHITNEY: return "Mann-Whitney U";
    case DOLOR_TEST_ANOVA: return "one-way ANOVA";
    case DOLOR_TEST_WELCH_ANOVA: return "Welch ANOVA";
    case DOLOR_TEST_KRUSKAL: return "Kruskal-Wallis";
    case DOLOR_TEST_CHISQ: return "chi-square";
    case DOLOR_TEST_FISHER: return "Fisher exact";
    case DOLOR_TEST_PAIRED_T: return "paired t";
    case DOLOR_TEST_WILCOXON_SIGNED: return "Wilcoxon signed rank";
    default: return "-";
    }
}

void dolor_table_free(dolor_table *t)
{
    if (!t)
        return;
    if (t->cells)
        for (int i = 0; i < t->nrow * t->ncol; i++)
            free(t->cells[i]);
    for (int i = 0; i < t->nnotes; i++)
        free(t->notes[i]);
    free(t->cells);
    free(t->notes);
    free(t->title);
    free(t);
}

void dolor_table1_rows_free(dolor_table1_row *rows, int nrows)
{
    if (!rows)
        return;
    for (int i = 0; i < nrows; i++)
        free(rows[i].label);
    free(rows);
}

/* ---- small builders (allocation failures set a flag checked at the end) ---- */
typedef struct {
    dolor_table *t;
    int rcap, ncap;
    dolor_table1_row *rows;
    int nrows, rowcap;
    int oom;
    const char *variants[32]; /* distinct test variants used in the current table, for its footnote */
    int nvariants;
    int spss;
    int p_digits;
} builder;

static char *xfmt(builder *b, const char *fmt, ...) DOLOR_PRINTF(2, 3);
static char *xfmt(builder *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (!s) {
        b->oom = 1;
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static dolor_table *table_new(builder *b, const char *title, int ncol)
{
    dolor_table *t = calloc(1, sizeof *t);
    if (!t) {
        b->oom = 1;
        return NULL;
    }
    t->ncol = ncol;
    t->title = title ? strdup(title) : NULL;
    b->t = t;
    b->rcap = 0;
    b->ncap = 0;
    return t;
}

/* append a row; takes ownership of cells[ncol] (NULL cells become "") */
static void add_row(builder *b, char **cells)
{
    dolor_table *t = b->t;
    for (int j = 0; j < t->ncol; j++)
        if (!cells[j])
            cells[j] = strdup("");
    if (t->nrow == b->rcap) {
        int nc = b->rcap ? b->rcap * 2 : 32;
        char **ncells = realloc(t->cells, (size_t)nc * (size_t)t->ncol * sizeof *ncells);
        if (!ncells) {
            b->oom = 1;
            for (int j = 0; j < t->ncol; j++)
                free(cells[j]);
            return;
        }
        t->cells = ncells;
        b->rcap = nc;
    }
    for (int j = 0; j < t->ncol; j++)
        t->cells[t->nrow * t->ncol + j] = cells[j];
    t->nrow++;
}

static void add_note(builder *b, char *note)
{
    dolor_table *t = b->t;
    if (!note)
        return;
    if (t->nnotes == b->ncap) {
        int nc = b->ncap ? b->ncap * 2 : 8;
        char **nn = realloc(t->notes, (size_t)nc * sizeof *nn);
        if (!nn) {
            b->oom = 1;
            free(note);
            return;
        }
        t->notes = nn;
        b->ncap = nc;
    }
    t->notes[t->nnotes++] = note;
}

/* The exact variant of a test, as a reader needs it to reproduce the p value. correct: continuity
 * correction asked for (rank tests); rxc: the table is larger than 2x2 (Fisher). */
static const char *test_variant(dolor_test_kind k, const dolor_test_result *r, int correct, int rxc)
{
    switch (k) {
    case DOLOR_TEST_STUDENT_T: return "Student t, equal variances (pooled SD)";
    case DOLOR_TEST_WELCH_T: return "Welch t, unequal variances (Welch-Satterthwaite df)";
    case DOLOR_TEST_MANN_WHITNEY:
        return r->exact ? "Mann-Whitney U, exact distribution (no ties, both groups < 50)"
               : correct ? "Mann-Whitney U, normal approximation with tie correction and continuity correction"
                         : "Mann-Whitney U, normal approximation with tie correction, no continuity correction";
    case DOLOR_TEST_ANOVA: return "one-way ANOVA, F test with pooled variance";
    case DOLOR_TEST_WELCH_ANOVA: return "Welch ANOVA, F test with Welch's df";
    case DOLOR_TEST_KRUSKAL: return "Kruskal-Wallis, chi-square approximation with tie correction";
    case DOLOR_TEST_CHISQ: return "Pearson chi-square, no continuity correction";
    case DOLOR_TEST_FISHER:
        return rxc ? "Fisher-Freeman-Halton exact test (r x c), two-sided"
                   : "Fisher exact test (2x2), two-sided: tables as or less probable than the observed";
    case DOLOR_TEST_PAIRED_T: return "paired t on the differences";
    case DOLOR_TEST_WILCOXON_SIGNED:
        return r->exact ? "Wilcoxon signed rank, exact distribution (no ties or zeros, n < 50)"
               : correct ? "Wilcoxon signed rank, normal approximation with tie correction and continuity correction"
                         : "Wilcoxon signed rank, normal approximation with tie correction, no continuity correction";
    default: return "-";
    }
}

static void note_variant(builder *b, const char *v)
{
    if (!strcmp(v, "-"))
        return;
    for (int i = 0; i < b->nvariants; i++)
        if (!strcmp(b->variants[i], v))
            return;
    if (b->nvariants < (int)(sizeof b->variants / sizeof *b->variants))
        b->variants[b->nvariants++] = v;
}

/* "Tests: A; B." naming every variant used in the current table, then forget them */
static void add_variants_note(builder *b)
{
    if (!b->nvariants)
        return;
    size_t len = 16;
    for (int i = 0; i < b->nvariants; i++)
        len += strlen(b->variants[i]) + 2;
    char *s = malloc(len);
    if (!s) {
        b->oom = 1;
        return;
    }
    strcpy(s, "Tests: ");
    for (int i = 0; i < b->nvariants; i++) {
        strcat(s, b->variants[i]);
        strcat(s, i + 1 < b->nvariants ? "; " : ".");
    }
    add_note(b, s);
    b->nvariants = 0;
}

static void add_result(builder *b, const char *label, dolor_test_kind k, double p, double p1, const char *variant)
{
    if (b->nrows == b->rowcap) {
        int nc = b->rowcap ? b->rowcap * 2 : 16;
        dolor_table1_row *nr = realloc(b->rows, (size_t)nc * sizeof *nr);
        if (!nr) {
            b->oom = 1;
            return;
        }
        b->rows = nr;
        b->rowcap = nc;
    }
    dolor_table1_row *r = &b->rows[b->nrows++];
    r->label = strdup(label);
    r->test = k;
    r->p = p;
    r->p_one_sided = p1;
    r->variant = variant;
    note_variant(b, variant);
}

/* growable note text for one row */
typedef struct {
    char s[512];
} notebuf;

static void note_add(notebuf *n, const char *fmt, ...) DOLOR_PRINTF(2, 3);
static void note_add(notebuf *n, const char *fmt, ...)
{
    size_t len = strlen(n->s);
    if (len && len + 3 < sizeof n->s) {
        strcat(n->s, "; ");
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->s + len, sizeof n->s - len, fmt, ap);
    va_end(ap);
}

static void fmt_p(const builder *b, char *buf, size_t sz, double p)
{
    if (isnan(p))
        snprintf(buf, sz, "-");
    else if (b->p_digits > 0)
        snprintf(buf, sz, "%.*g", b->p_digits, p);
    else if (p < 0.001)
        snprintf(buf, sz, "<0.001");
    else
        snprintf(buf, sz, "%.3f", p);
}

/* "= 0.026" or "< 0.001" for notes */
static const char *p_rel(double p)
{
    static _Thread_local char buf[32];
    if (p < 0.001)
        snprintf(buf, sizeof buf, "< 0.001");
    else
        snprintf(buf, sizeof buf, "= %.3f", p);
    return buf;
}

static char *summary_mean(builder *b, const double *v, size_t n, int digits)
{
    double m = dolor_stats_mean(v, n), sd = sqrt(dolor_stats_var(v, n));
    if (n < 2)
        return xfmt(b, "%.*f", digits, m);
    return xfmt(b, "%.*f \xC2\xB1 %.*f", digits, m, digits, sd);
}

static char *summary_median(builder *b, const double *v, size_t n, int digits, dolor_quantile_type q)
{
    dolor_describe d;
    if (dolor_stats_describe(v, n, 0, q, &d))
        return xfmt(b, "-");
    return xfmt(b, "%.*f [%.*f, %.*f]", digits, d.median, digits, d.p25, digits, d.p75);
}

/* One-sided warning for two-group tests. */
static void one_sided_note(notebuf *nb, const dolor_test_result *r, double alpha, double *p1)
{
    *p1 = NAN;
    if (isnan(r->p_less) || isnan(r->p_greater))
        return;
    *p1 = fmin(r->p_less, r->p_greater);
    if (r->p >= alpha && *p1 < alpha) {
        note_add(nb, "only the one-sided p (%s, p %s) is below %g", r->p_less < r->p_greater ? "less" : "greater",
                 p_rel(*p1), alpha);
    }
}

/* values of a numeric column split by group (NaN skipped) */
typedef struct {
    double *y;   /* compact non-missing values */
    int *g;      /* their group */
    size_t n;
    size_t *cnt; /* per group */
    double **by; /* per-group pointers into a second buffer */
    double *buf;
    size_t missing;
    size_t *miss_by;
} split;

static void split_free(split *s)
{
    free(s->y);
    free(s->g);
    free(s->cnt);
    free(s->by);
    free(s->buf);
    free(s->miss_by);
}

static dolor_status split_column(const dolor_csv *csv, const char *col, const int *gcode, int k,
                                 char *const *glev, split *s)
{
    memset(s, 0, sizeof *s);
    double *v;
    dolor_status st = dolor_csv_numeric(csv, col, &v);
    if (st)
        return st;
    size_t n = csv->nrow;
    s->y = malloc((n ? n : 1) * sizeof *s->y);
    s->g = malloc((n ? n : 1) * sizeof *s->g);
    s->buf = malloc((n ? n : 1) * sizeof *s->buf);
    s->cnt = calloc((size_t)k, sizeof *s->cnt);
    s->miss_by = calloc((size_t)k, sizeof *s->miss_by);
    s->by = calloc((size_t)k, sizeof *s->by);
    if (!s->y || !s->g || !s->buf || !s->cnt || !s->by || !s->miss_by) {
        free(v);
        split_free(s);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (gcode[i] < 0)
            continue;
        if (isnan(v[i])) {
            s->missing++;
            s->miss_by[gcode[i]]++;
            continue;
        }
        s->y[s->n] = v[i];
        s->g[s->n] = gcode[i];
        s->cnt[gcode[i]]++;
        s->n++;
    }
    free(v);
    size_t off = 0;
    for (int j = 0; j < k; j++) {
        if (s->cnt[j] == 0) {
            split_free(s);
            return dolor_error(DOLOR_ENUMERIC, "%s: column '%s' has no values in group '%s'", csv->path, col,
                               glev[j]);
        }
        s->by[j] = s->buf + off;
        size_t q = 0;
        for (size_t i = 0; i < s->n; i++)
            if (s->g[i] == j)
                s->by[j][q++] = s->y[i];
        off += q;
    }
    return DOLOR_OK;
}

static void missing_note(notebuf *nb, const split *s, int k, char *const *glev)
{
    if (!s->missing)
        return;
    char tmp[256] = "";
    for (int j = 0; j < k; j++)
        if (s->miss_by[j]) {
            size_t l = strlen(tmp);
            snprintf(tmp + l, sizeof tmp - l, "%s%s %zu", l ? ", " : "", glev[j], s->miss_by[j]);
        }
    note_add(nb, "missing: %s", tmp);
}

static dolor_status row_numeric(builder *b, const dolor_csv *csv, const dolor_table1_spec *sp,
                                const dolor_table1_var *var, const char *label, const int *gcode, int k,
                                char *const *glev, double alpha, int digits, dolor_quantile_type qt)
{
    split s;
    dolor_status st = split_column(csv, var->column, gcode, k, glev, &s);
    if (st)
        return st;
    notebuf nb = {{0}};
    int normal = var->type == DOLOR_VAR_CONTINUOUS;
    dolor_test_result r;
    dolor_test_kind kind;
    char pb[32];
    if (normal) {
        for (int j = 0; j < k; j++) {
            if (s.cnt[j] < 3) {
                normal = 0;
                note_add(&nb, "n < 3 in %s: normality not testable", glev[j]);
                continue;
            }
            dolor_test_result sw;
            if (s.cnt[j] > 5000) { /* beyond Shapiro-Wilk's range; the mean is normal by the CLT */
                note_add(&nb, "n > 5000 in %s: normality not tested", glev[j]);
                continue;
            }
            if (dolor_stats_shapiro(s.by[j], s.cnt[j], &sw)) {
                normal = 0;
                note_add(&nb, "constant in %s", glev[j]);
                continue;
            }
            if (sw.p < alpha) {
                normal = 0;
                note_add(&nb, "non-normal in %s (Shapiro-Wilk p %s)", glev[j], p_rel(sw.p));
            }
        }
    }
    if (normal) {
        dolor_test_result lv;
        int equal = 1;
        if (!dolor_stats_levene(s.y, s.g, s.n, k, DOLOR_LEVENE_MEAN, &lv) && lv.p < alpha) {
            equal = 0;
            note_add(&nb, "unequal variances (Levene p %s)", p_rel(lv.p));
        }
        if (k == 2) {
            kind = equal ? DOLOR_TEST_STUDENT_T : DOLOR_TEST_WELCH_T;
            st = dolor_stats_ttest(s.by[0], s.cnt[0], s.by[1], s.cnt[1], equal, 0.95, &r);
        } else if (equal) {
            dolor_anova a;
            kind = DOLOR_TEST_ANOVA;
            dolor__result_init(&r, NULL);
            st = dolor_stats_anova(s.y, s.g, s.n, k, &a, NULL, NULL);
            r.p = a.p;
            r.statistic = a.F;
        } else {
            kind = DOLOR_TEST_WELCH_ANOVA;
            st = dolor_stats_welch_anova(s.y, s.g, s.n, k, &r);
        }
    } else if (k == 2) {
        kind = DOLOR_TEST_MANN_WHITNEY; /* SPSS: Asymp. Sig., no continuity correction */
        st = dolor_stats_mannwhitney(s.by[0], s.cnt[0], s.by[1], s.cnt[1], b->spss ? 0 : -1, !b->spss, &r);
    } else {
        kind = DOLOR_TEST_KRUSKAL;
        st = dolor_stats_kruskal(s.y, s.g, s.n, k, &r);
    }
    if (st == DOLOR_ENUMERIC) { /* e.g. all values equal: no test */
        dolor__result_init(&r, NULL);
        note_add(&nb, "no test: %s", dolor_errmsg());
        kind = DOLOR_TEST_NONE;
        st = DOLOR_OK;
    }
    if (st) {
        split_free(&s);
        return dolor_error_prefix(st, "column '%s'", var->column);
    }
    double p1 = NAN;
    if (k == 2)
        one_sided_note(&nb, &r, alpha, &p1);
    missing_note(&nb, &s, k, glev);
    char **cells = calloc((size_t)b->t->ncol, sizeof *cells);
    if (!cells) {
        split_free(&s);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    int mean_sd = normal;
    cells[0] = xfmt(b, "%s, %s", label, mean_sd ? "mean \xC2\xB1 SD" : "median [P25, P75]");
    for (int j = 0; j < k; j++)
        cells[1 + j] = mean_sd ? summary_mean(b, s.by[j], s.cnt[j], digits)
                               : summary_median(b, s.by[j], s.cnt[j], digits, qt);
    fmt_p(b, pb, sizeof pb, r.p);
    cells[1 + k] = xfmt(b, "%s", pb);
    cells[2 + k] = xfmt(b, "%s", dolor_test_kind_name(kind));
    cells[3 + k] = xfmt(b, "%s", nb.s);
    add_row(b, cells);
    free(cells);
    add_result(b, label, kind, r.p, p1, test_variant(kind, &r, !b->spss, 0));
    /* ordinal: level counts below */
    if (var->type == DOLOR_VAR_ORDINAL) {
        double *lv = malloc(s.n * sizeof *lv);
        if (lv) {
            memcpy(lv, s.y, s.n * sizeof *lv);
            qsort(lv, s.n, sizeof *lv, dolor__cmp_double);
            size_t nd = 0;
            for (size_t i = 0; i < s.n; i++)
                if (i == 0 || lv[i] != lv[i - 1])
                    lv[nd++] = lv[i];
            if (nd <= 12)
                for (size_t q = 0; q < nd; q++) {
                    cells = calloc((size_t)b->t->ncol, sizeof *cells);
                    if (!cells)
                        break;
                    cells[0] = xfmt(b, "  %g", lv[q]);
                    for (int j = 0; j < k; j++) {
                        size_t c = 0;
                        for (size_t i = 0; i < s.cnt[j]; i++)
                            c += s.by[j][i] == lv[q];
                        cells[1 + j] = xfmt(b, "%zu (%.1f%%)", c, 100.0 * (double)c / (double)s.cnt[j]);
                    }
                    add_row(b, cells);
                    free(cells);
                }
            free(lv);
        }
    }
    (void)sp;
    split_free(&s);
    return DOLOR_OK;
}

static dolor_status row_categorical(builder *b, const dolor_csv *csv, const dolor_table1_var *var,
                                    const char *label, const int *gcode, int k, char *const *glev, double alpha)
{
    char **lev = NULL;
    int nl = 0, *code = NULL;
    dolor_status st = dolor_csv_factor(csv, var->column, &lev, &nl, &code);
    if (st)
        return st;
    /* counts[group][level] over rows with a group */
    double *cnt = calloc((size_t)k * (size_t)(nl ? nl : 1), sizeof *cnt);
    size_t *gn = calloc((size_t)k, sizeof *gn), *miss = calloc((size_t)k, sizeof *miss);
    int *keep = calloc((size_t)(nl ? nl : 1), sizeof *keep);
    double *tab = calloc((size_t)k * (size_t)(nl ? nl : 1), sizeof *tab);
    if (!cnt || !gn || !miss || !keep || !tab) {
        st = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < csv->nrow; i++) {
        if (gcode[i] < 0)
            continue;
        if (code[i] < 0) {
            miss[gcode[i]]++;
            continue;
        }
        cnt[(size_t)gcode[i] * (size_t)nl + (size_t)code[i]] += 1;
        gn[gcode[i]]++;
    }
    for (int j = 0; j < k; j++)
        if (gn[j] == 0) {
            st = dolor_error(DOLOR_ENUMERIC, "%s: column '%s' has no values in group '%s'", csv->path, var->column,
                             glev[j]);
            goto done;
        }
    int nk = 0;
    for (int q = 0; q < nl; q++) {
        double tot = 0;
        for (int j = 0; j < k; j++)
            tot += cnt[(size_t)j * (size_t)nl + (size_t)q];
        if (tot > 0)
            keep[nk++] = q;
    }
    for (int j = 0; j < k; j++)
        for (int q = 0; q < nk; q++)
            tab[j * nk + q] = cnt[(size_t)j * (size_t)nl + (size_t)keep[q]];
    notebuf nb = {{0}};
    dolor_test_result r;
    dolor__result_init(&r, NULL);
    dolor_test_kind kind = DOLOR_TEST_NONE;
    if (nk < 2) {
        note_add(&nb, "one level only: no test");
    } else {
        double *e = malloc((size_t)k * (size_t)nk * sizeof *e);
        if (!e) {
            st = dolor_error(DOLOR_ENOMEM, "out of memory");
            goto done;
        }
        st = dolor_stats_chisq(tab, k, nk, 0, &r, e);
        double emin = INFINITY;
        for (int i = 0; !st && i < k * nk; i++)
            emin = fmin(emin, e[i]);
        free(e);
        if (st) {
            st = dolor_error_prefix(st, "column '%s'", var->column);
            goto done;
        }
        kind = DOLOR_TEST_CHISQ;
        if (emin < 5) {
            dolor_test_result fr;
            dolor_status fs = dolor_stats_fisher(tab, k, nk, 0.95, &fr);
            if (fs == DOLOR_OK) {
                r = fr;
                kind = DOLOR_TEST_FISHER;
                note_add(&nb, "expected count < 5: Fisher exact used");
            } else if (fs == DOLOR_EUNSUPPORTED) {
                note_add(&nb, "expected count < 5 but Fisher exact not feasible: chi-square p approximate");
            } else {
                st = dolor_error_prefix(fs, "column '%s'", var->column);
                goto done;
            }
        }
    }
    double p1 = NAN;
    if (kind == DOLOR_TEST_FISHER && k == 2 && nk == 2)
        one_sided_note(&nb, &r, alpha, &p1);
    size_t msum = 0;
    for (int j = 0; j < k; j++)
        msum += miss[j];
    if (msum) {
        char tmp[256] = "";
        for (int j = 0; j < k; j++)
            if (miss[j]) {
                size_t l = strlen(tmp);
                snprintf(tmp + l, sizeof tmp - l, "%s%s %zu", l ? ", " : "", glev[j], miss[j]);
            }
        note_add(&nb, "missing: %s", tmp);
    }
    char **cells = calloc((size_t)b->t->ncol, sizeof *cells);
    if (!cells) {
        st = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    char pb[32];
    fmt_p(b, pb, sizeof pb, r.p);
    cells[0] = xfmt(b, "%s, n (%%)", label);
    cells[1 + k] = xfmt(b, "%s", pb);
    cells[2 + k] = xfmt(b, "%s", dolor_test_kind_name(kind));
    cells[3 + k] = xfmt(b, "%s", nb.s);
    add_row(b, cells);
    free(cells);
    add_result(b, label, kind, r.p, p1, test_variant(kind, &r, 0, !(k == 2 && nk == 2)));
    for (int q = 0; q < nk; q++) {
        cells = calloc((size_t)b->t->ncol, sizeof *cells);
        if (!cells) {
            st = dolor_error(DOLOR_ENOMEM, "out of memory");
            goto done;
        }
        cells[0] = xfmt(b, "  %s", lev[keep[q]]);
        for (int j = 0; j < k; j++) {
            double c = tab[j * nk + q];
            cells[1 + j] = xfmt(b, "%.0f (%.1f%%)", c, 100.0 * c / (double)gn[j]);
        }
        add_row(b, cells);
        free(cells);
    }
done:
    dolor_stats_free_strings(lev);
    free(code);
    free(cnt);
    free(gn);
    free(miss);
    free(keep);
    free(tab);
    return st;
}

static dolor_status rows_change(builder *b, const dolor_csv *csv, const dolor_table1_change *ch, const int *gcode,
                                int k, char *const *glev, double alpha, int digits, dolor_quantile_type qt)
{
    double *base = NULL, *fu = NULL, *bx = NULL, *fx = NULL, *dx = NULL;
    dolor_status st = dolor_csv_numeric(csv, ch->baseline, &base);
    if (st)
        return st;
    size_t n = csv->nrow;
    bx = malloc((n ? n : 1) * sizeof *bx);
    fx = malloc((n ? n : 1) * sizeof *fx);
    dx = malloc((n ? n : 1) * sizeof *dx);
    if (!bx || !fx || !dx) {
        st = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    for (int f = 0; f < ch->nfollowup; f++) {
        free(fu);
        fu = NULL;
        if ((st = dolor_csv_numeric(csv, ch->followup[f], &fu)))
            goto done;
        for (int j = 0; j < k; j++) {
            size_t m = 0, dropped = 0;
            for (size_t i = 0; i < n; i++) {
                if (gcode[i] != j)
                    continue;
                if (isnan(base[i]) || isnan(fu[i])) {
                    dropped++;
                    continue;
                }
                bx[m] = base[i];
                fx[m] = fu[i];
                dx[m] = fu[i] - base[i];
                m++;
            }
            if (m < 3) {
                st = dolor_error(DOLOR_ENUMERIC,
                                 "%s: '%s' vs '%s' in group '%s': %zu complete pairs; need at least 3", csv->path,
                                 ch->followup[f], ch->baseline, glev[j], m);
                goto done;
            }
            notebuf nb = {{0}};
            char pb[32];
            dolor_test_result sw, r;
            int normal = 1;
            if (m > 5000) {
                note_add(&nb, "n > 5000: normality not tested");
            } else if (dolor_stats_shapiro(dx, m, &sw)) {
                normal = 0;
                note_add(&nb, "differences constant");
            } else if (sw.p < alpha) {
                normal = 0;
                note_add(&nb, "differences non-normal (Shapiro-Wilk p %s)", p_rel(sw.p));
            }
            dolor_test_kind kind = normal ? DOLOR_TEST_PAIRED_T : DOLOR_TEST_WILCOXON_SIGNED;
            st = normal ? dolor_stats_ttest_paired(fx, bx, m, 0.95, &r)
                        : dolor_stats_wilcoxon_signed(fx, bx, m, b->spss ? 0 : -1, !b->spss, &r);
            if (st == DOLOR_ENUMERIC) {
                dolor__result_init(&r, NULL);
                note_add(&nb, "no test: %s", dolor_errmsg());
                kind = DOLOR_TEST_NONE;
                st = DOLOR_OK;
            }
            if (st)
                goto done;
            double p1;
            one_sided_note(&nb, &r, alpha, &p1);
            if (dropped)
                note_add(&nb, "%zu incomplete pair(s) excluded", dropped);
            char **cells = calloc((size_t)b->t->ncol, sizeof *cells);
            if (!cells) {
                st = dolor_error(DOLOR_ENOMEM, "out of memory");
                goto done;
            }
            cells[0] = xfmt(b, "%s vs %s", ch->followup[f], ch->baseline);
            cells[1] = xfmt(b, "%s", glev[j]);
            cells[2] = xfmt(b, "%zu", m);
            if (normal) {
                cells[3] = summary_mean(b, bx, m, digits);
                cells[4] = summary_mean(b, fx, m, digits);
                cells[5] = summary_mean(b, dx, m, digits);
            } else {
                cells[3] = summary_median(b, bx, m, digits, qt);
                cells[4] = summary_median(b, fx, m, digits, qt);
                cells[5] = summary_median(b, dx, m, digits, qt);
            }
            fmt_p(b, pb, sizeof pb, r.p);
            cells[6] = xfmt(b, "%s", pb);
            cells[7] = xfmt(b, "%s", dolor_test_kind_name(kind));
            cells[8] = xfmt(b, "%s", nb.s);
            add_row(b, cells);
            free(cells);
            char lab[512];
            snprintf(lab, sizeof lab, "%s vs %s [%s]", ch->followup[f], ch->baseline, glev[j]);
            add_result(b, lab, kind, r.p, p1, test_variant(kind, &r, !b->spss, 0));
        }
    }
done:
    free(base);
    free(fu);
    free(bx);
    free(fx);
    free(dx);
    return st;
}

dolor_status dolor_table1_build(const dolor_csv *csv, const dolor_table1_spec *spec, dolor_table **main_out,
                                dolor_table **change_out, dolor_table1_row **rows, int *nrows)
{
    *main_out = NULL;
    if (change_out)
        *change_out = NULL;
    if (rows)
        *rows = NULL;
    if (nrows)
        *nrows = 0;
    if (!csv || !spec || !spec->group)
        return dolor_error(DOLOR_EINVAL, "table 1: no CSV or no group column given");
    if (spec->nvars < 1 && spec->nchanges < 1)
        return dolor_error(DOLOR_EINVAL, "table 1: no variables given");
    double alpha = spec->alpha > 0 ? spec->alpha : 0.05;
    if (!(alpha < 1))
        return dolor_error(DOLOR_EINVAL, "table 1: alpha %g is outside (0, 1)", alpha);
    int digits = spec->digits < 0 ? 1 : spec->digits;
    if (digits > 10)
        digits = 10;
    dolor_quantile_type qt = spec->qtype ? spec->qtype : spec->spss ? DOLOR_QUANTILE_SPSS6 : DOLOR_QUANTILE_R7;
    char **glev = NULL;
    int k = 0, *gcode = NULL;
    dolor_status st = dolor_csv_factor(csv, spec->group, &glev, &k, &gcode);
    if (!st && spec->nlevels > 0)
        st = dolor_factor_reorder(&glev, &k, gcode, csv->nrow, spec->levels, spec->nlevels, !spec->levels_only,
                                  "table 1 group order", spec->group);
    if (st) {
        dolor_stats_free_strings(glev);
        free(gcode);
        return st;
    }
    builder b;
    memset(&b, 0, sizeof b);
    b.spss = spec->spss != 0;
    b.p_digits = spec->p_digits > 0 ? (spec->p_digits > 17 ? 17 : spec->p_digits) : 0;
    dolor_table *mt = NULL, *ct = NULL;
    if (k < 2) {
        st = dolor_error(DOLOR_ENUMERIC, "%s: group column '%s' has %d level(s); need at least 2", csv->path,
                         spec->group, k);
        goto fail;
    }
    size_t *gn = calloc((size_t)k, sizeof *gn);
    if (!gn) {
        st = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto fail;
    }
    size_t nogroup = 0;
    for (size_t i = 0; i < csv->nrow; i++) {
        if (gcode[i] < 0)
            nogroup++;
        else
            gn[gcode[i]]++;
    }
    /* ---- main table ---- */
    char title[512];
    snprintf(title, sizeof title, "Table 1. Characteristics by %s", spec->group);
    mt = table_new(&b, title, k + 4);
    if (!mt) {
        free(gn);
        st = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto fail;
    }
    char **cells = calloc((size_t)(k + 4), sizeof *cells);
    if (!cells) {
        free(gn);
        st = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto fail;
    }
    cells[0] = xfmt(&b, "Characteristic");
    for (int j = 0; j < k; j++)
        cells[1 + j] = xfmt(&b, "%s (n = %zu)", glev[j], gn[j]);
    cells[1 + k] = xfmt(&b, "P value");
    cells[2 + k] = xfmt(&b, "Test");
    cells[3 + k] = xfmt(&b, "Note");
    add_row(&b, cells);
    free(cells);
    free(gn);
    for (int v = 0; v < spec->nvars; v++) {
        const dolor_table1_var *var = &spec->vars[v];
        const char *label = var->label ? var->label : var->column;
        if (dolor_csv_column(csv, var->column) < 0) {
            st = dolor_error(DOLOR_ENOTFOUND, "%s: no column '%s'", csv->path, var->column);
            goto fail;
        }
        if (var->type == DOLOR_VAR_CATEGORICAL)
            st = row_categorical(&b, csv, var, label, gcode, k, glev, alpha);
        else if (var->type == DOLOR_VAR_CONTINUOUS || var->type == DOLOR_VAR_ORDINAL)
            st = row_numeric(&b, csv, spec, var, label, gcode, k, glev, alpha, digits, qt);
        else
            st = dolor_error(DOLOR_EINVAL, "column '%s': unknown variable type %d", var->column, (int)var->type);
        if (st)
            goto fail;
    }
    add_variants_note(&b);
    if (b.spss)
        add_note(&b, xfmt(&b, "SPSS preset: rank tests by SPSS's Asymp. Sig. (normal approximation with tie "
                              "correction, no continuity correction; R wilcox.test(exact = FALSE, correct = FALSE)), "
                              "quartiles by SPSS's definition."));
    add_note(&b, xfmt(&b,
                      "Continuous: mean \xC2\xB1 SD and Student t (Welch t if Levene p < %g; ANOVA / Welch ANOVA for "
                      "3+ groups) when Shapiro-Wilk p >= %g in every group, else median [P25, P75] and "
                      "Mann-Whitney U (Kruskal-Wallis for 3+ groups).",
                      alpha, alpha));
    add_note(&b, xfmt(&b, "Categorical: n (%% of the group's non-missing values); Pearson chi-square without "
                          "continuity correction when every expected count >= 5, else Fisher exact. Ordinal: "
                          "median [P25, P75], Mann-Whitney U / Kruskal-Wallis."));
    add_note(&b, xfmt(&b, "P values two-sided; quartiles by %s.",
                      qt == DOLOR_QUANTILE_SPSS6 ? "SPSS (type 6)" : "R type 7"));
    if (nogroup)
        add_note(&b, xfmt(&b, "%zu row(s) without a value of '%s'%s excluded.", nogroup, spec->group,
                          spec->levels_only && spec->nlevels > 0 ? " or in another group" : ""));
    /* ---- change table ---- */
    if (spec->nchanges > 0) {
        dolor_table *keep = b.t;
        ct = table_new(&b, "Changes from baseline within groups", 9);
        if (!ct) {
            b.t = keep;
            st = dolor_error(DOLOR_ENOMEM, "out of memory");
            goto fail;
        }
        const char *hdr[9] = {"Comparison", "Group", "n", "Baseline", "Follow-up", "Change", "P value", "Test", "Note"};
        cells = calloc(9, sizeof *cells);
        if (!cells) {
            st = dolor_error(DOLOR_ENOMEM, "out of memory");
            goto fail;
        }
        for (int j = 0; j < 9; j++)
            cells[j] = xfmt(&b, "%s", hdr[j]);
        add_row(&b, cells);
        free(cells);
        for (int c = 0; c < spec->nchanges; c++)
            if ((st = rows_change(&b, csv, &spec->changes[c], gcode, k, glev, alpha, digits, qt)))
                goto fail;
        add_note(&b, xfmt(&b,
                          "Paired t on complete pairs (mean \xC2\xB1 SD) when Shapiro-Wilk on the differences gives "
                          "p >= %g, else Wilcoxon signed rank (median [P25, P75]); Change = follow-up - baseline.",
                          alpha));
        add_variants_note(&b);
    }
    if (b.oom) {
        st = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto fail;
    }
    dolor_stats_free_strings(glev);
    free(gcode);
    *main_out = mt;
    if (change_out)
        *change_out = ct;
    else
        dolor_table_free(ct);
    if (rows) {
        *rows = b.rows;
        *nrows = b.nrows;
    } else {
        dolor_table1_rows_free(b.rows, b.nrows);
    }
    return DOLOR_OK;
fail:
    dolor_stats_free_strings(glev);
    free(gcode);
    dolor_table_free(mt);
    dolor_table_free(ct);
    dolor_table1_rows_free(b.rows, b.nrows);
    return st;
}

/* ---- rendering ---- */
static size_t disp_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

dolor_status dolor_table_write(const dolor_table *t, dolor_table_format fmt, FILE *fp)
{
    if (!t || !fp)
        return dolor_error(DOLOR_EINVAL, "table_write: no table or no stream");
    int nc = t->ncol;
    if (fmt == DOLOR_TABLE_CSV) {
        for (int i = 0; i < t->nrow; i++) {
            for (int j = 0; j < nc; j++) {
                if (j)
                    fputc(',', fp);
                dolor_csv_write_field(fp, t->cells[i * nc + j]);
            }
            fputc('\n', fp);
        }
        for (int i = 0; i < t->nnotes; i++) {
            dolor_csv_write_field(fp, t->notes[i]);
            for (int j = 1; j < nc; j++)
                fputc(',', fp);
            fputc('\n', fp);
        }
    } else if (fmt == DOLOR_TABLE_MARKDOWN) {
        if (t->title)
            fprintf(fp, "**%s**\n\n", t->title);
        for (int i = 0; i < t->nrow; i++) {
            fputc('|', fp);
            for (int j = 0; j < nc; j++) {
                fputc(' ', fp);
                const char *s = t->cells[i * nc + j];
                for (; *s == ' '; s++) /* keep the indent of level rows */
                    fputs("&nbsp;", fp);
                for (; *s; s++) {
                    if (*s == '|')
                        fputc('\\', fp);
                    fputc(*s, fp);
                }
                fputs(" |", fp);
            }
            fputc('\n', fp);
            if (i == 0) {
                fputc('|', fp);
                for (int j = 0; j < nc; j++)
                    fputs(j == 0 ? "---|" : "---|", fp);
                fputc('\n', fp);
            }
        }
        if (t->nnotes)
            fputc('\n', fp);
        for (int i = 0; i < t->nnotes; i++)
            fprintf(fp, "%s%s\n", t->notes[i], i + 1 < t->nnotes ? "  " : "");
    } else if (fmt == DOLOR_TABLE_TEXT) {
        size_t *w = calloc((size_t)nc, sizeof *w);
        if (!w)
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        for (int i = 0; i < t->nrow; i++)
            for (int j = 0; j < nc; j++) {
                size_t d = disp_width(t->cells[i * nc + j]);
                if (d > w[j])
                    w[j] = d;
            }
        size_t tot = 0;
        for (int j = 0; j < nc; j++)
            tot += w[j] + (j ? 2 : 0);
        if (t->title)
            fprintf(fp, "%s\n", t->title);
        for (int i = 0; i < t->nrow; i++) {
            for (int j = 0; j < nc; j++) {
                const char *c = t->cells[i * nc + j];
                if (j)
                    fputs("  ", fp);
                fputs(c, fp);
                if (j + 1 < nc)
                    for (size_t q = disp_width(c); q < w[j]; q++)
                        fputc(' ', fp);
            }
            fputc('\n', fp);
            if (i == 0) {
                for (size_t q = 0; q < tot; q++)
                    fputc('-', fp);
                fputc('\n', fp);
            }
        }
        for (int i = 0; i < t->nnotes; i++)
            fprintf(fp, "%s%s\n", i == 0 ? "\n" : "", t->notes[i]);
        free(w);
    } else {
        return dolor_error(DOLOR_EINVAL, "table format %d is unknown", (int)fmt);
    }
    if (ferror(fp))
        return dolor_error(DOLOR_EIO, "write error");
    return DOLOR_OK;
}
