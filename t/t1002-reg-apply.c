/* reg.apply on small volumes with hand-computed values: translations by
 * whole and half voxels of a linear ramp (trilinear is exact on it), cubic
 * B-spline interpolation through the samples, outside value, inverse, masks
 * by nearest neighbour and by linear interpolation with a threshold. */
#include <config.h>

#include "t1000-reg-util.h"

static qib_harness *apply(qib_volume *v, qib_volume *ref, const double tr[3],
                          const char *const *kv, int *rc)
{
    double m[16] = {1, 0, 0, tr[0], 0, 1, 0, tr[1], 0, 0, 1, tr[2], 0, 0, 0, 1};
    qib_transform *t = NULL;
    qib_transform_new_affine(m, &t);
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new("reg.apply", &h, err, sizeof err) != QIB_OK)
        bail("reg.apply: %s", err);
    qib_harness_set_volume(h, "image", v);
    if (ref)
        qib_harness_set_volume(h, "reference", ref);
    qib_harness_set_transform(h, "transform", t);
    qib_harness_set_threads(h, 2);
    for (size_t i = 0; kv && kv[i]; i += 2)
        if (qib_harness_set_param(h, kv[i], kv[i + 1]) != QIB_OK)
            bail("%s: %s", kv[i], qib_harness_error(h));
    *rc = qib_harness_run(h);
    qib_transform_unref(&t);
    return h;
}

#define NX 5
#define NY 4
#define NZ 3
#define AT(x, y, z) ((size_t)(x) + NX * ((size_t)(y) + NY * (size_t)(z)))

int main(void)
{
    plan(18);
    float ramp[NX * NY * NZ];
    for (int z = 0; z < NZ; z++)
        for (int y = 0; y < NY; y++)
            for (int x = 0; x < NX; x++)
                ramp[AT(x, y, z)] = (float)(x + 10 * y + 100 * z);
    double sp[3] = {2, 1, 1};
    qib_volume *v = t10_volume(NX, NY, NZ, sp, ramp);
    qib_meta_set(qib_volume_meta_mut(v), "unit", "HU", "test");
    int rc;

    /* +2 mm in x is one voxel: out(x) = in(x + 1); x = 4 maps to 5, outside
     * the extent [-0.5, 4.5] voxels, and takes the outside value. */
    const char *kv1[] = {"interpolation", "nearest", "outside", "-7", NULL};
    double t1[3] = {2, 0, 0};
    qib_harness *h = apply(v, NULL, t1, kv1, &rc);
    const qib_volume *o = qib_harness_out_volume(h, "image");
    is_int(rc, QIB_OK, "nearest translation runs");
    is_double(qib_volume_get(o, AT(1, 2, 1)), 2 + 20 + 100, 0, "nearest: (1,2,1) takes (2,2,1)");
    is_double(qib_volume_get(o, AT(4, 0, 0)), -7, 0, "outside value beyond the extent");
    is_int(qib_volume_dtype(o), QIB_F32, "image output is f32");
    is_string(qib_meta_get(qib_volume_meta(o), "unit"), "HU", "metadata kept");
    qib_harness_free(&h);

    /* Half a voxel (1 mm) in x and 0.25 in y: a linear ramp interpolates
     * exactly: value + 0.5 + 2.5. */
    const char *kv2[] = {"interpolation", "linear", NULL};
    double t2[3] = {1, 0.25, 0};
    h = apply(v, NULL, t2, kv2, &rc);
    o = qib_harness_out_volume(h, "image");
    is_double(qib_volume_get(o, AT(2, 1, 2)), 2.5 + 12.5 + 200, 1e-4, "linear: ramp + 3");
    /* x = 4.5 is still inside the extent: clamped to the edge voxel. */
    is_double(qib_volume_get(o, AT(4, 1, 0)), 4 + 12.5, 1e-4, "linear: edge half voxel clamped");
    qib_harness_free(&h);

    /* invert: the inverse of -2 mm is +2 mm. */
    const char *kv3[] = {"interpolation", "nearest", "invert", "true", NULL};
    double t3[3] = {-2, 0, 0};
    h = apply(v, NULL, t3, kv3, &rc);
    o = qib_harness_out_volume(h, "image");
    is_double(qib_volume_get(o, AT(1, 2, 1)), 122, 0, "invert applies the inverse");
    qib_harness_free(&h);

    /* Cubic B-spline interpolates: the identity gives the samples back, and
     * a shift by one voxel gives the neighbour. */
    const char *kv4[] = {"interpolation", "cubic", NULL};
    double t0[3] = {0, 0, 0};
    h = apply(v, NULL, t0, kv4, &rc);
    o = qib_harness_out_volume(h, "image");
    double worst = 0;
    for (size_t i = 0; o && i < NX * NY * NZ; i++)
        worst = fmax(worst, fabs(qib_volume_get(o, i) - ramp[i]));
    ok(worst < 1e-4, "cubic identity returns the samples (%.3g)", worst);
    qib_harness_free(&h);
    h = apply(v, NULL, t1, kv4, &rc);
    o = qib_harness_out_volume(h, "image");
    is_double(qib_volume_get(o, AT(2, 1, 1)), 3 + 10 + 100, 1e-4, "cubic: whole-voxel shift");
    qib_harness_free(&h);

    /* Onto another grid: reference 2x2x1 at spacing 1 mm, origin (4, 1, 2):
     * voxel (1,1,0) is at (5, 2, 2) mm = input index (2.5, 2, 2). */
    struct qib_geom rg;
    size_t rd[3] = {2, 2, 1};
    qib_geom_init(&rg, 3, rd);
    rg.origin[0] = 4;
    rg.origin[1] = 1;
    rg.origin[2] = 2;
    qib_volume *ref = NULL;
    qib_volume_new(QIB_U8, &rg, &ref);
    h = apply(v, ref, t0, kv2, &rc);
    o = qib_harness_out_volume(h, "image");
    is_int((long long)qib_volume_nvox(o), 4, "output on the reference grid");
    is_double(qib_volume_get(o, 3), 2.5 + 20 + 200, 1e-4, "reference voxel (1,1,0) = 222.5");
    qib_harness_free(&h);
    qib_volume_unref(&ref);

    /* Masks: label 3 at x = 2 (every y, z), label 1 at x = 4. */
    qib_volume *mk = NULL;
    qib_mask_new(qib_volume_geom(v), &mk);
    uint8_t *md = qib_volume_data_mut(mk);
    for (int z = 0; z < NZ; z++)
        for (int y = 0; y < NY; y++) {
            md[AT(2, y, z)] = 3;
            md[AT(4, y, z)] = 1;
        }
    const char *kv5[] = {"as", "mask", "interpolation", "nearest", NULL};
    h = apply(mk, NULL, t1, kv5, &rc);
    o = qib_harness_out_volume(h, "image");
    ok(o && qib_volume_is_mask(o), "a mask gives a mask");
    is_double(qib_volume_get(o, AT(1, 0, 0)), 3, 0, "nearest mask: label 3 moves to x = 1");
    qib_harness_free(&h);
    /* Half a voxel: x = 1 samples 1.5 (label 3 weight 0.5: kept at 0.5),
     * x = 2 samples 2.5 (label 3, 0.5), x = 3 samples 3.5 (label 1, 0.5). */
    const char *kv6[] = {"as", "mask", "interpolation", "linear", NULL};
    double th[3] = {1, 0, 0};
    h = apply(mk, NULL, th, kv6, &rc);
    o = qib_harness_out_volume(h, "image");
    int got[NX];
    for (int x = 0; x < NX; x++)
        got[x] = (int)qib_volume_get(o, AT(x, 1, 1));
    ok(got[0] == 0 && got[1] == 3 && got[2] == 3 && got[3] == 1 && got[4] == 1,
       "linear mask, threshold 0.5: 0 3 3 1 1 (found %d %d %d %d %d)", got[0], got[1], got[2],
       got[3], got[4]);
    qib_harness_free(&h);
    const char *kv7[] = {"as", "mask", "interpolation", "linear", "threshold", "0.6", NULL};
    h = apply(mk, NULL, th, kv7, &rc);
    o = qib_harness_out_volume(h, "image");
    for (int x = 0; x < NX; x++)
        got[x] = (int)qib_volume_get(o, AT(x, 1, 1));
    ok(got[0] == 0 && got[1] == 0 && got[2] == 0 && got[3] == 0 && got[4] == 1,
       "threshold 0.6: only the edge label survives (found %d %d %d %d %d)", got[0], got[1],
       got[2], got[3], got[4]);
    qib_harness_free(&h);
    const char *kv8[] = {"as", "mask", "interpolation", "cubic", NULL};
    h = apply(mk, NULL, th, kv8, &rc);
    is_int(rc, QIB_EINVAL, "cubic refused for a mask");
    qib_harness_free(&h);
    const char *kv9[] = {"as", "mask", NULL};
    h = apply(v, NULL, th, kv9, &rc);
    is_int(rc, QIB_EINVAL, "as: mask refused for an image");
    qib_harness_free(&h);
    qib_volume_unref(&mk);
    qib_volume_unref(&v);
    return tap_done();
}
