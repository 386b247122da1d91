/* bio.overlap refuses what it cannot compare: masks on different grids
 * (both geometries in the message), a label outside 0..255, a volume that
 * is not a mask. */
#include "config.h"

#include <stdlib.h>

#include "t0400-util.h"

static qib_volume *mask(size_t n, const double sp[3])
{
    qib_volume *v = t04_volume(QIB_F32, n, n, n, 1, sp, NULL);
    qib_volume *m = t04_mask(qib_volume_geom(v), NULL);
    qib_volume_unref(&v);
    ((uint8_t *)qib_volume_data_mut(m))[0] = 1;
    return m;
}

int main(void)
{
    const double sp1[3] = {1, 1, 1}, sp2[3] = {1, 1, 1.5};
    qib_volume *a = mask(4, sp1), *b = mask(4, sp2), *c = mask(5, sp1);
    int rc;

    plan(11);

    qib_harness *h = t04_run("bio.overlap", "a", a, "b", b, NULL, 1, &rc);
    is_int(rc, QIB_EGEOMETRY, "other spacing: geometry error");
    contains(qib_harness_error(h), "1x1x1.5", "message gives b's spacing");
    contains(qib_harness_error(h), "a: 4x4x4", "message gives a's geometry");
    contains(qib_harness_error(h), "b: 4x4x4", "message gives b's geometry");
    qib_harness_free(&h);

    h = t04_run("bio.overlap", "a", a, "b", c, NULL, 1, &rc);
    is_int(rc, QIB_EGEOMETRY, "other dimensions: geometry error");
    contains(qib_harness_error(h), "5x5x5", "message gives b's dimensions");
    qib_harness_free(&h);

    const char *const neg[] = {"label", "-1", NULL};
    h = t04_run("bio.overlap", "a", a, "b", a, neg, 1, &rc);
    ok(rc != QIB_OK, "label -1 refused");
    contains(qib_harness_error(h), "label", "message names the parameter");
    qib_harness_free(&h);

    const char *const big[] = {"label", "256", NULL};
    h = t04_run("bio.overlap", "a", a, "b", a, big, 1, &rc);
    ok(rc != QIB_OK, "label 256 refused (a u8 mask has labels 0..255)");
    qib_harness_free(&h);

    const char *const txt[] = {"label", "tumour", NULL};
    h = t04_run("bio.overlap", "a", a, "b", a, txt, 1, &rc);
    ok(rc != QIB_OK, "label that is not a number refused");
    qib_harness_free(&h);

    qib_volume *img = t04_volume(QIB_U8, 4, 4, 4, 1, sp1, NULL);
    h = t04_run("bio.overlap", "a", a, "b", img, NULL, 1, &rc);
    ok(rc != QIB_OK, "an image that is not a mask refused");
    qib_harness_free(&h);

    qib_volume_unref(&img);
    qib_volume_unref(&a);
    qib_volume_unref(&b);
    qib_volume_unref(&c);
    return tap_done();
}
