/* read.dicom on dcm_qa_ts (QIB_REFDATA/dcm_qa_ts, neurolabusc/dcm_qa_ts): one
 * Siemens EPI mosaic in nine transfer syntaxes.  The three uncompressed ones
 * (explicit LE, implicit LE, explicit BE) must give the voxels of dcm2niix's
 * Ref/1.nii, compared voxel by voxel in LPS world coordinates after
 * read.nifti; the six compressed ones must be refused naming their syntax. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t0700-dicom-util.h"

static const char *const uid[10] = {
    NULL, "1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90"};

int main(void)
{
    char *nii = refdata_path("dcm_qa_ts/orig/Ref/1.nii");
    if (!nii)
        skip_all("QIB_REFDATA/dcm_qa_ts not found");
    plan(3 * 5 + 6 * 2);
    int rc;
    qib_harness *hr = td_read_nifti(nii, NULL, &rc);
    const qib_volume *ref = rc == QIB_OK ? qib_harness_out_volume(hr, "image") : NULL;
    if (!ref)
        bail("read.nifti %s: %s", nii, qib_harness_error(hr));
    for (int i = 1; i <= 9; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "dcm_qa_ts/orig/In/%d.dcm", i);
        char *p = refdata_path(rel);
        if (!p)
            bail("%s missing", rel);
        qib_harness *h = td_read(p, &rc, NULL);
        const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
        if (i <= 3) {
            ok(v != NULL, "%d.dcm (%s) reads", i, uid[i]);
            if (!v) {
                diag("%s", qib_harness_error(h));
                skip(4, "no volume");
            } else {
                const struct qib_geom *g = qib_volume_geom(v);
                ok(g->dims[0] == 64 && g->dims[1] == 64 && g->dims[2] == 35,
                   "%d.dcm: the 6x6 mosaic gives 64x64x35 (NumberOfImagesInMosaic 35)", i);
                is_double(g->spacing[2], 3.6, 1e-6, "%d.dcm: slice spacing 3.6 mm", i);
                double s = 0;
                for (size_t k = 0; k < qib_volume_nvox(v); k++)
                    s += qib_volume_get(v, k);
                is_double(s, 38036663, 0, "%d.dcm: sum 38036663 (README)", i);
                double md;
                long bad = td_compare_world(v, ref, 0, &md);
                is_int(bad, 0, "%d.dcm: every voxel equals Ref/1.nii at the same LPS point", i);
            }
        } else {
            is_int(rc, QIB_EUNSUPPORTED, "%d.dcm: compressed (%s) refused", i, uid[i]);
            contains(qib_harness_error(h), uid[i], "%d.dcm: the message names %s", i, uid[i]);
        }
        qib_harness_free(&h);
        free(p);
    }
    qib_harness_free(&hr);
    free(nii);
    return tap_done();
}
