/* dolor side of one row of bench/bench_table.py: a network built through the architecture
 * registry (dolor_arch_build), timed for inference or for a training step.
 *
 * Usage: bench_arch NAME CONFIG_JSON N,C,[D,]H,W infer|train LOSS ITERS MAX_SECONDS
 *   LOSS: "ce" (softmax cross-entropy: over the K classes of [N, K] logits, or per pixel of
 *   [N, K, H, W] logits with dolor_loss_cross_entropy), used by training only.
 *   inference: dolor_net_run(training 0), 2 warm-up runs (the first plans);
 *   training step: dolor_net_run(training 1) + the loss and its gradient + dolor_net_backward_outputs
 *   + dolor_adamw_step (torch defaults, lr 1e-3), 1 warm-up step (it plans).
 * With BENCH_MARK set in the environment, a line "BENCH_MARK timed runs start" precedes the timed
 * runs (so a profile can drop the warm-up's ONEDNN_VERBOSE lines).
 * Timed runs: ITERS of them, fewer once MAX_SECONDS of timed runs have passed (at least 1, so a
 * training step of a minute is timed once after its warm-up).
 * Prints one line
 *   RESULT median_ms M min_ms M cpu_ms M runs R params P workspace_mib W [fwd_ms F loss_ms L bwd_ms B opt_ms O]
 * (cpu_ms: process CPU time per run, all threads; the phase means for training), or, when the
 * registry does not know NAME, "SKIP not in the registry yet: <message>" and exit 0.
 * Threads: oneDNN's OpenMP, OMP_NUM_THREADS. */
#include "dolor/core.h"
#include "dolor/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

#define OK(e)                                                                                      \
    do {                                                                                           \
        if ((e) != DOLOR_OK) {                                                                     \
            fprintf(stderr, "bench_arch: %s: %s\n", #e, dolor_errmsg());                           \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* Mean softmax cross-entropy over the N rows of [N, K] logits; dlogits = (softmax - onehot) / N. */
static float ce_rows(const dolor_tensor *z, const uint8_t *lab, dolor_tensor *dz)
{
    int64_t n = z->shape[0], k = (int64_t)(z->numel / (size_t)n);
    double loss = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *r = z->data + i * k;
        float *d = dz->data + i * k;
        float m = r[0];
        for (int64_t j = 1; j < k; j++)
            m = r[j] > m ? r[j] : m;
        double s = 0;
        for (int64_t j = 0; j < k; j++)
            s += exp((double)(r[j] - m));
        for (int64_t j = 0; j < k; j++)
            d[j] = (float)(exp((double)(r[j] - m)) / s / (double)n);
        d[lab[i] % k] -= 1.f / (float)n;
        loss += log(s) + m - r[lab[i] % k];
    }
    return (float)(loss / (double)n);
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: bench_arch NAME CONFIG_JSON N,C,[D,]H,W infer|train ce ITERS MAX_SECONDS\n");
        return 2;
    }
    const char *name = argv[1], *cfg = argv[2];
    int64_t in[5];
    int nd = 0;
    for (char *s = argv[3], *e; *s && nd < 5; s = *e ? e + 1 : e) {
        in[nd++] = strtoll(s, &e, 10);
        if (e == s || in[nd - 1] < 1) {
            fprintf(stderr, "bench_arch: bad shape %s\n", argv[3]);
            return 2;
        }
    }
    int train = strcmp(argv[4], "train") == 0;
    if (!train && strcmp(argv[4], "infer") != 0) {
        fprintf(stderr, "bench_arch: mode %s is not infer or train\n", argv[4]);
        return 2;
    }
    int iters = atoi(argv[6]);
    double max_s = atof(argv[7]);
    if (nd != 4 && nd != 5) {
        fprintf(stderr, "bench_arch: shape %s has %d dims (4 or 5)\n", argv[3], nd);
        return 2;
    }
    if (iters < 1)
        iters = 1;

    dolor_net *net = NULL;
    dolor_status st = dolor_arch_build(name, cfg, &net);
    if (st == DOLOR_ENOTFOUND) {
        printf("SKIP not in the registry yet: %s\n", dolor_errmsg());
        return 0;
    }
    OK(st);
    OK(dolor_net_init(net, 42));
    /* output shape: the nominal one with this batch, spatial axes scaled as the input's */
    int ind, ond;
    int64_t nin[5], nout[5];
    OK(dolor_net_input_shape(net, 0, &ind, nin));
    OK(dolor_net_output_shape(net, 0, &ond, nout));
    if (ind != nd || nin[1] != in[1]) {
        fprintf(stderr, "bench_arch: %s takes %d-D input with %lld channels, not %s\n", name, ind,
                (long long)nin[1], argv[3]);
        return 2;
    }
    nout[0] = in[0];
    if (ond == ind)
        for (int a = 2; a < ond; a++)
            nout[a] = nout[a] * in[a] / nin[a];
    dolor_tensor *x, *y, *dy;
    OK(dolor_tensor_create(&x, nd, in));
    OK(dolor_tensor_create(&y, ond, nout));
    OK(dolor_tensor_create(&dy, ond, nout));
    int64_t k = nout[1];
    size_t nlab = ond == 2 ? (size_t)in[0] : y->numel / (size_t)k;
    uint8_t *lab = malloc(nlab);
    dolor_rng rng;
    dolor_rng_seed(&rng, 7);
    for (size_t i = 0; i < x->numel; i++)
        x->data[i] = (float)dolor_rng_normal(&rng);
    for (size_t i = 0; i < nlab; i++)
        lab[i] = (uint8_t)(dolor_rng_u64(&rng) % (uint64_t)(k < 255 ? k : 255));
    dolor_adamw *opt = NULL;
    if (train)
        OK(dolor_adamw_create(dolor_net_num_params(net), 0.9f, 0.999f, 1e-8f, 1e-2f, &opt));

    const dolor_tensor *ins[1] = {x};
    /* a net with several outputs (YOLOv8's head maps): every output is produced; inference only */
    int nouts = dolor_net_num_outputs(net);
    if (nouts > 1 && train) {
        printf("SKIP training step of a %d-output net (no loss for it in this bench)\n", nouts);
        return 0;
    }
    dolor_tensor *outs[8] = {y};
    for (int o = 1; o < nouts && o < 8; o++) {
        int nd2;
        int64_t s2[5];
        OK(dolor_net_output_shape(net, o, &nd2, s2));
        s2[0] = in[0];
        for (int a = 2; a < nd2 && nd2 == ind; a++)
            s2[a] = s2[a] * in[a] / nin[a];
        OK(dolor_tensor_create(&outs[o], nd2, s2));
    }
    const dolor_tensor *douts[1] = {dy};
    double *t = malloc(sizeof(double) * (size_t)iters);
    double tf = 0, tl = 0, tb = 0, to = 0, cpu = 0, spent = 0;
    int runs = 0;
    for (int it = train ? -1 : -2; it < iters; it++) {
        if (it == 0 && getenv("BENCH_MARK"))
            printf("BENCH_MARK timed runs start\n"); /* for bench_table.py's ONEDNN_VERBOSE profile */
        double c0 = cpu_ms(), t0 = dolor_time_ms(), t1, t2, t3;
        OK(dolor_net_run(net, ins, outs, train));
        t1 = t2 = t3 = dolor_time_ms();
        if (train) {
            if (ond == 2) {
                (void)ce_rows(y, lab, dy);
            } else {
                float ce;
                memset(dy->data, 0, dy->numel * sizeof(float));
                OK(dolor_loss_cross_entropy(y, lab, 1.f, &ce, dy));
            }
            t2 = dolor_time_ms();
            OK(dolor_net_backward_outputs(net, douts));
            t3 = dolor_time_ms();
            dolor_adamw_step(opt, dolor_net_params(net), dolor_net_grads(net), 1e-3f);
        }
        double t4 = dolor_time_ms();
        if (it >= 0) {
            t[runs++] = t4 - t0;
            cpu += cpu_ms() - c0;
            tf += t1 - t0;
            tl += t2 - t1;
            tb += t3 - t2;
            to += t4 - t3;
            spent += (t4 - t0) * 1e-3;
            if (spent > max_s)
                break;
        }
    }
    qsort(t, (size_t)runs, sizeof *t, cmpd);
    printf("RESULT median_ms %.3f min_ms %.3f cpu_ms %.3f runs %d params %zu workspace_mib %.0f", t[runs / 2], t[0],
           cpu / runs, runs, dolor_net_num_params(net), dolor_net_workspace_bytes(net) / 1048576.0);
    if (train)
        printf(" fwd_ms %.2f loss_ms %.2f bwd_ms %.2f opt_ms %.2f", tf / runs, tl / runs, tb / runs, to / runs);
    printf("\n");
    free(t);
    free(lab);
    dolor_adamw_free(opt);
    dolor_tensor_free(x);
    dolor_tensor_free(y);
    dolor_tensor_free(dy);
    for (int o = 1; o < nouts && o < 8; o++)
        dolor_tensor_free(outs[o]);
    dolor_net_free(net);
    return 0;
}
