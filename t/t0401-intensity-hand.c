/* bio.intensity on a 3x3x1 image whose statistics are worked out by hand
 * below: two labels, the whole image without a mask, anisotropic spacing
 * for volume_ml, units and IBSI codes of the columns, and the descriptor. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "t0400-util.h"

/* image (x fastest)      mask
 *   1 2 3                 1 1 1
 *   4 5 6                 2 2 2
 *   7 8 9                 0 2 1
 * label 1 = {1, 2, 3, 9}, label 2 = {4, 5, 6, 8}, 7 is background.
 * Spacing 2 x 3 x 5 mm: one voxel is 30 mm^3, four are 0.12 mL. */
static const double vals[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t labels[9] = {1, 1, 1, 2, 2, 2, 0, 2, 1};
static const double spacing[3] = {2, 3, 5};

static void test_descriptor(void)
{
    qib_harness *h = NULL;
    char err[512] = "";
    int rc = qib_harness_new("bio.intensity", &h, err, sizeof err);
    is_int(rc, QIB_OK, "bio.intensity loads and its descriptor is accepted");
    if (rc != QIB_OK)
        diag("%s", err);
    qib_harness_free(&h);
    ok(h == NULL, "qib_harness_free clears the pointer");
}

static void test_two_labels(void)
{
    qib_volume *img = t04_volume(QIB_I16, 3, 3, 1, 1, spacing, vals);
    qib_volume *msk = t04_mask(qib_volume_geom(img), labels);
    qib_meta_set(qib_volume_meta_mut(img), "units", "HU", "test");
    int rc;
    qib_harness *h = t04_run("bio.intensity", "image", img, "mask", msk, NULL, 1, &rc);
    is_int(rc, QIB_OK, "two labels: run succeeds");
    if (rc)
        diag("%s", qib_harness_error(h));
    const qib_table *t = qib_harness_out_table(h, "table");
    ok(t != NULL, "two labels: a table on port \"table\"");
    if (!t) {
        qib_harness_free(&h);
        qib_volume_unref(&img);
        qib_volume_unref(&msk);
        return;
    }
    is_int((long long)qib_table_nrows(t), 2, "one row per label present (labels 1 and 2)");
    is_int(t04_i(t, 0, "label"), 1, "row 0 is label 1 (ascending)");
    is_int(t04_i(t, 1, "label"), 2, "row 1 is label 2");

    /* Label 1, x = {1, 2, 3, 9}, N = 4.
     * mean = 15/4 = 3.75
     * deviations -2.75 -1.75 -0.75 5.25
     * sum d^2 = 7.5625 + 3.0625 + 0.5625 + 27.5625 = 38.75, variance 38.75/4 = 9.6875
     * sum d^3 = -20.796875 - 5.359375 - 0.421875 + 144.703125 = 118.125, m3 = 29.53125
     * sum d^4 = 57.19140625 + 9.37890625 + 0.31640625 + 759.69140625 = 826.578125,
     *   m4 = 206.64453125
     * skewness = m3 / m2^1.5, excess kurtosis = m4 / m2^2 - 3 = -0.79808532778...
     * percentiles (type 7, h = 3 P/100 on the sorted 1 2 3 9):
     *   p05 h=.15 -> 1.15   p10 h=.3 -> 1.3   p25 h=.75 -> 1.75  median h=1.5 -> 2.5
     *   p75 h=2.25 -> 3 + .25*6 = 4.5   p90 h=2.7 -> 3 + .7*6 = 7.2   p95 -> 3 + .85*6 = 8.1 */
    is_int(t04_i(t, 0, "mask_voxels"), 4, "label 1: mask_voxels 4");
    is_int(t04_i(t, 0, "voxels"), 4, "label 1: voxels 4");
    is_int(t04_i(t, 0, "nan_voxels"), 0, "label 1: nan_voxels 0");
    is_double(t04_d(t, 0, "volume_ml"), 0.12, 1e-15, "label 1: 4 x 30 mm^3 = 0.12 mL");
    is_double(t04_d(t, 0, "mean"), 3.75, 0, "label 1: mean 15/4");
    is_double(t04_d(t, 0, "variance"), 9.6875, 1e-15, "label 1: variance 38.75/4 (population)");
    is_double(t04_d(t, 0, "sd"), sqrt(9.6875), 1e-15, "label 1: sd = sqrt(9.6875), population");
    is_double(t04_d(t, 0, "skewness"), 29.53125 / pow(9.6875, 1.5), 1e-14,
              "label 1: skewness 29.53125 / 9.6875^1.5");
    is_double(t04_d(t, 0, "excess_kurtosis"), 206.64453125 / (9.6875 * 9.6875) - 3, 1e-14,
              "label 1: excess kurtosis 206.64453125 / 9.6875^2 - 3");
    is_double(t04_d(t, 0, "min"), 1, 0, "label 1: min 1");
    is_double(t04_d(t, 0, "max"), 9, 0, "label 1: max 9");
    is_double(t04_d(t, 0, "p05"), 1.15, 1e-14, "label 1: p05 1.15");
    is_double(t04_d(t, 0, "p10"), 1.3, 1e-14, "label 1: p10 1.3");
    is_double(t04_d(t, 0, "p25"), 1.75, 1e-14, "label 1: p25 1.75");
    is_double(t04_d(t, 0, "median"), 2.5, 0, "label 1: median 2.5 (= p50)");
    is_double(t04_d(t, 0, "p75"), 4.5, 1e-14, "label 1: p75 4.5");
    is_double(t04_d(t, 0, "p90"), 7.2, 1e-14, "label 1: p90 7.2");
    is_double(t04_d(t, 0, "p95"), 8.1, 1e-14, "label 1: p95 8.1");
    is_double(t04_d(t, 0, "iqr"), 4.5 - 1.75, 1e-14, "label 1: iqr p75 - p25 = 2.75");
    is_double(t04_d(t, 0, "range"), 8, 0, "label 1: range 9 - 1");

    /* Label 2, x = {4, 5, 6, 8}: mean 23/4 = 5.75, deviations -1.75 -.75 .25 2.25
     * sum d^2 = 3.0625 + .5625 + .0625 + 5.0625 = 8.75 -> m2 = 2.1875
     * sum d^3 = -5.359375 - .421875 + .015625 + 11.390625 = 5.625 -> m3 = 1.40625
     * sum d^4 = 9.37890625 + .31640625 + .00390625 + 25.62890625 = 35.328125
     *   -> m4 = 8.83203125
     * percentiles: p05 4.15, p10 4.3, p25 4.75, median 5.5, p75 6 + .25*2 = 6.5,
     *   p90 6 + .7*2 = 7.4, p95 6 + .85*2 = 7.7 */
    is_int(t04_i(t, 1, "voxels"), 4, "label 2: voxels 4");
    is_double(t04_d(t, 1, "mean"), 5.75, 0, "label 2: mean 23/4");
    is_double(t04_d(t, 1, "variance"), 2.1875, 1e-15, "label 2: variance 8.75/4");
    is_double(t04_d(t, 1, "skewness"), 1.40625 / pow(2.1875, 1.5), 1e-14,
              "label 2: skewness 1.40625 / 2.1875^1.5");
    is_double(t04_d(t, 1, "excess_kurtosis"), 8.83203125 / (2.1875 * 2.1875) - 3, 1e-14,
              "label 2: excess kurtosis 8.83203125 / 2.1875^2 - 3");
    is_double(t04_d(t, 1, "p05"), 4.15, 1e-14, "label 2: p05 4.15");
    is_double(t04_d(t, 1, "median"), 5.5, 0, "label 2: median 5.5");
    is_double(t04_d(t, 1, "p75"), 6.5, 1e-14, "label 2: p75 6.5");
    is_double(t04_d(t, 1, "p90"), 7.4, 1e-14, "label 2: p90 7.4");
    is_double(t04_d(t, 1, "p95"), 7.7, 1e-14, "label 2: p95 7.7");

    /* units and IBSI codes travel with the columns */
    size_t c;
    c = t04_col(t, "mean");
    is_string(qib_table_col_unit(t, c), "HU", "mean is in the image's units (HU)");
    is_string(qib_table_col_ibsi(t, c), "Q4LE", "mean: IBSI Q4LE");
    c = t04_col(t, "variance");
    is_string(qib_table_col_unit(t, c), "HU^2", "variance in HU^2");
    is_string(qib_table_col_ibsi(t, c), "ECT3", "variance: IBSI ECT3");
    c = t04_col(t, "sd");
    is_string(qib_table_col_ibsi(t, c), "", "sd carries no IBSI code (IBSI defines none)");
    is_string(qib_table_col_unit(t, t04_col(t, "volume_ml")), "mL", "volume_ml in mL");
    is_string(qib_table_col_unit(t, t04_col(t, "voxels")), "", "voxels: a count, no unit");
    is_string(qib_table_col_unit(t, t04_col(t, "skewness")), "", "skewness: no unit");
    const char *codes[][2] = {{"skewness", "KE2A"}, {"excess_kurtosis", "IPH6"},
                              {"median", "Y12H"},   {"min", "1GSF"},
                              {"p10", "QG58"},      {"p90", "8DWT"},
                              {"max", "84IY"},      {"iqr", "SALO"},
                              {"range", "2OJQ"},    {"p05", ""},
                              {"p25", ""},          {"p75", ""},
                              {"p95", ""}};
    for (size_t k = 0; k < sizeof codes / sizeof codes[0]; k++)
        is_string(qib_table_col_ibsi(t, t04_col(t, codes[k][0])), codes[k][1],
                  "%s: IBSI code \"%s\"", codes[k][0], codes[k][1]);
    const qib_meta *m = qib_table_meta(t);
    contains(qib_meta_get(m, "percentile_method"), "type 7",
             "table metadata names the percentile definition");
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
}

static void test_no_mask(void)
{
    /* Whole image 1..9: mean 5, sum d^2 = 2(16+9+4+1) = 60 -> variance 60/9,
     * symmetric so skewness 0, sum d^4 = 2(256+81+16+1) = 708 ->
     * kurtosis (708/9) / (60/9)^2 - 3 = 1.77 - 3 = -1.23; h = 8 P/100:
     * p05 1.4, p10 1.8, p25 3, median 5, p75 7, p90 8.2, p95 8.6. */
    qib_volume *img = t04_volume(QIB_F32, 3, 3, 1, 1, spacing, vals);
    int rc;
    qib_harness *h = t04_run("bio.intensity", "image", img, NULL, NULL, NULL, 1, &rc);
    is_int(rc, QIB_OK, "no mask: run succeeds");
    const qib_table *t = qib_harness_out_table(h, "table");
    if (!t) {
        skip(12, "no table");
    } else {
        is_int((long long)qib_table_nrows(t), 1, "no mask: one row");
        is_int(t04_i(t, 0, "label"), 0, "no mask: label 0 stands for the whole image");
        is_int(t04_i(t, 0, "voxels"), 9, "no mask: 9 voxels");
        is_double(t04_d(t, 0, "volume_ml"), 0.27, 1e-15, "no mask: 9 x 30 mm^3 = 0.27 mL");
        is_double(t04_d(t, 0, "mean"), 5, 0, "no mask: mean 5");
        is_double(t04_d(t, 0, "variance"), 60.0 / 9, 1e-14, "no mask: variance 60/9");
        is_double(t04_d(t, 0, "skewness"), 0, 1e-15, "no mask: skewness 0");
        is_double(t04_d(t, 0, "excess_kurtosis"), -1.23, 1e-14, "no mask: kurtosis -1.23");
        is_double(t04_d(t, 0, "p05"), 1.4, 1e-14, "no mask: p05 1.4");
        is_double(t04_d(t, 0, "p25"), 3, 0, "no mask: p25 3 (h = 2, a rank exactly)");
        is_double(t04_d(t, 0, "median"), 5, 0, "no mask: median 5");
        is_double(t04_d(t, 0, "p95"), 8.6, 1e-14, "no mask: p95 8.6");
        is_string(qib_table_col_unit(t, t04_col(t, "mean")), "",
                  "no \"units\" in the image's metadata: no unit on mean");
    }
    qib_harness_free(&h);
    qib_volume_unref(&img);
}

static void test_constant(void)
{
    /* A constant ROI: variance exactly 0, and by IBSI's rule skewness and
     * kurtosis 0 (not NaN); 0.1 is not a binary fraction, so the mean must
     * not come out as 0.1 +- an ulp. */
    const double c[8] = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
    qib_volume *img = t04_volume(QIB_F64, 2, 2, 2, 1, NULL, c);
    int rc;
    qib_harness *h = t04_run("bio.intensity", "image", img, NULL, NULL, NULL, 1, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (rc != QIB_OK || !t) {
        ok(0, "constant image: run failed: %s", qib_harness_error(h));
        skip(4, "no table");
    } else {
        ok(1, "constant image: run succeeds");
        is_double(t04_d(t, 0, "mean"), 0.1, 0, "constant: mean exactly 0.1");
        is_double(t04_d(t, 0, "variance"), 0, 0, "constant: variance exactly 0");
        is_double(t04_d(t, 0, "skewness"), 0, 0, "constant: skewness 0 (IBSI)");
        is_double(t04_d(t, 0, "excess_kurtosis"), 0, 0, "constant: kurtosis 0 (IBSI)");
    }
    qib_harness_free(&h);
    qib_volume_unref(&img);
}

static void test_one_voxel_types(void)
{
    /* The same values through every voxel type give the same statistics:
     * label 2 = {4, 5, 6, 8} has mean 5.75 (see above). */
    const enum qib_dtype types[] = {QIB_U8, QIB_I8, QIB_U16, QIB_I16,
                                    QIB_U32, QIB_I32, QIB_F32, QIB_F64};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        qib_volume *img = t04_volume(types[k], 3, 3, 1, 1, spacing, vals);
        qib_volume *msk = t04_mask(qib_volume_geom(img), labels);
        int rc;
        qib_harness *h = t04_run("bio.intensity", "image", img, "mask", msk, NULL, 1, &rc);
        const qib_table *t = qib_harness_out_table(h, "table");
        ok(rc == QIB_OK && t && t04_d(t, 1, "mean") == 5.75 &&
               fabs(t04_d(t, 1, "p90") - 7.4) < 1e-14,
           "%s image: label 2 mean 5.75, p90 7.4", qib_dtype_name(types[k]));
        qib_harness_free(&h);
        qib_volume_unref(&img);
        qib_volume_unref(&msk);
    }
}

int main(void)
{
    plan_lazy();
    test_descriptor();
    test_two_labels();
    test_no_mask();
    test_constant();
    test_one_voxel_types();
    return tap_done();
}
