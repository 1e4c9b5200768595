/* Friedman test, repeated-measures ANOVA and Bonferroni-adjusted paired Wilcoxon post hoc against R
 * (friedman.test, aov(y ~ reader + Error(subject/reader)), pairwise.wilcox.test(paired = TRUE)):
 * tests/fixtures/stats/repeated.txt from tools/gen_repeated_fixture.R. p-values to 1e-6 relative. */
#include "check.h"
#include "dolor/stats.h"

#define REL(a, b, tol) CHECKF(fabs((a) - (b)) <= (tol) * fabs(b) || ((a) == (b)), "%s = %.17g, R %.17g", #a, (a), (b))

int main(void)
{
    FILE *fp = fopen(DOLOR_TEST_FIXTURES "/stats/repeated.txt", "r");
    CHECK(fp != NULL);
    if (!fp)
        return dolor_test_finish();
    char line[4096];
    double *y = NULL;
    size_t n = 0;
    int k = 0, sets = 0, pairs = 0;
    double pp[64], pv[64];
    while (fgets(line, sizeof line, fp)) {
        double a[7];
        int i, j;
        if (sscanf(line, "set %zu %d", &n, &k) == 2) {
            free(y);
            y = malloc(n * (size_t)k * sizeof *y);
            for (size_t r = 0; r < n; r++) {
                if (!fgets(line, sizeof line, fp))
                    break;
                char *p = line;
                for (int c = 0; c < k; c++)
                    y[r * (size_t)k + (size_t)c] = strtod(p, &p);
            }
            CHECK_OK(dolor_stats_pairwise_wilcoxon_paired(y, n, k, -1, 1, DOLOR_P_ADJUST_BONFERRONI, pp, pv));
            sets++;
        } else if (sscanf(line, "friedman %lf %lf %lf", a, a + 1, a + 2) == 3) {
            dolor_test_result r;
            CHECK_OK(dolor_stats_friedman(y, n, k, &r));
            REL(r.statistic, a[0], 1e-12);
            CHECK(r.df == a[1]);
            REL(r.p, a[2], 1e-6);
        } else if (sscanf(line, "rmanova %lf %lf %lf %lf %lf %lf %lf", a, a + 1, a + 2, a + 3, a + 4, a + 5, a + 6) == 7) {
            dolor_rm_anova r;
            CHECK_OK(dolor_stats_rm_anova(y, n, k, &r));
            REL(r.F, a[0], 1e-9);
            CHECK(r.df_conditions == a[1] && r.df_error == a[2]);
            REL(r.p, a[3], 1e-6);
            REL(r.ss_conditions, a[4], 1e-9);
            REL(r.ss_error, a[5], 1e-9);
            REL(r.ss_subjects, a[6], 1e-9);
        } else if (sscanf(line, "pair %d %d %lf", &i, &j, a) == 3) {
            REL(pp[i * k + j], a[0], 1e-6);
            pairs++;
        }
    }
    fclose(fp);
    CHECK(sets == 3 && pairs == 12);
    /* by hand: 3 subjects x 2 conditions, condition 1 always larger: ranks (1, 2) in every row, R_j = 3, 6,
     * statistic 12 * (1.5^2 + 1.5^2) / (3 * 2 * 3) = 3, df 1 */
    double h[6] = {1, 2, 3, 5, 2, 2.5};
    dolor_test_result r;
    CHECK_OK(dolor_stats_friedman(h, 3, 2, &r));
    CHECK_NEAR(r.statistic, 3.0, 1e-12);
    /* errors */
    double bad[6] = {1, 2, NAN, 4, 5, 6};
    CHECK_ERR(dolor_stats_friedman(bad, 3, 2, &r), DOLOR_ENUMERIC, "subject 2, condition 1");
    dolor_rm_anova ra;
    CHECK_ERR(dolor_stats_rm_anova(h, 3, 1, &ra), DOLOR_EINVAL, "1 conditions");
    double flat[6] = {1, 2, 3, 4, 5, 6}; /* condition 1 = condition 0 + 1 for everyone: no residual */
    CHECK_ERR(dolor_stats_rm_anova(flat, 3, 2, &ra), DOLOR_ENUMERIC, "no residual variance");
    free(y);
    return dolor_test_finish();
}
