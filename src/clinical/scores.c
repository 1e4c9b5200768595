/* Clinical outcome scores: VAS, ODI, JOA low-back score, SF-36 (RAND 36-Item
 * Health Survey 1.0), MacNab criteria. See include/dolor/clinical.h and
 * docs/clinical.md. */
#include "dolor/clinical.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* 1 if v is an integer in lo..hi */
static int int_in(double v, int lo, int hi)
{
    return isfinite(v) && v == floor(v) && v >= lo && v <= hi;
}

/* ------------------------------------------------------------------ VAS */

dolor_status dolor_vas_score(double value, double scale_max, const char *item, double *out)
{
    const char *name = item ? item : "VAS";
    if (!out)
        return dolor_error(DOLOR_EINVAL, "%s: NULL output", name);
    if (!(scale_max > 0.0) || !isfinite(scale_max))
        return dolor_error(DOLOR_EINVAL, "%s: scale maximum %g must be > 0", name, scale_max);
    if (isnan(value))
        return dolor_error(DOLOR_EINVAL, "%s: value is missing", name);
    if (!(value >= 0.0 && value <= scale_max))
        return dolor_error(DOLOR_EINVAL, "%s: %g is outside 0..%g", name, value, scale_max);
    *out = value * 10.0 / scale_max;
    return DOLOR_OK;
}

/* ------------------------------------------------------------------ ODI */

static const char *odi_names[DOLOR_ODI_SECTIONS] = {"pain intensity", "personal care", "lifting", "walking",
                                                    "sitting",        "standing",      "sleeping", "sex life",
                                                    "social life",    "travelling"};

const char *dolor_odi_section_name(int i)
{
    return i >= 1 && i <= DOLOR_ODI_SECTIONS ? odi_names[i - 1] : "?";
}

dolor_status dolor_odi_score(const double sections[DOLOR_ODI_SECTIONS], int max_missing, dolor_odi_result *out)
{
    if (!sections || !out)
        return dolor_error(DOLOR_EINVAL, "ODI: NULL argument");
    if (max_missing < 0 || max_missing > DOLOR_ODI_SECTIONS - 1)
        return dolor_error(DOLOR_EINVAL, "ODI: max_missing %d is outside 0..9", max_missing);
    int sum = 0, answered = 0;
    for (int i = 0; i < DOLOR_ODI_SECTIONS; i++) {
        double v = sections[i];
        if (isnan(v))
            continue;
        if (!int_in(v, 0, 5))
            return dolor_error(DOLOR_EINVAL, "ODI section %d (%s): %g is outside 0..5", i + 1, odi_names[i], v);
        sum += (int)v;
        answered++;
    }
    int missing = DOLOR_ODI_SECTIONS - answered;
    if (missing > max_missing)
        return dolor_error(DOLOR_EINVAL, "ODI: %d of 10 sections are blank (at most %d allowed)", missing,
                           max_missing);
    memset(out, 0, sizeof *out);
    out->sum = sum;
    out->answered = answered;
    out->missing = missing;
    out->percent = (double)sum / (5.0 * answered) * 100.0;
    double p = out->percent;
    out->category = p <= 20.0   ? "minimal disability"
                    : p <= 40.0 ? "moderate disability"
                    : p <= 60.0 ? "severe disability"
                    : p <= 80.0 ? "crippled"
                                : "bed-bound";
    return DOLOR_OK;
}

/* ------------------------------------------------------------------ JOA */

static const struct {
    const char *name;
    int lo, hi;
} joa_items[DOLOR_JOA_ITEMS] = {
    {"low_back_pain", 0, 3},  {"leg_pain", 0, 3},       {"gait", 0, 3},
    {"slr", 0, 2},            {"sensory", 0, 2},        {"motor", 0, 2},
    {"adl_turn_over", 0, 2},  {"adl_standing", 0, 2},   {"adl_washing", 0, 2},
    {"adl_leaning_forward", 0, 2}, {"adl_sitting", 0, 2}, {"adl_lifting", 0, 2},
    {"adl_walking", 0, 2},    {"bladder", -6, 0},
};

const char *dolor_joa_item_name(int i)
{
    return i >= 0 && i < DOLOR_JOA_ITEMS ? joa_items[i].name : "?";
}

dolor_status dolor_joa_score(const double items[DOLOR_JOA_ITEMS], dolor_joa_result *out)
{
    if (!items || !out)
        return dolor_error(DOLOR_EINVAL, "JOA: NULL argument");
    int v[DOLOR_JOA_ITEMS] = {0};
    for (int i = 0; i < DOLOR_JOA_ITEMS - 1; i++) {
        if (isnan(items[i]))
            return dolor_error(DOLOR_EINVAL, "JOA item %d (%s) is missing", i + 1, joa_items[i].name);
        if (!int_in(items[i], joa_items[i].lo, joa_items[i].hi))
            return dolor_error(DOLOR_EINVAL, "JOA item %d (%s): %g is outside %d..%d", i + 1, joa_items[i].name,
                               items[i], joa_items[i].lo, joa_items[i].hi);
        v[i] = (int)items[i];
    }
    double b = items[DOLOR_JOA_ITEMS - 1];
    int assessed = !isnan(b);
    if (assessed) {
        if (b != 0.0 && b != -3.0 && b != -6.0)
            return dolor_error(DOLOR_EINVAL, "JOA item 14 (bladder): %g is not 0, -3 or -6", b);
        v[DOLOR_JOA_ITEMS - 1] = (int)b;
    }
    memset(out, 0, sizeof *out);
    out->subjective = v[0] + v[1] + v[2];
    out->signs = v[3] + v[4] + v[5];
    for (int i = 6; i <= 12; i++)
        out->adl += v[i];
    out->bladder = v[13];
    out->bladder_assessed = assessed;
    out->total = out->subjective + out->signs + out->adl + out->bladder;
    return DOLOR_OK;
}

dolor_status dolor_joa_recovery_rate(double pre, double post, double *out)
{
    if (!out)
        return dolor_error(DOLOR_EINVAL, "JOA recovery rate: NULL output");
    if (!(pre >= -6.0 && pre <= 29.0))
        return dolor_error(DOLOR_EINVAL, "JOA recovery rate: pre-treatment score %g is outside -6..29", pre);
    if (!(post >= -6.0 && post <= 29.0))
        return dolor_error(DOLOR_EINVAL, "JOA recovery rate: post-treatment score %g is outside -6..29", post);
    if (pre == 29.0)
        return dolor_error(DOLOR_EINVAL, "JOA recovery rate: pre-treatment score is 29 (the maximum): undefined");
    *out = (post - pre) / (29.0 - pre) * 100.0;
    return DOLOR_OK;
}

/* ------------------------------------------------------------------ SF-36 */

/* RAND 36-Item Health Survey 1.0, Table 1: recode rule per question.
 * 'A' 5 choices 100..0 step 25; 'B' 3 choices 0, 50, 100; 'C' 2 choices 0, 100;
 * 'D' 6 choices 100..0 step 20; 'E' 6 choices 0..100 step 20; 'F' 5 choices
 * 0..100 step 25. */
static char sf36_rule(int q)
{
    switch (q) {
    case 1: case 2: case 20: case 22: case 34: case 36: return 'A';
    case 21: case 23: case 26: case 27: case 30: return 'D';
    case 24: case 25: case 28: case 29: case 31: return 'E';
    case 32: case 33: case 35: return 'F';
    default:
        if (q >= 3 && q <= 12)
            return 'B';
        if (q >= 13 && q <= 19)
            return 'C';
        return 0;
    }
}

int dolor_sf36_item_choices(int q)
{
    switch (sf36_rule(q)) {
    case 'A': case 'F': return 5;
    case 'B': return 3;
    case 'C': return 2;
    case 'D': case 'E': return 6;
    default: return 0;
    }
}

static double sf36_recode(int q, int a)
{
    switch (sf36_rule(q)) {
    case 'A': return 100.0 - 25.0 * (a - 1);
    case 'B': return 50.0 * (a - 1);
    case 'C': return 100.0 * (a - 1);
    case 'D': return 100.0 - 20.0 * (a - 1);
    case 'E': return 20.0 * (a - 1);
    case 'F': return 25.0 * (a - 1);
    default: return NAN;
    }
}

static const char *sf36_names[DOLOR_SF36_NSCALES] = {
    "physical_functioning", "role_physical",      "role_emotional", "energy_fatigue",
    "emotional_wellbeing",  "social_functioning", "pain",           "general_health"};

/* RAND Table 2: questions of each scale, 0-terminated */
static const int sf36_scale_items[DOLOR_SF36_NSCALES][11] = {
    {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0},
    {13, 14, 15, 16, 0},
    {17, 18, 19, 0},
    {23, 27, 29, 31, 0},
    {24, 25, 26, 28, 30, 0},
    {20, 32, 0},
    {21, 22, 0},
    {1, 33, 34, 35, 36, 0},
};

const char *dolor_sf36_scale_name(dolor_sf36_scale s)
{
    return (int)s >= 0 && s < DOLOR_SF36_NSCALES ? sf36_names[s] : "?";
}

dolor_status dolor_sf36_score(const double items[DOLOR_SF36_ITEMS], dolor_sf36_result *out)
{
    if (!items || !out)
        return dolor_error(DOLOR_EINVAL, "SF-36: NULL argument");
    double rec[DOLOR_SF36_ITEMS + 1];
    for (int q = 1; q <= DOLOR_SF36_ITEMS; q++) {
        double v = items[q - 1];
        if (isnan(v)) {
            rec[q] = NAN;
            continue;
        }
        int k = dolor_sf36_item_choices(q);
        if (!int_in(v, 1, k))
            return dolor_error(DOLOR_EINVAL, "SF-36 question %d: %g is not an answer 1..%d", q, v, k);
        rec[q] = sf36_recode(q, (int)v);
    }
    memset(out, 0, sizeof *out);
    for (int s = 0; s < DOLOR_SF36_NSCALES; s++) {
        double sum = 0.0;
        int cnt = 0;
        for (const int *q = sf36_scale_items[s]; *q; q++)
            if (!isnan(rec[*q])) {
                sum += rec[*q];
                cnt++;
            }
        out->answered[s] = cnt;
        out->scale[s] = cnt ? sum / cnt : NAN;
    }
    out->health_change = rec[2];
    return DOLOR_OK;
}

/* ------------------------------------------------------------------ MacNab */

const char *dolor_macnab_name(dolor_macnab g)
{
    switch (g) {
    case DOLOR_MACNAB_EXCELLENT: return "excellent";
    case DOLOR_MACNAB_GOOD: return "good";
    case DOLOR_MACNAB_FAIR: return "fair";
    case DOLOR_MACNAB_POOR: return "poor";
    }
    return "?";
}

dolor_status dolor_macnab_parse(const char *s, dolor_macnab *out)
{
    if (!s || !out)
        return dolor_error(DOLOR_EINVAL, "MacNab grade: missing");
    for (int g = 1; g <= 4; g++) {
        char num[2] = {(char)('0' + g), 0};
        if (!strcasecmp(s, dolor_macnab_name((dolor_macnab)g)) || !strcmp(s, num)) {
            *out = (dolor_macnab)g;
            return DOLOR_OK;
        }
    }
    return dolor_error(DOLOR_EINVAL, "MacNab grade '%s' is not one of excellent, good, fair, poor (or 1..4)", s);
}

dolor_status dolor_macnab_summarise(const dolor_macnab *grades, size_t n, double conf, dolor_ci_method method,
                                    dolor_macnab_summary *out)
{
    if (!grades || !out)
        return dolor_error(DOLOR_EINVAL, "MacNab: NULL argument");
    if (n == 0)
        return dolor_error(DOLOR_EINVAL, "MacNab: no patients");
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        int g = (int)grades[i];
        if (g < 1 || g > 4)
            return dolor_error(DOLOR_EINVAL, "MacNab: grade of patient %zu is %d (must be 1..4)", i + 1, g);
        out->count[g]++;
    }
    out->n = n;
    return dolor_prop_ci_compute(out->count[1] + out->count[2], n, conf, method, &out->success);
}
