/* dolor stats score odi|joa|sf36|vas|macnab: clinical scores per patient (src/clinical).
 *
 * Every cell is validated before anything is scored (a value outside its item's range or text is an error
 * naming the file, row, column and value: exit 2, nothing written). A score that its instrument declares
 * invalid (ODI with more blank sections than --max-missing, JOA with a blank required item, an SF-36 scale with
 * no item answered, a blank VAS) is NA for that patient, with the reason in the `reason` column and a warning on
 * stderr. The output is written whole once every row is scored. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dolor/clinical.h"
#include "stats_cli.h"

typedef enum { SC_ODI, SC_JOA, SC_SF36, SC_VAS, SC_MACNAB } score_kind;

static int run_macnab(stats_ctx *c, const dolor_csv *t, const char *col, double conf)
{
    int ci = dolor_csv_column(t, col);
    dolor_status s = DOLOR_OK;
    dolor_macnab *grades = NULL;
    if (ci < 0)
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no column '%s'", t->path, col);
    if (!s && !(grades = malloc((t->nrow ? t->nrow : 1) * sizeof *grades)))
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
    for (size_t r = 0; !s && r < t->nrow; r++) {
        const char *cell = t->cells[r * (size_t)t->ncol + (size_t)ci];
        if ((s = dolor_macnab_parse(cell ? cell : "", &grades[r])))
            dolor_error_prefix(s, "%s: column '%s', row %zu", t->path, col, r + 1);
    }
    dolor_macnab_summary m;
    if (!s && (s = dolor_macnab_summarise(grades, t->nrow, conf, DOLOR_CI_WILSON, &m)))
        dolor_error_prefix(s, "%s", t->path);
    if (!s) {
        fprintf(c->fp, "MacNab criteria (%s, n = %zu)\n", col, m.n);
        for (int g = 1; g <= 4; g++) {
            fprintf(c->fp, "  %-10s %5zu  (%.1f%%)\n", dolor_macnab_name((dolor_macnab)g), m.count[g],
                    100.0 * (double)m.count[g] / (double)m.n);
            out_record(c);
            out_str(c, "grade", dolor_macnab_name((dolor_macnab)g));
            out_int(c, "n", (long)m.count[g]);
        }
        fprintf(c->fp, "excellent + good: %zu/%zu = %.1f%%, Wilson %g%% CI %.1f%% .. %.1f%%\n", m.success.x,
                m.success.n, 100 * m.success.estimate, conf * 100, 100 * m.success.lower, 100 * m.success.upper);
        out_record(c);
        out_str(c, "grade", "excellent + good");
        out_int(c, "n", (long)m.success.x);
        out_num(c, "proportion", m.success.estimate);
        out_num(c, "ci_lower", m.success.lower);
        out_num(c, "ci_upper", m.success.upper);
    }
    free(grades);
    return stats_done(c, s, NULL);
}

/* the item columns of an instrument (names[i]); JOA's bladder may be absent (not assessed) */
static dolor_status item_columns(const dolor_csv *t, score_kind kind, const char *prefix, const char *col,
                                 int nitems, char names[][96], double **cols)
{
    for (int i = 0; i < nitems; i++) {
        if (kind == SC_ODI)
            snprintf(names[i], 96, "%s%d", prefix ? prefix : "odi", i + 1);
        else if (kind == SC_SF36)
            snprintf(names[i], 96, "%s%d", prefix ? prefix : "sf", i + 1);
        else if (kind == SC_JOA)
            snprintf(names[i], 96, "%s%s", prefix ? prefix : "", dolor_joa_item_name(i));
        else
            snprintf(names[i], 96, "%s", col);
        if (kind == SC_JOA && i == DOLOR_JOA_ITEMS - 1 && dolor_csv_column(t, names[i]) < 0) {
            cols[i] = malloc((t->nrow ? t->nrow : 1) * sizeof **cols);
            if (!cols[i])
                return dolor_error(DOLOR_ENOMEM, "out of memory");
            for (size_t r = 0; r < t->nrow; r++)
                cols[i][r] = NAN;
            continue;
        }
        dolor_status s = dolor_csv_numeric(t, names[i], &cols[i]);
        if (s)
            return s;
    }
    return DOLOR_OK;
}

/* pass 1: every answered item in its range (blanks are checked in pass 2) */
static dolor_status validate_row(score_kind kind, const double *items, int nitems, double scalemax,
                                 const char *col)
{
    double filled[DOLOR_SF36_ITEMS];
    for (int i = 0; i < nitems; i++)
        filled[i] = isnan(items[i]) && !(kind == SC_JOA && i == DOLOR_JOA_ITEMS - 1) ? 0 : items[i];
    double v;
    dolor_odi_result o;
    dolor_joa_result j;
    dolor_sf36_result f;
    switch (kind) {
    case SC_ODI: return dolor_odi_score(filled, DOLOR_ODI_SECTIONS - 1, &o);
    case SC_JOA: return dolor_joa_score(filled, &j);
    case SC_SF36: return dolor_sf36_score(items, &f);
    case SC_VAS: return isnan(items[0]) ? DOLOR_OK : dolor_vas_score(items[0], scalemax, col, &v);
    case SC_MACNAB: break;
    }
    return DOLOR_OK;
}

static void cell_num(stats_ctx *c, const char *key, double v, int csv)
{
    if (csv) {
        if (!isnan(v))
            fprintf(c->fp, "%.10g", v);
        fputc(',', c->fp);
    }
    out_num(c, key, v);
}

static int run_score(stats_ctx *c)
{
    const char *type = c->pos[0], *idcol = stats_str(c, "id"), *prefix = stats_str(c, "prefix");
    const char *col = stats_str(c, "col");
    long maxmiss;
    double scalemax, conf;
    score_kind kind;
    dolor_csv *t = NULL;
    double *cols[DOLOR_SF36_ITEMS] = {0};
    char names[DOLOR_SF36_ITEMS][96];
    int nitems = 0, idc = -1;
    dolor_status s = stats_long(c, "max-missing", DOLOR_ODI_MAX_MISSING, 0, 9, &maxmiss);
    if (!s)
        s = stats_num(c, "scale-max", 10, 0, 1e9, 1, 0, &scalemax);
    if (!s)
        s = stats_conf(c, &conf);
    if (s)
        return stats_done(c, s, NULL);
    if (!strcmp(type, "odi"))
        kind = SC_ODI;
    else if (!strcmp(type, "joa"))
        kind = SC_JOA;
    else if (!strcmp(type, "sf36") || !strcmp(type, "sf-36"))
        kind = SC_SF36;
    else if (!strcmp(type, "vas"))
        kind = SC_VAS;
    else if (!strcmp(type, "macnab"))
        kind = SC_MACNAB;
    else
        return dolor_cli_usage_error(c->name, "unknown score type '%s' (odi, joa, sf36, vas, macnab)", type);
    if ((kind == SC_VAS || kind == SC_MACNAB) && !col)
        return dolor_cli_usage_error(c->name, "%s needs --col COL", type);
    char mode[64];
    snprintf(mode, sizeof mode, "by the %s score", type);
    s = kind == SC_ODI      ? stats_reject(c, mode, "col", "scale-max", "conf", NULL)
        : kind == SC_JOA    ? stats_reject(c, mode, "col", "max-missing", "scale-max", "conf", NULL)
        : kind == SC_SF36   ? stats_reject(c, mode, "col", "max-missing", "scale-max", "conf", NULL)
        : kind == SC_VAS    ? stats_reject(c, mode, "prefix", "max-missing", "conf", NULL)
                            : stats_reject(c, mode, "prefix", "max-missing", "scale-max", "id", NULL);
    if (s)
        return stats_done(c, s, NULL);
    if ((s = dolor_csv_read(c->file, &t)))
        return stats_done(c, s, NULL);
    if (kind == SC_MACNAB) {
        int rc = run_macnab(c, t, col, conf);
        dolor_csv_free(t);
        return rc;
    }
    if (idcol && (idc = dolor_csv_column(t, idcol)) < 0)
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no column '%s'", t->path, idcol);
    nitems = kind == SC_ODI ? DOLOR_ODI_SECTIONS : kind == SC_JOA ? DOLOR_JOA_ITEMS : kind == SC_SF36 ? DOLOR_SF36_ITEMS : 1;
    if (!s)
        s = item_columns(t, kind, prefix, col, nitems, names, cols);
    double items[DOLOR_SF36_ITEMS];
    for (size_t r = 0; !s && r < t->nrow; r++) { /* pass 1: validate every cell */
        for (int i = 0; i < nitems; i++)
            items[i] = cols[i][r];
        if ((s = validate_row(kind, items, nitems, scalemax, col)))
            dolor_error_prefix(s, "%s: row %zu (line %zu)", t->path, r + 1, t->line ? t->line[r] : r + 2);
    }
    int csv = c->format != STATS_JSON;
    if (!s && csv) {
        fprintf(c->fp, "%s", idc >= 0 ? idcol : "row");
        if (kind == SC_ODI)
            fprintf(c->fp, ",odi_percent,odi_sum,odi_answered,odi_category");
        else if (kind == SC_JOA)
            fprintf(c->fp, ",joa_subjective,joa_signs,joa_adl,joa_bladder,joa_total");
        else if (kind == SC_SF36) {
            for (int sc = 0; sc < DOLOR_SF36_NSCALES; sc++)
                fprintf(c->fp, ",%s", dolor_sf36_scale_name((dolor_sf36_scale)sc));
            fprintf(c->fp, ",health_change");
        } else
            fprintf(c->fp, ",vas_0_10");
        fprintf(c->fp, ",reason\n");
    }
    size_t nna = 0;
    for (size_t r = 0; !s && r < t->nrow; r++) { /* pass 2: score, NA where the instrument says so */
        char id[256], reason[512] = "";
        const char *cell = idc >= 0 ? t->cells[r * (size_t)t->ncol + (size_t)idc] : NULL;
        if (idc >= 0)
            snprintf(id, sizeof id, "%s", cell ? cell : "");
        else
            snprintf(id, sizeof id, "%zu", r + 1);
        for (int i = 0; i < nitems; i++)
            items[i] = cols[i][r];
        out_record(c);
        out_str(c, idc >= 0 ? idcol : "row", id);
        if (csv) {
            dolor_csv_write_field(c->fp, id);
            fputc(',', c->fp);
        }
        if (kind == SC_ODI) {
            int blank = 0;
            for (int i = 0; i < nitems; i++)
                blank += isnan(items[i]);
            dolor_odi_result x;
            if (blank > maxmiss) {
                snprintf(reason, sizeof reason, "%d of 10 sections blank (at most %ld allowed)", blank, maxmiss);
                if (csv)
                    fprintf(c->fp, ",,%d,,", 10 - blank);
                out_num(c, "odi_percent", NAN);
                out_int(c, "odi_answered", 10 - blank);
            } else if ((s = dolor_odi_score(items, (int)maxmiss, &x))) {
                break;
            } else {
                cell_num(c, "odi_percent", x.percent, csv);
                if (csv)
                    fprintf(c->fp, "%d,%d,%s,", x.sum, x.answered, x.category);
                out_int(c, "odi_sum", x.sum);
                out_int(c, "odi_answered", x.answered);
                out_str(c, "odi_category", x.category);
            }
        } else if (kind == SC_JOA) {
            int blank = -1;
            for (int i = 0; i < DOLOR_JOA_ITEMS - 1 && blank < 0; i++)
                if (isnan(items[i]))
                    blank = i;
            dolor_joa_result x;
            if (blank >= 0) {
                snprintf(reason, sizeof reason, "item %d (%s) blank", blank + 1, dolor_joa_item_name(blank));
                if (csv)
                    fprintf(c->fp, ",,,,,");
                out_num(c, "joa_total", NAN);
            } else if ((s = dolor_joa_score(items, &x))) {
                break;
            } else {
                if (csv) {
                    fprintf(c->fp, "%d,%d,%d,", x.subjective, x.signs, x.adl);
                    if (x.bladder_assessed)
                        fprintf(c->fp, "%d", x.bladder);
                    fprintf(c->fp, ",%d,", x.total);
                }
                out_int(c, "joa_subjective", x.subjective);
                out_int(c, "joa_signs", x.signs);
                out_int(c, "joa_adl", x.adl);
                if (x.bladder_assessed)
                    out_int(c, "joa_bladder", x.bladder);
                out_int(c, "joa_total", x.total);
            }
        } else if (kind == SC_SF36) {
            dolor_sf36_result x;
            if ((s = dolor_sf36_score(items, &x)))
                break;
            for (int sc = 0; sc < DOLOR_SF36_NSCALES; sc++) {
                const char *nm = dolor_sf36_scale_name((dolor_sf36_scale)sc);
                cell_num(c, nm, x.scale[sc], csv);
                if (isnan(x.scale[sc]))
                    snprintf(reason + strlen(reason), sizeof reason - strlen(reason), "%s%s: no item answered",
                             reason[0] ? "; " : "", nm);
            }
            cell_num(c, "health_change", x.health_change, csv);
        } else {
            double v = NAN;
            if (isnan(items[0]))
                snprintf(reason, sizeof reason, "blank");
            else if ((s = dolor_vas_score(items[0], scalemax, col, &v)))
                break;
            cell_num(c, "vas_0_10", v, csv);
        }
        if (reason[0]) {
            nna++;
            out_warn(c, "%s: row %zu (%s): %s not scored: %s", t->path, r + 1, id, type, reason);
        }
        out_str(c, "reason", reason[0] ? reason : NULL);
        if (csv) {
            dolor_csv_write_field(c->fp, reason);
            fputc('\n', c->fp);
        }
    }
    if (s && !strstr(dolor_errmsg(), t->path))
        dolor_error_prefix(s, "%s", t->path);
    for (int i = 0; i < nitems; i++)
        free(cols[i]);
    dolor_csv_free(t);
    c->format = c->format == STATS_JSON ? STATS_JSON : STATS_TEXT; /* csv: the buffer holds it */
    return stats_done(c, s, NULL);
}

static const dolor_opt_spec score_opts[] = {
    {.name = "id", .type = OPT_STR, .metavar = "COL", .help = "column that identifies the patient (default: the row number)"},
    {.name = "prefix", .type = OPT_STR, .help = "item columns are PREFIX1..PREFIX10 (odi), PREFIX1..36 (sf36)"},
    {.name = "max-missing", .type = OPT_INT, .def = "2", DOLOR_OPT_RANGE(0, 9), .help = "odi: blank sections allowed"},
    {.name = "scale-max", .type = OPT_NUM, .def = "10", .help = "vas: length of the line (10 = cm, 100 = mm)"},
    {.name = "col", .type = OPT_STR, .metavar = "COL", .help = "vas, macnab: the column"},
    STATS_OPT_CONF,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_score = {
    .name = "score",
    .topic = "clinical scores",
    .usage = "odi|joa|sf36|vas|macnab FILE.csv [--id COL] [--out OUT.csv] [options]",
    .summary = "ODI, JOA, SF-36 (RAND), VAS per patient; MacNab rates with CI (docs/clinical.md)",
    .details = "Item columns (blank or NA = left blank): odi: odi1..odi10, each 0..5; joa: low_back_pain leg_pain\n"
               "gait slr sensory motor adl_turn_over adl_standing adl_washing adl_leaning_forward adl_sitting\n"
               "adl_lifting adl_walking [bladder]; sf36: sf1..sf36; vas, macnab: --col. One CSV row per patient;\n"
               "a score the instrument declares invalid is empty with the reason in the last column.\n",
    .opts = score_opts,
    .nopts = sizeof score_opts / sizeof *score_opts,
    .npos_min = 2,
    .npos_max = 2,
    .formats = STATS_FORMATS,
    .run = run_score,
};
