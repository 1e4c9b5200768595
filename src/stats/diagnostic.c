/* Binomial proportion confidence intervals (Wilson, Wilson with R's
 * continuity correction, Clopper-Pearson) and diagnostic accuracy from a
 * 2x2 table. See include/dolor/stats.h. */
#include "dolor/stats.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#define MATHLIB_STANDALONE 1
#include <Rmath.h>

const char *dolor_ci_method_name(dolor_ci_method m)
{
    switch (m) {
    case DOLOR_CI_WILSON: return "wilson";
    case DOLOR_CI_WILSON_CC: return "wilson-cc";
    case DOLOR_CI_CLOPPER_PEARSON: return "clopper-pearson";
    }
    return "unknown";
}

dolor_status dolor_ci_method_parse(const char *s, dolor_ci_method *out)
{
    if (!s)
        return dolor_error(DOLOR_EINVAL, "CI method: missing");
    if (!strcasecmp(s, "wilson"))
        *out = DOLOR_CI_WILSON;
    else if (!strcasecmp(s, "wilson-cc") || !strcasecmp(s, "wilsoncc") || !strcasecmp(s, "wilson_cc"))
        *out = DOLOR_CI_WILSON_CC;
    else if (!strcasecmp(s, "clopper-pearson") || !strcasecmp(s, "clopper_pearson") || !strcasecmp(s, "exact") ||
             !strcasecmp(s, "cp"))
        *out = DOLOR_CI_CLOPPER_PEARSON;
    else
        return dolor_error(DOLOR_EINVAL, "CI method '%s' is not one of wilson, wilson-cc, clopper-pearson", s);
    return DOLOR_OK;
}

/* Score interval for x/n with continuity correction cc (0 = plain Wilson).
 * The bounds solve |p_hat -/+ cc/n - p| = z sqrt(p(1-p)/n) for p; a
 * corrected estimate at or beyond 0 (1) gives the bound 0 (1). */
static void wilson_bounds(double x, double n, double z, double cc, double *lo, double *hi)
{
    double p = x / n;
    double a = z * z / (2.0 * n); /* z^2 / (2n) */
    double denom = 1.0 + 2.0 * a;
    double pc = p - cc / n;
    if (pc <= 0.0) {
        *lo = 0.0;
    } else {
        double r = z * sqrt(pc * (1.0 - pc) / n + a / (2.0 * n));
        *lo = (pc + a - r) / denom;
    }
    pc = p + cc / n;
    if (pc >= 1.0) {
        *hi = 1.0;
    } else {
        double r = z * sqrt(pc * (1.0 - pc) / n + a / (2.0 * n));
        *hi = (pc + a + r) / denom;
    }
    if (*lo < 0.0)
        *lo = 0.0;
    if (*hi > 1.0)
        *hi = 1.0;
}

dolor_status dolor_prop_ci_compute(size_t x, size_t n, double conf, dolor_ci_method method, dolor_prop_ci *out)
{
    if (!out)
        return dolor_error(DOLOR_EINVAL, "proportion CI: NULL output");
    if (n < 1)
        return dolor_error(DOLOR_EINVAL, "proportion CI: n is %zu (needs n >= 1)", n);
    if (x > n)
        return dolor_error(DOLOR_EINVAL, "proportion CI: x is %zu, outside 0..n = 0..%zu", x, n);
    if (!(conf > 0.0 && conf < 1.0))
        return dolor_error(DOLOR_EINVAL, "proportion CI: confidence level %g is outside (0, 1)", conf);
    memset(out, 0, sizeof *out);
    out->x = x;
    out->n = n;
    out->conf = conf;
    out->method = method;
    out->estimate = (double)x / (double)n;
    double alpha = 1.0 - conf;
    switch (method) {
    case DOLOR_CI_WILSON:
    case DOLOR_CI_WILSON_CC: {
        double z = qnorm(1.0 - alpha / 2.0, 0.0, 1.0, 1, 0);
        double cc = 0.0;
        if (method == DOLOR_CI_WILSON_CC) {
            /* R prop.test: YATES = min(0.5, |x - n p0|) with p0 = 0.5 */
            cc = fabs((double)x - 0.5 * (double)n);
            if (cc > 0.5)
                cc = 0.5;
        }
        wilson_bounds((double)x, (double)n, z, cc, &out->lower, &out->upper);
        break;
    }
    case DOLOR_CI_CLOPPER_PEARSON:
        out->lower = x == 0 ? 0.0 : qbeta(alpha / 2.0, (double)x, (double)(n - x + 1), 1, 0);
        out->upper = x == n ? 1.0 : qbeta(1.0 - alpha / 2.0, (double)(x + 1), (double)(n - x), 1, 0);
        break;
    default:
        return dolor_error(DOLOR_EINVAL, "proportion CI: unknown method %d", (int)method);
    }
    return DOLOR_OK;
}

dolor_status dolor_diag_compute(size_t tp, size_t fp, size_t fn, size_t tn, double conf, dolor_ci_method method,
                                dolor_diag_result *out)
{
    if (!out)
        return dolor_error(DOLOR_EINVAL, "2x2 table: NULL output");
    if (tp + fn == 0)
        return dolor_error(DOLOR_ENUMERIC, "2x2 table: reference-positive margin tp+fn is 0 (sensitivity undefined)");
    if (tn + fp == 0)
        return dolor_error(DOLOR_ENUMERIC, "2x2 table: reference-negative margin tn+fp is 0 (specificity undefined)");
    if (tp + fp == 0)
        return dolor_error(DOLOR_ENUMERIC, "2x2 table: test-positive margin tp+fp is 0 (PPV undefined)");
    if (tn + fn == 0)
        return dolor_error(DOLOR_ENUMERIC, "2x2 table: test-negative margin tn+fn is 0 (NPV undefined)");
    memset(out, 0, sizeof *out);
    out->tp = tp;
    out->fp = fp;
    out->fn = fn;
    out->tn = tn;
    size_t total = tp + fp + fn + tn;
    dolor_status s;
    if ((s = dolor_prop_ci_compute(tp, tp + fn, conf, method, &out->sensitivity)) ||
        (s = dolor_prop_ci_compute(tn, tn + fp, conf, method, &out->specificity)) ||
        (s = dolor_prop_ci_compute(tp, tp + fp, conf, method, &out->ppv)) ||
        (s = dolor_prop_ci_compute(tn, tn + fn, conf, method, &out->npv)) ||
        (s = dolor_prop_ci_compute(tp + tn, total, conf, method, &out->accuracy)))
        return s;
    double se = out->sensitivity.estimate, sp = out->specificity.estimate;
    out->prevalence = (double)(tp + fn) / (double)total;
    out->lr_pos = sp < 1.0 ? se / (1.0 - sp) : INFINITY;
    out->lr_neg = sp > 0.0 ? (1.0 - se) / sp : INFINITY;
    out->youden = se + sp - 1.0;
    return DOLOR_OK;
}

dolor_status dolor_diag_tabulate(const double *truth, const double *test, size_t n, size_t *tp, size_t *fp,
                                 size_t *fn, size_t *tn)
{
    if (!truth || !test || !tp || !fp || !fn || !tn)
        return dolor_error(DOLOR_EINVAL, "2x2 counts: NULL argument");
    if (n == 0)
        return dolor_error(DOLOR_ENUMERIC, "2x2 counts: no observations");
    size_t c[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double t = truth[i], x = test[i];
        if (isnan(t))
            return dolor_error(DOLOR_ENUMERIC, "truth: row %zu is NaN (expected 0 or 1)", i + 1);
        if (isnan(x))
            return dolor_error(DOLOR_ENUMERIC, "test: row %zu is NaN (expected 0 or 1)", i + 1);
        if (t != 0.0 && t != 1.0)
            return dolor_error(DOLOR_EINVAL, "truth: row %zu is %g (expected 0 or 1)", i + 1, t);
        if (x != 0.0 && x != 1.0)
            return dolor_error(DOLOR_EINVAL, "test: row %zu is %g (expected 0 or 1)", i + 1, x);
        c[(t == 1.0 ? 0 : 1) + (x == 1.0 ? 0 : 2)]++;
    }
    *tp = c[0];
    *fp = c[1];
    *fn = c[2];
    *tn = c[3];
    return DOLOR_OK;
}
