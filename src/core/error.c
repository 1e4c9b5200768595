/* Per-thread error messages and status names. */
#include "dolor/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DOLOR_ERRMSG_MAX 1024

static _Thread_local char errbuf[DOLOR_ERRMSG_MAX];

const char *dolor_errmsg(void) { return errbuf; }

void dolor_error_clear(void) { errbuf[0] = '\0'; }

dolor_status dolor_error(dolor_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return s;
}

dolor_status dolor_error_prefix(dolor_status s, const char *fmt, ...)
{
    char prefix[DOLOR_ERRMSG_MAX];
    char old[DOLOR_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errbuf, sizeof old);
    snprintf(errbuf, sizeof errbuf, "%s: %s", prefix, old);
    return s;
}

const char *dolor_status_name(dolor_status s)
{
    switch (s) {
    case DOLOR_OK: return "DOLOR_OK";
    case DOLOR_EINVAL: return "DOLOR_EINVAL";
    case DOLOR_EIO: return "DOLOR_EIO";
    case DOLOR_EFORMAT: return "DOLOR_EFORMAT";
    case DOLOR_EUNSUPPORTED: return "DOLOR_EUNSUPPORTED";
    case DOLOR_ENOMEM: return "DOLOR_ENOMEM";
    case DOLOR_ESHAPE: return "DOLOR_ESHAPE";
    case DOLOR_ENOTFOUND: return "DOLOR_ENOTFOUND";
    case DOLOR_ENUMERIC: return "DOLOR_ENUMERIC";
    case DOLOR_EBACKEND: return "DOLOR_EBACKEND";
    }
    return "DOLOR_UNKNOWN";
}
