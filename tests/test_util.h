/* Helpers shared by the C tests (tests/test_<module>.c), header-only like check.h
 * (include check.h first or let this header include it):
 *
 *   char *dolor_test_slurp(path, &len)      the whole file, NUL-terminated, malloc'd (free it); NULL if it
 *                                           cannot be read. len may be NULL; it receives the byte count.
 *   int   dolor_test_rm_rf(path)            remove a file or a folder tree (symbolic links are removed, not
 *                                           followed); 0 if nothing is left, -1 otherwise. Absent path: 0.
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
 *   int dolor_test_split_tabs(line, f, max) split a TSV line in place at tabs (and the newline) into f[max];
 *                                           the field count (empty fields are skipped, as strtok)
 *   int dolor_test_next_kv(fp, line, n, &val)
 *                                           the next line "KEY VALUE..." that is neither blank nor a '#'
 *                                           comment: line holds KEY (cut at the first space), *val the rest
 *                                           ("" if none); 0 at the end of the file
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
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n + 1 >= cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - 1 - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (b && ferror(fp)) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    if (!b)
        return NULL;
    b[n] = '\0';
    if (len)
        *len = n;
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
        return rmdir(path) == 0 ? 0 : -1;
    }
    return unlink(path) == 0 ? 0 : -1;
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

static inline int dolor_test_split_tabs(char *line, char **f, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, "\t\n", &save); t && n < max; t = strtok_r(NULL, "\t\n", &save))
        f[n++] = t;
    return n;
}

static inline int dolor_test_next_kv(FILE *fp, char *line, int n, const char **val)
{
    while (fgets(line, n, fp)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || !line[0])
            continue;
        char *sp = strchr(line, ' ');
        *val = sp ? sp + 1 : "";
        if (sp)
            *sp = 0;
        return 1;
    }
    return 0;
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
