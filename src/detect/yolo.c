/* YOLO label files (Ultralytics' format, as CVAT, Roboflow and LabelMe converters export them): reading
 * with errors that name the file, the line and the value, writing through a temporary file, folders. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dolor/detect.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void dolor_det_polygon_fill(const double *xy, int n, int h, int w, uint8_t *mask)
{
    if (!xy || n < 3 || h < 1 || w < 1 || !mask)
        return;
    double *xs = malloc((size_t)n * sizeof *xs);
    if (!xs)
        return;
    for (int y = 0; y < h; y++) {
        double cy = y + 0.5;
        int nx = 0;
        for (int i = 0; i < n; i++) {
            double x1 = xy[2 * i], y1 = xy[2 * i + 1];
            double x2 = xy[2 * ((i + 1) % n)], y2 = xy[2 * ((i + 1) % n) + 1];
            if ((y1 <= cy) != (y2 <= cy))
                xs[nx++] = x1 + (cy - y1) * (x2 - x1) / (y2 - y1);
        }
        qsort(xs, (size_t)nx, sizeof *xs, cmp_double);
        for (int k = 0; k + 1 < nx; k += 2) {
            /* pixel x inside when xs[k] <= x + 0.5 < xs[k + 1] */
            double a = ceil(xs[k] - 0.5), b = ceil(xs[k + 1] - 0.5);
            int x0 = a < 0 ? 0 : (a > w ? w : (int)a), x1 = b < 0 ? 0 : (b > w ? w : (int)b);
            for (int x = x0; x < x1; x++)
                mask[(size_t)y * w + x] = 1;
        }
    }
    free(xs);
}

static dolor_status check_cfg(const dolor_det_yolo_config *c, const char *fn)
{
    if (!c)
        return dolor_error(DOLOR_EINVAL, "%s: NULL config", fn);
    if (c->ncls < 1)
        return dolor_error(DOLOR_EINVAL, "%s: ncls %d < 1", fn, c->ncls);
    if (c->kind != DOLOR_DET_YOLO_DETECT && c->kind != DOLOR_DET_YOLO_SEGMENT && c->kind != DOLOR_DET_YOLO_POSE)
        return dolor_error(DOLOR_EINVAL, "%s: unknown label kind %d", fn, (int)c->kind);
    if (c->kind == DOLOR_DET_YOLO_POSE && (c->nkpt < 1 || (c->kdim != 2 && c->kdim != 3)))
        return dolor_error(DOLOR_EINVAL, "%s: pose labels need nkpt >= 1 (got %d) and kdim 2 or 3 (got %d)", fn, c->nkpt,
                           c->kdim);
    return DOLOR_OK;
}

#define MAXVAL 65536

dolor_status dolor_det_yolo_read(const char *path, const dolor_det_yolo_config *cfg, int img_w, int img_h,
                                 dolor_det_list *out)
{
    if (!path || !out)
        return dolor_error(DOLOR_EINVAL, "dolor_det_yolo_read: NULL argument");
    dolor_status st = check_cfg(cfg, path);
    if (st != DOLOR_OK)
        return st;
    if (img_w < 1 || img_h < 1)
        return dolor_error(DOLOR_EINVAL, "%s: image size %dx%d", path, img_w, img_h);
    const int pose = cfg->kind == DOLOR_DET_YOLO_POSE, seg = cfg->kind == DOLOR_DET_YOLO_SEGMENT;
    dolor_det_list_free(out);
    dolor_det_list_init(out, seg ? img_h : 0, seg ? img_w : 0, pose ? cfg->nkpt : 0);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return dolor_error(DOLOR_EIO, "%s: cannot open: %s", path, strerror(errno));
    double *v = malloc(MAXVAL * sizeof *v);
    uint8_t *mask = seg ? malloc((size_t)img_w * (size_t)img_h) : NULL;
    double *kp = pose ? malloc((size_t)cfg->nkpt * 3 * sizeof *kp) : NULL;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    if (!v || (seg && !mask) || (pose && !kp)) {
        st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    while (getline(&line, &cap, fp) >= 0) {
        lineno++;
        char *s = line;
        int nv = 0;
        while (1) {
            while (isspace((unsigned char)*s))
                s++;
            if (!*s)
                break;
            char *e;
            errno = 0;
            double x = strtod(s, &e);
            if (e == s || (*e && !isspace((unsigned char)*e)) || !isfinite(x)) {
                char *t = s;
                while (*t && !isspace((unsigned char)*t))
                    t++;
                *t = 0;
                st = dolor_error(DOLOR_EFORMAT, "%s:%ld: value %d '%s' is not a number", path, lineno, nv + 1, s);
                goto done;
            }
            if (nv >= MAXVAL) {
                st = dolor_error(DOLOR_EFORMAT, "%s:%ld: more than %d values", path, lineno, MAXVAL);
                goto done;
            }
            v[nv++] = x;
            s = e;
        }
        if (nv == 0)
            continue;
        if (v[0] != floor(v[0]) || v[0] < 0 || v[0] >= cfg->ncls) {
            st = dolor_error(DOLOR_EFORMAT, "%s:%ld: class %g outside 0..%d (an integer)", path, lineno, v[0],
                             cfg->ncls - 1);
            goto done;
        }
        for (int i = 1; i < nv; i++)
            if ((v[i] < 0 || v[i] > 1) && !(pose && cfg->kdim == 3 && i >= 5 && (i - 5) % 3 == 2)) {
                st = dolor_error(DOLOR_EFORMAT, "%s:%ld: value %d = %g outside 0..1 (coordinates are normalised)", path,
                                 lineno, i + 1, v[i]);
                goto done;
            }
        int cls = (int)v[0];
        double box[4];
        int isbox = nv == 5;
        if (cfg->kind == DOLOR_DET_YOLO_DETECT && !isbox) {
            st = dolor_error(DOLOR_EFORMAT, "%s:%ld: %d values, a box line has 5 (class cx cy w h)", path, lineno, nv);
            goto done;
        }
        if (pose && nv != 5 + cfg->nkpt * cfg->kdim) {
            st = dolor_error(DOLOR_EFORMAT,
                             "%s:%ld: %d values, a pose line with %d keypoints of %d values has %d (the config's "
                             "keypoint count; this line has %.4g keypoints)",
                             path, lineno, nv, cfg->nkpt, cfg->kdim, 5 + cfg->nkpt * cfg->kdim,
                             (double)(nv - 5) / cfg->kdim);
            goto done;
        }
        if (seg && !isbox) {
            int nc = nv - 1;
            if (nc % 2) {
                st = dolor_error(DOLOR_EFORMAT, "%s:%ld: %d polygon coordinates, an odd count (x y pairs)", path,
                                 lineno, nc);
                goto done;
            }
            if (nc < 6) {
                st = dolor_error(DOLOR_EFORMAT, "%s:%ld: a polygon of %d vertices (at least 3)", path, lineno, nc / 2);
                goto done;
            }
            double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
            for (int i = 1; i < nv; i += 2) {
                v[i] *= img_w;
                v[i + 1] *= img_h;
                x0 = fmin(x0, v[i]);
                y0 = fmin(y0, v[i + 1]);
                x1 = fmax(x1, v[i]);
                y1 = fmax(y1, v[i + 1]);
            }
            box[0] = x0;
            box[1] = y0;
            box[2] = x1;
            box[3] = y1;
            memset(mask, 0, (size_t)img_w * img_h);
            dolor_det_polygon_fill(v + 1, nc / 2, img_h, img_w, mask);
        } else {
            if (!(v[3] > 0) || !(v[4] > 0)) {
                st = dolor_error(DOLOR_EFORMAT, "%s:%ld: box width %g, height %g (both > 0)", path, lineno, v[3], v[4]);
                goto done;
            }
            box[0] = (v[1] - v[3] / 2) * img_w;
            box[1] = (v[2] - v[4] / 2) * img_h;
            box[2] = (v[1] + v[3] / 2) * img_w;
            box[3] = (v[2] + v[4] / 2) * img_h;
            if (seg) {
                double b[8] = {box[0], box[1], box[2], box[1], box[2], box[3], box[0], box[3]};
                memset(mask, 0, (size_t)img_w * img_h);
                dolor_det_polygon_fill(b, 4, img_h, img_w, mask);
            }
        }
        if (pose) {
            for (int k = 0; k < cfg->nkpt; k++) {
                const double *q = v + 5 + k * cfg->kdim;
                double vis = cfg->kdim == 3 ? q[2] : 2.0;
                if (cfg->kdim == 3 && vis != 0 && vis != 1 && vis != 2) {
                    st = dolor_error(DOLOR_EFORMAT, "%s:%ld: keypoint %d visibility %g (0, 1 or 2)", path, lineno, k + 1,
                                     vis);
                    goto done;
                }
                if (q[0] == 0 && q[1] == 0)
                    vis = 0;
                kp[3 * k] = q[0] * img_w;
                kp[3 * k + 1] = q[1] * img_h;
                kp[3 * k + 2] = vis;
            }
        }
        st = dolor_det_list_add(out, cls, 1.0, box, seg ? mask : NULL, pose ? kp : NULL);
        if (st != DOLOR_OK) {
            dolor_error_prefix(st, "%s:%ld", path, lineno);
            goto done;
        }
    }
    if (ferror(fp))
        st = dolor_error(DOLOR_EIO, "%s: read error", path);
done:
    fclose(fp);
    free(line);
    free(v);
    free(mask);
    free(kp);
    if (st != DOLOR_OK)
        dolor_det_list_free(out);
    return st;
}

static double clamp01(double x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }

dolor_status dolor_det_yolo_write(const char *path, const dolor_det_list *l, const dolor_det_yolo_config *cfg,
                                  int img_w, int img_h, const double *const *polys, const int *npts)
{
    if (!path || !l)
        return dolor_error(DOLOR_EINVAL, "dolor_det_yolo_write: NULL argument");
    dolor_status st = check_cfg(cfg, path);
    if (st != DOLOR_OK)
        return st;
    if (img_w < 1 || img_h < 1)
        return dolor_error(DOLOR_EINVAL, "%s: image size %dx%d", path, img_w, img_h);
    const int pose = cfg->kind == DOLOR_DET_YOLO_POSE, seg = cfg->kind == DOLOR_DET_YOLO_SEGMENT;
    for (size_t i = 0; i < l->n; i++) {
        if (l->obj[i].cls < 0 || l->obj[i].cls >= cfg->ncls)
            return dolor_error(DOLOR_EINVAL, "%s: object %zu: class %d outside 0..%d", path, i, l->obj[i].cls,
                               cfg->ncls - 1);
        if (pose && (!l->obj[i].kpt || l->nkpt != cfg->nkpt))
            return dolor_error(DOLOR_EINVAL, "%s: object %zu: pose labels need %d keypoints", path, i, cfg->nkpt);
    }
    dolor_outfile f;
    st = dolor_outfile_open(&f, path, 1);
    if (st != DOLOR_OK)
        return st;
    for (size_t i = 0; i < l->n; i++) {
        const dolor_det_object *o = &l->obj[i];
        fprintf(f.fp, "%d", o->cls);
        if (seg && polys && npts && polys[i] && npts[i] >= 3) {
            for (int k = 0; k < npts[i]; k++)
                fprintf(f.fp, " %.6f %.6f", clamp01(polys[i][2 * k] / img_w), clamp01(polys[i][2 * k + 1] / img_h));
        } else if (seg) {
            const double *b = o->box;
            fprintf(f.fp, " %.6f %.6f %.6f %.6f %.6f %.6f %.6f %.6f", clamp01(b[0] / img_w), clamp01(b[1] / img_h),
                    clamp01(b[2] / img_w), clamp01(b[1] / img_h), clamp01(b[2] / img_w), clamp01(b[3] / img_h),
                    clamp01(b[0] / img_w), clamp01(b[3] / img_h));
        } else {
            double x1 = clamp01(o->box[0] / img_w), y1 = clamp01(o->box[1] / img_h);
            double x2 = clamp01(o->box[2] / img_w), y2 = clamp01(o->box[3] / img_h);
            fprintf(f.fp, " %.6f %.6f %.6f %.6f", (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1);
        }
        if (pose)
            for (int k = 0; k < cfg->nkpt; k++) {
                const double *q = o->kpt + 3 * k;
                int vis0 = !(q[2] > 0);
                fprintf(f.fp, " %.6f %.6f", vis0 ? 0.0 : clamp01(q[0] / img_w), vis0 ? 0.0 : clamp01(q[1] / img_h));
                if (cfg->kdim == 3)
                    fprintf(f.fp, " %d", vis0 ? 0 : (q[2] >= 2 ? 2 : 1));
            }
        fputc('\n', f.fp);
    }
    return dolor_outfile_commit(&f);
}

void dolor_det_dataset_free(dolor_det_dataset *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nimg; i++) {
        if (d->names)
            free(d->names[i]);
        if (d->lists)
            dolor_det_list_free(&d->lists[i]);
    }
    free(d->names);
    free(d->lists);
    free(d->image_ids);
    memset(d, 0, sizeof *d);
}

dolor_status dolor_det_yolo_read_folder(const char *labels_dir, const char *const *names, const int *w,
                                        const int *h, size_t nimg, const dolor_det_yolo_config *cfg,
                                        dolor_det_dataset *out)
{
    if (!labels_dir || !out || (nimg && (!names || !w || !h)))
        return dolor_error(DOLOR_EINVAL, "dolor_det_yolo_read_folder: NULL argument");
    memset(out, 0, sizeof *out);
    if (nimg == 0)
        return dolor_error(DOLOR_EINVAL, "%s: the image list is empty", labels_dir);
    dolor_status st = check_cfg(cfg, labels_dir);
    if (st != DOLOR_OK)
        return st;
    out->names = calloc(nimg, sizeof *out->names);
    out->lists = calloc(nimg, sizeof *out->lists);
    if (!out->names || !out->lists) {
        free(out->names);
        free(out->lists);
        memset(out, 0, sizeof *out);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", labels_dir);
    }
    out->nimg = nimg;
    out->ncls = cfg->ncls;
    out->nkpt = cfg->kind == DOLOR_DET_YOLO_POSE ? cfg->nkpt : 0;
    for (size_t i = 0; i < nimg; i++) {
        const char *base = strrchr(names[i], '/');
        base = base ? base + 1 : names[i];
        const char *dot = strrchr(base, '.');
        size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
        size_t n = strlen(labels_dir) + stem + 6;
        char *path = malloc(n);
        out->names[i] = strdup(names[i]);
        if (!path || !out->names[i]) {
            free(path);
            st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", labels_dir);
            break;
        }
        snprintf(path, n, "%s/%.*s.txt", labels_dir, (int)stem, base);
        FILE *fp = fopen(path, "r");
        if (!fp) {
            /* no label file: an image without objects (Ultralytics' background images) */
            int seg = cfg->kind == DOLOR_DET_YOLO_SEGMENT;
            dolor_det_list_init(&out->lists[i], seg ? h[i] : 0, seg ? w[i] : 0, out->nkpt);
            free(path);
            if (w[i] < 1 || h[i] < 1) {
                st = dolor_error(DOLOR_EINVAL, "%s: image size %dx%d", names[i], w[i], h[i]);
                break;
            }
            continue;
        }
        fclose(fp);
        st = dolor_det_yolo_read(path, cfg, w[i], h[i], &out->lists[i]);
        free(path);
        if (st != DOLOR_OK)
            break;
    }
    if (st != DOLOR_OK)
        dolor_det_dataset_free(out);
    return st;
}
