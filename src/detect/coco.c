/* COCO JSON datasets (images, annotations, categories: boxes, polygons or RLE, keypoints) and results files. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dolor/detect.h"

typedef struct id_index {
    double id;
    size_t idx;
} id_index;

static int id_cmp(const void *a, const void *b)
{
    double x = ((const id_index *)a)->id, y = ((const id_index *)b)->id;
    return (x > y) - (x < y);
}

static long find_id(const id_index *t, size_t n, double id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && t[lo].id == id ? (long)t[lo].idx : -1;
}

static char *slurp(const char *path, dolor_status *st)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        *st = dolor_error(DOLOR_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    while (s) {
        size_t r = fread(s + n, 1, cap - n - 1, fp);
        n += r;
        if (n < cap - 1)
            break;
        char *t = realloc(s, cap * 2);
        if (!t) {
            free(s);
            s = NULL;
            break;
        }
        s = t;
        cap *= 2;
    }
    int err = ferror(fp);
    fclose(fp);
    if (!s) {
        *st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (err) {
        free(s);
        *st = dolor_error(DOLOR_EIO, "%s: read error", path);
        return NULL;
    }
    s[n] = 0;
    return s;
}

static const cJSON *need(const cJSON *o, const char *key, int type, const char *path, const char *arr, int i,
                         dolor_status *st)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    int ok = v && ((type == cJSON_Number && cJSON_IsNumber(v)) || (type == cJSON_String && cJSON_IsString(v)) ||
                   (type == cJSON_Array && cJSON_IsArray(v)));
    if (!ok)
        *st = dolor_error(DOLOR_EFORMAT, "%s: %s[%d].%s: %s", path, arr, i, key,
                          v ? "wrong type" : "missing");
    return ok ? v : NULL;
}

/* COCO's compressed RLE string (maskApi.c rleFrString): characters from '0', 5 data bits each, 0x20 =
 * more groups follow, the last group's 0x10 = negative (sign-extend); counts after the second are coded
 * as differences to the count two before. Returns the number of counts, or -1 if the string is bad. */
static long rle_from_string(const char *s, long *cnt, long max)
{
    long m = 0;
    size_t p = 0;
    while (s[p]) {
        long x = 0;
        int k = 0, more = 1;
        while (more) {
            int c = (unsigned char)s[p] - 48;
            if (!s[p] || c < 0 || c > 63 || k > 11)
                return -1;
            x |= (long)(c & 0x1f) << (5 * k);
            more = c & 0x20;
            p++;
            k++;
            if (!more && (c & 0x10))
                x |= -1L * (1L << (5 * k)); /* sign extension */
        }
        if (m > 2)
            x += cnt[m - 2];
        if (m >= max || x < 0)
            return -1;
        cnt[m++] = x;
    }
    return m;
}

/* a segmentation (polygons or RLE) into mask [h, w] (row-major, zeroed by the caller) */
static dolor_status read_segmentation(const cJSON *sg, int h, int w, uint8_t *mask, const char *path, const char *arr,
                                      int i)
{
    size_t np = (size_t)h * (size_t)w;
    if (cJSON_IsArray(sg)) {
        int pi = 0;
        const cJSON *pg;
        cJSON_ArrayForEach(pg, sg)
        {
            int n = cJSON_IsArray(pg) ? cJSON_GetArraySize(pg) : -1;
            if (n < 6 || n % 2)
                return dolor_error(DOLOR_EFORMAT, "%s: %s[%d].segmentation[%d]: %d coordinates (an even count >= 6)",
                                   path, arr, i, pi, n);
            double *poly = malloc((size_t)n * sizeof *poly);
            uint8_t *tmp = calloc(np, 1);
            if (!poly || !tmp) {
                free(poly);
                free(tmp);
                return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
            }
            int q = 0;
            const cJSON *c;
            cJSON_ArrayForEach(c, pg)
            {
                if (!cJSON_IsNumber(c)) {
                    free(poly);
                    free(tmp);
                    return dolor_error(DOLOR_EFORMAT, "%s: %s[%d].segmentation[%d][%d]: not a number", path, arr, i,
                                       pi, q);
                }
                poly[q++] = c->valuedouble;
            }
            dolor_det_polygon_fill_coco(poly, n / 2, h, w, tmp);
            for (size_t z = 0; z < np; z++)
                mask[z] |= tmp[z];
            free(tmp);
            free(poly);
            pi++;
        }
        return DOLOR_OK;
    }
    if (!cJSON_IsObject(sg))
        return dolor_error(DOLOR_EFORMAT, "%s: %s[%d].segmentation: polygons or RLE expected", path, arr, i);
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(sg, "counts");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(sg, "size");
    if (!(cJSON_IsArray(counts) || cJSON_IsString(counts)) || !cJSON_IsArray(size) || cJSON_GetArraySize(size) != 2 ||
        !cJSON_IsNumber(cJSON_GetArrayItem(size, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(size, 1)) ||
        cJSON_GetArrayItem(size, 0)->valuedouble != h || cJSON_GetArrayItem(size, 1)->valuedouble != w)
        return dolor_error(DOLOR_EFORMAT, "%s: %s[%d].segmentation: RLE needs \"counts\" and \"size\" [%d, %d] (the "
                           "image's height, width)", path, arr, i, h, w);
    long nc, max = (long)np + 2;
    long *cnt;
    if (cJSON_IsString(counts)) {
        size_t len = strlen(counts->valuestring);
        max = (long)len + 1;
        cnt = malloc((size_t)max * sizeof *cnt);
        if (!cnt)
            return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
        nc = rle_from_string(counts->valuestring, cnt, max);
        if (nc < 0) {
            free(cnt);
            return dolor_error(DOLOR_EFORMAT, "%s: %s[%d].segmentation.counts: not a valid compressed RLE string", path,
                               arr, i);
        }
    } else {
        nc = cJSON_GetArraySize(counts);
        cnt = malloc((size_t)(nc ? nc : 1) * sizeof *cnt);
        if (!cnt)
            return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
        long r = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, counts)
        {
            double len = cJSON_IsNumber(c) ? c->valuedouble : -1;
            if (len < 0 || len != floor(len) || len > (double)np) {
                free(cnt);
                return dolor_error(DOLOR_EFORMAT, "%s: %s[%d].segmentation.counts[%ld]: %g (runs are integers >= 0)",
                                   path, arr, i, r, len);
            }
            cnt[r++] = (long)len;
        }
    }
    size_t at = 0;
    for (long r = 0; r < nc; r++) {
        if (at + (size_t)cnt[r] > np) {
            free(cnt);
            return dolor_error(DOLOR_EFORMAT, "%s: %s[%d].segmentation.counts run %ld passes the %zu pixels", path, arr,
                               i, r, np);
        }
        if (r & 1) /* column-major runs, as pycocotools */
            for (size_t z = at; z < at + (size_t)cnt[r]; z++)
                mask[(z % (size_t)h) * (size_t)w + z / (size_t)h] = 1;
        at += (size_t)cnt[r];
    }
    free(cnt);
    if (at != np)
        return dolor_error(DOLOR_EFORMAT, "%s: %s[%d].segmentation.counts cover %zu of %zu pixels", path, arr, i, at, np);
    return DOLOR_OK;
}

/* kps: COCO's [x1, y1, v1, ...] of nkpt keypoints, into kp[3 nkpt]. Errors: DOLOR_EFORMAT naming
 * arr[i].keypoints (a count other than 3 nkpt, a value that is not a number). */
static dolor_status read_keypoints(const cJSON *kps, int nkpt, const char *path, const char *arr, int i, double *kp)
{
    int n = cJSON_IsArray(kps) ? cJSON_GetArraySize(kps) : -1;
    if (n != 3 * nkpt)
        return dolor_error(DOLOR_EFORMAT, "%s: %s[%d].keypoints: %d values, expected %d keypoints x 3 = %d", path, arr, i,
                           n, nkpt, 3 * nkpt);
    int q = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, kps)
    {
        if (!cJSON_IsNumber(c))
            return dolor_error(DOLOR_EFORMAT, "%s: %s[%d].keypoints[%d]: not a number", path, arr, i, q);
        kp[q++] = c->valuedouble;
    }
    return DOLOR_OK;
}

dolor_status dolor_det_coco_read(const char *path, int nkpt, dolor_det_dataset *out, int **cat_ids)
{
    if (!path || !out || nkpt < 0)
        return dolor_error(DOLOR_EINVAL, "dolor_det_coco_read: NULL argument or nkpt < 0");
    memset(out, 0, sizeof *out);
    if (cat_ids)
        *cat_ids = NULL;
    dolor_status st = DOLOR_OK;
    char *txt = slurp(path, &st);
    if (!txt)
        return st;
    cJSON *root = cJSON_Parse(txt);
    if (!root) {
        const char *e = cJSON_GetErrorPtr(); /* points into txt */
        st = dolor_error(DOLOR_EFORMAT, "%s: not JSON (near '%.20s')", path, e ? e : "");
        free(txt);
        return st;
    }
    free(txt);
    id_index *imgs = NULL, *cats = NULL;
    uint8_t *mask = NULL;
    double *kp = NULL;
    int *cid = NULL;
    const cJSON *images = cJSON_GetObjectItemCaseSensitive(root, "images");
    const cJSON *anns = cJSON_GetObjectItemCaseSensitive(root, "annotations");
    const cJSON *categories = cJSON_GetObjectItemCaseSensitive(root, "categories");
    if (!cJSON_IsArray(images) || !cJSON_IsArray(categories) || (anns && !cJSON_IsArray(anns))) {
        st = dolor_error(DOLOR_EFORMAT, "%s: needs arrays \"images\", \"categories\" (and \"annotations\")", path);
        goto done;
    }
    size_t ni = (size_t)cJSON_GetArraySize(images), nc = (size_t)cJSON_GetArraySize(categories);
    if (ni == 0) {
        st = dolor_error(DOLOR_EINVAL, "%s: the image list is empty", path);
        goto done;
    }
    if (nc == 0) {
        st = dolor_error(DOLOR_EFORMAT, "%s: no categories", path);
        goto done;
    }
    imgs = malloc(ni * sizeof *imgs);
    cats = malloc(nc * sizeof *cats);
    out->names = calloc(ni, sizeof *out->names);
    out->lists = calloc(ni, sizeof *out->lists);
    out->image_ids = calloc(ni, sizeof *out->image_ids);
    kp = malloc(((size_t)nkpt * 3 + 1) * sizeof *kp);
    if (!imgs || !cats || !out->names || !out->lists || !out->image_ids || !kp) {
        st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    out->nimg = ni;
    out->nkpt = nkpt;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, images)
    {
        const cJSON *id = need(it, "id", cJSON_Number, path, "images", i, &st);
        const cJSON *fn = id ? need(it, "file_name", cJSON_String, path, "images", i, &st) : NULL;
        const cJSON *wd = fn ? need(it, "width", cJSON_Number, path, "images", i, &st) : NULL;
        const cJSON *ht = wd ? need(it, "height", cJSON_Number, path, "images", i, &st) : NULL;
        if (!ht)
            goto done;
        if (wd->valuedouble < 1 || ht->valuedouble < 1 || wd->valuedouble > 65535 || ht->valuedouble > 65535) {
            st = dolor_error(DOLOR_EFORMAT, "%s: images[%d]: size %gx%g", path, i, wd->valuedouble, ht->valuedouble);
            goto done;
        }
        imgs[i].id = id->valuedouble;
        imgs[i].idx = (size_t)i;
        out->image_ids[i] = id->valuedouble;
        out->names[i] = strdup(fn->valuestring);
        if (!out->names[i]) {
            st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        dolor_det_list_init(&out->lists[i], (int)ht->valuedouble, (int)wd->valuedouble, nkpt);
        i++;
    }
    qsort(imgs, ni, sizeof *imgs, id_cmp);
    for (size_t k = 1; k < ni; k++)
        if (imgs[k].id == imgs[k - 1].id) {
            st = dolor_error(DOLOR_EFORMAT, "%s: images[%zu].id %g repeats", path, imgs[k].idx, imgs[k].id);
            goto done;
        }
    i = 0;
    cJSON_ArrayForEach(it, categories)
    {
        const cJSON *id = need(it, "id", cJSON_Number, path, "categories", i, &st);
        if (!id)
            goto done;
        cats[i].id = id->valuedouble;
        cats[i].idx = (size_t)i;
        i++;
    }
    qsort(cats, nc, sizeof *cats, id_cmp);
    for (size_t k = 0; k < nc; k++) {
        if (k && cats[k].id == cats[k - 1].id) {
            st = dolor_error(DOLOR_EFORMAT, "%s: categories[%zu].id %g repeats", path, cats[k].idx, cats[k].id);
            goto done;
        }
        cats[k].idx = k; /* class = rank of the id */
    }
    out->ncls = (int)nc;
    i = 0;
    if (anns)
        cJSON_ArrayForEach(it, anns)
        {
            const cJSON *iid = need(it, "image_id", cJSON_Number, path, "annotations", i, &st);
            const cJSON *cat = iid ? need(it, "category_id", cJSON_Number, path, "annotations", i, &st) : NULL;
            const cJSON *bb = cat ? need(it, "bbox", cJSON_Array, path, "annotations", i, &st) : NULL;
            if (!bb)
                goto done;
            long im = find_id(imgs, ni, iid->valuedouble), k = find_id(cats, nc, cat->valuedouble);
            if (im < 0 || k < 0) {
                st = dolor_error(DOLOR_EFORMAT, "%s: annotations[%d].%s %g is not in \"%s\"", path, i,
                                 im < 0 ? "image_id" : "category_id", im < 0 ? iid->valuedouble : cat->valuedouble,
                                 im < 0 ? "images" : "categories");
                goto done;
            }
            const cJSON *crowd = cJSON_GetObjectItemCaseSensitive(it, "iscrowd");
            if (cJSON_IsNumber(crowd) && crowd->valuedouble != 0) {
                st = dolor_error(DOLOR_EUNSUPPORTED, "%s: annotations[%d].iscrowd = 1: crowd annotations are not "
                                 "supported", path, i);
                goto done;
            }
            double b[4];
            int nb = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, bb)
            {
                if (nb < 4 && cJSON_IsNumber(e))
                    b[nb] = e->valuedouble;
                nb += cJSON_IsNumber(e) ? 1 : 100;
            }
            if (nb != 4 || !(b[2] >= 0) || !(b[3] >= 0)) {
                st = dolor_error(DOLOR_EFORMAT, "%s: annotations[%d].bbox: needs 4 numbers [x, y, w >= 0, h >= 0]", path, i);
                goto done;
            }
            dolor_det_list *L = &out->lists[im];
            double box[4] = {b[0], b[1], b[0] + b[2], b[1] + b[3]};
            const cJSON *sg = cJSON_GetObjectItemCaseSensitive(it, "segmentation");
            int has_mask = 0;
            if (sg && !cJSON_IsNull(sg)) {
                free(mask);
                mask = calloc((size_t)L->h * (size_t)L->w, 1);
                if (!mask) {
                    st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
                    goto done;
                }
                st = read_segmentation(sg, L->h, L->w, mask, path, "annotations", i);
                if (st != DOLOR_OK)
                    goto done;
                has_mask = 1;
            }
            int has_kp = 0;
            const cJSON *kps = cJSON_GetObjectItemCaseSensitive(it, "keypoints");
            if (nkpt > 0) {
                if ((st = read_keypoints(kps, nkpt, path, "annotations", i, kp)) != DOLOR_OK)
                    goto done;
                has_kp = 1;
            }
            st = dolor_det_list_add(L, (int)cats[k].idx, 1.0, box, has_mask ? mask : NULL, has_kp ? kp : NULL);
            if (st != DOLOR_OK) {
                dolor_error_prefix(st, "%s: annotations[%d]", path, i);
                goto done;
            }
            const cJSON *area = cJSON_GetObjectItemCaseSensitive(it, "area");
            if (cJSON_IsNumber(area))
                L->obj[L->n - 1].area = area->valuedouble;
            i++;
        }
    if (cat_ids) {
        cid = malloc(nc * sizeof *cid);
        if (!cid) {
            st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        for (size_t k = 0; k < nc; k++)
            cid[k] = (int)cats[k].id;
        *cat_ids = cid;
    }
done:
    cJSON_Delete(root);
    free(imgs);
    free(cats);
    free(mask);
    free(kp);
    if (st != DOLOR_OK)
        dolor_det_dataset_free(out);
    return st;
}

dolor_status dolor_det_coco_read_results(const char *path, const dolor_det_dataset *gt, const int *cat_ids,
                                         dolor_det_list **out)
{
    if (!path || !gt || !cat_ids || !out)
        return dolor_error(DOLOR_EINVAL, "dolor_det_coco_read_results: NULL argument");
    *out = NULL;
    if (!gt->image_ids || gt->nimg == 0)
        return dolor_error(DOLOR_EINVAL, "%s: the truth was not read from a COCO file (no image ids)", path);
    dolor_status st = DOLOR_OK;
    char *txt = slurp(path, &st);
    if (!txt)
        return st;
    cJSON *root = cJSON_Parse(txt);
    if (!root) {
        const char *e = cJSON_GetErrorPtr();
        st = dolor_error(DOLOR_EFORMAT, "%s: not JSON (near '%.20s')", path, e ? e : "");
        free(txt);
        return st;
    }
    free(txt);
    const size_t ni = gt->nimg, nc = (size_t)gt->ncls;
    const int nkpt = gt->nkpt;
    dolor_det_list *L = calloc(ni, sizeof *L);
    id_index *imgs = malloc(ni * sizeof *imgs), *cats = malloc(nc * sizeof *cats);
    double *kp = malloc(((size_t)nkpt * 3 + 1) * sizeof *kp);
    uint8_t *mask = NULL;
    if (!L || !imgs || !cats || !kp) {
        st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    if (!cJSON_IsArray(root)) {
        st = dolor_error(DOLOR_EFORMAT, "%s: a results file is a JSON array of predictions", path);
        goto done;
    }
    for (size_t k = 0; k < ni; k++) {
        imgs[k].id = gt->image_ids[k];
        imgs[k].idx = k;
        dolor_det_list_init(&L[k], gt->lists[k].h, gt->lists[k].w, nkpt);
    }
    for (size_t k = 0; k < nc; k++) {
        cats[k].id = cat_ids[k];
        cats[k].idx = k;
    }
    qsort(imgs, ni, sizeof *imgs, id_cmp);
    qsort(cats, nc, sizeof *cats, id_cmp);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        const cJSON *iid = need(it, "image_id", cJSON_Number, path, "results", i, &st);
        const cJSON *cat = iid ? need(it, "category_id", cJSON_Number, path, "results", i, &st) : NULL;
        const cJSON *sc = cat ? need(it, "score", cJSON_Number, path, "results", i, &st) : NULL;
        if (!sc)
            goto done;
        long im = find_id(imgs, ni, iid->valuedouble), k = find_id(cats, nc, cat->valuedouble);
        if (im < 0 || k < 0) {
            st = dolor_error(DOLOR_EFORMAT, "%s: results[%d].%s %g is not in the truth", path, i,
                             im < 0 ? "image_id" : "category_id", im < 0 ? iid->valuedouble : cat->valuedouble);
            goto done;
        }
        dolor_det_list *D = &L[im];
        const cJSON *bb = cJSON_GetObjectItemCaseSensitive(it, "bbox");
        const cJSON *sg = cJSON_GetObjectItemCaseSensitive(it, "segmentation");
        const cJSON *kps = cJSON_GetObjectItemCaseSensitive(it, "keypoints");
        double box[4] = {0, 0, 0, 0};
        int has_box = 0, has_mask = 0, has_kp = 0;
        if (cJSON_IsArray(bb) && cJSON_GetArraySize(bb) == 4) {
            double b[4];
            for (int j = 0; j < 4; j++) {
                const cJSON *e = cJSON_GetArrayItem(bb, j);
                if (!cJSON_IsNumber(e)) {
                    st = dolor_error(DOLOR_EFORMAT, "%s: results[%d].bbox[%d]: not a number", path, i, j);
                    goto done;
                }
                b[j] = e->valuedouble;
            }
            box[0] = b[0];
            box[1] = b[1];
            box[2] = b[0] + b[2];
            box[3] = b[1] + b[3];
            has_box = 1;
        } else if (bb && !cJSON_IsNull(bb)) {
            st = dolor_error(DOLOR_EFORMAT, "%s: results[%d].bbox: needs 4 numbers [x, y, w, h]", path, i);
            goto done;
        }
        if (sg && !cJSON_IsNull(sg)) {
            size_t np = (size_t)D->h * (size_t)D->w;
            free(mask);
            mask = calloc(np, 1);
            if (!mask) {
                st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
                goto done;
            }
            st = read_segmentation(sg, D->h, D->w, mask, path, "results", i);
            if (st != DOLOR_OK)
                goto done;
            has_mask = 1;
            if (!has_box) { /* pycocotools' toBbox: the pixels' extent */
                int x0 = D->w, y0 = D->h, x1 = -1, y1 = -1;
                for (size_t z = 0; z < np; z++)
                    if (mask[z]) {
                        int x = (int)(z % (size_t)D->w), y = (int)(z / (size_t)D->w);
                        x0 = x < x0 ? x : x0;
                        x1 = x > x1 ? x : x1;
                        y0 = y < y0 ? y : y0;
                        y1 = y > y1 ? y : y1;
                    }
                if (x1 >= 0) {
                    box[0] = x0;
                    box[1] = y0;
                    box[2] = x1 + 1;
                    box[3] = y1 + 1;
                }
                has_box = 1;
            }
        }
        if (nkpt > 0 && kps) {
            if ((st = read_keypoints(kps, nkpt, path, "results", i, kp)) != DOLOR_OK)
                goto done;
            has_kp = 1;
            if (!has_box) { /* pycocotools' loadRes: the keypoints' extent */
                double x0 = kp[0], x1 = kp[0], y0 = kp[1], y1 = kp[1];
                for (int j = 1; j < nkpt; j++) {
                    x0 = fmin(x0, kp[3 * j]);
                    x1 = fmax(x1, kp[3 * j]);
                    y0 = fmin(y0, kp[3 * j + 1]);
                    y1 = fmax(y1, kp[3 * j + 1]);
                }
                box[0] = x0;
                box[1] = y0;
                box[2] = x1;
                box[3] = y1;
                has_box = 1;
            }
        }
        if (!has_box) {
            st = dolor_error(DOLOR_EFORMAT, "%s: results[%d]: no bbox, segmentation or keypoints", path, i);
            goto done;
        }
        st = dolor_det_list_add(D, (int)cats[k].idx, sc->valuedouble, box, has_mask ? mask : NULL, has_kp ? kp : NULL);
        if (st != DOLOR_OK) {
            dolor_error_prefix(st, "%s: results[%d]", path, i);
            goto done;
        }
        i++;
    }
done:
    cJSON_Delete(root);
    free(imgs);
    free(cats);
    free(kp);
    free(mask);
    if (st != DOLOR_OK) {
        if (L)
            for (size_t k = 0; k < ni; k++)
                dolor_det_list_free(&L[k]);
        free(L);
    } else {
        *out = L;
    }
    return st;
}

char *dolor_det_mask_to_coco_rle(const uint8_t *mask, int h, int w)
{
    if (!mask || h < 1 || w < 1)
        return NULL;
    size_t np = (size_t)h * (size_t)w, nr = 0;
    long *cnt = malloc((np + 1) * sizeof *cnt);
    if (!cnt)
        return NULL;
    /* column-major runs, the first of background (possibly empty) */
    uint8_t cur = 0;
    long run = 0;
    for (size_t z = 0; z < np; z++) {
        uint8_t v = mask[(z % (size_t)h) * (size_t)w + z / (size_t)h] != 0;
        if (v != cur) {
            cnt[nr++] = run;
            cur = v;
            run = 0;
        }
        run++;
    }
    cnt[nr++] = run;
    char *s = malloc(nr * 14 + 1);
    if (!s) {
        free(cnt);
        return NULL;
    }
    size_t p = 0;
    for (size_t i = 0; i < nr; i++) {
        long x = cnt[i] - (i > 2 ? cnt[i - 2] : 0);
        int more = 1;
        while (more) {
            int c = (int)(x & 0x1f);
            x >>= 5; /* arithmetic shift: differences may be negative */
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more)
                c |= 0x20;
            s[p++] = (char)(c + 48);
        }
    }
    s[p] = 0;
    free(cnt);
    return s;
}

static cJSON *num(double v)
{
    return cJSON_CreateNumber(v);
}

dolor_status dolor_det_coco_write_results(const char *path, const dolor_det_list *lists, size_t nimg,
                                          const double *image_ids, const int *cat_ids)
{
    if (!path || !lists || !image_ids)
        return dolor_error(DOLOR_EINVAL, "dolor_det_coco_write_results: NULL argument");
    if (nimg == 0)
        return dolor_error(DOLOR_EINVAL, "%s: no images", path);
    cJSON *root = cJSON_CreateArray();
    dolor_status st = DOLOR_OK;
    if (!root)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < nimg && st == DOLOR_OK; i++) {
        const dolor_det_list *L = &lists[i];
        for (size_t j = 0; j < L->n; j++) {
            const dolor_det_object *o = &L->obj[j];
            if (o->cls < 0) {
                st = dolor_error(DOLOR_EINVAL, "%s: image %zu object %zu: class %d", path, i, j, o->cls);
                break;
            }
            cJSON *r = cJSON_CreateObject(), *bb = cJSON_CreateArray();
            if (!r || !bb) {
                cJSON_Delete(r);
                cJSON_Delete(bb);
                st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
                break;
            }
            cJSON_AddItemToArray(root, r);
            cJSON_AddItemToObject(r, "image_id", num(image_ids[i]));
            cJSON_AddItemToObject(r, "category_id", num(cat_ids ? cat_ids[o->cls] : o->cls + 1));
            cJSON_AddItemToObject(r, "score", num(o->score));
            cJSON_AddItemToArray(bb, num(o->box[0]));
            cJSON_AddItemToArray(bb, num(o->box[1]));
            cJSON_AddItemToArray(bb, num(o->box[2] - o->box[0]));
            cJSON_AddItemToArray(bb, num(o->box[3] - o->box[1]));
            cJSON_AddItemToObject(r, "bbox", bb);
            if (o->mask) {
                char *rle = dolor_det_mask_to_coco_rle(o->mask, L->h, L->w);
                cJSON *sg = cJSON_CreateObject(), *sz = cJSON_CreateArray();
                if (!rle || !sg || !sz) {
                    free(rle);
                    cJSON_Delete(sg);
                    cJSON_Delete(sz);
                    st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
                    break;
                }
                cJSON_AddItemToArray(sz, num(L->h));
                cJSON_AddItemToArray(sz, num(L->w));
                cJSON_AddItemToObject(sg, "size", sz);
                cJSON_AddItemToObject(sg, "counts", cJSON_CreateString(rle));
                cJSON_AddItemToObject(r, "segmentation", sg);
                free(rle);
            }
            if (o->kpt && L->nkpt > 0) {
                cJSON *k = cJSON_CreateArray();
                for (int q = 0; k && q < 3 * L->nkpt; q++)
                    cJSON_AddItemToArray(k, num(o->kpt[q]));
                cJSON_AddItemToObject(r, "keypoints", k);
            }
        }
    }
    char *txt = st == DOLOR_OK ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (st != DOLOR_OK)
        return st;
    if (!txt)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    dolor_outfile f;
    st = dolor_outfile_open(&f, path, 1);
    if (st == DOLOR_OK) {
        fputs(txt, f.fp);
        fputc('\n', f.fp);
        st = dolor_outfile_commit(&f);
    }
    free(txt);
    return st;
}
