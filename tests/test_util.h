/* Helpers shared by the C tests (tests/test_<module>.c), header-only like check.h
 * (include check.h first or let this header include it):
 *
 *   char *dolor_test_slurp(path, &len)      the whole file, NUL-terminated, malloc'd (free it); NULL if it
 *                                           cannot be read. len may be NULL; it receives the byte count.
 *   int   dolor_test_rm_rf(path)            remove a file or a folder tree (symbolic links are removed, not
 *                                           followed); 0 if nothing is left, -1 (and "could not remove PATH" on
 *                                           stderr) otherwise. Absent path: 0.
 *   char **dolor_test_list_dir(dir, &n)     the files of dir (names not starting with '.') as full paths sorted
 *                                           by name, NULL-terminated; NULL and n = -1 when dir cannot be read.
 *                                           Free with dolor_test_free_list.
 *   char *dolor_test_tmpdir(buf, n, name)   create /tmp/dolor_NAME_XXXXXX (mkdtemp) into buf[n]; returns buf,
 *                                           or NULL after recording a failure.
 *   const char *dolor_test_bin(what)        $DOLOR_BIN (set by CMake for every test) when it is executable;
 *                                           otherwise NULL and one skipped check "WHAT: DOLOR_BIN not built".
 *   int   dolor_test_sh(fmt, ...)           run a shell command line (printf format); its exit status 0..255,
 *                                           -1 if it could not run or did not exit normally (a signal).
 *   int   dolor_test_run(&out, &err, fmt, ...)
 *                                           run "'$DOLOR_BIN' ARGS" (ARGS from the printf format, quoted by the
 *                                           caller) through the shell; returns the exit status as dolor_test_sh.
 *                                           out and err, when not NULL, receive the program's stdout and stderr
 *                                           (malloc'd, "" when empty; free them); when NULL that stream is left
 *                                           as it is (ARGS may redirect it). $DOLOR_BIN unset or not executable:
 *                                           -1 and a recorded failure (call dolor_test_bin first to skip).
 *
 * Command lines longer than 16 KiB are a recorded failure (-1), never cut short.
 *
 * Fixture text files (written by tools/gen_*.py):
 *   FILE *dolor_test_open(fmt, ...)         fopen(the path from the printf format, "r"); NULL after recording a
 *                                           failure "cannot open PATH"
 *   int dolor_test_parse_nums(s, v, max)    up to max numbers separated by blanks from s into v; the count
 *   int dolor_test_tsv_row(fp, line, n, f, nf)
 *                                           the next TSV line (read into line[n]) that is not a '#' comment and
 *                                           has at least nf fields, split in place at tabs into f[nf] (empty
 *                                           fields skipped, as strtok); 1, or 0 at the end of the file
 *   dolor_test_blocks b = dolor_test_blocks_open(path); while (dolor_test_blocks_next(&b, out, sizeof *out, max))
 *                                           a description made of blocks: a line "file NAME" starts one, the
 *                                           lines "KEY VALUE..." after it fill it ('#' comments and blank lines
 *                                           skipped). _open records a failure when it cannot open the file (then
 *                                           _next returns 0). _next: the next line of a block in b.key and b.val
 *                                           ("" if none); at a "file" line a zeroed element out[b.n++] is started
 *                                           and b.cur points at it; 0 (file closed) at the end or at a block past
 *                                           max. b.n: blocks read.
 *   int dolor_test_same_voxels(a, b)        1 if both images exist and have the same dtype, components, dims,
 *                                           size and voxel bytes (geometry not compared)
 *   uint64_t dolor_test_image_hash(img, &sum)
 *                                           order-sensitive hash of the voxel values (as integers) and their
 *                                           sum, as tools/gen_dicom_fixtures.py computes them with NumPy */
#ifndef DOLOR_TEST_UTIL_H
#define DOLOR_TEST_UTIL_H

#include "check.h"
#include "dolor/image.h"

#include <dirent.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DOLOR_TEST_CMD_MAX 16384

static inline char *dolor_test_slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (len)
        *len = 0;
    if (!fp)
        return NULL;
    char *b = NULL;
    long n = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    if (n >= 0 && fseek(fp, 0, SEEK_SET) == 0 && (b = malloc((size_t)n + 1)) &&
        fread(b, 1, (size_t)n, fp) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    if (b) {
        b[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return b;
}

static inline int dolor_test_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                    continue;
                size_t n = strlen(path) + strlen(de->d_name) + 2;
                char *p = malloc(n);
                if (!p)
                    break;
                snprintf(p, n, "%s/%s", path, de->d_name);
                dolor_test_rm_rf(p);
                free(p);
            }
            closedir(d);
        }
        if (rmdir(path) == 0)
            return 0;
    } else if (unlink(path) == 0) {
        return 0;
    }
    fprintf(stderr, "could not remove %s\n", path);
    return -1;
}

static inline void dolor_test_free_list(char **list)
{
    for (char **p = list; p && *p; p++)
        free(*p);
    free(list);
}

static inline int dolor_test_not_hidden(const struct dirent *de)
{
    return de->d_name[0] != '.';
}

static inline char **dolor_test_list_dir(const char *dir, int *n)
{
    struct dirent **names = NULL;
    *n = scandir(dir, &names, dolor_test_not_hidden, alphasort);
    if (*n < 0)
        return NULL;
    char **list = calloc((size_t)*n + 1, sizeof *list);
    for (int i = 0; i < *n; i++) {
        size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
        if (list && (list[i] = malloc(len)))
            snprintf(list[i], len, "%s/%s", dir, names[i]->d_name);
        free(names[i]);
    }
    free(names);
    for (int i = 0; list && i < *n; i++)
        if (!list[i]) {
            dolor_test_free_list(list);
            list = NULL;
        }
    if (!list)
        *n = -1;
    return list;
}

static inline char *dolor_test_tmpdir(char *buf, size_t n, const char *name)
{
    int w = snprintf(buf, n, "/tmp/dolor_%s_XXXXXX", name);
    if (w < 0 || (size_t)w >= n || !mkdtemp(buf)) {
        dolor_test_failed++;
        fprintf(stderr, "FAIL: cannot create a temporary folder /tmp/dolor_%s_XXXXXX\n", name);
        return NULL;
    }
    return buf;
}

static inline const char *dolor_test_bin(const char *what)
{
    const char *bin = getenv("DOLOR_BIN");
    if (bin && *bin && access(bin, X_OK) == 0)
        return bin;
    dolor_test_skip("%s: DOLOR_BIN not built", what);
    return NULL;
}

static inline int dolor_test_system(const char *cmdline)
{
    fflush(stdout);
    fflush(stderr);
    int st = system(cmdline);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static inline int dolor_test_vformat(char *buf, size_t n, const char *fmt, va_list ap)
{
    int w = vsnprintf(buf, n, fmt, ap);
    if (w < 0 || (size_t)w >= n) {
        dolor_test_failed++;
        fprintf(stderr, "FAIL: command line longer than %zu bytes: %.200s...\n", n, fmt);
        return -1;
    }
    return 0;
}

static inline int dolor_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int dolor_test_sh(const char *fmt, ...)
{
    char *cmd = malloc(DOLOR_TEST_CMD_MAX);
    if (!cmd)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int bad = dolor_test_vformat(cmd, DOLOR_TEST_CMD_MAX, fmt, ap);
    va_end(ap);
    int rc = bad ? -1 : dolor_test_system(cmd);
    free(cmd);
    return rc;
}

/* one temporary file for a captured stream; path receives its name */
static inline int dolor_test_capture_file(char *path, size_t n, const char *stream)
{
    snprintf(path, n, "/tmp/dolor_test_%s_XXXXXX", stream);
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static inline int dolor_test_run(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline int dolor_test_run(char **out, char **err, const char *fmt, ...)
{
    if (out)
        *out = NULL;
    if (err)
        *err = NULL;
    const char *bin = getenv("DOLOR_BIN");
    if (!bin || !*bin || access(bin, X_OK) != 0) {
        dolor_test_failed++;
        fprintf(stderr, "FAIL: DOLOR_BIN is not an executable dolor program\n");
        return -1;
    }
    char *args = malloc(DOLOR_TEST_CMD_MAX), *cmd = malloc(DOLOR_TEST_CMD_MAX + 4096);
    char of[64] = "", ef[64] = "";
    int rc = -1;
    if (!args || !cmd)
        goto done;
    va_list ap;
    va_start(ap, fmt);
    int bad = dolor_test_vformat(args, DOLOR_TEST_CMD_MAX, fmt, ap);
    va_end(ap);
    if (bad || (out && dolor_test_capture_file(of, sizeof of, "out")) ||
        (err && dolor_test_capture_file(ef, sizeof ef, "err")))
        goto done;
    snprintf(cmd, DOLOR_TEST_CMD_MAX + 4096, "'%s' %s%s%s%s%s", bin, args, out ? " >" : "", of, err ? " 2>" : "", ef);
    rc = dolor_test_system(cmd);
    if (out && !(*out = dolor_test_slurp(of, NULL)))
        *out = calloc(1, 1);
    if (err && !(*err = dolor_test_slurp(ef, NULL)))
        *err = calloc(1, 1);
done:
    if (of[0])
        unlink(of);
    if (ef[0])
        unlink(ef);
    free(args);
    free(cmd);
    return rc;
}

static inline FILE *dolor_test_open(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline FILE *dolor_test_open(const char *fmt, ...)
{
    char path[4096];
    va_list ap;
    va_start(ap, fmt);
    int bad = dolor_test_vformat(path, sizeof path, fmt, ap);
    va_end(ap);
    FILE *fp = bad ? NULL : fopen(path, "r");
    CHECKF(bad || fp != NULL, "cannot open %s", path);
    return fp;
}

static inline int dolor_test_parse_nums(const char *s, double *v, int max)
{
    int n = 0;
    char *end;
    while (n < max) {
        double x = strtod(s, &end);
        if (end == s)
            break;
        v[n++] = x;
        s = end;
    }
    return n;
}

static inline int dolor_test_tsv_row(FILE *fp, char *line, int n, char **f, int nf)
{
    while (fgets(line, n, fp)) {
        if (line[0] == '#')
            continue;
        int k = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, "\t\n", &save); t && k < nf; t = strtok_r(NULL, "\t\n", &save))
            f[k++] = t;
        if (k == nf)
            return 1;
    }
    return 0;
}

typedef struct dolor_test_blocks {
    FILE *fp;
    char line[4096];
    const char *key, *val;
    void *cur;
    int n;
} dolor_test_blocks;

static inline dolor_test_blocks dolor_test_blocks_open(const char *path)
{
    dolor_test_blocks b;
    memset(&b, 0, sizeof b);
    b.fp = dolor_test_open("%s", path);
    return b;
}

static inline int dolor_test_blocks_next(dolor_test_blocks *b, void *out, size_t elem, int max)
{
    while (b->fp && fgets(b->line, sizeof b->line, b->fp)) {
        char *line = b->line;
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || !line[0])
            continue;
        char *sp = strchr(line, ' ');
        b->key = line;
        b->val = sp ? sp + 1 : "";
        if (sp)
            *sp = 0;
        if (!strcmp(b->key, "file")) {
            if (b->n >= max)
                break;
            b->cur = (char *)out + elem * (size_t)b->n++;
            memset(b->cur, 0, elem);
        }
        if (b->cur)
            return 1;
    }
    if (b->fp)
        fclose(b->fp);
    b->fp = NULL;
    return 0;
}

static inline int dolor_test_same_voxels(const dolor_image *a, const dolor_image *b)
{
    if (!a || !b || a->dtype != b->dtype || a->ncomp != b->ncomp || a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < 4; i++)
        if (a->size[i] != b->size[i])
            return 0;
    return memcmp(a->data, b->data, dolor_image_nvox(a) * (size_t)a->ncomp * dolor_dtype_size(a->dtype)) == 0;
}

static inline uint64_t dolor_test_image_hash(const dolor_image *img, double *sum)
{
    const uint64_t K = 0x9E3779B97F4A7C15ull;
    size_t n = dolor_image_nvox(img) * (size_t)img->ncomp;
    uint64_t h = 0;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double v = dolor_image_get(img, i);
        s += v;
        h += ((uint64_t)(int64_t)v + K) * ((uint64_t)i * K + 1);
    }
    *sum = s;
    return h;
}

#endif
