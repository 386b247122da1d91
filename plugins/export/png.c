/* export.png: a PNG picture of an image for quality control: an axial,
 * coronal or sagittal view through a point (a mask's centroid by default),
 * a montage of every Nth axial slice, or a coronal maximum intensity
 * projection; CT windows or an SUV range in grey or "hot" colours; each
 * mask's contour in its own colour; square pixels whatever the voxel
 * spacing; orientation letters on the edges. */
#include <config.h>

#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

enum view { V_AXIAL, V_CORONAL, V_SAGITTAL, V_MONTAGE, V_MIP };
static const char *const views[] = {"axial", "coronal", "sagittal", "montage", "mip", NULL};
enum window { W_AUTO, W_LUNG, W_MEDIASTINUM, W_BONE, W_SUV, W_MANUAL };
static const char *const windows[] = {"auto", "lung", "mediastinum", "bone", "suv", "manual",
                                      NULL};
static const char *const cmaps[] = {"grey", "hot", NULL};
static const char *const ats[] = {"auto", "point", NULL};

struct png {
    char *path;
    int view;
    int at;
    double point[3];
    int window;
    double level, width;
    double suv_max;
    int colormap;
    double pixel_mm;
    int64_t step;
    int64_t columns;
    int letters;
    int64_t frame;
};

#define NMASK 3
static const char *const mask_ports[NMASK] = {"mask", "mask2", "mask3"};

/* Contour colours: mask label L of port k gets palette[(k + L - 1) % 8]. */
static const uint8_t palette[8][3] = {
    {255, 0, 0}, {0, 255, 0}, {0, 128, 255}, {255, 255, 0},
    {255, 0, 255}, {0, 255, 255}, {255, 128, 0}, {255, 255, 255},
};

/* Letters colour: yellow, like the usual viewer overlays. */
static const uint8_t letter_rgb[3] = {255, 255, 0};

/* A 5x7 font for the six orientation letters: 7 rows of 5 bits. */
static const struct {
    char c;
    uint8_t rows[7];
} font[] = {
    {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
};

/* A plane of the picture: pixel (u, v) shows the world point
 * base + (u0 + (u + 0.5) pix) eu + (v0 + (v + 0.5) pix) ev. */
struct plane {
    double eu[3], ev[3], en[3]; /* world unit vectors: right, down, through */
    double u0, v0, pix, depth;  /* depth: position along en */
    size_t w, h;
    double n0, n1;              /* MIP: extent along en */
};

static void plane_axes(int view, struct plane *pl)
{
    static const double ax[3][3][3] = {
        /* eu, ev, en: LPS, +x is left, +y posterior, +z superior */
        {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}},  /* axial: R left, A top */
        {{1, 0, 0}, {0, 0, -1}, {0, 1, 0}}, /* coronal: R left, S top */
        {{0, 1, 0}, {0, 0, -1}, {1, 0, 0}}, /* sagittal: A left, S top */
    };
    int k = view == V_CORONAL || view == V_MIP ? 1 : view == V_SAGITTAL ? 2 : 0;
    memcpy(pl->eu, ax[k][0], sizeof pl->eu);
    memcpy(pl->ev, ax[k][1], sizeof pl->ev);
    memcpy(pl->en, ax[k][2], sizeof pl->en);
}

static double dot3(const double *a, const double *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* Extent of the volume (voxel edges) along a world direction. */
static void extent(const struct qib_geom *g, const double *e, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int c = 0; c < 8; c++) {
        double idx[3], w[3];
        for (int a = 0; a < 3; a++)
            idx[a] = (c >> a & 1) ? (double)g->dims[a] - 0.5 : -0.5;
        qib_geom_index_to_world(g, idx, w);
        double d = dot3(w, e);
        *lo = d < *lo ? d : *lo;
        *hi = d > *hi ? d : *hi;
    }
}

static int plane_setup(const struct qib_geom *g, int view, double pix, const double *through,
                       struct plane *pl)
{
    plane_axes(view, pl);
    double ulo, uhi, vlo, vhi;
    extent(g, pl->eu, &ulo, &uhi);
    extent(g, pl->ev, &vlo, &vhi);
    extent(g, pl->en, &pl->n0, &pl->n1);
    pl->pix = pix;
    pl->u0 = ulo;
    pl->v0 = vlo;
    double w = ceil((uhi - ulo) / pix - 1e-9), h = ceil((vhi - vlo) / pix - 1e-9);
    if (!(w >= 1 && h >= 1 && w * h <= 1e8))
        return QIB_ERANGE;
    pl->w = (size_t)w;
    pl->h = (size_t)h;
    pl->depth = dot3(through, pl->en);
    return QIB_OK;
}

/* Linear voxel index nearest to world point p, or SIZE_MAX outside. */
static size_t voxel_at(const struct qib_geom *g, const double *p)
{
    double idx[3];
    if (qib_geom_world_to_index(g, p, idx))
        return SIZE_MAX;
    size_t i[3];
    for (int a = 0; a < 3; a++) {
        double r = floor(idx[a] + 0.5);
        if (!(r >= 0 && r < (double)g->dims[a]))
            return SIZE_MAX;
        i[a] = (size_t)r;
    }
    return i[0] + g->dims[0] * (i[1] + g->dims[1] * i[2]);
}

static void pixel_world(const struct plane *pl, size_t u, size_t v, double depth, double *p)
{
    double su = pl->u0 + ((double)u + 0.5) * pl->pix, sv = pl->v0 + ((double)v + 0.5) * pl->pix;
    for (int a = 0; a < 3; a++)
        p[a] = su * pl->eu[a] + sv * pl->ev[a] + depth * pl->en[a];
}

struct pic {
    uint8_t *rgb; /* w x h x 3 */
    size_t w, h;
};

static void put(struct pic *pc, size_t x, size_t y, const uint8_t *c)
{
    if (x < pc->w && y < pc->h)
        memcpy(pc->rgb + 3 * (y * pc->w + x), c, 3);
}

static void colour(double g, int hot, uint8_t *c)
{
    if (!(g >= 0))
        g = 0;
    if (g > 1)
        g = 1;
    if (!hot) {
        c[0] = c[1] = c[2] = (uint8_t)lround(g * 255);
        return;
    }
    double r = 3 * g, gg = 3 * g - 1, b = 3 * g - 2;
    c[0] = (uint8_t)lround((r > 1 ? 1 : r) * 255);
    c[1] = (uint8_t)lround((gg < 0 ? 0 : gg > 1 ? 1 : gg) * 255);
    c[2] = (uint8_t)lround((b < 0 ? 0 : b) * 255);
}

static void draw_letter(struct pic *pc, size_t x0, size_t y0, char ch, size_t s)
{
    for (size_t f = 0; f < sizeof font / sizeof font[0]; f++) {
        if (font[f].c != ch)
            continue;
        for (size_t r = 0; r < 7; r++)
            for (size_t c = 0; c < 5; c++)
                if (font[f].rows[r] >> (4 - c) & 1)
                    for (size_t dy = 0; dy < s; dy++)
                        for (size_t dx = 0; dx < s; dx++)
                            put(pc, x0 + c * s + dx, y0 + r * s + dy, letter_rgb);
    }
}

/* The letter of the patient direction of world vector e (LPS). */
static char dir_letter(const double *e, int sign)
{
    static const char pos[3] = {'L', 'P', 'S'}, neg[3] = {'R', 'A', 'I'};
    int a = fabs(e[0]) >= fabs(e[1]) && fabs(e[0]) >= fabs(e[2]) ? 0 : fabs(e[1]) >= fabs(e[2]) ? 1 : 2;
    return (e[a] * sign > 0) ? pos[a] : neg[a];
}

struct job {
    const struct png *p;
    const qib_volume *img;
    const struct qib_geom *g;
    size_t frame_base;
    const qib_volume *masks[NMASK];
    double lo, hi; /* window */
};

/* Render one plane into the tile at (ox, oy) of the picture. */
static int render(const struct job *J, const struct plane *pl, struct pic *pc, size_t ox,
                  size_t oy)
{
    const struct qib_geom *g = J->g;
    size_t w = pl->w, h = pl->h;
    uint8_t *lab = calloc(w * h * NMASK, 1);
    if (!lab)
        return QIB_ENOMEM;
    double span = J->hi - J->lo;
    for (size_t v = 0; v < h; v++)
        for (size_t u = 0; u < w; u++) {
            double p[3], val = NAN;
            pixel_world(pl, u, v, pl->depth, p);
            if (J->p->view == V_MIP) {
                /* maximum along en, sampled at half the smallest spacing */
                double st = fmin(g->spacing[0], fmin(g->spacing[1], g->spacing[2])) / 2;
                for (double d = pl->n0 + st / 2; d < pl->n1; d += st) {
                    pixel_world(pl, u, v, d, p);
                    size_t i = voxel_at(g, p);
                    if (i == SIZE_MAX)
                        continue;
                    double x = qib_volume_get(J->img, J->frame_base + i);
                    if (!isnan(x) && (isnan(val) || x > val))
                        val = x;
                }
            } else {
                size_t i = voxel_at(g, p);
                if (i != SIZE_MAX) {
                    val = qib_volume_get(J->img, J->frame_base + i);
                    for (int k = 0; k < NMASK; k++)
                        if (J->masks[k])
                            lab[(v * w + u) * NMASK + k] =
                                ((const uint8_t *)qib_volume_data(J->masks[k]))[i];
                }
            }
            uint8_t c[3];
            colour(isnan(val) ? 0 : (val - J->lo) / span, J->p->colormap == 1, c);
            put(pc, ox + u, oy + v, c);
        }
    /* contours: labelled pixels with a 4-neighbour of another label */
    for (int k = 0; k < NMASK; k++) {
        if (!J->masks[k])
            continue;
        for (size_t v = 0; v < h; v++)
            for (size_t u = 0; u < w; u++) {
                uint8_t l = lab[(v * w + u) * NMASK + k];
                if (!l)
                    continue;
                int edge = u == 0 || v == 0 || u + 1 == w || v + 1 == h ||
                           lab[(v * w + u - 1) * NMASK + k] != l ||
                           lab[(v * w + u + 1) * NMASK + k] != l ||
                           lab[((v - 1) * w + u) * NMASK + k] != l ||
                           lab[((v + 1) * w + u) * NMASK + k] != l;
                if (edge)
                    put(pc, ox + u, oy + v, palette[(size_t)(k + l - 1) % 8]);
            }
    }
    free(lab);
    if (J->p->letters && w >= 24 && h >= 24) {
        size_t s = (w < h ? w : h) / 128 + 1;
        draw_letter(pc, ox + 2, oy + h / 2 - 7 * s / 2, dir_letter(pl->eu, -1), s);
        draw_letter(pc, ox + w - 2 - 5 * s, oy + h / 2 - 7 * s / 2, dir_letter(pl->eu, 1), s);
        draw_letter(pc, ox + w / 2 - 5 * s / 2, oy + 2, dir_letter(pl->ev, -1), s);
        draw_letter(pc, ox + w / 2 - 5 * s / 2, oy + h - 2 - 7 * s, dir_letter(pl->ev, 1), s);
    }
    return QIB_OK;
}

static int check(qib_step *step, const void *priv)
{
    const struct png *p = priv;
    if (p->window == W_MANUAL && !(p->width > 0))
        return qib_fail(step, QIB_EINVAL, "window manual needs width > 0, got %g", p->width);
    return QIB_OK;
}

static int run(qib_step *step, void *priv)
{
    struct png *p = priv;
    const qib_volume *img = qib_step_in_volume(step, "image");
    const struct qib_geom *g = qib_volume_geom(img);
    struct job J = {.p = p, .img = img, .g = g};
    int rc;

    size_t nt = g->ndim > 3 ? g->dims[3] : 1;
    if ((size_t)p->frame >= nt)
        return qib_fail(step, QIB_ERANGE, "frame %lld: the image has %zu frame%s",
                        (long long)p->frame, nt, nt > 1 ? "s" : "");
    size_t nvox = qib_geom_frame_nvox(g);
    J.frame_base = (size_t)p->frame * nvox;
    for (int k = 0; k < NMASK; k++) {
        const qib_volume *m = qib_step_in_volume(step, mask_ports[k]);
        if (m && qib_step_check_grid(step, mask_ports[k], m, img) != QIB_OK)
            return QIB_EGEOMETRY;
        J.masks[k] = m;
    }

    /* window */
    switch (p->window) {
    case W_LUNG: J.lo = -600 - 750; J.hi = -600 + 750; break;
    case W_MEDIASTINUM: J.lo = 50 - 175; J.hi = 50 + 175; break;
    case W_BONE: J.lo = 400 - 900; J.hi = 400 + 900; break;
    case W_SUV: J.lo = 0; J.hi = p->suv_max; break;
    case W_MANUAL: J.lo = p->level - p->width / 2; J.hi = p->level + p->width / 2; break;
    default: {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < nvox; i++) {
            double v = qib_volume_get(img, J.frame_base + i);
            if (v < lo)
                lo = v;
            if (v > hi)
                hi = v;
        }
        J.lo = lo;
        J.hi = hi > lo ? hi : lo + 1;
        break;
    }
    }

    /* the point the views go through */
    double through[3];
    if (p->at == 1) {
        memcpy(through, p->point, sizeof through);
    } else {
        double s[3] = {0, 0, 0}, idx[3];
        size_t n = 0;
        for (int k = 0; k < NMASK && !n; k++) {
            if (!J.masks[k])
                continue;
            const uint8_t *m = qib_volume_data(J.masks[k]);
            for (size_t i = 0; i < nvox; i++)
                if (m[i]) {
                    s[0] += (double)(i % g->dims[0]);
                    s[1] += (double)(i / g->dims[0] % g->dims[1]);
                    s[2] += (double)(i / g->dims[0] / g->dims[1]);
                    n++;
                }
        }
        for (int a = 0; a < 3; a++)
            idx[a] = n ? s[a] / (double)n : ((double)g->dims[a] - 1) / 2;
        qib_geom_index_to_world(g, idx, through);
    }
    size_t vi = voxel_at(g, through);
    if (vi == SIZE_MAX && p->view != V_MONTAGE && p->view != V_MIP)
        return qib_fail(step, QIB_ERANGE,
                        "point (%g, %g, %g) mm LPS is outside the image: no slice through it",
                        through[0], through[1], through[2]);

    double pix = p->pixel_mm > 0 ? p->pixel_mm : fmin(g->spacing[0], g->spacing[1]);
    struct pic pc = {0};
    struct plane pl;
    int view = p->view == V_MONTAGE ? V_AXIAL : p->view;
    if (plane_setup(g, view, pix, through, &pl))
        return qib_fail(step, QIB_ERANGE, "a picture of pixel_mm %g would be too large", pix);
    size_t ntile = 1, cols = 1;
    if (p->view == V_MONTAGE) {
        ntile = (g->dims[2] + (size_t)p->step - 1) / (size_t)p->step;
        cols = (size_t)p->columns < ntile ? (size_t)p->columns : ntile;
    }
    size_t rows = (ntile + cols - 1) / cols;
    pc.w = pl.w * cols;
    pc.h = pl.h * rows;
    if (pc.w > 32768 || pc.h > 32768)
        return qib_fail(step, QIB_ERANGE, "the picture would be %zux%zu pixels: raise pixel_mm",
                        pc.w, pc.h);
    pc.rgb = calloc(pc.w * pc.h * 3, 1);
    if (!pc.rgb)
        return qib_fail(step, QIB_ENOMEM, "out of memory");
    for (size_t t = 0; t < ntile; t++) {
        if (p->view == V_MONTAGE) {
            double idx[3] = {((double)g->dims[0] - 1) / 2, ((double)g->dims[1] - 1) / 2,
                             (double)(t * (size_t)p->step)};
            double w[3];
            qib_geom_index_to_world(g, idx, w);
            pl.depth = dot3(w, pl.en);
        }
        if ((rc = render(&J, &pl, &pc, (t % cols) * pl.w, (t / cols) * pl.h))) {
            free(pc.rgb);
            return qib_fail(step, rc, "out of memory");
        }
    }

    qib_ofile *of = NULL;
    if ((rc = qib_step_create_output(step, p->path, &of))) {
        free(pc.rgb);
        return rc;
    }
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)pc.w;
    im.height = (png_uint_32)pc.h;
    im.format = PNG_FORMAT_RGB;
    int okw = png_image_write_to_stdio(&im, qib_ofile_stream(of), 0, pc.rgb, 0, NULL);
    free(pc.rgb);
    if (!okw) {
        char path[4096];
        snprintf(path, sizeof path, "%s", qib_ofile_path(of));
        qib_ofile_abort(&of);
        rc = qib_fail(step, QIB_EIO, "%s: writing the PNG failed: %s", path, im.message);
        png_image_free(&im);
        return rc;
    }
    png_image_free(&im);
    char buf[64];
    snprintf(buf, sizeof buf, "%zux%zu", pc.w, pc.h);
    qib_step_record(step, "size", buf);
    return qib_ofile_commit(&of);
}

static const struct qib_param params[] = {
    {.name = "path", .type = QIB_PARAM_PATH, .offset = offsetof(struct png, path),
     .flags = QIB_PARAM_REQUIRED | QIB_PARAM_OUTPUT,
     .help = "PNG file to write, relative to the output directory (--out)"},
    {.name = "view", .type = QIB_PARAM_ENUM, .offset = offsetof(struct png, view),
     .def = "axial", .choices = views,
     .help = "axial, coronal or sagittal slice through the point; montage: every step-th "
             "axial slice; mip: coronal maximum intensity projection (PET)"},
    {.name = "at", .type = QIB_PARAM_ENUM, .offset = offsetof(struct png, at), .def = "auto",
     .choices = ats,
     .help = "auto: the centroid of the first non-empty mask, else the image centre; point: "
             "the point parameter"},
    {.name = "point", .type = QIB_PARAM_VEC3, .offset = offsetof(struct png, point),
     .def = "[0, 0, 0]", .unit = "mm", .help = "at point: the point the views go through, LPS mm"},
    {.name = "window", .type = QIB_PARAM_ENUM, .offset = offsetof(struct png, window),
     .def = "auto", .choices = windows,
     .help = "grey levels: auto (image min..max), lung (level -600 HU, width 1500), "
             "mediastinum (50, 350), bone (400, 1800), suv (0..suv_max), manual (level, width)"},
    {.name = "level", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct png, level),
     .def = "0", .help = "window manual: centre, image units (e.g. HU)"},
    {.name = "width", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct png, width),
     .def = "1", .help = "window manual: width, image units"},
    {.name = "suv_max", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct png, suv_max),
     .def = "10", .min = 1e-6, .flags = QIB_PARAM_MIN, .unit = "g/mL",
     .help = "window suv: the SUV shown at full intensity (0 is black)"},
    {.name = "colormap", .type = QIB_PARAM_ENUM, .offset = offsetof(struct png, colormap),
     .def = "grey", .choices = cmaps, .help = "grey, or hot (black, red, yellow, white) for PET"},
    {.name = "pixel_mm", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct png, pixel_mm),
     .def = "0", .min = 0, .max = 100, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "mm",
     .help = "size of a (square) pixel in mm; 0: the smallest in-plane voxel spacing"},
    {.name = "step", .type = QIB_PARAM_INT, .offset = offsetof(struct png, step), .def = "5",
     .min = 1, .max = 10000, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "montage: every step-th slice (voxel planes k = 0, step, 2 step, ...)"},
    {.name = "columns", .type = QIB_PARAM_INT, .offset = offsetof(struct png, columns),
     .def = "6", .min = 1, .max = 100, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "montage: tiles per row"},
    {.name = "letters", .type = QIB_PARAM_BOOL, .offset = offsetof(struct png, letters),
     .def = "true", .help = "draw the orientation letters (R/L, A/P, S/I) on the edges"},
    {.name = "frame", .type = QIB_PARAM_INT, .offset = offsetof(struct png, frame), .def = "0",
     .min = 0, .flags = QIB_PARAM_MIN, .help = "frame (from 0) of a 4-D image"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .help = "image to show"},
    {.name = "mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "contours in red (label 1), green (2), ... on the image's grid"},
    {.name = "mask2", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "contours starting from green"},
    {.name = "mask3", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "contours starting from blue"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_EXPORT,
    .name = "png",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "PNG picture for quality control: slices, montage or MIP with windowing, mask "
               "contours and orientation letters",
    .citation = NULL,
    .params = params,
    .inputs = inputs,
    .outputs = NULL, /* the file is the result */
    .priv_size = sizeof(struct png),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
