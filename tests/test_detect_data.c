/* Detection datasets: YOLO label files (boxes, polygons, pose) with their errors, writing and reading
 * back, folders, COCO JSON, label maps to instances and contours, polygon filling. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dolor/detect.h"
#include "dolor/io.h"

static char tmpdir[256];

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
    return path;
}

static dolor_det_yolo_config cfg(dolor_det_yolo_kind kind, int ncls, int nkpt, int kdim)
{
    dolor_det_yolo_config c = {kind, ncls, nkpt, kdim};
    return c;
}

static void test_polygon_fill(void)
{
    uint8_t m[100] = {0};
    /* square (2, 3)-(6, 7): pixels with centres inside: x 2..5, y 3..6 -> 16 */
    double sq[8] = {2, 3, 6, 3, 6, 7, 2, 7};
    dolor_det_polygon_fill(sq, 4, 10, 10, m);
    int n = 0, ok = 1;
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 10; x++) {
            n += m[y * 10 + x];
            ok &= m[y * 10 + x] == (x >= 2 && x <= 5 && y >= 3 && y <= 6);
        }
    CHECK(n == 16 && ok);
    /* right triangle (0,0), (10,0), (0,10): pixel centre inside when x + y + 1 < 10 -> 45 pixels */
    memset(m, 0, sizeof m);
    double tri[6] = {0, 0, 10, 0, 0, 10};
    dolor_det_polygon_fill(tri, 3, 10, 10, m);
    n = 0;
    for (int i = 0; i < 100; i++)
        n += m[i];
    CHECKF(n == 45, "triangle fills %d pixels, expected 45", n);
}

static void test_yolo_read(void)
{
    dolor_det_list l;
    dolor_det_list_init(&l, 0, 0, 0);
    dolor_det_yolo_config c = cfg(DOLOR_DET_YOLO_DETECT, 3, 0, 0);
    const char *p = write_file("a.txt", "0 0.5 0.5 0.25 0.5\n\n2 0.1 0.2 0.2 0.2\n");
    CHECK_OK(dolor_det_yolo_read(p, &c, 200, 100, &l));
    CHECK(l.n == 2);
    if (l.n == 2) {
        CHECK(l.obj[0].cls == 0 && l.obj[1].cls == 2);
        CHECK_NEAR(l.obj[0].box[0], 75, 1e-12);
        CHECK_NEAR(l.obj[0].box[1], 25, 1e-12);
        CHECK_NEAR(l.obj[0].box[2], 125, 1e-12);
        CHECK_NEAR(l.obj[0].box[3], 75, 1e-12);
        CHECK_NEAR(l.obj[1].box[0], 0, 1e-12);
        CHECK_NEAR(l.obj[1].box[3], 30, 1e-12);
        CHECK(l.obj[0].mask == NULL);
    }
    /* errors: file and line (and value) */
    p = write_file("b.txt", "0 0.5 0.5 0.2 0.2\n3 0.5 0.5 0.2 0.2\n");
    CHECK_ERR(dolor_det_yolo_read(p, &c, 10, 10, &l), DOLOR_EFORMAT, "b.txt:2: class 3 outside 0..2");
    p = write_file("c.txt", "1 0.5 1.25 0.2 0.2\n");
    CHECK_ERR(dolor_det_yolo_read(p, &c, 10, 10, &l), DOLOR_EFORMAT, "c.txt:1: value 3 = 1.25 outside 0..1");
    p = write_file("d.txt", "1 0.5 0.5 0.2\n");
    CHECK_ERR(dolor_det_yolo_read(p, &c, 10, 10, &l), DOLOR_EFORMAT, "d.txt:1: 4 values, a box line has 5");
    p = write_file("e.txt", "1 0.5 abc 0.2 0.2\n");
    CHECK_ERR(dolor_det_yolo_read(p, &c, 10, 10, &l), DOLOR_EFORMAT, "e.txt:1: value 3 'abc' is not a number");
    p = write_file("f.txt", "1.5 0.5 0.5 0.2 0.2\n");
    CHECK_ERR(dolor_det_yolo_read(p, &c, 10, 10, &l), DOLOR_EFORMAT, "f.txt:1: class 1.5");
    p = write_file("g.txt", "-1 0.5 0.5 0.2 0.2\n");
    CHECK_ERR(dolor_det_yolo_read(p, &c, 10, 10, &l), DOLOR_EFORMAT, "class -1 outside");
    CHECK_ERR(dolor_det_yolo_read("/nonexistent/x.txt", &c, 10, 10, &l), DOLOR_EIO, "/nonexistent/x.txt");
    CHECK(l.n == 0);

    /* polygons: a square as a polygon and a box line in a segment file */
    dolor_det_yolo_config cs = cfg(DOLOR_DET_YOLO_SEGMENT, 2, 0, 0);
    p = write_file("s.txt", "1 0.2 0.3 0.6 0.3 0.6 0.7 0.2 0.7\n0 0.5 0.5 0.2 0.2\n");
    CHECK_OK(dolor_det_yolo_read(p, &cs, 10, 10, &l));
    CHECK(l.n == 2 && l.h == 10 && l.w == 10);
    if (l.n == 2) {
        CHECK_NEAR(l.obj[0].box[0], 2, 1e-12);
        CHECK_NEAR(l.obj[0].box[3], 7, 1e-12);
        int n0 = 0, n1 = 0;
        for (int i = 0; i < 100; i++) {
            n0 += l.obj[0].mask[i];
            n1 += l.obj[1].mask[i];
        }
        CHECK(n0 == 16); /* x 2..5, y 3..6 */
        CHECK(n1 == 4);  /* box 4..6 x 4..6: 2x2 pixels */
    }
    p = write_file("s2.txt", "1 0.2 0.3 0.6 0.3 0.6 0.7 0.2\n");
    CHECK_ERR(dolor_det_yolo_read(p, &cs, 10, 10, &l), DOLOR_EFORMAT, "s2.txt:1: 7 polygon coordinates, an odd count");
    p = write_file("s3.txt", "1 0.2 0.3\n"); /* (2 vertices would be 5 values: a box line) */
    CHECK_ERR(dolor_det_yolo_read(p, &cs, 10, 10, &l), DOLOR_EFORMAT, "s3.txt:1: a polygon of 1 vertices");

    /* pose: 2 keypoints with visibility */
    dolor_det_yolo_config cp = cfg(DOLOR_DET_YOLO_POSE, 1, 2, 3);
    p = write_file("p.txt", "0 0.5 0.5 0.5 0.5 0.4 0.6 2 0 0 0\n");
    CHECK_OK(dolor_det_yolo_read(p, &cp, 100, 50, &l));
    CHECK(l.n == 1 && l.nkpt == 2);
    if (l.n == 1) {
        CHECK_NEAR(l.obj[0].kpt[0], 40, 1e-12);
        CHECK_NEAR(l.obj[0].kpt[1], 30, 1e-12);
        CHECK(l.obj[0].kpt[2] == 2 && l.obj[0].kpt[5] == 0);
    }
    p = write_file("p2.txt", "0 0.5 0.5 0.5 0.5 0.4 0.6 2 0 0 0\n0 0.5 0.5 0.5 0.5 0.4 0.6 2\n");
    CHECK_ERR(dolor_det_yolo_read(p, &cp, 100, 50, &l), DOLOR_EFORMAT,
              "p2.txt:2: 8 values, a pose line with 2 keypoints of 3 values has 11");
    p = write_file("p3.txt", "0 0.5 0.5 0.5 0.5 0.4 0.6 5 0 0 0\n");
    CHECK_ERR(dolor_det_yolo_read(p, &cp, 100, 50, &l), DOLOR_EFORMAT, "keypoint 1 visibility 5");
    dolor_det_yolo_config cp2 = cfg(DOLOR_DET_YOLO_POSE, 1, 2, 2);
    p = write_file("p4.txt", "0 0.5 0.5 0.5 0.5 0.4 0.6 0.1 0.1\n");
    CHECK_OK(dolor_det_yolo_read(p, &cp2, 100, 50, &l));
    CHECK(l.n == 1 && l.obj[0].kpt[2] == 2 && l.obj[0].kpt[5] == 2);
    dolor_det_yolo_config bad = cfg(DOLOR_DET_YOLO_POSE, 1, 0, 3);
    CHECK_ERR(dolor_det_yolo_read(p, &bad, 100, 50, &l), DOLOR_EINVAL, "nkpt >= 1");
    dolor_det_list_free(&l);
}

static void test_yolo_write_folder(void)
{
    dolor_det_list l;
    dolor_det_list_init(&l, 0, 0, 2);
    double b[4] = {10, 20, 30, 60}, k[6] = {15, 25, 2, 0, 0, 0};
    CHECK_OK(dolor_det_list_add(&l, 1, 1, b, NULL, k));
    dolor_det_yolo_config cp = cfg(DOLOR_DET_YOLO_POSE, 2, 2, 3);
    char path[512];
    snprintf(path, sizeof path, "%s/w.txt", tmpdir);
    CHECK_OK(dolor_det_yolo_write(path, &l, &cp, 100, 100, NULL, NULL));
    FILE *fp = fopen(path, "r");
    char line[256] = "";
    if (fp) {
        if (!fgets(line, sizeof line, fp))
            line[0] = 0;
        fclose(fp);
    }
    CHECKF(!strcmp(line, "1 0.200000 0.400000 0.200000 0.400000 0.150000 0.250000 2 0.000000 0.000000 0\n"), "wrote '%s'",
           line);
    dolor_det_list r;
    dolor_det_list_init(&r, 0, 0, 0);
    CHECK_OK(dolor_det_yolo_read(path, &cp, 100, 100, &r));
    CHECK(r.n == 1 && fabs(r.obj[0].box[2] - 30) < 1e-9 && fabs(r.obj[0].kpt[0] - 15) < 1e-9 && r.obj[0].kpt[5] == 0);
    dolor_det_list_free(&r);
    dolor_det_yolo_config bad = cfg(DOLOR_DET_YOLO_DETECT, 1, 0, 0);
    CHECK_ERR(dolor_det_yolo_write(path, &l, &bad, 100, 100, NULL, NULL), DOLOR_EINVAL, "class 1 outside 0..0");
    dolor_det_list_free(&l);

    /* folder: img1.png has labels, img2.jpg has none (background) */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/labels", tmpdir);
    CHECK_OK(dolor_mkdir_p(dir));
    write_file("labels/img1.txt", "0 0.5 0.5 0.5 0.5\n1 0.25 0.25 0.1 0.1\n");
    const char *names[2] = {"images/img1.png", "img2.jpg"};
    int w[2] = {64, 32}, h[2] = {64, 32};
    dolor_det_yolo_config cd = cfg(DOLOR_DET_YOLO_DETECT, 2, 0, 0);
    dolor_det_dataset ds;
    CHECK_OK(dolor_det_yolo_read_folder(dir, names, w, h, 2, &cd, &ds));
    CHECK(ds.nimg == 2 && ds.lists[0].n == 2 && ds.lists[1].n == 0 && !strcmp(ds.names[1], "img2.jpg"));
    dolor_det_dataset_free(&ds);
    CHECK_ERR(dolor_det_yolo_read_folder(dir, names, w, h, 0, &cd, &ds), DOLOR_EINVAL, "the image list is empty");
    write_file("labels/img2.txt", "0 0.5 0.5 0.5 0.5\n5 0.25 0.25 0.1 0.1\n");
    CHECK_ERR(dolor_det_yolo_read_folder(dir, names, w, h, 2, &cd, &ds), DOLOR_EFORMAT, "img2.txt:2: class 5 outside 0..1");
}

static void test_coco(void)
{
    const char *json =
        "{\"images\": [{\"id\": 7, \"file_name\": \"a.png\", \"width\": 10, \"height\": 8},"
        "              {\"id\": 3, \"file_name\": \"b.png\", \"width\": 4, \"height\": 2}],"
        " \"categories\": [{\"id\": 5, \"name\": \"disc\"}, {\"id\": 2, \"name\": \"vertebra\"}],"
        " \"annotations\": ["
        "  {\"id\": 1, \"image_id\": 7, \"category_id\": 5, \"bbox\": [1, 2, 4, 3], \"area\": 12, \"iscrowd\": 0,"
        "   \"segmentation\": [[1, 2, 5, 2, 5, 5, 1, 5]], \"keypoints\": [2, 3, 2, 0, 0, 0]},"
        "  {\"id\": 2, \"image_id\": 3, \"category_id\": 2, \"bbox\": [0, 0, 2, 2],"
        "   \"segmentation\": {\"size\": [2, 4], \"counts\": [2, 3, 3]}, \"keypoints\": [1, 1, 1, 2, 2, 2]}]}";
    const char *p = write_file("coco.json", json);
    dolor_det_dataset ds;
    int *ids = NULL;
    CHECK_OK(dolor_det_coco_read(p, 2, &ds, &ids));
    CHECK(ds.nimg == 2 && ds.ncls == 2 && ids && ids[0] == 2 && ids[1] == 5);
    if (ds.nimg == 2 && ds.lists[0].n == 1 && ds.lists[1].n == 1) {
        const dolor_det_object *a = &ds.lists[0].obj[0], *b = &ds.lists[1].obj[0];
        CHECK(!strcmp(ds.names[0], "a.png") && ds.lists[0].w == 10 && ds.lists[0].h == 8);
        CHECK(a->cls == 1 && b->cls == 0); /* category 5 -> class 1, 2 -> 0 */
        CHECK(a->box[0] == 1 && a->box[1] == 2 && a->box[2] == 5 && a->box[3] == 5 && a->area == 12);
        int n = 0;
        for (int i = 0; i < 80; i++)
            n += a->mask[i];
        CHECK(n == 12); /* x 1..4, y 2..4 */
        CHECK(a->kpt[0] == 2 && a->kpt[2] == 2 && a->kpt[5] == 0);
        /* RLE column-major on 2 x 4: 2 zeros (column 0), 3 ones (column 1 rows 0-1, column 2 row 0), 3 zeros */
        uint8_t want[8] = {0, 1, 1, 0, 0, 1, 0, 0};
        CHECK(memcmp(b->mask, want, 8) == 0);
    } else {
        CHECKF(0, "COCO read gave %zu images", ds.nimg);
    }
    dolor_det_dataset_free(&ds);
    free(ids);
    CHECK_ERR(dolor_det_coco_read(p, 3, &ds, NULL), DOLOR_EFORMAT,
              "annotations[0].keypoints: 6 values, expected 3 keypoints x 3 = 9");
    p = write_file("c2.json", "{\"images\": [], \"categories\": [{\"id\": 1}]}");
    CHECK_ERR(dolor_det_coco_read(p, 0, &ds, NULL), DOLOR_EINVAL, "the image list is empty");
    p = write_file("c3.json", "{\"images\": [{\"id\": 1, \"file_name\": \"x\", \"width\": 4, \"height\": 4}], "
                              "\"categories\": [{\"id\": 1}], \"annotations\": [{\"image_id\": 2, \"category_id\": 1, "
                              "\"bbox\": [0, 0, 1, 1]}]}");
    CHECK_ERR(dolor_det_coco_read(p, 0, &ds, NULL), DOLOR_EFORMAT, "annotations[0].image_id 2 is not in \"images\"");
    p = write_file("c4.json", "{\"images\": [{\"id\": 1, \"file_name\": \"x\", \"width\": 4, \"height\": 4}], "
                              "\"categories\": [{\"id\": 1}], \"annotations\": [{\"image_id\": 1, \"category_id\": 1, "
                              "\"bbox\": [0, 0, 1, 1], \"segmentation\": [[0, 0, 1, 0, 1]]}]}");
    CHECK_ERR(dolor_det_coco_read(p, 0, &ds, NULL), DOLOR_EFORMAT, "segmentation[0]: 5 coordinates");
    p = write_file("c5.json", "{\"images\": [{\"id\": 1, \"file_name\": \"x\", \"width\": 4, \"height\": 4}], "
                              "\"categories\": [{\"id\": 1}], \"annotations\": [{\"image_id\": 1, \"category_id\": 1, "
                              "\"bbox\": [0, 0, 1, 1], \"segmentation\": {\"size\": [4, 4], \"counts\": \"abc\"}}]}");
    CHECK_ERR(dolor_det_coco_read(p, 0, &ds, NULL), DOLOR_EFORMAT, "not a valid compressed RLE string");
    p = write_file("c5b.json", "{\"images\": [{\"id\": 1, \"file_name\": \"x\", \"width\": 4, \"height\": 4}], "
                               "\"categories\": [{\"id\": 1}], \"annotations\": [{\"image_id\": 1, \"category_id\": 1, "
                               "\"bbox\": [0, 0, 1, 1], \"iscrowd\": 1}]}");
    CHECK_ERR(dolor_det_coco_read(p, 0, &ds, NULL), DOLOR_EUNSUPPORTED, "annotations[0].iscrowd = 1");
    p = write_file("c6.json", "{\"images\": [{\"id\": 1, \"width\": 4, \"height\": 4}], \"categories\": [{\"id\": 1}]}");
    CHECK_ERR(dolor_det_coco_read(p, 0, &ds, NULL), DOLOR_EFORMAT, "images[0].file_name: missing");
    p = write_file("c7.json", "{\"images\": [");
    CHECK_ERR(dolor_det_coco_read(p, 0, &ds, NULL), DOLOR_EFORMAT, "not JSON");
}

static void test_labelmap(void)
{
    /* 8 x 6 map: class 1 a 3x3 square at x 1..3, y 1..3 plus a pixel (4, 4) touching it diagonally (one
     * component with 8-connectivity); class 2: two separate pixels (6, 0) and (6, 5); class 1 pixel (7, 5)
     * too small with min_pixels 2 */
    int32_t m[48] = {0};
    for (int y = 1; y <= 3; y++)
        for (int x = 1; x <= 3; x++)
            m[y * 8 + x] = 1;
    m[4 * 8 + 4] = 1;
    m[0 * 8 + 6] = 2;
    m[5 * 8 + 6] = 2;
    m[5 * 8 + 7] = 1;
    dolor_det_list l;
    dolor_det_list_init(&l, 0, 0, 0);
    double **polys = NULL;
    int *npts = NULL;
    CHECK_OK(dolor_det_from_labelmap(m, 6, 8, 2, 1, DOLOR_DET_CONTOUR_CENTRES, &l, &polys, &npts));
    CHECK(l.n == 4); /* raster order of first pixels: (6,0) class 2, (1,1) class 1, (6,5) class 2, (7,5) class 1 */
    if (l.n == 4) {
        CHECK(l.obj[0].cls == 1 && l.obj[1].cls == 0 && l.obj[2].cls == 1 && l.obj[3].cls == 0);
        CHECK(l.obj[1].box[0] == 1 && l.obj[1].box[1] == 1 && l.obj[1].box[2] == 5 && l.obj[1].box[3] == 5);
        int n = 0;
        for (int i = 0; i < 48; i++)
            n += l.obj[1].mask[i];
        CHECK(n == 10);
        CHECK(npts[0] == 1 && polys[0][0] == 6.5 && polys[0][1] == 0.5);
        /* contour of the square + diagonal pixel, clockwise from (1,1): (1,1) (2,1) (3,1) (3,2) (3,3) (4,4) (3,3)
         * (2,3) (1,3) (1,2): the spur pixel is visited out and back */
        double want[20] = {1, 1, 2, 1, 3, 1, 3, 2, 3, 3, 4, 4, 3, 3, 2, 3, 1, 3, 1, 2};
        int ok = npts[1] == 10;
        for (int i = 0; ok && i < 20; i++)
            ok = polys[1][i] == want[i] + 0.5;
        CHECKF(ok, "contour has %d vertices", npts[1]);
    }
    dolor_det_polys_free(polys, npts, l.n);
    /* the start re-entered from the south-east with a south backtrack (not its initial west one), then moving
     * on as the first time: the walk must stop there (Jacob's rule alone loops): pixels A (1,0), B (2,1),
     * C (3,1), D (2,2), E (3,2); contour A B C E D B */
    int32_t m2[20] = {0};
    m2[0 * 5 + 1] = m2[1 * 5 + 2] = m2[1 * 5 + 3] = m2[2 * 5 + 2] = m2[2 * 5 + 3] = 1;
    CHECK_OK(dolor_det_from_labelmap(m2, 4, 5, 1, 1, DOLOR_DET_CONTOUR_CENTRES, &l, &polys, &npts));
    CHECK(l.n == 1);
    if (l.n == 1) {
        double want2[12] = {1, 0, 2, 1, 3, 1, 3, 2, 2, 2, 2, 1};
        int ok = npts[0] == 6;
        for (int i = 0; ok && i < 12; i++)
            ok = polys[0][i] == want2[i] + 0.5;
        CHECKF(ok, "re-entered start: contour of %d vertices, expected 6", npts[0]);
    }
    dolor_det_polys_free(polys, npts, l.n);
    /* the same two shapes as pixel edges: corners where the boundary turns, through the shared corner of a
     * diagonal connection; filled back at pixel centres they give the pixels exactly */
    CHECK_OK(dolor_det_from_labelmap(m2, 4, 5, 1, 1, DOLOR_DET_CONTOUR_EDGES, &l, &polys, &npts));
    if (l.n == 1) {
        double want3[16] = {1, 0, 2, 0, 2, 1, 4, 1, 4, 3, 2, 3, 2, 1, 1, 1};
        int ok = npts[0] == 8;
        for (int i = 0; ok && i < 16; i++)
            ok = polys[0][i] == want3[i];
        CHECKF(ok, "pixel-edge contour of %d vertices, expected 8", npts[0]);
        uint8_t f[20] = {0};
        dolor_det_polygon_fill(polys[0], npts[0], 4, 5, f);
        CHECK(memcmp(f, l.obj[0].mask, 20) == 0);
    }
    dolor_det_polys_free(polys, npts, l.n);
    CHECK_OK(dolor_det_from_labelmap(m, 6, 8, 2, 1, DOLOR_DET_CONTOUR_EDGES, &l, &polys, &npts));
    if (l.n == 4) {
        double want4[16] = {1, 1, 4, 1, 4, 4, 5, 4, 5, 5, 4, 5, 4, 4, 1, 4};
        int ok = npts[1] == 8;
        for (int i = 0; ok && i < 16; i++)
            ok = polys[1][i] == want4[i];
        CHECKF(ok, "square + diagonal pixel: pixel-edge contour of %d vertices, expected 8", npts[1]);
        CHECK(npts[0] == 4 && polys[0][0] == 6 && polys[0][1] == 0 && polys[0][4] == 7 && polys[0][5] == 1);
        int exact = 1;
        for (size_t i = 0; i < l.n; i++) {
            uint8_t f[48] = {0};
            dolor_det_polygon_fill(polys[i], npts[i], 6, 8, f);
            exact &= memcmp(f, l.obj[i].mask, 48) == 0;
        }
        CHECK(exact);
    }
    dolor_det_polys_free(polys, npts, l.n);
    CHECK_ERR(dolor_det_from_labelmap(m, 6, 8, 2, 1, (dolor_det_contour)7, &l, &polys, &npts), DOLOR_EINVAL,
              "unknown contour kind 7");
    CHECK_OK(dolor_det_from_labelmap(m, 6, 8, 2, 2, DOLOR_DET_CONTOUR_EDGES, &l, NULL, NULL));
    CHECK(l.n == 1 && l.obj[0].cls == 0);
    m[3] = 3;
    CHECK_ERR(dolor_det_from_labelmap(m, 6, 8, 2, 1, DOLOR_DET_CONTOUR_EDGES, &l, NULL, NULL), DOLOR_EINVAL,
              "pixel (x 3, y 0): label 3 outside 0..2");
    m[3] = 0;
    /* write the instances as YOLO polygons and read them back: boxes through the contour vertices */
    CHECK_OK(dolor_det_from_labelmap(m, 6, 8, 2, 1, DOLOR_DET_CONTOUR_CENTRES, &l, &polys, &npts));
    char path[512];
    snprintf(path, sizeof path, "%s/lm.txt", tmpdir);
    dolor_det_yolo_config cs = cfg(DOLOR_DET_YOLO_SEGMENT, 2, 0, 0);
    CHECK_OK(dolor_det_yolo_write(path, &l, &cs, 8, 6, (const double *const *)polys, npts));
    dolor_det_list r;
    dolor_det_list_init(&r, 0, 0, 0);
    CHECK_OK(dolor_det_yolo_read(path, &cs, 8, 6, &r));
    CHECK(r.n == 4);
    if (r.n == 4) {
        CHECK_NEAR(r.obj[1].box[0], 1.5, 1e-6); /* contour through pixel centres */
        CHECK_NEAR(r.obj[1].box[2], 4.5, 1e-6);
        CHECK_NEAR(r.obj[0].box[2], 7, 1e-6); /* a single pixel: written as its box */
    }
    dolor_det_list_free(&r);
    dolor_det_polys_free(polys, npts, l.n);
    /* pixel edges written and read back: boxes and masks equal the components' */
    CHECK_OK(dolor_det_from_labelmap(m, 6, 8, 2, 1, DOLOR_DET_CONTOUR_EDGES, &l, &polys, &npts));
    CHECK_OK(dolor_det_yolo_write(path, &l, &cs, 8, 6, (const double *const *)polys, npts));
    CHECK_OK(dolor_det_yolo_read(path, &cs, 8, 6, &r));
    int same = r.n == l.n;
    for (size_t i = 0; same && i < r.n; i++) {
        same = memcmp(r.obj[i].mask, l.obj[i].mask, 48) == 0 && r.obj[i].cls == l.obj[i].cls;
        for (int j = 0; j < 4; j++)
            same = same && fabs(r.obj[i].box[j] - l.obj[i].box[j]) < 1e-5;
    }
    CHECKF(same, "pixel-edge polygons through a YOLO file do not give the components back");
    dolor_det_list_free(&r);
    dolor_det_polys_free(polys, npts, l.n);
    dolor_det_list_free(&l);
}

/* a 3D NIfTI label map (int16, 6 x 5 x 2) written and read back: instances of slice 1 */
static void test_label_image(void)
{
    int64_t size[3] = {6, 5, 2};
    dolor_image *img = NULL;
    CHECK_OK(dolor_image_create(&img, DOLOR_I16, 1, 3, size));
    if (!img)
        return;
    /* slice 0: one pixel of class 1; slice 1: a 2x2 block of class 2 at x 1..2, y 2..3 and a pixel of class 1 */
    dolor_image_set(img, 0 * 30 + 1 * 6 + 1, 1);
    for (int y = 2; y <= 3; y++)
        for (int x = 1; x <= 2; x++)
            dolor_image_set(img, 30 + (size_t)y * 6 + x, 2);
    dolor_image_set(img, 30 + 0 * 6 + 5, 1);
    char path[512];
    snprintf(path, sizeof path, "%s/labels.nii.gz", tmpdir);
    CHECK_OK(dolor_nifti_write(path, img));
    dolor_image *rd = NULL;
    CHECK_OK(dolor_image_read(path, &rd));
    dolor_det_list l;
    dolor_det_list_init(&l, 0, 0, 0);
    double **polys = NULL;
    int *npts = NULL;
    if (rd) {
        CHECK_OK(dolor_det_from_label_image(rd, "labels.nii.gz", 1, 2, 1, DOLOR_DET_CONTOUR_EDGES, &l, &polys, &npts));
        CHECK(l.n == 2 && l.w == 6 && l.h == 5);
        if (l.n == 2) {
            CHECK(l.obj[0].cls == 0 && l.obj[0].box[0] == 5 && l.obj[0].box[1] == 0);
            CHECK(l.obj[1].cls == 1 && l.obj[1].box[0] == 1 && l.obj[1].box[1] == 2 && l.obj[1].box[2] == 3 &&
                  l.obj[1].box[3] == 4);
            CHECK(npts[1] == 4);
        }
        dolor_det_polys_free(polys, npts, l.n);
        CHECK_ERR(dolor_det_from_label_image(rd, "labels.nii.gz", 2, 2, 1, DOLOR_DET_CONTOUR_EDGES, &l, NULL, NULL),
                  DOLOR_EINVAL, "labels.nii.gz: slice 2 outside 0..1");
        CHECK_ERR(dolor_det_from_label_image(rd, "labels.nii.gz", 1, 1, 1, DOLOR_DET_CONTOUR_EDGES, &l, NULL, NULL),
                  DOLOR_EINVAL, "labels.nii.gz: voxel (x 1, y 2, z 1): label 2 is not an integer in 0..1");
    }
    dolor_det_list_free(&l);
    dolor_image_free(rd);
    /* pixel coordinates to mm: voxel centres at half-integers; spacing (0.5, 0.8, 3), origin (10, 20, 30) */
    img->spacing[0] = 0.5;
    img->spacing[1] = 0.8;
    img->spacing[2] = 3.0;
    img->origin[0] = 10;
    img->origin[1] = 20;
    img->origin[2] = 30;
    double xyz[3];
    dolor_det_pixel_to_mm(img, 0.5, 0.5, 0, xyz);
    CHECK(xyz[0] == 10 && xyz[1] == 20 && xyz[2] == 30);
    dolor_det_pixel_to_mm(img, 2.5, 1.5, 1, xyz);
    CHECK_NEAR(xyz[0], 11.0, 1e-12);
    CHECK_NEAR(xyz[1], 20.8, 1e-12);
    CHECK_NEAR(xyz[2], 33.0, 1e-12);
    dolor_image_free(img);
}

/* Real masks (../shared/data/spider-sagittal/masks: RGB PNGs, one colour per structure): each colour a class,
 * instances by connected components; each contour filled back at pixel centres covers its component closely
 * (a contour through pixel centres loses about half a pixel all round, so small thin parts lose most). */
static void test_spider_masks(void)
{
    const char *root = getenv("DOLOR_DATA");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/spider-sagittal/masks", root ? root : "../shared/data");
    const char *names[3] = {"10008_12.png", "10009_13.png", "10008_18.png"};
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, names[0]);
    if (!DOLOR_TEST_NEED_DATA(path))
        return;
    int total_counted = 0;
    for (int f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        dolor_image *img = NULL;
        if (dolor_png_read(path, &img) != DOLOR_OK) {
            CHECKF(0, "%s: %s", path, dolor_errmsg());
            continue;
        }
        int w = (int)img->size[0], h = (int)img->size[1], nc = img->ncomp;
        const uint8_t *px = img->data;
        int32_t *lab = calloc((size_t)w * h, sizeof *lab);
        uint32_t colours[64];
        int ncol = 0;
        for (size_t e = 0; e < (size_t)w * h; e++) {
            uint32_t c = 0;
            for (int k = 0; k < nc && k < 3; k++)
                c = c << 8 | px[e * (size_t)nc + k];
            if (!c)
                continue;
            int k = 0;
            while (k < ncol && colours[k] != c)
                k++;
            if (k == ncol && ncol < 64)
                colours[ncol++] = c;
            lab[e] = k + 1;
        }
        dolor_det_list l;
        dolor_det_list_init(&l, 0, 0, 0);
        double **polys = NULL;
        int *npts = NULL;
        CHECK_OK(dolor_det_from_labelmap(lab, h, w, ncol, 20, DOLOR_DET_CONTOUR_CENTRES, &l, &polys, &npts));
        CHECKF(l.n >= (size_t)ncol - 1, "%s: %zu instances of %d colours", names[f], l.n, ncol);
        uint8_t *fill = malloc((size_t)w * h);
        double worst = 1.0;
        int counted = 0;
        for (size_t i = 0; i < l.n; i++) {
            memset(fill, 0, (size_t)w * h);
            dolor_det_polygon_fill(polys[i], npts[i], h, w, fill);
            double iou = dolor_det_mask_iou(fill, l.obj[i].mask, (size_t)w * h);
            size_t area = 0;
            for (size_t e = 0; e < (size_t)w * h; e++)
                area += l.obj[i].mask[e];
            if (area >= 500) {
                counted++;
                worst = iou < worst ? iou : worst;
            }
        }
        fprintf(stderr, "%s: %dx%d, %d colours, %zu instances, worst contour-fill IoU %.3f (%d instances >= 500 px)\n",
                names[f], w, h, ncol, l.n, worst, counted);
        total_counted += counted;
        CHECKF(worst > 0.85, "%s: a contour filled back has IoU %.3f with its component", names[f], worst);
        dolor_det_polys_free(polys, npts, l.n);
        /* pixel edges: each contour filled back is its component (holes filled) */
        CHECK_OK(dolor_det_from_labelmap(lab, h, w, ncol, 20, DOLOR_DET_CONTOUR_EDGES, &l, &polys, &npts));
        double worst_e = 1.0;
        size_t missed = 0, extra = 0, holes = 0;
        for (size_t i = 0; i < l.n; i++) {
            memset(fill, 0, (size_t)w * h);
            dolor_det_polygon_fill(polys[i], npts[i], h, w, fill);
            double iou = dolor_det_mask_iou(fill, l.obj[i].mask, (size_t)w * h);
            worst_e = iou < worst_e ? iou : worst_e;
            for (size_t e = 0; e < (size_t)w * h; e++) {
                missed += l.obj[i].mask[e] && !fill[e];
                extra += fill[e] && !l.obj[i].mask[e];
            }
        }
        /* the extra pixels are the components' holes: background not reachable from the border (4-connected) */
        uint8_t *outside = calloc((size_t)w * h, 1);
        size_t *stk = malloc((size_t)w * h * sizeof *stk), top = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) && !lab[(size_t)y * w + x]) {
                    outside[(size_t)y * w + x] = 1;
                    stk[top++] = (size_t)y * w + x;
                }
        while (top) {
            size_t e = stk[--top];
            int x = (int)(e % (size_t)w), y = (int)(e / (size_t)w);
            const int ox[4] = {1, -1, 0, 0}, oy[4] = {0, 0, 1, -1};
            for (int k = 0; k < 4; k++) {
                int qx = x + ox[k], qy = y + oy[k];
                if (qx < 0 || qy < 0 || qx >= w || qy >= h)
                    continue;
                size_t q = (size_t)qy * w + qx;
                if (!lab[q] && !outside[q]) {
                    outside[q] = 1;
                    stk[top++] = q;
                }
            }
        }
        for (size_t e = 0; e < (size_t)w * h; e++)
            holes += !lab[e] && !outside[e];
        free(outside);
        free(stk);
        fprintf(stderr, "%s: pixel-edge contours: worst fill IoU %.4f over %zu instances, %zu pixels missed, %zu extra "
                "(background holes in the map: %zu)\n", names[f], worst_e, l.n, missed, extra, holes);
        CHECK(missed == 0);
        CHECK(extra <= holes);
        dolor_det_polys_free(polys, npts, l.n);
        dolor_det_list_free(&l);
        free(fill);
        free(lab);
        dolor_image_free(img);
    }
    CHECKF(total_counted >= 5, "only %d instances of >= 500 px in the three masks", total_counted);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dolor_test_detect_%d", (int)getpid());
    CHECK_OK(dolor_mkdir_p(tmpdir));
    test_polygon_fill();
    test_yolo_read();
    test_yolo_write_folder();
    test_coco();
    test_labelmap();
    test_label_image();
    test_spider_masks();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return dolor_test_finish();
}
