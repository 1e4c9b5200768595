/* libFuzzer target: ITK-SNAP label description text -> dolor_label_table_read_mem,
 * then the class list of what was read. */
#include "dolor/io.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dolor_label_table *t = NULL;
    if (dolor_label_table_read_mem(data, size, "fuzz.txt", &t) == DOLOR_OK) {
        char **names = NULL;
        int *values = NULL, n = 0;
        if (dolor_label_table_classes(t, 1, &names, &values, &n) == DOLOR_OK) {
            dolor_label_names_free(names);
            free(values);
        }
        (void)dolor_label_table_find(t, 1);
    }
    dolor_label_table_free(t);
    return 0;
}
