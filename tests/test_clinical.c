/* clinical: VAS, ODI, JOA, SF-36 (RAND), MacNab; and `dolor stats score`, `kappa`, `icc`, `roc`, `delong`,
 * `diag`, `samplesize`, `randomise` end to end through the dolor program ($DOLOR_BIN: exit codes, messages). */
#define _GNU_SOURCE
#include "check.h"
#include "dolor/clinical.h"
#include "test_util.h"

enum { DOLOR_EXIT_INPUT = 2 }; /* the CLI's exit code for bad input */

#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

/* ------------------------------------------------------------ VAS */

static void test_vas(void)
{
    double v;
    CHECK_OK(dolor_vas_score(7.3, 10, "VAS back", &v));
    CHECK_NEAR(v, 7.3, 1e-15);
    CHECK_OK(dolor_vas_score(73, 100, NULL, &v));
    CHECK_NEAR(v, 7.3, 1e-15);
    CHECK_ERR(dolor_vas_score(10.5, 10, "VAS leg", &v), DOLOR_EINVAL, "VAS leg: 10.5 is outside 0..10");
    CHECK_ERR(dolor_vas_score(-1, 10, NULL, &v), DOLOR_EINVAL, "VAS: -1");
    CHECK_ERR(dolor_vas_score(NAN, 10, "VAS", &v), DOLOR_EINVAL, "missing");
}

/* ------------------------------------------------------------ ODI */

static void test_odi(void)
{
    dolor_odi_result r;
    /* ODI 2.1a scoring instructions (Fairbank & Pynsent 2000, Spine 25:2940):
     * "16 (total scored) / 50 (total possible score) x 100 = 32%"; with one
     * section missed: "16 / 45 x 100 = 35.5%" */
    double a[10] = {2, 1, 3, 2, 2, 1, 1, 2, 1, 1}; /* sum 16 */
    CHECK_OK(dolor_odi_score(a, DOLOR_ODI_MAX_MISSING, &r));
    CHECK_NEAR(r.percent, 32.0, 1e-12);
    CHECK(r.sum == 16 && r.answered == 10 && r.missing == 0);
    CHECK(strcmp(r.category, "moderate disability") == 0);
    double b[10] = {2, 1, 3, 2, 2, 1, 1, NAN, 3, 1}; /* sex life blank, sum 16 */
    CHECK_OK(dolor_odi_score(b, DOLOR_ODI_MAX_MISSING, &r));
    CHECK_NEAR(r.percent, 16.0 / 45.0 * 100.0, 1e-12);
    CHECK(r.answered == 9 && r.missing == 1);
    /* two blank sections: 16 / 40 = 40% (still accepted by default) */
    b[0] = NAN;
    b[2] = 5;
    CHECK_OK(dolor_odi_score(b, DOLOR_ODI_MAX_MISSING, &r));
    CHECK_NEAR(r.percent, 40.0, 1e-12);
    CHECK(strcmp(r.category, "moderate disability") == 0);
    /* three blank: rejected at the default limit, accepted with 3 */
    b[5] = NAN;
    CHECK_ERR(dolor_odi_score(b, DOLOR_ODI_MAX_MISSING, &r), DOLOR_EINVAL, "3 of 10 sections are blank");
    CHECK_OK(dolor_odi_score(b, 3, &r));
    CHECK_NEAR(r.percent, 15.0 / 35.0 * 100.0, 1e-12);
    /* category bounds */
    double z[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, f[10] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    CHECK_OK(dolor_odi_score(z, 2, &r));
    CHECK(r.percent == 0 && strcmp(r.category, "minimal disability") == 0);
    CHECK_OK(dolor_odi_score(f, 2, &r));
    CHECK(r.percent == 100 && strcmp(r.category, "bed-bound") == 0);
    /* validation names the section and the value */
    a[2] = 7;
    CHECK_ERR(dolor_odi_score(a, 2, &r), DOLOR_EINVAL, "ODI section 3 (lifting): 7 is outside 0..5");
    a[2] = 2.5;
    CHECK_ERR(dolor_odi_score(a, 2, &r), DOLOR_EINVAL, "2.5");
    CHECK(strcmp(dolor_odi_section_name(10), "travelling") == 0);
}

/* ------------------------------------------------------------ JOA */

static void test_joa(void)
{
    dolor_joa_result r;
    double full[14] = {3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0};
    CHECK_OK(dolor_joa_score(full, &r));
    CHECK(r.subjective == 9 && r.signs == 6 && r.adl == 14 && r.total == 29 && r.bladder_assessed);
    /* hand-scored patient: pain 1, leg 2, gait 2 (=5); SLR 1, sensory 2,
     * motor 2 (=5); ADL 1,2,1,0,1,0,2 (=7); bladder -3 -> 14 */
    double p[14] = {1, 2, 2, 1, 2, 2, 1, 2, 1, 0, 1, 0, 2, -3};
    CHECK_OK(dolor_joa_score(p, &r));
    CHECK(r.subjective == 5 && r.signs == 5 && r.adl == 7 && r.bladder == -3 && r.total == 14);
    p[13] = NAN; /* bladder not assessed */
    CHECK_OK(dolor_joa_score(p, &r));
    CHECK(r.total == 17 && !r.bladder_assessed);
    p[13] = -2;
    CHECK_ERR(dolor_joa_score(p, &r), DOLOR_EINVAL, "JOA item 14 (bladder): -2");
    p[13] = 0;
    p[0] = 4;
    CHECK_ERR(dolor_joa_score(p, &r), DOLOR_EINVAL, "JOA item 1 (low_back_pain): 4 is outside 0..3");
    p[0] = 1;
    p[9] = NAN;
    CHECK_ERR(dolor_joa_score(p, &r), DOLOR_EINVAL, "JOA item 10 (adl_leaning_forward) is missing");
    /* Hirabayashi recovery rate: (24 - 12) / (29 - 12) * 100 = 70.588...% */
    double rr;
    CHECK_OK(dolor_joa_recovery_rate(12, 24, &rr));
    CHECK_NEAR(rr, 1200.0 / 17.0, 1e-12);
    CHECK_ERR(dolor_joa_recovery_rate(29, 29, &rr), DOLOR_EINVAL, "29");
    CHECK_ERR(dolor_joa_recovery_rate(12, 31, &rr), DOLOR_EINVAL, "31");
}

/* ------------------------------------------------------------ SF-36 */

static void test_sf36(void)
{
    dolor_sf36_result r;
    double q[36];
    /* every answer 1: recoded by RAND Table 1 (A 1->100, B/C/E/F 1->0, D 1->100):
     * PF 0; RP 0; RE 0; energy (23 D100, 27 D100, 29 E0, 31 E0) 50;
     * emotional (24 E0, 25 E0, 26 D100, 28 E0, 30 D100) 40; social (20 A100,
     * 32 F0) 50; pain (21 D100, 22 A100) 100; general (1 A100, 33 F0, 34 A100,
     * 35 F0, 36 A100) 60; health change (2 A) 100 */
    for (int i = 0; i < 36; i++)
        q[i] = 1;
    CHECK_OK(dolor_sf36_score(q, &r));
    static const double ones[8] = {0, 0, 0, 50, 40, 50, 100, 60};
    for (int s = 0; s < 8; s++)
        CHECKF(fabs(r.scale[s] - ones[s]) < 1e-12, "all-1 %s = %g, expected %g",
               dolor_sf36_scale_name((dolor_sf36_scale)s), r.scale[s], ones[s]);
    CHECK(r.health_change == 100);
    /* best health: answers giving 100 everywhere */
    for (int i = 1; i <= 36; i++) {
        int k = dolor_sf36_item_choices(i);
        int best;
        switch (i) {
        case 1: case 2: case 20: case 22: case 34: case 36: case 21: case 23: case 26: case 27: case 30: best = 1; break;
        default: best = k;
        }
        q[i - 1] = best;
    }
    CHECK_OK(dolor_sf36_score(q, &r));
    for (int s = 0; s < 8; s++)
        CHECK(r.scale[s] == 100 && r.answered[s] > 0);
    /* a mixed respondent with blanks, scored by hand from RAND Tables 1-2:
     * PF items 3..12 = 3,3,2,2,2,3,1,2,3,3 -> 100,100,50,50,50,100,0,50,100,100 = 700/10 = 70
     * RP 13..16 = 1,2,blank,2 -> 0,100,100 -> 66.67 (3 answered)
     * RE 17..19 = 2,2,2 -> 100
     * energy 23 = 3 (D 60), 27 = 4 (D 40), 29 = 2 (E 20), 31 = blank -> 40
     * emotional 24 = 5 (E 80), 25 = 6 (E 100), 26 = 2 (D 80), 28 = 5 (E 80), 30 = 3 (D 60) -> 80
     * social 20 = 2 (A 75), 32 = 4 (F 75) -> 75
     * pain 21 = 4 (D 40), 22 = 3 (A 50) -> 45
     * general 1 = 3 (A 50), 33 = 2 (F 25), 34 = blank, 35 = 4 (F 75), 36 = 2 (A 75) -> 56.25
     * item 2 = blank -> health change NaN */
    static const double mix[36] = {3, NAN, 3, 3, 2, 2, 2, 3, 1, 2, 3, 3, 1, 2, NAN, 2, 2, 2, 2, 2, 4, 3, 3, 5, 6, 2,
                                   4, 5, 2, 3, NAN, 4, 2, NAN, 4, 2};
    CHECK_OK(dolor_sf36_score(mix, &r));
    static const double want[8] = {70, 200.0 / 3, 100, 40, 80, 75, 45, 56.25};
    static const int ans[8] = {10, 3, 3, 3, 5, 2, 2, 4};
    for (int s = 0; s < 8; s++) {
        CHECKF(fabs(r.scale[s] - want[s]) < 1e-12, "mixed %s = %.15g, expected %.15g",
               dolor_sf36_scale_name((dolor_sf36_scale)s), r.scale[s], want[s]);
        CHECK(r.answered[s] == ans[s]);
    }
    CHECK(isnan(r.health_change));
    /* a scale with every item blank is NaN */
    double blank[36];
    memcpy(blank, mix, sizeof blank);
    blank[20] = blank[21] = NAN;
    CHECK_OK(dolor_sf36_score(blank, &r));
    CHECK(isnan(r.scale[DOLOR_SF36_BP]) && r.answered[DOLOR_SF36_BP] == 0);
    /* validation: item 5 has 3 choices; item 21 has 6 */
    blank[4] = 4;
    CHECK_ERR(dolor_sf36_score(blank, &r), DOLOR_EINVAL, "SF-36 question 5: 4 is not an answer 1..3");
    blank[4] = 1;
    blank[20] = 0;
    CHECK_ERR(dolor_sf36_score(blank, &r), DOLOR_EINVAL, "question 21: 0 is not an answer 1..6");
    CHECK(dolor_sf36_item_choices(13) == 2 && dolor_sf36_item_choices(32) == 5 && dolor_sf36_item_choices(37) == 0);
}

/* ------------------------------------------------------------ MacNab */

static void test_macnab(void)
{
    dolor_macnab g[80];
    for (int i = 0; i < 80; i++)
        g[i] = i < 40 ? DOLOR_MACNAB_EXCELLENT : i < 65 ? DOLOR_MACNAB_GOOD : i < 75 ? DOLOR_MACNAB_FAIR
                                                                                     : DOLOR_MACNAB_POOR;
    dolor_macnab_summary m;
    CHECK_OK(dolor_macnab_summarise(g, 80, 0.95, DOLOR_CI_WILSON, &m));
    CHECK(m.count[1] == 40 && m.count[2] == 25 && m.count[3] == 10 && m.count[4] == 5);
    CHECK_NEAR(m.success.estimate, 65.0 / 80, 1e-15);
    /* R 4.2.2: prop.test(65, 80, correct = FALSE)$conf.int */
    CHECK_NEAR(m.success.lower, 0.71341677371006884, 1e-12);
    CHECK_NEAR(m.success.upper, 0.88294689533022686, 1e-12);
    dolor_macnab x;
    CHECK_OK(dolor_macnab_parse("Good", &x));
    CHECK(x == DOLOR_MACNAB_GOOD);
    CHECK_OK(dolor_macnab_parse("4", &x));
    CHECK(x == DOLOR_MACNAB_POOR);
    CHECK_ERR(dolor_macnab_parse("great", &x), DOLOR_EINVAL, "'great'");
    g[3] = (dolor_macnab)7;
    CHECK_ERR(dolor_macnab_summarise(g, 80, 0.95, DOLOR_CI_WILSON, &m), DOLOR_EINVAL, "patient 4 is 7");
}

/* ------------------------------------------------------------ CLI */

static char cli_out[65536], cli_err[8192];

/* run "dolor stats WORDS..." capturing stdout and stderr into cli_out, cli_err */
static int run_cli(const char *first, ...)
{
    char args[4096] = "stats";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        snprintf(args + strlen(args), sizeof args - strlen(args), " '%s'", a);
    va_end(ap);
    char *o = NULL, *e = NULL;
    int rc = dolor_test_run(&o, &e, "%s", args);
    snprintf(cli_out, sizeof cli_out, "%s", o ? o : "");
    snprintf(cli_err, sizeof cli_err, "%s", e ? e : "");
    free(o);
    free(e);
    return rc;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
}

static void test_cli(void)
{
    char dir[] = "/tmp/dolor_clinXXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char odi[256], bad[256], out[256], sf[256], mac[256], two[256];
    snprintf(odi, sizeof odi, "%s/odi.csv", dir);
    snprintf(bad, sizeof bad, "%s/bad.csv", dir);
    snprintf(out, sizeof out, "%s/scores.csv", dir);
    snprintf(sf, sizeof sf, "%s/sf.csv", dir);
    snprintf(mac, sizeof mac, "%s/macnab.csv", dir);
    snprintf(two, sizeof two, "%s/two.csv", dir);
    write_file(odi, "id,odi1,odi2,odi3,odi4,odi5,odi6,odi7,odi8,odi9,odi10\n"
                    "P1,2,1,3,2,2,1,1,2,1,1\n"
                    "P2,2,1,3,2,2,1,1,,3,1\n");
    CHECK(run_cli("score", "odi", odi, "--id", "id", NULL) == 0);
    CHECK(strstr(cli_out, "P1,32,16,10,moderate disability") != NULL);
    CHECK(strstr(cli_out, "P2,35.55555556,16,9,") != NULL);
    CHECK(run_cli("score", "odi", odi, "--id", "id", "--out", out, NULL) == 0);
    FILE *fp = fopen(out, "r");
    char line[256] = "";
    CHECK(fp && fgets(line, sizeof line, fp) && strncmp(line, "id,odi_percent", 14) == 0);
    if (fp)
        fclose(fp);
    /* a non-numeric cell: exit 2, message names the column and the row */
    write_file(bad, "id,odi1,odi2,odi3,odi4,odi5,odi6,odi7,odi8,odi9,odi10\n"
                    "P1,2,1,3,2,2,1,1,2,1,1\n"
                    "P2,2,x,3,2,2,1,1,2,3,1\n");
    CHECK(run_cli("score", "odi", bad, NULL) == DOLOR_EXIT_INPUT);
    CHECKF(strstr(cli_err, "column 'odi2', row 2 (line 3): 'x'") != NULL, "stderr: %s", cli_err);
    CHECK(cli_out[0] == 0); /* nothing written before the error */
    /* an out-of-range item: exit 2 naming row, section and value */
    write_file(bad, "odi1,odi2,odi3,odi4,odi5,odi6,odi7,odi8,odi9,odi10\n2,1,3,2,2,1,9,2,1,1\n");
    CHECK(run_cli("score", "odi", bad, NULL) == DOLOR_EXIT_INPUT);
    CHECKF(strstr(cli_err, "row 1") && strstr(cli_err, "section 7 (sleeping): 9"), "stderr: %s", cli_err);
    /* a column that does not exist */
    CHECK(run_cli("score", "vas", odi, "--col", "vas_back", NULL) == DOLOR_EXIT_INPUT);
    CHECKF(strstr(cli_err, "no column 'vas_back'") != NULL, "stderr: %s", cli_err);
    /* SF-36 with the mixed respondent of test_sf36 */
    {
        static const char *mix = "3,,3,3,2,2,2,3,1,2,3,3,1,2,,2,2,2,2,2,4,3,3,5,6,2,4,5,2,3,,4,2,,4,2";
        char text[1024];
        int n = snprintf(text, sizeof text, "sf1");
        for (int i = 2; i <= 36; i++)
            n += snprintf(text + n, sizeof text - (size_t)n, ",sf%d", i);
        snprintf(text + n, sizeof text - (size_t)n, "\n%s\n", mix);
        write_file(sf, text);
        CHECK(run_cli("score", "sf36", sf, NULL) == 0);
        CHECKF(strstr(cli_out, "1,70,66.66666667,100,40,80,75,45,56.25,,\n") != NULL, "stdout: %s", cli_out);
    }
    /* JOA: the hand-scored patient of test_joa (total 14), bladder column absent */
    write_file(bad, "id,low_back_pain,leg_pain,gait,slr,sensory,motor,adl_turn_over,adl_standing,adl_washing,"
                    "adl_leaning_forward,adl_sitting,adl_lifting,adl_walking\nJ1,1,2,2,1,2,2,1,2,1,0,1,0,2\n");
    CHECK(run_cli("score", "joa", bad, "--id", "id", NULL) == 0);
    CHECKF(strstr(cli_out, "J1,5,5,7,,17,\n") != NULL, "stdout: %s", cli_out);
    write_file(bad, "low_back_pain,leg_pain,gait,slr,sensory,motor,adl_turn_over,adl_standing,adl_washing,"
                    "adl_leaning_forward,adl_sitting,adl_lifting,adl_walking,bladder\n1,2,2,1,2,2,1,2,1,0,1,0,2,-3\n"
                    "1,2,2,3,2,2,1,2,1,0,1,0,2,0\n");
    CHECK(run_cli("score", "joa", bad, NULL) == DOLOR_EXIT_INPUT);
    CHECKF(!cli_out[0] && strstr(cli_err, "row 2") && strstr(cli_err, "item 4 (slr): 3"),
           "stdout: %s stderr: %s", cli_out, cli_err); /* row 1 is valid, but nothing is written */
    /* VAS in mm */
    write_file(bad, "vas\n73\n0\n100\n");
    CHECK(run_cli("score", "vas", bad, "--col", "vas", "--scale-max", "100", NULL) == 0);
    CHECKF(strstr(cli_out, "1,7.3,\n2,0,\n3,10,\n") != NULL, "stdout: %s", cli_out);
    write_file(bad, "vas\n7\n\n");
    CHECK(run_cli("score", "vas", bad, "--col", "vas", NULL) == 0); /* trailing blank line ignored */
    write_file(bad, "vas,x\n7,1\n,2\n");
    CHECK(run_cli("score", "vas", bad, "--col", "vas", NULL) == 0); /* a blank VAS is NA with its reason */
    CHECKF(strstr(cli_out, "2,,blank\n") && strstr(cli_err, "row 2 (2): vas not scored: blank"), "stdout: %s stderr: %s",
           cli_out, cli_err);
    /* MacNab */
    write_file(mac, "grade\nexcellent\ngood\nGood\nfair\npoor\nexcellent\ngood\n");
    CHECK(run_cli("score", "macnab", mac, "--col", "grade", NULL) == 0);
    CHECKF(strstr(cli_out, "excellent + good: 5/7") != NULL, "stdout: %s", cli_out);
    write_file(mac, "grade\nexcellent\nsuperb\n");
    CHECK(run_cli("score", "macnab", mac, "--col", "grade", NULL) == DOLOR_EXIT_INPUT);
    CHECKF(strstr(cli_err, "row 2") && strstr(cli_err, "superb"), "stderr: %s", cli_err);
    /* kappa / icc / roc / delong / diag on a small table */
    write_file(two, "a,b,y,s1,s2\n1,1,0,0.1,0.3\n2,2,0,0.4,0.2\n3,3,1,0.35,0.5\n1,2,1,0.8,0.6\n2,2,0,0.2,0.1\n"
                    "3,2,1,0.9,0.4\n1,1,0,0.3,0.35\n2,3,1,0.7,0.9\n");
    CHECK(run_cli("kappa", two, "--r1", "a", "--r2", "b", "--weights", "linear", NULL) == 0);
    CHECK(strstr(cli_out, "linear") != NULL);
    CHECK(run_cli("kappa", two, "--r1", "a", "--r2", "zz", NULL) == DOLOR_EXIT_INPUT);
    CHECK(run_cli("icc", two, "--cols", "a,b", NULL) == 0);
    CHECK(strstr(cli_out, "ICC2") != NULL);
    CHECK(run_cli("roc", two, "--truth", "y", "--score", "s1", NULL) == 0);
    CHECKF(strstr(cli_out, "AUC 0.9375") != NULL, "stdout: %s", cli_out); /* 15 of 16 pairs ordered */
    CHECK(run_cli("delong", two, "--truth", "y", "--score1", "s1", "--score2", "s2", NULL) == 0);
    CHECK(strstr(cli_out, "Paired DeLong") != NULL);
    CHECK(run_cli("roc", two, "--truth", "a", "--score", "s1", NULL) == DOLOR_EXIT_INPUT);
    CHECKF(strstr(cli_err, "truth: row 2 is 2") != NULL, "stderr: %s", cli_err);
    CHECK(run_cli("diag", two, "--truth", "y", "--test", "a", NULL) == DOLOR_EXIT_INPUT);
    CHECKF(strstr(cli_err, "test: row 2 is 2") != NULL, "stderr: %s", cli_err);
    CHECK(run_cli("diag", "--tp", "5", "--fp", "3", "--fn", "0", "--tn", "0", NULL) == DOLOR_EXIT_INPUT);
    CHECKF(strstr(cli_err, "tn+fn is 0") != NULL, "stderr: %s", cli_err); /* zero margin */
    CHECK(run_cli("diag", "--tp", "45", "--fp", "12", "--fn", "7", "--tn", "86", NULL) == 0);
    CHECK(strstr(cli_out, "0.7473 .. 0.9332") != NULL); /* Wilson, sensitivity 45/52 */
    CHECK(run_cli("samplesize", "--proportions", "0.5,0.75", "--power", "0.9", NULL) == 0);
    CHECK(strstr(cli_out, "-> 77 (total 154)") != NULL);
    CHECK(run_cli("samplesize", "--means", "0.5,1", "--t", "--dropout", "0.2", NULL) == 0);
    CHECK(strstr(cli_out, "-> 64") && strstr(cli_out, "80 per group"));
    CHECK(run_cli("randomise", "--n", "8", "--seed", "3", "--blocks", "4", NULL) == 0);
    CHECK(strstr(cli_out, "A: 4  B: 4") != NULL);
    CHECK(run_cli("randomise", "--n", "8", "--seed", "3", "--blocks", "3", NULL) == DOLOR_EXIT_INPUT);
    CHECK(run_cli("kappa", "--help", NULL) == 0);
    CHECK(run_cli("nosuch", NULL) == DOLOR_EXIT_INPUT);
    remove(odi), remove(bad), remove(out), remove(sf), remove(mac), remove(two);
    rmdir(dir);
}

int main(void)
{
    test_vas();
    test_odi();
    test_joa();
    test_sf36();
    test_macnab();
    if (dolor_test_bin("stats score, kappa, icc, roc, diag, samplesize, randomise"))
        test_cli();
    return dolor_test_finish();
}
