/* Atomic output files, mkdir -p, timing and the data-folder setting. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_uint tmp_counter;

/* Extension used to keep extension-driven writers working (".nii.gz" kept whole). */
static const char *path_ext(const char *base)
{
    size_t n = strlen(base);
    if (n > 7 && strcmp(base + n - 7, ".nii.gz") == 0)
        return base + n - 7;
    const char *dot = strrchr(base, '.');
    return (dot && dot != base) ? dot : base + n;
}

dolor_status dolor_outfile_open(dolor_outfile *f, const char *path, int want_stream)
{
    memset(f, 0, sizeof *f);
    if (!path || !*path)
        return dolor_error(DOLOR_EINVAL, "output path is empty");
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dirlen = (size_t)(base - path);
    const char *ext = path_ext(base);
    size_t stemlen = (size_t)(ext - base);
    size_t cap = strlen(path) + 64;
    f->path = strdup(path);
    f->tmp = malloc(cap);
    if (!f->path || !f->tmp) {
        free(f->path);
        free(f->tmp);
        memset(f, 0, sizeof *f);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    }
    unsigned n = atomic_fetch_add(&tmp_counter, 1u);
    snprintf(f->tmp, cap, "%.*s.%.*s.tmp%ld_%u%s", (int)dirlen, path, (int)stemlen, base,
             (long)getpid(), n, ext);
    if (want_stream) {
        f->fp = fopen(f->tmp, "wb");
        if (!f->fp) {
            dolor_status s = dolor_error(DOLOR_EIO, "%s: cannot create (%s)", path, strerror(errno));
            free(f->path);
            free(f->tmp);
            memset(f, 0, sizeof *f);
            return s;
        }
    }
    return DOLOR_OK;
}

/* fsync the folder holding path, so the rename itself survives a power cut
 * (best effort: some file systems cannot sync a folder). */
static void sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + (slash == path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

dolor_status dolor_outfile_commit(dolor_outfile *f)
{
    dolor_status s = DOLOR_OK;
    if (f->fp) {
        int err = 0;
        if (ferror(f->fp)) {
            /* an earlier write failed: flushing again names the reason (e.g. ENOSPC) while data is left */
            err = errno ? errno : EIO;
            clearerr(f->fp);
            if (fflush(f->fp) != 0 && errno)
                err = errno;
        } else if (fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0) {
            err = errno ? errno : EIO;
        }
        if (fclose(f->fp) != 0 && !err)
            err = errno ? errno : EIO;
        if (err)
            s = dolor_error(DOLOR_EIO, "%s: write failed (%s)", f->path, strerror(err));
        f->fp = NULL;
    } else {
        /* written by name (e.g. libnifti): its data must be on disk before the rename too */
        int fd = open(f->tmp, O_RDONLY);
        if (fd >= 0) {
            if (fsync(fd) != 0)
                s = dolor_error(DOLOR_EIO, "%s: write failed (%s)", f->path, strerror(errno));
            close(fd);
        }
    }
    if (s == DOLOR_OK && rename(f->tmp, f->path) != 0)
        s = dolor_error(DOLOR_EIO, "%s: cannot rename temporary file (%s)", f->path, strerror(errno));
    if (s != DOLOR_OK)
        remove(f->tmp);
    else
        sync_parent(f->path);
    free(f->path);
    free(f->tmp);
    memset(f, 0, sizeof *f);
    return s;
}

void dolor_outfile_abort(dolor_outfile *f)
{
    if (!f)
        return;
    if (f->fp)
        fclose(f->fp);
    if (f->tmp)
        remove(f->tmp);
    free(f->path);
    free(f->tmp);
    memset(f, 0, sizeof *f);
}

/* pid of a temporary name ".<name>.tmp<pid>_<n><ext>" made by dolor_outfile_open, or 0. */
static long tmp_name_pid(const char *name)
{
    if (name[0] != '.')
        return 0;
    for (const char *p = strstr(name + 1, ".tmp"); p; p = strstr(p + 1, ".tmp")) {
        const char *q = p + 4;
        long pid = 0;
        while (*q >= '0' && *q <= '9' && pid < 100000000L)
            pid = pid * 10 + (*q++ - '0');
        if (q == p + 4 || *q != '_' || !(q[1] >= '0' && q[1] <= '9'))
            continue;
        q++;
        while (*q >= '0' && *q <= '9')
            q++;
        if (*q == '\0' || *q == '.')
            return pid;
    }
    return 0;
}

int dolor_outfile_clean_stale(const char *dir)
{
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = tmp_name_pid(e->d_name);
        if (pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive (or not ours to judge) */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && unlink(path) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

dolor_status dolor_mkdir_p(const char *path)
{
    if (!path || !*path)
        return dolor_error(DOLOR_EINVAL, "directory path is empty");
    char *p = strdup(path);
    if (!p)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    for (char *q = p + 1;; q++) {
        if (*q == '/' || *q == '\0') {
            char c = *q;
            *q = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                dolor_status s = dolor_error(DOLOR_EIO, "%s: cannot create directory (%s)", p, strerror(errno));
                free(p);
                return s;
            }
            *q = c;
            if (c == '\0')
                break;
        }
    }
    struct stat st;
    int ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    free(p);
    if (!ok)
        return dolor_error(DOLOR_EIO, "%s: exists and is not a directory", path);
    return DOLOR_OK;
}

double dolor_time_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

const char *dolor_data_dir(void)
{
    const char *d = getenv("DOLOR_DATA");
    return (d && *d) ? d : "../shared/data";
}

int dolor_csv_write_field(FILE *fp, const char *s)
{
    if (!strpbrk(s, ",\"\n\r"))
        return fputs(s, fp);
    if (fputc('"', fp) == EOF)
        return EOF;
    for (; *s; s++) {
        if (*s == '"' && fputc('"', fp) == EOF)
            return EOF;
        if (fputc(*s, fp) == EOF)
            return EOF;
    }
    return fputc('"', fp);
}
