/* First-order statistics (IBSI 3.3-3.4, PyRadiomics firstorder). */
#include "dolor/radiomics.h"
#include "radiomics_priv.h"

#include <math.h>
#include <stdlib.h>

static const char *const fo_names[DOLOR_FO_N] = {
    "mean", "variance", "sd",  "skewness", "kurtosis", "min", "p10",   "p25",    "median", "p75",     "p90",
    "max",  "range",    "iqr", "mad",      "rmad",     "medad", "cv", "energy", "rms",    "entropy", "uniformity"};

const char *dolor_fo_name(dolor_fo_feature f) { return (unsigned)f < DOLOR_FO_N ? fo_names[f] : "unknown"; }

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* numpy.percentile(method="linear") of sorted s[0..n-1] */
static double pct(const double *s, size_t n, double p)
{
    double h = (double)(n - 1) * p / 100.0;
    size_t k = (size_t)floor(h);
    if (k + 1 >= n)
        return s[n - 1];
    double f = h - (double)k;
    return s[k] + f * (s[k + 1] - s[k]);
}

dolor_status dolor_firstorder(const double *x, const uint8_t *mask, size_t n, const uint16_t *q, int levels,
                              double out[DOLOR_FO_N])
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask && !mask[i])
            continue;
        if (!isfinite(x[i]))
            return dolor_error(DOLOR_ENUMERIC, "first-order: voxel %zu is %g (NaN or Inf inside the region)", i, x[i]);
        m++;
    }
    if (!m)
        return dolor_error(DOLOR_EINVAL, "first-order: the mask is empty (no voxel inside the region)");
    double *s = malloc(m * sizeof *s);
    double *hist = q ? calloc((size_t)levels, sizeof *hist) : NULL;
    if (!s || (q && !hist)) {
        free(s);
        free(hist);
        return dolor_error(DOLOR_ENOMEM, "first-order: out of memory for %zu voxels", m);
    }
    size_t k = 0;
    double sum = 0, energy = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask && !mask[i])
            continue;
        s[k++] = x[i];
        sum += x[i];
        energy += x[i] * x[i];
        if (q && q[i] < levels)
            hist[q[i]] += 1;
    }
    const double N = (double)m, mean = sum / N;
    double m2 = 0, m3 = 0, m4 = 0, mad = 0;
    for (size_t i = 0; i < m; i++) {
        double d = s[i] - mean;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
        mad += fabs(d);
    }
    m2 /= N;
    m3 /= N;
    m4 /= N;
    mad /= N;
    qsort(s, m, sizeof *s, cmp_d);
    out[DOLOR_FO_MEAN] = mean;
    out[DOLOR_FO_VARIANCE] = m2;
    out[DOLOR_FO_SD] = sqrt(m2);
    out[DOLOR_FO_SKEWNESS] = m2 > 0 ? m3 / pow(m2, 1.5) : 0.0;
    out[DOLOR_FO_KURTOSIS] = m2 > 0 ? m4 / (m2 * m2) - 3.0 : 0.0;
    out[DOLOR_FO_MIN] = s[0];
    out[DOLOR_FO_P10] = pct(s, m, 10);
    out[DOLOR_FO_P25] = pct(s, m, 25);
    out[DOLOR_FO_MEDIAN] = pct(s, m, 50);
    out[DOLOR_FO_P75] = pct(s, m, 75);
    out[DOLOR_FO_P90] = pct(s, m, 90);
    out[DOLOR_FO_MAX] = s[m - 1];
    out[DOLOR_FO_RANGE] = s[m - 1] - s[0];
    out[DOLOR_FO_IQR] = out[DOLOR_FO_P75] - out[DOLOR_FO_P25];
    out[DOLOR_FO_MAD] = mad;
    /* robust MAD: values with P10 <= x <= P90 (PyRadiomics: numpy masks on the percentiles) */
    double p10 = out[DOLOR_FO_P10], p90 = out[DOLOR_FO_P90], rs = 0, rn = 0;
    for (size_t i = 0; i < m; i++)
        if (s[i] >= p10 && s[i] <= p90) {
            rs += s[i];
            rn += 1;
        }
    double rmean = rs / rn, rmad = 0, medad = 0;
    for (size_t i = 0; i < m; i++) {
        if (s[i] >= p10 && s[i] <= p90)
            rmad += fabs(s[i] - rmean);
        medad += fabs(s[i] - out[DOLOR_FO_MEDIAN]);
    }
    out[DOLOR_FO_RMAD] = rmad / rn;
    out[DOLOR_FO_MEDAD] = medad / N;
    out[DOLOR_FO_CV] = mean != 0 ? sqrt(m2) / mean : NAN;
    out[DOLOR_FO_ENERGY] = energy;
    out[DOLOR_FO_RMS] = sqrt(energy / N);
    if (q) {
        double ent = 0, uni = 0;
        for (int l = 0; l < levels; l++) {
            double p = hist[l] / N;
            if (p > 0) {
                ent -= p * log2(p + 2.220446049250313e-16);
                uni += p * p;
            }
        }
        out[DOLOR_FO_ENTROPY] = ent;
        out[DOLOR_FO_UNIFORMITY] = uni;
    } else {
        out[DOLOR_FO_ENTROPY] = out[DOLOR_FO_UNIFORMITY] = NAN;
    }
    free(s);
    free(hist);
    return DOLOR_OK;
}
