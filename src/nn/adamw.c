/* AdamW (Loshchilov & Hutter 2019) following torch.optim.AdamW (torch 1.13, _single_tensor_adamw). */
#include "dolor/nn.h"

#include <math.h>
#include <stdlib.h>

/* Adam and AdamW share the state (moments, step); who names the optimiser in errors. */
static dolor_status create(const char *who, size_t n, float beta1, float beta2, float eps, float weight_decay,
                           dolor_adamw **out)
{
    *out = NULL;
    if (n == 0)
        return dolor_error(DOLOR_EINVAL, "%s: n is 0", who);
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
        return dolor_error(DOLOR_EINVAL, "%s: betas (%g, %g) must be in [0, 1)", who, beta1, beta2);
    if (!(eps >= 0) || !(weight_decay >= 0))
        return dolor_error(DOLOR_EINVAL, "%s: eps %g and weight_decay %g must be >= 0", who, eps,
                           weight_decay);
    dolor_adamw *o = calloc(1, sizeof *o);
    if (!o)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", who);
    o->m = dolor_alloc_aligned(n * sizeof(float));
    o->v = dolor_alloc_aligned(n * sizeof(float));
    if (!o->m || !o->v) {
        dolor_adamw_free(o);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory for %zu moments", who, n);
    }
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    o->weight_decay = weight_decay;
    o->n = n;
    *out = o;
    return DOLOR_OK;
}

dolor_status dolor_adamw_create(size_t n, float beta1, float beta2, float eps, float weight_decay, dolor_adamw **out)
{
    return create("adamw", n, beta1, beta2, eps, weight_decay, out);
}

dolor_status dolor_adam_create(size_t n, float beta1, float beta2, float eps, float weight_decay, dolor_adamw **out)
{
    return create("adam", n, beta1, beta2, eps, weight_decay, out);
}

void dolor_adamw_step(dolor_adamw *o, float *params, const float *grads, float lr)
{
    o->step++;
    /* torch computes these in Python floats (double) and hands them to float kernels */
    double bc1 = 1.0 - pow((double)o->beta1, (double)o->step);
    double bc2 = 1.0 - pow((double)o->beta2, (double)o->step);
    const float decay = (float)(1.0 - (double)lr * (double)o->weight_decay);
    const float step_size = (float)((double)lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float b1 = o->beta1, b2 = o->beta2, eps = o->eps, ob1 = 1.f - b1, ob2 = 1.f - b2;
    float *restrict m = o->m, *restrict v = o->v;
    ptrdiff_t n = (ptrdiff_t)o->n;
#pragma omp parallel for simd schedule(static)
    for (ptrdiff_t i = 0; i < n; i++) {
        float g = grads[i];
        float p = params[i] * decay;
        float mi = m[i] * b1 + ob1 * g;
        float vi = v[i] * b2 + ob2 * g * g;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        params[i] = p - step_size * (mi / denom);
    }
}

void dolor_adamw_free(dolor_adamw *o)
{
    if (!o)
        return;
    dolor_free_aligned(o->m);
    dolor_free_aligned(o->v);
    free(o);
}
