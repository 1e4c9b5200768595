/* dolor_image_read / dolor_image_write: choose the format by content and extension.
 * Each format's owner adds its branch here when its reader lands. */
#include "dolor/io.h"

#include <errno.h>

#include <dirent.h>
#include <string.h>
#include <strings.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int magic(const char *path, const unsigned char *sig, size_t n, long offset)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    unsigned char buf[16];
    int ok = fseek(fp, offset, SEEK_SET) == 0 && fread(buf, 1, n, fp) == n && memcmp(buf, sig, n) == 0;
    fclose(fp);
    return ok;
}

dolor_status dolor_image_read(const char *path, dolor_image **out)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char jpg_sig[3] = {0xff, 0xd8, 0xff};
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(errno == ENOENT ? DOLOR_ENOTFOUND : DOLOR_EIO, "%s: cannot open (%s)", path,
                           strerror(errno));
    int empty = fgetc(fp) == EOF && !ferror(fp); /* a folder reads as an error, not as empty */
    fclose(fp);
    /* DICOM (DICOM helper): a folder (one series), .dcm, or "DICM" at offset 128 */
    DIR *dirp = opendir(path);
    if (dirp)
        closedir(dirp);
    if (dirp || ends_with(path, ".dcm") || magic(path, (const unsigned char *)"DICM", 4, 128))
        return dolor_dicom_read(path, out);
    if (empty)
        return dolor_error(DOLOR_EFORMAT, "%s: empty file (0 bytes)", path);
    if (magic(path, png_sig, 8, 0))
        return dolor_png_read(path, out);
    if (magic(path, jpg_sig, 3, 0))
        return dolor_jpeg_read(path, out);
    if (ends_with(path, ".nii") || ends_with(path, ".nii.gz") || ends_with(path, ".hdr"))
        return dolor_nifti_read(path, out);
    if (ends_with(path, ".mha") || ends_with(path, ".mhd"))
        return dolor_metaimage_read(path, out);
    return dolor_error(DOLOR_EUNSUPPORTED, "%s: unknown image format (supported: DICOM, PNG, JPEG, NIfTI, MetaImage)",
                       path);
}

dolor_status dolor_image_write(const char *path, const dolor_image *img)
{
    if (ends_with(path, ".png"))
        return dolor_png_write(path, img);
    if (ends_with(path, ".nii") || ends_with(path, ".nii.gz"))
        return dolor_nifti_write(path, img);
    if (ends_with(path, ".mha") || ends_with(path, ".mhd"))
        return dolor_metaimage_write(path, img, 1); /* zlib-compressed, as 3D Slicer writes */
    return dolor_error(DOLOR_EINVAL,
                       "%s: cannot tell the output format from the extension (use .png, .nii, .nii.gz, .mha, .mhd)",
                       path);
}

size_t dolor_path_stem_len(const char *name, const char *const *exts, int nexts, int *which)
{
    size_t n = strlen(name);
    for (int i = 0; i < nexts; i++) {
        size_t m = strlen(exts[i]);
        if (n > m && strcasecmp(name + n - m, exts[i]) == 0) {
            if (which)
                *which = i;
            return n - m;
        }
    }
    if (which)
        *which = -1;
    return 0;
}
