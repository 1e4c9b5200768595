/* Classification losses on logits [N, K]: sigmoid binary cross-entropy with logits (optional
 * pos_weight), softmax cross-entropy with class weights (weighted mean), and the sigmoid focal loss
 * (Lin et al. 2017). Each follows the PyTorch / torchvision function named in nn.h; N*K is small
 * (a batch of classifier outputs), so everything is one serial pass in double, with no workspace. */
#include "dolor/nn.h"

#include <math.h>
#include <string.h>

static dolor_status check_2d(const char *who, const dolor_tensor *logits, const void *targets,
                             const dolor_tensor *dlogits, const float *loss)
{
    if (!logits || !logits->data || !targets || !loss)
        return dolor_error(DOLOR_EINVAL, "%s: NULL argument", who);
    if (logits->ndim != 2)
        return dolor_error(DOLOR_ESHAPE, "%s: logits must be [N, K] (ndim is %d)", who, logits->ndim);
    if (dlogits && (!dlogits->data || dlogits->ndim != 2 || dlogits->shape[0] != logits->shape[0] ||
                    dlogits->shape[1] != logits->shape[1]))
        return dolor_error(DOLOR_ESHAPE, "%s: dlogits must be [%lld, %lld] like logits", who,
                           (long long)logits->shape[0], (long long)logits->shape[1]);
    return DOLOR_OK;
}

static dolor_status check_prob(const char *who, const float *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(t[i] >= 0.f && t[i] <= 1.f))
            return dolor_error(DOLOR_EINVAL, "%s: target %g at index %zu is not in [0, 1]", who, t[i], i);
    return DOLOR_OK;
}

static dolor_status check_weights(const char *who, const char *what, const float *w, int64_t K)
{
    for (int64_t k = 0; w && k < K; k++)
        if (!(w[k] >= 0.f) || !isfinite(w[k]))
            return dolor_error(DOLOR_EINVAL, "%s: %s %g of class %lld must be finite and >= 0", who, what, w[k],
                               (long long)k);
    return DOLOR_OK;
}

/* log(1 + exp(z)) without overflow */
static inline double softplus(double z)
{
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static inline double sigm(double z)
{
    return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

dolor_status dolor_loss_bce_logits(const dolor_tensor *logits, const float *targets, const float *pos_weight,
                                   float weight, float *loss, dolor_tensor *dlogits)
{
    const char *who = "binary cross-entropy";
    dolor_status st = check_2d(who, logits, targets, dlogits, loss);
    if (!st)
        st = check_prob(who, targets, logits->numel);
    if (!st)
        st = check_weights(who, "pos_weight", pos_weight, logits->shape[1]);
    if (st)
        return st;
    const int64_t N = logits->shape[0], K = logits->shape[1];
    const double inv = 1.0 / (double)(N * K);
    double total = 0;
    for (int64_t i = 0; i < N; i++)
        for (int64_t k = 0; k < K; k++) {
            size_t j = (size_t)(i * K + k);
            double x = logits->data[j], t = targets[j], pw = pos_weight ? pos_weight[k] : 1.0;
            double lw = 1.0 + (pw - 1.0) * t;
            total += (1.0 - t) * x + lw * softplus(-x);
            if (dlogits)
                dlogits->data[j] += (float)(weight * ((1.0 - t) - lw * sigm(-x)) * inv);
        }
    *loss = (float)(total * inv);
    return DOLOR_OK;
}

dolor_status dolor_loss_cross_entropy_cls(const dolor_tensor *logits, const int *labels, const float *class_weights,
                                          float weight, float *loss, dolor_tensor *dlogits)
{
    const char *who = "cross-entropy";
    dolor_status st = check_2d(who, logits, labels, dlogits, loss);
    if (!st)
        st = check_weights(who, "class weight", class_weights, logits->shape[1]);
    if (st)
        return st;
    const int64_t N = logits->shape[0], K = logits->shape[1];
    double wsum = 0;
    for (int64_t i = 0; i < N; i++) {
        if (labels[i] < 0 || labels[i] >= K)
            return dolor_error(DOLOR_EINVAL, "%s: label %d at index %lld is not in [0, %lld)", who, labels[i],
                               (long long)i, (long long)K);
        wsum += class_weights ? class_weights[labels[i]] : 1.0;
    }
    if (!(wsum > 0))
        return dolor_error(DOLOR_EINVAL, "%s: the class weights of the %lld labels sum to 0", who, (long long)N);
    double total = 0;
    for (int64_t i = 0; i < N; i++) {
        const float *x = logits->data + i * K;
        double mx = x[0], s = 0;
        for (int64_t k = 1; k < K; k++)
            mx = x[k] > mx ? x[k] : mx;
        for (int64_t k = 0; k < K; k++)
            s += exp((double)x[k] - mx);
        double lse = mx + log(s), wi = class_weights ? class_weights[labels[i]] : 1.0;
        total += wi * (lse - (double)x[labels[i]]);
        if (dlogits) {
            float *d = dlogits->data + i * K;
            double c = weight * wi / wsum;
            for (int64_t k = 0; k < K; k++)
                d[k] += (float)(c * (exp((double)x[k] - lse) - (k == labels[i] ? 1.0 : 0.0)));
        }
    }
    *loss = (float)(total / wsum);
    return DOLOR_OK;
}

dolor_status dolor_loss_focal(const dolor_tensor *logits, const float *targets, float alpha, float gamma,
                              float weight, float *loss, dolor_tensor *dlogits)
{
    const char *who = "focal loss";
    dolor_status st = check_2d(who, logits, targets, dlogits, loss);
    if (!st)
        st = check_prob(who, targets, logits->numel);
    if (st)
        return st;
    if (!(gamma >= 0) || !isfinite(gamma) || !(alpha <= 1) || !isfinite(alpha))
        return dolor_error(DOLOR_EINVAL, "%s: gamma %g must be finite and >= 0, alpha %g at most 1", who, gamma,
                           alpha);
    const size_t n = logits->numel;
    const double inv = 1.0 / (double)n, g = gamma;
    double total = 0;
    for (size_t j = 0; j < n; j++) {
        double x = logits->data[j], t = targets[j];
        double p = sigm(x), ce = softplus(x) - t * x;
        double m = 1.0 - (p * t + (1.0 - p) * (1.0 - t)); /* 1 - p_t */
        double at = alpha >= 0 ? alpha * t + (1.0 - alpha) * (1.0 - t) : 1.0;
        double mg = g == 0 ? 1.0 : pow(m, g);
        total += at * ce * mg;
        if (dlogits) {
            /* d ce / dx = p - t; d m / dx = -p (1 - p)(2t - 1) */
            double dm = -p * (1.0 - p) * (2.0 * t - 1.0);
            double dmg = g == 0 ? 0.0 : (m > 0 ? g * pow(m, g - 1.0) : (g == 1 ? 1.0 : 0.0));
            dlogits->data[j] += (float)(weight * at * ((p - t) * mg + ce * dmg * dm) * inv);
        }
    }
    *loss = (float)(total * inv);
    return DOLOR_OK;
}
