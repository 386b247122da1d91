/* seg.sphere: voxel counts of small spheres on an anisotropic grid counted
 * by hand, the 1 mL sphere's radius, the three ways to place the centre,
 * and bad parameters. */
#include <config.h>

#include "t0500-util.h"

static qib_volume *img;
static qib_table *tab;

static qib_harness *sph(qib_volume *mask, int with_table, const char *const *params, int *rc)
{
    const char *ports[] = {"image", "mask", NULL};
    qib_volume *vols[] = {img, mask};
    return t05_run("seg.sphere", ports, vols, with_table ? tab : NULL, params, 1, rc);
}

static double cell(const qib_harness *h, const char *name)
{
    const qib_table *t = qib_harness_out_table(h, "table");
    size_t c;
    if (!t || qib_table_find(t, name, &c) != QIB_OK)
        return NAN;
    return qib_table_get_double(t, 0, c);
}

/* The sphere is at voxel (x, y, z) with n voxels. */
static void expect(const char *name, qib_harness *h, int rc, size_t x, size_t y, size_t z,
                   size_t n)
{
    const qib_volume *m = qib_harness_out_volume(h, "mask");
    is_int(rc, QIB_OK, "%s: runs (%s)", name, rc ? qib_harness_error(h) : "ok");
    ok(m && t05_count(qib_volume_data(m), qib_volume_nvox(m)) == n &&
           ((const uint8_t *)qib_volume_data(m))[x + 21 * (y + 21 * z)],
       "%s: %zu voxels around voxel (%zu, %zu, %zu)", name, n, x, y, z);
    is_double(cell(h, "centre_x"), -12.5 + (double)x, 1e-12, "%s: centre x", name);
    is_double(cell(h, "centre_z"), 7.0 + 2.0 * (double)z, 1e-12, "%s: centre z", name);
}

static void refuse(const char *name, qib_volume *mask, int with_table, const char *const *params,
                   const char *want)
{
    int rc;
    qib_harness *h = sph(mask, with_table, params, &rc);
    ok(rc != QIB_OK, "%s: refused", name);
    contains(qib_harness_error(h), want, "%s: says \"%s\"", name, want);
    qib_harness_free(&h);
}

int main(void)
{
    plan(39);
    struct qib_geom g = t05_geom(21, 21, 11, 1, 1, 2);
    img = t05_new(QIB_F32, &g);
    int rc;

    /* radius 2 mm at voxel (10,10,5) = (-2.5, 40.25, 17) mm: the 13 lattice
     * points of a disc of radius 2 in the slice, and one voxel above and
     * below (2 mm away); 15 voxels of 2 mm3 */
    qib_harness *h = sph(NULL, 0,
                         (const char *const[]){"radius_mm", "2", "point", "[-2.5, 40.25, 17]", NULL},
                         &rc);
    expect("radius 2 mm at a point", h, rc, 10, 10, 5, 15);
    is_double(cell(h, "volume_ml"), 0.03, 1e-15, "radius 2 mm: 0.03 mL of voxels");
    is_double(cell(h, "voxels"), 15, 0, "radius 2 mm: 15 voxels in the table");
    qib_harness_free(&h);

    /* 1 mL: r = (3000 / 4 pi)^(1/3) = 6.2035 mm */
    h = sph(NULL, 0, (const char *const[]){"volume_ml", "1", "point", "[-2.5, 40.25, 17]", NULL},
            &rc);
    is_int(rc, QIB_OK, "1 mL: runs");
    is_double(cell(h, "radius_mm"), 6.203504908994, 1e-11, "1 mL: radius 6.2035 mm");
    is_double(cell(h, "nominal_ml"), 1.0, 1e-12, "1 mL: nominal volume 1 mL");
    double ml = cell(h, "volume_ml");
    ok(ml > 0.9 && ml < 1.1, "1 mL: voxels hold %g mL", ml);
    qib_harness_free(&h);

    /* maximum inside a mask: 9 at (3,4,2) in the mask, 20 outside it, 9
     * again later in raster order at (5,5,3) */
    float *d = qib_volume_data_mut(img);
    d[3 + 21 * (4 + 21 * 2)] = 9;
    d[5 + 21 * (5 + 21 * 3)] = 9;
    d[15 + 21 * (15 + 21 * 8)] = 20;
    qib_volume *mask = t05_mask(&g);
    uint8_t *m = qib_volume_data_mut(mask);
    for (size_t z = 1; z <= 4; z++)
        for (size_t y = 2; y <= 6; y++)
            for (size_t x = 2; x <= 6; x++)
                m[x + 21 * (y + 21 * z)] = 1;
    h = sph(mask, 0, (const char *const[]){"radius_mm", "2", "centre", "mask_max", NULL}, &rc);
    expect("mask_max", h, rc, 3, 4, 2, 15);
    is_string(qib_harness_record(h, "maximum"), "9", "mask_max: maximum 9 recorded");
    qib_harness_free(&h);

    /* a centroid from a table (seg.components' column names) */
    size_t cx, cy, cz, row;
    if (qib_table_new(&tab) || qib_table_add_column(tab, "centroid_x", QIB_COL_DOUBLE, "mm", NULL, &cx) ||
        qib_table_add_column(tab, "centroid_y", QIB_COL_DOUBLE, "mm", NULL, &cy) ||
        qib_table_add_column(tab, "centroid_z", QIB_COL_DOUBLE, "mm", NULL, &cz) ||
        qib_table_add_row(tab, &row) || qib_table_set_double(tab, row, cx, -2.5) ||
        qib_table_set_double(tab, row, cy, 40.25) || qib_table_set_double(tab, row, cz, 17))
        bail("table");
    h = sph(NULL, 1, (const char *const[]){"radius_mm", "2", "centre", "table", NULL}, &rc);
    expect("table centroid", h, rc, 10, 10, 5, 15);
    qib_harness_free(&h);
    /* near the edge the sphere is cut: at voxel (0,0,0) a quarter of the
     * disc (6 voxels: (0,0) (1,0) (2,0) (0,1) (0,2) (1,1)) and one voxel
     * above */
    h = sph(NULL, 0, (const char *const[]){"radius_mm", "2", "point", "[-12.5, 30.25, 7]", NULL},
            &rc);
    expect("at the corner", h, rc, 0, 0, 0, 7);
    qib_harness_free(&h);

    refuse("radius and volume", NULL, 0, (const char *const[]){"radius_mm", "2", "volume_ml", "1", NULL},
           "exactly one of radius_mm");
    refuse("neither radius nor volume", NULL, 0, NULL, "exactly one of radius_mm");
    refuse("mask_max without mask", NULL, 0,
           (const char *const[]){"radius_mm", "2", "centre", "mask_max", NULL}, "needs input \"mask\"");
    struct qib_geom g2 = t05_geom(21, 21, 11, 1, 1, 2.5);
    qib_volume *other = t05_mask(&g2);
    refuse("mask on another grid", other, 0,
           (const char *const[]){"radius_mm", "2", "centre", "mask_max", NULL}, "spacing 1x1x2.5");
    qib_volume *empty = t05_mask(&g);
    refuse("empty mask", empty, 0,
           (const char *const[]){"radius_mm", "2", "centre", "mask_max", NULL}, "empty");
    refuse("table not connected", NULL, 0,
           (const char *const[]){"radius_mm", "2", "centre", "table", NULL}, "not connected");
    refuse("missing column", NULL, 1,
           (const char *const[]){"radius_mm", "2", "centre", "table", "table_prefix", "peak_", NULL},
           "no column \"peak_x\"");
    refuse("far away", NULL, 0,
           (const char *const[]){"radius_mm", "2", "point", "[500, 0, 0]", NULL}, "holds no voxel");
    qib_volume_unref(&empty);
    qib_volume_unref(&other);
    qib_volume_unref(&mask);
    qib_volume_unref(&img);
    qib_table_unref(&tab);
    return tap_done();
}
