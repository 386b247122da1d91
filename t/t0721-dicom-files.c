/* read.dicom's path as a list of files and directories (a plist parameter),
 * through the harness: on the IBSI CT radiomics phantom (QIB_REFDATA/
 * ibsi_data_sets, 60 slices 3 mm apart), all 60 files listed in reverse order
 * give the directory's volume voxel for voxel; ten listed files give those
 * ten slices at their own positions; each bad list (empty, an empty item, a
 * missing file, a file twice, a file that is not an image, two series) is
 * refused with a message naming the file. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t0700-dicom-util.h"

#define BASE "ibsi_data_sets/orig/ibsi_1_ct_radiomics_phantom/dicom/"

/* Run read.dicom with path set from @p n items. */
static qib_harness *read_list(const char *const *items, size_t n, int *rc)
{
    qib_harness *h = NULL;
    char err[512];
    *rc = qib_harness_new("read.dicom", &h, err, sizeof err);
    if (*rc != QIB_OK)
        bail("cannot load read.dicom: %s", err);
    *rc = qib_harness_set_param_list(h, "path", items, n);
    if (*rc == QIB_OK)
        *rc = qib_harness_run(h);
    return h;
}

static const char *err_of(qib_harness *h, int rc)
{
    return rc == QIB_OK ? "(it read)" : qib_harness_error(h);
}

int main(void)
{
    char *dir = refdata_path(BASE "image");
    if (!dir)
        skip_all("QIB_REFDATA/" BASE " not found");
    plan(25);
    char *f[60];
    for (int i = 0; i < 60; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, BASE "image/DCM_IMG_%05d.dcm", i);
        f[i] = refdata_path(rel);
        if (!f[i])
            bail("%s missing", rel);
    }
    int rc;
    qib_harness *hd = td_read(dir, &rc, NULL);
    const qib_volume *vd = rc == QIB_OK ? qib_harness_out_volume(hd, "image") : NULL;
    if (!vd)
        bail("the directory does not read: %s", qib_harness_error(hd));
    const struct qib_geom *gd = qib_volume_geom(vd);

    /* Every file, last first: slices are ordered by position, not by the
     * order of the list. */
    const char *rev[60];
    for (int i = 0; i < 60; i++)
        rev[i] = f[59 - i];
    qib_harness *h = read_list(rev, 60, &rc);
    const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v != NULL, "60 files listed in reverse order read (%s)", err_of(h, rc));
    char why[256] = "";
    ok(v && qib_geom_same_grid(gd, qib_volume_geom(v), 1e-9, why, sizeof why) == QIB_OK,
       "the same grid as the directory %s", why);
    double md = 0;
    is_int(v ? td_compare_world(v, vd, 0, &md) : -1, 0, "the same voxels as the directory");
    if (!v)
        bail("%s", qib_harness_error(h));
    is_string(qib_harness_record(h, "series_uid"), qib_harness_record(hd, "series_uid"),
              "the same series recorded");
    qib_harness_free(&h);

    /* Files 20 to 29: ten slices.  The phantom's file numbers run down the
     * stack (DCM_IMG_000ii is slice 59 - ii of the directory's volume), so
     * they are slices 30 to 39. */
    const char *ten[10];
    for (int i = 0; i < 10; i++)
        ten[i] = f[20 + i];
    h = read_list(ten, 10, &rc);
    v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v != NULL, "ten listed files read (%s)", err_of(h, rc));
    const struct qib_geom *g = v ? qib_volume_geom(v) : NULL;
    ok(g && g->dims[0] == 204 && g->dims[1] == 201 && g->dims[2] == 10, "204 x 201 x 10 voxels");
    ok(g && fabs(g->spacing[2] - 3.0) < 1e-6, "3 mm between slices");
    double idx[3] = {0, 0, 30}, w[3];
    qib_geom_index_to_world(gd, idx, w);
    ok(g && fabs(g->origin[0] - w[0]) < 1e-3 && fabs(g->origin[1] - w[1]) < 1e-3 &&
           fabs(g->origin[2] - w[2]) < 1e-3,
       "the first voxel is the directory's voxel (0, 0, 30): (%g, %g, %g), want (%g, %g, %g)",
       g ? g->origin[0] : NAN, g ? g->origin[1] : NAN, g ? g->origin[2] : NAN, w[0], w[1], w[2]);
    long bad = -1;
    if (v && g->dims[2] == 10) {
        bad = 0;
        size_t plane = g->dims[0] * g->dims[1];
        for (size_t i = 0; i < 10 * plane; i++)
            bad += qib_volume_get(v, i) != qib_volume_get(vd, 30 * plane + i);
    }
    is_int(bad, 0, "each voxel equals the directory's voxel of slices 30 to 39");
    qib_harness_free(&h);

    /* The text form of the list, as in a pipeline: "[a, b]". */
    {
        char text[2048];
        snprintf(text, sizeof text, "[%s, %s]", f[1], f[0]);
        qib_harness *ht = NULL;
        char err[256];
        if (qib_harness_new("read.dicom", &ht, err, sizeof err) != QIB_OK)
            bail("%s", err);
        rc = qib_harness_set_param(ht, "path", text);
        if (rc == QIB_OK)
            rc = qib_harness_run(ht);
        v = rc == QIB_OK ? qib_harness_out_volume(ht, "image") : NULL;
        ok(v && qib_volume_geom(v)->dims[2] == 2, "\"[a, b]\" as text reads two slices (%s)",
           err_of(ht, rc));
        qib_harness_free(&ht);
    }

    /* A directory and a file inside it: that file twice. */
    const char *twice[2] = {dir, f[7]};
    h = read_list(twice, 2, &rc);
    ok(rc != QIB_OK, "a file listed and inside a listed directory is refused");
    contains(qib_harness_error(h), "DCM_IMG_00007.dcm is given twice", "the message names it");
    qib_harness_free(&h);

    /* A file that does not exist. */
    char *tmp = tap_tmpdir();
    char missing[1024];
    snprintf(missing, sizeof missing, "%s/DCM_IMG_99999.dcm", tmp);
    const char *gone[3] = {f[0], missing, f[1]};
    h = read_list(gone, 3, &rc);
    is_int(rc, QIB_ENOTFOUND, "a missing file is refused");
    contains(qib_harness_error(h), missing, "the message names the missing file");
    contains(qib_harness_error(h), "No such file", "and says why");
    qib_harness_free(&h);

    /* A listed file must be a DICOM image: text, and an RTSTRUCT. */
    char txt[1024];
    snprintf(txt, sizeof txt, "%s/notes.txt", tmp);
    FILE *fp = fopen(txt, "w");
    if (!fp || fputs("not DICOM\n", fp) < 0 || fclose(fp) != 0)
        bail("cannot write %s", txt);
    const char *text2[2] = {f[0], txt};
    h = read_list(text2, 2, &rc);
    ok(rc != QIB_OK, "a listed text file is refused (in a directory it would be skipped)");
    contains(qib_harness_error(h), txt, "the message names the text file");
    qib_harness_free(&h);
    char *rs = refdata_path(BASE "mask/DCM_RS_00060.dcm");
    if (rs) {
        const char *withrs[2] = {f[0], rs};
        h = read_list(withrs, 2, &rc);
        ok(rc != QIB_OK, "a listed RTSTRUCT is refused");
        contains(qib_harness_error(h), "DCM_RS_00060.dcm: no pixel data (7FE0,0010)",
                 "the message names the file and says it has no pixels");
        qib_harness_free(&h);
    } else {
        skip(2, "RTSTRUCT of the phantom not found");
    }
    free(rs);

    /* An empty list and an empty item. */
    h = read_list(NULL, 0, &rc);
    is_int(rc, QIB_EINVAL, "an empty list is refused");
    contains(qib_harness_error(h),
             "parameter \"path\": expected a path or a list of at least one path, got []",
             "the message says a path is needed");
    qib_harness_free(&h);
    const char *blank[2] = {f[0], ""};
    h = read_list(blank, 2, &rc);
    contains(qib_harness_error(h), "parameter \"path\": item 2: expected a path, got \"\"",
             "an empty item is refused, naming its place");
    qib_harness_free(&h);

    /* Two files of different series: the selection message lists both. */
    char *ct = refdata_path("pydicom_test_files/orig/pydicom/data/test_files/CT_small.dcm");
    if (ct) {
        const char *two[2] = {f[0], ct};
        h = read_list(two, 2, &rc);
        is_int(rc, QIB_EINVAL, "files of two series are refused");
        contains(qib_harness_error(h), "and 1 more path: more than one image series matches",
                 "the message names the paths");
        qib_harness_free(&h);
    } else {
        skip(2, "pydicom's CT_small.dcm not found");
    }
    free(ct);

    /* A list for a parameter that takes one value. */
    {
        qib_harness *hx = NULL;
        char err[256];
        if (qib_harness_new("read.dicom", &hx, err, sizeof err) != QIB_OK)
            bail("%s", err);
        const char *uids[2] = {"1.2", "1.3"};
        rc = qib_harness_set_param_list(hx, "series_uid", uids, 2);
        contains(qib_harness_error(hx), "parameter \"series_uid\": expected a single string value, "
                 "got a list", "a list for a string parameter is refused");
        qib_harness_free(&hx);
    }

    qib_harness_free(&hd);
    for (int i = 0; i < 60; i++)
        free(f[i]);
    free(dir);
    free(tmp);
    return tap_done();
}
