/* Registration and reg.apply against nibabel's test data: anat_moved is
 * anatomical.nii's data under the affine M = E * A (E a known rigid
 * transform, nibabel tests/data/make_moved_anat.py); reg.rigid must recover
 * E, and reg.apply's trilinear resampling of anat_moved onto functional.nii's
 * grid must match SPM12's resampled_anat_moved.nii where SPM's edge rule
 * allows (nibabel test_processing.py::test_against_spm_resample). */
#include <config.h>

#include "t1000-reg-util.h"

static qib_volume *read_nifti(const char *rel)
{
    char *p = refdata_path(rel);
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new("read.nifti", &h, err, sizeof err) != QIB_OK)
        bail("read.nifti: %s", err);
    qib_harness_set_param(h, "path", p);
    if (qib_harness_run(h) != QIB_OK)
        bail("%s: %s", p, qib_harness_error(h));
    qib_volume *v = qib_volume_ref((qib_volume *)qib_harness_out_volume(h, "image"));
    qib_harness_free(&h);
    free(p);
    return v;
}

/* RAS 4x4 to LPS: F X (F on both sides for a transform, left only for a
 * voxel-to-world affine). */
static void lps(double m[16], int both)
{
    static const double f[4] = {-1, -1, 1, 1};
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            m[4 * r + c] *= f[r] * (both ? f[c] : 1);
}

int main(void)
{
    if (!getenv("QIB_REFDATA"))
        skip_all("QIB_REFDATA is not set");
    char *probe = refdata_path("nibabel_test_data/README.md");
    FILE *pf = probe ? fopen(probe, "r") : NULL;
    free(probe);
    if (!pf)
        skip_all("nibabel_test_data is missing from QIB_REFDATA");
    fclose(pf);
    plan(9);
    /* E and M as printed in the reference data's README (nibabel 5.0.0). */
    double E[16] = {0.975170327, -0.097843395, 0.198669331, 3, 0.153791998, 0.944702486,
                    -0.289629478, 4, -0.159345079, 0.312991826, 0.936293364, 5, 0, 0, 0, 1};
    double M[16] = {-1.950340654, -0.195686790, 0.397338662, 34.940476978, -0.307583996,
                    1.889404972, -0.579258955, -24.232683862, 0.318690159, 0.625983652,
                    1.872586727, -27.599409387, 0, 0, 0, 1};
    lps(E, 1);
    lps(M, 0);
    qib_volume *anat = read_nifti("nibabel_test_data/orig/nibabel/tests/data/anatomical.nii");
    qib_volume *moved = NULL;
    qib_volume_copy(anat, &moved);
    struct qib_geom g = *qib_volume_geom(anat);
    for (int c = 0; c < 3; c++) {
        double n = sqrt(M[c] * M[c] + M[4 + c] * M[4 + c] + M[8 + c] * M[8 + c]);
        g.spacing[c] = n;
        for (int r = 0; r < 3; r++)
            g.dir[3 * r + c] = M[4 * r + c] / n;
    }
    for (int r = 0; r < 3; r++)
        g.origin[r] = M[4 * r + 3];
    is_int(qib_volume_set_geom(moved, &g), QIB_OK, "anat_moved geometry M = E A set");

    /* 1. reg.rigid recovers E. */
    const char *kv[] = {"shrink_factors", "[2, 1]", "smoothing_sigmas", "[2, 0]", "sampling",
                        "all", NULL};
    double t[16];
    qib_harness *h = t10_register("reg.rigid", anat, moved, 2, t, kv);
    ok(h != NULL, "reg.rigid anatomical <- anat_moved runs");
    double err = h ? t10_corner_error(qib_volume_geom(anat), t, E) : 1e9;
    diag("corner error %.4f mm", err);
    ok(err < 0.5, "E recovered within 0.5 mm at the corners (found %.3f mm)", err);
    qib_harness_free(&h);
    const char *kv2[] = {"metric", "normalized_correlation", "shrink_factors", "[2, 1]",
                         "smoothing_sigmas", "[2, 0]", NULL};
    h = t10_register("reg.rigid", anat, moved, 2, t, kv2);
    err = h ? t10_corner_error(qib_volume_geom(anat), t, E) : 1e9;
    diag("corner error (normalised correlation, stratified) %.4f mm", err);
    ok(err < 0.5, "normalised correlation: E within 0.5 mm (found %.3f mm)", err);
    qib_harness_free(&h);

    /* 2. reg.apply (identity transform: anat_moved's own affine carries E)
     * onto functional.nii's grid against SPM12. */
    qib_volume *func = read_nifti("nibabel_test_data/orig/nibabel/tests/data/functional.nii");
    qib_volume *spm =
        read_nifti("nibabel_test_data/orig/nibabel/tests/data/resampled_anat_moved.nii");
    qib_transform *id = NULL;
    qib_transform_new_identity(&id);
    char e2[512];
    qib_harness *a = NULL;
    if (qib_harness_new("reg.apply", &a, e2, sizeof e2) != QIB_OK)
        bail("reg.apply: %s", e2);
    qib_harness_set_volume(a, "image", moved);
    qib_harness_set_volume(a, "reference", func);
    qib_harness_set_transform(a, "transform", id);
    int rc = qib_harness_run(a);
    is_int(rc, QIB_OK, "reg.apply onto functional.nii's grid runs");
    const qib_volume *out = qib_harness_out_volume(a, "image");
    char why[256];
    is_int(out ? qib_geom_same_grid(qib_volume_geom(out), qib_volume_geom(spm), 1e-4, why,
                                    sizeof why)
               : -1,
           QIB_OK, "output on SPM's grid");
    size_t n = qib_volume_nvox(spm), cmp = 0, bad = 0;
    double worst = 0;
    const struct qib_geom *go = qib_volume_geom(spm);
    for (size_t i = 0; out && i < n; i++) {
        double s = qib_volume_get(spm, i);
        if (isnan(s))
            continue;
        double idx[3] = {(double)(i % go->dims[0]), (double)((i / go->dims[0]) % go->dims[1]),
                         (double)(i / (go->dims[0] * go->dims[1]))},
               w[3], src[3];
        qib_geom_index_to_world(go, idx, w);
        qib_geom_world_to_index(&g, w, src);
        int in = 1;
        for (int ax = 0; ax < 3; ax++)
            if (src[ax] < 0 || src[ax] > (double)g.dims[ax] - 1)
                in = 0;
        if (!in)
            continue;
        double q = qib_volume_get(out, i);
        double d = fabs(q - s) / fmax(1, fabs(s));
        if (d > worst)
            worst = d;
        if (d > 1e-4)
            bad++;
        cmp++;
    }
    diag("%zu voxels compared, largest relative difference %.3g", cmp, worst);
    ok(cmp > 500, "more than 500 voxels inside SPM's edge mask (%zu)", cmp);
    is_int((long long)bad, 0, "trilinear equals SPM12 within 1e-4 relative");
    ok(worst < 1e-4, "largest relative difference %.3g", worst);
    qib_harness_free(&a);
    qib_transform_unref(&id);
    qib_volume_unref(&func);
    qib_volume_unref(&spm);
    qib_volume_unref(&anat);
    qib_volume_unref(&moved);
    return tap_done();
}
