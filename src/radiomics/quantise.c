/* Quantisation to grey levels: IBSI fixed bin number, PyRadiomics fixed bin width. */
#include "dolor/radiomics.h"
#include "radiomics_priv.h"

#include <math.h>

int rad_quant_value(double x, const dolor_quant *qz, double lo, double hi, double low_edge)
{
    double t;
    if (qz->mode == DOLOR_QUANT_BIN_WIDTH)
        t = floor((x - low_edge) / qz->bin_width);
    else
        t = hi > lo ? floor((x - lo) * qz->levels / (hi - lo)) : 0.0;
    if (qz->mode == DOLOR_QUANT_BIN_COUNT && t > qz->levels - 1)
        t = qz->levels - 1;
    if (t < 0)
        t = 0;
    return (int)t;
}

dolor_status dolor_quantise(const double *x, const uint8_t *mask, size_t n, const dolor_quant *qz, uint16_t *q,
                            int *levels_out)
{
    if (qz->mode == DOLOR_QUANT_BIN_COUNT) {
        if (qz->levels < DOLOR_GLCM_MIN_LEVELS || qz->levels > DOLOR_GLCM_MAX_LEVELS)
            return dolor_error(DOLOR_EINVAL, "levels = %d: the grey-level count must be 2..65536", qz->levels);
        if (qz->range_set && !(qz->hi > qz->lo && isfinite(qz->lo) && isfinite(qz->hi)))
            return dolor_error(DOLOR_EINVAL, "quantisation range [%g, %g): hi must be greater than lo", qz->lo, qz->hi);
    } else if (qz->mode == DOLOR_QUANT_BIN_WIDTH) {
        if (!(qz->bin_width > 0) || !isfinite(qz->bin_width))
            return dolor_error(DOLOR_EINVAL, "bin_width = %g: must be a positive number", qz->bin_width);
    } else {
        return dolor_error(DOLOR_EINVAL, "quantisation mode %d is not known", (int)qz->mode);
    }
    double mn = INFINITY, mx = -INFINITY;
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask && !mask[i])
            continue;
        if (!isfinite(x[i]))
            return dolor_error(DOLOR_ENUMERIC, "voxel %zu is %g: quantisation needs finite values", i, x[i]);
        mn = fmin(mn, x[i]);
        mx = fmax(mx, x[i]);
        cnt++;
    }
    if (!cnt)
        return dolor_error(DOLOR_EINVAL, "quantisation: the mask is empty (no voxel inside the region)");
    double lo = qz->range_set ? qz->lo : mn, hi = qz->range_set ? qz->hi : mx, low_edge = 0;
    int levels = qz->levels;
    if (qz->mode == DOLOR_QUANT_BIN_WIDTH) {
        double w = qz->bin_width, r = fmod(mn, w);
        if (r < 0)
            r += w; /* Python's floored modulo */
        low_edge = mn - r;
        double nl = floor((mx - low_edge) / w) + 1;
        if (nl > DOLOR_GLCM_MAX_LEVELS)
            return dolor_error(DOLOR_EINVAL,
                               "bin_width = %g over the range %g..%g gives %.0f grey levels: at most 65536; use a wider bin",
                               w, mn, mx, nl);
        levels = nl < 2 ? 2 : (int)nl; /* a one-bin region still has a 2-level matrix (all in level 0) */
    }
    for (size_t i = 0; i < n; i++)
        q[i] = (mask && !mask[i]) ? 0 : (uint16_t)rad_quant_value(x[i], qz, lo, hi, low_edge);
    if (levels_out)
        *levels_out = levels;
    return DOLOR_OK;
}
