/* Private to src/train: a growing text buffer for log.csv and prediction tables kept in memory and
 * rewritten atomically (temporary file, then rename) after every epoch. */
#ifndef DOLOR_TRAIN_TEXTBUF_H
#define DOLOR_TRAIN_TEXTBUF_H

#include "dolor/core.h"

#include <stddef.h>

/* library-private names (the library exports every non-static symbol) */
#define sb_add dolor_train__sb_add
#define write_text dolor_train__write_text

typedef struct strbuf {
    char *buf;
    size_t len, cap;
} strbuf;

/* Append s; 0, or -1 when out of memory (the buffer is unchanged). */
int sb_add(strbuf *b, const char *s);
/* Write text to path through dolor_outfile_*. Errors: DOLOR_EIO naming the path. */
dolor_status write_text(const char *path, const char *text);

#endif
