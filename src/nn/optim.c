/* SGD with momentum / Nesterov and Adam with coupled L2 weight decay, following torch.optim.SGD and
 * torch.optim.Adam (torch 1.13, _single_tensor_sgd / _single_tensor_adam). AdamW is in adamw.c. */
#include "dolor/nn.h"

#include <math.h>
#include <stdlib.h>

dolor_status dolor_sgd_create(size_t n, float momentum, float dampening, float weight_decay, int nesterov,
                              dolor_sgd **out)
{
    *out = NULL;
    if (n == 0)
        return dolor_error(DOLOR_EINVAL, "sgd: n is 0");
    if (!(momentum >= 0) || !isfinite(momentum) || !(dampening >= 0) || !isfinite(dampening) ||
        !(weight_decay >= 0) || !isfinite(weight_decay))
        return dolor_error(DOLOR_EINVAL, "sgd: momentum %g, dampening %g and weight_decay %g must be finite and >= 0",
                           momentum, dampening, weight_decay);
    if (nesterov && (momentum <= 0 || dampening != 0))
        return dolor_error(DOLOR_EINVAL, "sgd: Nesterov momentum requires a momentum > 0 and zero dampening "
                                         "(momentum %g, dampening %g)", momentum, dampening);
    dolor_sgd *o = calloc(1, sizeof *o);
    if (!o)
        return dolor_error(DOLOR_ENOMEM, "sgd: out of memory");
    if (momentum != 0) {
        o->buf = dolor_alloc_aligned(n * sizeof(float));
        if (!o->buf) {
            free(o);
            return dolor_error(DOLOR_ENOMEM, "sgd: out of memory for %zu momentum values", n);
        }
    }
    o->momentum = momentum;
    o->dampening = dampening;
    o->weight_decay = weight_decay;
    o->nesterov = nesterov != 0;
    o->n = n;
    *out = o;
    return DOLOR_OK;
}

void dolor_sgd_step(dolor_sgd *o, float *params, const float *grads, float lr)
{
    const float wd = o->weight_decay, mu = o->momentum, damp = 1.f - o->dampening;
    const int first = o->step == 0, nesterov = o->nesterov;
    float *restrict buf = o->buf;
    ptrdiff_t n = (ptrdiff_t)o->n;
    o->step++;
    if (!buf) {
#pragma omp parallel for simd schedule(static)
        for (ptrdiff_t i = 0; i < n; i++) {
            float d = wd != 0 ? grads[i] + wd * params[i] : grads[i];
            params[i] = params[i] - lr * d;
        }
        return;
    }
#pragma omp parallel for simd schedule(static)
    for (ptrdiff_t i = 0; i < n; i++) {
        float d = wd != 0 ? grads[i] + wd * params[i] : grads[i];
        float b = first ? d : buf[i] * mu + damp * d;
        buf[i] = b;
        d = nesterov ? d + mu * b : b;
        params[i] = params[i] - lr * d;
    }
}

void dolor_sgd_free(dolor_sgd *o)
{
    if (!o)
        return;
    dolor_free_aligned(o->buf);
    free(o);
}

void dolor_adam_step(dolor_adamw *o, float *params, const float *grads, float lr)
{
    o->step++;
    /* torch computes these in Python floats (double) and hands them to float kernels */
    double bc1 = 1.0 - pow((double)o->beta1, (double)o->step);
    double bc2 = 1.0 - pow((double)o->beta2, (double)o->step);
    const float step_size = (float)((double)lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float b1 = o->beta1, b2 = o->beta2, eps = o->eps, wd = o->weight_decay, ob1 = 1.f - b1, ob2 = 1.f - b2;
    float *restrict m = o->m, *restrict v = o->v;
    ptrdiff_t n = (ptrdiff_t)o->n;
#pragma omp parallel for simd schedule(static)
    for (ptrdiff_t i = 0; i < n; i++) {
        float g = wd != 0 ? grads[i] + wd * params[i] : grads[i];
        float mi = m[i] * b1 + ob1 * g;
        float vi = v[i] * b2 + ob2 * g * g;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        params[i] = params[i] - step_size * (mi / denom);
    }
}
