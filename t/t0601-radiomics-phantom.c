/* bio.radiomics on the IBSI 1 digital phantom (5x4x4 voxels, 2 mm) against
 * every reference value of ibsi_1_reference_values_digital_phantom.csv
 * (Zwanenburg A et al., Radiology 2020;295:328-338; arXiv:1612.07003,
 * chapter 5.1: no discretisation, GLCM/NGTDM/NGLDM distance 1, NGLDM
 * coarseness 0), then the same table with 1 and 2 threads. */
#include "config.h"

#include "t0600-ibsi.h"

/* Features documented in doc/ibsi-conformance.md as not yet passing. */
static const struct t06_todo todo[] = {
    {NULL, NULL},
};

static qib_harness *run(qib_volume *img, qib_volume *msk, int threads)
{
    static const char *const par[] = {
        "texture_2d", "true", "texture_2_5d", "true", "texture_3d", "true",
        "discretisation", "fbs", "bin_width", "1", "ivh_discretisation", "none", NULL,
    };
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new("bio.radiomics", &h, err, sizeof err) != QIB_OK)
        bail("cannot load bio.radiomics: %s", err);
    qib_harness_set_volume(h, "image", img);
    qib_harness_set_volume(h, "mask", msk);
    for (int i = 0; par[i]; i += 2)
        if (qib_harness_set_param(h, par[i], par[i + 1]) != QIB_OK)
            bail("%s: %s", par[i], qib_harness_error(h));
    qib_harness_set_threads(h, threads);
    if (qib_harness_run(h) != QIB_OK)
        bail("bio.radiomics: %s", qib_harness_error(h));
    return h;
}

int main(void)
{
    char *ip = refdata_path("ibsi_data_sets/orig/ibsi_1_digital_phantom/nifti/image/phantom.nii.gz");
    char *mp = refdata_path("ibsi_data_sets/orig/ibsi_1_digital_phantom/nifti/mask/mask.nii.gz");
    struct t06_ref *refs = NULL;
    int nref = t06_load_refs(
        "ibsi_reference_values/orig/z-rad/tests/data/ibsi_1_reference_values_digital_phantom.csv",
        &refs);
    if (!ip || !mp || nref < 0)
        skip_all("IBSI digital phantom or its reference values not found under QIB_REFDATA");
    plan_lazy();
    qib_volume *img = t06_read_nifti(ip, "volume"), *msk = t06_read_nifti(mp, "mask");
    if (!img || !msk)
        bail("cannot read the digital phantom");
    qib_harness *h1 = run(img, msk, 1);
    const qib_table *t = qib_harness_out_table(h1, "table");
    int ntodo = 0;
    t06_compare(t, refs, nref, todo, NULL, 0, &ntodo);

    /* Same bits with two threads. */
    qib_harness *h2 = run(img, msk, 2);
    const qib_table *t2 = qib_harness_out_table(h2, "table");
    int same = qib_table_ncols(t) == qib_table_ncols(t2);
    for (size_t c = 0; same && c < qib_table_ncols(t); c++) {
        double a = qib_table_get_double(t, 0, c), b = qib_table_get_double(t2, 0, c);
        same = !memcmp(&a, &b, sizeof a);
    }
    ok(same, "1 and 2 threads give identical tables");
    qib_harness_free(&h1);
    qib_harness_free(&h2);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
    free(refs), free(ip), free(mp);
    return t06_done(ntodo);
}
