/* IBSI's GLCM features beyond scikit-image's six (Zwanenburg et al., Radiology 2020; IBSI reference manual,
 * section 3.6), from one co-occurrence matrix. */
#include "dolor/radiomics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const ibsi_names[DOLOR_GLCM_IBSI_N] = {
    "joint_maximum",         "joint_average",
    "joint_variance",        "joint_entropy",
    "difference_average",    "difference_variance",
    "difference_entropy",    "sum_average",
    "sum_variance",          "sum_entropy",
    "inverse_difference",    "normalised_inverse_difference",
    "normalised_inverse_difference_moment", "inverse_variance",
    "autocorrelation",       "cluster_tendency",
    "cluster_shade",         "cluster_prominence",
    "information_correlation_1", "information_correlation_2",
};

const char *dolor_glcm_ibsi_name(dolor_glcm_ibsi f)
{
    return (unsigned)f < DOLOR_GLCM_IBSI_N ? ibsi_names[f] : "unknown";
}

/* -sum p log2 p over the non-zero p */
static double entropy(const double *p, int n)
{
    double h = 0;
    for (int k = 0; k < n; k++)
        if (p[k] > 0)
            h -= p[k] * log2(p[k]);
    return h;
}

dolor_status dolor_glcm_ibsi_features(const double *P, int L, double out[DOLOR_GLCM_IBSI_N])
{
    if (L < DOLOR_GLCM_MIN_LEVELS || L > 4096)
        return dolor_error(DOLOR_EINVAL, "GLCM levels = %d: the IBSI features take 2..4096 (dense matrix)", L);
    /* px [L], py [L], p_{x-y} [L], p_{x+y} [2L - 1] (index k = i + j, 0-based) */
    double *w = calloc(5 * (size_t)L, sizeof *w);
    if (!w)
        return dolor_error(DOLOR_ENOMEM, "GLCM: out of memory for %d levels", L);
    double *px = w, *py = w + L, *pd = w + 2 * (size_t)L, *ps = w + 3 * (size_t)L;
    double sum = 0;
    for (size_t k = 0; k < (size_t)L * L; k++)
        sum += P[k];
    if (!(sum > 0)) {
        free(w);
        return dolor_error(DOLOR_ENUMERIC, "GLCM: no voxel pair in the region (the mask leaves no pair at this offset)");
    }
    const double inv = 1.0 / sum;
    /* grey levels are numbered 1..L as in IBSI: i = row + 1 */
    double jmax = 0, mu = 0, muj = 0, auto_ = 0, hxy = 0;
    for (int r = 0; r < L; r++)
        for (int c = 0; c < L; c++) {
            const double p = P[(size_t)r * L + c] * inv;
            if (p == 0)
                continue;
            jmax = p > jmax ? p : jmax;
            px[r] += p;
            py[c] += p;
            pd[r > c ? r - c : c - r] += p;
            ps[r + c] += p;
            mu += p * (r + 1);
            muj += p * (c + 1);
            auto_ += p * (r + 1) * (double)(c + 1);
            hxy -= p * log2(p);
        }
    double jvar = 0, ct = 0, cs = 0, cp = 0;
    for (int r = 0; r < L; r++)
        for (int c = 0; c < L; c++) {
            const double p = P[(size_t)r * L + c] * inv;
            if (p == 0)
                continue;
            const double di = r + 1 - mu, t = r + 1 + c + 1 - mu - muj, t2 = t * t;
            jvar += p * di * di;
            ct += p * t2;
            cs += p * t2 * t;
            cp += p * t2 * t2;
        }
    double da = 0, id = 0, nid = 0, nidm = 0, iv = 0;
    for (int k = 0; k < L; k++) {
        da += k * pd[k];
        id += pd[k] / (1.0 + k);
        nid += pd[k] / (1.0 + (double)k / L);
        nidm += pd[k] / (1.0 + ((double)k / L) * ((double)k / L));
        if (k)
            iv += pd[k] / ((double)k * k);
    }
    double dv = 0;
    for (int k = 0; k < L; k++)
        dv += (k - da) * (k - da) * pd[k];
    double sa = 0, sv = 0;
    for (int k = 0; k < 2 * L - 1; k++)
        sa += (k + 2) * ps[k]; /* i + j with 1-based levels */
    for (int k = 0; k < 2 * L - 1; k++)
        sv += (k + 2 - sa) * (k + 2 - sa) * ps[k];
    const double hx = entropy(px, L), hy = entropy(py, L);
    /* HXY1 = -sum p_ij log2(px_i py_j) and HXY2 = -sum px_i py_j log2(px_i py_j) both equal HX + HY */
    double hxy1 = 0, hxy2 = 0;
    for (int r = 0; r < L; r++)
        for (int c = 0; c < L; c++) {
            const double q = px[r] * py[c];
            if (q > 0) {
                hxy1 -= P[(size_t)r * L + c] * inv * log2(q);
                hxy2 -= q * log2(q);
            }
        }
    out[DOLOR_GLCM_JOINT_MAXIMUM] = jmax;
    out[DOLOR_GLCM_JOINT_AVERAGE] = mu;
    out[DOLOR_GLCM_JOINT_VARIANCE] = jvar;
    out[DOLOR_GLCM_JOINT_ENTROPY] = hxy;
    out[DOLOR_GLCM_DIFF_AVERAGE] = da;
    out[DOLOR_GLCM_DIFF_VARIANCE] = dv;
    out[DOLOR_GLCM_DIFF_ENTROPY] = entropy(pd, L);
    out[DOLOR_GLCM_SUM_AVERAGE] = sa;
    out[DOLOR_GLCM_SUM_VARIANCE] = sv;
    out[DOLOR_GLCM_SUM_ENTROPY] = entropy(ps, 2 * L - 1);
    out[DOLOR_GLCM_INV_DIFF] = id;
    out[DOLOR_GLCM_INV_DIFF_NORM] = nid;
    out[DOLOR_GLCM_INV_DIFF_MOM_NORM] = nidm;
    out[DOLOR_GLCM_INV_VARIANCE] = iv;
    out[DOLOR_GLCM_AUTOCORRELATION] = auto_;
    out[DOLOR_GLCM_CLUSTER_TENDENCY] = ct;
    out[DOLOR_GLCM_CLUSTER_SHADE] = cs;
    out[DOLOR_GLCM_CLUSTER_PROMINENCE] = cp;
    const double hm = hx > hy ? hx : hy;
    /* a constant region (HX = HY = 0) gives 0/0 for IMC1: we return 0 (no information), as PyRadiomics does */
    out[DOLOR_GLCM_IMC1] = hm > 0 ? (hxy - hxy1) / hm : 0.0;
    const double e = 1.0 - exp(-2.0 * (hxy2 - hxy));
    out[DOLOR_GLCM_IMC2] = e > 0 ? sqrt(e) : 0.0; /* HXY2 >= HXY; rounding can make e = -1e-16 */
    free(w);
    return DOLOR_OK;
}
