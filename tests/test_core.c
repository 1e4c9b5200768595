/* core: errors, outfile atomicity, RNG determinism, tensors, image geometry. */
#include "check.h"
#include "dolor/core.h"
#include "dolor/image.h"

#include <sys/wait.h>
#include <unistd.h>

static void test_errors(void)
{
    dolor_error_clear();
    CHECK(strcmp(dolor_errmsg(), "") == 0);
    dolor_status s = dolor_error(DOLOR_EFORMAT, "%s: field %s is %d", "a.png", "width", -3);
    CHECK(s == DOLOR_EFORMAT);
    CHECK(strcmp(dolor_errmsg(), "a.png: field width is -3") == 0);
    dolor_error_prefix(s, "loading %s", "case 7");
    CHECK(strcmp(dolor_errmsg(), "loading case 7: a.png: field width is -3") == 0);
    CHECK(strcmp(dolor_status_name(DOLOR_ESHAPE), "DOLOR_ESHAPE") == 0);
}

static void test_outfile(void)
{
    char dir[] = "/tmp/dolor_core_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/sub/out.nii.gz", dir);
    char sub[256];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    CHECK_OK(dolor_mkdir_p(sub));
    /* pre-existing content survives an aborted write */
    FILE *fp = fopen(path, "wb");
    fputs("old", fp);
    fclose(fp);
    dolor_outfile f;
    CHECK_OK(dolor_outfile_open(&f, path, 1));
    CHECK(strstr(f.tmp, ".nii.gz") != NULL && strcmp(f.tmp, path) != 0);
    fputs("new", f.fp);
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", f.tmp);
    dolor_outfile_abort(&f);
    CHECK(access(tmp, F_OK) != 0);
    char buf[8] = {0};
    fp = fopen(path, "rb");
    CHECK(fp && fread(buf, 1, 7, fp) == 3);
    fclose(fp);
    CHECK(strcmp(buf, "old") == 0);
    CHECK_OK(dolor_outfile_open(&f, path, 1));
    fputs("new", f.fp);
    CHECK_OK(dolor_outfile_commit(&f));
    fp = fopen(path, "rb");
    memset(buf, 0, sizeof buf);
    CHECK(fp && fread(buf, 1, 7, fp) == 3);
    fclose(fp);
    CHECK(strcmp(buf, "new") == 0);
    remove(path);
    rmdir(sub);
    rmdir(dir);
    CHECK_ERR(dolor_outfile_open(&f, "/nonexistent-dir/x.csv", 1), DOLOR_EIO, "/nonexistent-dir/x.csv");
}

/* Temporary files of a killed writer are removed; those of live processes and everything else stay. */
static void test_outfile_clean_stale(void)
{
    char dir[] = "/tmp/dolor_stale_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    pid_t dead = fork(); /* a pid that no longer runs */
    if (dead == 0)
        _exit(0);
    CHECK(dead > 0 && waitpid(dead, NULL, 0) == dead);
    char names[5][64], path[5][320];
    snprintf(names[0], sizeof names[0], ".last.tmp%ld_3.safetensors", (long)dead); /* stale: removed */
    snprintf(names[1], sizeof names[1], ".log.tmp%ld_0.csv", (long)getpid());       /* ours: kept */
    snprintf(names[2], sizeof names[2], "last.tmp%ld_3.safetensors", (long)dead);  /* not hidden: kept */
    snprintf(names[3], sizeof names[3], ".notes.tmp");                              /* no pid: kept */
    snprintf(names[4], sizeof names[4], ".scan.tmp%ld_12.nii.gz", (long)dead);      /* stale: removed */
    for (int i = 0; i < 5; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
        FILE *fp = fopen(path[i], "wb");
        CHECK(fp != NULL);
        if (fp)
            fclose(fp);
    }
    CHECK(dolor_outfile_clean_stale(dir) == 2);
    CHECK(access(path[0], F_OK) != 0 && access(path[4], F_OK) != 0);
    CHECK(access(path[1], F_OK) == 0 && access(path[2], F_OK) == 0 && access(path[3], F_OK) == 0);
    CHECK(dolor_outfile_clean_stale(dir) == 0);
    CHECK(dolor_outfile_clean_stale("/nonexistent-dir") == 0 && dolor_outfile_clean_stale(NULL) == 0);
    for (int i = 0; i < 5; i++)
        remove(path[i]);
    rmdir(dir);
}

static void test_rng(void)
{
    dolor_rng a, b;
    dolor_rng_seed(&a, 42);
    dolor_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= dolor_rng_u64(&a) == dolor_rng_u64(&b);
    CHECK(same);
    /* uniform mean and normal variance over 200k draws */
    double su = 0, sn = 0, sn2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        su += dolor_rng_uniform(&a);
        double z = dolor_rng_normal(&a);
        sn += z;
        sn2 += z * z;
    }
    CHECK_NEAR(su / n, 0.5, 0.005);
    CHECK_NEAR(sn / n, 0.0, 0.01);
    CHECK_NEAR(sn2 / n, 1.0, 0.02);
    int counts[5] = {0};
    for (int i = 0; i < 50000; i++)
        counts[dolor_rng_below(&a, 5)]++;
    for (int k = 0; k < 5; k++)
        CHECK_NEAR(counts[k] / 50000.0, 0.2, 0.01);
    int perm[10];
    for (int i = 0; i < 10; i++)
        perm[i] = i;
    dolor_rng_shuffle_int(&a, perm, 10);
    int seen = 0;
    for (int i = 0; i < 10; i++)
        seen |= 1 << perm[i];
    CHECK(seen == 1023);
}

static void test_tensor_image(void)
{
    dolor_tensor *t;
    CHECK_OK(dolor_tensor_create4(&t, 2, 3, 4, 5));
    CHECK(t->numel == 120 && t->shape[3] == 5 && ((uintptr_t)t->data & 63) == 0);
    dolor_tensor_free(t);
    int64_t bad[2] = {3, 0};
    CHECK_ERR(dolor_tensor_create(&t, 2, bad), DOLOR_EINVAL, "extent 1");

    dolor_image *img, *cv;
    int64_t sz[3] = {4, 3, 2};
    CHECK_OK(dolor_image_create(&img, DOLOR_I16, 1, 3, sz));
    CHECK(dolor_image_nvox(img) == 24);
    dolor_image_set(img, 5, -40000.0); /* clamps */
    CHECK(dolor_image_get(img, 5) == -32768.0);
    dolor_image_set(img, 6, 12.6);
    CHECK(dolor_image_get(img, 6) == 13.0);
    img->spacing[0] = 0.5;
    img->spacing[1] = 0.7;
    img->spacing[2] = 3.0;
    img->origin[0] = 10;
    img->origin[1] = -20;
    img->origin[2] = 5;
    /* axial-like rotation: x -> -y, y -> x */
    double dir[9] = {0, 1, 0, -1, 0, 0, 0, 0, 1};
    memcpy(img->direction, dir, sizeof dir);
    double ijk[3] = {2, 1, 1}, xyz[3], back[3];
    dolor_image_index_to_point(img, ijk, xyz);
    CHECK_NEAR(xyz[0], 10 + 0.7, 1e-12);
    CHECK_NEAR(xyz[1], -20 - 1.0, 1e-12);
    CHECK_NEAR(xyz[2], 8.0, 1e-12);
    dolor_image_point_to_index(img, xyz, back);
    for (int i = 0; i < 3; i++)
        CHECK_NEAR(back[i], ijk[i], 1e-9);
    CHECK_OK(dolor_image_convert(img, DOLOR_F32, &cv));
    CHECK(((float *)cv->data)[6] == 13.0f && cv->spacing[2] == 3.0 && cv->direction[1] == 1.0);
    dolor_image_free(cv);
    dolor_image_free(img);
    CHECK_ERR(dolor_image_create2d(&img, DOLOR_U8, 5, 2, 2), DOLOR_EINVAL, "components");
}

/* RFC 4180: quote a field holding a comma, quote, CR or LF, doubling inner quotes */
static void test_csv_write_field(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    CHECK(fp != NULL);
    const char *in[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\r", ""};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        CHECK(dolor_csv_write_field(fp, in[i]) != EOF);
        fputc('|', fp);
    }
    fclose(fp);
    CHECKF(strcmp(buf, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|\"cr\r\"||") == 0, "got [%s]", buf);
    free(buf);
}

int main(void)
{
    test_errors();
    test_outfile();
    test_outfile_clean_stale();
    test_rng();
    test_tensor_image();
    test_csv_write_field();
    return dolor_test_finish();
}
