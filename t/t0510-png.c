/* export.png: picture sizes with anisotropic voxels (true aspect ratio), a
 * marker voxel landing on the expected pixel in each view, contour colours,
 * montage and MIP, the orientation letters, and bad parameters.  The PNG is
 * read back with libpng. */
#include <config.h>

#include <png.h>

#include "t0500-util.h"

static char *dir;
static qib_volume *ct, *pet, *m1, *m2;

struct pic {
    unsigned w, h;
    uint8_t *rgb;
};

static struct pic load(const char *path)
{
    struct pic p = {0, 0, NULL};
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path))
        return p;
    im.format = PNG_FORMAT_RGB;
    p.rgb = malloc(PNG_IMAGE_SIZE(im));
    if (!p.rgb || !png_image_finish_read(&im, NULL, p.rgb, 0, NULL)) {
        free(p.rgb);
        p.rgb = NULL;
        return p;
    }
    p.w = im.width;
    p.h = im.height;
    return p;
}

static int is_rgb(const struct pic *p, unsigned x, unsigned y, int r, int g, int b)
{
    if (!p->rgb || x >= p->w || y >= p->h)
        return 0;
    const uint8_t *c = p->rgb + 3 * ((size_t)y * p->w + x);
    return c[0] == r && c[1] == g && c[2] == b;
}

/* Write a picture with the given parameters; returns it (rgb NULL when the
 * run failed; the message in err). */
static struct pic shot(qib_volume *img, qib_volume *a, qib_volume *b, const char *const *params,
                       char *err)
{
    const char *ports[] = {"image", "mask", "mask2", NULL};
    qib_volume *vols[] = {img, a, b};
    qib_harness *h = NULL;
    char e[512];
    struct pic p = {0, 0, NULL};
    int rc = qib_harness_new("export.png", &h, e, sizeof e);
    if (rc)
        bail("cannot load export.png: %s", e);
    qib_harness_set_outdir(h, dir);
    for (int i = 0; ports[i]; i++)
        if (vols[i] && (rc = qib_harness_set_volume(h, ports[i], vols[i])))
            break;
    for (size_t i = 0; !rc && params[i]; i += 2)
        rc = qib_harness_set_param(h, params[i], params[i + 1]);
    if (!rc)
        rc = qib_harness_run(h);
    snprintf(err, 512, "%s", qib_harness_error(h));
    qib_harness_free(&h);
    if (!rc) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, params[1]);
        p = load(path);
        remove(path);
    }
    return p;
}

static void refuse(const char *name, qib_volume *a, const char *const *params, const char *want)
{
    char err[512];
    struct pic p = shot(ct, a, NULL, params, err);
    ok(!p.rgb, "%s: refused", name);
    contains(err, want, "%s: says \"%s\"", name, want);
    free(p.rgb);
}

int main(void)
{
    plan(41);
    dir = tap_tmpdir();
    /* 40 x 30 x 10 voxels of 1 x 1 x 3 mm; marker voxel (12, 20, 4) at
     * (-0.5, 50.25, 19) mm LPS */
    struct qib_geom g = t05_geom(40, 30, 10, 1, 1, 3);
    ct = t05_new(QIB_I16, &g);
    t05_set(ct, 12 + 40 * (20 + 30 * 4), 1000);
    const char *mk = "[-0.5, 50.25, 19]";
    char err[512];

    struct pic p = shot(ct, NULL, NULL,
                        (const char *const[]){"path", "ax.png", "at", "point", "point", mk,
                                              "window", "manual", "level", "500", "width", "1000",
                                              NULL},
                        err);
    ok(p.rgb && p.w == 40 && p.h == 30, "axial: 40x30 pixels (got %ux%u %s)", p.w, p.h, err);
    ok(is_rgb(&p, 12, 20, 255, 255, 255), "axial: the marker is white at pixel (12, 20)");
    ok(is_rgb(&p, 13, 20, 0, 0, 0) && is_rgb(&p, 12, 21, 0, 0, 0),
       "axial: its neighbours are black");
    /* letters, 5x7 at scale 1: R left (x 2..6, y 12..18), L right (x
     * 33..37), A top (x 18..22, y 2..8), P bottom (y 21..27) */
    ok(is_rgb(&p, 2, 12, 255, 255, 0) && is_rgb(&p, 5, 12, 255, 255, 0) &&
           !is_rgb(&p, 6, 12, 255, 255, 0) && is_rgb(&p, 6, 13, 255, 255, 0),
       "axial: R on the left edge");
    ok(is_rgb(&p, 33, 12, 255, 255, 0) && !is_rgb(&p, 34, 12, 255, 255, 0) &&
           is_rgb(&p, 37, 18, 255, 255, 0),
       "axial: L on the right edge");
    ok(is_rgb(&p, 19, 2, 255, 255, 0) && !is_rgb(&p, 18, 2, 255, 255, 0),
       "axial: A on the top edge");
    ok(is_rgb(&p, 18, 21, 255, 255, 0) && is_rgb(&p, 18, 27, 255, 255, 0) &&
           !is_rgb(&p, 19, 27, 255, 255, 0),
       "axial: P on the bottom edge");
    free(p.rgb);

    /* coronal: 40 mm wide, 10 slices x 3 mm = 30 mm high: the marker's
     * 3 mm slice covers rows 15..17 (superior at the top) */
    p = shot(ct, NULL, NULL,
             (const char *const[]){"path", "cor.png", "view", "coronal", "at", "point", "point",
                                   mk, "window", "manual", "level", "500", "width", "1000", NULL},
             err);
    ok(p.rgb && p.w == 40 && p.h == 30, "coronal: 40x30 pixels, true aspect (got %ux%u %s)", p.w,
       p.h, err);
    ok(is_rgb(&p, 12, 15, 255, 255, 255) && is_rgb(&p, 12, 16, 255, 255, 255) &&
           is_rgb(&p, 12, 17, 255, 255, 255),
       "coronal: the marker covers pixels (12, 15..17)");
    ok(is_rgb(&p, 12, 14, 0, 0, 0) && is_rgb(&p, 12, 18, 0, 0, 0),
       "coronal: rows 14 and 18 are black");
    ok(is_rgb(&p, 19, 2, 255, 255, 0) && !is_rgb(&p, 18, 2, 255, 255, 0) &&
           is_rgb(&p, 18, 3, 255, 255, 0),
       "coronal: S on the top edge");
    ok(is_rgb(&p, 19, 21, 255, 255, 0) && !is_rgb(&p, 18, 21, 255, 255, 0) &&
           is_rgb(&p, 20, 24, 255, 255, 0),
       "coronal: I on the bottom edge");
    free(p.rgb);

    /* sagittal: anterior on the left; 30 x 30 pixels; column = j */
    p = shot(ct, NULL, NULL,
             (const char *const[]){"path", "sag.png", "view", "sagittal", "at", "point", "point",
                                   mk, "window", "manual", "level", "500", "width", "1000", NULL},
             err);
    ok(p.rgb && p.w == 30 && p.h == 30, "sagittal: 30x30 pixels (got %ux%u %s)", p.w, p.h, err);
    ok(is_rgb(&p, 20, 16, 255, 255, 255) && is_rgb(&p, 19, 16, 0, 0, 0),
       "sagittal: the marker is at pixel (20, 16)");
    ok(is_rgb(&p, 3, 12, 255, 255, 0) && !is_rgb(&p, 2, 12, 255, 255, 0),
       "sagittal: A on the left edge");
    ok(is_rgb(&p, 23, 12, 255, 255, 0) && is_rgb(&p, 27, 13, 255, 255, 0),
       "sagittal: P on the right edge");
    free(p.rgb);

    /* pixel_mm 0.5 doubles both sides */
    p = shot(ct, NULL, NULL,
             (const char *const[]){"path", "half.png", "view", "coronal", "at", "point", "point",
                                   mk, "pixel_mm", "0.5", NULL},
             err);
    ok(p.rgb && p.w == 80 && p.h == 60, "pixel_mm 0.5: 80x60 pixels (got %ux%u)", p.w, p.h);
    free(p.rgb);

    /* contours: mask squares x 25..34, y 5..14 (red) and y 20..26 (green,
     * mask2) in slice 4 */
    m1 = t05_mask(&g);
    m2 = t05_mask(&g);
    uint8_t *a = qib_volume_data_mut(m1), *b = qib_volume_data_mut(m2);
    for (int y = 0; y < 30; y++)
        for (int x = 25; x <= 34; x++) {
            if (y >= 5 && y <= 14)
                a[x + 40 * (y + 30 * 4)] = 1;
            if (y >= 20 && y <= 26)
                b[x + 40 * (y + 30 * 4)] = 1;
        }
    p = shot(ct, m1, m2,
             (const char *const[]){"path", "mask.png", "letters", "false", "window", "lung", NULL},
             err);
    ok(p.rgb != NULL, "contours: runs (%s)", err);
    ok(is_rgb(&p, 25, 10, 255, 0, 0) && is_rgb(&p, 34, 10, 255, 0, 0) &&
           is_rgb(&p, 30, 5, 255, 0, 0) && is_rgb(&p, 30, 14, 255, 0, 0),
       "contours: mask's edge is red (at the mask's centroid slice)");
    ok(!is_rgb(&p, 30, 10, 255, 0, 0) && !is_rgb(&p, 24, 10, 255, 0, 0),
       "contours: inside and outside are not red");
    ok(is_rgb(&p, 25, 22, 0, 255, 0) && is_rgb(&p, 30, 26, 0, 255, 0),
       "contours: mask2's edge is green");
    /* lung window: 0 HU is (0 + 1350) / 1500 of full grey */
    ok(is_rgb(&p, 5, 25, 230, 230, 230), "contours: lung window shows 0 HU as grey 230");
    free(p.rgb);

    /* montage: slices 0, 3, 6, 9 in 2 columns */
    p = shot(ct, NULL, NULL,
             (const char *const[]){"path", "mont.png", "view", "montage", "step", "3", "columns",
                                   "2", "window", "manual", "level", "500", "width", "1000",
                                   "letters", "false", NULL},
             err);
    ok(p.rgb && p.w == 80 && p.h == 60, "montage: 2x2 tiles of 40x30 (got %ux%u)", p.w, p.h);
    /* slice 4 is not shown; slices 3 and 6 are black at the marker */
    ok(is_rgb(&p, 40 + 12, 20, 0, 0, 0), "montage: slice 3 has no marker");
    free(p.rgb);
    t05_set(ct, 12 + 40 * (20 + 30 * 3), 1000);
    p = shot(ct, NULL, NULL,
             (const char *const[]){"path", "mont.png", "view", "montage", "step", "3", "columns",
                                   "2", "window", "manual", "level", "500", "width", "1000",
                                   "letters", "false", NULL},
             err);
    ok(is_rgb(&p, 40 + 12, 20, 255, 255, 255) && is_rgb(&p, 12, 20, 0, 0, 0),
       "montage: a marker in slice 3 shows in the second tile only");
    free(p.rgb);

    /* PET MIP: SUV 8 at (12, 20, 4) hides SUV 4 at (12, 5, 4); SUV 4 at
     * (30, 5, 2) is half of suv_max 8: hot (255, 128, 0) */
    pet = t05_new(QIB_F32, &g);
    t05_set(pet, 12 + 40 * (20 + 30 * 4), 8);
    t05_set(pet, 12 + 40 * (5 + 30 * 4), 4);
    t05_set(pet, 30 + 40 * (5 + 30 * 2), 4);
    p = shot(pet, NULL, NULL,
             (const char *const[]){"path", "mip.png", "view", "mip", "window", "suv", "suv_max",
                                   "8", "colormap", "hot", "letters", "false", NULL},
             err);
    ok(p.rgb && p.w == 40 && p.h == 30, "mip: 40x30 (got %ux%u %s)", p.w, p.h, err);
    ok(is_rgb(&p, 12, 16, 255, 255, 255), "mip: SUV 8 is white");
    ok(is_rgb(&p, 30, 22, 255, 128, 0), "mip: SUV 4 is orange (hot colour map)");
    ok(is_rgb(&p, 5, 5, 0, 0, 0), "mip: SUV 0 is black");
    free(p.rgb);

    struct qib_geom g2 = t05_geom(40, 30, 10, 1, 1, 2.5);
    qib_volume *other = t05_mask(&g2);
    refuse("no path", NULL, (const char *const[]){NULL}, "path");
    refuse("mask on another grid", other, (const char *const[]){"path", "x.png", NULL},
           "mask is not on the image's grid");
    refuse("manual window of width 0", NULL,
           (const char *const[]){"path", "x.png", "window", "manual", "width", "0", NULL},
           "width > 0");
    refuse("point outside", NULL,
           (const char *const[]){"path", "x.png", "at", "point", "point", "[900, 0, 0]", NULL},
           "outside the image");
    refuse("frame 2 of a 3-D image", NULL,
           (const char *const[]){"path", "x.png", "frame", "2", NULL}, "1 frame");
    refuse("unknown view", NULL, (const char *const[]){"path", "x.png", "view", "oblique", NULL},
           "oblique");
    qib_volume_unref(&other);
    qib_volume_unref(&m1);
    qib_volume_unref(&m2);
    qib_volume_unref(&pet);
    qib_volume_unref(&ct);
    t05_rmdir(dir);
    return tap_done();
}
