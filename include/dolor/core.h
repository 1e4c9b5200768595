/*
 * dolor/core.h - status codes, per-thread error messages, atomic output files,
 * a seeded random generator, float tensors and a TTY-aware progress bar.
 *
 * Every fallible dolor function returns dolor_status (DOLOR_OK == 0) and
 * writes its results through out-parameters. On failure it leaves a message,
 * kept per thread, that names the file, the field and the value at fault;
 * read it with dolor_errmsg(). Library functions never exit or abort on bad
 * input.
 */
#ifndef DOLOR_CORE_H
#define DOLOR_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOLOR_VERSION_MAJOR 0
#define DOLOR_VERSION_MINOR 1
#define DOLOR_VERSION_PATCH 0
#define DOLOR_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define DOLOR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DOLOR_PRINTF(a, b)
#endif

/* Status codes. The CLI maps DOLOR_EINVAL, DOLOR_EFORMAT, DOLOR_EUNSUPPORTED,
 * DOLOR_ESHAPE, DOLOR_ENOTFOUND and DOLOR_ENUMERIC (bad input) to exit code 2. */
typedef enum dolor_status {
    DOLOR_OK = 0,
    DOLOR_EINVAL = 1,      /* invalid argument or option value */
    DOLOR_EIO = 2,         /* a file cannot be opened, read or written */
    DOLOR_EFORMAT = 3,     /* malformed or truncated file content */
    DOLOR_EUNSUPPORTED = 4,/* valid input that dolor does not support (names it) */
    DOLOR_ENOMEM = 5,      /* allocation failed */
    DOLOR_ESHAPE = 6,      /* sizes or shapes do not match */
    DOLOR_ENOTFOUND = 7,   /* a file, key, column or attribute does not exist */
    DOLOR_ENUMERIC = 8,    /* NaN/Inf, or too few observations for a computation */
    DOLOR_EBACKEND = 9     /* the compute backend (oneDNN) failed */
} dolor_status;

/* The message of the last error on this thread ("" if none). Valid until the
 * next dolor call on the same thread. Never NULL. */
const char *dolor_errmsg(void);

/* Short name of a status code ("DOLOR_EFORMAT"). Never NULL. */
const char *dolor_status_name(dolor_status s);

/* Record an error message (printf format) for this thread and return s, so a
 * function can write `return dolor_error(DOLOR_EFORMAT, "%s: ...", path);`.
 * Messages longer than 1023 bytes are truncated. */
dolor_status dolor_error(dolor_status s, const char *fmt, ...) DOLOR_PRINTF(2, 3);

/* Prefix the current message with "prefix: " (for adding context such as a
 * file name to an error raised deeper down) and return s. */
dolor_status dolor_error_prefix(dolor_status s, const char *fmt, ...) DOLOR_PRINTF(2, 3);

/* Clear this thread's message. */
void dolor_error_clear(void);

/* ---- Output files written atomically (temporary file, then rename) ----
 * dolor_outfile_open() creates "<dir>/.<name>.tmp<pid>_<n><ext>" next to path
 * (keeping path's extension, e.g. ".nii.gz", so extension-driven writers such
 * as libnifti still work) and, if want_stream is non-zero, opens it as fp
 * ("wb"). Write to fp or to the file named tmp, then call
 * dolor_outfile_commit() to flush, fsync, close and rename onto path (then
 * fsync the folder), or
 * dolor_outfile_abort() to close and remove the temporary file. A path that
 * already exists is never touched unless commit succeeds.
 * A writer killed before commit leaves only the hidden temporary file (see
 * dolor_outfile_clean_stale). Errors: DOLOR_EIO (cannot create, write, sync
 * or rename, e.g. a full disk; the message names the final path and the
 * errno text, and the temporary file is removed). */
typedef struct dolor_outfile {
    FILE *fp;       /* open stream, or NULL when want_stream == 0 */
    char *path;     /* final path */
    char *tmp;      /* temporary path in the same directory */
} dolor_outfile;

dolor_status dolor_outfile_open(dolor_outfile *f, const char *path, int want_stream);
dolor_status dolor_outfile_commit(dolor_outfile *f);
void dolor_outfile_abort(dolor_outfile *f);

/* Remove the temporary files dolor_outfile_open() left in dir for a process
 * that no longer runs (a writer killed between open and commit): regular
 * files named ".<name>.tmp<pid>_<n><ext>" whose pid is not a live process.
 * Outputs, other files and the temporary files of live processes are left
 * alone; sub-folders are not visited. Returns how many were removed (0 when
 * dir is NULL or cannot be read); never fails. */
int dolor_outfile_clean_stale(const char *dir);

/* Create a directory and its parents (like mkdir -p). Errors: DOLOR_EIO. */
dolor_status dolor_mkdir_p(const char *path);

/* Write one CSV field to fp, quoted as RFC 4180 says when it holds a comma, a double quote, CR or LF (inner
 * quotes doubled), as is otherwise. Returns what fputs/fputc returned last: EOF on a write error (the stream's
 * error flag is set, so dolor_outfile_commit() reports it). */
int dolor_csv_write_field(FILE *fp, const char *s);

/* ---- Random numbers: xoshiro256** seeded with splitmix64 ----
 * Deterministic for a given seed on every platform. Not thread-safe per
 * object: give each thread its own generator (e.g. seed + thread index). */
typedef struct dolor_rng {
    uint64_t s[4];
} dolor_rng;

void dolor_rng_seed(dolor_rng *r, uint64_t seed);
uint64_t dolor_rng_u64(dolor_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double dolor_rng_uniform(dolor_rng *r);
/* Uniform integer in [0, n); n > 0. Unbiased (rejection sampling). */
uint64_t dolor_rng_below(dolor_rng *r, uint64_t n);
/* Standard normal N(0, 1) (Marsaglia polar method). */
double dolor_rng_normal(dolor_rng *r);
/* Fisher-Yates shuffle of n ints in place. */
void dolor_rng_shuffle_int(dolor_rng *r, int *a, size_t n);

/* ---- Float tensors ----
 * Dense float32, row-major, up to 5 dimensions: images [N, C, H, W],
 * volumes [N, C, D, H, W]. data is 64-byte aligned. */
#define DOLOR_TENSOR_MAXDIM 5
typedef struct dolor_tensor {
    int ndim;
    int64_t shape[DOLOR_TENSOR_MAXDIM];
    size_t numel;
    float *data;
} dolor_tensor;

/* Allocate a zero-filled tensor of the given shape (ndim 1..5, every
 * extent >= 1). Errors: DOLOR_EINVAL (bad shape), DOLOR_ENOMEM. */
dolor_status dolor_tensor_create(dolor_tensor **out, int ndim, const int64_t *shape);
/* Convenience for [n, c, h, w]. */
dolor_status dolor_tensor_create4(dolor_tensor **out, int64_t n, int64_t c, int64_t h, int64_t w);
void dolor_tensor_free(dolor_tensor *t); /* NULL-safe */

/* Aligned allocation helpers used across the library (64-byte alignment,
 * zero-filled). dolor_free_aligned is NULL-safe. */
void *dolor_alloc_aligned(size_t bytes);
void dolor_free_aligned(void *p);

/* ---- Progress bar ----
 * On a terminal (stderr is a TTY) it redraws one line: label, bar, done/total,
 * rate (items/s), elapsed and ETA, and a free-form suffix such as
 * "loss 0.213". When stderr is not a terminal (CI, logs) it prints plain
 * lines at most every 10 s and at finish. Output goes to stderr. */
typedef struct dolor_progress dolor_progress;

/* total <= 0 means unknown. Returns NULL on allocation failure or while bars
 * are switched off (dolor_progress_set_enabled(0)); the other calls accept
 * NULL and do nothing. */
dolor_progress *dolor_progress_create(const char *label, int64_t total);
/* Set items done and the suffix text (may be NULL). Redraws at most 10x/s. */
void dolor_progress_update(dolor_progress *p, int64_t done, const char *suffix);
/* Print the final line (with elapsed time) and free. NULL-safe. */
void dolor_progress_finish(dolor_progress *p, const char *suffix);
/* Switch every progress bar of the process on (default) or off (a CLI's -q):
 * bars created while off are NULL and print nothing. Not thread-safe: call
 * before starting work. */
void dolor_progress_set_enabled(int on);

/* Monotonic time in milliseconds (for timing; CLOCK_MONOTONIC). */
double dolor_time_ms(void);

/* Root of the real-data folder: $DOLOR_DATA if set, else "../shared/data". */
const char *dolor_data_dir(void);

#ifdef __cplusplus
}
#endif
#endif
