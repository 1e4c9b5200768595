/* The text buffer of textbuf.h. */
#include "textbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sb_add(strbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->len + n + 1)
            c *= 2;
        char *q = realloc(b->buf, c);
        if (!q)
            return -1;
        b->buf = q;
        b->cap = c;
    }
    memcpy(b->buf + b->len, s, n + 1);
    b->len += n;
    return 0;
}

dolor_status write_text(const char *path, const char *text)
{
    dolor_outfile f;
    dolor_status s = dolor_outfile_open(&f, path, 1);
    if (s)
        return s;
    if (fputs(text, f.fp) == EOF) {
        s = dolor_error(DOLOR_EIO, "%s: write failed (%s)", path, strerror(errno));
        dolor_outfile_abort(&f);
        return s;
    }
    return dolor_outfile_commit(&f);
}
