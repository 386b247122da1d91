/* Rigid and affine intensity registration: Gaussian pyramid, Mattes mutual
 * information / normalised correlation / mean squares with analytic
 * gradients, regular-step gradient descent with parameter scaling; and the
 * application of an affine transform to images and masks.  Every reduction
 * runs over fixed blocks of samples whose partial sums are combined in block
 * order, so the result does not depend on the number of threads. */
#include <config.h>

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registration.h"
#include "qib/status.h"
#include "qib/step.h"
#include "qib/table.h"

/* Samples per block of a reduction: fixed, never derived from the thread
 * count. */
#define BLOCK 4096
#define PAD 2 /* histogram bins kept free at each end for the Parzen window */

static int fail(char *why, size_t len, int rc, const char *fmt, ...)
{
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ---------------------------------------------------------------- transforms */

static void identity(double m[16])
{
    memset(m, 0, 16 * sizeof *m);
    m[0] = m[5] = m[10] = m[15] = 1;
}

static void rot_matrix(const double a[3], double r[9])
{
    double cx = cos(a[0]), sx = sin(a[0]), cy = cos(a[1]), sy = sin(a[1]);
    double cz = cos(a[2]), sz = sin(a[2]);
    /* Rz * Rx * Ry, ITK's default order (ComputeZYX off). */
    r[0] = cz * cy - sz * sx * sy;
    r[1] = -sz * cx;
    r[2] = cz * sy + sz * sx * cy;
    r[3] = sz * cy + cz * sx * sy;
    r[4] = cz * cx;
    r[5] = sz * sy - cz * sx * cy;
    r[6] = -cx * sy;
    r[7] = sx;
    r[8] = cx * cy;
}

/* Derivatives of rot_matrix with respect to each angle. */
static void rot_deriv(const double a[3], double d[3][9])
{
    double cx = cos(a[0]), sx = sin(a[0]), cy = cos(a[1]), sy = sin(a[1]);
    double cz = cos(a[2]), sz = sin(a[2]);
    /* d/dax */
    d[0][0] = -sz * cx * sy;
    d[0][1] = sz * sx;
    d[0][2] = sz * cx * cy;
    d[0][3] = cz * cx * sy;
    d[0][4] = -cz * sx;
    d[0][5] = -cz * cx * cy;
    d[0][6] = sx * sy;
    d[0][7] = cx;
    d[0][8] = -sx * cy;
    /* d/day */
    d[1][0] = -cz * sy - sz * sx * cy;
    d[1][1] = 0;
    d[1][2] = cz * cy - sz * sx * sy;
    d[1][3] = -sz * sy + cz * sx * cy;
    d[1][4] = 0;
    d[1][5] = sz * cy + cz * sx * sy;
    d[1][6] = -cx * cy;
    d[1][7] = 0;
    d[1][8] = -cx * sy;
    /* d/daz */
    d[2][0] = -sz * cy - cz * sx * sy;
    d[2][1] = -cz * cx;
    d[2][2] = -sz * sy + cz * sx * cy;
    d[2][3] = cz * cy - sz * sx * sy;
    d[2][4] = -sz * cx;
    d[2][5] = cz * sy + sz * sx * cy;
    d[2][6] = 0;
    d[2][7] = 0;
    d[2][8] = 0;
}

/* m = [A | c + t - A c]. */
static void centred(const double a[9], const double t[3], const double c[3], double m[16])
{
    identity(m);
    for (int r = 0; r < 3; r++) {
        double ac = a[3 * r] * c[0] + a[3 * r + 1] * c[1] + a[3 * r + 2] * c[2];
        for (int k = 0; k < 3; k++)
            m[4 * r + k] = a[3 * r + k];
        m[4 * r + 3] = c[r] + t[r] - ac;
    }
}

void qib__reg_euler_matrix(const double p[6], const double c[3], double m[16])
{
    double r[9];
    rot_matrix(p, r);
    centred(r, p + 3, c, m);
}

void qib__reg_affine_matrix(const double p[12], const double c[3], double m[16])
{
    centred(p, p + 9, c, m);
}

void qib__reg_euler_params(const double m[16], const double c[3], double p[6])
{
    double r20 = m[8], r21 = m[9], r22 = m[10], r01 = m[1], r11 = m[5];
    double s = r21 > 1 ? 1 : r21 < -1 ? -1 : r21;
    p[0] = asin(s);
    p[1] = atan2(-r20, r22);
    p[2] = atan2(-r01, r11);
    /* t = offset + A c - c */
    for (int r = 0; r < 3; r++)
        p[3 + r] = m[4 * r + 3] + m[4 * r] * c[0] + m[4 * r + 1] * c[1] + m[4 * r + 2] * c[2] -
                   c[r];
}

/* --------------------------------------------------------------- image levels */

/* An image ready for sampling: float voxels on a 3-D grid. */
struct img {
    float *v;
    int borrowed; /* v belongs to someone else (a level equal to its base) */
    size_t n[3];
    struct qib_geom g;
    double w2i[12]; /* world -> continuous index, 3x4 */
    double lo[3], hi[3]; /* index range of a valid sample */
};

static int img_setup(struct img *im)
{
    double a[16], inv[16];
    qib_geom_affine(&im->g, a);
    qib_transform *t = NULL, *ti = NULL;
    int rc = qib_transform_new_affine(a, &t);
    if (rc == QIB_OK)
        rc = qib_transform_invert(t, &ti);
    if (rc == QIB_OK) {
        qib_transform_matrix(ti, inv);
        memcpy(im->w2i, inv, 12 * sizeof(double));
    }
    qib_transform_unref(&t);
    qib_transform_unref(&ti);
    for (int a2 = 0; a2 < 3; a2++) {
        im->n[a2] = im->g.dims[a2];
        /* A one-voxel axis (a 2-D image) is a slab one voxel thick. */
        im->lo[a2] = im->n[a2] > 1 ? 0 : -0.5;
        im->hi[a2] = im->n[a2] > 1 ? (double)(im->n[a2] - 1) : 0.5;
    }
    return rc == QIB_OK ? QIB_OK : QIB_EGEOMETRY;
}

static void w2i_apply(const double w[12], const double x[3], double i[3])
{
    for (int r = 0; r < 3; r++)
        i[r] = w[4 * r] * x[0] + w[4 * r + 1] * x[1] + w[4 * r + 2] * x[2] + w[4 * r + 3];
}

struct smooth_job {
    float *v;
    size_t n[3];
    int axis;
    const float *k;
    int r;
};

/* Gaussian along one axis for the lines of a block; edges clamped. */
static void smooth_lines(void *arg, size_t block, size_t begin, size_t end)
{
    (void)block;
    const struct smooth_job *j = arg;
    size_t n = j->n[j->axis];
    size_t stride = j->axis == 0 ? 1 : j->axis == 1 ? j->n[0] : j->n[0] * j->n[1];
    float *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return;
    for (size_t line = begin; line < end; line++) {
        size_t base;
        if (j->axis == 0)
            base = line * j->n[0];
        else if (j->axis == 1)
            base = (line / j->n[0]) * j->n[0] * j->n[1] + line % j->n[0];
        else
            base = line;
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (int o = -j->r; o <= j->r; o++) {
                long q = (long)i + o;
                if (q < 0)
                    q = 0;
                if (q >= (long)n)
                    q = (long)n - 1;
                s += j->k[o + j->r] * j->v[base + (size_t)q * stride];
            }
            tmp[i] = (float)s;
        }
        for (size_t i = 0; i < n; i++)
            j->v[base + i * stride] = tmp[i];
    }
    free(tmp);
}

struct conv_job {
    const qib_volume *v;
    float *out;
};

static void conv_block(void *arg, size_t block, size_t begin, size_t end)
{
    (void)block;
    const struct conv_job *j = arg;
    const void *d = qib_volume_data(j->v);
    switch (qib_volume_dtype(j->v)) {
    case QIB_U8:
        for (size_t i = begin; i < end; i++)
            j->out[i] = ((const uint8_t *)d)[i];
        break;
    case QIB_I16:
        for (size_t i = begin; i < end; i++)
            j->out[i] = ((const int16_t *)d)[i];
        break;
    case QIB_U16:
        for (size_t i = begin; i < end; i++)
            j->out[i] = ((const uint16_t *)d)[i];
        break;
    case QIB_F32:
        memcpy(j->out + begin, (const float *)d + begin, (end - begin) * sizeof(float));
        break;
    default:
        for (size_t i = begin; i < end; i++)
            j->out[i] = (float)qib_volume_get(j->v, i);
        break;
    }
}

/* The first frame of @p v as floats. */
static float *to_float(const qib_volume *v, qib_pool *pool)
{
    const struct qib_geom *g = qib_volume_geom(v);
    size_t nv = g->dims[0] * g->dims[1] * g->dims[2];
    float *f = malloc((nv ? nv : 1) * sizeof *f);
    if (!f)
        return NULL;
    struct conv_job j = {v, f};
    qib_parallel_for(pool, nv, 1u << 16, conv_block, &j);
    return f;
}

struct shrink_job {
    const float *in;
    float *out;
    size_t n[3], m[3], ss[3];
};

/* Block means of s x s x s voxels for the coarse rows of a block. */
static void shrink_rows(void *arg, size_t block, size_t begin, size_t end)
{
    (void)block;
    const struct shrink_job *j = arg;
    for (size_t row = begin; row < end; row++) {
        size_t y = row % j->m[1], z = row / j->m[1];
        size_t z0 = z * j->ss[2], z1 = z0 + j->ss[2] < j->n[2] ? z0 + j->ss[2] : j->n[2];
        size_t y0 = y * j->ss[1], y1 = y0 + j->ss[1] < j->n[1] ? y0 + j->ss[1] : j->n[1];
        for (size_t x = 0; x < j->m[0]; x++) {
            size_t x0 = x * j->ss[0], x1 = x0 + j->ss[0] < j->n[0] ? x0 + j->ss[0] : j->n[0];
            double s = 0;
            for (size_t zz = z0; zz < z1; zz++)
                for (size_t yy = y0; yy < y1; yy++) {
                    const float *l = j->in + (zz * j->n[1] + yy) * j->n[0];
                    for (size_t xx = x0; xx < x1; xx++)
                        s += l[xx];
                }
            j->out[row * j->m[0] + x] = (float)(s / (double)((z1 - z0) * (y1 - y0) * (x1 - x0)));
        }
    }
}

/* One pyramid level of the float voxels @p base on grid @p g: block means
 * of s voxels per axis (a voxel of the level sits at the centre of its
 * block), then a Gaussian of sigma mm on the level's grid. */
static int make_level(const float *base, const struct qib_geom *g, double sigma, int s,
                      qib_pool *pool, struct img *out)
{
    size_t n[3] = {g->dims[0], g->dims[1], g->dims[2]};
    struct img im;
    memset(&im, 0, sizeof im);
    im.g = *g;
    im.g.ndim = 3;
    im.g.dims[3] = 1;
    size_t m[3], ss[3];
    double idx0[3];
    for (int a = 0; a < 3; a++) {
        ss[a] = n[a] > 1 ? (size_t)s : 1;
        if (ss[a] > n[a])
            ss[a] = n[a];
        m[a] = (n[a] + ss[a] - 1) / ss[a];
        im.g.dims[a] = m[a];
        im.g.spacing[a] = g->spacing[a] * (double)ss[a];
        idx0[a] = ((double)ss[a] - 1) / 2;
    }
    qib_geom_index_to_world(g, idx0, im.g.origin);
    size_t nm = m[0] * m[1] * m[2];
    int same = ss[0] == 1 && ss[1] == 1 && ss[2] == 1;
    if (same && !(sigma > 0)) {
        /* The full-resolution, unsmoothed level is the base itself. */
        im.v = (float *)base;
        im.borrowed = 1;
        int rc = img_setup(&im);
        if (rc == QIB_OK)
            *out = im;
        return rc;
    }
    float *v = malloc((nm ? nm : 1) * sizeof *v);
    if (!v)
        return QIB_ENOMEM;
    if (same) {
        memcpy(v, base, nm * sizeof *v);
    } else {
        struct shrink_job sj = {base, v, {n[0], n[1], n[2]}, {m[0], m[1], m[2]},
                                {ss[0], ss[1], ss[2]}};
        qib_parallel_for(pool, m[1] * m[2], 4, shrink_rows, &sj);
    }
    for (int a = 0; a < 3 && sigma > 0; a++) {
        double sv = sigma / im.g.spacing[a];
        if (m[a] < 2 || sv < 0.1)
            continue;
        int r = (int)ceil(3 * sv);
        float *k = malloc((size_t)(2 * r + 1) * sizeof *k);
        if (!k) {
            free(v);
            return QIB_ENOMEM;
        }
        double sum = 0;
        for (int o = -r; o <= r; o++)
            sum += exp(-0.5 * o * o / (sv * sv));
        for (int o = -r; o <= r; o++)
            k[o + r] = (float)(exp(-0.5 * o * o / (sv * sv)) / sum);
        struct smooth_job j = {v, {m[0], m[1], m[2]}, a, k, r};
        qib_parallel_for(pool, nm / m[a], 256, smooth_lines, &j);
        free(k);
    }
    im.v = v;
    int rc = img_setup(&im);
    if (rc != QIB_OK) {
        free(im.v);
        return rc;
    }
    *out = im;
    return QIB_OK;
}

/* Trilinear value and index-space gradient at continuous index @p i, which
 * must lie within [lo, hi] on every axis. */
static double lin_grad(const struct img *im, const double i[3], double gr[3])
{
    long b[3];
    double f[3];
    long st[3];
    for (int a = 0; a < 3; a++) {
        double x = i[a];
        if (im->n[a] == 1) {
            b[a] = 0;
            f[a] = 0;
            st[a] = 0;
            continue;
        }
        long fl = (long)floor(x);
        if (fl >= (long)im->n[a] - 1)
            fl = (long)im->n[a] - 2;
        if (fl < 0)
            fl = 0;
        b[a] = fl;
        f[a] = x - (double)fl;
        st[a] = 1;
    }
    size_t sx = 1, sy = im->n[0], sz = im->n[0] * im->n[1];
    const float *p = im->v + (size_t)b[0] + (size_t)b[1] * sy + (size_t)b[2] * sz;
    size_t dx = (size_t)st[0] * sx, dy = (size_t)st[1] * sy, dz = (size_t)st[2] * sz;
    double v000 = p[0], v100 = p[dx], v010 = p[dy], v110 = p[dx + dy];
    double v001 = p[dz], v101 = p[dx + dz], v011 = p[dy + dz], v111 = p[dx + dy + dz];
    double fx = f[0], fy = f[1], fz = f[2];
    double c00 = v000 + fx * (v100 - v000), c10 = v010 + fx * (v110 - v010);
    double c01 = v001 + fx * (v101 - v001), c11 = v011 + fx * (v111 - v011);
    double c0 = c00 + fy * (c10 - c00), c1 = c01 + fy * (c11 - c01);
    double val = c0 + fz * (c1 - c0);
    double gx0 = (v100 - v000) + fy * ((v110 - v010) - (v100 - v000));
    double gx1 = (v101 - v001) + fy * ((v111 - v011) - (v101 - v001));
    gr[0] = st[0] ? gx0 + fz * (gx1 - gx0) : 0;
    gr[1] = st[1] ? (c10 - c00) + fz * ((c11 - c01) - (c10 - c00)) : 0;
    gr[2] = st[2] ? c1 - c0 : 0;
    return val;
}

static int inside(const struct img *im, const double i[3])
{
    return i[0] >= im->lo[0] && i[0] <= im->hi[0] && i[1] >= im->lo[1] && i[1] <= im->hi[1] &&
           i[2] >= im->lo[2] && i[2] <= im->hi[2];
}

/* -------------------------------------------------------------- the metric */

struct ctx {
    const struct qib__reg_params *p;
    int np;
    double c[3];
    const struct img *mov;
    const qib_volume *mmask;
    double mm_w2i[12];
    size_t ns;
    const double *sx;  /* sample world points, 3 per sample */
    const double *sf;  /* fixed values */
    const int *sbin;   /* fixed bins (MI) */
    /* current transform */
    double par[12];
    double m[16];
    double dr[3][9];
    /* per-sample cache: moving value, world gradient, valid flag */
    double *sm;
    double *sg;
    unsigned char *ok;
    /* MI */
    int nb;
    double mmin, dm;
    const double *logr; /* nb*nb log(p/pm) */
    /* per-block partials */
    double *part;
    size_t plen;
};

/* d(moving point)/d(param k) at world point x (3 values). */
static void jac(const struct ctx *c, const double x[3], double J[12][3])
{
    double v[3] = {x[0] - c->c[0], x[1] - c->c[1], x[2] - c->c[2]};
    if (c->p->kind == QIB__REG_RIGID) {
        for (int k = 0; k < 3; k++)
            for (int r = 0; r < 3; r++)
                J[k][r] = c->dr[k][3 * r] * v[0] + c->dr[k][3 * r + 1] * v[1] +
                          c->dr[k][3 * r + 2] * v[2];
        for (int k = 0; k < 3; k++)
            for (int r = 0; r < 3; r++)
                J[3 + k][r] = k == r;
    } else {
        for (int r = 0; r < 3; r++)
            for (int k = 0; k < 3; k++)
                for (int q = 0; q < 3; q++)
                    J[3 * r + k][q] = q == r ? v[k] : 0;
        for (int k = 0; k < 3; k++)
            for (int r = 0; r < 3; r++)
                J[9 + k][r] = k == r;
    }
}

/* Moving value and world gradient of each sample of the block. */
static void pass_sample(struct ctx *c, size_t begin, size_t end)
{
    for (size_t s = begin; s < end; s++) {
        const double *x = c->sx + 3 * s;
        double y[3], i[3], gi[3];
        for (int r = 0; r < 3; r++)
            y[r] = c->m[4 * r] * x[0] + c->m[4 * r + 1] * x[1] + c->m[4 * r + 2] * x[2] +
                   c->m[4 * r + 3];
        w2i_apply(c->mov->w2i, y, i);
        c->ok[s] = 0;
        if (!inside(c->mov, i))
            continue;
        if (c->mmask) {
            double mi[3];
            w2i_apply(c->mm_w2i, y, mi);
            const struct qib_geom *mg = qib_volume_geom(c->mmask);
            long q[3];
            int in = 1;
            for (int a = 0; a < 3; a++) {
                q[a] = lround(mi[a]);
                if (q[a] < 0 || q[a] >= (long)mg->dims[a])
                    in = 0;
            }
            if (!in || qib_volume_get(c->mmask, ((size_t)q[2] * mg->dims[1] + (size_t)q[1]) *
                                                        mg->dims[0] + (size_t)q[0]) == 0)
                continue;
        }
        c->sm[s] = lin_grad(c->mov, i, gi);
        /* world gradient = W^T gi */
        const double *w = c->mov->w2i;
        for (int r = 0; r < 3; r++)
            c->sg[3 * s + r] = w[r] * gi[0] + w[4 + r] * gi[1] + w[8 + r] * gi[2];
        c->ok[s] = 1;
    }
}

/* dm/dparam of sample s. */
static void dm_dp(const struct ctx *c, size_t s, double d[12])
{
    double J[12][3];
    jac(c, c->sx + 3 * s, J);
    const double *g = c->sg + 3 * s;
    for (int k = 0; k < c->np; k++)
        d[k] = g[0] * J[k][0] + g[1] * J[k][1] + g[2] * J[k][2];
}

static double bspl3(double u)
{
    u = fabs(u);
    if (u < 1)
        return (4 - 6 * u * u + 3 * u * u * u) / 6;
    if (u < 2)
        return (2 - u) * (2 - u) * (2 - u) / 6;
    return 0;
}

static double bspl3d(double u)
{
    double a = fabs(u);
    if (a < 1)
        return -2 * u + 1.5 * u * a;
    if (a < 2)
        return u > 0 ? -0.5 * (2 - a) * (2 - a) : 0.5 * (2 - a) * (2 - a);
    return 0;
}

static void mov_bin(const struct ctx *c, double m, double *kc, int *k0)
{
    double x = PAD + (m - c->mmin) / c->dm;
    if (x < PAD)
        x = PAD;
    if (x > c->nb - PAD - 1)
        x = c->nb - PAD - 1;
    int k = (int)floor(x) - 1;
    if (k < 1)
        k = 1;
    if (k > c->nb - 4)
        k = c->nb - 4;
    *kc = x;
    *k0 = k;
}

/* Block of the first pass: sample, then the sums the metric needs.  Layout
 * of a block's partial: MI: [count, nb*nb histogram]; MS/NC: [count, sf,
 * sm, sff, smm, sfm, sd2, then 3 x 12: sum dm, sum f dm, sum m dm (NC) or
 * sum (m-f) dm (MS)]. */
static void block1(void *arg, size_t block, size_t begin, size_t end)
{
    struct ctx *c = arg;
    double *acc = c->part + block * c->plen;
    memset(acc, 0, c->plen * sizeof *acc);
    pass_sample(c, begin, end);
    for (size_t s = begin; s < end; s++) {
        if (!c->ok[s])
            continue;
        double m = c->sm[s], f = c->sf[s];
        acc[0] += 1;
        if (c->p->metric == QIB__REG_MI) {
            double kc;
            int k0;
            mov_bin(c, m, &kc, &k0);
            double *h = acc + 1 + (size_t)c->sbin[s] * (size_t)c->nb;
            for (int k = k0; k < k0 + 4; k++)
                h[k] += bspl3(k - kc);
            continue;
        }
        acc[1] += f;
        acc[2] += m;
        acc[3] += f * f;
        acc[4] += m * m;
        acc[5] += f * m;
        acc[6] += (m - f) * (m - f);
        double d[12];
        dm_dp(c, s, d);
        for (int k = 0; k < c->np; k++) {
            acc[7 + k] += d[k];
            acc[19 + k] += (c->p->metric == QIB__REG_MS ? m - f : f) * d[k];
            acc[31 + k] += m * d[k];
        }
    }
}

/* Block of the MI gradient pass. */
static void block2(void *arg, size_t block, size_t begin, size_t end)
{
    struct ctx *c = arg;
    double *acc = c->part + block * c->plen;
    memset(acc, 0, c->plen * sizeof *acc);
    for (size_t s = begin; s < end; s++) {
        if (!c->ok[s])
            continue;
        double kc;
        int k0;
        mov_bin(c, c->sm[s], &kc, &k0);
        const double *l = c->logr + (size_t)c->sbin[s] * (size_t)c->nb;
        double w = 0;
        for (int k = k0; k < k0 + 4; k++)
            w += l[k] * bspl3d(k - kc);
        if (w == 0)
            continue;
        double d[12];
        dm_dp(c, s, d);
        for (int k = 0; k < c->np; k++)
            acc[k] += w * d[k];
    }
}

static void set_params(struct ctx *c, const double *par)
{
    memcpy(c->par, par, (size_t)c->np * sizeof *par);
    if (c->p->kind == QIB__REG_RIGID) {
        qib__reg_euler_matrix(par, c->c, c->m);
        rot_deriv(par, c->dr);
    } else {
        qib__reg_affine_matrix(par, c->c, c->m);
    }
}

/* Metric value (to minimise) and its gradient at @p par.  Returns QIB_OK,
 * or QIB_EINVAL when too few samples map into the moving image. */
static int evaluate(struct ctx *c, qib_pool *pool, const double *par, double *val, double *grad,
                    size_t *nvalid)
{
    set_params(c, par);
    size_t nbk = qib_nblocks(c->ns, BLOCK);
    qib_parallel_for(pool, c->ns, BLOCK, block1, c);
    double *tot = calloc(c->plen, sizeof *tot);
    if (!tot)
        return QIB_ENOMEM;
    for (size_t b = 0; b < nbk; b++)
        for (size_t k = 0; k < c->plen; k++)
            tot[k] += c->part[b * c->plen + k];
    double n = tot[0];
    *nvalid = (size_t)n;
    for (int k = 0; k < 12; k++)
        grad[k] = 0;
    if (n < 16 || n < 0.01 * (double)c->ns) {
        free(tot);
        return QIB_EINVAL;
    }
    if (c->p->metric == QIB__REG_MS) {
        *val = tot[6] / n;
        for (int k = 0; k < c->np; k++)
            grad[k] = 2 * tot[19 + k] / n;
    } else if (c->p->metric == QIB__REG_NC) {
        double sf = tot[1], sm = tot[2];
        double vf = tot[3] - sf * sf / n, vm = tot[4] - sm * sm / n, cv = tot[5] - sf * sm / n;
        if (!(vf > 0) || !(vm > 0)) {
            *val = 0;
        } else {
            double den = sqrt(vf * vm);
            *val = -cv / den;
            for (int k = 0; k < c->np; k++) {
                double dcv = tot[19 + k] - sf / n * tot[7 + k];
                double dvm = 2 * (tot[31 + k] - sm / n * tot[7 + k]);
                grad[k] = -(dcv / den - 0.5 * cv * dvm / (den * vm));
            }
        }
    } else {
        int nb = c->nb;
        double *h = tot + 1;
        double *pm = calloc((size_t)nb * 2, sizeof *pm);
        double *lr = malloc((size_t)nb * (size_t)nb * sizeof *lr);
        if (!pm || !lr) {
            free(pm);
            free(lr);
            free(tot);
            return QIB_ENOMEM;
        }
        double *pf = pm + nb;
        for (int i = 0; i < nb; i++)
            for (int k = 0; k < nb; k++) {
                double q = h[i * nb + k] / n;
                pf[i] += q;
                pm[k] += q;
            }
        double mi = 0;
        for (int i = 0; i < nb; i++)
            for (int k = 0; k < nb; k++) {
                double q = h[i * nb + k] / n;
                if (q > 1e-16 && pm[k] > 1e-16) {
                    lr[i * nb + k] = log(q / pm[k]);
                    mi += q * log(q / (pf[i] * pm[k]));
                } else {
                    lr[i * nb + k] = 0;
                }
            }
        *val = -mi;
        c->logr = lr;
        double *saved = c->part;
        size_t plen = c->plen;
        c->plen = 12;
        qib_parallel_for(pool, c->ns, BLOCK, block2, c);
        for (size_t b = 0; b < nbk; b++)
            for (int k = 0; k < c->np; k++)
                grad[k] += c->part[b * 12 + (size_t)k];
        c->plen = plen;
        c->part = saved;
        for (int k = 0; k < c->np; k++)
            grad[k] /= n * c->dm;
        c->logr = NULL;
        free(pm);
        free(lr);
    }
    free(tot);
    return QIB_OK;
}

/* ------------------------------------------------------------------ samples */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* World points and fixed values of the samples of one level. */
static int make_samples(const struct qib__reg_params *p, int level, const struct img *fx,
                        const qib_volume *fmask, int shrink, double **px, double **pf,
                        size_t *pn)
{
    size_t nv = fx->n[0] * fx->n[1] * fx->n[2];
    const struct qib_geom *mg = fmask ? qib_volume_geom(fmask) : NULL;
    size_t cand = 0;
    unsigned char *use = malloc(nv ? nv : 1);
    if (!use)
        return QIB_ENOMEM;
    for (size_t z = 0, o = 0; z < fx->n[2]; z++)
        for (size_t y = 0; y < fx->n[1]; y++)
            for (size_t x = 0; x < fx->n[0]; x++, o++) {
                int u = 1;
                if (mg) {
                    /* the mask voxel at the centre of the level voxel's block */
                    size_t q[3] = {x, y, z};
                    for (int a = 0; a < 3; a++)
                        if (fx->n[a] != mg->dims[a]) {
                            q[a] = q[a] * (size_t)shrink + (size_t)(shrink - 1) / 2;
                            if (q[a] >= mg->dims[a])
                                q[a] = mg->dims[a] - 1;
                        }
                    size_t sx = q[0], sy = q[1], sz = q[2];
                    u = qib_volume_get(fmask, (sz * mg->dims[1] + sy) * mg->dims[0] + sx) != 0;
                }
                use[o] = (unsigned char)u;
                cand += (size_t)u;
            }
    double frac = p->stratified ? p->fraction : 1;
    if (p->max_samples > 0 && frac * (double)cand > (double)p->max_samples)
        frac = (double)p->max_samples / (double)cand;
    size_t stride = frac >= 1 ? 1 : (size_t)ceil(1 / frac);
    size_t ns = (cand + stride - 1) / stride;
    double *x = malloc((ns ? ns : 1) * 3 * sizeof *x);
    double *f = malloc((ns ? ns : 1) * sizeof *f);
    if (!x || !f) {
        free(use);
        free(x);
        free(f);
        return QIB_ENOMEM;
    }
    /* One sample per stratum of `stride` consecutive candidates, at a
     * position drawn from a generator seeded by the seed and the level. */
    uint64_t st = p->seed * 0x100000001B3ull + (uint64_t)level;
    size_t k = 0, seen = 0, pick = stride > 1 ? (size_t)(splitmix(&st) % stride) : 0;
    for (size_t o = 0; o < nv; o++) {
        if (!use[o])
            continue;
        size_t pos = seen % stride;
        if (pos == pick && k < ns) {
            double idx[3] = {(double)(o % fx->n[0]), (double)((o / fx->n[0]) % fx->n[1]),
                             (double)(o / (fx->n[0] * fx->n[1]))};
            qib_geom_index_to_world(&fx->g, idx, x + 3 * k);
            f[k] = fx->v[o];
            k++;
        }
        seen++;
        if (seen % stride == 0 && stride > 1)
            pick = (size_t)(splitmix(&st) % stride);
    }
    free(use);
    *px = x;
    *pf = f;
    *pn = k;
    return QIB_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Replace the fixed values of the samples (at voxel centres of @p im) by
 * the image smoothed with a Gaussian of sigma mm there: the same separable
 * kernel and edge clamping as make_level. */
static int smooth_samples(const struct img *im, double sigma, const double *sx, double *sf,
                          size_t ns)
{
    float *k[3] = {NULL, NULL, NULL};
    int r[3] = {0, 0, 0};
    int rc = QIB_OK;
    for (int a = 0; a < 3; a++) {
        double sv = sigma / im->g.spacing[a];
        if (im->n[a] < 2 || sv < 0.1)
            continue;
        r[a] = (int)ceil(3 * sv);
        k[a] = malloc((size_t)(2 * r[a] + 1) * sizeof *k[a]);
        if (!k[a]) {
            rc = QIB_ENOMEM;
            break;
        }
        double sum = 0;
        for (int o = -r[a]; o <= r[a]; o++)
            sum += exp(-0.5 * o * o / (sv * sv));
        for (int o = -r[a]; o <= r[a]; o++)
            k[a][o + r[a]] = (float)(exp(-0.5 * o * o / (sv * sv)) / sum);
    }
    static const float one = 1;
    for (size_t i = 0; rc == QIB_OK && i < ns; i++) {
        double idx[3];
        w2i_apply(im->w2i, sx + 3 * i, idx);
        long c[3];
        for (int a = 0; a < 3; a++)
            c[a] = lround(idx[a]);
        double acc = 0;
        for (int oz = -r[2]; oz <= r[2]; oz++) {
            long z = c[2] + oz < 0 ? 0
                     : c[2] + oz >= (long)im->n[2] ? (long)im->n[2] - 1
                                                   : c[2] + oz;
            double wz = k[2] ? k[2][oz + r[2]] : one;
            for (int oy = -r[1]; oy <= r[1]; oy++) {
                long y = c[1] + oy < 0 ? 0
                         : c[1] + oy >= (long)im->n[1] ? (long)im->n[1] - 1
                                                       : c[1] + oy;
                double wy = wz * (k[1] ? k[1][oy + r[1]] : one);
                const float *line = im->v + ((size_t)z * im->n[1] + (size_t)y) * im->n[0];
                for (int ox = -r[0]; ox <= r[0]; ox++) {
                    long x = c[0] + ox < 0 ? 0
                             : c[0] + ox >= (long)im->n[0] ? (long)im->n[0] - 1
                                                           : c[0] + ox;
                    acc += wy * (k[0] ? k[0][ox + r[0]] : one) * line[x];
                }
            }
        }
        sf[i] = acc;
    }
    for (int a = 0; a < 3; a++)
        free(k[a]);
    return rc;
}

/* --------------------------------------------------------------- the driver */

static void centre_of(const qib_volume *v, int mass, double c[3])
{
    const struct qib_geom *g = qib_volume_geom(v);
    double idx[3] = {0, 0, 0};
    if (mass) {
        size_t n = g->dims[0] * g->dims[1] * g->dims[2];
        double lo = DBL_MAX;
        for (size_t i = 0; i < n; i++) {
            double x = qib_volume_get(v, i);
            if (x < lo)
                lo = x;
        }
        /* Weights are intensities above the minimum, so CT (negative
         * values) has a meaningful centre of mass. */
        double sw = 0, s[3] = {0, 0, 0};
        for (size_t i = 0, z = 0; z < g->dims[2]; z++)
            for (size_t y = 0; y < g->dims[1]; y++)
                for (size_t x = 0; x < g->dims[0]; x++, i++) {
                    double w = qib_volume_get(v, i) - lo;
                    sw += w;
                    s[0] += w * (double)x;
                    s[1] += w * (double)y;
                    s[2] += w * (double)z;
                }
        if (sw > 0) {
            for (int a = 0; a < 3; a++)
                idx[a] = s[a] / sw;
            qib_geom_index_to_world(g, idx, c);
            return;
        }
    }
    for (int a = 0; a < 3; a++)
        idx[a] = ((double)g->dims[a] - 1) / 2;
    qib_geom_index_to_world(g, idx, c);
}

static void img_free(struct img *im)
{
    if (!im->borrowed)
        free(im->v);
    im->v = NULL;
}

int qib__reg_run(const struct qib__reg_params *p, const qib_volume *fixed,
                 const qib_volume *moving, const qib_volume *fmask, const qib_volume *mmask,
                 const qib_transform *initial, qib_pool *pool, struct qib__reg_result *res,
                 char *why, size_t whylen)
{
    memset(res, 0, sizeof *res);
    if (p->levels < 1 || p->levels > QIB__REG_MAXLEVELS)
        return fail(why, whylen, QIB_EINVAL, "levels: 1 to %d expected, found %d",
                    QIB__REG_MAXLEVELS, p->levels);
    if (p->metric == QIB__REG_MI && p->bins < 8)
        return fail(why, whylen, QIB_EINVAL, "bins: at least 8 expected, found %d", p->bins);
    if (fmask) {
        char w[200];
        if (qib_geom_same_grid(qib_volume_geom(fixed), qib_volume_geom(fmask), QIB_GRID_TOL, w,
                               sizeof w) != QIB_OK)
            return fail(why, whylen, QIB_EGEOMETRY,
                        "fixed_mask: must lie on the fixed image's grid: %s", w);
    }
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.np = p->kind == QIB__REG_RIGID ? 6 : 12;
    c.mmask = mmask;
    res->nparam = c.np;
    centre_of(fixed, 0, c.c);
    memcpy(res->centre, c.c, sizeof c.c);
    if (mmask) {
        struct img tmp;
        memset(&tmp, 0, sizeof tmp);
        tmp.g = *qib_volume_geom(mmask);
        if (img_setup(&tmp) != QIB_OK)
            return fail(why, whylen, QIB_EGEOMETRY, "moving_mask: singular geometry");
        memcpy(c.mm_w2i, tmp.w2i, sizeof c.mm_w2i);
    }
    /* Initial parameters. */
    double par[12] = {0};
    if (c.np == 12)
        par[0] = par[4] = par[8] = 1;
    if (initial) {
        double m0[16];
        qib_transform_matrix(initial, m0);
        if (c.np == 6) {
            qib__reg_euler_params(m0, c.c, par);
        } else {
            for (int r = 0; r < 3; r++)
                for (int k = 0; k < 3; k++)
                    par[3 * r + k] = m0[4 * r + k];
            for (int r = 0; r < 3; r++)
                par[9 + r] = m0[4 * r + 3] + m0[4 * r] * c.c[0] + m0[4 * r + 1] * c.c[1] +
                             m0[4 * r + 2] * c.c[2] - c.c[r];
        }
    } else if (p->init != QIB__REG_INIT_NONE) {
        double cf[3], cm[3];
        int mass = p->init == QIB__REG_INIT_MOMENTS;
        centre_of(fixed, mass, cf);
        centre_of(moving, mass, cm);
        for (int r = 0; r < 3; r++)
            par[c.np - 3 + r] = cm[r] - cf[r];
    }
    double scale[12];

    float *fbase = to_float(fixed, pool), *mbase = to_float(moving, pool);
    if (!fbase || !mbase) {
        free(fbase);
        free(mbase);
        return fail(why, whylen, QIB_ENOMEM, "out of memory");
    }
    int rc = QIB_OK;
    for (int lv = 0; lv < p->levels && rc == QIB_OK; lv++) {
        double tl = now_s();
        int s = (int)p->shrink[lv];
        if (s < 1)
            s = 1;
        struct img fx, mv;
        memset(&fx, 0, sizeof fx);
        memset(&mv, 0, sizeof mv);
        double *sx = NULL, *sf = NULL;
        int *sbin = NULL;
        size_t ns = 0;
        /* At full resolution the smoothed fixed image is needed only at the
         * samples: it is smoothed there alone, not over the whole grid. */
        int fsmooth_at = s == 1 && p->sigma[lv] > 0;
        rc = make_level(fbase, qib_volume_geom(fixed), fsmooth_at ? 0 : p->sigma[lv], s, pool,
                        &fx);
        if (rc == QIB_OK)
            rc = make_level(mbase, qib_volume_geom(moving), p->sigma[lv], s, pool, &mv);
        if (rc == QIB_OK)
            rc = make_samples(p, lv, &fx, fmask, s, &sx, &sf, &ns);
        if (rc == QIB_OK && fsmooth_at)
            rc = smooth_samples(&fx, p->sigma[lv], sx, sf, ns);
        if (rc != QIB_OK) {
            img_free(&fx);
            img_free(&mv);
            free(fbase);
            free(mbase);
            return fail(why, whylen, rc, "level %d: %s", lv + 1, qib_strerror(rc));
        }
        img_free(&fx);
        c.mov = &mv;
        c.ns = ns;
        c.sx = sx;
        c.sf = sf;
        res->samples[lv] = ns;
        size_t nbk = qib_nblocks(ns, BLOCK);
        if (p->metric == QIB__REG_MI) {
            c.nb = p->bins;
            c.plen = 1 + (size_t)c.nb * (size_t)c.nb;
            double fmin = DBL_MAX, fmax = -DBL_MAX;
            for (size_t i = 0; i < ns; i++) {
                fmin = sf[i] < fmin ? sf[i] : fmin;
                fmax = sf[i] > fmax ? sf[i] : fmax;
            }
            double mmin = DBL_MAX, mmax = -DBL_MAX;
            size_t nm = mv.n[0] * mv.n[1] * mv.n[2];
            for (size_t i = 0; i < nm; i++) {
                mmin = mv.v[i] < mmin ? mv.v[i] : mmin;
                mmax = mv.v[i] > mmax ? mv.v[i] : mmax;
            }
            double df = (fmax - fmin) / (c.nb - 2 * PAD);
            c.mmin = mmin;
            c.dm = (mmax - mmin) / (c.nb - 2 * PAD - 1);
            if (!(df > 0) || !(c.dm > 0)) {
                rc = fail(why, whylen, QIB_EINVAL, "level %d: an image is constant", lv + 1);
            } else {
                sbin = malloc((ns ? ns : 1) * sizeof *sbin);
                if (!sbin)
                    rc = QIB_ENOMEM;
                for (size_t i = 0; sbin && i < ns; i++) {
                    int b = PAD + (int)floor((sf[i] - fmin) / df);
                    sbin[i] = b < PAD ? PAD : b > c.nb - PAD - 1 ? c.nb - PAD - 1 : b;
                }
            }
        } else {
            c.plen = 43;
        }
        c.sbin = sbin;
        c.sm = malloc((ns ? ns : 1) * sizeof *c.sm);
        c.sg = malloc((ns ? ns : 1) * 3 * sizeof *c.sg);
        c.ok = malloc(ns ? ns : 1);
        c.part = malloc((nbk ? nbk : 1) * (c.plen > 12 ? c.plen : 12) * sizeof *c.part);
        if (rc == QIB_OK && (!c.sm || !c.sg || !c.ok || !c.part))
            rc = QIB_ENOMEM;
        if (rc == QIB_OK && ns < 16)
            rc = fail(why, whylen, QIB_EINVAL, "level %d: only %zu samples", lv + 1, ns);
        /* Scales: a parameter's unit change moves the samples by `scale`
         * mm root-mean-square (at the starting point of the level), so a
         * step is a displacement in mm whichever parameter it changes and
         * rotations, matrix entries and translations are comparable. */
        if (rc == QIB_OK) {
            set_params(&c, par);
            double ss[12] = {0};
            for (size_t i = 0; i < ns; i++) {
                double J[12][3];
                jac(&c, sx + 3 * i, J);
                for (int k = 0; k < c.np; k++)
                    ss[k] += J[k][0] * J[k][0] + J[k][1] * J[k][1] + J[k][2] * J[k][2];
            }
            for (int k = 0; k < c.np; k++) {
                scale[k] = sqrt(ss[k] / (double)(ns ? ns : 1));
                /* An axis without extent (a 2-D image) gives no motion;
                 * its parameters keep a unit scale and get no gradient. */
                if (!(scale[k] > 1e-6))
                    scale[k] = 1;
            }
        }
        /* Regular-step gradient descent in scaled parameters. */
        double step = p->max_step > 0 ? p->max_step
                                      : fmax(fmax(mv.g.spacing[0], mv.g.spacing[1]),
                                             mv.g.spacing[2]);
        if (mv.n[2] == 1)
            step = fmax(mv.g.spacing[0], mv.g.spacing[1]);
        /* Each step moves by `step` along the normalised scaled gradient;
         * the length shrinks by the relaxation factor whenever the gradient
         * turns back (the optimum was passed). */
        double prev[12] = {0}, dir[12] = {0}, acc[12], vacc = 0, val = 0, grad[12];
        int have_prev = 0, have_acc = 0;
        int64_t it = 0;
        enum qib__reg_stop stop = QIB__REG_STOP_ITER;
        while (rc == QIB_OK) {
            size_t nvalid = 0;
            int e = evaluate(&c, pool, par, &val, grad, &nvalid);
            if (e == QIB_EINVAL) {
                rc = fail(why, whylen, QIB_EINVAL,
                          "level %d, iteration %lld: only %zu of %zu samples map into the "
                          "moving image (check the initialisation)",
                          lv + 1, (long long)it, nvalid, ns);
                break;
            }
            if (e != QIB_OK) {
                rc = e;
                break;
            }
            /* Keep the best point seen: the sampled metric is not smooth,
             * so the last step is not always an improvement. */
            if (!have_acc || val < vacc) {
                memcpy(acc, par, sizeof acc);
                vacc = val;
                have_acc = 1;
            }
            if (it >= p->iterations)
                break;
            if (p->step && qib_step_interrupted(p->step)) {
                rc = fail(why, whylen, QIB_EINTR, "interrupted at level %d", lv + 1);
                break;
            }
            double gs[12], norm = 0, dot = 0;
            for (int k = 0; k < c.np; k++) {
                gs[k] = grad[k] / scale[k];
                norm += gs[k] * gs[k];
                dot += gs[k] * prev[k];
            }
            norm = sqrt(norm);
            if (norm < p->grad_tol) {
                stop = QIB__REG_STOP_GRAD;
                break;
            }
            if (have_prev && dot < 0)
                step *= p->relaxation;
            if (step < p->min_step) {
                stop = QIB__REG_STOP_STEP;
                break;
            }
            for (int k = 0; k < c.np; k++) {
                dir[k] = gs[k] / norm;
                par[k] -= step * dir[k] / scale[k];
                prev[k] = gs[k];
            }
            have_prev = 1;
            it++;
        }
        if (have_acc) {
            memcpy(par, acc, sizeof acc);
            val = vacc;
        }
        res->iters[lv] = it;
        res->seconds[lv] = now_s() - tl;
        res->metric[lv] = val;
        res->stop[lv] = stop;
        res->levels = lv + 1;
        free(c.sm);
        free(c.sg);
        free(c.ok);
        free(c.part);
        free(sbin);
        free(sx);
        free(sf);
        c.sm = c.sg = c.part = NULL;
        c.ok = NULL;
        img_free(&mv);
    }
    free(fbase);
    free(mbase);
    if (rc != QIB_OK)
        return rc;
    memcpy(res->param, par, sizeof par);
    if (c.np == 6)
        qib__reg_euler_matrix(par, c.c, res->m);
    else
        qib__reg_affine_matrix(par, c.c, res->m);
    return QIB_OK;
}

/* ------------------------------------------------------------ applying */

struct apply_job {
    const qib_volume *v;
    const double *src;   /* f64 voxels (or B-spline coefficients) */
    const unsigned char *lab;
    size_t n[3];
    double map[12];      /* output index -> source index */
    struct qib_geom out;
    enum qib_interp method;
    int as_mask;
    double threshold, outside;
    void *dst;
    int f64;
};

static long mirror(long i, long n)
{
    if (n == 1)
        return 0;
    long p = 2 * (n - 1);
    i %= p;
    if (i < 0)
        i += p;
    return i < n ? i : p - i;
}

static void prefilter_line(double *c, size_t n, size_t stride)
{
    if (n < 2)
        return;
    const double z = sqrt(3.0) - 2;
    const double lambda = (1 - z) * (1 - 1 / z);
    for (size_t i = 0; i < n; i++)
        c[i * stride] *= lambda;
    /* Causal initialisation for the mirror boundary: truncated where z^k is
     * negligible, or the exact sum over the mirrored line when it is short. */
    size_t h = (size_t)ceil(log(1e-12) / log(fabs(z)));
    double sum = c[0], zk = z;
    if (h < n) {
        for (size_t k = 1; k < h; k++) {
            sum += zk * c[k * stride];
            zk *= z;
        }
    } else {
        double z2n = pow(z, (double)(2 * n - 2));
        sum = c[0] + pow(z, (double)(n - 1)) * c[(n - 1) * stride];
        for (size_t k = 1; k + 1 < n; k++)
            sum += (pow(z, (double)k) + pow(z, (double)(2 * n - 2 - k))) * c[k * stride];
        sum /= 1 - z2n;
    }
    c[0] = sum;
    for (size_t i = 1; i < n; i++)
        c[i * stride] += z * c[(i - 1) * stride];
    c[(n - 1) * stride] = z / (z * z - 1) * (z * c[(n - 2) * stride] + c[(n - 1) * stride]);
    for (size_t i = n - 1; i-- > 0;)
        c[i * stride] = z * (c[(i + 1) * stride] - c[i * stride]);
}

static void bweights(double x, long *b, double w[4])
{
    long fl = (long)floor(x);
    double t = x - (double)fl;
    *b = fl - 1;
    w[0] = (1 - t) * (1 - t) * (1 - t) / 6;
    w[1] = (4 - 6 * t * t + 3 * t * t * t) / 6;
    w[2] = (1 + 3 * t + 3 * t * t - 3 * t * t * t) / 6;
    w[3] = t * t * t / 6;
}

/* Trilinear resampling of one output row of an image: the common case,
 * kept free of the general path's branches. */
static void linear_row(const struct apply_job *j, size_t row)
{
    size_t ox = j->out.dims[0], oy = j->out.dims[1];
    double y = (double)(row % oy), z = (double)(row / oy);
    const double *m = j->map;
    double b[3], hi[3], top[3];
    size_t st[3] = {1, j->n[0], j->n[0] * j->n[1]};
    for (int r = 0; r < 3; r++) {
        b[r] = m[4 * r + 1] * y + m[4 * r + 2] * z + m[4 * r + 3];
        hi[r] = (double)j->n[r] - 0.5;
        top[r] = (double)j->n[r] - 1;
        if (j->n[r] == 1)
            st[r] = 0;
    }
    float *o32 = j->f64 ? NULL : (float *)j->dst + row * ox;
    double *o64 = j->f64 ? (double *)j->dst + row * ox : NULL;
    for (size_t x = 0; x < ox; x++) {
        double s[3], f[3];
        size_t q = 0;
        int in = 1;
        for (int a = 0; a < 3; a++) {
            s[a] = m[4 * a] * (double)x + b[a];
            if (s[a] < -0.5 || s[a] > hi[a])
                in = 0;
            double c = s[a] < 0 ? 0 : s[a] > top[a] ? top[a] : s[a];
            size_t i = (size_t)c;
            if (st[a] && i + 1 >= j->n[a])
                i = j->n[a] - 2;
            f[a] = st[a] ? c - (double)i : 0;
            q += i * st[a];
        }
        double val = j->outside;
        if (in) {
            const double *p = j->src + q;
            size_t dx = st[0], dy = st[1], dz = st[2];
            double c00 = p[0] + f[0] * (p[dx] - p[0]);
            double c10 = p[dy] + f[0] * (p[dy + dx] - p[dy]);
            double c01 = p[dz] + f[0] * (p[dz + dx] - p[dz]);
            double c11 = p[dz + dy] + f[0] * (p[dz + dy + dx] - p[dz + dy]);
            double c0 = c00 + f[1] * (c10 - c00), c1 = c01 + f[1] * (c11 - c01);
            val = c0 + f[2] * (c1 - c0);
        }
        if (o64)
            o64[x] = val;
        else
            o32[x] = (float)val;
    }
}

static void apply_rows(void *arg, size_t block, size_t begin, size_t end)
{
    (void)block;
    const struct apply_job *j = arg;
    size_t ox = j->out.dims[0], oy = j->out.dims[1];
    size_t nx = j->n[0], ny = j->n[1], nz = j->n[2];
    for (size_t row = begin; row < end; row++) {
        if (!j->as_mask && j->method == QIB_INTERP_LINEAR) {
            linear_row(j, row);
            continue;
        }
        size_t y = row % oy, z = row / oy;
        for (size_t x = 0; x < ox; x++) {
            double o[3] = {(double)x, (double)y, (double)z}, s[3];
            for (int r = 0; r < 3; r++)
                s[r] = j->map[4 * r] * o[0] + j->map[4 * r + 1] * o[1] + j->map[4 * r + 2] * o[2] +
                       j->map[4 * r + 3];
            int in = 1;
            for (int a = 0; a < 3; a++) {
                if (s[a] < -0.5 || s[a] > (double)j->n[a] - 0.5)
                    in = 0;
                if (s[a] < 0)
                    s[a] = 0;
                if (s[a] > (double)j->n[a] - 1)
                    s[a] = (double)j->n[a] - 1;
            }
            size_t oi = row * ox + x;
            double val = j->as_mask ? 0 : j->outside;
            if (in && j->method == QIB_INTERP_NEAREST) {
                size_t q = ((size_t)lround(s[2]) * ny + (size_t)lround(s[1])) * nx +
                           (size_t)lround(s[0]);
                val = j->as_mask ? j->lab[q] : j->src[q];
            } else if (in && j->method == QIB_INTERP_LINEAR) {
                long b[3];
                double f[3];
                for (int a = 0; a < 3; a++) {
                    long fl = (long)floor(s[a]);
                    if (fl >= (long)j->n[a] - 1)
                        fl = (long)j->n[a] - 2;
                    if (fl < 0)
                        fl = 0;
                    b[a] = fl;
                    f[a] = j->n[a] > 1 ? s[a] - (double)fl : 0;
                }
                if (!j->as_mask) {
                    double acc = 0;
                    for (int k = 0; k < 8; k++) {
                        size_t cx = (size_t)b[0] + (k & 1), cy = (size_t)b[1] + ((k >> 1) & 1),
                               cz = (size_t)b[2] + ((k >> 2) & 1);
                        double w = ((k & 1) ? f[0] : 1 - f[0]) *
                                   ((k & 2) ? f[1] : 1 - f[1]) * ((k & 4) ? f[2] : 1 - f[2]);
                        if (w == 0)
                            continue;
                        acc += w * j->src[(cz * ny + cy) * nx + cx];
                    }
                    val = acc;
                } else {
                    /* Weight per label among the eight neighbours. */
                    unsigned char lab[8];
                    double lw[8];
                    int nl = 0;
                    for (int k = 0; k < 8; k++) {
                        size_t cx = (size_t)b[0] + (k & 1), cy = (size_t)b[1] + ((k >> 1) & 1),
                               cz = (size_t)b[2] + ((k >> 2) & 1);
                        double w = ((k & 1) ? f[0] : 1 - f[0]) *
                                   ((k & 2) ? f[1] : 1 - f[1]) * ((k & 4) ? f[2] : 1 - f[2]);
                        if (w == 0)
                            continue;
                        unsigned char l = j->lab[(cz * ny + cy) * nx + cx];
                        if (!l)
                            continue;
                        int q = 0;
                        while (q < nl && lab[q] != l)
                            q++;
                        if (q == nl) {
                            lab[nl] = l;
                            lw[nl++] = 0;
                        }
                        lw[q] += w;
                    }
                    val = 0;
                    double best = -1;
                    for (int q = 0; q < nl; q++)
                        if (lw[q] >= j->threshold - 1e-12 && lw[q] > best) {
                            best = lw[q];
                            val = lab[q];
                        }
                }
            } else if (in) {
                long b[3];
                double w[3][4];
                for (int a = 0; a < 3; a++)
                    bweights(s[a], &b[a], w[a]);
                double acc = 0;
                for (int kz = 0; kz < 4; kz++) {
                    size_t cz = (size_t)mirror(b[2] + kz, (long)nz);
                    for (int ky = 0; ky < 4; ky++) {
                        size_t cy = (size_t)mirror(b[1] + ky, (long)ny);
                        double wyz = w[2][kz] * w[1][ky];
                        const double *line = j->src + (cz * ny + cy) * nx;
                        for (int kx = 0; kx < 4; kx++)
                            acc += wyz * w[0][kx] * line[mirror(b[0] + kx, (long)nx)];
                    }
                }
                val = acc;
            }
            if (j->as_mask)
                ((unsigned char *)j->dst)[oi] = (unsigned char)val;
            else if (j->f64)
                ((double *)j->dst)[oi] = val;
            else
                ((float *)j->dst)[oi] = (float)val;
        }
    }
}

int qib__reg_apply(const qib_volume *v, const qib_transform *t, const struct qib_geom *ref,
                   enum qib_interp method, int as_mask, double threshold, double outside,
                   qib_pool *pool, qib_volume **out)
{
    const struct qib_geom *g = qib_volume_geom(v);
    struct apply_job j;
    memset(&j, 0, sizeof j);
    j.v = v;
    for (int a = 0; a < 3; a++)
        j.n[a] = g->dims[a];
    j.out = *ref;
    j.out.ndim = 3;
    j.out.dims[3] = 1;
    j.out.spacing[3] = 1;
    j.method = method;
    j.as_mask = as_mask;
    j.threshold = threshold;
    j.outside = outside;
    if (as_mask && method == QIB_INTERP_CUBIC)
        return QIB_EINVAL;
    /* output index -> world -> (t) -> source world -> source index */
    double ao[16], tm[16], ai[16], tmp[16], full[16];
    qib_geom_affine(&j.out, ao);
    qib_transform_matrix(t, tm);
    qib_transform *gi = NULL, *gs = NULL;
    double as[16];
    qib_geom_affine(g, as);
    int rc = qib_transform_new_affine(as, &gs);
    if (rc == QIB_OK)
        rc = qib_transform_invert(gs, &gi);
    qib_transform_unref(&gs);
    if (rc != QIB_OK)
        return QIB_EGEOMETRY;
    qib_transform_matrix(gi, ai);
    qib_transform_unref(&gi);
    for (int r = 0; r < 4; r++)
        for (int k = 0; k < 4; k++)
            tmp[4 * r + k] = tm[4 * r] * ao[k] + tm[4 * r + 1] * ao[4 + k] +
                             tm[4 * r + 2] * ao[8 + k] + tm[4 * r + 3] * ao[12 + k];
    for (int r = 0; r < 4; r++)
        for (int k = 0; k < 4; k++)
            full[4 * r + k] = ai[4 * r] * tmp[k] + ai[4 * r + 1] * tmp[4 + k] +
                              ai[4 * r + 2] * tmp[8 + k] + ai[4 * r + 3] * tmp[12 + k];
    memcpy(j.map, full, sizeof j.map);
    size_t nin = j.n[0] * j.n[1] * j.n[2];
    double *src = NULL;
    qib_volume *o = NULL;
    if (as_mask) {
        j.lab = qib_volume_data(v);
        rc = qib_mask_new(&j.out, &o);
    } else {
        src = malloc(nin * sizeof *src);
        if (!src)
            return QIB_ENOMEM;
        for (size_t i = 0; i < nin; i++)
            src[i] = qib_volume_get(v, i);
        if (method == QIB_INTERP_CUBIC) {
            for (size_t z = 0; z < j.n[2]; z++)
                for (size_t y = 0; y < j.n[1]; y++)
                    prefilter_line(src + (z * j.n[1] + y) * j.n[0], j.n[0], 1);
            for (size_t z = 0; z < j.n[2]; z++)
                for (size_t x = 0; x < j.n[0]; x++)
                    prefilter_line(src + z * j.n[1] * j.n[0] + x, j.n[1], j.n[0]);
            for (size_t y = 0; y < j.n[1]; y++)
                for (size_t x = 0; x < j.n[0]; x++)
                    prefilter_line(src + y * j.n[0] + x, j.n[2], j.n[0] * j.n[1]);
        }
        j.src = src;
        j.f64 = qib_volume_dtype(v) == QIB_F64;
        rc = qib_volume_new_uninit(j.f64 ? QIB_F64 : QIB_F32, &j.out, &o);
    }
    if (rc != QIB_OK) {
        free(src);
        return rc;
    }
    /* The values keep their meaning (units, modality): so does the metadata. */
    const qib_meta *vm = qib_volume_meta(v);
    qib_meta *om = qib_volume_meta_mut(o);
    for (size_t i = 0; om && i < qib_meta_count(vm); i++) {
        const char *key, *val, *from;
        if (qib_meta_at(vm, i, &key, &val, &from) == QIB_OK)
            qib_meta_set(om, key, val, from);
    }
    j.dst = qib_volume_data_mut(o);
    rc = qib_parallel_for(pool, j.out.dims[1] * j.out.dims[2], 8, apply_rows, &j);
    free(src);
    if (rc != QIB_OK) {
        qib_volume_unref(&o);
        return rc;
    }
    *out = o;
    return QIB_OK;
}

/* ------------------------------------------------------ the plugins' run */

int qib__reg_check(qib_step *step, const struct qib__reg_opts *o)
{
    if (o->shrink.n < 1 || o->shrink.n > QIB__REG_MAXLEVELS)
        return qib_fail(step, QIB_EINVAL, "shrink_factors: 1 to %d levels expected, found %zu",
                        QIB__REG_MAXLEVELS, o->shrink.n);
    if (o->sigma.n != o->shrink.n)
        return qib_fail(step, QIB_EINVAL,
                        "smoothing_sigmas: one value per level expected (%zu), found %zu",
                        o->shrink.n, o->sigma.n);
    for (size_t i = 0; i < o->shrink.n; i++)
        if (o->shrink.v[i] != floor(o->shrink.v[i]) || o->shrink.v[i] > 64)
            return qib_fail(step, QIB_EINVAL,
                            "shrink_factors: integers 1 to 64 expected, found %g", o->shrink.v[i]);
    if (o->min_step > o->max_step && o->max_step > 0)
        return qib_fail(step, QIB_EINVAL, "min_step (%g mm) exceeds max_step (%g mm)",
                        o->min_step, o->max_step);
    return QIB_OK;
}


static const char *const metric_names[] = {"mattes_mi", "normalized_correlation",
                                           "mean_squares"};
static const char *const stop_names[] = {"iterations", "min_step", "gradient"};

/* "a b c" from @p n doubles, each in the shortest exact form. */
static void join(const double *v, int n, char *buf, size_t len)
{
    size_t pos = 0;
    buf[0] = 0;
    for (int i = 0; i < n && pos < len; i++) {
        char b[32];
        int w = snprintf(buf + pos, len - pos, "%s%s", i ? " " : "", qib_format_double(v[i], b));
        if (w < 0)
            break;
        pos += (size_t)w;
    }
}

static int fill_table(const struct qib__reg_result *r, const struct qib__reg_opts *o,
                      const double *secs, qib_table **out)
{
    qib_table *t = NULL;
    int rc = qib_table_new(&t);
    size_t c[8];
    static const char *const names[8] = {"level",      "shrink_factor", "smoothing_sigma",
                                         "samples",    "iterations",    "metric",
                                         "stop",       "time"};
    static const enum qib_coltype types[8] = {QIB_COL_INT,    QIB_COL_INT,  QIB_COL_DOUBLE,
                                              QIB_COL_INT,    QIB_COL_INT,  QIB_COL_DOUBLE,
                                              QIB_COL_STRING, QIB_COL_DOUBLE};
    static const char *const units[8] = {NULL, NULL, "mm", NULL, NULL, NULL, NULL, "s"};
    for (int k = 0; k < 8 && rc == QIB_OK; k++)
        rc = qib_table_add_column(t, names[k], types[k], units[k], NULL, &c[k]);
    for (int lv = 0; lv < r->levels && rc == QIB_OK; lv++) {
        size_t row;
        rc = qib_table_add_row(t, &row);
        if (rc != QIB_OK)
            break;
        qib_table_set_int(t, row, c[0], lv + 1);
        qib_table_set_int(t, row, c[1], (int64_t)o->shrink.v[lv]);
        qib_table_set_double(t, row, c[2], o->sigma.v[lv]);
        qib_table_set_int(t, row, c[3], (int64_t)r->samples[lv]);
        qib_table_set_int(t, row, c[4], r->iters[lv]);
        qib_table_set_double(t, row, c[5], r->metric[lv]);
        qib_table_set_string(t, row, c[6], stop_names[r->stop[lv]]);
        rc = qib_table_set_double(t, row, c[7], secs[lv]);
    }
    if (rc != QIB_OK) {
        qib_table_unref(&t);
        return rc;
    }
    *out = t;
    return QIB_OK;
}

int qib__reg_step(qib_step *step, const struct qib__reg_opts *o, enum qib__reg_kind kind)
{
    const qib_volume *fixed = qib_step_in_volume(step, "fixed");
    const qib_volume *moving = qib_step_in_volume(step, "moving");
    const qib_volume *fmask = qib_step_in_volume(step, "fixed_mask");
    const qib_volume *mmask = qib_step_in_volume(step, "moving_mask");
    const qib_transform *init = qib_step_in_transform(step, "initial");
    if (!fixed || !moving)
        return qib_fail(step, QIB_EINVAL, "inputs fixed and moving are required");
    int rc = qib__reg_check(step, o);
    if (rc != QIB_OK)
        return rc;
    struct qib__reg_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.metric = (enum qib__reg_metric)o->metric;
    p.init = (enum qib__reg_init)o->init;
    p.bins = (int)o->bins;
    p.levels = (int)o->shrink.n;
    for (int i = 0; i < p.levels; i++) {
        p.shrink[i] = o->shrink.v[i];
        p.sigma[i] = o->sigma.v[i];
    }
    p.iterations = o->iterations;
    p.max_step = o->max_step;
    p.min_step = o->min_step;
    p.relaxation = o->relaxation;
    p.grad_tol = o->grad_tol;
    p.stratified = o->sampling;
    p.fraction = o->fraction;
    p.max_samples = o->max_samples;
    p.seed = (uint64_t)o->seed;
    p.step = step;
    struct qib__reg_result r;
    char why[256] = "";
    rc = qib__reg_run(&p, fixed, moving, fmask, mmask, init, qib_step_pool(step), &r, why,
                      sizeof why);
    if (rc != QIB_OK)
        return qib_fail(step, rc, "registration failed: %s", why[0] ? why : qib_strerror(rc));
    qib_transform *t = NULL;
    if ((rc = qib_transform_new_affine(r.m, &t)) != QIB_OK)
        return qib_fail(step, rc, "the result is not an affine transform");
    qib_meta *m = qib_transform_meta_mut(t);
    char buf[600], b[32];
    const char *src = kind == QIB__REG_RIGID ? "reg.rigid" : "reg.affine";
    qib_meta_set(m, "itk_type",
                 kind == QIB__REG_RIGID ? "Euler3DTransform_double_3_3"
                                        : "AffineTransform_double_3_3",
                 src);
    join(r.param, r.nparam, buf, sizeof buf);
    qib_meta_set(m, "itk_parameters", buf, src);
    join(r.centre, 3, buf, sizeof buf);
    qib_meta_set(m, "itk_fixed_parameters", buf, src);
    qib_meta_set(m, "metric", metric_names[p.metric], src);
    qib_meta_set_double(m, "metric_value", r.metric[r.levels - 1], src);
    qib_step_record(step, "metric", metric_names[p.metric]);
    qib_step_record(step, "final_metric", qib_format_double(r.metric[r.levels - 1], b));
    join(r.param, r.nparam, buf, sizeof buf);
    qib_step_record(step, "parameters", buf);
    qib_volume *img = NULL;
    if (o->resample)
        rc = qib__reg_apply(moving, t, qib_volume_geom(fixed), QIB_INTERP_LINEAR, 0, 0, 0,
                            qib_step_pool(step), &img);
    if (rc != QIB_OK) {
        qib_transform_unref(&t);
        return qib_fail(step, rc, "resampling the moving image failed: %s", qib_strerror(rc));
    }
    qib_table *tab = NULL;
    if ((rc = fill_table(&r, o, r.seconds, &tab)) != QIB_OK) {
        qib_transform_unref(&t);
        qib_volume_unref(&img);
        return qib_fail(step, rc, "table: %s", qib_strerror(rc));
    }
    if ((rc = qib_step_set_transform(step, "transform", t)) != QIB_OK) {
        qib_volume_unref(&img);
        qib_table_unref(&tab);
        return rc;
    }
    if (img && (rc = qib_step_set_volume(step, "image", img)) != QIB_OK) {
        qib_table_unref(&tab);
        return rc;
    }
    return qib_step_set_table(step, "table", tab);
}

/* The parameters of reg.rigid and reg.affine: one table, so the two plugins
 * cannot drift apart. */
static const char *const metric_choices[] = {"mattes_mi", "normalized_correlation",
                                             "mean_squares", NULL};
static const char *const sampling_choices[] = {"all", "stratified", NULL};
static const char *const init_choices[] = {"geometry", "moments", "none", NULL};

const struct qib_param qib__reg_param_table[] = {
    {.name = "metric", .type = QIB_PARAM_ENUM, .offset = offsetof(struct qib__reg_opts, metric),
     .def = "mattes_mi", .choices = metric_choices,
     .help = "mattes_mi (Mattes mutual information, any contrast), normalized_correlation "
             "(linear intensity relation) or mean_squares (same intensities)"},
    {.name = "bins", .type = QIB_PARAM_INT, .offset = offsetof(struct qib__reg_opts, bins),
     .def = "50", .min = 8, .max = 256, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "histogram bins of Mattes mutual information (cubic B-spline Parzen window on "
             "the moving intensities)"},
    {.name = "shrink_factors", .type = QIB_PARAM_DLIST,
     .offset = offsetof(struct qib__reg_opts, shrink), .def = "[4, 2, 1]", .min = 1,
     .flags = QIB_PARAM_MIN,
     .help = "integer shrink factor of each pyramid level, coarse first (a level voxel is "
             "the mean of n voxels per axis)"},
    {.name = "smoothing_sigmas", .type = QIB_PARAM_DLIST,
     .offset = offsetof(struct qib__reg_opts, sigma), .def = "[2, 1, 0]", .min = 0,
     .flags = QIB_PARAM_MIN, .unit = "mm",
     .help = "Gaussian sigma in mm applied to both images on each level's grid (0: none)"},
    {.name = "iterations", .type = QIB_PARAM_INT,
     .offset = offsetof(struct qib__reg_opts, iterations), .def = "200", .min = 0,
     .flags = QIB_PARAM_MIN, .help = "most gradient steps per level"},
    {.name = "max_step", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct qib__reg_opts, max_step), .def = "0", .min = 0,
     .flags = QIB_PARAM_MIN, .unit = "mm",
     .help = "first step length of each level, in mm of root-mean-square displacement of "
             "the samples (0: the level's largest moving voxel spacing)"},
    {.name = "min_step", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct qib__reg_opts, min_step), .def = "0.005", .min = 0,
     .flags = QIB_PARAM_MIN, .unit = "mm",
     .help = "convergence: a level ends when the step length falls below this (mm)"},
    {.name = "relaxation", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct qib__reg_opts, relaxation), .def = "0.5", .min = 0.01,
     .max = 0.99, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "factor applied to the step length when the gradient changes direction"},
    {.name = "gradient_tolerance", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct qib__reg_opts, grad_tol), .def = "1e-8", .min = 0,
     .flags = QIB_PARAM_MIN,
     .help = "convergence: a level ends when the norm of the scaled gradient (metric per "
             "mm) falls below this"},
    {.name = "sampling", .type = QIB_PARAM_ENUM,
     .offset = offsetof(struct qib__reg_opts, sampling), .def = "stratified",
     .choices = sampling_choices,
     .help = "all: every fixed voxel of the level; stratified: one voxel drawn from each run "
             "of 1/fraction voxels by a generator with a fixed seed"},
    {.name = "fraction", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct qib__reg_opts, fraction), .def = "0.25", .min = 1e-6, .max = 1,
     .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "fraction of the fixed voxels sampled with stratified sampling"},
    {.name = "max_samples", .type = QIB_PARAM_INT,
     .offset = offsetof(struct qib__reg_opts, max_samples), .def = "200000", .min = 0,
     .flags = QIB_PARAM_MIN,
     .help = "most samples per level, whatever the sampling (0: no limit)"},
    {.name = "seed", .type = QIB_PARAM_INT, .offset = offsetof(struct qib__reg_opts, seed),
     .def = "1", .min = 0, .flags = QIB_PARAM_MIN,
     .help = "seed of the stratified sampler (the same seed gives the same samples)"},
    {.name = "init", .type = QIB_PARAM_ENUM, .offset = offsetof(struct qib__reg_opts, init),
     .def = "geometry", .choices = init_choices,
     .help = "starting translation: geometry (align the images' centres), moments (align "
             "centres of mass) or none; ignored when initial is wired"},
    {.name = "resample", .type = QIB_PARAM_BOOL,
     .offset = offsetof(struct qib__reg_opts, resample), .def = "true",
     .help = "resample the moving image onto the fixed grid for the image output (false "
             "leaves it unset and saves the time)"},
    {.name = NULL},
};
