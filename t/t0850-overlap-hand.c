/* bio.overlap on masks whose agreement is worked out by hand below: two
 * cubes offset by one voxel on an anisotropic grid, a line against its
 * half (a spread of distances for the 95th percentile), one label of
 * several, and empty masks. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "t0400-util.h"

static qib_volume *grid_mask(size_t nx, size_t ny, size_t nz, const double sp[3])
{
    qib_volume *v = t04_volume(QIB_F32, nx, ny, nz, 1, sp, NULL);
    qib_volume *m = t04_mask(qib_volume_geom(v), NULL);
    qib_volume_unref(&v);
    return m;
}

static void set(qib_volume *m, size_t i, size_t j, size_t k, uint8_t val)
{
    const struct qib_geom *g = qib_volume_geom(m);
    ((uint8_t *)qib_volume_data_mut(m))[(k * g->dims[1] + j) * g->dims[0] + i] = val;
}

static qib_harness *run(qib_volume *a, qib_volume *b, const char *label, int threads, int *rc)
{
    const char *const p[] = {"label", label, NULL};
    return t04_run("bio.overlap", "a", a, "b", b, label ? p : NULL, threads, rc);
}

/* 6x6x6 voxels of 1 x 1 x 2 mm (2 mm^3).  A: the cube i, j, k in 1..3
 * (27 voxels); B: the same cube one voxel further along z (k in 2..4).
 * They share k = 2, 3: 18 voxels.
 *   Dice 2*18/(27+27) = 2/3; Jaccard 18/(27+27-18) = 1/2;
 *   volumes 27 * 2 mm^3 = 0.054 mL each, difference 0 (0 %).
 * Surface of A: its 26 voxels but the centre (2,2,2); of B: all but (2,2,3).
 * From A's surface to B's:
 *   k = 1 face (9 voxels): B's nearest surface voxel is straight above at
 *     k = 2 (B's bottom face): 2 mm;
 *   k = 2 ring (8 voxels): on B's bottom face: 0;
 *   k = 3 face: 8 voxels are on B's surface (0); (2,2,3) is B's centre,
 *     whose nearest surface voxels are its x or y neighbours at 1 mm (z
 *     neighbours are 2 mm away): 1 mm.
 *   So 16 zeros, one 1, nine 2s.  By symmetry the same from B to A.
 * Pooled (52 values): 32 zeros, 2 ones, 18 twos.
 *   Hausdorff 2 mm; 95th percentile: h = 51 * 0.95 = 48.45, x[48] = x[49]
 *   = 2: 2 mm; ASSD (2*1 + 18*2)/52 = 38/52 mm. */
static void cubes(void)
{
    const double sp[3] = {1, 1, 2};
    qib_volume *a = grid_mask(6, 6, 6, sp), *b = grid_mask(6, 6, 6, sp);
    for (size_t k = 1; k <= 3; k++)
        for (size_t j = 1; j <= 3; j++)
            for (size_t i = 1; i <= 3; i++) {
                set(a, i, j, k, 1);
                set(b, i, j, k + 1, 1);
            }
    for (int threads = 1; threads <= 3; threads += 2) {
        int rc;
        qib_harness *h = run(a, b, NULL, threads, &rc);
        const qib_table *t = qib_harness_out_table(h, "table");
        if (!ok(rc == QIB_OK && t && qib_table_nrows(t) == 1, "cubes, %d thread(s): one row",
                threads)) {
            diag("%s", qib_harness_error(h));
            qib_harness_free(&h);
            continue;
        }
        is_int(t04_i(t, 0, "voxels_a"), 27, "cubes: 27 voxels in a");
        is_int(t04_i(t, 0, "voxels_b"), 27, "cubes: 27 voxels in b");
        is_double(t04_d(t, 0, "volume_a_ml"), 0.054, 1e-15, "cubes: volume a 27 x 2 mm^3");
        is_double(t04_d(t, 0, "volume_b_ml"), 0.054, 1e-15, "cubes: volume b");
        is_double(t04_d(t, 0, "volume_diff_ml"), 0, 0, "cubes: no volume difference");
        is_double(t04_d(t, 0, "volume_diff_pct"), 0, 0, "cubes: 0 %%");
        is_double(t04_d(t, 0, "dice"), 2.0 / 3, 1e-15, "cubes: Dice 2/3");
        is_double(t04_d(t, 0, "jaccard"), 0.5, 1e-15, "cubes: Jaccard 1/2");
        is_double(t04_d(t, 0, "hausdorff_mm"), 2, 0, "cubes: Hausdorff 2 mm (one z step)");
        is_double(t04_d(t, 0, "hausdorff95_mm"), 2, 0, "cubes: HD95 2 mm");
        is_double(t04_d(t, 0, "assd_mm"), 38.0 / 52, 1e-15, "cubes: ASSD 38/52 mm");
        qib_harness_free(&h);
    }
    qib_volume_unref(&a);
    qib_volume_unref(&b);
}

/* 1x1x10 voxels of 1 x 1 x 2 mm: every voxel touches the outside, so every
 * foreground voxel is a surface voxel.  A: k = 0..9 (10 voxels, 0.02 mL);
 * B: k = 0..4 (5 voxels, 0.01 mL).  Intersection 5: Dice 10/15, Jaccard
 * 5/10; volume difference -0.01 mL, -50 %.
 * A to B: k = 0..4 give 0, k = 5..9 give 2, 4, 6, 8, 10 mm; B to A: 0.
 * Pooled (15): ten zeros, 2, 4, 6, 8, 10.  Hausdorff 10 mm; h = 14 * 0.95
 * = 13.3: x[13] + 0.3 (x[14] - x[13]) = 8 + 0.6 = 8.6 mm; ASSD 30/15 =
 * 2 mm.  As label 2 among other labels (label 1 elsewhere in b, which
 * label = 2 must ignore). */
static void line(void)
{
    const double sp[3] = {1, 1, 2};
    qib_volume *a = grid_mask(1, 1, 10, sp), *b = grid_mask(1, 1, 10, sp);
    for (size_t k = 0; k < 10; k++) {
        set(a, 0, 0, k, 2);
        set(b, 0, 0, k, k < 5 ? 2 : 1);
    }
    for (int lab = 0; lab < 2; lab++) {
        int rc;
        qib_harness *h = run(a, b, lab ? "2" : NULL, 1, &rc);
        const qib_table *t = qib_harness_out_table(h, "table");
        if (lab == 0) {
            /* label 0: b is non-zero everywhere, as a: identical masks */
            if (!ok(rc == QIB_OK && t, "line, any label: runs")) {
                diag("%s", qib_harness_error(h));
                qib_harness_free(&h);
                continue;
            }
            is_double(t04_d(t, 0, "dice"), 1, 0, "line, any label: Dice 1");
            is_double(t04_d(t, 0, "hausdorff_mm"), 0, 0, "line, any label: Hausdorff 0");
            qib_harness_free(&h);
            continue;
        }
        if (!ok(rc == QIB_OK && t, "line, label 2: runs")) {
            diag("%s", qib_harness_error(h));
            qib_harness_free(&h);
            continue;
        }
        is_int(t04_i(t, 0, "voxels_a"), 10, "line: 10 voxels in a");
        is_int(t04_i(t, 0, "voxels_b"), 5, "line: 5 voxels of label 2 in b");
        is_double(t04_d(t, 0, "volume_diff_ml"), -0.01, 1e-15, "line: b - a = -0.01 mL");
        is_double(t04_d(t, 0, "volume_diff_pct"), -50, 1e-12, "line: -50 %%");
        is_double(t04_d(t, 0, "dice"), 10.0 / 15, 1e-15, "line: Dice 10/15");
        is_double(t04_d(t, 0, "jaccard"), 0.5, 1e-15, "line: Jaccard 5/10");
        is_double(t04_d(t, 0, "hausdorff_mm"), 10, 0, "line: Hausdorff 10 mm");
        is_double(t04_d(t, 0, "hausdorff95_mm"), 8.6, 1e-12, "line: HD95 8 + 0.3 x 2 mm");
        is_double(t04_d(t, 0, "assd_mm"), 2, 1e-15, "line: ASSD 30/15 mm");
        qib_harness_free(&h);
    }
    qib_volume_unref(&a);
    qib_volume_unref(&b);
}

/* Empty masks: a empty and b one voxel: Dice and Jaccard 0, volume
 * difference +1 voxel but no percentage (NaN), distances NaN.  Both empty:
 * Dice and Jaccard 1 (nothing to disagree about), distances NaN. */
static void empty(void)
{
    const double sp[3] = {1, 1, 1};
    qib_volume *a = grid_mask(3, 3, 3, sp), *b = grid_mask(3, 3, 3, sp);
    set(b, 1, 1, 1, 1);
    for (int both = 0; both < 2; both++) {
        int rc;
        qib_harness *h = run(a, b, both ? "7" : NULL, 1, &rc);
        const qib_table *t = qib_harness_out_table(h, "table");
        if (!ok(rc == QIB_OK && t, "empty (%s): runs", both ? "both" : "a")) {
            diag("%s", qib_harness_error(h));
            qib_harness_free(&h);
            continue;
        }
        is_double(t04_d(t, 0, "dice"), both ? 1 : 0, 0, "empty (%s): Dice %d",
                  both ? "both" : "a", both);
        is_double(t04_d(t, 0, "jaccard"), both ? 1 : 0, 0, "empty (%s): Jaccard %d",
                  both ? "both" : "a", both);
        is_double(t04_d(t, 0, "volume_diff_ml"), both ? 0 : 0.001, 1e-18,
                  "empty (%s): volume difference", both ? "both" : "a");
        ok(isnan(t04_d(t, 0, "volume_diff_pct")), "empty (%s): no percentage",
           both ? "both" : "a");
        ok(isnan(t04_d(t, 0, "hausdorff_mm")) && isnan(t04_d(t, 0, "hausdorff95_mm")) &&
               isnan(t04_d(t, 0, "assd_mm")),
           "empty (%s): distances NaN", both ? "both" : "a");
        qib_harness_free(&h);
    }
    qib_volume_unref(&a);
    qib_volume_unref(&b);
}

int main(void)
{
    plan(2 * 12 + 3 + 10 + 2 * 6);
    cubes();
    line();
    empty();
    return tap_done();
}
