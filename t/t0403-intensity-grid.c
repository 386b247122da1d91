/* bio.intensity and geometry: a mask on another grid is refused with both
 * geometries in the message, never resampled; 4-D images measure the
 * chosen frame; a 4-D mask is refused; volume_ml follows the spacing and
 * only the spatial spacing; inputs are left untouched, references
 * balanced. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "t0400-util.h"

/* image      mask
 *   1 2 3    1 1 1
 *   4 5 6    2 2 2
 *   7 8 9    0 2 1     label 1 = {1, 2, 3, 9}: mean 3.75, p90 7.2 (t0401) */
static const double vals[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t labels[9] = {1, 1, 1, 2, 2, 2, 0, 2, 1};
static const double spacing[3] = {2, 3, 5};

static void expect_grid_error(qib_volume *img, qib_volume *msk, const char *what)
{
    char gi[512], gm[512];
    int rc;
    qib_geom_format(qib_volume_geom(img), gi, sizeof gi);
    qib_geom_format(qib_volume_geom(msk), gm, sizeof gm);
    qib_harness *h = t04_run("bio.intensity", "image", img, "mask", msk, NULL, 1, &rc);
    is_int(rc, QIB_EGEOMETRY, "%s: refused with QIB_EGEOMETRY", what);
    const char *e = qib_harness_error(h);
    diag("%s", e);
    contains(e, "not on the image's grid", "%s: the message says the grids differ", what);
    contains(e, gi, "%s: the message gives the image's geometry", what);
    contains(e, gm, "%s: the message gives the mask's geometry", what);
    ok(qib_harness_out_table(h, "table") == NULL, "%s: no table", what);
    qib_harness_free(&h);
}

static void test_other_grid(void)
{
    qib_volume *img = t04_volume(QIB_I16, 3, 3, 1, 1, spacing, vals);
    struct qib_geom g = *qib_volume_geom(img);

    /* origin moved by 1 mm (half a voxel along x) */
    g.origin[0] += 1.0;
    qib_volume *msk = t04_mask(&g, labels);
    expect_grid_error(img, msk, "mask shifted by 1 mm");
    qib_volume_unref(&msk);

    /* other dimensions */
    struct qib_geom g2;
    const size_t d2[3] = {3, 3, 2};
    qib_geom_init(&g2, 3, d2);
    memcpy(g2.spacing, spacing, sizeof spacing);
    msk = t04_mask(&g2, NULL);
    expect_grid_error(img, msk, "mask of 3x3x2 voxels");
    qib_volume_unref(&msk);

    /* other spacing (finer by 10 %) */
    g = *qib_volume_geom(img);
    g.spacing[2] = 4.5;
    msk = t04_mask(&g, labels);
    expect_grid_error(img, msk, "mask with 4.5 mm slices");
    qib_volume_unref(&msk);

    /* a difference well inside QIB_GRID_TOL (1e-4) is the same grid */
    g = *qib_volume_geom(img);
    g.spacing[0] *= 1 + 1e-7;
    g.origin[1] += 1e-6;
    msk = t04_mask(&g, labels);
    int rc;
    qib_harness *h = t04_run("bio.intensity", "image", img, "mask", msk, NULL, 1, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t && t04_d(t, 0, "mean") == 3.75,
       "a mask within the grid tolerance is accepted (label 1 mean 3.75)");
    qib_harness_free(&h);
    qib_volume_unref(&msk);
    qib_volume_unref(&img);
}

static void test_4d(void)
{
    /* 3x3x1x2: frame 0 = 1..9, frame 1 = 10..90; spacing of the 4th
     * dimension 2000 (ms) must not enter the volume. */
    double v[18];
    for (int i = 0; i < 9; i++) {
        v[i] = vals[i];
        v[9 + i] = 10 * vals[i];
    }
    qib_volume *img = t04_volume(QIB_F32, 3, 3, 1, 2, spacing, v);
    struct qib_geom g = *qib_volume_geom(img);
    g.spacing[3] = 2000;
    if (qib_volume_set_geom(img, &g) != QIB_OK)
        bail("set_geom");
    qib_volume *msk = t04_mask(&g, labels);
    int rc;

    qib_harness *h = t04_run("bio.intensity", "image", img, "mask", msk, NULL, 1, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t && t04_d(t, 0, "mean") == 3.75,
       "4-D, default frame 0: label 1 mean 3.75");
    qib_harness_free(&h);

    const char *const f1[] = {"frame", "1", NULL};
    h = t04_run("bio.intensity", "image", img, "mask", msk, f1, 1, &rc);
    t = qib_harness_out_table(h, "table");
    is_int(rc, QIB_OK, "4-D, frame 1: run succeeds");
    if (!t) {
        skip(4, "no table");
    } else {
        /* label 1 of frame 1 = {10, 20, 30, 90}: mean 37.5, p90 = 30 + .7 * 60 = 72 */
        is_double(t04_d(t, 0, "mean"), 37.5, 0, "frame 1: label 1 mean 37.5");
        is_double(t04_d(t, 0, "p90"), 72, 1e-12, "frame 1: label 1 p90 72");
        is_double(t04_d(t, 0, "variance"), 968.75, 1e-10, "frame 1: variance 100 x 9.6875");
        is_double(t04_d(t, 0, "volume_ml"), 0.12, 1e-15,
                  "frame 1: volume from the spatial spacing only (0.12 mL)");
    }
    qib_harness_free(&h);

    const char *const f2[] = {"frame", "2", NULL};
    h = t04_run("bio.intensity", "image", img, "mask", msk, f2, 1, &rc);
    is_int(rc, QIB_ERANGE, "4-D with 2 frames, frame 2: refused");
    contains(qib_harness_error(h), "2 frames (0..1)", "the message gives the frames there are");
    qib_harness_free(&h);
    qib_volume_unref(&img);

    /* a 3-D image has one frame, 0 */
    img = t04_volume(QIB_F32, 3, 3, 1, 1, spacing, vals);
    const char *const f1b[] = {"frame", "1", NULL};
    h = t04_run("bio.intensity", "image", img, "mask", msk, f1b, 1, &rc);
    is_int(rc, QIB_ERANGE, "3-D image, frame 1: refused");
    contains(qib_harness_error(h), "1 frame (0..0)", "the message says there is one frame");
    qib_harness_free(&h);
    qib_volume_unref(&msk);

    /* a 4-D mask */
    struct qib_geom g4;
    const size_t d4[4] = {3, 3, 1, 2};
    qib_geom_init(&g4, 4, d4);
    memcpy(g4.spacing, spacing, sizeof spacing);
    qib_volume *m4 = NULL;
    if (qib_volume_new(QIB_U8, &g4, &m4) != QIB_OK || qib_volume_set_mask(m4, 1) != QIB_OK)
        bail("4-D u8 mask");
    h = t04_run("bio.intensity", "image", img, "mask", m4, NULL, 1, &rc);
    is_int(rc, QIB_EUNSUPPORTED, "a 4-D mask: refused");
    contains(qib_harness_error(h), "4-D mask", "the message says a 4-D mask is not supported");
    qib_harness_free(&h);
    qib_volume_unref(&m4);
    qib_volume_unref(&img);
}

static void test_spacing(void)
{
    /* 0.5 x 0.7 x 3 mm = 1.05 mm^3; 4 voxels = 4.2e-3 mL.  A rotated grid
     * (direction columns permuted and flipped) has the same voxel volume. */
    const double sp[3] = {0.5, 0.7, 3};
    qib_volume *img = t04_volume(QIB_I16, 3, 3, 1, 1, sp, vals);
    struct qib_geom g = *qib_volume_geom(img);
    const double dir[9] = {0, 0, -1, 1, 0, 0, 0, -1, 0};
    memcpy(g.dir, dir, sizeof dir);
    if (qib_volume_set_geom(img, &g) != QIB_OK)
        bail("set_geom");
    qib_volume *msk = t04_mask(&g, labels);
    int rc;
    qib_harness *h = t04_run("bio.intensity", "image", img, "mask", msk, NULL, 1, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t, "anisotropic, rotated grid: run succeeds");
    if (t)
        is_double(t04_d(t, 1, "volume_ml"), 4 * 0.5 * 0.7 * 3 / 1000, 1e-18,
                  "4 voxels of 0.5 x 0.7 x 3 mm = 0.0042 mL");
    else
        skip(1, "no table");
    qib_harness_free(&h);

    /* inputs untouched, references back to one */
    int same = 1;
    const int16_t *d = qib_volume_data(img);
    for (int i = 0; i < 9; i++)
        same &= d[i] == (int16_t)vals[i];
    ok(same, "the image's voxels are unchanged");
    is_int(qib_volume_refcount(img), 1, "image refcount back to 1 after the harness is freed");
    is_int(qib_volume_refcount(msk), 1, "mask refcount back to 1");
    qib_volume_unref(&msk);
    qib_volume_unref(&img);
}

int main(void)
{
    plan_lazy();
    test_other_grid();
    test_4d();
    test_spacing();
    return tap_done();
}
