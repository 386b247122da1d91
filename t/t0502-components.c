/* seg.components: a hand-built mask whose components differ for 6-, 18- and
 * 26-connectivity (labels, table, keep modes, seeds), bad parameters, and
 * label images identical to scipy.ndimage.label with
 * generate_binary_structure(3, 1/2/3) on generated masks with anisotropic
 * spacing, for any thread count. */
#include <config.h>

#include "t0500-util.h"

#define NX 5
#define NY 4
#define NZ 3
#define AT(x, y, z) ((size_t)(x) + NX * ((size_t)(y) + NY * (size_t)(z)))

/* A: (0,0,0)-(1,1,1) touch at a corner; B: (3,0,0)-(4,1,0) along an edge;
 * C: a run (0..2,3,2) and D (3,2,2) touching C's end along an edge. */
static qib_volume *hand_mask(void)
{
    struct qib_geom g = t05_geom(NX, NY, NZ, 0.8, 1.1, 2.5);
    qib_volume *m = t05_mask(&g);
    uint8_t *d = qib_volume_data_mut(m);
    d[AT(0, 0, 0)] = d[AT(1, 1, 1)] = 1;
    d[AT(3, 0, 0)] = d[AT(4, 1, 0)] = 7; /* any non-zero value is foreground */
    d[AT(0, 3, 2)] = d[AT(1, 3, 2)] = d[AT(2, 3, 2)] = d[AT(3, 2, 2)] = 1;
    return m;
}

static void expect_labels(const char *name, const qib_volume *out, const size_t *at,
                          const uint8_t *want, size_t n)
{
    const uint8_t *d = out ? qib_volume_data(out) : NULL;
    size_t bad = 0, total = 0;
    for (size_t k = 0; d && k < n; k++)
        bad += d[at[k]] != want[k];
    for (size_t i = 0; d && i < qib_volume_nvox(out); i++)
        total += d[i] != 0;
    size_t nz = 0;
    for (size_t k = 0; k < n; k++)
        nz += want[k] != 0;
    ok(d && bad == 0 && total == nz, "%s: labels as expected", name);
}

static qib_harness *comp(qib_volume *m, const char *const *params, int threads, int *rc)
{
    return t05_run1("seg.components", "mask", m, params, threads, rc);
}

static void hand_tests(void)
{
    qib_volume *m = hand_mask();
    const size_t at[] = {AT(0, 0, 0), AT(1, 1, 1), AT(3, 0, 0), AT(4, 1, 0),
                         AT(0, 3, 2), AT(1, 3, 2), AT(2, 3, 2), AT(3, 2, 2)};
    /* 6: C (3 voxels) first, then the singletons in raster order */
    const uint8_t w6[] = {2, 5, 3, 4, 1, 1, 1, 6};
    const uint8_t w18[] = {3, 4, 2, 2, 1, 1, 1, 1};
    const uint8_t w26[] = {2, 2, 3, 3, 1, 1, 1, 1};
    const char *cv[] = {"6", "18", "26"};
    const uint8_t *wv[] = {w6, w18, w26};
    const int ncomp[] = {6, 4, 3};
    int rc;
    for (int c = 0; c < 3; c++) {
        char name[64];
        snprintf(name, sizeof name, "hand, connectivity %s", cv[c]);
        qib_harness *h = comp(m,
                              (const char *const[]){"connectivity", cv[c], "keep", "all",
                                                    "output", "labels", NULL},
                              1, &rc);
        is_int(rc, QIB_OK, "%s: runs", name);
        expect_labels(name, qib_harness_out_volume(h, "mask"), at, wv[c], 8);
        const qib_table *t = qib_harness_out_table(h, "table");
        is_int(t ? (long long)qib_table_nrows(t) : -1, ncomp[c], "%s: %d rows", name, ncomp[c]);
        is_string(qib_harness_record(h, "components"), c == 0 ? "6" : c == 1 ? "4" : "3",
                  "%s: components recorded", name);
        qib_harness_free(&h);
    }

    /* table of the 26-connected largest component C+D */
    qib_harness *h = comp(m, (const char *const[]){"connectivity", "26", NULL}, 1, &rc);
    is_int(rc, QIB_OK, "largest: runs");
    const qib_table *t = qib_harness_out_table(h, "table");
    const uint8_t wl[] = {0, 0, 0, 0, 1, 1, 1, 1};
    expect_labels("largest", qib_harness_out_volume(h, "mask"), at, wl, 8);
    size_t col;
#define CELL_D(name) (t && qib_table_find(t, name, &col) == QIB_OK ? qib_table_get_double(t, 0, col) : NAN)
#define CELL_I(name) (t && qib_table_find(t, name, &col) == QIB_OK ? qib_table_get_int(t, 0, col) : -1)
    is_int(t ? (long long)qib_table_nrows(t) : -1, 1, "largest: one row");
    is_int(CELL_I("label"), 1, "largest: label 1");
    is_int(CELL_I("voxels"), 4, "largest: 4 voxels");
    /* 4 voxels of 0.8 x 1.1 x 2.5 mm = 8.8 mm3 */
    is_double(CELL_D("volume_ml"), 0.0088, 1e-15, "largest: 0.0088 mL");
    /* mean index (1.5, 2.75, 2) -> origin + index * spacing */
    is_double(CELL_D("centroid_x"), -12.5 + 1.5 * 0.8, 1e-12, "largest: centroid x (mm LPS)");
    is_double(CELL_D("centroid_y"), 30.25 + 2.75 * 1.1, 1e-12, "largest: centroid y");
    is_double(CELL_D("centroid_z"), 7.0 + 2 * 2.5, 1e-12, "largest: centroid z");
    ok(CELL_I("bbox_min_i") == 0 && CELL_I("bbox_max_i") == 3 && CELL_I("bbox_min_j") == 2 &&
           CELL_I("bbox_max_j") == 3 && CELL_I("bbox_min_k") == 2 && CELL_I("bbox_max_k") == 2,
       "largest: bounding box i 0..3, j 2..3, k 2..2");
    qib_harness_free(&h);

    /* seed in mm at voxel (0,0,0): component A (26-connected) */
    h = comp(m, (const char *const[]){"keep", "seed", "seed", "[-12.5, 30.25, 7]", NULL}, 1, &rc);
    is_int(rc, QIB_OK, "seed mm: runs");
    const uint8_t wa[] = {1, 1, 0, 0, 0, 0, 0, 0};
    expect_labels("seed mm", qib_harness_out_volume(h, "mask"), at, wa, 8);
    qib_harness_free(&h);
    h = comp(m,
             (const char *const[]){"keep", "seed", "seed", "[4, 1, 0]", "seed_unit", "voxel",
                                   "connectivity", "6", NULL},
             1, &rc);
    is_int(rc, QIB_OK, "seed voxel: runs");
    const uint8_t wb[] = {0, 0, 0, 1, 0, 0, 0, 0};
    expect_labels("seed voxel, 6-connected", qib_harness_out_volume(h, "mask"), at, wb, 8);
    qib_harness_free(&h);

    /* min_volume 0.004 mL keeps components of 2 voxels (0.0044 mL) or more */
    h = comp(m, (const char *const[]){"keep", "min_volume", "min_volume", "0.004", "output",
                                      "labels", NULL},
             1, &rc);
    is_int(rc, QIB_OK, "min_volume: runs");
    expect_labels("min_volume", qib_harness_out_volume(h, "mask"), at, w26, 8);
    qib_harness_free(&h);

    /* errors */
    struct {
        const char *name;
        const char *const *params;
        const char *want;
    } bad[] = {
        {"seed not in the mask",
         (const char *const[]){"keep", "seed", "seed", "[2, 0, 0]", "seed_unit", "voxel", NULL},
         "is voxel (2, 0, 0), which is not in the mask"},
        {"seed outside the grid",
         (const char *const[]){"keep", "seed", "seed", "[100, 0, 0]", NULL}, "outside the 5x4x3"},
        {"min_volume 0", (const char *const[]){"keep", "min_volume", NULL}, "min_volume > 0"},
        {"connectivity 8", (const char *const[]){"connectivity", "8", NULL}, "connectivity"},
        {"negative min_volume", (const char *const[]){"min_volume", "-1", NULL}, "min_volume"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h = comp(m, bad[i].params, 1, &rc);
        ok(rc != QIB_OK, "%s: refused", bad[i].name);
        contains(qib_harness_error(h), bad[i].want, "%s: says \"%s\"", bad[i].name, bad[i].want);
        qib_harness_free(&h);
    }
    /* an image that is not a mask */
    struct qib_geom g = *qib_volume_geom(m);
    qib_volume *img = t05_new(QIB_F32, &g);
    h = comp(img, NULL, 1, &rc);
    ok(rc != QIB_OK, "image that is not a mask: refused");
    contains(qib_harness_error(h), "mask", "image that is not a mask: says so");
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&m);
}

/* Random voxels with density 1/3: thousands of components. */
static qib_volume *noise_mask(const struct qib_geom *g, uint64_t seed)
{
    qib_volume *m = t05_mask(g);
    uint8_t *d = qib_volume_data_mut(m);
    uint64_t s = seed;
    for (size_t i = 0; i < qib_volume_nvox(m); i++)
        d[i] = t05_rand(&s) % 3 == 0;
    return m;
}

static qib_volume *blob_mask(const struct qib_geom *g)
{
    qib_volume *img = t05_blobs(QIB_F64, g, 77, 24, 1.0, 0.5, 0);
    qib_volume *m = t05_mask(g);
    uint8_t *d = qib_volume_data_mut(m);
    for (size_t i = 0; i < qib_volume_nvox(m); i++)
        d[i] = qib_volume_get(img, i) > 0.6;
    qib_volume_unref(&img);
    return m;
}

static void vs_scipy(const char *dir, const char *what, qib_volume *m)
{
    const struct qib_geom *g = qib_volume_geom(m);
    size_t n = qib_volume_nvox(m);
    char mp[512], lp[512], args[1400];
    snprintf(mp, sizeof mp, "%s/mask.raw", dir);
    snprintf(lp, sizeof lp, "%s/labels.raw", dir);
    t05_write_raw(m, mp);
    const char *cv[] = {"6", "18", "26"};
    for (int c = 0; c < 3; c++) {
        snprintf(args, sizeof args, "label %s %zu %zu %zu '%s' '%s'", cv[c], g->dims[0],
                 g->dims[1], g->dims[2], mp, lp);
        char *o = t05_python(args);
        long nref = strtol(o, NULL, 10);
        free(o);
        int32_t *want = t05_read_raw(lp, n * 4);
        int rc1, rc3;
        const char *const params[] = {"connectivity", cv[c], "keep", "all", "label_image", "true",
                                      NULL};
        qib_harness *h1 = comp(m, params, 1, &rc1);
        qib_harness *h3 = comp(m, params, 3, &rc3);
        ok(rc1 == QIB_OK && rc3 == QIB_OK, "%s, %s-connected: runs", what, cv[c]);
        const qib_volume *l1 = qib_harness_out_volume(h1, "labels");
        const qib_volume *l3 = qib_harness_out_volume(h3, "labels");
        const char *rec = qib_harness_record(h1, "components");
        is_int(rec ? atol(rec) : -1, nref, "%s, %s-connected: %ld components, as scipy", what,
               cv[c], nref);
        ok(l1 && memcmp(qib_volume_data(l1), want, n * 4) == 0,
           "%s, %s-connected: label image identical to scipy.ndimage.label (by size)", what,
           cv[c]);
        ok(l1 && l3 && memcmp(qib_volume_data(l1), qib_volume_data(l3), n * 4) == 0,
           "%s, %s-connected: 1 and 3 threads give the same labels", what, cv[c]);
        const qib_table *t = qib_harness_out_table(h1, "table");
        size_t col;
        long long sum = 0;
        for (size_t r = 0; t && qib_table_find(t, "voxels", &col) == QIB_OK && r < qib_table_nrows(t); r++)
            sum += qib_table_get_int(t, r, col);
        is_int(sum, (long long)t05_count(qib_volume_data(m), n),
               "%s, %s-connected: table voxels add up to the mask", what, cv[c]);
        free(want);
        qib_harness_free(&h1);
        qib_harness_free(&h3);
    }
}

int main(void)
{
    plan(72);
    hand_tests();
    /* more than 255 components kept as labels */
    struct qib_geom g = t05_geom(50, 40, 30, 0.7, 0.9, 3.0);
    qib_volume *noise = noise_mask(&g, 5);
    int rc;
    qib_harness *h = comp(noise, (const char *const[]){"connectivity", "6", "keep", "all",
                                                       "output", "labels", NULL},
                          1, &rc);
    ok(rc != QIB_OK, "labels beyond 255: refused");
    contains(qib_harness_error(h), "labels 1..255", "labels beyond 255: says why");
    qib_harness_free(&h);

    const char *why;
    if (!t05_have_python(&why)) {
        skip(30, "%s", why);
        qib_volume_unref(&noise);
        return tap_done();
    }
    char *dir = tap_tmpdir();
    vs_scipy(dir, "noise", noise);
    qib_volume *blobs = blob_mask(&g);
    vs_scipy(dir, "blobs", blobs);
    qib_volume_unref(&blobs);
    qib_volume_unref(&noise);
    t05_rmdir(dir);
    return tap_done();
}
