/* bio.adc refuses bad input with one clear message and no output: a 3-D
 * image, no b-values, a count that does not match the frames, a broken
 * b-value metadata entry, a mask on another grid, fewer than two b-values
 * selected, contradictory or out-of-range parameters, repeats that do not
 * fit the frames. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "t0400-util.h"

static qib_volume *series(size_t nt, const char *bmeta)
{
    double v[2 * 2 * 1 * 8];
    for (size_t f = 0; f < nt; f++)
        for (size_t i = 0; i < 4; i++)
            v[f * 4 + i] = 1000 * exp(-(double)f * 300e-3);
    qib_volume *img = t04_volume(QIB_F32, 2, 2, 1, nt, NULL, v);
    if (bmeta && qib_meta_set(qib_volume_meta_mut(img), "dicom.b_values", bmeta, "test"))
        bail("meta");
    return img;
}

/* Run with @p params; expect failure with status @p want and a message
 * containing @p needle, and no output. */
static void refused(const char *what, qib_volume *img, qib_volume *msk,
                    const char *const *params, int want, const char *needle)
{
    int rc;
    qib_harness *h = t04_run("bio.adc", "image", img, "mask", msk, params, 1, &rc);
    if (!ok(rc == want, "%s: refused with status %d (got %d)", what, want, rc))
        diag("%s", qib_harness_error(h));
    contains(qib_harness_error(h), needle, "%s: message names it: \"%s\"", what, needle);
    ok(!qib_harness_out_volume(h, "adc") && !qib_harness_out_table(h, "table"),
       "%s: no output", what);
    qib_harness_free(&h);
}

int main(void)
{
    plan_lazy();

    double flat[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    qib_volume *img3 = t04_volume(QIB_F32, 2, 2, 2, 1, NULL, flat);
    refused("3-D image", img3, NULL, NULL, QIB_EINVAL, "expected a 4-D diffusion series");
    qib_volume_unref(&img3);

    qib_volume *nob = series(4, NULL);
    refused("no b-values", nob, NULL, NULL, QIB_EINVAL, "no b-values");
    const char *const p3[] = {"bvalues", "[0, 500, 1000]", NULL};
    refused("3 b-values for 4 frames", nob, NULL, p3, QIB_EINVAL,
            "parameter bvalues: 3 b-values for an image of 4 frames");
    qib_volume_unref(&nob);

    qib_volume *m5 = series(4, "0 100 500 800 1000");
    refused("metadata count", m5, NULL, NULL, QIB_EINVAL,
            "metadata dicom.b_values: 5 b-values for an image of 4 frames");
    qib_volume_unref(&m5);

    qib_volume *bad = series(4, "0 100 abc 800");
    refused("metadata not numbers", bad, NULL, NULL, QIB_EFORMAT,
            "expected numbers separated by spaces, found \"0 100 abc 800\"");
    qib_volume_unref(&bad);

    qib_volume *img = series(4, "0 100 500 1000");
    /* a mask of the right size at another spacing */
    struct qib_geom g = *qib_volume_geom(img);
    g.ndim = 3;
    g.dims[3] = 1;
    g.spacing[0] = 2;
    qib_volume *msk = NULL;
    if (qib_mask_new(&g, &msk) != QIB_OK)
        bail("mask");
    refused("mask on another grid", img, msk, NULL, QIB_EGEOMETRY, "mask");
    qib_volume_unref(&msk);

    const char *const pmin[] = {"bmin", "600", NULL};
    refused("one b-value selected", img, NULL, pmin, QIB_EINVAL,
            "fewer than two different b-values enter the fit");
    const char *const puse[] = {"use_b", "[100, 1000]", "bmin", "100", NULL};
    refused("use_b with bmin", img, NULL, puse, QIB_EINVAL, "give one or the other");
    const char *const pmm[] = {"bmin", "500", "bmax", "100", NULL};
    refused("bmin above bmax", img, NULL, pmm, QIB_EINVAL, "bmin (500 s/mm^2) is above bmax");
    const char *const pclip[] = {"clip_min", "0.004", NULL};
    refused("clip_min = clip_max", img, NULL, pclip, QIB_EINVAL, "clip_min");
    const char *const prep[] = {"repeats", "3", NULL};
    refused("repeats 3 of 4 frames", img, NULL, prep, QIB_EINVAL,
            "3 repeats do not divide the 4 frames");
    const char *const prep2[] = {"repeats", "2", NULL};
    refused("repeats with other b-values", img, NULL, prep2, QIB_EINVAL,
            "the b-values must repeat block by block");
    const char *const pneg[] = {"bvalues", "[0, -100, 500, 1000]", NULL};
    refused("negative b-value", img, NULL, pneg, QIB_ERANGE, "bvalues");
    const char *const pinf[] = {"bvalues", "[0, 100, 500, inf]", NULL};
    refused("infinite b-value", img, NULL, pinf, QIB_ERANGE, "bvalues: item 4 is inf");
    const char *const punit[] = {"units", "um2/s", NULL};
    refused("unknown unit", img, NULL, punit, QIB_EINVAL, "1e-3mm2/s");
    const char *const pqa[] = {"qa", "ice_water", "qa_reference", "0", NULL};
    refused("qa_reference 0", img, NULL, pqa, QIB_EINVAL, "qa_reference");
    qib_volume_unref(&img);
    return tap_done();
}
