/* bio.suv on small volumes whose values are worked out by hand below:
 * SUVmax/mean/min/SD, the local and global peaks (sphere membership by
 * world distance, clipped to the image), MTV, TLG, SUL naming and units,
 * a mask on another grid, and parameters refused. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "t0400-util.h"

#define N 5
#define IDX(i, j, k) (((k) * N + (j)) * N + (i))

static void set_units(qib_volume *v, const char *unit)
{
    if (qib_meta_set(qib_volume_meta_mut(v), "units", unit, "test") != QIB_OK)
        bail("cannot set units");
}

static const char *col_unit(const qib_table *t, const char *name)
{
    const char *u = qib_table_col_unit(t, t04_col(t, name));
    return u ? u : "(none)";
}

/* 5x5x5 at 2 mm, radius 6.2 mm: an offset (i,j,k) in voxels is inside
 * when (2i)^2 + (2j)^2 + (2k)^2 <= 38.44, i.e. i^2 + j^2 + k^2 <= 9.
 *
 * Label 1: voxels (2,2,2) = 10 and (3,2,2) = 4.  Label 2: (0,0,0) = 2.
 * Everything else 0.
 *
 * Sphere at (2,2,2): the image allows offsets -2..2 on each axis; of these
 * 125 only the 8 corners (+-2,+-2,+-2) (sum 12) are outside: 117 voxels,
 * holding both hot voxels: mean 14/117.  (The full sphere has 123 offsets;
 * the 6 at distance 3 along an axis fall outside the image.)
 * Sphere at (3,2,2): di in -3..1, dj, dk in -2..2.
 *   di = 0: dj^2 + dk^2 <= 9: all 25;  di = +-1: <= 8: all 25 each (50);
 *   di = -2: <= 5: 25 - 4 corners = 21;  di = -3: only (0, 0): 1.
 *   97 voxels, both hot voxels inside: mean 14/97.
 * Local peak (hottest voxel (2,2,2)): 14/117; global: max(14/117, 14/97)
 * = 14/97.  Mean 7, SD (population) 3, min 4, max 10; MTV 2 x 8 mm^3 =
 * 0.016 mL; TLG 0.016 x 7 = 0.112 mL*SUVbw.
 * Sphere at (0,0,0): offsets 0..2 on each axis: 27 minus (2,2,2) = 26,
 * plus (3,0,0), (0,3,0), (0,0,3): 29 voxels; the hot voxels are at index
 * distance^2 12 and 11: outside.  Both peaks 2/29; MTV 0.008 mL, TLG
 * 0.016. */
static void two_labels(void)
{
    double vals[N * N * N] = {0};
    uint8_t lab[N * N * N] = {0};
    const double sp[3] = {2, 2, 2};
    vals[IDX(2, 2, 2)] = 10;
    vals[IDX(3, 2, 2)] = 4;
    vals[IDX(0, 0, 0)] = 2;
    lab[IDX(2, 2, 2)] = lab[IDX(3, 2, 2)] = 1;
    lab[IDX(0, 0, 0)] = 2;
    qib_volume *img = t04_volume(QIB_F32, N, N, N, 1, sp, vals);
    set_units(img, "SUVbw");
    qib_volume *msk = t04_mask(qib_volume_geom(img), lab);
    const char *const p[] = {"peak_radius_mm", "6.2", NULL};
    for (int threads = 1; threads <= 3; threads += 2) {
        int rc;
        qib_harness *h = t04_run("bio.suv", "image", img, "mask", msk, p, threads, &rc);
        const qib_table *t = qib_harness_out_table(h, "table");
        if (!ok(rc == QIB_OK && t && qib_table_nrows(t) == 2, "two labels, %d thread(s): 2 rows",
                threads)) {
            diag("%s", qib_harness_error(h));
            qib_harness_free(&h);
            continue;
        }
        is_int(t04_i(t, 0, "label"), 1, "row 0 is label 1");
        is_double(t04_d(t, 0, "suv_max"), 10, 0, "label 1: max 10");
        is_double(t04_d(t, 0, "suv_mean"), 7, 1e-12, "label 1: mean (10+4)/2");
        is_double(t04_d(t, 0, "suv_min"), 4, 0, "label 1: min 4");
        is_double(t04_d(t, 0, "suv_sd"), 3, 1e-12, "label 1: population SD 3");
        is_double(t04_d(t, 0, "suv_peak_local"), 14.0 / 117, 1e-12,
                  "label 1: local peak 14/117 (117-voxel sphere at the hottest voxel)");
        is_double(t04_d(t, 0, "suv_peak_global"), 14.0 / 97, 1e-12,
                  "label 1: global peak 14/97 (97-voxel sphere at the border voxel)");
        is_double(t04_d(t, 0, "mtv_ml"), 0.016, 1e-15, "label 1: MTV 2 x 8 mm^3");
        is_double(t04_d(t, 0, "tlg"), 0.112, 1e-14, "label 1: TLG 0.016 x 7");
        is_int(t04_i(t, 1, "label"), 2, "row 1 is label 2");
        is_double(t04_d(t, 1, "suv_sd"), 0, 0, "label 2: SD 0");
        is_double(t04_d(t, 1, "suv_peak_local"), 2.0 / 29, 1e-12, "label 2: local peak 2/29");
        is_double(t04_d(t, 1, "suv_peak_global"), 2.0 / 29, 1e-12, "label 2: global peak 2/29");
        is_double(t04_d(t, 1, "mtv_ml"), 0.008, 1e-15, "label 2: MTV 8 mm^3");
        is_double(t04_d(t, 1, "tlg"), 0.016, 1e-15, "label 2: TLG 0.008 x 2");
        is_string(col_unit(t, "suv_peak_global"), "SUVbw", "peak unit is the image's");
        is_string(col_unit(t, "mtv_ml"), "mL", "MTV in mL");
        is_string(col_unit(t, "tlg"), "mL*SUVbw", "TLG in mL*SUVbw");
        qib_harness_free(&h);
    }
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
}

/* 5x5x5 at 2 x 2 x 4 mm, one hot voxel (2,2,2) = 10, label 1 = that voxel.
 * Inside: (2i)^2 + (2j)^2 + (4k)^2 <= 38.44, i.e. i^2 + j^2 + 4k^2 <= 9:
 *   k = 0: i^2 + j^2 <= 9 over -2..2: all 25;
 *   k = +-1: i^2 + j^2 <= 5: 25 - 4 corners = 21 each (42);  |k| = 2: none.
 *   67 voxels: peak 10/67.  MTV 16 mm^3 = 0.016 mL, TLG 0.16.
 * The same with the axes x and y swapped by the direction matrix (world
 * distances do not change). Units SUL: columns sul_*. */
static void anisotropic(int swap)
{
    double vals[N * N * N] = {0};
    uint8_t lab[N * N * N] = {0};
    const double sp[3] = {2, 2, 4};
    vals[IDX(2, 2, 2)] = 10;
    lab[IDX(2, 2, 2)] = 1;
    qib_volume *img = t04_volume(QIB_F64, N, N, N, 1, sp, vals);
    if (swap) {
        struct qib_geom g = *qib_volume_geom(img);
        const double d[9] = {0, 1, 0, 1, 0, 0, 0, 0, 1};
        memcpy(g.dir, d, sizeof d);
        if (qib_volume_set_geom(img, &g) != QIB_OK)
            bail("set_geom");
    }
    set_units(img, "SUL");
    qib_volume *msk = t04_mask(qib_volume_geom(img), lab);
    int rc;
    qib_harness *h = t04_run("bio.suv", "image", img, "mask", msk, NULL, 2, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    const char *what = swap ? "2x2x4 mm, x/y swapped" : "2x2x4 mm";
    if (ok(rc == QIB_OK && t && qib_table_nrows(t) == 1, "%s: one row", what)) {
        is_double(t04_d(t, 0, "sul_peak_local"), 10.0 / 67, 1e-12,
                  "%s: local peak 10/67 (67-voxel sphere, default radius)", what);
        is_double(t04_d(t, 0, "sul_peak_global"), 10.0 / 67, 1e-12, "%s: global peak 10/67",
                  what);
        is_double(t04_d(t, 0, "sul_max"), 10, 0, "%s: max 10", what);
        is_double(t04_d(t, 0, "mtv_ml"), 0.016, 1e-15, "%s: MTV 16 mm^3", what);
        is_double(t04_d(t, 0, "tlg"), 0.16, 1e-15, "%s: TLG 0.016 x 10", what);
        is_string(col_unit(t, "sul_mean"), "SUL", "%s: unit SUL", what);
    } else {
        diag("%s", qib_harness_error(h));
        skip(6, "no table");
    }
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
}

/* Ties for the hottest voxel: IBSI takes the highest of their peaks.
 * 5x5x5 at 2 mm, radius 6.2 mm; label 1 = (2,2,2) = 10 and (4,2,2) = 10.
 * Sphere at (2,2,2): 117 voxels (see two_labels), both hot voxels inside
 * (offset (2,0,0)): 20/117.  Sphere at (4,2,2): di in -4..0, dj, dk in
 * -2..2: di = 0: 25, di = -1: 25, di = -2: 21, di = -3: 1 (72 voxels),
 * both inside: 20/72.  The voxel first in memory, (2,2,2), would give
 * 20/117; the rule gives 20/72. */
static void tie(void)
{
    double vals[N * N * N] = {0};
    uint8_t lab[N * N * N] = {0};
    const double sp[3] = {2, 2, 2};
    vals[IDX(2, 2, 2)] = vals[IDX(4, 2, 2)] = 10;
    lab[IDX(2, 2, 2)] = lab[IDX(4, 2, 2)] = 1;
    qib_volume *img = t04_volume(QIB_F32, N, N, N, 1, sp, vals);
    qib_volume *msk = t04_mask(qib_volume_geom(img), lab);
    const char *const p[] = {"peak_radius_mm", "6.2", NULL};
    int rc;
    qib_harness *h = t04_run("bio.suv", "image", img, "mask", msk, p, 1, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t && qib_table_nrows(t) == 1, "tie: one row"))
        is_double(t04_d(t, 0, "suv_peak_local"), 20.0 / 72, 1e-12,
                  "tie: local peak is the highest of the tied voxels' peaks (20/72)");
    else
        skip(1, "no table");
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
}

/* A mask on a 3 mm grid against a 2 mm image: refused, naming both. */
static void other_grid(void)
{
    const double sp2[3] = {2, 2, 2}, sp3[3] = {3, 3, 3};
    qib_volume *img = t04_volume(QIB_F32, N, N, N, 1, sp2, NULL);
    qib_volume *ref = t04_volume(QIB_U8, N, N, N, 1, sp3, NULL);
    qib_volume *msk = t04_mask(qib_volume_geom(ref), NULL);
    set_units(img, "SUVbw");
    int rc;
    qib_harness *h = t04_run("bio.suv", "image", img, "mask", msk, NULL, 1, &rc);
    is_int(rc, QIB_EGEOMETRY, "mask on another grid: QIB_EGEOMETRY");
    const char *e = qib_harness_error(h);
    contains(e, "not on the image's grid", "the error says why");
    contains(e, "image: 5x5x5 voxels, spacing 2x2x2", "the error gives the image's grid");
    contains(e, "mask: 5x5x5 voxels, spacing 3x3x3", "the error gives the mask's grid");
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&ref);
    qib_volume_unref(&msk);
}

static void bad_params(void)
{
    static const char *const bad[] = {"0", "-1", "51", "abc", "nan"};
    const double sp[3] = {2, 2, 2};
    uint8_t lab[N * N * N] = {0};
    lab[0] = 1;
    qib_volume *img = t04_volume(QIB_F32, N, N, N, 1, sp, NULL);
    qib_volume *msk = t04_mask(qib_volume_geom(img), lab);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *const p[] = {"peak_radius_mm", bad[i], NULL};
        int rc;
        qib_harness *h = t04_run("bio.suv", "image", img, "mask", msk, p, 1, &rc);
        ok(rc != QIB_OK && !qib_harness_out_table(h, "table"),
           "peak_radius_mm = %s refused (%s)", bad[i], qib_harness_error(h));
        qib_harness_free(&h);
    }
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
}

int main(void)
{
    plan_lazy();
    two_labels();
    anisotropic(0);
    anisotropic(1);
    tie();
    other_grid();
    bad_params();
    return tap_done();
}
