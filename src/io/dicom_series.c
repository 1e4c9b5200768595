/* A folder holding one DICOM series -> one volume sorted along the slice normal. */
#include "dicom_priv.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct slice {
    char *path;
    double pos; /* position along the slice normal */
    dolor_image *img;
} slice;

static int cmp_slice(const void *a, const void *b)
{
    const slice *x = a, *y = b;
    if (x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    return strcmp(x->path, y->path);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_slices(slice *s, int n)
{
    for (int i = 0; i < n; i++) {
        free(s[i].path);
        dolor_image_free(s[i].img);
    }
    free(s);
}

dolor_status dolor_dicom_read_series(const char *dir, dolor_image **out)
{
    *out = NULL;
    DIR *dp = opendir(dir);
    if (!dp)
        return dolor_error(DOLOR_EIO, "%s: cannot open folder", dir);
    char **names = NULL;
    int nn = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.')
            continue;
        if (nn == cap) {
            cap = cap ? cap * 2 : 64;
            char **t = realloc(names, sizeof *t * (size_t)cap);
            if (!t)
                break;
            names = t;
        }
        names[nn++] = strdup(de->d_name);
    }
    closedir(dp);
    if (nn)
        qsort(names, (size_t)nn, sizeof *names, cmp_str);
    slice *sl = calloc((size_t)(nn ? nn : 1), sizeof *sl);
    int ns = 0;
    dolor_status s = sl ? DOLOR_OK : dolor_error(DOLOR_ENOMEM, "%s: out of memory", dir);
    char series[80] = "", first_path[4096] = "";
    double iop0[6] = {0}, normal[3] = {0, 0, 1};
    int have_iop = 0;
    for (int i = 0; i < nn && !s; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        dolor_dicom *d = NULL;
        dolor_status so = dolor_dicom_open(path, &d);
        if (so == DOLOR_EFORMAT && strstr(dolor_errmsg(), "not a DICOM file"))
            continue; /* README, json, ... */
        if (so) {
            s = so;
            break;
        }
        if (!dcm_find(&d->ds, 0x7FE00010u)) { /* DICOMDIR, structured reports, RT structures */
            dolor_dicom_free(d);
            continue;
        }
        char uid[80] = "";
        dolor_dicom_get_string(d, "SeriesInstanceUID", uid, sizeof uid);
        if (ns == 0) {
            snprintf(series, sizeof series, "%s", uid);
            snprintf(first_path, sizeof first_path, "%s", path);
        } else if (strcmp(uid, series) != 0) {
            s = dolor_error(DOLOR_ESHAPE, "%s: holds more than one series (%s and %s differ in SeriesInstanceUID)", dir,
                            first_path, path);
            dolor_dicom_free(d);
            break;
        }
        double iop[6], ipp[3] = {0, 0, 0};
        int ok = 1;
        for (int k = 0; k < 6 && ok; k++)
            ok = dolor_dicom_get_number(d, "ImageOrientationPatient", k, &iop[k]) == DOLOR_OK;
        int okp = 1;
        for (int k = 0; k < 3 && okp; k++)
            okp = dolor_dicom_get_number(d, "ImagePositionPatient", k, &ipp[k]) == DOLOR_OK;
        if (ns == 0 && ok) {
            memcpy(iop0, iop, sizeof iop);
            have_iop = 1;
            normal[0] = iop[1] * iop[5] - iop[2] * iop[4];
            normal[1] = iop[2] * iop[3] - iop[0] * iop[5];
            normal[2] = iop[0] * iop[4] - iop[1] * iop[3];
        } else if (have_iop && ok) {
            for (int k = 0; k < 6; k++)
                if (fabs(iop[k] - iop0[k]) > 1e-4) {
                    s = dolor_error(DOLOR_ESHAPE, "%s: ImageOrientationPatient differs from %s's", path, first_path);
                    break;
                }
        }
        if (!s && !okp)
            s = dolor_error(DOLOR_EFORMAT, "%s: no ImagePositionPatient: cannot place the slice in a series", path);
        if (!s) {
            sl[ns].path = strdup(path);
            sl[ns].pos = ipp[0] * normal[0] + ipp[1] * normal[1] + ipp[2] * normal[2];
            s = dolor_dicom_read_image(d, &sl[ns].img);
            if (!s)
                ns++;
            else
                free(sl[ns].path), sl[ns].path = NULL;
        }
        dolor_dicom_free(d);
    }
    for (int i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    if (!s && ns == 0)
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no DICOM image files in the folder", dir);
    if (s) {
        free_slices(sl, ns);
        return s;
    }
    qsort(sl, (size_t)ns, sizeof *sl, cmp_slice);
    const dolor_image *a = sl[0].img;
    for (int i = 1; i < ns; i++) {
        const dolor_image *b = sl[i].img;
        if (b->ndim != 2 || a->ndim != 2 || b->size[0] != a->size[0] || b->size[1] != a->size[1] ||
            b->ncomp != a->ncomp || b->dtype != a->dtype) {
            s = dolor_error(DOLOR_ESHAPE, "%s: slice %s (%lldx%lld %s x%d, %d-D) does not match %s (%lldx%lld %s x%d)",
                            dir, sl[i].path, (long long)b->size[0], (long long)b->size[1], dolor_dtype_name(b->dtype),
                            b->ncomp, b->ndim, sl[0].path, (long long)a->size[0], (long long)a->size[1],
                            dolor_dtype_name(a->dtype), a->ncomp);
            break;
        }
        if (sl[i].pos - sl[i - 1].pos < 1e-6) {
            s = dolor_error(DOLOR_EFORMAT, "%s: slices %s and %s have the same position along the normal (%.6g mm)",
                            dir, sl[i - 1].path, sl[i].path, sl[i].pos);
            break;
        }
    }
    double dz = a->spacing[2];
    if (!s && ns > 1) {
        dz = (sl[ns - 1].pos - sl[0].pos) / (ns - 1);
        for (int i = 1; i < ns && !s; i++) {
            double g = sl[i].pos - sl[i - 1].pos;
            if (fabs(g - dz) > 0.05 * dz)
                s = dolor_error(DOLOR_EFORMAT, "%s: uneven slice spacing: %.4g mm between %s and %s, mean %.4g mm",
                                dir, g, sl[i - 1].path, sl[i].path, dz);
        }
    }
    dolor_image *vol = NULL;
    if (!s) {
        int64_t size[3] = {a->size[0], a->size[1], ns};
        s = dolor_image_create(&vol, a->dtype, a->ncomp, ns > 1 ? 3 : 2, size);
    }
    if (s) {
        free_slices(sl, ns);
        return s;
    }
    size_t bytes = dolor_image_nvox(a) * (size_t)a->ncomp * dolor_dtype_size(a->dtype);
    for (int i = 0; i < ns; i++)
        memcpy((uint8_t *)vol->data + (size_t)i * bytes, sl[i].img->data, bytes);
    dolor_image_copy_geometry(vol, a);
    vol->spacing[2] = ns > 1 ? dz : a->spacing[2];
    free_slices(sl, ns);
    *out = vol;
    return DOLOR_OK;
}

dolor_status dolor_dicom_read(const char *path, dolor_image **out)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return dolor_error(DOLOR_EIO, "%s: cannot open", path);
    if (S_ISDIR(st.st_mode))
        return dolor_dicom_read_series(path, out);
    dolor_dicom *d = NULL;
    dolor_status s = dolor_dicom_open(path, &d);
    if (s)
        return s;
    s = dolor_dicom_read_image(d, out);
    dolor_dicom_free(d);
    return s;
}
