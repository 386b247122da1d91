/* read.transform and write.transform: hand-computed matrices of ITK
 * transform files (Euler3D with centre, ZYX flag, versor, affine,
 * translation, composite wrapper), exact write/read round trips of ITK text
 * and JSON, and refusal of malformed files. */
#include <config.h>

#include "t1000-reg-util.h"

static char *dir;

static void put(const char *name, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        bail("cannot write %s", p);
    fputs(text, f);
    fclose(f);
}

/* read.transform on dir/name; NULL (with the error in *rc) on failure.  The
 * caller unrefs. */
static qib_transform *rd(const char *name, int *rc, char *msg, size_t len)
{
    char p[1024], err[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    qib_harness *h = NULL;
    if (qib_harness_new("read.transform", &h, err, sizeof err) != QIB_OK)
        bail("read.transform: %s", err);
    qib_harness_set_param(h, "path", p);
    *rc = qib_harness_run(h);
    if (msg)
        snprintf(msg, len, "%s", qib_harness_error(h));
    qib_transform *t = NULL;
    if (*rc == QIB_OK)
        t = qib_transform_ref((qib_transform *)qib_harness_out_transform(h, "transform"));
    qib_harness_free(&h);
    return t;
}

static int wr(qib_transform *t, const char *name, const char *type)
{
    char err[512];
    qib_harness *h = NULL;
    if (qib_harness_new("write.transform", &h, err, sizeof err) != QIB_OK)
        bail("write.transform: %s", err);
    qib_harness_set_outdir(h, dir);
    qib_harness_set_param(h, "path", name);
    if (type)
        qib_harness_set_param(h, "itk_type", type);
    qib_harness_set_transform(h, "transform", t);
    int rc = qib_harness_run(h);
    if (rc != QIB_OK)
        diag("write.transform: %s", qib_harness_error(h));
    qib_harness_free(&h);
    return rc;
}

static int same_bits(const qib_transform *a, const qib_transform *b)
{
    double ma[16], mb[16];
    qib_transform_matrix(a, ma);
    qib_transform_matrix(b, mb);
    return memcmp(ma, mb, sizeof ma) == 0;
}

int main(void)
{
    plan(30);
    dir = tap_tmpdir();
    int rc;
    char msg[512];

    /* Euler3D: 90 degrees about z (angle z = pi/2) about centre (10, 0, 0),
     * translation (1, 2, 3): y = Rz (x - c) + c + t.  The point (11, 0, 0)
     * is 1 mm from the centre along x, rotates to (10, 1, 0), then moves to
     * (11, 3, 3). */
    put("e.tfm", "#Insight Transform File V1.0\n#Transform 0\n"
                 "Transform: Euler3DTransform_double_3_3\n"
                 "Parameters: 0 0 1.5707963267948966 1 2 3\nFixedParameters: 10 0 0\n");
    qib_transform *t = rd("e.tfm", &rc, NULL, 0);
    is_int(rc, QIB_OK, "Euler3D file read");
    double in[3] = {11, 0, 0}, out[3];
    qib_transform_apply(t, in, out);
    is_double(out[0], 11, 1e-12, "Euler3D: x of (11,0,0) -> 11");
    is_double(out[1], 3, 1e-12, "Euler3D: y -> 3");
    is_double(out[2], 3, 1e-12, "Euler3D: z -> 3");
    /* Write it back: the parameters are kept, so the text and the matrix
     * come back exactly. */
    is_int(wr(t, "e2.tfm", NULL), QIB_OK, "Euler3D written");
    qib_transform *t2 = rd("e2.tfm", &rc, NULL, 0);
    ok(t2 && same_bits(t, t2), "Euler3D round trip bit-identical");
    char p1[1024], p2[1024];
    snprintf(p1, sizeof p1, "%s/e2.tfm", dir);
    char *txt = slurp(p1, NULL);
    contains(txt,
             "Transform: Euler3DTransform_double_3_3\n"
             "Parameters: 0 0 1.5707963267948966 1 2 3\nFixedParameters: 10 0 0\n",
             "Euler3D written with its own parameters");
    free(txt);
    qib_transform_unref(&t2);

    /* JSON round trip of the same transform. */
    is_int(wr(t, "e.json", NULL), QIB_OK, "JSON written");
    t2 = rd("e.json", &rc, NULL, 0);
    ok(t2 && same_bits(t, t2), "JSON round trip bit-identical");
    snprintf(p2, sizeof p2, "%s/e.json", dir);
    txt = slurp(p2, NULL);
    contains(txt, "\"space\": \"LPS\"", "JSON names its space");
    free(txt);
    qib_transform_unref(&t2);
    qib_transform_unref(&t);

    /* ZYX flag (4th fixed parameter): Rz Ry Rx.  With x = 90 and z = 90
     * degrees, (1,0,0): Rx keeps it, Rz turns it to (0,1,0); in the default
     * order Rz Rx Ry gives the same for (1,0,0) but (0,1,0) differs:
     * ZYX: Rx (0,1,0) = (0,0,1), Rz keeps it -> (0,0,1). */
    put("zyx.tfm", "#Insight Transform File V1.0\n#Transform 0\n"
                   "Transform: Euler3DTransform_double_3_3\n"
                   "Parameters: 1.5707963267948966 0 1.5707963267948966 0 0 0\n"
                   "FixedParameters: 0 0 0 1\n");
    t = rd("zyx.tfm", &rc, NULL, 0);
    double e1[3] = {0, 1, 0};
    qib_transform_apply(t, e1, out);
    is_double(out[2], 1, 1e-12, "ZYX order: (0,1,0) -> (0,0,1)");
    qib_transform_unref(&t);
    /* Default order Rz Rx Ry on the same: Rx (0,1,0) = (0,0,1), Rz keeps. */
    put("xz.tfm", "#Insight Transform File V1.0\n#Transform 0\n"
                  "Transform: Euler3DTransform_double_3_3\n"
                  "Parameters: 1.5707963267948966 1.5707963267948966 0 0 0 0\n"
                  "FixedParameters: 0 0 0\n");
    t = rd("xz.tfm", &rc, NULL, 0);
    double e0[3] = {1, 0, 0};
    /* Rz Rx Ry with y = 90: Ry (1,0,0) = (0,0,-1); Rx (x=90) takes
     * (0,0,-1) to (0,1,0). */
    qib_transform_apply(t, e0, out);
    is_double(out[1], 1, 1e-12, "Rz Rx Ry order: (1,0,0) -> (0,1,0)");
    qib_transform_unref(&t);

    /* Versor: 180 degrees about z is the versor (0, 0, 1). */
    put("v.tfm", "#Insight Transform File V1.0\n#Transform 0\n"
                 "Transform: VersorRigid3DTransform_double_3_3\n"
                 "Parameters: 0 0 1 5 0 0\nFixedParameters: 0 0 0\n");
    t = rd("v.tfm", &rc, NULL, 0);
    qib_transform_apply(t, e0, out);
    is_double(out[0], 4, 1e-12, "versor 180 deg about z, then +5 in x: (1,0,0) -> (4,0,0)");
    qib_transform_unref(&t);

    /* Affine about a centre inside a composite wrapper: A = diag(2,1,1),
     * c = (1,0,0), t = 0: (3,0,0) -> 2 * 2 + 1 = (5,0,0). */
    put("a.txt", "#Insight Transform File V1.0\n#Transform 0\n"
                 "Transform: CompositeTransform_double_3_3\n#Transform 1\n"
                 "Transform: AffineTransform_double_3_3\n"
                 "Parameters: 2 0 0 0 1 0 0 0 1 0 0 0\nFixedParameters: 1 0 0\n");
    t = rd("a.txt", &rc, msg, sizeof msg);
    is_int(rc, QIB_OK, "affine in a composite wrapper read");
    double x3[3] = {3, 0, 0};
    if (t)
        qib_transform_apply(t, x3, out);
    is_double(out[0], 5, 1e-12, "affine about centre: (3,0,0) -> (5,0,0)");
    is_int(wr(t, "a2.tfm", NULL), QIB_OK, "affine written");
    t2 = rd("a2.tfm", &rc, NULL, 0);
    ok(t2 && same_bits(t, t2), "affine round trip bit-identical");
    qib_transform_unref(&t2);
    qib_transform_unref(&t);

    /* A general matrix without ITK parameters: written as an affine about 0,
     * and back exactly (entries copied, no arithmetic). */
    double g[16] = {0.1, 0.7, -0.3, 1.0 / 3, 0.2, 1.1, 1e-17, -12.5, 0.4, -0.9, 3.3, 1e300,
                    0, 0, 0, 1};
    qib_transform_new_affine(g, &t);
    is_int(wr(t, "g.tfm", NULL), QIB_OK, "general affine written");
    t2 = rd("g.tfm", &rc, NULL, 0);
    ok(t2 && same_bits(t, t2), "general affine round trip bit-identical");
    qib_transform_unref(&t2);
    is_int(wr(t, "g.json", NULL), QIB_OK, "general affine as JSON");
    t2 = rd("g.json", &rc, NULL, 0);
    ok(t2 && same_bits(t, t2), "JSON general round trip bit-identical");
    qib_transform_unref(&t2);
    ok(wr(t, "g3.tfm", "euler") != QIB_OK, "euler refused for a non-rigid matrix");
    qib_transform_unref(&t);

    /* A rigid matrix without parameters: Euler angles about 0, matrix back
     * within rounding. */
    double pe[6] = {0.1, -0.2, 0.3, 4, 5, 6}, rm[16];
    {
        /* Euler matrix by hand composition Rz Rx Ry. */
        double cx = cos(pe[0]), sx = sin(pe[0]), cy = cos(pe[1]), sy = sin(pe[1]);
        double cz = cos(pe[2]), sz = sin(pe[2]);
        double r[16] = {cz * cy - sz * sx * sy, -sz * cx, cz * sy + sz * sx * cy, pe[3],
                        sz * cy + cz * sx * sy, cz * cx, sz * sy - cz * sx * cy, pe[4],
                        -cx * sy, sx, cx * cy, pe[5], 0, 0, 0, 1};
        memcpy(rm, r, sizeof r);
    }
    qib_transform_new_affine(rm, &t);
    is_int(wr(t, "r.tfm", NULL), QIB_OK, "rigid matrix written");
    snprintf(p1, sizeof p1, "%s/r.tfm", dir);
    txt = slurp(p1, NULL);
    contains(txt, "Euler3DTransform_double_3_3", "a rigid matrix is written as Euler3D");
    free(txt);
    t2 = rd("r.tfm", &rc, NULL, 0);
    double back[16];
    qib_transform_matrix(t2, back);
    double worst = 0;
    for (int i = 0; i < 12; i++)
        worst = fmax(worst, fabs(back[i] - rm[i]));
    ok(worst < 1e-14, "Euler angles from the matrix give it back (%.3g)", worst);
    qib_transform_unref(&t2);
    qib_transform_unref(&t);

    /* Malformed files. */
    put("bad1.tfm", "#Insight Transform File V2.0\nTransform: X\n");
    t = rd("bad1.tfm", &rc, msg, sizeof msg);
    is_int(rc, QIB_EFORMAT, "wrong magic refused");
    put("bad2.tfm", "#Insight Transform File V1.0\nTransform: Euler3DTransform_double_3_3\n"
                    "Parameters: 0 0 0 1 2\nFixedParameters: 0 0 0\n");
    t = rd("bad2.tfm", &rc, msg, sizeof msg);
    is_int(rc, QIB_EFORMAT, "5 parameters for Euler3D refused");
    contains(msg, "6 parameters", "message names the expected count");
    put("bad3.tfm", "#Insight Transform File V1.0\nTransform: BSplineTransform_double_3_3\n"
                    "Parameters: 0\nFixedParameters: 0\n");
    t = rd("bad3.tfm", &rc, msg, sizeof msg);
    is_int(rc, QIB_EUNSUPPORTED, "B-spline transform refused as unsupported");
    put("bad4.json", "{\"matrix\": [[1,0,0,0],[0,1,0,0],[0,0,1,0]]}");
    t = rd("bad4.json", &rc, msg, sizeof msg);
    is_int(rc, QIB_EFORMAT, "JSON with 3 rows refused");
    return tap_done();
}
