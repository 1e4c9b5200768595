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

/* Pixels are processed in blocks of BLK along the plane; per block the K x BLK softmax lives in a
 * per-thread buffer, with the loops over pixels innermost (vectorised). */
#define BLK 256

/* p[k*BLK + j] = softmax over k of z[k*HW + j] (j < nb); lse[j] = log-sum-exp */
static inline void softmax_blk(const float *z, ptrdiff_t HW, int K, int nb, float *restrict p, float *restrict lse)
{
    float m[BLK], s[BLK];
    for (int j = 0; j < nb; j++)
        m[j] = z[j];
    for (int k = 1; k < K; k++) {
        const float *zk = z + k * HW;
        for (int j = 0; j < nb; j++)
            m[j] = zk[j] > m[j] ? zk[j] : m[j];
    }
    for (int j = 0; j < nb; j++)
        s[j] = 0.f;
    for (int k = 0; k < K; k++) {
        const float *zk = z + k * HW;
        float *pk = p + k * BLK;
        for (int j = 0; j < nb; j++) {
            pk[j] = expf(zk[j] - m[j]);
            s[j] += pk[j];
        }
    }
    for (int j = 0; j < nb; j++) {
        lse[j] = m[j] + logf(s[j]);
        s[j] = 1.f / s[j];
    }
    for (int k = 0; k < K; k++) {
        float *pk = p + k * BLK;
        for (int j = 0; j < nb; j++)
            pk[j] *= s[j];
    }
}

dolor_status dolor_loss_cross_entropy(const dolor_tensor *logits, const uint8_t *labels, float weight, float *loss,
                                      dolor_tensor *dlogits)
{
    dolor_status st = check_args("cross-entropy", logits, labels, dlogits, loss);
    if (st)
        return st;
    const int64_t N = logits->shape[0], K = logits->shape[1], HW = logits->shape[2] * logits->shape[3];
    const int64_t nblk = (HW + BLK - 1) / BLK;
    double total = 0;
    const double inv = 1.0 / (double)(N * HW);
    const float scale = (float)(weight * inv);
    const float *L = logits->data;
    float *D = dlogits ? dlogits->data : NULL;
    /* per-block partial sums, added in a fixed order: the result does not depend on threads */
    double *part = malloc((size_t)(N * nblk) * sizeof *part);
    if (!part)
        return dolor_error(DOLOR_ENOMEM, "cross-entropy: out of memory");
    int fail = 0;
#pragma omp parallel reduction(| : fail)
    {
        float *p = malloc((size_t)K * BLK * sizeof *p);
        fail |= p == NULL;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < N * nblk; t++) {
            if (!p)
                continue;
            int64_t n = t / nblk, x0 = (t % nblk) * BLK;
            int nb = (int)(HW - x0 < BLK ? HW - x0 : BLK);
            const float *z = L + n * K * HW + x0;
            const uint8_t *y = labels + n * HW + x0;
            float lse[BLK];
            softmax_blk(z, HW, (int)K, nb, p, lse);
            double acc = 0;
            for (int j = 0; j < nb; j++)
                acc += (double)lse[j] - (double)z[y[j] * HW + j];
            part[t] = acc;
            if (D) {
                float *d = D + n * K * HW + x0;
                for (int k = 0; k < K; k++) {
                    float *dk = d + k * HW;
                    const float *pk = p + k * BLK;
                    for (int j = 0; j < nb; j++)
                        dk[j] += scale * (pk[j] - (float)(y[j] == k));
                }
            }
        }
        free(p);
    }
    for (int64_t t = 0; t < N * nblk && !fail; t++)
        total += part[t];
    free(part);
    if (fail)
        return dolor_error(DOLOR_ENOMEM, "cross-entropy: out of memory");
    *loss = (float)(total * inv);
    return DOLOR_OK;
}

dolor_status dolor_loss_soft_dice(const dolor_tensor *logits, const uint8_t *labels, int include_background,
                                  float smooth, float weight, float *loss, dolor_tensor *dlogits)
{
    dolor_status st = check_args("soft Dice", logits, labels, dlogits, loss);
    if (st)
        return st;
    const int64_t N = logits->shape[0], K = logits->shape[1], HW = logits->shape[2] * logits->shape[3];
    const int64_t nblk = (HW + BLK - 1) / BLK;
    const int k0 = include_background ? 0 : 1;
    if (K - k0 < 1)
        return dolor_error(DOLOR_EINVAL, "soft Dice: K = %lld classes leaves none without the background", (long long)K);
    /* per (n, k): intersection sum(p*g), sum(p), sum(g); per-block partials added in a fixed
       order, so the result does not depend on the number of threads */
    double *acc = calloc((size_t)(N * K * 3), sizeof *acc);
    double *part = malloc((size_t)(N * nblk * K * 3) * sizeof *part);
    if (!acc || !part) {
        free(acc);
        free(part);
        return dolor_error(DOLOR_ENOMEM, "soft Dice: out of memory");
    }
    const float *L = logits->data;
    int fail = 0;
#pragma omp parallel reduction(| : fail)
    {
        float *p = malloc((size_t)K * BLK * sizeof *p);
        fail |= !p;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < N * nblk; t++) {
            if (!p)
                continue;
            int64_t n = t / nblk, x0 = (t % nblk) * BLK;
            int nb = (int)(HW - x0 < BLK ? HW - x0 : BLK);
            const uint8_t *y = labels + n * HW + x0;
            float lse[BLK];
            softmax_blk(L + n * K * HW + x0, HW, (int)K, nb, p, lse);
            double *a = part + t * K * 3;
            for (int k = 0; k < K; k++) {
                const float *pk = p + k * BLK;
                float sp = 0.f, si = 0.f, sg = 0.f;
                for (int j = 0; j < nb; j++) {
                    float g = (float)(y[j] == k);
                    sp += pk[j];
                    si += pk[j] * g;
                    sg += g;
                }
                a[k * 3 + 0] = si;
                a[k * 3 + 1] = sp;
                a[k * 3 + 2] = sg;
            }
        }
        free(p);
    }
    for (int64_t t = 0; t < N * nblk && !fail; t++) {
        double *a = acc + (t / nblk) * K * 3;
        for (int64_t k = 0; k < K * 3; k++)
            a[k] += part[t * K * 3 + k];
    }
    free(part);
    if (fail) {
        free(acc);
        return dolor_error(DOLOR_ENOMEM, "soft Dice: out of memory");
    }
    const double cnt = (double)N * (double)(K - k0);
    double total = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = k0; k < K; k++) {
            const double *a = acc + (n * K + k) * 3;
            total += 1.0 - (2 * a[0] + smooth) / (a[1] + a[2] + smooth);
        }
    *loss = (float)(total / cnt);
    if (dlogits) {
        /* dL/dp_k = -(2 g_k S_k - I2_k) / S_k^2 / cnt = A_k g_k + B_k (S = sum p + sum g + smooth,
           I2 = 2 sum(p g) + smooth); then dz_c = p_c (dp_c - sum_k p_k dp_k) */
        double *AB = malloc((size_t)(N * K * 2) * sizeof *AB);
        if (!AB) {
            free(acc);
            return dolor_error(DOLOR_ENOMEM, "soft Dice: out of memory");
        }
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++) {
                const double *a = acc + (n * K + k) * 3;
                double S = a[1] + a[2] + smooth, I2 = 2 * a[0] + smooth;
                AB[(n * K + k) * 2 + 0] = k < k0 ? 0 : -2.0 / S / cnt;
                AB[(n * K + k) * 2 + 1] = k < k0 ? 0 : I2 / (S * S) / cnt;
            }
        float *D = dlogits->data;
#pragma omp parallel reduction(| : fail)
        {
            float *p = malloc((size_t)K * 2 * BLK * sizeof *p);
            fail |= p == NULL;
#pragma omp for schedule(static)
            for (int64_t t = 0; t < N * nblk; t++) {
                if (!p)
                    continue;
                int64_t n = t / nblk, x0 = (t % nblk) * BLK;
                int nb = (int)(HW - x0 < BLK ? HW - x0 : BLK);
                const uint8_t *y = labels + n * HW + x0;
                float lse[BLK], dot[BLK];
                float *dp = p + K * BLK;
                softmax_blk(L + n * K * HW + x0, HW, (int)K, nb, p, lse);
                for (int j = 0; j < nb; j++)
                    dot[j] = 0.f;
                for (int k = 0; k < K; k++) {
                    const float A = (float)AB[(n * K + k) * 2], B = (float)AB[(n * K + k) * 2 + 1];
                    const float *pk = p + k * BLK;
                    float *dpk = dp + k * BLK;
                    for (int j = 0; j < nb; j++) {
                        dpk[j] = A * (float)(y[j] == k) + B;
                        dot[j] += pk[j] * dpk[j];
                    }
                }
                float *d = D + n * K * HW + x0;
                for (int k = 0; k < K; k++) {
                    const float *pk = p + k * BLK, *dpk = dp + k * BLK;
                    float *dk = d + k * HW;
                    for (int j = 0; j < nb; j++)
                        dk[j] += weight * pk[j] * (dpk[j] - dot[j]);
                }
            }
            free(p);
        }
        free(AB);
        if (fail) {
            free(acc);
            return dolor_error(DOLOR_ENOMEM, "soft Dice: out of memory");
        }
    }
    free(acc);
    return DOLOR_OK;
}
