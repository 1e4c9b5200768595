/* libFuzzer target: a JSON training config -> dolor_opts_apply_json through
 * the option table and apply function of dolor train (src/cli/cmd_train.c,
 * included here for its static table; the same parser applies the "train"
 * options stored in a checkpoint on --resume). Then the property resume relies
 * on: the options written back as JSON (opts_to_json) must apply again and
 * give the same JSON. "label-desc" opens the file it names, so it is skipped
 * (the label file parser has its own target, fuzz_labels). */
#include "cmd_train.c"

#include <assert.h>

static dolor_status apply_no_files(void *ctx, const dolor_opt_spec *sp, const char *v)
{
    if (!strcmp(sp->name, "label-desc"))
        return DOLOR_OK;
    return apply(ctx, sp, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 16))
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    train_opts o;
    opts_init(&o);
    if (dolor_opts_apply_json(text, "fuzz.json", specs, NSPECS, apply_no_files, &o) == DOLOR_OK) {
        static char j1[4096], j2[4096];
        opts_to_json(&o, j1, sizeof j1);
        train_opts r;
        opts_init(&r);
        dolor_status s = dolor_opts_apply_json(j1, "stored", specs, NSPECS, apply_no_files, &r);
        if (s != DOLOR_OK) {
            fprintf(stderr, "stored options do not apply again: %s\n%s\n", dolor_errmsg(), j1);
            __builtin_trap();
        }
        opts_to_json(&r, j2, sizeof j2);
        if (strcmp(j1, j2) != 0) {
            fprintf(stderr, "stored options change on a round trip:\n%s\n%s\n", j1, j2);
            __builtin_trap();
        }
        opts_release(&r);
    }
    opts_release(&o);
    free(text);
    return 0;
}
