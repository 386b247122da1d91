/* read.rtstruct on a structure set written here onto a 10x10x3 grid of 1 mm
 * voxels at the origin (so world = index): voxel centres inside the polygon,
 * a nested contour as a hole (even-odd), a union across ROIs, a POINT
 * contour ignored, and the refusals (contour between slices, another frame
 * of reference).  Counts worked out by hand in the comments. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t0700-dicom-util.h"

struct contour {
    int roi;
    const char *type;
    const char *data;
};

static void write_rs(const char *path, const char *for_uid, const struct contour *c, size_t nc)
{
    struct td_buf b, sq = {0}, it = {0};
    td_begin(&b, "1.2.840.10008.1.2.1");
    td_str(&b, 0x0008, 0x0060, "CS", "RTSTRUCT");
    td_str(&it, 0x0020, 0x0052, "UI", for_uid);
    td_item(&sq, &it);
    td_seq(&b, 0x3006, 0x0010, &sq);
    static const char *const names[2] = {"BODY", "Lesion 1"};
    for (int r = 0; r < 2; r++) {
        char num[8];
        snprintf(num, sizeof num, "%d", r + 1);
        td_str(&it, 0x3006, 0x0022, "IS", num);
        td_str(&it, 0x3006, 0x0026, "LO", names[r]);
        td_item(&sq, &it);
    }
    td_seq(&b, 0x3006, 0x0020, &sq);
    for (int r = 1; r <= 2; r++) {
        struct td_buf cs = {0}, ci = {0};
        for (size_t k = 0; k < nc; k++) {
            if (c[k].roi != r)
                continue;
            td_str(&ci, 0x3006, 0x0042, "CS", c[k].type);
            td_str(&ci, 0x3006, 0x0050, "DS", c[k].data);
            td_item(&cs, &ci);
        }
        td_seq(&it, 0x3006, 0x0040, &cs);
        char num[8];
        snprintf(num, sizeof num, "%d", r);
        td_str(&it, 0x3006, 0x0084, "IS", num);
        td_item(&sq, &it);
    }
    td_seq(&b, 0x3006, 0x0039, &sq);
    td_write(&b, path);
}

static qib_volume *grid(void)
{
    struct qib_geom g;
    size_t dims[3] = {10, 10, 3};
    qib_geom_init(&g, 3, dims);
    qib_volume *v = NULL;
    if (qib_volume_new(QIB_I16, &g, &v) != QIB_OK)
        bail("volume");
    qib_meta_set(qib_volume_meta_mut(v), "dicom.frame_of_reference_uid", "1.2.3.9", "test");
    return v;
}

static long run(const char *path, const char *roi, qib_volume *ref, int *rc, char *err, size_t n,
                size_t *perslice)
{
    qib_harness *h = NULL;
    char e[512];
    if (qib_harness_new("read.rtstruct", &h, e, sizeof e) != QIB_OK)
        bail("cannot load read.rtstruct: %s", e);
    qib_harness_set_param(h, "path", path);
    qib_harness_set_param(h, "roi", roi);
    qib_harness_set_volume(h, "reference", ref);
    *rc = qib_harness_run(h);
    snprintf(err, n, "%s", qib_harness_error(h));
    const qib_volume *m = *rc == QIB_OK ? qib_harness_out_volume(h, "mask") : NULL;
    long count = -1;
    if (m) {
        count = 0;
        for (size_t i = 0; i < qib_volume_nvox(m); i++) {
            if (qib_volume_get(m, i) != 0) {
                count++;
                if (perslice)
                    perslice[i / 100]++;
            }
        }
    }
    qib_harness_free(&h);
    return count;
}

int main(void)
{
    plan(9);
    char *tmp = tap_tmpdir();
    char p[2048];
    snprintf(p, sizeof p, "%s/rs.dcm", tmp);
    /* BODY on slice 1: a square with centres 1..6 inside (36 voxels) and a
     * nested square with centres 3..4 (4 voxels) as a hole: 32.  Lesion on
     * slice 2: a rectangle, plus a POINT contour that encloses nothing. */
    const struct contour c[] = {
        {1, "CLOSED_PLANAR", "0.5\\0.5\\1\\6.5\\0.5\\1\\6.5\\6.5\\1\\0.5\\6.5\\1"},
        {1, "CLOSED_PLANAR", "2.5\\2.5\\1\\4.5\\2.5\\1\\4.5\\4.5\\1\\2.5\\4.5\\1"},
        {2, "CLOSED_PLANAR", "1.5\\1.5\\2\\4.5\\1.5\\2\\4.5\\3.5\\2\\1.5\\3.5\\2"},
        {2, "POINT", "8\\8\\2"},
    };
    write_rs(p, "1.2.3.9", c, 4);
    qib_volume *ref = grid();
    int rc;
    char err[1024];
    size_t per[3] = {0};
    long n = run(p, "BODY", ref, &rc, err, sizeof err, per);
    is_int(n, 32, "BODY: 6x6 square minus a nested 2x2 hole = 32 voxels");
    ok(per[1] == 32, "BODY: all on slice 1");
    /* Lesion: rectangle 1.5..4.5 x 1.5..3.5: centres x 2..4, y 2..3 = 6. */
    n = run(p, "lesion*", ref, &rc, err, sizeof err, NULL);
    is_int(n, 6, "Lesion 1 (pattern lesion*, case-insensitive): 3x2 = 6 voxels; the POINT adds none");
    n = run(p, "*", ref, &rc, err, sizeof err, NULL);
    is_int(n, 38, "pattern *: the union of both ROIs, 38 voxels");
    n = run(p, "GTV", ref, &rc, err, sizeof err, NULL);
    ok(rc == QIB_ENOTFOUND && strstr(err, "\"BODY\", \"Lesion 1\""),
       "an absent ROI is refused, listing the ROIs");

    const struct contour off[] = {{1, "CLOSED_PLANAR", "0.5\\0.5\\1.5\\6.5\\0.5\\1.5\\6.5\\6.5\\1.5"}};
    write_rs(p, "1.2.3.9", off, 1);
    n = run(p, "BODY", ref, &rc, err, sizeof err, NULL);
    ok(rc == QIB_EGEOMETRY, "a contour between two slices is refused");
    contains(err, "lies between slices", "the message says so");

    write_rs(p, "7.7.7", c, 4);
    n = run(p, "BODY", ref, &rc, err, sizeof err, NULL);
    ok(rc == QIB_EGEOMETRY, "another frame of reference is refused");
    contains(err, "FrameOfReferenceUID 7.7.7", "the message names both UIDs");

    qib_volume_unref(&ref);
    snprintf(p, sizeof p, "rm -rf '%s'", tmp);
    int st;
    free(run_cmd(p, &st));
    free(tmp);
    return tap_done();
}
