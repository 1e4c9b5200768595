/* Softmax cross-entropy and soft Dice losses on plain NCHW logits. */
#include "dolor/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static dolor_status check_args(const char *who, const dolor_tensor *logits, const uint8_t *labels,
                               const dolor_tensor *dlogits, float *loss)
{
    if (!logits || !logits->data || !labels || !loss)
        return dolor_error(DOLOR_EINVAL, "%s: NULL argument", who);
    if (logits->ndim != 4)
        return dolor_error(DOLOR_ESHAPE, "%s: logits must be [N, K, H, W] (ndim is %d)", who, logits->ndim);
    if (dlogits) {
        if (!dlogits->data || dlogits->ndim != 4)
            return dolor_error(DOLOR_ESHAPE, "%s: dlogits must be [N, K, H, W] like logits", who);
        for (int i = 0; i < 4; i++)
            if (dlogits->shape[i] != logits->shape[i])
                return dolor_error(DOLOR_ESHAPE, "%s: dlogits extent %d is %lld, logits has %lld", who, i,
                                   (long long)dlogits->shape[i], (long long)logits->shape[i]);
    }
    int64_t K = logits->shape[1];
    size_t n = (size_t)(logits->shape[0] * logits->shape[2] * logits->shape[3]);
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= K)
            return dolor_error(DOLOR_EINVAL, "%s: label %d at index %zu is not < K = %lld classes", who, labels[i], i,
                               (long long)K);
    return DOLOR_OK;
}

/* softmax of the K logits at stride hw into p (double); returns log-sum-exp */
static inline double softmax_px(const float *z, ptrdiff_t hw, int K, double *p)
{
    double m = z[0];
    for (int k = 1; k < K; k++)
        if (z[k * hw] > m)
            m = z[k * hw];
    double s = 0;
    for (int k = 0; k < K; k++) {
        p[k] = exp((double)z[k * hw] - m);
        s += p[k];
    }
    for (int k = 0; k < K; k++)
        p[k] /= s;
    return m + log(s);
}

dolor_status dolor_loss_cross_entropy(const dolor_tensor *logits, const uint8_t *labels, float weight, float *loss,
                                      dolor_tensor *dlogits)
{
    dolor_status st = check_args("cross-entropy", logits, labels, dlogits, loss);
    if (st)
        return st;
    int64_t N = logits->shape[0], K = logits->shape[1], HW = logits->shape[2] * logits->shape[3];
    double total = 0, inv = 1.0 / (double)(N * HW);
    const float *L = logits->data;
    float *D = dlogits ? dlogits->data : NULL;
#pragma omp parallel reduction(+ : total)
    {
        double *p = malloc((size_t)K * sizeof *p);
#pragma omp for schedule(static)
        for (int64_t i = 0; i < N * HW; i++) {
            if (!p)
                continue;
            int64_t n = i / HW, x = i % HW;
            const float *z = L + n * K * HW + x;
            double lse = softmax_px(z, HW, (int)K, p);
            int y = labels[i];
            total += lse - z[y * HW];
            if (D) {
                float *d = D + n * K * HW + x;
                for (int k = 0; k < K; k++)
                    d[k * HW] += (float)(weight * ((p[k] - (k == y)) * inv));
            }
        }
        free(p);
    }
    *loss = (float)(total * inv);
    return DOLOR_OK;
}

dolor_status dolor_loss_soft_dice(const dolor_tensor *logits, const uint8_t *labels, int include_background,
                                  float smooth, float weight, float *loss, dolor_tensor *dlogits)
{
    dolor_status st = check_args("soft Dice", logits, labels, dlogits, loss);
    if (st)
        return st;
    int64_t N = logits->shape[0], K = logits->shape[1], HW = logits->shape[2] * logits->shape[3];
    int k0 = include_background ? 0 : 1;
    if (K - k0 < 1)
        return dolor_error(DOLOR_EINVAL, "soft Dice: K = %lld classes leaves none without the background", (long long)K);
    /* per (n, k): intersection, sum p, sum g */
    double *acc = calloc((size_t)(N * K * 3), sizeof *acc);
    if (!acc)
        return dolor_error(DOLOR_ENOMEM, "soft Dice: out of memory");
    const float *L = logits->data;
    for (int64_t n = 0; n < N; n++) {
        double *a = acc + n * K * 3;
#pragma omp parallel
        {
            double *p = malloc((size_t)K * 4 * sizeof *p);
            if (p) {
                double *loc = p + K;
                memset(loc, 0, (size_t)K * 3 * sizeof *loc);
#pragma omp for schedule(static)
                for (int64_t x = 0; x < HW; x++) {
                    softmax_px(L + n * K * HW + x, HW, (int)K, p);
                    int y = labels[n * HW + x];
                    for (int k = 0; k < K; k++)
                        loc[k * 3 + 1] += p[k];
                    loc[y * 3 + 0] += p[y];
                    loc[y * 3 + 2] += 1;
                }
#pragma omp critical
                for (int k = 0; k < 3 * K; k++)
                    a[k] += loc[k];
                free(p);
            }
        }
    }
    double total = 0, cnt = (double)N * (double)(K - k0);
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = k0; k < K; k++) {
            const double *a = acc + (n * K + k) * 3;
            total += 1.0 - (2 * a[0] + smooth) / (a[1] + a[2] + smooth);
        }
    *loss = (float)(total / cnt);
    if (dlogits) {
        float *D = dlogits->data;
        for (int64_t n = 0; n < N; n++) {
            const double *a = acc + n * K * 3;
#pragma omp parallel
            {
                double *p = malloc((size_t)K * 2 * sizeof *p);
                if (p) {
                    double *dp = p + K;
#pragma omp for schedule(static)
                    for (int64_t x = 0; x < HW; x++) {
                        softmax_px(L + n * K * HW + x, HW, (int)K, p);
                        int y = labels[n * HW + x];
                        double dot = 0;
                        for (int k = 0; k < K; k++) {
                            dp[k] = 0;
                            if (k >= k0) {
                                double S = a[k * 3 + 1] + a[k * 3 + 2] + smooth, I2 = 2 * a[k * 3] + smooth;
                                dp[k] = -(2.0 * (k == y) * S - I2) / (S * S) / cnt;
                            }
                            dot += p[k] * dp[k];
                        }
                        float *d = D + n * K * HW + x;
                        for (int k = 0; k < K; k++)
                            d[k * HW] += (float)(weight * p[k] * (dp[k] - dot));
                    }
                    free(p);
                }
            }
        }
    }
    free(acc);
    return DOLOR_OK;
}
