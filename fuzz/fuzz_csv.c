/* libFuzzer target: CSV text -> dolor_csv_read_mem (the reader of dolor stats),
 * then every column as numbers and as a factor. */
#include "dolor/stats.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dolor_csv *t = NULL;
    if (dolor_csv_read_mem((const char *)data, size, "fuzz.csv", &t) == DOLOR_OK) {
        for (int j = 0; j < t->ncol && j < 8; j++) {
            double *v = NULL;
            if (dolor_csv_numeric(t, t->names[j], &v) == DOLOR_OK)
                free(v);
            char **levels = NULL;
            int nlev = 0, *codes = NULL;
            if (dolor_csv_factor(t, t->names[j], &levels, &nlev, &codes) == DOLOR_OK) {
                dolor_stats_free_strings(levels);
                free(codes);
            }
            (void)dolor_csv_column(t, t->names[j]);
        }
    }
    dolor_csv_free(t);
    return 0;
}
