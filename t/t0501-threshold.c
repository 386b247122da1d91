/* seg.threshold: hand-computed thresholds and masks for every method on a
 * small volume, bad parameters and grids, and Otsu's threshold against
 * scikit-image's threshold_otsu / threshold_multiotsu on generated volumes
 * with anisotropic spacing (f64, f32, i16; with a search mask). */
#include <config.h>

#include "t0500-util.h"

static const char *E = "";

/* Voxel i of a 4x3x2 f64 volume (spacing 1x1x2 mm) holds the value i. */
static qib_volume *ramp(void)
{
    struct qib_geom g = t05_geom(4, 3, 2, 1, 1, 2);
    qib_volume *v = t05_new(QIB_F64, &g);
    for (size_t i = 0; i < 24; i++)
        t05_set(v, i, (double)i);
    return v;
}

/* Kept voxels form the range lo..hi of the ramp exactly. */
static int is_range(const qib_volume *m, size_t lo, size_t hi)
{
    const uint8_t *d = qib_volume_data(m);
    for (size_t i = 0; i < qib_volume_nvox(m); i++)
        if ((d[i] != 0) != (i >= lo && i <= hi))
            return 0;
    return 1;
}

static void hand(const char *name, qib_volume *img, qib_volume *search, qib_table *tab,
                 const char *const *params, size_t lo, size_t hi, double thr)
{
    const char *ports[] = {"image", "mask", NULL};
    qib_volume *vols[] = {img, search};
    int rc;
    qib_harness *h = t05_run("seg.threshold", ports, vols, tab, params, 1, &rc);
    is_int(rc, QIB_OK, "%s: runs (%s)", name, rc ? qib_harness_error(h) : E);
    const qib_volume *m = qib_harness_out_volume(h, "mask");
    const qib_table *t = qib_harness_out_table(h, "table");
    ok(m && qib_volume_is_mask(m) && is_range(m, lo, hi), "%s: mask is voxels %zu..%zu", name,
       lo, hi);
    size_t c = 0;
    ok(t && qib_table_find(t, "threshold", &c) == QIB_OK &&
           qib_table_get_double(t, 0, c) == thr,
       "%s: threshold %g in the table", name, thr);
    ok(t && qib_table_find(t, "voxels", &c) == QIB_OK &&
           qib_table_get_int(t, 0, c) == (int64_t)(hi - lo + 1),
       "%s: %zu voxels in the table", name, hi - lo + 1);
    qib_harness_free(&h);
}

static void refuse(const char *name, qib_volume *img, qib_volume *search, qib_table *tab,
                   const char *const *params, const char *want)
{
    const char *ports[] = {"image", "mask", NULL};
    qib_volume *vols[] = {img, search};
    int rc;
    qib_harness *h = t05_run("seg.threshold", ports, vols, tab, params, 1, &rc);
    ok(rc != QIB_OK, "%s: refused", name);
    contains(qib_harness_error(h), want, "%s: message says \"%s\"", name, want);
    qib_harness_free(&h);
}

static void hand_tests(void)
{
    qib_volume *img = ramp();
    const struct qib_geom *g = qib_volume_geom(img);
    qib_volume *half = t05_mask(g);
    memset(qib_volume_data_mut(half), 1, 12);
    qib_table *tab = NULL;
    size_t col, row;
    if (qib_table_new(&tab) || qib_table_add_column(tab, "suv_max", QIB_COL_DOUBLE, NULL, NULL, &col) ||
        qib_table_add_row(tab, &row) || qib_table_set_double(tab, row, col, 20.0))
        bail("table");

    hand("absolute", img, NULL, NULL,
         (const char *const[]){"method", "absolute", "lower", "5", "upper", "10", NULL}, 5, 10, 5);
    /* 50% of max 23 = 11.5: voxels 12..23 */
    hand("percent_max", img, NULL, NULL,
         (const char *const[]){"method", "percent_max", "percent", "50", NULL}, 12, 23, 11.5);
    /* search mask = voxels 0..11: max 11, threshold 5.5 */
    hand("percent_max in search mask", img, half, NULL,
         (const char *const[]){"method", "percent_max", "percent", "50", NULL}, 6, 11, 5.5);
    /* 40% of the table's 20 = 8 */
    hand("percent_table", img, NULL, tab,
         (const char *const[]){"method", "percent_table", "percent", "40", "table_column",
                               "suv_max", NULL},
         8, 23, 8);
    /* 3 + 50% of (23 - 3) = 13 */
    hand("background_adapted", img, NULL, NULL,
         (const char *const[]){"method", "background_adapted", "percent", "50", "background",
                               "3", NULL},
         13, 23, 13);
    /* background from the table: 20 + 50% of (23 - 20) = 21.5 */
    hand("background_adapted from table", img, NULL, tab,
         (const char *const[]){"method", "background_adapted", "percent", "50", "table_column",
                               "suv_max", NULL},
         22, 23, 21.5);

    /* Two values, 0 and 10: every split between them scores the same, so
     * Otsu takes the first bin; its centre is 10/256/2 (float) or 0
     * (integer bins). */
    qib_volume *two = t05_new(QIB_F64, g), *two16 = t05_new(QIB_I16, g);
    for (size_t i = 0; i < 24; i++) {
        t05_set(two, i, i >= 12 ? 10 : 0);
        t05_set(two16, i, i >= 12 ? 10 : 0);
    }
    hand("otsu f64 two values", two, NULL, NULL, (const char *const[]){"method", "otsu", NULL},
         12, 23, 10.0 / 256 / 2);
    hand("otsu i16 two values", two16, NULL, NULL, (const char *const[]){"method", "otsu", NULL},
         12, 23, 0);

    /* bad parameters, inputs and grids */
    refuse("lower above upper", img, NULL, NULL,
           (const char *const[]){"lower", "5", "upper", "1", NULL}, "lower (5) is above upper (1)");
    refuse("percent 150", img, NULL, NULL, (const char *const[]){"percent", "150", NULL},
           "percent");
    refuse("unknown method", img, NULL, NULL, (const char *const[]){"method", "median", NULL},
           "median");
    refuse("percent_table without column", img, NULL, tab,
           (const char *const[]){"method", "percent_table", NULL}, "needs table_column");
    refuse("percent_table without table", img, NULL, NULL,
           (const char *const[]){"method", "percent_table", "table_column", "suv_max", NULL},
           "not connected");
    refuse("missing column", img, NULL, tab,
           (const char *const[]){"method", "percent_table", "table_column", "suv_peak", NULL},
           "no column \"suv_peak\"");
    refuse("row past the end", img, NULL, tab,
           (const char *const[]){"method", "percent_table", "table_column", "suv_max",
                                 "table_row", "3", NULL},
           "table_row 3 is past its 1 rows");
    refuse("background_adapted without background", img, NULL, NULL,
           (const char *const[]){"method", "background_adapted", NULL}, "needs the background");
    refuse("classes 9", img, NULL, NULL,
           (const char *const[]){"method", "multi_otsu", "classes", "9", NULL}, "classes");
    struct qib_geom g2 = *g;
    g2.spacing[2] = 2.5;
    qib_volume *other = t05_mask(&g2);
    refuse("search mask on another grid", img, other, NULL,
           (const char *const[]){"method", "otsu", NULL}, "spacing 1x1x2.5");
    qib_volume *empty = t05_mask(g);
    refuse("empty search mask", img, empty, NULL,
           (const char *const[]){"method", "otsu", NULL}, "search mask is empty");

    qib_volume_unref(&empty);
    qib_volume_unref(&other);
    qib_volume_unref(&two);
    qib_volume_unref(&two16);
    qib_volume_unref(&half);
    qib_volume_unref(&img);
    qib_table_unref(&tab);
}

/* Otsu on a generated volume against scikit-image; the mask must be exactly
 * image > threshold (inside the search mask). */
static void otsu_vs_skimage(const char *dir, enum qib_dtype dt, int with_mask, int threads)
{
    struct qib_geom g = t05_geom(61, 47, 23, 0.8, 1.1, 2.5);
    /* integer images get a range that makes many distinct values */
    double amp = 3.0, noise = 0.4, offset = 0;
    if (dt == QIB_I16 || dt == QIB_U16) {
        amp = 600;
        noise = 80;
        offset = dt == QIB_I16 ? -200 : 1000;
    } else if (dt == QIB_U8) {
        amp = 150;
        noise = 30;
        offset = 40;
    }
    qib_volume *img = t05_blobs(dt, &g, 1234 + (uint64_t)dt, 12, amp, noise, offset);
    qib_volume *search = NULL;
    size_t n = qib_volume_nvox(img);
    char ip[512], mp[512], args[1400];
    snprintf(ip, sizeof ip, "%s/img.raw", dir);
    snprintf(mp, sizeof mp, "%s/search.raw", dir);
    t05_write_raw(img, ip);
    if (with_mask) {
        search = t05_mask(&g);
        uint8_t *s = qib_volume_data_mut(search);
        for (size_t i = 0; i < n; i++)
            s[i] = (i / 61) % 47 > 10; /* rows y > 10 */
        t05_write_raw(search, mp);
    }
    snprintf(args, sizeof args, "otsu %s 61 47 23 '%s' %s%s%s", qib_dtype_name(dt), ip,
             with_mask ? "'" : "", with_mask ? mp : "", with_mask ? "'" : "");
    char *o = t05_python(args);
    double want = strtod(o, NULL);
    free(o);

    const char *ports[] = {"image", "mask", NULL};
    qib_volume *vols[] = {img, search};
    int rc;
    qib_harness *h = t05_run("seg.threshold", ports, vols, NULL,
                             (const char *const[]){"method", "otsu", NULL}, threads, &rc);
    const char *what = with_mask ? " in a search mask" : "";
    is_int(rc, QIB_OK, "otsu %s%s, %d threads: runs", qib_dtype_name(dt), what, threads);
    const qib_table *t = qib_harness_out_table(h, "table");
    const qib_volume *m = qib_harness_out_volume(h, "mask");
    size_t c = 0;
    double got = t && qib_table_find(t, "threshold", &c) == QIB_OK ? qib_table_get_double(t, 0, c)
                                                                   : NAN;
    is_double(got, want, 0, "otsu %s%s: threshold equals skimage.filters.threshold_otsu",
              qib_dtype_name(dt), what);
    size_t bad = 0, kept = 0;
    const uint8_t *md = m ? qib_volume_data(m) : NULL;
    const uint8_t *sd = search ? qib_volume_data(search) : NULL;
    for (size_t i = 0; md && i < n; i++) {
        int in = (!sd || sd[i]) && qib_volume_get(img, i) > want;
        bad += (md[i] != 0) != in;
        kept += in;
    }
    ok(md && bad == 0 && kept > 100 && kept < n - 100,
       "otsu %s%s: mask is image > threshold (%zu voxels, %zu differ)", qib_dtype_name(dt),
       what, kept, bad);
    qib_harness_free(&h);
    qib_volume_unref(&search);
    qib_volume_unref(&img);
}

static void multi_vs_skimage(const char *dir)
{
    struct qib_geom g = t05_geom(40, 36, 20, 0.9, 0.9, 3.0);
    qib_volume *img = t05_blobs(QIB_F64, &g, 99, 10, 4.0, 0.3, 0);
    char ip[512], args[1200];
    snprintf(ip, sizeof ip, "%s/multi.raw", dir);
    t05_write_raw(img, ip);
    snprintf(args, sizeof args, "multiotsu 3 f64 40 36 20 '%s'", ip);
    char *o = t05_python(args);
    char *end;
    double w0 = strtod(o, &end), w1 = strtod(end, NULL);
    free(o);
    int rc;
    qib_harness *h = t05_run1("seg.threshold", "image", img,
                              (const char *const[]){"method", "multi_otsu", "classes", "3", NULL},
                              2, &rc);
    is_int(rc, QIB_OK, "multi_otsu: runs");
    const qib_table *t = qib_harness_out_table(h, "table");
    const qib_volume *m = qib_harness_out_volume(h, "mask");
    size_t c = 0;
    ok(t && qib_table_nrows(t) == 2, "multi_otsu: two thresholds");
    if (t && qib_table_find(t, "threshold", &c) == QIB_OK) {
        is_double(qib_table_get_double(t, 0, c), w0, 1e-12,
                  "multi_otsu: first threshold equals skimage threshold_multiotsu");
        is_double(qib_table_get_double(t, 1, c), w1, 1e-12,
                  "multi_otsu: second threshold equals skimage threshold_multiotsu");
    } else {
        ok(0, "multi_otsu: first threshold");
        ok(0, "multi_otsu: second threshold");
    }
    size_t bad = 0;
    const uint8_t *md = m ? qib_volume_data(m) : NULL;
    for (size_t i = 0; md && i < qib_volume_nvox(img); i++) {
        double v = qib_volume_get(img, i);
        bad += md[i] != (v >= w1 ? 2 : v >= w0 ? 1 : 0);
    }
    ok(md && bad == 0, "multi_otsu: classes are numpy.digitize(image, thresholds) (%zu differ)",
       bad);
    qib_harness_free(&h);
    qib_volume_unref(&img);
}

int main(void)
{
    plan(80);
    hand_tests();
    const char *why;
    if (!t05_have_python(&why)) {
        skip(26, "%s", why);
        return tap_done();
    }
    char *dir = tap_tmpdir();
    otsu_vs_skimage(dir, QIB_F64, 0, 1);
    otsu_vs_skimage(dir, QIB_F32, 0, 2);
    otsu_vs_skimage(dir, QIB_I16, 0, 1);
    otsu_vs_skimage(dir, QIB_I16, 1, 3);
    otsu_vs_skimage(dir, QIB_F64, 1, 2);
    otsu_vs_skimage(dir, QIB_U8, 0, 2);
    otsu_vs_skimage(dir, QIB_U16, 1, 1);
    multi_vs_skimage(dir);
    t05_rmdir(dir);
    return tap_done();
}
