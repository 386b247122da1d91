/* Resampling (core/resample.c) and reg.resample on small volumes whose
 * answers are computed by hand: the IBSI grid (ceil of the fractional size,
 * centred on the original), linear, nearest and cubic B-spline values, edge
 * padding, the mask partial-volume threshold, rounding, in-plane
 * interpolation, plugin parameters and 1 vs 2 threads. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "qib/resample.h"
#include "tap.h"

static qib_volume *line(enum qib_dtype t, const double *v, size_t n, int mask)
{
    struct qib_geom g;
    size_t d[3] = {n, 1, 1};
    qib_volume *o = NULL;
    qib_geom_init(&g, 3, d);
    if ((mask ? qib_mask_new(&g, &o) : qib_volume_new(t, &g, &o)) != QIB_OK)
        bail("volume");
    for (size_t i = 0; i < n; i++) {
        if (mask)
            ((uint8_t *)qib_volume_data_mut(o))[i] = (uint8_t)v[i];
        else if (t == QIB_I16)
            ((int16_t *)qib_volume_data_mut(o))[i] = (int16_t)v[i];
        else
            ((float *)qib_volume_data_mut(o))[i] = (float)v[i];
    }
    return o;
}

/* Resample a 1-D line to spacing s along x; compare with want (n values). */
static void check_line(const char *what, qib_volume *v, double s, enum qib_interp m,
                       unsigned flags, double thr, const double *want, size_t n)
{
    struct qib_geom g;
    const double sp[3] = {s, 1, 1};
    qib_volume *o = NULL;
    int rc = qib_resample_grid(qib_volume_geom(v), sp, &g);
    if (rc == QIB_OK)
        rc = qib_resample(v, &g, m, flags, thr, NULL, &o);
    if (!ok(rc == QIB_OK && qib_volume_geom(o)->dims[0] == n, "%s: %zu voxels", what, n)) {
        qib_volume_unref(&o);
        return;
    }
    int good = 1;
    for (size_t i = 0; i < n; i++)
        if (fabs(qib_volume_get(o, i) - want[i]) > 1e-5) {
            good = 0;
            diag("%s: voxel %zu = %g, want %g", what, i, qib_volume_get(o, i), want[i]);
        }
    ok(good, "%s: values", what);
    qib_volume_unref(&o);
}

int main(void)
{
    plan_lazy();

    /* The IBSI grid of the CT radiomics phantom: 204 x 201 x 60 voxels of
     * 0.977 x 0.977 x 3 mm to 2 mm gives ceil(99.65), ceil(98.19), 90. */
    struct qib_geom ct, g;
    size_t d[3] = {204, 201, 60};
    qib_geom_init(&ct, 3, d);
    ct.spacing[0] = ct.spacing[1] = 0.977, ct.spacing[2] = 3;
    const double two[3] = {2, 2, 2};
    ok(qib_resample_grid(&ct, two, &g) == QIB_OK, "grid for 2 mm");
    is_int((long long)g.dims[0], 100, "x: 100 voxels");
    is_int((long long)g.dims[1], 99, "y: 99 voxels");
    is_int((long long)g.dims[2], 90, "z: 90 voxels");
    /* centred: origin moves by (203/2) 0.977 - (99/2) 2 = 0.1655 mm */
    is_double(g.origin[0], 0.1655, 1e-9, "x origin centred");
    is_double(g.origin[2], 59.0 / 2 * 3 - 89.0 / 2 * 2, 1e-9, "z origin centred");
    const double bad[3] = {2, 0, 2};
    is_int(qib_resample_grid(&ct, bad, &g), QIB_EINVAL, "spacing 0 refused");

    /* [0 10 20 30] at 1 mm: to 2 mm the new voxels sit at old indices 0.5
     * and 2.5. */
    const double v4[4] = {0, 10, 20, 30};
    qib_volume *l4 = line(QIB_F32, v4, 4, 0);
    check_line("linear 1 -> 2 mm", l4, 2, QIB_INTERP_LINEAR, 0, 0.5, (double[]){5, 25}, 2);
    check_line("nearest 1 -> 2 mm", l4, 2, QIB_INTERP_NEAREST, 0, 0.5, (double[]){10, 30}, 2);
    /* to 0.8 mm: 5 voxels at -0.1, 0.7, 1.5, 2.3, 3.1; the ends are padded
     * with the edge values */
    check_line("linear 1 -> 0.8 mm, edge padding", l4, 0.8, QIB_INTERP_LINEAR, 0, 0.5,
               (double[]){0, 7, 15, 23, 30}, 5);
    check_line("linear 1 -> 3 mm", l4, 3, QIB_INTERP_LINEAR, 0, 0.5, (double[]){0, 30}, 2);
    /* 0.5 and 2.5 * 10 ... rounded half away from zero */
    const double v4b[4] = {0, 1, 2, 3};
    qib_volume *l4b = line(QIB_F32, v4b, 4, 0);
    check_line("linear with rounding", l4b, 2, QIB_INTERP_LINEAR, QIB_RESAMPLE_ROUND, 0.5,
               (double[]){1, 3}, 2);
    /* the cubic B-spline interpolates: on the same grid it returns the
     * samples */
    const double v6[6] = {3, -1, 4, 1, -5, 9};
    qib_volume *l6 = line(QIB_F32, v6, 6, 0);
    check_line("cubic on the same grid", l6, 1, QIB_INTERP_CUBIC, 0, 0.5, v6, 6);
    /* ... and reproduces a straight line between interior samples: at old
     * indices 1 and 4 of 0, 10, .., 50 the values are 10 and 40 */
    const double lin6[6] = {0, 10, 20, 30, 40, 50};
    qib_volume *ll6 = line(QIB_F32, lin6, 6, 0);
    check_line("cubic 1 -> 3 mm on a line", ll6, 3, QIB_INTERP_CUBIC, 0, 0.5,
               (double[]){10, 40}, 2);

    /* A mask [0 1 1 0] to 0.8 mm: interpolated 0, 0.7, 1, 0.7, 0. */
    const double m4[4] = {0, 1, 1, 0};
    qib_volume *mk = line(QIB_U8, m4, 4, 1);
    check_line("mask, threshold 0.5", mk, 0.8, QIB_INTERP_LINEAR, 0, 0.5,
               (double[]){0, 1, 1, 1, 0}, 5);
    check_line("mask, threshold 0.8", mk, 0.8, QIB_INTERP_LINEAR, 0, 0.8,
               (double[]){0, 0, 1, 0, 0}, 5);
    {
        struct qib_geom gg;
        const double sp[3] = {0.8, 1, 1};
        qib_volume *o = NULL;
        qib_resample_grid(qib_volume_geom(mk), sp, &gg);
        ok(qib_resample(mk, &gg, QIB_INTERP_LINEAR, 0, 0.5, NULL, &o) == QIB_OK &&
               qib_volume_is_mask(o),
           "a resampled mask is a mask");
        qib_volume_unref(&o);
    }

    /* In-plane: a 1 x 1 x 2 volume [0, 10] resampled onto z = 0.5 stays at
     * the nearest slice with QIB_RESAMPLE_INPLANE, 5 without. */
    {
        struct qib_geom g2, g1;
        size_t dz[3] = {1, 1, 2}, d1[3] = {1, 1, 1};
        qib_volume *v = NULL, *o = NULL;
        qib_geom_init(&g2, 3, dz);
        qib_volume_new(QIB_F32, &g2, &v);
        ((float *)qib_volume_data_mut(v))[1] = 10;
        qib_geom_init(&g1, 3, d1);
        g1.origin[2] = 0.4;
        qib_resample(v, &g1, QIB_INTERP_LINEAR, 0, 0.5, NULL, &o);
        is_double(qib_volume_get(o, 0), 4, 1e-6, "trilinear between slices");
        qib_volume_unref(&o);
        qib_resample(v, &g1, QIB_INTERP_LINEAR, QIB_RESAMPLE_INPLANE, 0.5, NULL, &o);
        is_double(qib_volume_get(o, 0), 0, 1e-6, "in-plane keeps the nearest slice");
        qib_volume_unref(&o);
        qib_volume_unref(&v);
    }

    /* reg.resample: an i16 image is rounded (auto), a mask stays a mask. */
    {
        qib_volume *v = line(QIB_I16, v4b, 4, 0);
        qib_harness *h = NULL;
        char err[256];
        if (qib_harness_new("reg.resample", &h, err, sizeof err) != QIB_OK)
            bail("reg.resample: %s", err);
        qib_harness_set_volume(h, "image", v);
        qib_harness_set_param(h, "spacing", "[2, 0, 0]");
        ok(qib_harness_run(h) == QIB_OK, "reg.resample runs: %s", qib_harness_error(h));
        const qib_volume *o = qib_harness_out_volume(h, "image");
        ok(o && qib_volume_get(o, 0) == 1 && qib_volume_get(o, 1) == 3,
           "integer input rounded (0.5 -> 1, 2.5 -> 3)");
        is_string(qib_harness_record(h, "rounded"), "yes", "rounding recorded");
        qib_harness_free(&h);

        qib_harness_new("reg.resample", &h, err, sizeof err);
        qib_harness_set_volume(h, "image", v);
        ok(qib_harness_run(h) != QIB_OK && strstr(qib_harness_error(h), "spacing"),
           "no spacing and no reference refused: %s", qib_harness_error(h));
        qib_harness_free(&h);

        qib_harness_new("reg.resample", &h, err, sizeof err);
        qib_harness_set_volume(h, "image", mk);
        qib_harness_set_param(h, "spacing", "[0.8, 0, 0]");
        ok(qib_harness_run(h) != QIB_OK && strstr(qib_harness_error(h), "as"),
           "a mask without as: mask refused: %s", qib_harness_error(h));
        qib_harness_free(&h);

        qib_harness_new("reg.resample", &h, err, sizeof err);
        ok(qib_harness_set_param(h, "interpolation", "quintic") != QIB_OK,
           "unknown interpolation refused");
        ok(qib_harness_set_param(h, "threshold", "1.5") != QIB_OK, "threshold above 1 refused");
        qib_harness_free(&h);

        qib_harness_new("reg.resample", &h, err, sizeof err);
        qib_harness_set_volume(h, "image", mk);
        qib_harness_set_param(h, "spacing", "[0.8, 0, 0]");
        qib_harness_set_param(h, "as", "mask");
        ok(qib_harness_run(h) == QIB_OK, "mask resampled: %s", qib_harness_error(h));
        o = qib_harness_out_volume(h, "image");
        ok(o && qib_volume_is_mask(o) && qib_volume_get(o, 1) == 1 && qib_volume_get(o, 0) == 0,
           "mask output through the 0.5 threshold");
        qib_harness_free(&h);
        qib_volume_unref(&v);
    }

    /* 1 and 2 threads, cubic, onto an oblique reference grid. */
    {
        struct qib_geom gs;
        size_t ds[3] = {23, 17, 11};
        qib_volume *v = NULL, *ref = NULL;
        qib_geom_init(&gs, 3, ds);
        qib_volume_new(QIB_F32, &gs, &v);
        float *p = qib_volume_data_mut(v);
        for (size_t i = 0; i < 23 * 17 * 11; i++)
            p[i] = (float)((i * 7919) % 1000);
        struct qib_geom gr = gs;
        double c = cos(0.3), s = sin(0.3);
        double dir[9] = {c, -s, 0, s, c, 0, 0, 0, 1};
        memcpy(gr.dir, dir, sizeof dir);
        gr.spacing[0] = 0.7;
        qib_volume_new(QIB_U8, &gr, &ref);
        const qib_volume *o[2];
        qib_harness *h[2];
        char err[256];
        for (int k = 0; k < 2; k++) {
            qib_harness_new("reg.resample", &h[k], err, sizeof err);
            qib_harness_set_volume(h[k], "image", v);
            qib_harness_set_volume(h[k], "reference", ref);
            qib_harness_set_param(h[k], "interpolation", "cubic");
            qib_harness_set_threads(h[k], k + 1);
            if (qib_harness_run(h[k]) != QIB_OK)
                bail("reg.resample: %s", qib_harness_error(h[k]));
            o[k] = qib_harness_out_volume(h[k], "image");
        }
        ok(!memcmp(qib_volume_data(o[0]), qib_volume_data(o[1]), qib_volume_nvox(o[0]) * 4),
           "1 and 2 threads give the same voxels");
        ok(qib_geom_same_grid(qib_volume_geom(o[0]), &gr, 1e-9, NULL, 0) == QIB_OK,
           "output on the reference grid");
        qib_harness_free(&h[0]);
        qib_harness_free(&h[1]);
        qib_volume_unref(&v);
        qib_volume_unref(&ref);
    }
    qib_volume_unref(&l4);
    qib_volume_unref(&l4b);
    qib_volume_unref(&l6);
    qib_volume_unref(&ll6);
    qib_volume_unref(&mk);
    return tap_done();
}
