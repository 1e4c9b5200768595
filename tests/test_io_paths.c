/* io: file-name stems used to pair images, masks and predictions. */
#include "check.h"
#include "dolor/io.h"

int main(void)
{
    static const char *const exts[] = {".nii.gz", ".nii", ".png"};
    int which = 99;
    CHECK(dolor_path_stem_len("case_07.nii.gz", exts, 3, &which) == 7 && which == 0); /* .nii.gz before .nii */
    CHECK(dolor_path_stem_len("case_07.NII", exts, 3, &which) == 7 && which == 1);    /* case-insensitive */
    CHECK(dolor_path_stem_len("dir/a.b.png", exts, 3, &which) == 7 && which == 2);    /* only the last suffix */
    CHECK(dolor_path_stem_len("notes.txt", exts, 3, &which) == 0 && which == -1);
    CHECK(dolor_path_stem_len(".png", exts, 3, &which) == 0 && which == -1);          /* no empty stem */
    CHECK(dolor_path_stem_len("x.png", exts, 3, NULL) == 1);
    return dolor_test_finish();
}
