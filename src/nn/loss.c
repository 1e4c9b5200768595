/* Softmax cross-entropy and soft Dice losses on plain NCHW logits.
 *
 * Workspace: the per-block partial sums and the per-thread softmax blocks live in one workspace
 * per calling thread, sized at the first call and grown only when a larger shape (or more
 * threads) comes; calls with a shape already seen allocate nothing (the design guide's rule for
 * training loops). dolor_loss_release_workspace() frees it. */
#include "dolor/nn.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct loss_ws {
    double *part, *acc, *ab; /* block partials; per (n, k) sums; Dice gradient coefficients */
    float *p;                /* per thread: K * 2 * BLK floats */
    size_t npart, nacc, nab, np;
} loss_ws;

static _Thread_local loss_ws ws_tls;

static int ws_grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    void *q = realloc(*buf, need * elem);
    if (!q)
        return 0;
    *buf = q;
    *cap = need;
    return 1;
}

/* workspace for N samples, K classes, nblk blocks per sample; NULL on allocation failure */
static loss_ws *ws_get(int64_t N, int64_t K, int64_t nblk)
{
    loss_ws *w = &ws_tls;
    size_t nt = (size_t)omp_get_max_threads();
    if (!ws_grow((void **)&w->part, &w->npart, (size_t)(N * nblk * K * 3), sizeof(double)) ||
        !ws_grow((void **)&w->acc, &w->nacc, (size_t)(N * K * 3), sizeof(double)) ||
        !ws_grow((void **)&w->ab, &w->nab, (size_t)(N * K * 2), sizeof(double)) ||
        !ws_grow((void **)&w->p, &w->np, nt * (size_t)K * 2 * 256, sizeof(float)))
        return NULL;
    return w;
}

void dolor_loss_release_workspace(void)
{
    loss_ws *w = &ws_tls;
    free(w->part);
    free(w->acc);
    free(w->ab);
    free(w->p);
    memset(w, 0, sizeof *w);
}

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
    loss_ws *ws = ws_get(N, K, nblk);
    if (!ws)
        return dolor_error(DOLOR_ENOMEM, "cross-entropy: out of memory for the loss workspace");
    double *part = ws->part;
#pragma omp parallel
    {
        float *p = ws->p + (size_t)omp_get_thread_num() * (size_t)K * 2 * BLK;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < N * nblk; t++) {
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
    }
    for (int64_t t = 0; t < N * nblk; t++)
        total += part[t];
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
    loss_ws *ws = ws_get(N, K, nblk);
    if (!ws)
        return dolor_error(DOLOR_ENOMEM, "soft Dice: out of memory for the loss workspace");
    double *acc = ws->acc, *part = ws->part;
    memset(acc, 0, (size_t)(N * K * 3) * sizeof *acc);
    const float *L = logits->data;
#pragma omp parallel
    {
        float *p = ws->p + (size_t)omp_get_thread_num() * (size_t)K * 2 * BLK;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < N * nblk; t++) {
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
    }
    for (int64_t t = 0; t < N * nblk; t++) {
        double *a = acc + (t / nblk) * K * 3;
        for (int64_t k = 0; k < K * 3; k++)
            a[k] += part[t * K * 3 + k];
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
        double *AB = ws->ab;
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++) {
                const double *a = acc + (n * K + k) * 3;
                double S = a[1] + a[2] + smooth, I2 = 2 * a[0] + smooth;
                AB[(n * K + k) * 2 + 0] = k < k0 ? 0 : -2.0 / S / cnt;
                AB[(n * K + k) * 2 + 1] = k < k0 ? 0 : I2 / (S * S) / cnt;
            }
        float *D = dlogits->data;
#pragma omp parallel
        {
            float *p = ws->p + (size_t)omp_get_thread_num() * (size_t)K * 2 * BLK;
#pragma omp for schedule(static)
            for (int64_t t = 0; t < N * nblk; t++) {
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
        }
    }
    return DOLOR_OK;
}
