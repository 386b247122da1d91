/* read.rtstruct on the IBSI CT radiomics phantom "PAT1"
 * (QIB_REFDATA/ibsi_data_sets): ROI "GTV-1" rasterised onto the DICOM
 * series read by read.dicom must hold 125 256 voxels (IBSI reference value
 * of the ROI's voxel count) and equal the published NIfTI mask voxel for
 * voxel; wrong names and a missing reference are refused. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t0700-dicom-util.h"

#define BASE "ibsi_data_sets/orig/ibsi_1_ct_radiomics_phantom/"

static qib_harness *rt(const char *path, const char *roi, qib_volume *ref, int *rc)
{
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new("read.rtstruct", &h, err, sizeof err) != QIB_OK)
        bail("cannot load read.rtstruct: %s", err);
    *rc = qib_harness_set_param(h, "path", path);
    if (*rc == QIB_OK)
        *rc = qib_harness_set_param(h, "roi", roi);
    if (*rc == QIB_OK && ref)
        *rc = qib_harness_set_volume(h, "reference", ref);
    if (*rc == QIB_OK)
        *rc = qib_harness_run(h);
    return h;
}

int main(void)
{
    char *dir = refdata_path(BASE "dicom/image");
    char *rs = refdata_path(BASE "dicom/mask/DCM_RS_00060.dcm");
    char *nii = refdata_path(BASE "nifti/mask/mask.nii.gz");
    if (!dir || !rs || !nii)
        skip_all("QIB_REFDATA/" BASE " not found");
    plan(9);
    int rc;
    qib_harness *hi = td_read(dir, &rc, NULL);
    const qib_volume *img = rc == QIB_OK ? qib_harness_out_volume(hi, "image") : NULL;
    if (!img)
        bail("read.dicom: %s", qib_harness_error(hi));
    qib_volume *ref = qib_volume_ref((qib_volume *)img);
    qib_harness *h = rt(rs, "GTV-1", ref, &rc);
    const qib_volume *m = rc == QIB_OK ? qib_harness_out_volume(h, "mask") : NULL;
    ok(m && qib_volume_is_mask(m), "GTV-1 rasterised into a mask");
    if (!m)
        diag("%s", qib_harness_error(h));
    size_t n = 0;
    for (size_t i = 0; m && i < qib_volume_nvox(m); i++)
        n += qib_volume_get(m, i) != 0;
    is_int((long long)n, 125256, "GTV-1: 125256 voxels (IBSI)");
    ok(m && qib_geom_same_grid(qib_volume_geom(m), qib_volume_geom(img), 1e-9, NULL, 0) == QIB_OK,
       "the mask is on the reference grid");
    int nrc;
    qib_harness *hn = td_read_nifti(nii, "mask", &nrc);
    const qib_volume *nm = nrc == QIB_OK ? qib_harness_out_volume(hn, "image") : NULL;
    double md = 0;
    long bad = m && nm ? td_compare_world(m, nm, 0, &md) : -1;
    is_int(bad, 0, "equals the IBSI NIfTI mask voxel for voxel at the same LPS points");
    qib_harness_free(&hn);
    qib_harness_free(&h);

    h = rt(rs, "gtv*", ref, &rc);
    m = rc == QIB_OK ? qib_harness_out_volume(h, "mask") : NULL;
    n = 0;
    for (size_t i = 0; m && i < qib_volume_nvox(m); i++)
        n += qib_volume_get(m, i) != 0;
    is_int((long long)n, 125256, "pattern gtv* (case-insensitive) selects the same ROI");
    qib_harness_free(&h);

    h = rt(rs, "PTV", ref, &rc);
    is_int(rc, QIB_ENOTFOUND, "an ROI name that is absent is refused");
    contains(qib_harness_error(h), "\"GTV-1\"", "the message lists the ROIs there are");
    qib_harness_free(&h);

    h = rt(rs, "GTV-1", NULL, &rc);
    ok(rc != QIB_OK, "no reference image: refused");
    qib_harness_free(&h);

    char *img0 = refdata_path(BASE "dicom/image/DCM_IMG_00000.dcm");
    h = rt(img0, "GTV-1", ref, &rc);
    contains(qib_harness_error(h), "not RTSTRUCT", "a CT slice is not a structure set");
    qib_harness_free(&h);
    free(img0);

    qib_volume_unref(&ref);
    qib_harness_free(&hi);
    free(dir);
    free(rs);
    free(nii);
    return tap_done();
}
