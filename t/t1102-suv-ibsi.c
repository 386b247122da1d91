/* bio.suv against the IBSI 1 reference values of the digital phantom
 * (Zwanenburg A et al., Radiology 2020;295:328-338; arXiv:1612.07003,
 * "Local intensity features"): local intensity peak (VJGA) 2.6 and global
 * intensity peak (0F91) 3.1, rows loc_peak_loc and loc_peak_glob of
 * $QIB_REFDATA/ibsi_reference_values/.../ibsi_1_reference_values_digital_phantom.csv
 * (tolerance 0 there: "equal to the digits shown", taken as half a unit of
 * the last digit).  The phantom is read with read.nifti from
 * $QIB_REFDATA/ibsi_data_sets. */
#include "config.h"

#include <stdlib.h>

#include "t0400-util.h"

/* Read a NIfTI file with read.nifti; a deep copy of the result, or NULL. */
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

int main(void)
{
    char *root = refdata_path("ibsi_data_sets");
    if (!root)
        skip_all("QIB_REFDATA/ibsi_data_sets not found (the IBSI digital phantom)");
    free(root);
    qib_harness *rh = NULL;
    char err[512];
    if (qib_harness_new("read.nifti", &rh, err, sizeof err) != QIB_OK)
        skip_all("read.nifti is not available: %s", err);
    qib_harness_free(&rh);

    char *img_path = refdata_path(
        "ibsi_data_sets/orig/ibsi_1_digital_phantom/nifti/image/phantom.nii.gz");
    char *msk_path =
        refdata_path("ibsi_data_sets/orig/ibsi_1_digital_phantom/nifti/mask/mask.nii.gz");
    qib_volume *img = img_path ? read_nifti(img_path, "volume") : NULL;
    qib_volume *msk = msk_path ? read_nifti(msk_path, "mask") : NULL;
    if (!img || !msk)
        skip_all("IBSI digital phantom not readable");
    plan(6);
    int rc;
    qib_harness *h = t04_run("bio.suv", "image", img, "mask", msk, NULL, 2, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t && qib_table_nrows(t) == 1, "digital phantom: one label")) {
        is_double(t04_d(t, 0, "suv_peak_local"), 2.6, 0.05,
                  "local intensity peak 2.6 (IBSI VJGA, loc_peak_loc)");
        is_double(t04_d(t, 0, "suv_peak_global"), 3.1, 0.05,
                  "global intensity peak 3.1 (IBSI 0F91, loc_peak_glob)");
        /* IBSI intensity statistics of the same ROI: max 6 (84IY), mean
         * 2.15 (Q4LE); 74 voxels of 8 mm^3 (volume 592 mm^3) */
        is_double(t04_d(t, 0, "suv_max"), 6, 0.005, "maximum 6 (IBSI 84IY)");
        is_double(t04_d(t, 0, "suv_mean"), 2.15, 0.005, "mean 2.15 (IBSI Q4LE)");
        is_double(t04_d(t, 0, "mtv_ml"), 0.592, 1e-12, "volume 592 mm^3 (74 voxels)");
    } else {
        diag("%s", qib_harness_error(h));
        skip(5, "no table");
    }
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
    free(img_path);
    free(msk_path);
    return tap_done();
}
