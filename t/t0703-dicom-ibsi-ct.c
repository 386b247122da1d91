/* read.dicom on the IBSI CT radiomics phantom "PAT1"
 * (QIB_REFDATA/ibsi_data_sets, theibsi/data_sets ibsi_1_ct_radiomics_phantom):
 * the 60 implicit VR slices must equal the NIfTI copy voxel for voxel at the
 * same LPS point (read.nifti turns RAS into LPS), and the values the IBSI
 * reference lists: 204x201x60 voxels, 0.977x0.977x3 mm, mean -266.47 HU.
 * Then the same against Debian's dcm2niix, run here on the same directory:
 * its NIfTI read back gives the same grid and every voxel at the same LPS
 * point (skipped when dcm2niix is not installed). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>

#include "t0700-dicom-util.h"

#define BASE "ibsi_data_sets/orig/ibsi_1_ct_radiomics_phantom/"

int main(void)
{
    char *dir = refdata_path(BASE "dicom");
    char *nii = refdata_path(BASE "nifti/image/phantom.nii.gz");
    if (!dir || !nii)
        skip_all("QIB_REFDATA/" BASE " not found");
    plan(11);
    int rc;
    /* The directory also holds the RTSTRUCT (no pixels): skipped. */
    qib_harness *h = td_read(dir, &rc, NULL);
    const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v != NULL, "PAT1 DICOM series reads (RTSTRUCT beside it is not an image)");
    if (!v)
        bail("%s", qib_harness_error(h));
    const struct qib_geom *g = qib_volume_geom(v);
    ok(g->dims[0] == 204 && g->dims[1] == 201 && g->dims[2] == 60, "204x201x60 voxels");
    ok(fabs(g->spacing[0] - 0.977) < 1e-3 && fabs(g->spacing[2] - 3.0) < 1e-6,
       "spacing 0.977 x 0.977 x 3 mm");
    is_int(qib_volume_dtype(v), QIB_I16, "i16: RescaleIntercept -1000, slope 1");
    double s = 0;
    for (size_t i = 0; i < qib_volume_nvox(v); i++)
        s += qib_volume_get(v, i);
    is_double(s / (double)qib_volume_nvox(v), -266.47, 0.005, "mean -266.47 HU (IBSI: -266)");
    qib_harness *hn = td_read_nifti(nii, NULL, &rc);
    const qib_volume *n = rc == QIB_OK ? qib_harness_out_volume(hn, "image") : NULL;
    ok(n != NULL, "the NIfTI copy reads");
    char why[256] = "";
    ok(n && qib_geom_same_grid(g, qib_volume_geom(n), 1e-3, why, sizeof why) == QIB_OK,
       "same LPS grid as the NIfTI %s", why);
    double md = 0;
    long bad = n ? td_compare_world(v, n, 0, &md) : -1;
    is_int(bad, 0, "every voxel equals the NIfTI voxel at the same LPS point (max diff %g)", md);
    qib_harness_free(&hn);

    /* An independent converter on the same files. */
    char *tmp = tap_tmpdir();
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "dcm2niix -b n -z n -f pat1 -o '%s' '%s' > '%s/dcm2niix.log' 2>&1",
             tmp, dir, tmp);
    int st = system("command -v dcm2niix > /dev/null 2>&1");
    if (st != 0) {
        skip(3, "dcm2niix is not installed (Debian package dcm2niix)");
    } else {
        st = system(cmd);
        ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "dcm2niix converts the series");
        char out[4096];
        snprintf(out, sizeof out, "%s/pat1.nii", tmp);
        qib_harness *hd = td_read_nifti(out, NULL, &rc);
        const qib_volume *dn = rc == QIB_OK ? qib_harness_out_volume(hd, "image") : NULL;
        /* dcm2niix stores the rows the other way round (its y axis is
         * flipped), so the lattice is the same up to the sign of each axis
         * and the voxels are compared by LPS position. */
        int same = dn != NULL;
        const struct qib_geom *gd = dn ? qib_volume_geom(dn) : NULL;
        for (int a = 0; same && a < 3; a++) {
            same = gd->dims[a] == g->dims[a] && fabs(gd->spacing[a] - g->spacing[a]) < 1e-3;
            double dot = 0;
            for (int r = 0; r < 3; r++)
                dot += gd->dir[3 * r + a] * g->dir[3 * r + a];
            same = same && fabs(fabs(dot) - 1) < 1e-6;
        }
        ok(same, "dcm2niix's NIfTI: the same dimensions, spacing and axes (up to their sense)");
        md = 0;
        bad = dn ? td_compare_world(v, dn, 0, &md) : -1;
        is_int(bad, 0, "every voxel equals dcm2niix's at the same LPS point (max diff %g)", md);
        qib_harness_free(&hd);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        diag("could not remove %s", tmp);
    free(tmp);
    qib_harness_free(&h);
    free(dir);
    free(nii);
    return tap_done();
}
