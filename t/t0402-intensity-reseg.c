/* bio.intensity: re-segmentation range, NaN voxels, labels left empty, an
 * empty mask, and every bad parameter or input refused with a clear
 * message.  Same 3x3x1 image as t0401 (values 1..9, spacing 2x3x5 mm). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "t0400-util.h"

/* image      mask
 *   1 2 3    1 1 1
 *   4 5 6    2 2 2
 *   7 8 9    0 2 1     label 1 = {1, 2, 3, 9}, label 2 = {4, 5, 6, 8} */
static const double vals[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t labels[9] = {1, 1, 1, 2, 2, 2, 0, 2, 1};
static const double spacing[3] = {2, 3, 5};

static qib_harness *run_with(enum qib_dtype dt, const double *v, const uint8_t *lab,
                             const char *const *params, int *rc)
{
    qib_volume *img = t04_volume(dt, 3, 3, 1, 1, spacing, v);
    qib_volume *msk = lab ? t04_mask(qib_volume_geom(img), lab) : NULL;
    qib_harness *h = t04_run("bio.intensity", "image", img, "mask", msk, params, 1, rc);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
    return h;
}

static void test_range(void)
{
    /* [2, 8]: label 1 keeps {2, 3}: mean 2.5, variance (0.25 + 0.25)/2 = 0.25,
     * p05 = 2 + 0.05 (3 - 2) = 2.05 (h = 0.05); 2 voxels = 60 mm^3 = 0.06 mL.
     * Label 2 = {4, 5, 6, 8} lies inside and is unchanged (mean 5.75). */
    const char *const p[] = {"lower", "2", "upper", "8", NULL};
    int rc;
    qib_harness *h = run_with(QIB_I16, vals, labels, p, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    is_int(rc, QIB_OK, "[2, 8]: run succeeds");
    if (!t) {
        skip(8, "no table");
    } else {
        is_int(t04_i(t, 0, "mask_voxels"), 4, "[2, 8]: label 1 still has 4 mask voxels");
        is_int(t04_i(t, 0, "voxels"), 2, "[2, 8]: label 1 keeps 2 voxels (2 and 3)");
        is_double(t04_d(t, 0, "volume_ml"), 0.06, 1e-15, "[2, 8]: volume of the kept voxels");
        is_double(t04_d(t, 0, "mean"), 2.5, 0, "[2, 8]: label 1 mean 2.5");
        is_double(t04_d(t, 0, "variance"), 0.25, 0, "[2, 8]: label 1 variance 0.25");
        is_double(t04_d(t, 0, "p05"), 2.05, 1e-15, "[2, 8]: label 1 p05 2.05");
        is_double(t04_d(t, 0, "max"), 3, 0, "[2, 8]: 9 is left out");
        is_double(t04_d(t, 1, "mean"), 5.75, 0, "[2, 8]: label 2 unchanged");
    }
    qib_harness_free(&h);

    /* Both bounds are inclusive: [4, 8] keeps all of label 2, whose
     * extremes 4 and 8 lie on the bounds. */
    const char *const q[] = {"lower", "4", "upper", "8", NULL};
    h = run_with(QIB_F64, vals, labels, q, &rc);
    t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t && t04_i(t, 1, "voxels") == 4 && t04_d(t, 1, "min") == 4 &&
           t04_d(t, 1, "max") == 8,
       "[4, 8]: the bounds are inclusive (label 2 keeps 4 and 8)");
    qib_harness_free(&h);

    /* [3, 3]: one voxel: every percentile is that value, variance 0 */
    const char *const r[] = {"lower", "3", "upper", "3", NULL};
    h = run_with(QIB_F32, vals, labels, r, &rc);
    t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t && t04_i(t, 0, "voxels") == 1 && t04_d(t, 0, "p05") == 3 &&
           t04_d(t, 0, "p95") == 3 && t04_d(t, 0, "variance") == 0 &&
           t04_d(t, 0, "skewness") == 0,
       "[3, 3]: a single voxel, p05 = p95 = 3, variance and skewness 0");
    qib_harness_free(&h);
}

static void test_empty(void)
{
    /* [10, 20] leaves out every voxel: both labels keep their row with
     * voxels 0, volume 0 and missing (NaN) statistics; the step records
     * which labels were empty. */
    const char *const p[] = {"lower", "10", "upper", "20", NULL};
    int rc;
    qib_harness *h = run_with(QIB_I16, vals, labels, p, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    is_int(rc, QIB_OK, "[10, 20]: an empty ROI is not an error");
    if (!t) {
        skip(7, "no table");
    } else {
        is_int((long long)qib_table_nrows(t), 2, "[10, 20]: a row for each label still");
        is_int(t04_i(t, 0, "mask_voxels"), 4, "[10, 20]: label 1 mask_voxels 4");
        is_int(t04_i(t, 0, "voxels"), 0, "[10, 20]: label 1 voxels 0");
        is_double(t04_d(t, 0, "volume_ml"), 0, 0, "[10, 20]: volume 0 mL");
        ok(isnan(t04_d(t, 0, "mean")) && isnan(t04_d(t, 1, "median")) &&
               isnan(t04_d(t, 1, "skewness")),
           "[10, 20]: statistics missing (NaN)");
        ok(!qib_table_has_value(t, 0, t04_col(t, "sd")), "[10, 20]: sd cell is missing");
        is_string(qib_harness_record(h, "empty_labels"), "1 2",
                  "[10, 20]: recorded empty_labels \"1 2\"");
    }
    qib_harness_free(&h);

    /* A mask without any label: a table with its columns and no rows. */
    const uint8_t none[9] = {0};
    h = run_with(QIB_I16, vals, none, NULL, &rc);
    t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t && qib_table_nrows(t) == 0 && qib_table_ncols(t) > 10,
       "an all-zero mask gives a table with no rows");
    ok(qib_harness_record(h, "empty_labels") == NULL, "nothing recorded as empty then");
    qib_harness_free(&h);
}

static void test_nan(void)
{
    /* voxel 4 (value 5, label 2) is NaN: label 2 = {4, 6, 8}, mean 6,
     * variance (4 + 0 + 4)/3 = 8/3, nan_voxels 1, mask_voxels 4 */
    double v[9];
    memcpy(v, vals, sizeof v);
    v[4] = NAN;
    int rc;
    qib_harness *h = run_with(QIB_F32, v, labels, NULL, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    is_int(rc, QIB_OK, "NaN voxel: run succeeds");
    if (!t) {
        skip(5, "no table");
    } else {
        is_int(t04_i(t, 1, "nan_voxels"), 1, "NaN voxel: counted in nan_voxels");
        is_int(t04_i(t, 1, "voxels"), 3, "NaN voxel: left out of voxels");
        is_int(t04_i(t, 1, "mask_voxels"), 4, "NaN voxel: still a mask voxel");
        is_double(t04_d(t, 1, "mean"), 6, 0, "NaN voxel: mean of {4, 6, 8} = 6");
        is_double(t04_d(t, 1, "variance"), 8.0 / 3, 1e-15, "NaN voxel: variance 8/3");
    }
    qib_harness_free(&h);

    /* without a mask: 8 numbers 1..9 without 5, mean 40/8 = 5 */
    h = run_with(QIB_F64, v, NULL, NULL, &rc);
    t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t && t04_i(t, 0, "nan_voxels") == 1 && t04_i(t, 0, "voxels") == 8 &&
           t04_d(t, 0, "mean") == 5,
       "NaN voxel without a mask: 8 voxels, 1 NaN, mean 5");
    qib_harness_free(&h);
}

/* Set one parameter; expect the status @p want and @p msg in the error. */
static void bad_param(const char *name, const char *value, int want, const char *msg)
{
    qib_harness *h = NULL;
    char err[256];
    if (qib_harness_new("bio.intensity", &h, err, sizeof err) != QIB_OK)
        bail("cannot load bio.intensity: %s", err);
    int rc = qib_harness_set_param(h, name, value);
    is_int(rc, want, "%s: \"%s\" refused", name, value);
    contains(qib_harness_error(h), msg, "%s: \"%s\": the message says why", name, value);
    qib_harness_free(&h);
}

static void test_params(void)
{
    bad_param("frame", "-1", QIB_ERANGE, "minimum");
    bad_param("frame", "1.5", QIB_EINVAL, "integer");
    bad_param("lower", "abc", QIB_EINVAL, "number");
    bad_param("upper", "nan", QIB_EINVAL, "not a number");
    bad_param("lowr", "1", QIB_ENOTFOUND, "lower");

    /* lower above upper: the check refuses it before any voxel is read */
    const char *const p[] = {"lower", "5", "upper", "1", NULL};
    int rc;
    qib_harness *h = run_with(QIB_I16, vals, labels, p, &rc);
    is_int(rc, QIB_EINVAL, "lower 5 > upper 1 refused");
    contains(qib_harness_error(h), "lower (5) is above upper (1)", "and the message says so");
    qib_harness_free(&h);
}

static void test_inputs(void)
{
    /* no image */
    qib_harness *h = NULL;
    char err[256];
    if (qib_harness_new("bio.intensity", &h, err, sizeof err) != QIB_OK)
        bail("cannot load bio.intensity: %s", err);
    int rc = qib_harness_run(h);
    ok(rc != QIB_OK, "no image wired: refused");
    contains(qib_harness_error(h), "image", "the message names the port");
    qib_harness_free(&h);

    /* a u8 volume that is not flagged as a mask on the mask port */
    qib_volume *img = t04_volume(QIB_I16, 3, 3, 1, 1, spacing, vals);
    qib_volume *lab = t04_volume(QIB_U8, 3, 3, 1, 1, spacing, vals);
    h = t04_run("bio.intensity", "image", img, "mask", lab, NULL, 1, &rc);
    ok(rc != QIB_OK, "a volume not flagged as a mask on the mask port: refused");
    contains(qib_harness_error(h), "mask", "the message names the mask");
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&lab);
}

int main(void)
{
    plan_lazy();
    test_range();
    test_empty();
    test_nan();
    test_params();
    test_inputs();
    return tap_done();
}
