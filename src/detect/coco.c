/* COCO JSON datasets (images, annotations, categories): boxes, polygons or uncompressed RLE, keypoints. */
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
    double *kp = NULL, *poly = NULL;
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
    kp = malloc(((size_t)nkpt * 3 + 1) * sizeof *kp);
    if (!imgs || !cats || !out->names || !out->lists || !kp) {
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
        out->names[i] = strdup(fn->valuestring);
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
                size_t np = (size_t)L->h * (size_t)L->w;
                free(mask);
                mask = calloc(np, 1);
                if (!mask) {
                    st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
                    goto done;
                }
                if (cJSON_IsArray(sg)) {
                    int pi = 0;
                    const cJSON *pg;
                    cJSON_ArrayForEach(pg, sg)
                    {
                        int n = cJSON_IsArray(pg) ? cJSON_GetArraySize(pg) : -1;
                        if (n < 6 || n % 2) {
                            st = dolor_error(DOLOR_EFORMAT, "%s: annotations[%d].segmentation[%d]: %d coordinates (an "
                                             "even count >= 6)", path, i, pi, n);
                            goto done;
                        }
                        free(poly);
                        poly = malloc((size_t)n * sizeof *poly);
                        if (!poly) {
                            st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
                            goto done;
                        }
                        int q = 0;
                        const cJSON *c;
                        cJSON_ArrayForEach(c, pg)
                        {
                            if (!cJSON_IsNumber(c)) {
                                st = dolor_error(DOLOR_EFORMAT, "%s: annotations[%d].segmentation[%d][%d]: not a number",
                                                 path, i, pi, q);
                                goto done;
                            }
                            poly[q++] = c->valuedouble;
                        }
                        uint8_t *tmp = calloc(np, 1);
                        if (!tmp) {
                            st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
                            goto done;
                        }
                        dolor_det_polygon_fill_coco(poly, n / 2, L->h, L->w, tmp);
                        for (size_t z = 0; z < np; z++)
                            mask[z] |= tmp[z];
                        free(tmp);
                        pi++;
                    }
                } else if (cJSON_IsObject(sg)) {
                    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(sg, "counts");
                    const cJSON *size = cJSON_GetObjectItemCaseSensitive(sg, "size");
                    if (cJSON_IsString(counts)) {
                        st = dolor_error(DOLOR_EUNSUPPORTED, "%s: annotations[%d].segmentation: compressed RLE (a "
                                         "counts string) is not supported; write uncompressed counts", path, i);
                        goto done;
                    }
                    if (!cJSON_IsArray(counts) || !cJSON_IsArray(size) || cJSON_GetArraySize(size) != 2 ||
                        cJSON_GetArrayItem(size, 0)->valuedouble != L->h ||
                        cJSON_GetArrayItem(size, 1)->valuedouble != L->w) {
                        st = dolor_error(DOLOR_EFORMAT, "%s: annotations[%d].segmentation: RLE needs \"counts\" [...] and "
                                         "\"size\" [%d, %d] (the image's height, width)", path, i, L->h, L->w);
                        goto done;
                    }
                    size_t at = 0;
                    int r = 0;
                    const cJSON *c;
                    cJSON_ArrayForEach(c, counts)
                    {
                        double len = cJSON_IsNumber(c) ? c->valuedouble : -1;
                        if (len < 0 || len != floor(len) || at + (size_t)len > np) {
                            st = dolor_error(DOLOR_EFORMAT, "%s: annotations[%d].segmentation.counts[%d]: %g (runs must "
                                             "be integers covering %zu pixels)", path, i, r, len, np);
                            goto done;
                        }
                        if (r & 1) /* column-major runs, as pycocotools */
                            for (size_t z = at; z < at + (size_t)len; z++)
                                mask[(z % (size_t)L->h) * (size_t)L->w + z / (size_t)L->h] = 1;
                        at += (size_t)len;
                        r++;
                    }
                    if (at != np) {
                        st = dolor_error(DOLOR_EFORMAT, "%s: annotations[%d].segmentation.counts cover %zu of %zu pixels",
                                         path, i, at, np);
                        goto done;
                    }
                } else {
                    st = dolor_error(DOLOR_EFORMAT, "%s: annotations[%d].segmentation: polygons or RLE expected", path, i);
                    goto done;
                }
                has_mask = 1;
            }
            int has_kp = 0;
            const cJSON *kps = cJSON_GetObjectItemCaseSensitive(it, "keypoints");
            if (nkpt > 0) {
                int n = cJSON_IsArray(kps) ? cJSON_GetArraySize(kps) : -1;
                if (n != 3 * nkpt) {
                    st = dolor_error(DOLOR_EFORMAT, "%s: annotations[%d].keypoints: %d values, expected %d keypoints x 3 "
                                     "= %d", path, i, n, nkpt, 3 * nkpt);
                    goto done;
                }
                int q = 0;
                const cJSON *c;
                cJSON_ArrayForEach(c, kps)
                {
                    if (!cJSON_IsNumber(c)) {
                        st = dolor_error(DOLOR_EFORMAT, "%s: annotations[%d].keypoints[%d]: not a number", path, i, q);
                        goto done;
                    }
                    kp[q++] = c->valuedouble;
                }
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
    free(poly);
    if (st != DOLOR_OK)
        dolor_det_dataset_free(out);
    return st;
}
