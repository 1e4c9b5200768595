/* Sample size for two proportions and two means, dropout inflation.
 * See include/dolor/stats.h. */
#include "dolor/stats.h"

#include <math.h>
#include <string.h>

#define MATHLIB_STANDALONE 1
#include <Rmath.h>

static dolor_status check_common(double alpha, double power, int sides)
{
    if (!(alpha > 0.0 && alpha < 1.0))
        return dolor_error(DOLOR_EINVAL, "sample size: alpha %g is outside (0, 1)", alpha);
    if (!(power > 0.0 && power < 1.0))
        return dolor_error(DOLOR_EINVAL, "sample size: power %g is outside (0, 1)", power);
    if (sides != 1 && sides != 2)
        return dolor_error(DOLOR_EINVAL, "sample size: sides is %d (must be 1 or 2)", sides);
    if (power <= alpha / sides)
        return dolor_error(DOLOR_EINVAL, "sample size: power %g must exceed alpha/sides = %g", power,
                           alpha / sides);
    return DOLOR_OK;
}

static size_t ceil_guard(double x)
{
    /* round up, ignoring floating-point noise of a few ulps above an integer */
    double r = nearbyint(x);
    if (fabs(x - r) <= 1e-9 * (r > 1.0 ? r : 1.0))
        return (size_t)r;
    return (size_t)ceil(x);
}

static void finish(double n, dolor_samplesize *out)
{
    out->n = n;
    out->n_ceil = ceil_guard(n);
    out->total = 2 * out->n_ceil;
}

dolor_status dolor_samplesize_compute_proportions(double p1, double p2, double alpha, double power, int sides,
                                              int continuity, dolor_samplesize *out)
{
    if (!out)
        return dolor_error(DOLOR_EINVAL, "sample size: NULL output");
    dolor_status s = check_common(alpha, power, sides);
    if (s)
        return s;
    if (!(p1 > 0.0 && p1 < 1.0))
        return dolor_error(DOLOR_EINVAL, "sample size: p1 %g is outside (0, 1)", p1);
    if (!(p2 > 0.0 && p2 < 1.0))
        return dolor_error(DOLOR_EINVAL, "sample size: p2 %g is outside (0, 1)", p2);
    if (p1 == p2)
        return dolor_error(DOLOR_EINVAL, "sample size: p1 and p2 are both %g (no difference to detect)", p1);
    memset(out, 0, sizeof *out);
    double za = qnorm(alpha / sides, 0.0, 1.0, 0, 0);
    double zb = qnorm(power, 0.0, 1.0, 1, 0);
    double pbar = 0.5 * (p1 + p2), d = fabs(p1 - p2);
    double t = za * sqrt(2.0 * pbar * (1.0 - pbar)) + zb * sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2));
    double n = t * t / (d * d);
    if (continuity) {
        double r = 1.0 + sqrt(1.0 + 4.0 / (n * d));
        n = n / 4.0 * r * r;
    }
    finish(n, out);
    return DOLOR_OK;
}

/* power of the two-sample t test with n per group (power.t.test, strict = FALSE) */
static double t_power(double n, double delta, double sd, double alpha, int sides)
{
    double df = 2.0 * (n - 1.0);
    double qu = qt(alpha / sides, df, 0, 0);
    return pnt(qu, df, sqrt(n / 2.0) * delta / sd, 0, 0);
}

dolor_status dolor_samplesize_compute_means(double delta, double sd, double alpha, double power, int sides, int t_based,
                                        dolor_samplesize *out)
{
    if (!out)
        return dolor_error(DOLOR_EINVAL, "sample size: NULL output");
    dolor_status s = check_common(alpha, power, sides);
    if (s)
        return s;
    if (!isfinite(delta) || delta == 0.0)
        return dolor_error(DOLOR_EINVAL, "sample size: delta is %g (needs a non-zero difference)", delta);
    if (!(sd > 0.0) || !isfinite(sd))
        return dolor_error(DOLOR_EINVAL, "sample size: sd is %g (must be > 0)", sd);
    delta = fabs(delta);
    memset(out, 0, sizeof *out);
    double za = qnorm(alpha / sides, 0.0, 1.0, 0, 0);
    double zb = qnorm(power, 0.0, 1.0, 1, 0);
    double n = 2.0 * (za + zb) * (za + zb) * sd * sd / (delta * delta);
    if (t_based) {
        /* power.t.test searches n in [2, 1e7]; power rises with n */
        double lo = 2.0, hi = 1e7;
        if (t_power(lo, delta, sd, alpha, sides) >= power) {
            n = lo;
        } else if (t_power(hi, delta, sd, alpha, sides) < power) {
            return dolor_error(DOLOR_EINVAL, "sample size: more than 1e7 per group needed for delta %g, sd %g",
                               delta, sd);
        } else {
            for (int it = 0; it < 200 && hi - lo > 1e-10 * hi; it++) {
                double mid = 0.5 * (lo + hi);
                if (t_power(mid, delta, sd, alpha, sides) < power)
                    lo = mid;
                else
                    hi = mid;
            }
            n = 0.5 * (lo + hi);
        }
    }
    finish(n, out);
    return DOLOR_OK;
}

dolor_status dolor_samplesize_inflate(double n, double dropout, size_t *out)
{
    if (!out)
        return dolor_error(DOLOR_EINVAL, "dropout: NULL output");
    if (!(n >= 0.0) || !isfinite(n))
        return dolor_error(DOLOR_EINVAL, "dropout: n is %g (must be >= 0)", n);
    if (!(dropout >= 0.0 && dropout < 1.0))
        return dolor_error(DOLOR_EINVAL, "dropout: fraction %g is outside [0, 1)", dropout);
    *out = ceil_guard(n / (1.0 - dropout));
    return DOLOR_OK;
}
