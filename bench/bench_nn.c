/* U-Net speed: training step (forward + CE/Dice loss + backward + AdamW) at [8,1,256,256] and
 * inference at [1,1,256,256], base 16, depth 4, 2 classes (dolor_unet_config_default).
 * Usage: bench_nn [train_iters (10; 0 skips training)] [infer_iters (30)] [transposed|bilinear]
 * Prints the median and minimum in ms; compare with bench/bench_torch_unet.py. Set
 * OMP_NUM_THREADS=2 on the 2-core machine. */
#include "dolor/core.h"
#include "dolor/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of the whole process (all threads), ms: with OMP_NUM_THREADS=1 a load-independent
 * measure of the work (the machine is shared). */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n, double cpu)
{
    qsort(t, (size_t)n, sizeof *t, cmpd);
    printf("%-32s median %8.1f ms   min %8.1f ms   cpu %8.1f ms/run   (%d runs)\n", what, t[n / 2], t[0], cpu / n, n);
}

#define OK(e)                                                                                      \
    do {                                                                                           \
        if ((e) != DOLOR_OK) {                                                                     \
            fprintf(stderr, "%s: %s\n", #e, dolor_errmsg());                                       \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    int train_iters = argc > 1 ? atoi(argv[1]) : 10, infer_iters = argc > 2 ? atoi(argv[2]) : 30;
    if (train_iters < 0)
        train_iters = 0;
    if (infer_iters < 1)
        infer_iters = 1;
    dolor_unet_config cfg;
    dolor_unet_config_default(&cfg);
    if (argc > 3 && strcmp(argv[3], "bilinear") == 0)
        cfg.upsample = DOLOR_UP_BILINEAR;
    dolor_net *net;
    OK(dolor_unet_create(&cfg, &net));
    OK(dolor_net_init(net, 42));
    printf("U-Net base %d depth %d classes %d %s: %zu parameters\n", cfg.base_channels, cfg.depth, cfg.num_classes,
           cfg.upsample ? "bilinear" : "transposed", dolor_net_num_params(net));
    const int N = 8, H = 256, W = 256;
    dolor_tensor *x, *logits, *dl, *x1, *l1;
    OK(dolor_tensor_create4(&x, N, 1, H, W));
    OK(dolor_tensor_create4(&logits, N, cfg.num_classes, H, W));
    OK(dolor_tensor_create4(&dl, N, cfg.num_classes, H, W));
    OK(dolor_tensor_create4(&x1, 1, 1, H, W));
    OK(dolor_tensor_create4(&l1, 1, cfg.num_classes, H, W));
    uint8_t *lab = malloc((size_t)N * H * W);
    dolor_rng rng;
    dolor_rng_seed(&rng, 7);
    for (size_t i = 0; i < x->numel; i++) {
        x->data[i] = (float)dolor_rng_normal(&rng);
        lab[i] = x->data[i] > 0.5f;
    }
    memcpy(x1->data, x->data, x1->numel * sizeof(float));
    dolor_adamw *opt;
    OK(dolor_adamw_create(dolor_net_num_params(net), 0.9f, 0.999f, 1e-8f, 1e-2f, &opt));

    double *t = malloc(sizeof(double) * (size_t)(train_iters + infer_iters + 8));
    double tf = 0, tb = 0, tl = 0, to = 0, cpu = 0;
    for (int it = train_iters ? -2 : 0; it < train_iters; it++) { /* 2 warm-up steps (the first plans) */
        double c0 = cpu_ms(), t0 = dolor_time_ms();
        OK(dolor_net_forward(net, x, logits, 1));
        double t1 = dolor_time_ms();
        memset(dl->data, 0, dl->numel * sizeof(float));
        float ce, dice;
        OK(dolor_loss_cross_entropy(logits, lab, 1.f, &ce, dl));
        OK(dolor_loss_soft_dice(logits, lab, 1, 1e-5f, 1.f, &dice, dl));
        double t2 = dolor_time_ms();
        OK(dolor_net_backward(net, dl));
        double t3 = dolor_time_ms();
        dolor_adamw_step(opt, dolor_net_params(net), dolor_net_grads(net), 1e-3f);
        double t4 = dolor_time_ms();
        if (it >= 0) {
            cpu += cpu_ms() - c0;
            t[it] = t4 - t0;
            tf += t1 - t0;
            tl += t2 - t1;
            tb += t3 - t2;
            to += t4 - t3;
        }
    }
    if (train_iters) {
        report("training step [8,1,256,256]", t, train_iters, cpu);
        printf("  planned memory (training): %.0f MiB\n", dolor_net_workspace_bytes(net) / 1048576.0);
        printf("  mean: forward %.1f, losses %.1f, backward %.1f, AdamW %.1f ms\n", tf / train_iters,
               tl / train_iters, tb / train_iters, to / train_iters);
    }
    cpu = 0;
    for (int it = -2; it < infer_iters; it++) {
        double c0 = cpu_ms(), t0 = dolor_time_ms();
        OK(dolor_net_forward(net, x1, l1, 0));
        if (it >= 0) {
            t[it] = dolor_time_ms() - t0;
            cpu += cpu_ms() - c0;
        }
    }
    report("inference [1,1,256,256]", t, infer_iters, cpu);
    printf("  planned memory (training + inference): %.0f MiB\n", dolor_net_workspace_bytes(net) / 1048576.0);
    free(t);
    free(lab);
    dolor_adamw_free(opt);
    dolor_tensor_free(x);
    dolor_tensor_free(logits);
    dolor_tensor_free(dl);
    dolor_tensor_free(x1);
    dolor_tensor_free(l1);
    dolor_net_free(net);
    return 0;
}
