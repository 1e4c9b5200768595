/* TTY-aware progress bar on stderr. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/core.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dolor_progress {
    char label[64];
    int64_t total, done;
    double t0, last_draw;
    int tty;
    int drawn;
};

static int bars_off;

void dolor_progress_set_enabled(int on) { bars_off = !on; }

dolor_progress *dolor_progress_create(const char *label, int64_t total)
{
    if (bars_off)
        return NULL;
    dolor_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total = total;
    p->t0 = dolor_time_ms();
    p->last_draw = -1e18;
    const char *force = getenv("DOLOR_PROGRESS");
    p->tty = force ? (strcmp(force, "tty") == 0) : isatty(STDERR_FILENO);
    return p;
}

static void fmt_time(char *buf, size_t n, double sec)
{
    if (sec < 0 || sec > 1e7) {
        snprintf(buf, n, "--:--");
        return;
    }
    long s = (long)(sec + 0.5);
    if (s >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, n, "%02ld:%02ld", s / 60, s % 60);
}

static void draw(dolor_progress *p, const char *suffix, int final)
{
    double now = dolor_time_ms();
    double el = (now - p->t0) / 1000.0;
    double rate = el > 0 ? (double)p->done / el : 0.0;
    char elapsed[32], eta[32];
    fmt_time(elapsed, sizeof elapsed, el);
    if (p->total > 0 && rate > 0)
        fmt_time(eta, sizeof eta, (double)(p->total - p->done) / rate);
    else
        snprintf(eta, sizeof eta, "--:--");
    if (p->tty) {
        char bar[31];
        int width = 30, fill = 0;
        if (p->total > 0)
            fill = (int)((double)width * (double)p->done / (double)p->total);
        if (fill > width)
            fill = width;
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        if (p->total > 0)
            fprintf(stderr, "\r\033[K%s [%s] %lld/%lld %.1f/s %s<%s %s", p->label, bar, (long long)p->done,
                    (long long)p->total, rate, elapsed, final ? "00:00" : eta, suffix ? suffix : "");
        else
            fprintf(stderr, "\r\033[K%s %lld %.1f/s %s %s", p->label, (long long)p->done, rate, elapsed,
                    suffix ? suffix : "");
        if (final)
            fputc('\n', stderr);
    } else {
        if (p->total > 0)
            fprintf(stderr, "%s %lld/%lld (%.0f%%) %.1f/s elapsed %s eta %s %s\n", p->label, (long long)p->done,
                    (long long)p->total, 100.0 * (double)p->done / (double)p->total, rate, elapsed,
                    final ? "00:00" : eta, suffix ? suffix : "");
        else
            fprintf(stderr, "%s %lld %.1f/s elapsed %s %s\n", p->label, (long long)p->done, rate, elapsed,
                    suffix ? suffix : "");
    }
    fflush(stderr);
    p->last_draw = now;
    p->drawn = 1;
}

void dolor_progress_update(dolor_progress *p, int64_t done, const char *suffix)
{
    if (!p)
        return;
    p->done = done;
    double now = dolor_time_ms();
    double gap = p->tty ? 100.0 : 10000.0;
    if (now - p->last_draw >= gap)
        draw(p, suffix, 0);
}

void dolor_progress_finish(dolor_progress *p, const char *suffix)
{
    if (!p)
        return;
    draw(p, suffix, 1);
    free(p);
}
