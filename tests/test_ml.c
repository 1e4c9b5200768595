/* ml: random forest (determinism across threads, accuracy on separable data, OOB, importances, save/load,
 * bad input), stratified group k-fold, and cross-validated accuracy/AUC against scikit-learn's
 * RandomForestClassifier on tests/fixtures/ml (tools/gen_ml_fixtures.py; within 0.02). */
#define _GNU_SOURCE
#include "check.h"
#include "dolor/ml.h"

#include <omp.h>
#include <unistd.h>

static void make_data(size_t n, int p, uint64_t seed, double *X, int *y)
{
    dolor_rng r;
    dolor_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < p; j++)
            X[i * p + j] = dolor_rng_normal(&r);
        /* class from features 0 and 1 (an interaction and a threshold); the rest is noise */
        y[i] = (X[i * p] > 0.3) ^ (X[i * p + 1] > -0.2);
    }
}

static double accuracy(const double *proba, const int *y, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += (proba[2 * i + 1] > proba[2 * i]) == y[i];
    return (double)ok / n;
}

/* Mann-Whitney AUC with ties 1/2 */
static double auc(const double *score, const int *y, size_t n)
{
    double s = 0, np = 0, nn = 0;
    for (size_t i = 0; i < n; i++) {
        if (!y[i])
            continue;
        np++;
        for (size_t j = 0; j < n; j++)
            if (!y[j])
                s += score[i] > score[j] ? 1 : score[i] == score[j] ? 0.5 : 0;
    }
    for (size_t j = 0; j < n; j++)
        nn += !y[j];
    return s / (np * nn);
}

static void test_forest_basic(void)
{
    const size_t n = 800, nt = 400;
    const int p = 6;
    double *X = malloc(n * p * sizeof *X), *Xt = malloc(nt * p * sizeof *Xt);
    int *y = malloc(n * sizeof *y), *yt = malloc(nt * sizeof *yt);
    make_data(n, p, 1, X, y);
    make_data(nt, p, 2, Xt, yt);
    dolor_forest_params prm;
    dolor_forest_params_default(&prm);
    prm.seed = 42;
    dolor_forest *f1 = NULL, *f2 = NULL;
    omp_set_num_threads(1);
    CHECK_OK(dolor_forest_fit(X, n, p, y, 2, &prm, &f1));
    omp_set_num_threads(2);
    CHECK_OK(dolor_forest_fit(X, n, p, y, 2, &prm, &f2));
    if (!f1 || !f2)
        return;
    double *p1 = malloc(nt * 2 * sizeof *p1), *p2 = malloc(nt * 2 * sizeof *p2);
    CHECK_OK(dolor_forest_predict_proba(f1, Xt, nt, p, p1));
    CHECK_OK(dolor_forest_predict_proba(f2, Xt, nt, p, p2));
    CHECK(memcmp(p1, p2, nt * 2 * sizeof *p1) == 0); /* same seed, 1 or 2 threads: bit-identical */
    double acc = accuracy(p1, yt, nt);
    CHECKF(acc > 0.9, "held-out accuracy %.3f", acc);
    int sum1 = 1;
    for (size_t i = 0; i < nt; i++)
        sum1 &= fabs(p1[2 * i] + p1[2 * i + 1] - 1) < 1e-12 && p1[2 * i] >= 0;
    CHECK(sum1);
    double oob;
    double *op = malloc(n * 2 * sizeof *op);
    CHECK_OK(dolor_forest_oob(f1, op, &oob));
    CHECKF(oob < 0.12 && oob > 0.0, "OOB error %.3f", oob);
    /* OOB error is close to the held-out error */
    CHECKF(fabs(oob - (1 - acc)) < 0.05, "OOB error %.3f vs held-out %.3f", oob, 1 - acc);
    printf("forest: held-out accuracy %.3f, OOB error %.3f\n", acc, oob);
    /* importances: features 0 and 1 carry the class */
    double imp[6], pm[6], ps[6], tot = 0;
    dolor_forest_importance_impurity(f1, imp);
    for (int j = 0; j < p; j++)
        tot += imp[j];
    CHECK_NEAR(tot, 1.0, 1e-12);
    for (int j = 2; j < p; j++)
        CHECKF(imp[0] > 2 * imp[j] && imp[1] > 2 * imp[j], "impurity importance %d: %g vs %g, %g", j, imp[j], imp[0],
               imp[1]);
    CHECK_OK(dolor_forest_importance_permutation(f1, Xt, nt, p, yt, 3, 7, pm, ps));
    for (int j = 2; j < p; j++)
        CHECKF(pm[0] > 0.1 && pm[1] > 0.1 && fabs(pm[j]) < 0.03, "permutation importance %d: %g (0: %g, 1: %g)", j,
               pm[j], pm[0], pm[1]);
    /* save and load: same probabilities */
    char path[] = "/tmp/dolor_forest_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    char *fn[6] = {"a", "b", "c", "d", "e", "f"}, *cn[2] = {"lean", "fat"};
    CHECK_OK(dolor_forest_save(f1, path, fn, cn));
    dolor_forest *f3 = NULL;
    char **names = NULL, **classes = NULL;
    CHECK_OK(dolor_forest_load(path, &f3, &names, &classes));
    if (f3) {
        CHECK_OK(dolor_forest_predict_proba(f3, Xt, nt, p, p2));
        CHECK(memcmp(p1, p2, nt * 2 * sizeof *p1) == 0);
        CHECK(names && !strcmp(names[5], "f") && !names[6] && classes && !strcmp(classes[1], "fat"));
        double imp3[6];
        dolor_forest_importance_impurity(f3, imp3);
        CHECK(memcmp(imp, imp3, sizeof imp) == 0);
    }
    for (char **q = names; q && *q; q++)
        free(*q);
    free(names);
    for (char **q = classes; q && *q; q++)
        free(*q);
    free(classes);
    FILE *fp = fopen(path, "w");
    fputs("dolor-forest 1\nclasses 2\nfeatures x\n", fp);
    fclose(fp);
    dolor_forest *f4 = NULL;
    CHECK_ERR(dolor_forest_load(path, &f4, NULL, NULL), DOLOR_EFORMAT, "line 3: expected 'features P'");
    unlink(path);
    /* bad input */
    CHECK_ERR(dolor_forest_predict_proba(f1, Xt, nt, 5, p2), DOLOR_ESHAPE, "5 features");
    X[3 * p + 2] = NAN;
    dolor_forest *bad = NULL;
    CHECK_ERR(dolor_forest_fit(X, n, p, y, 2, &prm, &bad), DOLOR_ENUMERIC, "row 4, feature 3");
    X[3 * p + 2] = 0;
    y[9] = 2;
    CHECK_ERR(dolor_forest_fit(X, n, p, y, 2, &prm, &bad), DOLOR_EINVAL, "row 10 has class 2");
    y[9] = 0;
    prm.max_features = 7;
    CHECK_ERR(dolor_forest_fit(X, n, p, y, 2, &prm, &bad), DOLOR_EINVAL, "max_features = 7");
    dolor_forest_free(f1);
    dolor_forest_free(f2);
    dolor_forest_free(f3);
    free(X), free(Xt), free(y), free(yt), free(p1), free(p2), free(op);
}

static void test_kfold(void)
{
    const size_t n = 300;
    int y[300], g[300], fold[300];
    dolor_rng r;
    dolor_rng_seed(&r, 3);
    for (size_t i = 0; i < n; i++) {
        g[i] = (int)(i / 3) * 7 + 100; /* 100 patients, 3 rows each */
        y[i] = (i / 3) % 4 == 0;       /* 25% positive patients */
    }
    CHECK_OK(dolor_stratified_group_kfold(y, g, n, 2, 5, 9, fold));
    int same = 1, cnt[5] = {0}, pos[5] = {0};
    for (size_t i = 0; i < n; i++) {
        same &= fold[i] == fold[(i / 3) * 3];
        cnt[fold[i]]++;
        pos[fold[i]] += y[i];
    }
    CHECK(same); /* a patient's rows share a fold */
    for (int f = 0; f < 5; f++)
        CHECKF(cnt[f] == 60 && pos[f] == 15, "fold %d: %d rows, %d positive", f, cnt[f], pos[f]);
    CHECK_ERR(dolor_stratified_group_kfold(y, g, 6, 2, 5, 9, fold), DOLOR_EINVAL, "only 2 groups");
    CHECK_ERR(dolor_stratified_group_kfold(y, g, n, 2, 1, 9, fold), DOLOR_EINVAL, "k = 1");
}

/* cross-validated accuracy and pooled AUC on the fixture's folds vs scikit-learn's (mean over 10 seeds) */
static void test_vs_sklearn(void)
{
    const char *csv = DOLOR_TEST_FIXTURES "/ml/forest_cv.csv", *js = DOLOR_TEST_FIXTURES "/ml/forest_cv_sklearn.json";
    FILE *fp = fopen(csv, "r");
    CHECKF(fp != NULL, "cannot open %s", csv);
    if (!fp)
        return;
    enum { N = 400, P = 8 };
    static double X[N * P];
    int y[N], fold[N];
    char line[1024];
    if (!fgets(line, sizeof line, fp))
        line[0] = 0;
    size_t n = 0;
    while (n < N && fgets(line, sizeof line, fp)) {
        char *s = strchr(line, ',') + 1, *e;
        fold[n] = (int)strtol(s, &e, 10);
        for (int j = 0; j < P; j++)
            X[n * P + j] = strtod(e + 1, &e);
        y[n] = strncmp(e + 1, "fat", 3) == 0;
        n++;
    }
    fclose(fp);
    CHECK(n == N);
    char txt[2048] = {0};
    fp = fopen(js, "r");
    size_t got = fp ? fread(txt, 1, sizeof txt - 1, fp) : 0;
    if (fp)
        fclose(fp);
    txt[got] = 0;
    const char *a = strstr(txt, "\"cv_accuracy_mean\":"), *b = strstr(txt, "\"pooled_auc_mean\":");
    CHECK(a && b);
    if (!a || !b)
        return;
    double ref_acc = strtod(a + 19, NULL), ref_auc = strtod(b + 18, NULL);
    double acc_sum = 0, auc_sum = 0;
    const int seeds = 5;
    static double Xtr[N * P], Xte[N * P], proba[N * 2], score[N];
    int ytr[N];
    for (int seed = 0; seed < seeds; seed++) {
        for (int f = 0; f < 5; f++) {
            size_t ntr = 0, nte = 0;
            int idx[N];
            for (size_t i = 0; i < n; i++) {
                if (fold[i] != f) {
                    memcpy(Xtr + ntr * P, X + i * P, P * sizeof *X);
                    ytr[ntr++] = y[i];
                } else {
                    memcpy(Xte + nte * P, X + i * P, P * sizeof *X);
                    idx[nte++] = (int)i;
                }
            }
            dolor_forest_params prm;
            dolor_forest_params_default(&prm);
            prm.n_trees = 200;
            prm.seed = (uint64_t)seed * 100 + f;
            dolor_forest *fo = NULL;
            CHECK_OK(dolor_forest_fit(Xtr, ntr, P, ytr, 2, &prm, &fo));
            if (!fo)
                return;
            CHECK_OK(dolor_forest_predict_proba(fo, Xte, nte, P, proba));
            for (size_t k = 0; k < nte; k++)
                score[idx[k]] = proba[2 * k + 1];
            dolor_forest_free(fo);
        }
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += (score[i] > 0.5) == y[i];
        acc_sum += (double)ok / n;
        auc_sum += auc(score, y, n);
    }
    double acc = acc_sum / seeds, au = auc_sum / seeds;
    printf("5-fold CV on the fixture: accuracy %.4f (scikit-learn %.4f), pooled AUC %.4f (scikit-learn %.4f)\n", acc,
           ref_acc, au, ref_auc);
    CHECKF(fabs(acc - ref_acc) <= 0.02, "CV accuracy %.4f vs scikit-learn %.4f", acc, ref_acc);
    CHECKF(fabs(au - ref_auc) <= 0.02, "pooled AUC %.4f vs scikit-learn %.4f", au, ref_auc);
}

int main(void)
{
    test_forest_basic();
    test_kfold();
    test_vs_sklearn();
    return dolor_test_finish();
}
