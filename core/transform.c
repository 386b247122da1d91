/* Affine spatial transforms: a 4x4 row-major matrix with last row (0 0 0 1),
 * refcounted and immutable once made, so registration results can be shared
 * by every step that resamples with them. */
#include "config.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "qib/status.h"
#include "qib/transform.h"

struct qib_transform {
    atomic_uint refcount;
    double m[16];
    qib_meta *meta;
};

static int make(const double m[16], qib_transform **out)
{
    qib_transform *t = calloc(1, sizeof *t);
    if (!t)
        return QIB_ENOMEM;
    t->meta = qib_meta_new();
    if (!t->meta) {
        free(t);
        return QIB_ENOMEM;
    }
    memcpy(t->m, m, sizeof t->m);
    /* Keep the last row exact so that composition never accumulates drift
     * in it. */
    t->m[12] = t->m[13] = t->m[14] = 0.0;
    t->m[15] = 1.0;
    atomic_init(&t->refcount, 1);
    *out = t;
    return QIB_OK;
}

int qib_transform_new_affine(const double m[16], qib_transform **out)
{
    if (!m || !out)
        return QIB_EINVAL;
    for (int i = 0; i < 16; i++)
        if (!isfinite(m[i]))
            return QIB_EINVAL;
    if (fabs(m[12]) > 1e-12 || fabs(m[13]) > 1e-12 || fabs(m[14]) > 1e-12
        || fabs(m[15] - 1.0) > 1e-12)
        return QIB_EINVAL;
    return make(m, out);
}

int qib_transform_new_identity(qib_transform **out)
{
    static const double id[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    if (!out)
        return QIB_EINVAL;
    return make(id, out);
}

qib_transform *qib_transform_ref(qib_transform *t)
{
    if (t)
        atomic_fetch_add_explicit(&t->refcount, 1, memory_order_relaxed);
    return t;
}

void qib_transform_unref(qib_transform **t)
{
    if (!t || !*t)
        return;
    qib_transform *p = *t;
    *t = NULL;
    if (atomic_fetch_sub_explicit(&p->refcount, 1, memory_order_acq_rel) != 1)
        return;
    qib_meta_free(&p->meta);
    free(p);
}

void qib_transform_matrix(const qib_transform *t, double m[16])
{
    memcpy(m, t->m, sizeof t->m);
}

void qib_transform_apply(const qib_transform *t, const double in[3], double out[3])
{
    const double *m = t->m;
    double x = in[0], y = in[1], z = in[2];
    for (int r = 0; r < 3; r++)
        out[r] = m[4 * r] * x + m[4 * r + 1] * y + m[4 * r + 2] * z + m[4 * r + 3];
}

int qib_transform_invert(const qib_transform *t, qib_transform **out)
{
    if (!t || !out)
        return QIB_EINVAL;
    /* Gauss-Jordan with partial pivoting on [A | I] for the 3x3 linear part
     * A; the inverse translation is then -A^-1 b. */
    double a[3][6];
    double amax = 0.0;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            a[r][c] = t->m[4 * r + c];
            a[r][3 + c] = r == c;
            amax = fmax(amax, fabs(a[r][c]));
        }
    if (!(amax > 0))
        return QIB_EGEOMETRY;
    for (int col = 0; col < 3; col++) {
        int piv = col;
        for (int r = col + 1; r < 3; r++)
            if (fabs(a[r][col]) > fabs(a[piv][col]))
                piv = r;
        /* Relative threshold: a pivot this small against the largest entry
         * means the matrix is singular to working precision. */
        if (!(fabs(a[piv][col]) > 1e-14 * amax))
            return QIB_EGEOMETRY;
        if (piv != col)
            for (int c = 0; c < 6; c++) {
                double tmp = a[col][c];
                a[col][c] = a[piv][c];
                a[piv][c] = tmp;
            }
        double p = a[col][col];
        for (int c = 0; c < 6; c++)
            a[col][c] /= p;
        for (int r = 0; r < 3; r++) {
            if (r == col || a[r][col] == 0.0)
                continue;
            double f = a[r][col];
            for (int c = 0; c < 6; c++)
                a[r][c] -= f * a[col][c];
        }
    }
    double m[16];
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++)
            m[4 * r + c] = a[r][3 + c];
        m[4 * r + 3] = -(a[r][3] * t->m[3] + a[r][4] * t->m[7] + a[r][5] * t->m[11]);
    }
    m[12] = m[13] = m[14] = 0.0;
    m[15] = 1.0;
    for (int i = 0; i < 12; i++)
        if (!isfinite(m[i]))
            return QIB_EGEOMETRY;
    return make(m, out);
}

int qib_transform_compose(const qib_transform *first, const qib_transform *second,
                          qib_transform **out)
{
    if (!first || !second || !out)
        return QIB_EINVAL;
    /* Applying first then second is the product second * first. */
    const double *s = second->m, *f = first->m;
    double m[16];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            m[4 * r + c] = s[4 * r] * f[c] + s[4 * r + 1] * f[4 + c] + s[4 * r + 2] * f[8 + c]
                         + s[4 * r + 3] * f[12 + c];
    return make(m, out);
}

const qib_meta *qib_transform_meta(const qib_transform *t)
{
    return t ? t->meta : NULL;
}

qib_meta *qib_transform_meta_mut(qib_transform *t)
{
    if (!t || atomic_load_explicit(&t->refcount, memory_order_acquire) != 1)
        return NULL;
    return t->meta;
}
