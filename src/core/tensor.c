/* Dense float32 tensors and aligned allocation. */
#include "dolor/core.h"

#include <stdlib.h>
#include <string.h>

void *dolor_alloc_aligned(size_t bytes)
{
    size_t n = (bytes + 63) & ~(size_t)63;
    if (n == 0)
        n = 64;
    void *p = aligned_alloc(64, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void dolor_free_aligned(void *p) { free(p); }

dolor_status dolor_tensor_create(dolor_tensor **out, int ndim, const int64_t *shape)
{
    *out = NULL;
    if (ndim < 1 || ndim > DOLOR_TENSOR_MAXDIM)
        return dolor_error(DOLOR_EINVAL, "tensor: ndim %d is not in 1..%d", ndim, DOLOR_TENSOR_MAXDIM);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return dolor_error(DOLOR_EINVAL, "tensor: extent %d is %lld (must be >= 1)", i, (long long)shape[i]);
        if (numel > SIZE_MAX / 4 / (size_t)shape[i])
            return dolor_error(DOLOR_EINVAL, "tensor: shape too large");
        numel *= (size_t)shape[i];
    }
    dolor_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return dolor_error(DOLOR_ENOMEM, "tensor: out of memory");
    t->data = dolor_alloc_aligned(numel * sizeof(float));
    if (!t->data) {
        free(t);
        return dolor_error(DOLOR_ENOMEM, "tensor: out of memory for %zu floats", numel);
    }
    t->ndim = ndim;
    for (int i = 0; i < DOLOR_TENSOR_MAXDIM; i++)
        t->shape[i] = i < ndim ? shape[i] : 1;
    t->numel = numel;
    *out = t;
    return DOLOR_OK;
}

dolor_status dolor_tensor_create4(dolor_tensor **out, int64_t n, int64_t c, int64_t h, int64_t w)
{
    int64_t s[4] = {n, c, h, w};
    return dolor_tensor_create(out, 4, s);
}

void dolor_tensor_free(dolor_tensor *t)
{
    if (!t)
        return;
    dolor_free_aligned(t->data);
    free(t);
}
