/* dolor info FILE|DIR...: geometry and main attributes of an image. DICOM files and
 * series folders also show their main attributes; patient-identifying attributes
 * (PS3.15 Basic Profile: names, IDs, dates, addresses) only with --show-phi. */
#define _POSIX_C_SOURCE 200809L
#include "opts.h"
#include "dolor/io.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct {
    int all, show_phi;
} info_opts;

static const dolor_opt_spec specs[] = {
    {"all", 0, OPT_FLAG, "list every top-level DICOM attribute (patient-identifying ones hidden)",
     DOLOR_OPT_AT(info_opts, all)},
    {"show-phi", 0, OPT_FLAG, "also print patient-identifying attributes (names, IDs, dates, addresses)",
     DOLOR_OPT_AT(info_opts, show_phi)},
};

static const dolor_cmd_desc info_cmd = {
    .name = "info",
    .usage = "[options] FILE|DIR...",
    .summary = "Print an image's geometry (size, spacing in mm, origin and direction in LPS, dtype,\n"
               "frames) and, for DICOM files and series folders, the main attributes (Modality,\n"
               "Manufacturer, transfer syntax, PhotometricInterpretation, bits, PixelSpacing,\n"
               "SliceThickness, RescaleSlope/Intercept, ...). Any format dolor reads: DICOM (file or a\n"
               "folder holding one series), NIfTI, MetaImage, PNG, JPEG.",
    DOLOR_CMD_SPECS(specs),
    .details = "exit codes: 0 success, 1 I/O failure, 2 unreadable or unsupported file\n",
};

static void print_geometry(const dolor_image *img, int dicom)
{
    printf("  size        %lld x %lld", (long long)img->size[0], (long long)img->size[1]);
    for (int i = 2; i < img->ndim; i++)
        printf(" x %lld", (long long)img->size[i]);
    printf("  (x, y%s)\n", img->ndim > 2 ? ", z/frames" : "");
    printf("  dtype       %s x %d component%s\n", dolor_dtype_name(img->dtype), img->ncomp, img->ncomp > 1 ? "s" : "");
    if (dicom)
        printf("  frames      %lld\n", (long long)(img->ndim > 2 ? img->size[2] : 1));
    else if (img->ndim > 3)
        printf("  frames      %lld (t, %.6g ms apart)\n", (long long)img->size[3], img->spacing[3]);
    if (img->spacing_unknown)
        printf("  spacing     unknown (the file gives no pixel size; distances are in pixels)\n");
    else
        printf("  spacing mm  %.6g %.6g %.6g\n", img->spacing[0], img->spacing[1], img->spacing[2]);
    printf("  origin mm   %.6g %.6g %.6g (LPS)\n", img->origin[0], img->origin[1], img->origin[2]);
    printf("  direction   [%.6g %.6g %.6g; %.6g %.6g %.6g; %.6g %.6g %.6g] (columns = axes)\n", img->direction[0],
           img->direction[1], img->direction[2], img->direction[3], img->direction[4], img->direction[5],
           img->direction[6], img->direction[7], img->direction[8]);
}

static const char *main_keys[] = {
    "Modality", "Manufacturer", "ManufacturerModelName", "SOPClassUID", "PhotometricInterpretation",
    "Rows", "Columns", "NumberOfFrames", "SamplesPerPixel", "BitsAllocated", "BitsStored", "HighBit",
    "PixelRepresentation", "PlanarConfiguration", "PixelSpacing", "ImagerPixelSpacing", "SliceThickness",
    "SpacingBetweenSlices", "ImagePositionPatient", "ImageOrientationPatient", "RescaleSlope", "RescaleIntercept",
    "RescaleType", "WindowCenter", "WindowWidth", "BodyPartExamined", "FrameTime",
    "SequenceOfUltrasoundRegions[0].PhysicalDeltaX", "SequenceOfUltrasoundRegions[0].PhysicalDeltaY",
    "SequenceOfUltrasoundRegions[0].PhysicalUnitsXDirection", NULL};

static const char *phi_keys[] = {"PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge",
                                 "OtherPatientIDs", "PatientAddress", "StudyDate", "StudyTime", "AccessionNumber",
                                 "InstitutionName", "ReferringPhysicianName", "StudyDescription", "SeriesDescription",
                                 NULL};

static void print_dicom_attrs(const dolor_dicom *d, int all, int show_phi)
{
    char buf[512];
    const char *ts = dolor_dicom_transfer_syntax(d);
    printf("  TransferSyntax             %s (%s)\n", dolor_dicom_ts_name(ts), ts);
    for (int i = 0; main_keys[i]; i++)
        if (dolor_dicom_get_string(d, main_keys[i], buf, sizeof buf) == DOLOR_OK)
            printf("  %-26s %s\n", main_keys[i], buf);
    if (show_phi) {
        for (int i = 0; phi_keys[i]; i++)
            if (dolor_dicom_get_string(d, phi_keys[i], buf, sizeof buf) == DOLOR_OK)
                printf("  %-26s %s\n", phi_keys[i], buf);
    } else {
        printf("  (patient-identifying attributes hidden; --show-phi prints them)\n");
    }
    if (all) {
        printf("  all attributes:\n");
        for (int i = 0; i < dolor_dicom_count(d); i++) {
            uint32_t tag;
            char vr[3], key[16];
            dolor_dicom_attr(d, i, &tag, vr);
            snprintf(key, sizeof key, "(%04X,%04X)", (unsigned)(tag >> 16), (unsigned)(tag & 0xFFFF));
            const char *kw = dolor_dicom_keyword_of(tag);
            if (!show_phi && dolor_dicom_tag_is_phi(tag, vr)) {
                printf("    %s %-2s %-32s <hidden>\n", key, vr, kw ? kw : (tag >> 16) & 1 ? "(private)" : "");
                continue;
            }
            dolor_dicom_get_string(d, key, buf, sizeof buf);
            printf("    %s %-2s %-32s %s\n", key, vr, kw ? kw : (tag >> 16) & 1 ? "(private)" : "", buf);
        }
    }
}

/* first DICOM file with pixel data in a folder (sorted by name), for its attributes */
static dolor_dicom *first_dicom(const char *dir)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, alphasort);
    dolor_dicom *found = NULL;
    for (int i = 0; i < n; i++) {
        if (!found && list[i]->d_name[0] != '.') {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
            dolor_dicom *d = NULL;
            if (!dolor_cli_is_dir(path) && dolor_dicom_open(path, &d) == DOLOR_OK) {
                if (dolor_dicom_has(d, "(7FE0,0010)"))
                    found = d;
                else
                    dolor_dicom_free(d);
            }
        }
        free(list[i]);
    }
    free(list);
    return found;
}

static int looks_dicom(const char *path)
{
    size_t n = strlen(path);
    if (n >= 4 && strcasecmp(path + n - 4, ".dcm") == 0)
        return 1;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    unsigned char b[132];
    size_t got = fread(b, 1, sizeof b, fp);
    fclose(fp);
    if (got == 132 && memcmp(b + 128, "DICM", 4) == 0)
        return 1;
    /* no preamble: a first element in group 0002 or 0008 (as dolor_dicom_open accepts) */
    return got >= 8 && ((b[0] == 2 && b[1] == 0) || (b[0] == 8 && b[1] == 0) || (b[0] == 0 && b[1] == 8)) &&
           !(n >= 4 && (strcasecmp(path + n - 4, ".png") == 0 || strcasecmp(path + n - 4, ".nii") == 0));
}

static int info_one(const char *path, int all, int show_phi)
{
    printf("%s\n", path);
    dolor_status s;
    if (dolor_cli_is_dir(path)) {
        dolor_image *img = NULL;
        s = dolor_dicom_read_series(path, &img);
        if (s)
            return dolor_cli_fail("info", s);
        printf("  format      DICOM series\n");
        print_geometry(img, 1);
        dolor_image_free(img);
        dolor_dicom *d = first_dicom(path);
        if (d) {
            printf("  attributes of the first file:\n");
            print_dicom_attrs(d, all, show_phi);
            dolor_dicom_free(d);
        }
        return DOLOR_EXIT_OK;
    }
    if (looks_dicom(path)) {
        dolor_dicom *d = NULL;
        s = dolor_dicom_open(path, &d);
        if (s)
            return dolor_cli_fail("info", s);
        printf("  format      DICOM\n");
        dolor_image *img = NULL;
        char err[1024] = "";
        s = dolor_dicom_read_image(d, &img);
        if (s == DOLOR_OK) {
            print_geometry(img, 1);
            dolor_image_free(img);
        } else {
            snprintf(err, sizeof err, "%s", dolor_errmsg());
            printf("  pixels      %s: %s\n", s == DOLOR_ENOTFOUND ? "none" : "not decoded", err);
        }
        print_dicom_attrs(d, all, show_phi);
        dolor_dicom_free(d);
        /* a file without pixel data (report, structure set, DICOMDIR) is fine; undecodable pixels are not */
        if (s == DOLOR_OK || s == DOLOR_ENOTFOUND)
            return DOLOR_EXIT_OK;
        return dolor_cli_fail("info", dolor_error(s, "%s", err));
    }
    dolor_image *img = NULL;
    s = dolor_image_read(path, &img);
    if (s)
        return dolor_cli_fail("info", s);
    static const char *fmts[][2] = {{".nii.gz", "NIfTI"}, {".nii", "NIfTI"}, {".hdr", "NIfTI"}, {".mha", "MetaImage"},
                                    {".mhd", "MetaImage"}, {".png", "PNG"}, {".jpg", "JPEG"}, {".jpeg", "JPEG"}};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
        size_t m = strlen(fmts[i][0]);
        if (n >= m && strcasecmp(path + n - m, fmts[i][0]) == 0) {
            printf("  format      %s\n", fmts[i][1]);
            break;
        }
    }
    print_geometry(img, 0);
    dolor_image_free(img);
    return DOLOR_EXIT_OK;
}

int dolor_cmd_info(int argc, char **argv)
{
    info_opts o = {0};
    char **pos = NULL;
    int npos = 0;
    int rc = dolor_cmd_front(&info_cmd, argc, argv, dolor_opt_bind, &o, &pos, &npos, NULL);
    if (rc >= 0)
        return rc;
    if (npos == 0) {
        free(pos);
        return dolor_cli_usage_error("info", "no input file or folder");
    }
    rc = DOLOR_EXIT_OK;
    for (int i = 0; i < npos; i++) {
        int r = info_one(pos[i], o.all, o.show_phi);
        if (r > rc)
            rc = r;
    }
    free(pos);
    return rc;
}
