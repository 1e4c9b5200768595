/* Minimal test harness shared by tests/test_<module>.c.
 * Each CHECK records a pass or a failure (with file:line and the values);
 * SKIP(fmt, ...) records a skipped check and prints "SKIP: <reason>" to stderr;
 * dolor_test_finish() prints "N passed, N failed, N skipped" (that line always
 * starts "N passed, N failed") and returns the exit code.
 * A test needing real data that is absent calls DOLOR_TEST_NEED_DATA(path):
 * with DOLOR_REQUIRE_DATA=1 that is a failure naming the path, otherwise the
 * check is reported as skipped. Helpers for files, folders and running the
 * dolor program are in test_util.h. */
#ifndef DOLOR_TEST_CHECK_H
#define DOLOR_TEST_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int dolor_test_passed, dolor_test_failed, dolor_test_skipped;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (cond) {                                                                    \
            dolor_test_passed++;                                                       \
        } else {                                                                       \
            dolor_test_failed++;                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
        }                                                                              \
    } while (0)

#define CHECKF(cond, ...)                                                              \
    do {                                                                               \
        if (cond) {                                                                    \
            dolor_test_passed++;                                                       \
        } else {                                                                       \
            dolor_test_failed++;                                                       \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
            fprintf(stderr, __VA_ARGS__);                                              \
            fputc('\n', stderr);                                                       \
        }                                                                              \
    } while (0)

/* Status check: expects DOLOR_OK and prints dolor_errmsg() otherwise. */
#define CHECK_OK(expr)                                                                 \
    do {                                                                               \
        dolor_status s_ = (expr);                                                      \
        CHECKF(s_ == DOLOR_OK, "%s -> %s: %s", #expr, dolor_status_name(s_), dolor_errmsg()); \
    } while (0)

/* Expects a specific error status and a message containing `needle`. */
#define CHECK_ERR(expr, status, needle)                                                \
    do {                                                                               \
        dolor_status s_ = (expr);                                                      \
        CHECKF(s_ == (status) && strstr(dolor_errmsg(), (needle)) != NULL,             \
               "%s -> %s '%s' (expected %s with '%s')", #expr, dolor_status_name(s_),  \
               dolor_errmsg(), dolor_status_name(status), (needle));                  \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                          \
    do {                                                                               \
        double a_ = (double)(a), b_ = (double)(b);                                     \
        CHECKF(fabs(a_ - b_) <= (tol) || (isnan(a_) && isnan(b_)),                     \
               "%s = %.17g, %s = %.17g, |diff| %.3g > %.3g", #a, a_, #b, b_,           \
               fabs(a_ - b_), (double)(tol));                                          \
    } while (0)

/* Count one skipped check; the reason (printf format) goes to stderr as "SKIP: reason". */
static inline void dolor_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void dolor_test_skip(const char *fmt, ...)
{
    va_list ap;
    dolor_test_skipped++;
    fputs("SKIP: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
#define SKIP(...) dolor_test_skip(__VA_ARGS__)

/* 1 if the path exists; otherwise fails (DOLOR_REQUIRE_DATA=1) or skips. */
static inline int dolor_test_need_data(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return 1;
    const char *req = getenv("DOLOR_REQUIRE_DATA");
    if (req && strcmp(req, "1") == 0) {
        dolor_test_failed++;
        fprintf(stderr, "FAIL: required data missing: %s\n", path);
    } else {
        dolor_test_skip("data missing: %s", path);
    }
    return 0;
}
#define DOLOR_TEST_NEED_DATA(path) dolor_test_need_data(path)

static inline int dolor_test_finish(void)
{
    printf("%d passed, %d failed, %d skipped\n", dolor_test_passed, dolor_test_failed, dolor_test_skipped);
    return dolor_test_failed ? 1 : 0;
}

#endif
