/* seg.mask_ops: truth tables of every operation (binary and keeping labels),
 * the grid check with its tolerance and both geometries in the message, and
 * bad parameters. */
#include <config.h>

#include "t0500-util.h"

static qib_volume *m4(const struct qib_geom *g, const uint8_t *v)
{
    qib_volume *m = t05_mask(g);
    memcpy(qib_volume_data_mut(m), v, 4);
    return m;
}

static qib_harness *ops(qib_volume *a, qib_volume *b, const char *const *params, int *rc)
{
    const char *ports[] = {"a", "b", NULL};
    qib_volume *vols[] = {a, b};
    return t05_run("seg.mask_ops", ports, vols, NULL, params, 2, rc);
}

static void truth_tol(qib_volume *a, qib_volume *b, const char *op, const char *keep,
                      const char *tol, const uint8_t *want)
{
    int rc;
    qib_harness *h = ops(a, b,
                         (const char *const[]){"operation", op, "keep_labels", keep, "tolerance",
                                               tol, NULL},
                         &rc);
    const qib_volume *o = qib_harness_out_volume(h, "mask");
    const uint8_t *d = o ? qib_volume_data(o) : NULL;
    ok(rc == QIB_OK && d && memcmp(d, want, 4) == 0,
       "%s%s: [%d %d %d %d] (got [%d %d %d %d]%s)", op, *keep == 't' ? ", keeping labels" : "",
       want[0], want[1], want[2], want[3], d ? d[0] : -1, d ? d[1] : -1, d ? d[2] : -1,
       d ? d[3] : -1, rc ? qib_harness_error(h) : "");
    qib_harness_free(&h);
}

static void truth(qib_volume *a, qib_volume *b, const char *op, const char *keep,
                  const uint8_t *want)
{
    truth_tol(a, b, op, keep, "1e-4", want);
}

static void refuse(const char *name, qib_volume *a, qib_volume *b, const char *const *params,
                   const char *want)
{
    int rc;
    qib_harness *h = ops(a, b, params, &rc);
    ok(rc != QIB_OK, "%s: refused", name);
    contains(qib_harness_error(h), want, "%s: says \"%s\"", name, want);
    qib_harness_free(&h);
}

int main(void)
{
    plan(29);
    struct qib_geom g = t05_geom(2, 2, 1, 0.8, 0.8, 3.0);
    const uint8_t va[4] = {0, 1, 2, 0}, vb[4] = {0, 0, 3, 5};
    qib_volume *a = m4(&g, va), *b = m4(&g, vb);

    truth(a, b, "and", "false", (const uint8_t[]){0, 0, 1, 0});
    truth(a, b, "and", "true", (const uint8_t[]){0, 0, 2, 0});
    truth(a, b, "or", "false", (const uint8_t[]){0, 1, 1, 1});
    truth(a, b, "or", "true", (const uint8_t[]){0, 1, 2, 5});
    truth(a, b, "xor", "false", (const uint8_t[]){0, 1, 0, 1});
    truth(a, b, "xor", "true", (const uint8_t[]){0, 1, 0, 5});
    truth(a, b, "subtract", "false", (const uint8_t[]){0, 1, 0, 0});
    truth(a, b, "subtract", "true", (const uint8_t[]){0, 1, 0, 0});
    truth(a, NULL, "not", "false", (const uint8_t[]){1, 0, 0, 1});

    /* an origin 5e-5 mm away is within 1e-4 x 0.8 mm; 1e-3 mm is not */
    struct qib_geom g2 = g;
    g2.origin[0] += 5e-5;
    qib_volume *near = m4(&g2, vb);
    truth(a, near, "and", "false", (const uint8_t[]){0, 0, 1, 0});
    g2.origin[0] = g.origin[0] + 1e-3;
    qib_volume *off = m4(&g2, vb);
    refuse("origin 1e-3 mm off", a, off, (const char *const[]){"operation", "and", NULL},
           "not on the same grid");
    refuse("origin 1e-3 mm off", a, off, (const char *const[]){"operation", "and", NULL},
           "a: 2x2x1 voxels, spacing 0.8x0.8x3 mm, origin (-12.5,");
    refuse("origin 1e-3 mm off", a, off, (const char *const[]){"operation", "and", NULL},
           "b: 2x2x1 voxels, spacing 0.8x0.8x3 mm, origin (-12.499,");
    /* a tolerance of 1e-2 admits origins 8e-3 mm apart */
    truth_tol(a, off, "and", "false", "1e-2", (const uint8_t[]){0, 0, 1, 0});

    struct qib_geom g3 = t05_geom(2, 2, 1, 0.8, 0.8, 2.5);
    qib_volume *thin = m4(&g3, vb);
    refuse("other spacing", a, thin, (const char *const[]){"operation", "or", NULL},
           "spacing 0.8x0.8x2.5 mm");
    refuse("not with two masks", a, b, (const char *const[]){"operation", "not", NULL},
           "takes one mask");
    refuse("and with one mask", a, NULL, (const char *const[]){"operation", "and", NULL},
           "needs two masks");
    refuse("no operation", a, b, NULL, "operation");
    refuse("tolerance 1", a, b, (const char *const[]){"operation", "and", "tolerance", "1", NULL},
           "tolerance");
    qib_volume *img = t05_new(QIB_I16, &g);
    refuse("image that is not a mask", a, img, (const char *const[]){"operation", "and", NULL},
           "mask");
    qib_volume_unref(&img);
    qib_volume_unref(&thin);
    qib_volume_unref(&off);
    qib_volume_unref(&near);
    qib_volume_unref(&a);
    qib_volume_unref(&b);
    return tap_done();
}
