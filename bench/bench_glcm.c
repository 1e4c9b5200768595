/* GLCM feature-set speed: the multifidus study's 7020 features (dolor_features_config_study7020: 9 level counts x
 * 10 distances x 13 directions x 6 properties) on one 3D uint8 volume (180x180x70 in the study).
 * Usage: bench_glcm VOLUME [runs (3)] [threads (2)] [features.csv]
 * Prints the median and minimum wall time and the CPU time per run; with a CSV path, writes the features (one
 * name,value per line) for bench/glcm_vs_skimage.py to compare with scikit-image. */
#include "dolor/core.h"
#include "dolor/io.h"
#include "dolor/radiomics.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_glcm VOLUME [runs] [threads] [features.csv]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 3, threads = argc > 3 ? atoi(argv[3]) : 2;
    if (runs < 1)
        runs = 1;
    if (threads > 0)
        omp_set_num_threads(threads);
    dolor_image *img = NULL;
    double *x = NULL;
    if (dolor_image_read(argv[1], &img) || dolor_image_to_double(img, &x)) {
        fprintf(stderr, "bench_glcm: %s\n", dolor_errmsg());
        return 1;
    }
    int64_t size[3] = {img->size[0], img->size[1], img->ndim > 2 ? img->size[2] : 1};
    dolor_features_config cfg;
    dolor_features_config_study7020(&cfg);
    double *t = malloc((size_t)runs * sizeof *t), c0 = cpu_ms();
    dolor_feature_set *fs = NULL;
    for (int r = 0; r < runs; r++) {
        dolor_feature_set_free(fs);
        fs = NULL;
        double t0 = dolor_time_ms();
        if (dolor_features_compute(x, size, NULL, &cfg, &fs)) {
            fprintf(stderr, "bench_glcm: %s\n", dolor_errmsg());
            return 1;
        }
        t[r] = dolor_time_ms() - t0;
    }
    double cpu = (cpu_ms() - c0) / runs;
    qsort(t, (size_t)runs, sizeof *t, cmpd);
    printf("dolor glcm %lldx%lldx%lld, %d features, %d threads   median %9.1f ms   min %9.1f ms   cpu %9.1f ms/run   "
           "(%d runs)\n",
           (long long)size[0], (long long)size[1], (long long)size[2], fs->n, omp_get_max_threads(), t[runs / 2], t[0],
           cpu, runs);
    if (argc > 4) {
        FILE *fp = fopen(argv[4], "w");
        if (!fp) {
            perror(argv[4]);
            return 1;
        }
        for (int k = 0; k < fs->n; k++)
            fprintf(fp, "%s %.17g\n", fs->names[k], fs->values[k]);
        fclose(fp);
    }
    dolor_feature_set_free(fs);
    dolor_image_free(img);
    free(x);
    free(t);
    return 0;
}
