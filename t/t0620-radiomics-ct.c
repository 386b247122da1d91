/* bio.radiomics on the IBSI 1 CT radiomics phantom (PAT1, GTV-1) in one of
 * the processing configurations A-E (IBSI_CONFIG 0..4), against every
 * reference value of ibsi_1_reference_values_config_<X>.csv, diagnostics
 * included (Zwanenburg A et al., Radiology 2020;295:328-338;
 * arXiv:1612.07003, chapter 5.2; configurations in the IBSI documentation,
 * 05_Reference_data_sets.rst).  The NIfTI image is rounded to integers as
 * the IBSI asks for the NIfTI copy. */
#include "config.h"

#include "t0600-ibsi.h"

#ifndef IBSI_CONFIG
#error IBSI_CONFIG must be 0..4
#endif

static const char *const cfg_name = &"ABCDE"[IBSI_CONFIG];

static const char *const params[5][40] = {
    /* A: 2-D, no interpolation, [-500, 400] HU, FBS 25 HU */
    {"texture_2d", "true", "texture_2_5d", "true", "texture_3d", "false", "round", "true",
     "reseg_lower", "-500", "reseg_upper", "400", "discretisation", "fbs", "bin_width", "25",
     "ivh_discretisation", "none", NULL},
    /* B: 2-D, bilinear to 2 x 2 mm in-plane, [-500, 400] HU, FBN 32 */
    {"texture_2d", "true", "texture_2_5d", "true", "texture_3d", "false", "round", "true",
     "spacing", "[2, 2, 0]", "inplane", "true", "interpolation", "linear",
     "mask_interpolation", "linear", "partial_volume", "0.5", "reseg_lower", "-500",
     "reseg_upper", "400", "discretisation", "fbn", "bin_number", "32",
     "ivh_discretisation", "none", NULL},
    /* C: 3-D, trilinear to 2 mm, [-1000, 400] HU, FBS 25 HU, IVH FBS 2.5 HU */
    {"texture_3d", "true", "round", "true", "spacing", "[2, 2, 2]", "interpolation", "linear",
     "mask_interpolation", "linear", "partial_volume", "0.5", "reseg_lower", "-1000",
     "reseg_upper", "400", "discretisation", "fbs", "bin_width", "25",
     "ivh_discretisation", "fbs", "ivh_width", "2.5", NULL},
    /* D: 3-D, trilinear to 2 mm, 3 sigma outliers, FBN 32 */
    {"texture_3d", "true", "round", "true", "spacing", "[2, 2, 2]", "interpolation", "linear",
     "mask_interpolation", "linear", "partial_volume", "0.5", "outlier_sigma", "3",
     "discretisation", "fbn", "bin_number", "32", "ivh_discretisation", "none", NULL},
    /* E: 3-D, cubic spline to 2 mm, [-1000, 400] HU and 3 sigma, FBN 32,
     * IVH FBN 1000 */
    {"texture_3d", "true", "round", "true", "spacing", "[2, 2, 2]", "interpolation", "cubic",
     "mask_interpolation", "linear", "partial_volume", "0.5", "reseg_lower", "-1000",
     "reseg_upper", "400", "outlier_sigma", "3", "discretisation", "fbn", "bin_number", "32",
     "ivh_discretisation", "fbn", "ivh_bins", "1000", NULL},
};

#include "t0620-todo.h"

static qib_harness *run(qib_volume *img, qib_volume *msk, int threads)
{
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new("bio.radiomics", &h, err, sizeof err) != QIB_OK)
        bail("cannot load bio.radiomics: %s", err);
    qib_harness_set_volume(h, "image", img);
    qib_harness_set_volume(h, "mask", msk);
    for (int i = 0; params[IBSI_CONFIG][i]; i += 2)
        if (qib_harness_set_param(h, params[IBSI_CONFIG][i], params[IBSI_CONFIG][i + 1]) != QIB_OK)
            bail("%s: %s", params[IBSI_CONFIG][i], qib_harness_error(h));
    qib_harness_set_threads(h, threads);
    if (qib_harness_run(h) != QIB_OK)
        bail("bio.radiomics: %s", qib_harness_error(h));
    return h;
}

int main(void)
{
    char rel[256];
    char *ip = refdata_path("ibsi_data_sets/orig/ibsi_1_ct_radiomics_phantom/nifti/image/phantom.nii.gz");
    char *mp = refdata_path("ibsi_data_sets/orig/ibsi_1_ct_radiomics_phantom/nifti/mask/mask.nii.gz");
    snprintf(rel, sizeof rel,
             "ibsi_reference_values/orig/z-rad/tests/data/ibsi_1_reference_values_config_%c.csv",
             *cfg_name);
    struct t06_ref *refs = NULL;
    int nref = t06_load_refs(rel, &refs);
    if (!ip || !mp || nref < 0)
        skip_all("IBSI CT radiomics phantom or its reference values not found under QIB_REFDATA");
    plan_lazy();
    qib_volume *img = t06_read_nifti(ip, "volume"), *msk = t06_read_nifti(mp, "mask");
    if (!img || !msk)
        bail("cannot read the CT radiomics phantom");
    diag("IBSI configuration %c", *cfg_name);
    qib_harness *h = run(img, msk, 2);
    int ntodo = 0;
    t06_compare(qib_harness_out_table(h, "diagnostics"), refs, nref, todo, "Diagnostics", 1,
                &ntodo, 1);
    t06_compare(qib_harness_out_table(h, "table"), refs, nref, todo, "Diagnostics", 0, &ntodo,
                1);
    t06_check_codes(qib_harness_out_table(h, "table"), qib_harness_out_table(h, "diagnostics"),
                    refs, nref);
#if IBSI_CONFIG == 2
    /* Determinism: one thread gives the same bits as two. */
    {
        qib_harness *h1 = run(img, msk, 1);
        const qib_table *a = qib_harness_out_table(h, "table"), *b = qib_harness_out_table(h1, "table");
        int same = qib_table_ncols(a) == qib_table_ncols(b);
        for (size_t c = 0; same && c < qib_table_ncols(a); c++) {
            double x = qib_table_get_double(a, 0, c), y = qib_table_get_double(b, 0, c);
            same = !memcmp(&x, &y, sizeof x);
        }
        ok(same, "1 and 2 threads give identical tables");
        qib_harness_free(&h1);
    }
#endif
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
    free(refs), free(ip), free(mp);
    return t06_done(ntodo);
}
