/* read.dicom on a dynamic PET series written by pydicom
 * (t/t0724-dynamic-pet.py): 4 frames x 3 slices, voxel value 100 f + 10 k +
 * 3 y + x.  Frame times come from FrameReferenceTime (0054,1300) when every
 * frame has it, although AcquisitionTime and InstanceNumber run backwards,
 * and from AcquisitionTime otherwise; the source is recorded with each, and
 * ActualFrameDuration (0018,1242) gives dicom.frame_durations_s. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t0700-dicom-util.h"

/* Voxels (x, y, k, f) of a 3 x 2 x 3 x 4 volume against 100 f + 10 k + 3 y + x. */
static long wrong_voxels(const qib_volume *v)
{
    long bad = 0;
    for (size_t f = 0; f < 4; f++)
        for (size_t k = 0; k < 3; k++)
            for (size_t y = 0; y < 2; y++)
                for (size_t x = 0; x < 3; x++) {
                    size_t i = x + 3 * (y + 2 * (k + 3 * f));
                    bad += qib_volume_get(v, i) != (double)(100 * f + 10 * k + 3 * y + x);
                }
    return bad;
}

static int is_4d(const qib_volume *v)
{
    const struct qib_geom *g = qib_volume_geom(v);
    return g->ndim == 4 && g->dims[0] == 3 && g->dims[1] == 2 && g->dims[2] == 3 &&
           g->dims[3] == 4;
}

static const char *meta_source(const qib_volume *v, const char *key)
{
    const qib_meta *m = qib_volume_meta(v);
    for (size_t i = 0; i < qib_meta_count(m); i++) {
        const char *k, *val, *src;
        if (qib_meta_at(m, i, &k, &val, &src) == QIB_OK && strcmp(k, key) == 0)
            return src ? src : "";
    }
    return "";
}

int main(void)
{
    int st;
    free(run_cmd("/usr/bin/python3 -c 'import pydicom, numpy'", &st));
    if (st != 0)
        skip_all("/usr/bin/python3 with pydicom and numpy is needed to write the series");
    plan(14);
    char *tmp = tap_tmpdir();
    char *script = srcdir_path("t/t0724-dynamic-pet.py");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", script, tmp);
    char *out = run_cmd(cmd, &st);
    if (st != 0)
        bail("%s failed: %s", script, out ? out : "");
    free(out);

    char dir[2048];
    int rc;
    snprintf(dir, sizeof dir, "%s/ref", tmp);
    qib_harness *h = td_read(dir, &rc, NULL);
    const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v != NULL, "FrameReferenceTime series: reads (%s)", v ? "ok" : qib_harness_error(h));
    if (!v)
        bail("cannot go on");
    ok(is_4d(v), "3 x 2 x 3 voxels x 4 frames");
    is_int(wrong_voxels(v), 0,
           "frames in FrameReferenceTime order (AcquisitionTime and InstanceNumber run backwards)");
    const qib_meta *m = qib_volume_meta(v);
    is_string(qib_meta_get(m, "dicom.frame_times_s"), "15 45 90 150",
              "frame times: FrameReferenceTime 15000 ... 150000 ms in s");
    contains(meta_source(v, "dicom.frame_times_s"), "(0054,1300)",
             "their source is FrameReferenceTime");
    contains(meta_source(v, "dicom.frame_times_s"), "series reference time",
             "and says what they are measured from");
    is_string(qib_meta_get(m, "dicom.frame_durations_s"), "30 30 60 60",
              "frame durations: ActualFrameDuration in s");
    contains(meta_source(v, "dicom.frame_durations_s"), "(0018,1242)", "their source");
    qib_harness_free(&h);

    snprintf(dir, sizeof dir, "%s/acq", tmp);
    h = td_read(dir, &rc, NULL);
    v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v != NULL, "AcquisitionTime series: reads (%s)", v ? "ok" : qib_harness_error(h));
    if (!v)
        bail("cannot go on");
    ok(is_4d(v), "3 x 2 x 3 voxels x 4 frames");
    is_int(wrong_voxels(v), 0, "frames in AcquisitionTime order");
    m = qib_volume_meta(v);
    is_string(qib_meta_get(m, "dicom.frame_times_s"), "0 30 60 120",
              "frame times: AcquisitionTime 10:00:00 ... 10:02:00 from the first frame");
    contains(meta_source(v, "dicom.frame_times_s"), "(0008,0032) AcquisitionTime",
             "the source says AcquisitionTime");
    contains(meta_source(v, "dicom.frame_times_s"), "no FrameReferenceTime",
             "and why it was used");
    qib_harness_free(&h);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    free(run_cmd(cmd, &st));
    free(script);
    free(tmp);
    return tap_done();
}
