/* bio.intensity against the IBSI 1 reference values (Zwanenburg A et al.,
 * Radiology 2020;295:328-338; arXiv:1612.07003, section "Intensity-based
 * statistical features"): the digital phantom, and the CT radiomics
 * phantom PAT1 in configuration A (no interpolation, re-segmentation
 * [-500, 400] HU).  The images are read with read.nifti from
 * $QIB_REFDATA/ibsi_data_sets; the values are those of
 * $QIB_REFDATA/ibsi_reference_values (ibsi_1_reference_values_digital_phantom.csv
 * and ..._config_A.csv, rows stat_*). */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "t0400-util.h"

/* Read a NIfTI file with read.nifti; a deep copy of the result (transfer
 * full), or NULL. */
static qib_volume *read_nifti(const char *path, const char *as)
{
    qib_harness *h = NULL;
    char err[512];
    qib_volume *copy = NULL;
    if (qib_harness_new("read.nifti", &h, err, sizeof err) != QIB_OK)
        return NULL;
    if (qib_harness_set_param(h, "path", path) == QIB_OK &&
        qib_harness_set_param(h, "as", as) == QIB_OK && qib_harness_run(h) == QIB_OK) {
        const qib_volume *v = qib_harness_out_volume(h, "image");
        if (v && qib_volume_copy(v, &copy) != QIB_OK)
            copy = NULL;
    } else {
        diag("read.nifti %s: %s", path, qib_harness_error(h));
    }
    qib_harness_free(&h);
    return copy;
}

struct ref {
    const char *col;
    double value, tol;
};

/* IBSI: |value - reference| <= tolerance; a tolerance of 0 means "equal to
 * the digits shown", taken here as half a unit of the last digit shown. */
static void check(const qib_table *t, const char *what, const struct ref *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        is_double(t04_d(t, 0, r[i].col), r[i].value, r[i].tol, "%s: %s = %g (IBSI, +- %g)", what,
                  r[i].col, r[i].value, r[i].tol);
}

static void digital_phantom(void)
{
    char *img_path = refdata_path(
        "ibsi_data_sets/orig/ibsi_1_digital_phantom/nifti/image/phantom.nii.gz");
    char *msk_path =
        refdata_path("ibsi_data_sets/orig/ibsi_1_digital_phantom/nifti/mask/mask.nii.gz");
    qib_volume *img = img_path ? read_nifti(img_path, "volume") : NULL;
    qib_volume *msk = msk_path ? read_nifti(msk_path, "mask") : NULL;
    if (!img || !msk) {
        skip(14, "IBSI digital phantom not readable");
        goto out;
    }
    int rc;
    qib_harness *h = t04_run("bio.intensity", "image", img, "mask", msk, NULL, 1, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t && qib_table_nrows(t) == 1, "digital phantom: one label, a table");
    if (t) {
        /* 74 voxels of 2 x 2 x 2 mm: IBSI "volume (voxel counting)" 592 mm^3 */
        is_int(t04_i(t, 0, "voxels"), 74, "digital phantom: 74 ROI voxels");
        is_double(t04_d(t, 0, "volume_ml"), 0.592, 1e-12,
                  "digital phantom: 0.592 mL (IBSI voxel-counting volume 592 mm^3)");
        const struct ref r[] = {
            {"mean", 2.15, 0.005},   {"variance", 3.05, 0.005},
            {"skewness", 1.08, 0.005}, {"excess_kurtosis", -0.355, 0.0005},
            {"median", 1, 0.005},    {"min", 1, 0.005},
            {"p10", 1, 0.005},       {"p90", 4, 0.005},
            {"max", 6, 0.005},       {"iqr", 3, 0.005},
            {"range", 5, 0.005},
        };
        check(t, "digital phantom", r, sizeof r / sizeof r[0]);
    } else {
        skip(13, "no table");
    }
    qib_harness_free(&h);
out:
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
    free(img_path);
    free(msk_path);
}

static void ct_phantom_config_a(void)
{
    char *img_path = refdata_path(
        "ibsi_data_sets/orig/ibsi_1_ct_radiomics_phantom/nifti/image/phantom.nii.gz");
    char *msk_path = refdata_path(
        "ibsi_data_sets/orig/ibsi_1_ct_radiomics_phantom/nifti/mask/mask.nii.gz");
    qib_volume *img = img_path ? read_nifti(img_path, "volume") : NULL;
    qib_volume *msk = msk_path ? read_nifti(msk_path, "mask") : NULL;
    if (!img || !msk) {
        skip(14, "IBSI CT phantom PAT1 not readable");
        goto out;
    }
    const char *const p[] = {"lower", "-500", "upper", "400", NULL};
    int rc;
    qib_harness *h = t04_run("bio.intensity", "image", img, "mask", msk, p, 2, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t && qib_table_nrows(t) == 1, "PAT1 config A: one label, a table");
    if (t) {
        /* diagnostics rows: initial ROI 125256 voxels, re-segmented 114596 */
        is_int(t04_i(t, 0, "mask_voxels"), 125256, "PAT1: 125256 voxels in GTV-1 (IBSI diag.)");
        is_int(t04_i(t, 0, "voxels"), 114596, "PAT1: 114596 after re-segmentation (IBSI diag.)");
        const struct ref r[] = {
            {"mean", 13.4, 1.1},       {"variance", 14200, 400},
            {"skewness", -2.47, 0.05}, {"excess_kurtosis", 5.96, 0.24},
            {"median", 46, 0.3},       {"min", -500, 0.5},
            {"p10", -129, 8},          {"p90", 95, 0.5},
            {"max", 377, 9},           {"iqr", 56, 0.5},
            {"range", 877, 9},
        };
        check(t, "PAT1 config A", r, sizeof r / sizeof r[0]);
    } else {
        skip(13, "no table");
    }
    qib_harness_free(&h);
out:
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
    free(img_path);
    free(msk_path);
}

int main(void)
{
    char *root = refdata_path("ibsi_data_sets");
    if (!root)
        skip_all("QIB_REFDATA/ibsi_data_sets not found (the IBSI phantoms)");
    free(root);
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new("read.nifti", &h, err, sizeof err) != QIB_OK)
        skip_all("read.nifti is not available: %s", err);
    qib_harness_free(&h);
    plan_lazy();
    digital_phantom();
    ct_phantom_config_a();
    return tap_done();
}
