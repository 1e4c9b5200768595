/* dolor ldh: MSU grading of lumbar disc herniation per axial slice from disc masks and 9 keypoints, and its
 * agreement with a truth table (docs/ldh.md). */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "opts.h"
#include "dolor/detect.h"
#include "dolor/image.h"
#include "dolor/io.h"
#include "dolor/ldh.h"
#include "dolor/stats.h"

typedef struct {
    char *masks, *segment, *images, *pose, *truth, *out, *agreement;
    long disc_label;
    double focal_mm, bulging_mm;
    int quiet;
} ldh_opts;

static const dolor_opt_spec specs[] = {
    {"masks", 0, OPT_STR, "disc masks: label maps (PNG, NIfTI, MetaImage), one per slice, named like the pose labels",
     .metavar = "DIR", DOLOR_OPT_AT(ldh_opts, masks)},
    {"segment", 0, OPT_STR, "disc masks as YOLO segment labels (DIR/SLICE.txt; its first object, as predict writes the highest "
     "score first), with --images for the size and spacing", .metavar = "DIR", DOLOR_OPT_AT(ldh_opts, segment)},
    {"images", 0, OPT_STR, "the slices (DIR/SLICE.png, .nii, .nii.gz or .mha), for --segment", .metavar = "DIR",
     DOLOR_OPT_AT(ldh_opts, images)},
    {"pose", 0, OPT_STR, "YOLO pose labels DIR/SLICE.txt: box + 9 keypoints x y [v] (the first object is used)",
     .metavar = "DIR", DOLOR_OPT_AT(ldh_opts, pose)},
    {"disc-label", 0, OPT_INT, "the disc's value in the label maps", .def = "1", DOLOR_OPT_RANGE(1, 65535),
     DOLOR_OPT_AT(ldh_opts, disc_label)},
    {"truth", 0, OPT_STR, "truth CSV: slice, grade (0..3), type (normal, bulging, 1-A, ..., ABC); prints the "
     "agreement", .metavar = "CSV", DOLOR_OPT_AT(ldh_opts, truth)},
    {"out", 'o', OPT_STR, "per-slice CSV (grade, zone, side, type, distances in mm)", .metavar = "CSV",
     DOLOR_OPT_AT(ldh_opts, out)},
    {"agreement", 0, OPT_STR, "the agreement table as CSV too (with --truth)", .metavar = "CSV",
     DOLOR_OPT_AT(ldh_opts, agreement)},
    {"focal-mm", 0, OPT_NUM, "a pixel is herniated beyond this distance past the disc's own contour", .metavar = "MM",
     .def = "1", DOLOR_OPT_RANGE(0, 20), DOLOR_OPT_AT(ldh_opts, focal_mm)},
    {"bulging-mm", 0, OPT_NUM, "DP this far behind the posterior disc line is a bulging disc", .metavar = "MM",
     .def = "1.5", DOLOR_OPT_RANGE(0, 20), DOLOR_OPT_AT(ldh_opts, bulging_mm)},
    {"quiet", 'q', OPT_FLAG, "no summary on stdout", DOLOR_OPT_AT(ldh_opts, quiet)},
};

static const dolor_cmd_desc ldh_cmd = {
    .name = "ldh",
    .usage = "(--masks DIR | --segment DIR --images DIR) --pose DIR -o OUT.csv [--truth CSV] [options]",
    .summary = "Grade lumbar disc herniation on axial slices after the MSU classification (size 1-3, zones A, B, C;\n"
               "normal and bulging discs grade 0; 18 types, 8 regions) from a disc mask and 9 keypoints per slice\n"
               "(DA DP DPR DPL FR FL CP DLR DLL, docs/ldh.md). With --truth: accuracy, per-type precision, recall\n"
               "and F1, Cohen's kappa with 95% CI (unweighted for the 18 types; unweighted and linear for the 4 grades).",
    DOLOR_CMD_SPECS(specs),
    .no_positionals = 1,
    .details = "With --segment (predictions, e.g. dolor detect predict's labels) a slice whose prediction is missing\n"
               "(no pose file, no object, an empty mask) or whose keypoints cannot be graded is a row of type\n"
               "'failed', counted as wrong against --truth, and the run goes on.\n\n"
               "exit codes: 0 success, 1 runtime failure (I/O), 2 bad input (--masks: a slice without keypoints or\n"
               "mask, invalid keypoints, an empty mask; a keypoint count other than 9, a malformed label file, a\n"
               "truth row with an unknown slice, grade or type: the message names the file and line)\n",
};

static int is_image_name(const char *n)
{
    size_t l = strlen(n);
    static const char *const ext[] = {".png", ".nii", ".nii.gz", ".mha", ".mhd"};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t e = strlen(ext[i]);
        if (l > e && !strcmp(n + l - e, ext[i]))
            return (int)e;
    }
    return 0;
}

/* sorted stems of the files in dir with an image extension (want_txt 0) or .txt (1); names[i] are the file names */
static dolor_status list_dir(const char *dir, int want_txt, char ***stems, char ***names, int *n)
{
    struct dirent **list = NULL;
    int m = scandir(dir, &list, NULL, alphasort);
    *stems = *names = NULL, *n = 0;
    if (m < 0)
        return dolor_error(DOLOR_ENOTFOUND, "%s: cannot list the folder", dir);
    char **st = calloc((size_t)m + 1, sizeof *st), **nm = calloc((size_t)m + 1, sizeof *nm);
    int k = 0;
    dolor_status s = st && nm ? DOLOR_OK : dolor_error(DOLOR_ENOMEM, "out of memory");
    for (int i = 0; i < m; i++) {
        const char *d = list[i]->d_name;
        size_t l = strlen(d);
        int e = want_txt ? (l > 4 && !strcmp(d + l - 4, ".txt") ? 4 : 0) : is_image_name(d);
        if (!s && d[0] != '.' && e) {
            st[k] = strndup(d, l - (size_t)e);
            nm[k] = strdup(d);
            if (!st[k] || !nm[k])
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
            k++;
        }
        free(list[i]);
    }
    free(list);
    if (!s && k == 0)
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no %s files", dir, want_txt ? ".txt" : "image (.png, .nii, .mha)");
    *stems = st, *names = nm, *n = k;
    return s;
}

static void free_list(char **l, int n)
{
    if (!l)
        return;
    for (int i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* the image of stem in dir: the first of the known extensions that exists */
static dolor_status find_image(const char *dir, const char *stem, char *path, size_t cap)
{
    static const char *const ext[] = {".png", ".nii.gz", ".nii", ".mha", ".mhd"};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        snprintf(path, cap, "%s/%s%s", dir, stem, ext[i]);
        if (file_exists(path))
            return DOLOR_OK;
    }
    return dolor_error(DOLOR_ENOTFOUND, "%s/%s.png: missing (slice %s has no image)", dir, stem, stem);
}

typedef struct slice_row {
    char *name;
    dolor_ldh_result r;
    int failed; /* --segment (predictions): no disc or no keypoints predicted, or keypoints that cannot be graded */
} slice_row;

/* --segment: a slice without a prediction is a graded failure (a row, counted as wrong), not an error: note it */
static dolor_status prediction_failed(const char *stem, dolor_status s, int *failed)
{
    fprintf(stderr, "dolor ldh: slice %s not graded: %s\n", stem, dolor_errmsg());
    (void)s;
    *failed = 1;
    return DOLOR_OK;
}

/* read one slice: mask + spacing, keypoints; grade it */
static dolor_status grade_slice(const ldh_opts *o, const char *stem, const char *mask_file, dolor_ldh_result *res,
                                int *failed)
{
    char path[4096], ppath[4096];
    dolor_image *img = NULL;
    uint8_t *mask = NULL;
    dolor_det_list kl = {0}, sl = {0};
    dolor_status s;
    int w, h;
    if (o->masks)
        snprintf(path, sizeof path, "%s/%s", o->masks, mask_file);
    else if ((s = find_image(o->images, stem, path, sizeof path)))
        return s;
    if ((s = dolor_image_read(path, &img)))
        return s;
    if (img->ncomp != 1 || (img->ndim > 2 && img->size[2] != 1) || (img->ndim > 3 && img->size[3] != 1)) {
        s = dolor_error(DOLOR_EINVAL, "%s: %d components, %lldx%lldx%lld: need one 2D slice", path, img->ncomp,
                        (long long)img->size[0], (long long)img->size[1], (long long)img->size[2]);
        goto done;
    }
    w = (int)img->size[0], h = (int)img->size[1];
    const double spacing[2] = {img->spacing[0], img->spacing[1]};
    if (!(mask = calloc((size_t)w * h, 1))) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    if (o->masks) {
        for (size_t i = 0; i < (size_t)w * h; i++)
            mask[i] = dolor_image_get(img, i) == (double)o->disc_label;
    } else {
        snprintf(ppath, sizeof ppath, "%s/%s.txt", o->segment, stem);
        dolor_det_yolo_config sc = {.kind = DOLOR_DET_YOLO_SEGMENT, .ncls = 1000};
        if ((s = dolor_det_yolo_read(ppath, &sc, w, h, &sl)))
            goto done;
        /* the first object only, as for --pose: dolor detect predict writes the highest score first, and its
           lower-scored near-duplicates (kept by NMS below its IoU) or false positives must not widen the disc */
        for (size_t i = 0; sl.n && i < (size_t)w * h; i++)
            mask[i] = sl.obj[0].mask[i] != 0;
    }
    snprintf(ppath, sizeof ppath, "%s/%s.txt", o->pose, stem);
    if (!file_exists(ppath)) {
        s = dolor_error(DOLOR_ENOTFOUND, "%s: missing (slice %s has no keypoints)", ppath, stem);
        if (o->segment)
            s = prediction_failed(stem, s, failed);
        goto done;
    }
    dolor_det_yolo_config pc = {.kind = DOLOR_DET_YOLO_POSE, .ncls = 1000, .nkpt = DOLOR_LDH_NKPT, .kdim = 3};
    s = dolor_det_yolo_read(ppath, &pc, w, h, &kl);
    if (s == DOLOR_EFORMAT) { /* x y without visibility? */
        char first[1024];
        snprintf(first, sizeof first, "%s", dolor_errmsg());
        pc.kdim = 2;
        dolor_det_list_free(&kl);
        if ((s = dolor_det_yolo_read(ppath, &pc, w, h, &kl)))
            s = dolor_error(DOLOR_EFORMAT, "%s (need 9 keypoints: x y v or x y)", first);
    }
    if (s)
        goto done;
    if (kl.n == 0) {
        s = dolor_error(DOLOR_EFORMAT, "%s: no object (need one line: class, box and 9 keypoints)", ppath);
        if (o->segment)
            s = prediction_failed(stem, s, failed);
        goto done;
    }
    if ((s = dolor_ldh_grade(mask, w, h, spacing, kl.obj[0].kpt, 3,
                             &(dolor_ldh_params){.focal_mm = o->focal_mm, .bulging_mm = o->bulging_mm}, res))) {
        s = dolor_error_prefix(s, "%s + %s", path, ppath);
        /* predictions: an empty predicted mask or keypoints that cannot be graded fail this slice only */
        if (o->segment && (s == DOLOR_EINVAL || s == DOLOR_ENUMERIC))
            s = prediction_failed(stem, s, failed);
    }
done:
    dolor_image_free(img);
    free(mask);
    dolor_det_list_free(&kl);
    dolor_det_list_free(&sl);
    return s;
}

static void write_row(FILE *fp, const char *name, const dolor_ldh_result *r, int failed)
{
    if (failed) { /* no grade: empty fields, type 'failed' */
        fprintf(fp, "%s,,,,failed,,,,,,,,,,\n", name);
        return;
    }
    fprintf(fp, "%s,%d,%s,%s,%s,%s,%d,%.4f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%ld\n", name, r->grade, r->zone,
            dolor_ldh_side_name(r->side), r->type_name, dolor_ldh_region_name(r->region), r->bulging, r->ratio,
            r->extent_mm, r->ref_mm, r->focal_max_mm, r->convexity_mm, r->if_width_mm, r->canal_ap_mm,
            r->herniated_px);
}

/* kappa of a K x K table, or NaNs when undefined (one category only) */
static dolor_kappa_result kappa_of(const double *tab, int k, dolor_kappa_weights w)
{
    dolor_kappa_result kr;
    if (dolor_kappa_compute(tab, k, w, 0.95, &kr)) {
        memset(&kr, 0, sizeof kr);
        kr.kappa = kr.ci_lower = kr.ci_upper = kr.se = NAN;
    }
    return kr;
}

static dolor_status agreement(const ldh_opts *o, slice_row *rows, int n)
{
    dolor_csv *t = NULL;
    dolor_status s = dolor_csv_read(o->truth, &t);
    if (s)
        return s;
    int cs = dolor_csv_column(t, "slice"), cg = dolor_csv_column(t, "grade"), ct = dolor_csv_column(t, "type");
    if (cs < 0 || cg < 0 || ct < 0) {
        s = dolor_error(DOLOR_EFORMAT, "%s: needs the columns slice, grade and type", o->truth);
        dolor_csv_free(t);
        return s;
    }
    int *tg = malloc((size_t)n * sizeof *tg), *tt = malloc((size_t)n * sizeof *tt);
    /* a failed slice (no prediction) is one more category that the truth never has: 19 types, 5 grades; it counts
       as a disagreement in the accuracy and the unweighted kappas; the linear kappa (ordered grades) is over the
       graded slices only (gtab_ok) */
    enum { NT = DOLOR_LDH_NTYPE + 1, NG = 5 };
    double *gtab = calloc(NG * NG, sizeof *gtab), *ttab = calloc(NT * NT, sizeof *ttab),
           *gok = calloc(16, sizeof *gok);
    if (!tg || !tt || !gtab || !ttab || !gok) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++)
        tg[i] = -1;
    for (size_t r = 0; r < t->nrow; r++) {
        const char *sl = t->cells[r * t->ncol + cs], *gs = t->cells[r * t->ncol + cg],
                   *ts = t->cells[r * t->ncol + ct];
        size_t line = t->line[r];
        if (!sl) {
            s = dolor_error(DOLOR_EFORMAT, "%s:%zu: slice is empty", o->truth, line);
            goto done;
        }
        char *end = NULL;
        long gv = gs ? strtol(gs, &end, 10) : -1;
        if (!gs || *end || gv < 0 || gv > 3) {
            s = dolor_error(DOLOR_EFORMAT, "%s:%zu: grade '%s' is not 0, 1, 2 or 3", o->truth, line, gs ? gs : "");
            goto done;
        }
        int ty = dolor_ldh_type_index(ts);
        if (ty < 0) {
            s = dolor_error(DOLOR_EFORMAT, "%s:%zu: type '%s' is not one of the 18 (normal, bulging, 1-A, ..., ABC)",
                            o->truth, line, ts ? ts : "");
            goto done;
        }
        if ((ty <= 1) != (gv == 0) || (ty >= 2 && ty <= 16 && gv != 1 + (ty - 2) / 5)) {
            s = dolor_error(DOLOR_EFORMAT, "%s:%zu: grade %ld does not fit type %s", o->truth, line, gv, ts);
            goto done;
        }
        int i = 0;
        while (i < n && strcmp(rows[i].name, sl))
            i++;
        if (i == n) {
            s = dolor_error(DOLOR_EFORMAT, "%s:%zu: slice '%s' has no mask and keypoints", o->truth, line, sl);
            goto done;
        }
        if (tg[i] >= 0) {
            s = dolor_error(DOLOR_EFORMAT, "%s:%zu: slice '%s' again", o->truth, line, sl);
            goto done;
        }
        tg[i] = (int)gv, tt[i] = ty;
    }
    for (int i = 0; i < n; i++)
        if (tg[i] < 0) {
            s = dolor_error(DOLOR_EFORMAT, "%s: slice '%s' is missing", o->truth, rows[i].name);
            goto done;
        }
    int agree_t = 0, agree_g = 0, nfail = 0;
    for (int i = 0; i < n; i++) {
        int pg = rows[i].failed ? NG - 1 : rows[i].r.grade, pt = rows[i].failed ? NT - 1 : rows[i].r.type;
        gtab[tg[i] * NG + pg] += 1; /* rows: truth, columns: dolor */
        ttab[tt[i] * NT + pt] += 1;
        if (!rows[i].failed)
            gok[tg[i] * 4 + pg] += 1;
        agree_t += tt[i] == pt;
        agree_g += tg[i] == pg;
        nfail += rows[i].failed;
    }
    /* without failures the extra category is empty in both raters and drops out of kappa: fold it away to keep
       the K x K tables */
    int kt_n = nfail ? NT : DOLOR_LDH_NTYPE, kg_n = nfail ? NG : 4;
    if (!nfail) {
        for (int r = 0; r < DOLOR_LDH_NTYPE; r++)
            for (int c = 0; c < DOLOR_LDH_NTYPE; c++)
                ttab[r * DOLOR_LDH_NTYPE + c] = ttab[r * NT + c];
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                gtab[r * 4 + c] = gtab[r * NG + c];
    }
    dolor_kappa_result kt = kappa_of(ttab, kt_n, DOLOR_KAPPA_UNWEIGHTED),
                       kg = kappa_of(gtab, kg_n, DOLOR_KAPPA_UNWEIGHTED), kl = kappa_of(gok, 4, DOLOR_KAPPA_LINEAR);
    dolor_outfile of;
    int have_of = 0;
    if (o->agreement) {
        if ((s = dolor_outfile_open(&of, o->agreement, 1)))
            goto done;
        have_of = 1;
        fprintf(of.fp, "measure,class,n_truth,n_pred,value,ci_lower,ci_upper\n");
    }
    FILE *fps[2] = {o->quiet ? NULL : stdout, have_of ? of.fp : NULL};
    if (fps[0]) {
        printf("agreement with %s (%d slices; truth in rows, dolor in columns of the tables)\n", o->truth, n);
        printf("  accuracy, 18 types: %d/%d = %.4f\n", agree_t, n, (double)agree_t / n);
        printf("  accuracy, 4 grades: %d/%d = %.4f\n", agree_g, n, (double)agree_g / n);
        printf("  kappa, 18 types, unweighted: %.4f (95%% CI %.4f to %.4f)\n", kt.kappa, kt.ci_lower, kt.ci_upper);
        printf("  kappa, 4 grades, unweighted: %.4f (95%% CI %.4f to %.4f)\n", kg.kappa, kg.ci_lower, kg.ci_upper);
        printf("  kappa, 4 grades, linear:     %.4f (95%% CI %.4f to %.4f)", kl.kappa, kl.ci_lower, kl.ci_upper);
        if (nfail)
            printf(" over the %d graded slices", n - nfail);
        printf("\n");
        if (nfail)
            printf("  not graded: %d/%d slices (counted as wrong; 'failed' is one more category in the unweighted "
                   "kappas)\n", nfail, n);
        printf("  %-8s %7s %7s %9s %9s %9s\n", "type", "n_truth", "n_pred", "precision", "recall", "F1");
    }
    if (fps[1]) {
        fprintf(fps[1], "accuracy,types,%d,%d,%.6f,,\n", n, n, (double)agree_t / n);
        fprintf(fps[1], "accuracy,grades,%d,%d,%.6f,,\n", n, n, (double)agree_g / n);
        fprintf(fps[1], "kappa_unweighted,types,%d,%d,%.6f,%.6f,%.6f\n", n, n, kt.kappa, kt.ci_lower, kt.ci_upper);
        fprintf(fps[1], "kappa_unweighted,grades,%d,%d,%.6f,%.6f,%.6f\n", n, n, kg.kappa, kg.ci_lower, kg.ci_upper);
        fprintf(fps[1], "kappa_linear,grades,%d,%d,%.6f,%.6f,%.6f\n", n, n - nfail, kl.kappa, kl.ci_lower,
                kl.ci_upper);
        fprintf(fps[1], "failed,slices,%d,%d,%.6f,,\n", n, nfail, (double)nfail / n);
    }
    for (int c = 0; c < DOLOR_LDH_NTYPE; c++) {
        double tp = ttab[c * kt_n + c], nt = 0, np = 0;
        for (int j = 0; j < kt_n; j++)
            nt += ttab[c * kt_n + j], np += ttab[j * kt_n + c];
        double pr = np > 0 ? tp / np : NAN, rc = nt > 0 ? tp / nt : NAN;
        double f1 = pr + rc > 0 ? 2 * pr * rc / (pr + rc) : (np > 0 && nt > 0 ? 0 : NAN);
        if (fps[0])
            printf("  %-8s %7.0f %7.0f %9.4f %9.4f %9.4f\n", dolor_ldh_type_name(c), nt, np, pr, rc, f1);
        if (fps[1]) {
            const char *nm = dolor_ldh_type_name(c);
            fprintf(fps[1], "precision,%s,%.0f,%.0f,%.6f,,\nrecall,%s,%.0f,%.0f,%.6f,,\nF1,%s,%.0f,%.0f,%.6f,,\n", nm,
                    nt, np, pr, nm, nt, np, rc, nm, nt, np, f1);
        }
    }
    if (have_of)
        s = dolor_outfile_commit(&of);
done:
    free(tg), free(tt), free(gtab), free(ttab), free(gok);
    dolor_csv_free(t);
    return s;
}

static int ldh_run(ldh_opts *o)
{
    const char *cmd = "ldh";
    if (!o->masks == !o->segment)
        return dolor_cli_usage_error(cmd, "give one of --masks DIR and --segment DIR");
    if (o->segment && !o->images)
        return dolor_cli_usage_error(cmd, "--segment needs --images DIR (the slices' size and spacing)");
    if (o->masks && o->images)
        return dolor_cli_usage_error(cmd, "--images goes with --segment (label maps carry their own spacing)");
    if (!o->pose)
        return dolor_cli_usage_error(cmd, "--pose DIR is required");
    if (!o->out)
        return dolor_cli_usage_error(cmd, "-o OUT.csv is required");
    if (o->agreement && !o->truth)
        return dolor_cli_usage_error(cmd, "--agreement needs --truth");
    char **stems = NULL, **names = NULL;
    int n = 0;
    dolor_status s = list_dir(o->masks ? o->masks : o->segment, o->segment != NULL, &stems, &names, &n);
    slice_row *rows = s ? NULL : calloc((size_t)n, sizeof *rows);
    if (!s && !rows)
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
    for (int i = 0; i < n && !s; i++) {
        rows[i].name = stems[i];
        s = grade_slice(o, stems[i], names[i], &rows[i].r, &rows[i].failed);
    }
    if (!s) {
        dolor_outfile of;
        if (!(s = dolor_outfile_open(&of, o->out, 1))) {
            fprintf(of.fp, "slice,grade,zone,side,type,region,bulging,ratio,extent_mm,ref_mm,focal_max_mm,"
                           "convexity_mm,if_width_mm,canal_ap_mm,herniated_px\n");
            for (int i = 0; i < n; i++)
                write_row(of.fp, rows[i].name, &rows[i].r, rows[i].failed);
            s = dolor_outfile_commit(&of);
        }
    }
    int nfail = 0;
    for (int i = 0; !s && i < n; i++)
        nfail += rows[i].failed;
    if (!s && !o->quiet)
        printf("graded %d slices -> %s\n", n - nfail, o->out);
    if (!s && !o->quiet && nfail && !o->truth)
        printf("not graded (no prediction or ungradable keypoints): %d slices (type 'failed')\n", nfail);
    if (!s && o->truth)
        s = agreement(o, rows, n);
    free(rows);
    free_list(stems, n);
    free_list(names, n);
    return s ? dolor_cli_fail(cmd, s) : DOLOR_EXIT_OK;
}

int dolor_cmd_ldh(int argc, char **argv)
{
    ldh_opts o = {.disc_label = 1, .focal_mm = 1.0, .bulging_mm = 1.5};
    char **pos = NULL;
    int npos = 0;
    int rc = dolor_cmd_front(&ldh_cmd, argc, argv, dolor_opt_bind, &o, &pos, &npos, NULL);
    if (rc < 0)
        rc = ldh_run(&o);
    free(pos);
    free(o.masks), free(o.segment), free(o.images), free(o.pose), free(o.truth), free(o.out), free(o.agreement);
    return rc;
}
