/* Nakagami shape m and spread Omega: maximum likelihood (loc 0) and moments. */
#include "dolor/radiomics.h"

#include <math.h>
#define MATHLIB_STANDALONE 1
#include <Rmath.h>

dolor_status dolor_nakagami_fit(const double *x, const uint8_t *mask, size_t n, dolor_nakagami *out)
{
    size_t k = 0;
    double s2 = 0, slog = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask && !mask[i])
            continue;
        if (!isfinite(x[i]))
            return dolor_error(DOLOR_ENUMERIC, "Nakagami: voxel %zu is %g (NaN or Inf)", i, x[i]);
        if (x[i] < 0)
            return dolor_error(DOLOR_EINVAL, "Nakagami: voxel %zu is %g; envelope amplitudes must be >= 0", i, x[i]);
        if (x[i] == 0)
            continue;
        s2 += x[i] * x[i];
        slog += log(x[i] * x[i]);
        k++;
    }
    if (k < 2)
        return dolor_error(DOLOR_EINVAL, "Nakagami: %zu non-zero voxel(s) inside the region; at least 2 are needed", k);
    const double N = (double)k, omega = s2 / N;
    double v = 0;
    for (size_t i = 0; i < n; i++) {
        if ((mask && !mask[i]) || x[i] == 0)
            continue;
        double d = x[i] * x[i] - omega;
        v += d * d;
    }
    v /= N;
    /* ML: log m - digamma(m) = rhs, with rhs = log(mean x^2) - mean(log x^2) >= 0 (Jensen) */
    double rhs = log(omega) - slog / N;
    if (!(rhs > 0) || !(v > 0))
        return dolor_error(DOLOR_ENUMERIC,
                           "Nakagami: all %zu non-zero voxels are equal, so the shape m is infinite (no speckle)", k);
    /* start: Minka's approximation for the gamma shape; f(m) = log m - digamma(m) - rhs is decreasing,
     * Newton on t = log m, kept inside a bracket [a, b] where f(a) > 0 > f(b). */
    double m = (3.0 - rhs + sqrt((rhs - 3.0) * (rhs - 3.0) + 24.0 * rhs)) / (12.0 * rhs);
    double a = 0, b = INFINITY;
    for (int it = 0; it < 200; it++) {
        double f = log(m) - digamma(m) - rhs;
        if (f > 0)
            a = m;
        else if (f < 0)
            b = m;
        else
            break;
        double df = 1.0 - m * trigamma(m); /* d f / d log m */
        double mn = m * exp(-f / df);
        if (!(mn > a && mn < b)) /* outside the bracket: bisect (geometrically when b is infinite) */
            mn = isinf(b) ? m * 2 : (a > 0 ? sqrt(a * b) : b / 2);
        double ch = fabs(mn - m) / m;
        m = mn;
        if (ch < 1e-15)
            break;
    }
    out->m_ml = m;
    out->omega_ml = omega;
    out->m_mom = omega * omega / v;
    out->omega_mom = omega;
    out->n = k;
    return DOLOR_OK;
}
