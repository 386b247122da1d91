/* Affine transforms: construction checks, application, inversion and
 * composition against matrices worked by hand. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

static int mat_near(const double *a, const double *b, double tol)
{
    for (int i = 0; i < 16; i++)
        if (!(fabs(a[i] - b[i]) <= tol))
            return 0;
    return 1;
}

int main(void)
{
    plan_lazy();
    qib_transform *id, *f, *s, *fs, *fi, *g, *gi, *x;
    is_int(qib_transform_new_identity(&id), QIB_OK, "identity");
    double p[3] = {1.5, -2, 3}, q[3];
    qib_transform_apply(id, p, q);
    ok(q[0] == 1.5 && q[1] == -2 && q[2] == 3, "identity maps a point to itself");

    /* F: rotate 90 degrees about z, then translate (1, 2, 3). */
    const double F[16] = {0, -1, 0, 1, 1, 0, 0, 2, 0, 0, 1, 3, 0, 0, 0, 1};
    /* S: scale by 2, then translate z by -1. */
    const double S[16] = {2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, -1, 0, 0, 0, 1};
    is_int(qib_transform_new_affine(F, &f), QIB_OK, "F");
    is_int(qib_transform_new_affine(S, &s), QIB_OK, "S");
    const double one[3] = {1, 1, 1};
    qib_transform_apply(f, one, q);
    ok(q[0] == 0 && q[1] == 3 && q[2] == 4, "F(1,1,1) = (0,3,4)");

    /* By hand, first F then S is S*F:
     * [2 0 0 0; 0 2 0 0; 0 0 2 -1] * [0 -1 0 1; 1 0 0 2; 0 0 1 3]
     * = [0 -2 0 2; 2 0 0 4; 0 0 2 5]. */
    is_int(qib_transform_compose(f, s, &fs), QIB_OK, "compose");
    double m[16];
    const double SF[16] = {0, -2, 0, 2, 2, 0, 0, 4, 0, 0, 2, 5, 0, 0, 0, 1};
    qib_transform_matrix(fs, m);
    ok(mat_near(m, SF, 0), "compose(F, S) = S*F, by hand");
    qib_transform_apply(fs, one, q);
    ok(q[0] == 0 && q[1] == 6 && q[2] == 7, "(S after F)(1,1,1) = S(0,3,4) = (0,6,7)");

    /* By hand: F^-1 rotates by -90 degrees: A^-1 = [0 1 0; -1 0 0; 0 0 1],
     * translation -A^-1 (1,2,3) = (-2, 1, -3).  F[0][0] = 0 needs a row
     * swap (partial pivoting). */
    is_int(qib_transform_invert(f, &fi), QIB_OK, "invert F");
    const double FI[16] = {0, 1, 0, -2, -1, 0, 0, 1, 0, 0, 1, -3, 0, 0, 0, 1};
    qib_transform_matrix(fi, m);
    ok(mat_near(m, FI, 1e-15), "F^-1, by hand");

    /* A general matrix: invert o apply is the identity on points. */
    const double G[16] = {2, 1, 0, 5, 0, 3, 1, -1, 1, 0, 4, 2, 0, 0, 0, 1};
    qib_transform_new_affine(G, &g);
    is_int(qib_transform_invert(g, &gi), QIB_OK, "invert G");
    const double pts[4][3] = {{0, 0, 0}, {1, 2, 3}, {-100, 250.5, 7}, {1e3, -1e3, 0.001}};
    for (int i = 0; i < 4; i++) {
        double a[3], b[3];
        qib_transform_apply(g, pts[i], a);
        qib_transform_apply(gi, a, b);
        ok(fabs(b[0] - pts[i][0]) < 1e-9 && fabs(b[1] - pts[i][1]) < 1e-9
               && fabs(b[2] - pts[i][2]) < 1e-9,
           "G^-1(G(p)) = p for point %d", i);
    }
    is_int(qib_transform_compose(g, gi, &x), QIB_OK, "compose G, G^-1");
    qib_transform_matrix(x, m);
    const double I[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    ok(mat_near(m, I, 1e-14), "G^-1 * G = I");
    qib_transform_unref(&x);
    /* det(G) = 2*(12-0) - 1*(0-1) + 0 = 25, so (G^-1)[0][0] = 12/25. */
    qib_transform_matrix(gi, m);
    is_double(m[0], 12.0 / 25.0, 1e-15, "(G^-1)[0][0] = 12/25 (adjugate by hand)");

    const double SING[16] = {1, 2, 3, 0, 2, 4, 6, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    qib_transform_new_affine(SING, &x);
    qib_transform *y = NULL;
    is_int(qib_transform_invert(x, &y), QIB_EGEOMETRY, "singular matrix refused");
    ok(y == NULL, "no transform made");
    qib_transform_unref(&x);

    double bad[16];
    memcpy(bad, F, sizeof bad);
    bad[14] = 0.5;
    is_int(qib_transform_new_affine(bad, &x), QIB_EINVAL, "last row not (0 0 0 1)");
    memcpy(bad, F, sizeof bad);
    bad[15] = 1 + 1e-13;
    is_int(qib_transform_new_affine(bad, &x), QIB_OK, "last row within 1e-12");
    qib_transform_matrix(x, m);
    ok(m[15] == 1, "last row stored exactly");
    qib_transform_unref(&x);
    memcpy(bad, F, sizeof bad);
    bad[5] = NAN;
    is_int(qib_transform_new_affine(bad, &x), QIB_EINVAL, "NaN entry refused");

    /* Metadata: writable only while unshared. */
    qib_meta_set(qib_transform_meta_mut(f), "metric", "0.93", "reg.affine");
    qib_transform *r = qib_transform_ref(f);
    ok(qib_transform_meta_mut(f) == NULL, "meta_mut NULL when shared");
    is_string(qib_meta_get(qib_transform_meta(r), "metric"), "0.93", "meta readable");
    qib_transform_unref(&r);
    ok(r == NULL, "unref clears the pointer");

    qib_transform_unref(&id);
    qib_transform_unref(&f);
    qib_transform_unref(&s);
    qib_transform_unref(&fs);
    qib_transform_unref(&fi);
    qib_transform_unref(&g);
    qib_transform_unref(&gi);
    qib_transform_unref(&id);
    return tap_done();
}
