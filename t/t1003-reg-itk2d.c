/* reg.rigid on the ITK registration examples (2-D slices as one-slice
 * volumes): the known misalignments written in the ITK Software Guide
 * (examples ImageRegistration1, 4 and 5 of ITK 5.2.1): a translation of
 * (13, 17) mm and a rotation of 10 degrees about the image centre. */
#include <config.h>

#include "t1000-reg-util.h"

static qib_volume *load(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "itk_registration_examples/orig/Examples/Data/%s", name);
    char *p = refdata_path(rel);
    qib_volume *v = p ? t10_png(p) : NULL;
    if (!v)
        bail("cannot decode %s", p ? p : rel);
    free(p);
    return v;
}

static void check_translation(qib_volume *f, qib_volume *m, const char *metric)
{
    const char *kv[] = {"metric", metric, "sampling", "all", NULL};
    double t[16];
    qib_harness *h = t10_register("reg.rigid", f, m, 2, t, kv);
    ok(h != NULL, "%s: translation registration runs", metric);
    if (!h) {
        skip(3, "no result");
        return;
    }
    diag("%s: t = (%.4f, %.4f, %.4f)", metric, t[3], t[7], t[11]);
    is_double(t[3], 13, 0.1, "%s: x translation 13 mm (ITK: 13.0012 / 13.0204)", metric);
    is_double(t[7], 17, 0.1, "%s: y translation 17 mm (ITK: 16.9999 / 17.0006)", metric);
    is_double(atan2(t[4], t[0]), 0, 0.1 * M_PI / 180, "%s: no rotation within 0.1 deg", metric);
    qib_harness_free(&h);
}

int main(void)
{
    if (!getenv("QIB_REFDATA"))
        skip_all("QIB_REFDATA is not set");
    char *probe = refdata_path("itk_registration_examples/README.md");
    FILE *pf = probe ? fopen(probe, "r") : NULL;
    free(probe);
    if (!pf)
        skip_all("itk_registration_examples is missing from QIB_REFDATA");
    fclose(pf);
    plan(14);
    qib_volume *fix = load("BrainProtonDensitySliceBorder20.png");
    qib_volume *sh = load("BrainProtonDensitySliceShifted13x17y.png");
    qib_volume *rot = load("BrainProtonDensitySliceRotated10.png");
    is_int((long long)qib_volume_geom(fix)->dims[0], 221, "PNG decoded: 221 columns");
    is_int((long long)qib_volume_geom(fix)->dims[1], 257, "PNG decoded: 257 rows");

    check_translation(fix, sh, "mean_squares");
    check_translation(fix, sh, "mattes_mi");

    /* Rotation: 10 degrees about the centre (110, 128) of the fixed grid,
     * which is also qib's centre of rotation, so the translation is 0. */
    const char *kv[] = {"sampling", "all", NULL};
    double t[16];
    qib_harness *h = t10_register("reg.rigid", fix, rot, 2, t, kv);
    ok(h != NULL, "rotation registration runs");
    double ang = atan2(t[4], t[0]) * 180 / M_PI;
    double c[2] = {110, 128};
    double tx = t[0] * c[0] + t[1] * c[1] + t[3] - c[0];
    double ty = t[4] * c[0] + t[5] * c[1] + t[7] - c[1];
    diag("rotation: %.4f deg, centre moved by (%.4f, %.4f)", ang, tx, ty);
    is_double(ang, 10, 0.1, "rotation 10 deg within 0.1 deg (ITK IR5: 10.18 deg)");
    is_double(tx, 0, 0.5, "centre x kept within 0.5 mm");
    is_double(ty, 0, 0.5, "centre y kept within 0.5 mm");
    qib_harness_free(&h);
    qib_volume_unref(&fix);
    qib_volume_unref(&sh);
    qib_volume_unref(&rot);
    return tap_done();
}
