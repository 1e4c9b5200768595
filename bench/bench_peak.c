/* Peak fp32 FMA throughput of this machine, measured: every thread runs a loop of independent
 * fused multiply-adds on registers (no memory traffic), so the result is what the cores can
 * retire, the ceiling for the GFLOP/s of bench/bench_table.py's rows.
 *
 * The instruction set is chosen at run time with __builtin_cpu_supports: AVX-512F (16 floats per
 * vector, 24 independent accumulators in zmm registers) where the CPU has it, else AVX2 + FMA
 * (8 floats, 12 accumulators in ymm), else a scalar fallback. Where AVX-512 exists, AVX2 is
 * measured too, and the peak is the larger of the two (on some CPUs 512-bit FMAs run as two
 * 256-bit halves). One FMA counts 2 FLOPs per lane.
 *
 * Threads: OMP_NUM_THREADS (default 2), started together with pthreads (so this file needs no
 * OpenMP), each looping for about the same time; GFLOP/s = all FLOPs / the slowest thread's wall
 * time. Best of REPEATS (3) trials, since the machine may be shared.
 *
 * Usage: bench_peak [seconds per trial (0.3)]
 * Prints lines "isa avx512f gflops 413.2 threads 2" and a final "peak <isa> <gflops> threads N". */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Each kernel does `reps` iterations of NACC FMAs on vectors and returns a value derived from the
 * accumulators (so the compiler keeps the work); FLOPs = reps * NACC * lanes * 2. */
#define NACC512 24
__attribute__((target("avx512f"))) static float fma_avx512(long reps)
{
    __m512 acc[NACC512];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < NACC512; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (long r = 0; r < reps; r++) {
#pragma GCC unroll 24
        for (int i = 0; i < NACC512; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __m512 s = acc[0];
    for (int i = 1; i < NACC512; i++)
        s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

#define NACC256 12
__attribute__((target("avx2,fma"))) static float fma_avx2(long reps)
{
    __m256 acc[NACC256];
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < NACC256; i++)
        acc[i] = _mm256_set1_ps((float)i);
    for (long r = 0; r < reps; r++) {
#pragma GCC unroll 12
        for (int i = 0; i < NACC256; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    __m256 s = acc[0];
    for (int i = 1; i < NACC256; i++)
        s = _mm256_add_ps(s, acc[i]);
    float v[8];
    _mm256_storeu_ps(v, s);
    return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}

#define NACC1 8
static float fma_scalar(long reps)
{
    float acc[NACC1];
    for (int i = 0; i < NACC1; i++)
        acc[i] = (float)i;
    for (long r = 0; r < reps; r++)
        for (int i = 0; i < NACC1; i++)
            acc[i] = acc[i] * 0.999999f + 1e-7f;
    float s = 0;
    for (int i = 0; i < NACC1; i++)
        s += acc[i];
    return s;
}

typedef enum { ISA_SCALAR, ISA_AVX2, ISA_AVX512 } isa_kind;
static const char *isa_name[] = {"scalar", "avx2+fma", "avx512f"};
static const double flops_per_rep[] = {NACC1 * 2.0, NACC256 * 8 * 2.0, NACC512 * 16 * 2.0};

typedef struct job {
    isa_kind isa;
    long reps;
    double seconds;
    float sink;
    pthread_barrier_t *bar;
} job;

static float run_kernel(isa_kind isa, long reps)
{
    switch (isa) {
    case ISA_AVX512: return fma_avx512(reps);
    case ISA_AVX2: return fma_avx2(reps);
    case ISA_SCALAR: return fma_scalar(reps);
    }
    return 0;
}

static void *worker(void *arg)
{
    job *j = arg;
    pthread_barrier_wait(j->bar);
    double t0 = now_s();
    j->sink = run_kernel(j->isa, j->reps);
    j->seconds = now_s() - t0;
    return NULL;
}

/* GFLOP/s of `threads` threads running `isa` for about `secs` seconds each. */
static double measure(isa_kind isa, int threads, double secs)
{
    /* calibrate on one thread: reps for ~secs */
    long reps = 1000;
    for (;;) {
        double t0 = now_s();
        volatile float s = run_kernel(isa, reps);
        (void)s;
        double dt = now_s() - t0;
        if (dt > 0.02) {
            reps = (long)(reps * secs / dt) + 1;
            break;
        }
        reps *= 4;
    }
    job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    pthread_barrier_t bar;
    if (!jobs || !tid || pthread_barrier_init(&bar, NULL, (unsigned)threads) != 0) {
        free(jobs);
        free(tid);
        return 0;
    }
    int started = 0;
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){.isa = isa, .reps = reps, .bar = &bar};
        if (t > 0 && pthread_create(&tid[t], NULL, worker, &jobs[t]) != 0)
            break;
        started = t + 1;
    }
    double g = 0;
    if (started == threads) {
        worker(&jobs[0]);
        double worst = jobs[0].seconds;
        for (int t = 1; t < threads; t++) {
            pthread_join(tid[t], NULL);
            if (jobs[t].seconds > worst)
                worst = jobs[t].seconds;
        }
        g = (double)reps * flops_per_rep[isa] * threads / worst * 1e-9;
    } else {
        fprintf(stderr, "bench_peak: could not start %d threads\n", threads);
        exit(1);
    }
    pthread_barrier_destroy(&bar);
    free(jobs);
    free(tid);
    return g;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.3;
    if (!(secs > 0.01 && secs < 60))
        secs = 0.3;
    const char *e = getenv("OMP_NUM_THREADS");
    int threads = e && atoi(e) > 0 ? atoi(e) : 2;
    if (threads > 256)
        threads = 256;
    __builtin_cpu_init();
    isa_kind isas[3];
    int n = 0;
    if (__builtin_cpu_supports("avx512f"))
        isas[n++] = ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        isas[n++] = ISA_AVX2;
    if (n == 0)
        isas[n++] = ISA_SCALAR;
    isa_kind best = isas[0];
    double bestg = 0;
    for (int k = 0; k < n; k++) {
        double g = 0;
        for (int r = 0; r < 3; r++) {
            double x = measure(isas[k], threads, secs);
            if (x > g)
                g = x;
        }
        printf("isa %s gflops %.1f threads %d\n", isa_name[isas[k]], g, threads);
        if (g > bestg) {
            bestg = g;
            best = isas[k];
        }
    }
    printf("peak %s %.1f threads %d\n", isa_name[best], bestg, threads);
    return 0;
}
