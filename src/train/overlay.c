/* Readable overlays: prediction over the image, the ground-truth contour, and a legend (case ID, one
 * line per class in its colour) drawn with a small built-in 5x7 bitmap font (upper case, digits and
 * common punctuation; lower case is drawn as upper case). */
#include "dolor/io.h"
#include "dolor/train.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* One glyph: 7 rows of 5 columns, '#' on. Designed for this file. */
typedef struct {
    char ch;
    const char *rows[7];
} glyph;

static const glyph font[] = {
    {' ', {".....", ".....", ".....", ".....", ".....", ".....", "....."}},
    {'!', {"..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."}},
    {'#', {".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."}},
    {'%', {"##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"}},
    {'\'', {"..#..", "..#..", ".....", ".....", ".....", ".....", "....."}},
    {'(', {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."}},
    {')', {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."}},
    {'*', {".....", "..#..", "#.#.#", ".###.", "#.#.#", "..#..", "....."}},
    {'+', {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."}},
    {',', {".....", ".....", ".....", ".....", "..##.", "...#.", "..#.."}},
    {'-', {".....", ".....", ".....", "#####", ".....", ".....", "....."}},
    {'.', {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."}},
    {'/', {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."}},
    {'0', {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}},
    {'1', {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'2', {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}},
    {'3', {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}},
    {'4', {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}},
    {'5', {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}},
    {'6', {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}},
    {'7', {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}},
    {'8', {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}},
    {'9', {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}},
    {':', {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."}},
    {';', {".....", ".##..", ".##..", ".....", ".##..", "..#..", ".#..."}},
    {'<', {"...#.", "..#..", ".#...", "#....", ".#...", "..#..", "...#."}},
    {'=', {".....", ".....", "#####", ".....", "#####", ".....", "....."}},
    {'>', {".#...", "..#..", "...#.", "....#", "...#.", "..#..", ".#..."}},
    {'?', {".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."}},
    {'A', {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'B', {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}},
    {'C', {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}},
    {'D', {"###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."}},
    {'E', {"#####", "#....", "#....", "####.", "#....", "#....", "#####"}},
    {'F', {"#####", "#....", "#....", "####.", "#....", "#....", "#...."}},
    {'G', {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"}},
    {'H', {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'I', {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'J', {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."}},
    {'K', {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}},
    {'L', {"#....", "#....", "#....", "#....", "#....", "#....", "#####"}},
    {'M', {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"}},
    {'N', {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"}},
    {'O', {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'P', {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}},
    {'Q', {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"}},
    {'R', {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}},
    {'S', {".####", "#....", "#....", ".###.", "....#", "....#", "####."}},
    {'T', {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
    {'U', {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'V', {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
    {'W', {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."}},
    {'X', {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"}},
    {'Y', {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."}},
    {'Z', {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"}},
    {'[', {".###.", ".#...", ".#...", ".#...", ".#...", ".#...", ".###."}},
    {']', {".###.", "...#.", "...#.", "...#.", "...#.", "...#.", ".###."}},
    {'_', {".....", ".....", ".....", ".....", ".....", ".....", "#####"}},
};

static const glyph *find_glyph(char c)
{
    c = (char)toupper((unsigned char)c);
    for (size_t i = 0; i < sizeof font / sizeof *font; i++)
        if (font[i].ch == c)
            return &font[i];
    for (size_t i = 0; i < sizeof font / sizeof *font; i++)
        if (font[i].ch == '?')
            return &font[i];
    return NULL;
}

static void put(dolor_image *rgb, int x, int y, const uint8_t c[3])
{
    int w = (int)rgb->size[0], h = (int)rgb->size[1];
    if (x < 0 || y < 0 || x >= w || y >= h)
        return;
    memcpy((uint8_t *)rgb->data + ((size_t)y * (size_t)w + (size_t)x) * 3, c, 3);
}

static void fill(dolor_image *rgb, int x0, int y0, int x1, int y1, const uint8_t c[3])
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            put(rgb, x, y, c);
}

/* Text at (x, y) (top-left), each font pixel a scale x scale block; returns the width drawn. */
static int draw_text(dolor_image *rgb, int x, int y, int scale, const char *s, const uint8_t c[3])
{
    int x0 = x;
    for (; *s; s++) {
        const glyph *g = find_glyph(*s);
        for (int r = 0; g && r < 7; r++)
            for (int q = 0; q < 5; q++)
                if (g->rows[r][q] == '#')
                    fill(rgb, x + q * scale, y + r * scale, x + (q + 1) * scale, y + (r + 1) * scale, c);
        x += 6 * scale;
    }
    return x - x0;
}

static int text_width(const char *s, int scale)
{
    return s ? (int)strlen(s) * 6 * scale : 0;
}

/* Pixels of class c (class map cl, w x h) with a face neighbour of another class. */
static int is_edge(const uint8_t *cl, int w, int h, int x, int y)
{
    size_t p = (size_t)y * (size_t)w + (size_t)x;
    int c = cl[p];
    return (x > 0 && cl[p - 1] != c) || (x < w - 1 && cl[p + 1] != c) || (y > 0 && cl[p - (size_t)w] != c) ||
           (y < h - 1 && cl[p + (size_t)w] != c);
}

dolor_status dolor_overlay_render(const dolor_image *img, const dolor_image *classes, int num_classes,
                                  const dolor_overlay_opts *opts, dolor_image **rgb)
{
    *rgb = NULL;
    dolor_overlay_opts none = {0};
    if (!opts)
        opts = &none;
    if (num_classes < 1 || num_classes > DOLOR_MAX_CLASSES)
        return dolor_error(DOLOR_EINVAL, "overlay: %d classes (must be 1..%d)", num_classes, DOLOR_MAX_CLASSES);
    const dolor_image *tr = opts->truth;
    if (tr && (tr->dtype != DOLOR_U8 || tr->ncomp != 1 || tr->size[0] != classes->size[0] ||
               tr->size[1] != classes->size[1]))
        return dolor_error(DOLOR_ESHAPE, "overlay: truth must be a uint8 class map of %lldx%lld (is %s x%d, "
                           "%lldx%lld)", (long long)classes->size[0], (long long)classes->size[1],
                           dolor_dtype_name(tr->dtype), tr->ncomp, (long long)tr->size[0], (long long)tr->size[1]);
    uint8_t colours[DOLOR_MAX_CLASSES * 3];
    for (int c = 0; c < DOLOR_MAX_CLASSES; c++)
        dolor_label_colour(c, colours + 3 * c);
    if (opts->colours)
        memcpy(colours, opts->colours, (size_t)num_classes * 3);
    dolor_status s = dolor_overlay_make(img, classes, num_classes, colours, rgb);
    if (s)
        return s;
    dolor_image *o = *rgb;
    int w = (int)o->size[0], h = (int)o->size[1];
    static const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
    if (tr) {
        /* the truth's class boundaries, dashed white and black (visible on any background and any class
         * colour), over the prediction */
        const uint8_t *t = tr->data;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int c = t[(size_t)y * (size_t)w + (size_t)x];
                if (c > 0 && c < num_classes && is_edge(t, w, h, x, y))
                    put(o, x, y, ((x + y) / 3) % 2 ? black : white);
            }
    }
    if (!opts->class_names && !opts->case_id)
        return DOLOR_OK;
    /* legend box at the top-left: case ID, one line per foreground class (swatch + name), the truth line */
    int scale = (w < h ? w : h) >= 384 ? 2 : 1;
    int line = 9 * scale, pad = 2 * scale, sw = 7 * scale, tw = 0, lines = 0;
    if (opts->case_id) {
        tw = text_width(opts->case_id, scale);
        lines++;
    }
    if (opts->class_names)
        for (int c = 1; c < num_classes; c++) {
            int lw = sw + 2 * scale + text_width(opts->class_names[c], scale);
            tw = lw > tw ? lw : tw;
            lines++;
        }
    if (tr) {
        int lw = sw + 2 * scale + text_width("truth", scale);
        tw = lw > tw ? lw : tw;
        lines++;
    }
    int bw = tw + 2 * pad, bh = lines * line + 2 * pad - 2 * scale;
    fill(o, 0, 0, bw, bh, black);
    int y = pad;
    if (opts->case_id) {
        draw_text(o, pad, y, scale, opts->case_id, white);
        y += line;
    }
    for (int c = 1; opts->class_names && c < num_classes; c++) {
        fill(o, pad, y, pad + sw, y + 7 * scale, colours + 3 * c);
        draw_text(o, pad + sw + 2 * scale, y, scale, opts->class_names[c] ? opts->class_names[c] : "?", white);
        y += line;
    }
    if (tr) {
        for (int q = 0; q < sw; q++)
            fill(o, pad + q, y + 3 * scale, pad + q + 1, y + 4 * scale, (q / 3) % 2 ? black : white);
        draw_text(o, pad + sw + 2 * scale, y, scale, "truth", white);
    }
    return DOLOR_OK;
}
