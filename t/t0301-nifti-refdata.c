/* read.nifti on nibabel's test images (QIB_REFDATA/nibabel_test_data, see its
 * README.md): header values, voxel values, sums and affines published there
 * (nibabel 5.0.0 and nifti_tool agree on them), the sform/qform choice, a
 * big-endian file, scl_slope, NIfTI-2, header-only pairs and NaNs. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "t0300-nifti-util.h"

#define DATA "nibabel_test_data/orig/nibabel/tests/data/"

/* The README's RAS affine (3x4) turned into the LPS affine qib must give:
 * the x and y rows negated. */
static void ras_to_lps(const double ras[12], double lps[16])
{
    memset(lps, 0, 16 * sizeof(double));
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            lps[4 * r + c] = (r < 2 ? -1 : 1) * ras[4 * r + c];
    lps[15] = 1;
}

static qib_harness *read_ref(const char *name, const char *as, int *rc, char **pathp)
{
    char rel[256];
    snprintf(rel, sizeof rel, DATA "%s", name);
    char *p = refdata_path(rel);
    if (!p)
        bail("%s missing from QIB_REFDATA", rel);
    qib_harness *h = tn_read(p, as, rc);
    if (*rc != QIB_OK)
        diag("%s: %s", name, qib_harness_error(h));
    if (pathp)
        *pathp = p;
    else
        free(p);
    return h;
}

static const char *meta(const qib_volume *v, const char *key)
{
    const char *s = qib_meta_get(qib_volume_meta(v), key);
    return s ? s : "(absent)";
}

/* example4d.nii.gz: sform (code 1) wins over the qform (code 1). */
static void test_example4d(void)
{
    int rc;
    qib_harness *h = read_ref("example4d.nii.gz", NULL, &rc, NULL);
    const qib_volume *v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v, "example4d.nii.gz reads");
    if (!v) {
        skip(17, "no volume");
        qib_harness_free(&h);
        return;
    }
    const struct qib_geom *g = qib_volume_geom(v);
    is_int(g->ndim, 4, "example4d: 4-D");
    ok(g->dims[0] == 128 && g->dims[1] == 96 && g->dims[2] == 24 && g->dims[3] == 2,
       "example4d: dims 128 96 24 2");
    is_int(qib_volume_dtype(v), QIB_I16, "example4d: int16 kept (identity scaling)");
    is_double(tn_at(v, 64, 48, 12, 0), 265, 0, "example4d: voxel (64,48,12,0) = 265");
    is_double(tn_at(v, 64, 48, 12, 1), 266, 0, "example4d: voxel (64,48,12,1) = 266");
    is_double(tn_sum(v), 101985356, 0, "example4d: raw sum 101985356");
    is_double(g->spacing[0], 2.0, 1e-6, "example4d: spacing x 2 mm");
    is_double(g->spacing[1], 2.0, 1e-6, "example4d: spacing y 2 mm (column norm of the sform)");
    is_double(g->spacing[2], 2.2, 1e-6, "example4d: spacing z 2.2 mm");
    is_double(g->spacing[3], 2000, 0, "example4d: pixdim[4] 2000 is the 4th spacing");
    is_string(qib_harness_record(h, "affine_source"), "sform",
              "example4d: sform chosen (sform_code 1 > 0), recorded for provenance");
    is_string(meta(v, "nifti.affine_source"), "sform", "example4d: affine_source in metadata");
    /* README: sform (srow_x/y/z) */
    static const double sform[12] = {-2.0, 0.0, 0.0, 117.855103, -0.0, 1.973711, -0.355528,
                                     -35.722942, 0.0, 0.323208, 2.171082, -7.248798};
    double want[16], got[16];
    ras_to_lps(sform, want);
    tn_affine(v, got);
    ok(tn_affine_diff(got, want) < 2e-6, "example4d: LPS affine = README sform with x,y negated "
                                         "(max diff %.2g)", tn_affine_diff(got, want));
    /* The descrip bytes are "FSL3.3\0 v2.25 NIfTI-1 Single file format": a C
     * string ends at the NUL, as nifti_tool -disp_nim shows it. */
    is_string(meta(v, "nifti.descrip"), "FSL3.3", "example4d: descrip up to its first NUL");
    /* xyzt_units 10 = NIFTI_UNITS_MM (2) | NIFTI_UNITS_SEC (8) per nifti1.h;
     * nibabel's get_xyzt_units() also says ('mm', 'sec'). */
    is_string(meta(v, "nifti.xyzt_units"), "10", "example4d: xyzt_units 10");
    is_string(meta(v, "nifti.time_unit"), "s", "example4d: time unit code 8 = seconds");
    contains(meta(v, "nifti.extensions"), "2 (codes 6 6)", "example4d: two comment extensions "
                                                          "(code 6) skipped, vox_offset 416");
    qib_harness_free(&h);
}

/* The same file with sform_code set to 0: the qform (quaternion, qfac -1).
 * Here 1 - (b^2 + c^2 + d^2) = 1.0e-9, below float32 round-off: qib follows
 * nifti_clib (the reference implementation) and takes a = 0, so the matrix
 * is nifti_tool's qto_xyz (-disp_nim) below.  nibabel takes a = sqrt(1e-9)
 * instead, which gives the README's qform; the two differ by up to 1.4e-4 in
 * three off-diagonal elements. */
static void test_example4d_qform(const char *tmp)
{
    char *p = refdata_path(DATA "example4d.nii.gz");
    gzFile gzf = p ? gzopen(p, "rb") : NULL;
    free(p);
    if (!gzf)
        bail("cannot open example4d.nii.gz");
    size_t cap = 128u * 96 * 24 * 2 * 2 + 4096, len = 0;
    unsigned char *buf = malloc(cap);
    int n;
    while (buf && (n = gzread(gzf, buf + len, (unsigned)(cap - len))) > 0)
        len += (size_t)n;
    gzclose(gzf);
    if (!buf || len < 352)
        bail("cannot inflate example4d.nii.gz");
    buf[254] = 0; /* sform_code, little-endian int16 */
    buf[255] = 0;
    char *q = tn_join(tmp, "example4d-qform.nii");
    tn_write_raw(q, buf, len);
    free(buf);
    int rc;
    qib_harness *h = tn_read(q, NULL, &rc);
    const qib_volume *v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v, "example4d with sform_code 0 reads");
    if (v) {
        static const double qto_xyz[12] = {-2.0, 0.0, -0.0, 117.855103,
                                           0.0,  1.973711, -0.355528, -35.722942,
                                           0.0,  0.323208, 2.171082,  -7.248798};
        static const double readme[12] = {-2.000000, 0.000010, 0.000139, 117.855103,
                                          -0.000010, 1.973711, -0.355528, -35.722942,
                                          0.000126,  0.323208, 2.171082,  -7.248798};
        double want[16], got[16];
        ras_to_lps(qto_xyz, want);
        tn_affine(v, got);
        ok(tn_affine_diff(got, want) < 2e-6,
           "qform: quaternion (b,c,d) + qfac -1 give nifti_tool's qto_xyz (max diff %.2g)",
           tn_affine_diff(got, want));
        ras_to_lps(readme, want);
        ok(tn_affine_diff(got, want) < 1.5e-4,
           "qform: and the README (nibabel) qform within its a = sqrt(1e-9) difference "
           "(max diff %.2g)", tn_affine_diff(got, want));
        is_string(qib_harness_record(h, "affine_source"), "qform", "qform chosen when sform_code 0");
        is_string(meta(v, "nifti.qfac"), "-1", "qfac -1 recorded");
        is_double(qib_volume_geom(v)->spacing[2], 2.2, 1e-6, "qform: z spacing is pixdim[3] 2.2");
    } else {
        skip(5, "no volume");
    }
    qib_harness_free(&h);
    free(q);
}

static void test_nifti2(void)
{
    int rc;
    qib_harness *h = read_ref("example_nifti2.nii.gz", NULL, &rc, NULL);
    const qib_volume *v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v, "example_nifti2.nii.gz (NIfTI-2, sizeof_hdr 540) reads");
    if (v) {
        const struct qib_geom *g = qib_volume_geom(v);
        ok(g->dims[0] == 32 && g->dims[1] == 20 && g->dims[2] == 12 && g->dims[3] == 2,
           "example_nifti2: dims 32 20 12 2");
        is_double(tn_at(v, 16, 10, 6, 0), 265, 0, "example_nifti2: voxel (16,10,6,0) = 265");
        is_double(tn_at(v, 16, 10, 6, 1), 266, 0, "example_nifti2: voxel (16,10,6,1) = 266");
        is_double(tn_sum(v), 6926802, 0, "example_nifti2: raw sum 6926802");
        is_string(meta(v, "nifti.version"), "2", "example_nifti2: version 2 recorded");
        static const double sform[12] = {-2.0, 0.0, 0.0, 117.855103, -0.0, 1.973711, -0.355528,
                                         -35.722942, 0.0, 0.323208, 2.171082, -7.248798};
        double want[16], got[16];
        ras_to_lps(sform, want);
        tn_affine(v, got);
        ok(tn_affine_diff(got, want) < 2e-6, "example_nifti2: same sform as example4d");
    } else {
        skip(6, "no volume");
    }
    qib_harness_free(&h);
}

static void test_anatomical(void)
{
    int rc;
    qib_harness *h = read_ref("anatomical.nii", NULL, &rc, NULL);
    const qib_volume *v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v, "anatomical.nii (big-endian) reads");
    if (v) {
        const struct qib_geom *g = qib_volume_geom(v);
        ok(g->ndim == 3 && g->dims[0] == 33 && g->dims[1] == 41 && g->dims[2] == 25,
           "anatomical: dims 33 41 25");
        is_string(meta(v, "nifti.byte_order"), "big", "anatomical: big-endian detected");
        is_double(tn_at(v, 16, 20, 12, 0), 11881, 0, "anatomical: voxel (16,20,12) = 11881");
        is_double(tn_sum(v), 284166082, 0, "anatomical: sum 284166082");
        /* RAS diag(-2,2,2) offset (32,-40,-16) -> LPS diag(2,-2,2), (-32,40,-16) */
        is_double(g->origin[0], -32, 1e-9, "anatomical: LPS origin x = -32 (RAS 32)");
        is_double(g->origin[1], 40, 1e-9, "anatomical: LPS origin y = 40 (RAS -40)");
        is_double(g->origin[2], -16, 1e-9, "anatomical: LPS origin z = -16");
        ok(g->dir[0] == 1 && g->dir[4] == -1 && g->dir[8] == 1 && g->dir[1] == 0 &&
               g->dir[3] == 0,
           "anatomical: LPS direction diag(1,-1,1) (RAS diag(-1,1,1))");
        ok(g->spacing[0] == 2 && g->spacing[1] == 2 && g->spacing[2] == 2,
           "anatomical: spacing 2 2 2");
        is_string(meta(v, "nifti.sform_code"), "2", "anatomical: sform_code 2 kept in metadata");
        is_string(meta(v, "nifti.qform_code"), "2", "anatomical: qform_code 2 kept in metadata");
    } else {
        skip(11, "no volume");
    }
    qib_harness_free(&h);

    /* as=mask: its values run from -610 to 30393; 33769 voxels above 255
     * and 26 below 0 (counted with nibabel 5.0.0). */
    char *p = NULL;
    h = read_ref("anatomical.nii", "mask", &rc, &p);
    is_int(rc, QIB_ERANGE, "anatomical as=mask: refused (not a label image)");
    contains(qib_harness_error(h), "33795 voxels", "anatomical as=mask: names the count of "
                                                    "offending voxels (33769 + 26)");
    contains(qib_harness_error(h), p, "anatomical as=mask: names the file");
    ok(qib_harness_out_volume(h, "image") == NULL, "anatomical as=mask: no output");
    free(p);
    qib_harness_free(&h);
}

static void test_functional(void)
{
    int rc;
    qib_harness *h = read_ref("functional.nii", NULL, &rc, NULL);
    const qib_volume *v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v, "functional.nii reads");
    if (v) {
        const struct qib_geom *g = qib_volume_geom(v);
        ok(g->ndim == 4 && g->dims[0] == 17 && g->dims[1] == 21 && g->dims[2] == 3 &&
               g->dims[3] == 20,
           "functional: dims 17 21 3 20");
        is_int(qib_volume_dtype(v), QIB_F32, "functional: scaled int16 becomes f32");
        /* README: stored (8,10,1,0) = 10145 -> 10145 * 0.0754069686 + 3100.76171875 */
        is_double(tn_at(v, 8, 10, 1, 0), 3865.7654, 5e-4,
                  "functional: voxel (8,10,1,0) = 10145 * scl_slope + scl_inter = 3865.7654");
        is_double(strtod(meta(v, "nifti.scl_slope"), NULL), 0.0754069686, 1e-9,
                  "functional: scl_slope recorded");
        is_double(strtod(meta(v, "nifti.scl_inter"), NULL), 3100.76171875, 0,
                  "functional: scl_inter recorded");
        ok(qib_harness_record(h, "scaling") != NULL, "functional: scaling recorded for provenance");
        is_double(g->origin[0], -32, 1e-9, "functional: LPS origin (-32, 40, 0)");
        is_double(g->spacing[2], 8, 0, "functional: z spacing 8");
        is_double(g->spacing[3], 2, 0, "functional: pixdim[4] 2 is the 4th spacing");
    } else {
        skip(9, "no volume");
    }
    qib_harness_free(&h);
}

static void test_standard(void)
{
    int rc;
    qib_harness *h = read_ref("standard.nii.gz", NULL, &rc, NULL);
    const qib_volume *v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v, "standard.nii.gz reads");
    if (v) {
        const struct qib_geom *g = qib_volume_geom(v);
        ok(g->dims[0] == 4 && g->dims[1] == 5 && g->dims[2] == 7, "standard: dims 4 5 7");
        is_int(qib_volume_dtype(v), QIB_U8, "standard: uint8");
        is_double(tn_at(v, 1, 2, 3, 0), 255, 0, "standard: voxel (1,2,3) = 255");
        is_double(tn_sum(v), 7650, 0, "standard: sum 7650");
        is_string(qib_harness_record(h, "affine_source"), "sform",
                  "standard: sform used (qform_code 0, sform_code 2)");
        ok(g->spacing[0] == 1 && g->spacing[1] == 3 && g->spacing[2] == 2,
           "standard: spacing 1 3 2 from the sform columns");
        contains(meta(v, "nifti.spatial_unit"), "unknown", "standard: xyzt_units 0 recorded as "
                                                           "unknown (taken as mm)");
    } else {
        skip(7, "no volume");
    }
    qib_harness_free(&h);

    h = read_ref("standard.nii.gz", "mask", &rc, NULL);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_is_mask(v), "standard as=mask: a flagged u8 mask");
    if (v)
        is_double(tn_sum(v), 7650, 0, "standard as=mask: values 0/255 kept (30 voxels of 255)");
    else
        skip(1, "no volume");
    qib_harness_free(&h);
}

static void test_header_only(void)
{
    static const char *const names[2] = {"nifti1.hdr", "nifti2.hdr"};
    static const char *const imgs[2] = {"nifti1.img", "nifti2.img"};
    for (int i = 0; i < 2; i++) {
        int rc;
        char *p = NULL;
        qib_harness *h = read_ref(names[i], NULL, &rc, &p);
        is_int(rc, QIB_ENOTFOUND, "%s (header-only pair): refused", names[i]);
        contains(qib_harness_error(h), imgs[i], "%s: the message names the missing %s", names[i],
                 imgs[i]);
        contains(qib_harness_error(h), p, "%s: the message names the header file", names[i]);
        free(p);
        qib_harness_free(&h);
    }
}

static void test_spm_float(void)
{
    int rc;
    qib_harness *h = read_ref("resampled_anat_moved.nii", NULL, &rc, NULL);
    const qib_volume *v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v, "resampled_anat_moved.nii (big-endian float32) reads");
    if (v) {
        size_t n = qib_volume_nvox(v), nan = 0;
        for (size_t i = 0; i < n; i++)
            nan += isnan(qib_volume_get(v, i)) != 0;
        is_int((long long)n, 1071, "resampled: 17x21x3 = 1071 voxels");
        is_int((long long)nan, 153, "resampled: the 153 NaN voxels are kept");
        is_int(qib_volume_dtype(v), QIB_F32, "resampled: float32");
        is_double(tn_at(v, 8, 10, 1, 0), 10849.904296875, 0,
                  "resampled: voxel (8,10,1) = 10849.904296875 (nibabel)");
    } else {
        skip(4, "no volume");
    }
    qib_harness_free(&h);

    h = read_ref("reoriented_anat_moved.nii", NULL, &rc, NULL);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v, "reoriented_anat_moved.nii reads");
    if (v) {
        const struct qib_geom *g = qib_volume_geom(v);
        ok(g->dims[0] == 21 && g->dims[1] == 26 && g->dims[2] == 22, "reoriented: dims 21 26 22");
        is_double(tn_at(v, 10, 13, 11, 0), 8117.22021484375, 0,
                  "reoriented: voxel (10,13,11) = 8117.22021484375 (nibabel)");
        /* qfac 1, RAS diag(4,4,4): LPS direction diag(-1,-1,1) */
        ok(g->dir[0] == -1 && g->dir[4] == -1 && g->dir[8] == 1, "reoriented: LPS dir "
                                                                 "diag(-1,-1,1)");
    } else {
        skip(3, "no volume");
    }
    qib_harness_free(&h);
}

int main(void)
{
    char *probe = refdata_path(DATA "example4d.nii.gz");
    if (!probe)
        skip_all("QIB_REFDATA/" DATA " not found (set QIB_REFDATA to the shared refdata)");
    free(probe);
    plan_lazy();
    char *tmp = tap_tmpdir();
    test_example4d();
    test_example4d_qform(tmp);
    test_nifti2();
    test_anatomical();
    test_functional();
    test_standard();
    test_header_only();
    test_spm_float();
    free(tmp);
    return tap_done();
}
