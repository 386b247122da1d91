/* bio.percist_ref on small volumes whose answers are worked out by hand
 * below: the 3 cm liver sphere placed by a point and inside a liver mask
 * (right-lobe side, farthest from the edge), the 1 x 2 cm blood-pool
 * cylinder, the measurability thresholds 1.5 x mean + 2 SD and 2.0 x mean
 * + 2 SD (Wahl et al., J Nucl Med 2009;50 Suppl 1:122S-150S, PERCIST 1.0),
 * and every bad input refused with a clear message. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "t0400-util.h"

static void set_units(qib_volume *v, const char *unit)
{
    if (qib_meta_set(qib_volume_meta_mut(v), "units", unit, "test") != QIB_OK)
        bail("cannot set units");
}

static void set_origin_dir(qib_volume *v, const double o[3], const double *dir)
{
    struct qib_geom g = *qib_volume_geom(v);
    memcpy(g.origin, o, sizeof g.origin);
    if (dir)
        memcpy(g.dir, dir, sizeof g.dir);
    if (qib_volume_set_geom(v, &g) != QIB_OK)
        bail("set_geom");
}

static const char *str(const qib_table *t, const char *name)
{
    const char *s = qib_table_get_string(t, 0, t04_col(t, name));
    return s ? s : "(none)";
}

static size_t count_mask(const qib_volume *m)
{
    const uint8_t *d = qib_volume_data(m);
    size_t n = 0;
    for (size_t i = 0; i < qib_volume_nvox(m); i++)
        n += d[i] != 0;
    return n;
}

/* ---- the liver sphere placed by a point ----
 * 11x11x11 voxels of 5 mm, origin (-100, 50, 20) mm.  A 30 mm sphere (radius
 * 15 mm) centred on voxel (5,5,5), world (-75, 75, 45), holds the offsets
 * with 25 (i^2 + j^2 + k^2) <= 225, i^2 + j^2 + k^2 <= 9: 123 voxels
 * (1 + 6 + 12 + 8 + 6 + 24 + 24 + 12 + 30 for r^2 = 0, 1, 2, 3, 4, 5, 6, 8,
 * 9).  The six on the axes at 15 mm, exactly on the surface, hold 3; the
 * other 117 hold 2; every voxel outside holds 100.
 *   mean = (117 x 2 + 6 x 3) / 123 = 252/123
 *   SD (population) = sqrt(p (1 - p)) with p = 6/123: sqrt(702)/123
 *   threshold = 1.5 mean + 2 SD. */
#define N 11
#define IDX(i, j, k) (((k) * N + (j)) * N + (i))

static qib_volume *liver_volume(void)
{
    static double vals[N * N * N];
    const double sp[3] = {5, 5, 5}, o[3] = {-100, 50, 20};
    for (int k = 0; k < N; k++)
        for (int j = 0; j < N; j++)
            for (int i = 0; i < N; i++) {
                int r2 = (i - 5) * (i - 5) + (j - 5) * (j - 5) + (k - 5) * (k - 5);
                int axis = (i != 5) + (j != 5) + (k != 5) == 1;
                vals[IDX(i, j, k)] = r2 > 9 ? 100 : r2 == 9 && axis ? 3 : 2;
            }
    qib_volume *v = t04_volume(QIB_F32, N, N, N, 1, sp, vals);
    set_origin_dir(v, o, NULL);
    set_units(v, "SUL");
    return v;
}

static void liver_point(void)
{
    qib_volume *img = liver_volume();
    const char *const p[] = {"point", "[-75, 75, 45]", NULL};
    int rc;
    qib_harness *h = t04_run("bio.percist_ref", "image", img, NULL, NULL, p, 1, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    const qib_volume *roi = qib_harness_out_volume(h, "region");
    if (ok(rc == QIB_OK && t && roi && qib_table_nrows(t) == 1, "liver sphere by point: one row")) {
        double mean = 252.0 / 123, sd = sqrt(702.0) / 123;
        is_string(str(t, "reference"), "liver", "reference liver");
        is_string(str(t, "placement"), "point", "placed by the point");
        is_int(t04_i(t, 0, "voxels"), 123, "123 voxels within 15 mm (surface included)");
        is_int((long long)count_mask(roi), 123, "the region mask holds the same 123 voxels");
        is_double(t04_d(t, 0, "volume_ml"), 15.375, 1e-12, "volume 123 x 125 mm^3");
        is_double(t04_d(t, 0, "ref_mean"), mean, 1e-12, "mean 252/123");
        is_double(t04_d(t, 0, "ref_sd"), sd, 1e-12, "population SD sqrt(702)/123");
        is_double(t04_d(t, 0, "threshold"), 1.5 * mean + 2 * sd, 1e-12,
                  "threshold 1.5 x mean + 2 SD = %.6f", 1.5 * mean + 2 * sd);
        is_double(t04_d(t, 0, "centre_x"), -75, 0, "centre x as given");
        is_double(t04_d(t, 0, "factor"), 1.5, 0, "factor 1.5");
        is_string(qib_table_col_unit(t, t04_col(t, "ref_mean")), "SUL", "ref_mean in SUL");
        ok(isnan(t04_d(t, 0, "mask_depth_mm")), "no mask: mask depth missing");
    } else {
        diag("%s", qib_harness_error(h));
        skip(12, "no table");
    }
    qib_harness_free(&h);

    /* The same with liver_factor and sd_factor changed: 2 x mean + 3 SD. */
    const char *const p2[] = {"point", "[-75, 75, 45]", "liver_factor", "2", "sd_factor", "3",
                              NULL};
    h = t04_run("bio.percist_ref", "image", img, NULL, NULL, p2, 2, &rc);
    t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "factors as parameters"))
        is_double(t04_d(t, 0, "threshold"), 2 * 252.0 / 123 + 3 * sqrt(702.0) / 123, 1e-12,
                  "threshold 2 x mean + 3 SD");
    else
        skip(1, "no table");
    qib_harness_free(&h);
    qib_volume_unref(&img);
}

/* ---- the blood-pool cylinder ----
 * 9x9x9 voxels of 2.5 x 2.5 x 5 mm, origin 0, centre voxel (4,4,4), world
 * (10, 10, 20).  Radius 5 mm: (2.5 i)^2 + (2.5 j)^2 <= 25, i^2 + j^2 <= 4:
 * 13 offsets; length 20 mm along LPS z: |5 k| <= 10, k in -2..2: 65 voxels.
 * Slice k holds 1 + 0.1 k inside (0.8, 0.9, 1.0, 1.1, 1.2), 50 elsewhere:
 *   mean 1.0; variance (0.04 + 0.01 + 0 + 0.01 + 0.04) / 5 = 0.02;
 *   threshold 2.0 x 1.0 + 2 sqrt(0.02). */
#define M 9
#define IDM(i, j, k) (((k) * M + (j)) * M + (i))

static void blood_pool(void)
{
    static double vals[M * M * M];
    const double sp[3] = {2.5, 2.5, 5};
    for (int k = 0; k < M; k++)
        for (int j = 0; j < M; j++)
            for (int i = 0; i < M; i++) {
                int in = (i - 4) * (i - 4) + (j - 4) * (j - 4) <= 4 && abs(k - 4) <= 2;
                vals[IDM(i, j, k)] = in ? 1 + 0.1 * (k - 4) : 50;
            }
    qib_volume *img = t04_volume(QIB_F64, M, M, M, 1, sp, vals);
    set_units(img, "SUL");
    const char *const p[] = {"reference", "blood_pool", "point", "[10, 10, 20]", NULL};
    int rc;
    qib_harness *h = t04_run("bio.percist_ref", "image", img, NULL, NULL, p, 1, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "blood-pool cylinder: runs")) {
        is_string(str(t, "reference"), "blood_pool", "reference blood_pool");
        is_int(t04_i(t, 0, "voxels"), 65, "65 voxels: 13 per slice x 5 slices");
        is_double(t04_d(t, 0, "ref_mean"), 1.0, 1e-12, "mean 1.0");
        is_double(t04_d(t, 0, "ref_sd"), sqrt(0.02), 1e-12, "SD sqrt(0.02)");
        is_double(t04_d(t, 0, "threshold"), 2.0 + 2 * sqrt(0.02), 1e-12,
                  "threshold 2.0 x mean + 2 SD = %.6f", 2.0 + 2 * sqrt(0.02));
        is_double(t04_d(t, 0, "factor"), 2.0, 0, "factor 2.0");
    } else {
        diag("%s", qib_harness_error(h));
        skip(6, "no table");
    }
    qib_harness_free(&h);

    /* Length 10 mm: only k in -1..1, 39 voxels, mean 1, variance
     * (0.01 + 0 + 0.01) / 3. */
    const char *const p2[] = {"reference", "blood_pool", "point", "[10, 10, 20]",
                              "aorta_length_mm", "10", NULL};
    h = t04_run("bio.percist_ref", "image", img, NULL, NULL, p2, 1, &rc);
    t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "cylinder 10 mm long: runs")) {
        is_int(t04_i(t, 0, "voxels"), 39, "39 voxels: 13 x 3 slices");
        is_double(t04_d(t, 0, "ref_sd"), sqrt(0.02 / 3), 1e-12, "SD sqrt(0.02/3)");
    } else {
        skip(2, "no table");
    }
    qib_harness_free(&h);

    /* A 1 mm x 1 mm cylinder at (11.25, 11.25, 22.5), between voxel
     * centres (index 4.5, 4.5, 4.5): the nearest centre is 1.77 mm off its
     * axis, so the region holds no voxel. */
    const char *const p3[] = {"reference", "blood_pool", "point", "[11.25, 11.25, 22.5]",
                              "aorta_diameter_mm", "1", "aorta_length_mm", "1", NULL};
    h = t04_run("bio.percist_ref", "image", img, NULL, NULL, p3, 1, &rc);
    ok(rc != QIB_OK, "region smaller than a voxel: refused");
    contains(qib_harness_error(h), "contains no voxel centre", "the message says it is empty");
    qib_harness_free(&h);

    /* Half-NaN: the slices k = -2, -1 of the cylinder are NaN and left out;
     * the other 39 voxels hold 1.0, 1.1, 1.2: mean 1.1, variance 0.02/3. */
    for (int k = 2; k <= 3; k++)
        for (int j = 0; j < M; j++)
            for (int i = 0; i < M; i++)
                vals[IDM(i, j, k)] = NAN;
    qib_volume *nan_img = t04_volume(QIB_F64, M, M, M, 1, sp, vals);
    set_units(nan_img, "SUL");
    h = t04_run("bio.percist_ref", "image", nan_img, NULL, NULL, p, 1, &rc);
    t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "cylinder with NaN slices: runs")) {
        is_int(t04_i(t, 0, "voxels"), 65, "voxels counts the region, 65");
        is_double(t04_d(t, 0, "ref_mean"), 1.1, 1e-12, "NaN left out: mean 1.1");
        is_double(t04_d(t, 0, "ref_sd"), sqrt(0.02 / 3), 1e-12, "NaN left out: SD sqrt(0.02/3)");
    } else {
        diag("%s", qib_harness_error(h));
        skip(3, "no table");
    }
    qib_harness_free(&h);
    qib_volume_unref(&nan_img);
    qib_volume_unref(&img);
}

/* ---- the liver sphere inside a liver mask ----
 * 19x13x13 voxels of 5 mm, origin 0; the mask is the box x 2..16, y 2..10,
 * z 2..10 (15 x 9 x 9 voxels).  A voxel's distance to the nearest voxel
 * outside the mask is 5 mm x its steps to the nearest face beyond the box:
 * at most 25 mm, at y = z = 6 and x in 6..12.  The centroid is at x index 9
 * (45 mm); the patient's right (LPS: smaller x) holds x 6..9 at 25 mm, and
 * the first in raster order is (6,6,6): world (30, 30, 30).  Voxels hold
 * 1 + 0.01 x (x index), so the sphere's mean is 1.06 and its SD
 * 0.01 sqrt(sum i^2 / 123) = 0.01 sqrt(236/123) (sum of i^2 + j^2 + k^2 over
 * the 123 offsets is 708, a third of it per axis).
 * With the x axis reversed (direction -1), the patient's right is at larger
 * index: x 9..12 at 25 mm, first (9,6,6), mean 1.09. */
#define BX 19
#define BY 13
#define BZ 13

static void liver_box(qib_volume **img, qib_volume **msk, int ylo, int yhi, int flip)
{
    static double vals[BX * BY * BZ];
    static uint8_t lab[BX * BY * BZ];
    const double sp[3] = {5, 5, 5}, o[3] = {0, 0, 0};
    const double dir[9] = {-1, 0, 0, 0, 1, 0, 0, 0, 1};
    for (int k = 0; k < BZ; k++)
        for (int j = 0; j < BY; j++)
            for (int i = 0; i < BX; i++) {
                size_t at = ((size_t)k * BY + (size_t)j) * BX + (size_t)i;
                vals[at] = 1 + 0.01 * i;
                lab[at] = i >= 2 && i <= 16 && j >= ylo && j <= yhi && k >= 2 && k <= 10;
            }
    *img = t04_volume(QIB_F64, BX, BY, BZ, 1, sp, vals);
    set_origin_dir(*img, o, flip ? dir : NULL);
    set_units(*img, "SUL");
    *msk = t04_mask(qib_volume_geom(*img), lab);
}

static void liver_mask(int flip)
{
    qib_volume *img, *msk;
    liver_box(&img, &msk, 2, 10, flip);
    const char *const p[] = {"place", "mask", NULL};
    const char *what = flip ? "liver mask, x axis reversed" : "liver mask";
    int rc;
    qib_harness *h = t04_run("bio.percist_ref", "image", img, "mask", msk, p, 1, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "%s: runs", what)) {
        double cx = flip ? -45 : 30, mean = flip ? 1.09 : 1.06;
        is_double(t04_d(t, 0, "centre_x"), cx, 1e-9, "%s: centre x %g mm (index %d)", what, cx,
                  flip ? 9 : 6);
        is_double(t04_d(t, 0, "centre_y"), 30, 1e-9, "%s: centre y 30 mm", what);
        is_double(t04_d(t, 0, "centre_z"), 30, 1e-9, "%s: centre z 30 mm", what);
        is_double(t04_d(t, 0, "mask_depth_mm"), 25, 1e-9, "%s: 25 mm from the mask's edge",
                  what);
        is_int(t04_i(t, 0, "voxels"), 123, "%s: 123 voxels", what);
        is_double(t04_d(t, 0, "ref_mean"), mean, 1e-12, "%s: mean %g", what, mean);
        is_double(t04_d(t, 0, "ref_sd"), 0.01 * sqrt(236.0 / 123), 1e-12,
                  "%s: SD 0.01 sqrt(236/123)", what);
        contains(str(t, "placement"), "mask", "%s: placement says mask", what);
    } else {
        diag("%s", qib_harness_error(h));
        skip(8, "no table");
    }
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
}

/* A mask 7 voxels thick (y 2..8): deepest 20 mm, the sphere fits.  5 voxels
 * thick (y 2..6): deepest 15 mm, so a voxel outside the mask lies exactly
 * on the sphere's surface, which belongs to the sphere: refused. */
static void liver_mask_thin(void)
{
    qib_volume *img, *msk;
    int rc;
    const char *const p[] = {"place", "mask", NULL};
    liver_box(&img, &msk, 2, 8, 0);
    qib_harness *h = t04_run("bio.percist_ref", "image", img, "mask", msk, p, 1, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "mask 7 voxels thick: the sphere fits"))
        is_double(t04_d(t, 0, "mask_depth_mm"), 20, 1e-9, "mask 7 voxels thick: depth 20 mm");
    else
        skip(1, "no table");
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);

    liver_box(&img, &msk, 2, 6, 0);
    h = t04_run("bio.percist_ref", "image", img, "mask", msk, p, 1, &rc);
    ok(rc != QIB_OK, "mask 5 voxels thick: refused");
    contains(qib_harness_error(h), "no 30 mm reference sphere fits inside the liver mask",
             "mask 5 voxels thick: the message says the sphere does not fit");
    contains(qib_harness_error(h), "15 mm from the nearest voxel outside",
             "mask 5 voxels thick: the message gives the depth");
    qib_harness_free(&h);

    /* Placed by a point in the mask's middle (40, 20, 30): 15 mm from y 1
     * and y 7, both outside: refused, with the count of voxels outside. */
    const char *const p2[] = {"point", "[40, 20, 30]", NULL};
    h = t04_run("bio.percist_ref", "image", img, "mask", msk, p2, 1, &rc);
    ok(rc != QIB_OK, "point whose sphere leaves the mask: refused");
    contains(qib_harness_error(h), "is not inside the mask: 2 of its 123 voxels",
             "the message counts the 2 voxels outside the mask");
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);

    /* The same point in the thick mask (y 2..10): accepted. */
    liver_box(&img, &msk, 2, 10, 0);
    const char *const p3[] = {"point", "[40, 30, 30]", NULL};
    h = t04_run("bio.percist_ref", "image", img, "mask", msk, p3, 1, &rc);
    t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "point with the sphere inside the mask: accepted"))
        is_double(t04_d(t, 0, "ref_mean"), 1.08, 1e-12, "mean 1 + 0.01 x 8");
    else
        skip(1, "no table");
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
}

/* A ball-shaped mask (offsets with i^2 + j^2 + k^2 <= 20 around voxel
 * (7,7,7) of a 15^3 grid of 5 mm): its deepest voxel is the centre, whose
 * nearest outside voxels lie at i^2 + j^2 + k^2 = 21 (e.g. (4,2,1)):
 * 5 sqrt(21) mm, a distance along no axis, which the distance transform
 * must get exactly.  Values 1 + 0.01 x: mean 1.07. */
static void liver_ball(void)
{
    enum { B = 15 };
    static double vals[B * B * B];
    static uint8_t lab[B * B * B];
    const double sp[3] = {5, 5, 5};
    for (int k = 0; k < B; k++)
        for (int j = 0; j < B; j++)
            for (int i = 0; i < B; i++) {
                size_t at = ((size_t)k * B + (size_t)j) * B + (size_t)i;
                vals[at] = 1 + 0.01 * i;
                lab[at] = (i - 7) * (i - 7) + (j - 7) * (j - 7) + (k - 7) * (k - 7) <= 20;
            }
    qib_volume *img = t04_volume(QIB_F64, B, B, B, 1, sp, vals);
    set_units(img, "SUL");
    qib_volume *msk = t04_mask(qib_volume_geom(img), lab);
    const char *const p[] = {"place", "mask", NULL};
    int rc;
    qib_harness *h = t04_run("bio.percist_ref", "image", img, "mask", msk, p, 1, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "ball-shaped liver mask: runs")) {
        is_double(t04_d(t, 0, "mask_depth_mm"), 5 * sqrt(21.0), 1e-9,
                  "ball: depth 5 sqrt(21) mm at the centre");
        is_double(t04_d(t, 0, "centre_x"), 35, 1e-9, "ball: centre x 35 mm (index 7)");
        is_double(t04_d(t, 0, "centre_y"), 35, 1e-9, "ball: centre y 35 mm");
        is_double(t04_d(t, 0, "ref_mean"), 1.07, 1e-12, "ball: mean 1.07");
    } else {
        diag("%s", qib_harness_error(h));
        skip(4, "no table");
    }
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
}

/* Run with the given parameters on a fresh liver volume whose "units" are
 * @p units (NULL: none), and return the status and error. */
static int run_liver(const char *units, const char *const *p, char *err, size_t len,
                     const qib_table **out, qib_harness **hp)
{
    qib_volume *img = liver_volume();
    if (units)
        set_units(img, units);
    else
        qib_meta_remove(qib_volume_meta_mut(img), "units");
    int rc;
    qib_harness *h = t04_run("bio.percist_ref", "image", img, NULL, NULL, p, 1, &rc);
    snprintf(err, len, "%s", qib_harness_error(h));
    *out = qib_harness_out_table(h, "table");
    *hp = h;
    qib_volume_unref(&img);
    return rc;
}

static void units(void)
{
    char err[1024];
    const qib_table *t;
    qib_harness *h;
    const char *const p[] = {"point", "[-75, 75, 45]", NULL};
    int rc = run_liver(NULL, p, err, sizeof err, &t, &h);
    ok(rc != QIB_OK, "no units metadata, no units parameter: refused");
    contains(err, "no \"units\" metadata", "the message says the image has no units");
    contains(err, "units: SUL", "the message says how to declare SUL");
    qib_harness_free(&h);

    const char *const p2[] = {"point", "[-75, 75, 45]", "units", "SUL", NULL};
    rc = run_liver(NULL, p2, err, sizeof err, &t, &h);
    if (ok(rc == QIB_OK && t, "no units metadata, units: SUL: accepted"))
        is_string(qib_table_col_unit(t, t04_col(t, "threshold")), "SUL", "threshold in SUL");
    else
        skip(1, "no table");
    qib_harness_free(&h);

    rc = run_liver("SUVbw", p, err, sizeof err, &t, &h);
    ok(rc != QIB_OK, "SUVbw image: refused");
    contains(err, "PERCIST 1.0 is defined on SUL", "the message says PERCIST needs SUL");
    qib_harness_free(&h);

    const char *const p3[] = {"point", "[-75, 75, 45]", "allow_suv", "true", NULL};
    rc = run_liver("SUVbw", p3, err, sizeof err, &t, &h);
    if (ok(rc == QIB_OK && t, "SUVbw image with allow_suv: accepted"))
        is_string(qib_table_col_unit(t, t04_col(t, "ref_mean")), "SUVbw",
                  "allow_suv: the columns keep the image's unit");
    else
        skip(1, "no table");
    qib_harness_free(&h);

    rc = run_liver("SUVlbm", p, err, sizeof err, &t, &h);
    ok(rc == QIB_OK, "SUVlbm image (SUL by another name): accepted");
    qib_harness_free(&h);

    rc = run_liver("SUL", p2, err, sizeof err, &t, &h);
    ok(rc == QIB_OK, "metadata SUL and units: SUL agree: accepted");
    qib_harness_free(&h);
    const char *const p4[] = {"point", "[-75, 75, 45]", "units", "SUVbw", NULL};
    rc = run_liver("SUL", p4, err, sizeof err, &t, &h);
    ok(rc != QIB_OK, "metadata SUL but units: SUVbw: refused");
    contains(err, "the parameter says \"SUVbw\" but the image's metadata says \"SUL\"",
             "the message names both units");
    qib_harness_free(&h);
}

static void bad_input(void)
{
    char err[1024];
    const qib_table *t;
    qib_harness *h;
    int rc;

    /* The image spans x -102.5 .. -47.5 mm: x = -40 is outside. */
    const char *const p[] = {"point", "[-40, 75, 45]", NULL};
    rc = run_liver("SUL", p, err, sizeof err, &t, &h);
    ok(rc != QIB_OK, "point outside the image: refused");
    contains(err, "lies outside the image", "the message says the point is outside");
    qib_harness_free(&h);

    /* Voxel (1,5,5), x = -95 mm: the sphere reaches index -2. */
    const char *const p2[] = {"point", "[-95, 75, 45]", NULL};
    rc = run_liver("SUL", p2, err, sizeof err, &t, &h);
    ok(rc != QIB_OK, "sphere reaching outside the image: refused");
    contains(err, "reaches outside the image", "the message says the sphere leaves the image");
    qib_harness_free(&h);

    const char *const p3[] = {"place", "mask", NULL};
    rc = run_liver("SUL", p3, err, sizeof err, &t, &h);
    ok(rc != QIB_OK, "place: mask without a mask: refused");
    contains(err, "needs a liver mask", "the message asks for the mask");
    qib_harness_free(&h);

    const char *const p4[] = {"reference", "blood_pool", "place", "mask", NULL};
    rc = run_liver("SUL", p4, err, sizeof err, &t, &h);
    ok(rc != QIB_OK, "blood_pool with place: mask: refused");
    contains(err, "placed by a point in the descending aorta", "the message says why");
    qib_harness_free(&h);

    const char *const p5[] = {"liver_diameter_mm", "0", NULL};
    rc = run_liver("SUL", p5, err, sizeof err, &t, &h);
    ok(rc != QIB_OK, "liver_diameter_mm 0: refused");
    contains(err, "liver_diameter_mm", "the message names the parameter");
    qib_harness_free(&h);

    const char *const p6[] = {"reference", "spleen", NULL};
    rc = run_liver("SUL", p6, err, sizeof err, &t, &h);
    ok(rc != QIB_OK, "reference spleen: refused");
    qib_harness_free(&h);

    /* A mask on a grid shifted by one voxel. */
    qib_volume *img, *msk;
    liver_box(&img, &msk, 2, 10, 0);
    struct qib_geom g = *qib_volume_geom(img);
    g.origin[0] += 5;
    qib_volume *other = NULL;
    if (qib_mask_new(&g, &other) != QIB_OK)
        bail("mask");
    memcpy(qib_volume_data_mut(other), qib_volume_data(msk), qib_volume_nvox(msk));
    h = t04_run("bio.percist_ref", "image", img, "mask", other, p3, 1, &rc);
    ok(rc == QIB_EGEOMETRY, "mask on another grid: refused (QIB_EGEOMETRY)");
    contains(qib_harness_error(h), "mask", "the message names the mask");
    qib_harness_free(&h);
    qib_volume_unref(&other);

    /* An empty liver mask. */
    qib_volume *empty = t04_mask(qib_volume_geom(img), NULL);
    h = t04_run("bio.percist_ref", "image", img, "mask", empty, p3, 1, &rc);
    ok(rc != QIB_OK, "empty liver mask: refused");
    contains(qib_harness_error(h), "the liver mask is empty", "the message says it is empty");
    qib_harness_free(&h);
    qib_volume_unref(&empty);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
}

int main(void)
{
    plan_lazy();
    liver_point();
    blood_pool();
    liver_mask(0);
    liver_mask(1);
    liver_mask_thin();
    liver_ball();
    units();
    bad_input();
    return tap_done();
}
