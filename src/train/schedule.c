/* Learning-rate schedules. */
#include "dolor/train.h"

#include <math.h>
#include <string.h>

double dolor_lr_at(dolor_lr_schedule s, double base, int64_t step, int64_t total, int64_t warmup)
{
    if (total <= 0)
        return base;
    if (warmup > 0 && step < warmup)
        return base * (double)(step + 1) / (double)warmup;
    double t = (double)(step - (warmup > 0 ? warmup : 0));
    double T = (double)(total - (warmup > 0 ? warmup : 0));
    if (T <= 0)
        return base;
    if (t > T)
        t = T;
    switch (s) {
    case DOLOR_LR_COSINE: return base * 0.5 * (1.0 + cos(M_PI * t / T));
    case DOLOR_LR_POLY: return base * pow(1.0 - t / T, 0.9);
    case DOLOR_LR_CONSTANT: return base;
    case DOLOR_LR_STEP: return dolor_lr_at_step(base, step, warmup, (total - (warmup > 0 ? warmup : 0) + 2) / 3, 0.1);
    }
    return base;
}

double dolor_lr_at_step(double base, int64_t step, int64_t warmup, int64_t step_size, double gamma)
{
    if (warmup > 0 && step < warmup)
        return base * (double)(step + 1) / (double)warmup;
    int64_t t = step - (warmup > 0 ? warmup : 0);
    if (step_size < 1)
        step_size = 1;
    return base * pow(gamma, (double)(t / step_size));
}

#define NSCHED 4
static const char *names[NSCHED] = {"cosine", "poly", "constant", "step"};
_Static_assert(DOLOR_LR_STEP + 1 == NSCHED, "one name per schedule");

dolor_status dolor_lr_schedule_parse(const char *name, dolor_lr_schedule *out)
{
    for (int i = 0; i < NSCHED; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *out = (dolor_lr_schedule)i;
            return DOLOR_OK;
        }
    return dolor_error(DOLOR_EINVAL, "learning-rate schedule '%s' is not one of cosine, poly, constant, step",
                       name ? name : "");
}

const char *dolor_lr_schedule_name(dolor_lr_schedule s)
{
    return (unsigned)s < NSCHED ? names[s] : "unknown";
}
