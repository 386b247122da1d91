/* Resampling onto another voxel grid: nearest, (tri/bi)linear and cubic
 * B-spline interpolation with edge padding, the IBSI interpolation grid,
 * and masks through a partial-volume threshold.  Output slices are
 * independent, so any thread count gives the same voxels. */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qib/resample.h"
#include "qib/status.h"

int qib_resample_grid(const struct qib_geom *in, const double spacing[3], struct qib_geom *out)
{
    struct qib_geom g = *in;
    if (qib_geom_check(in, NULL, 0) != QIB_OK)
        return QIB_EGEOMETRY;
    for (int a = 0; a < 3; a++)
        if (!(spacing[a] > 0) || !isfinite(spacing[a]))
            return QIB_EINVAL;
    double shift[3];
    for (int a = 0; a < 3; a++) {
        double n = (double)in->dims[a] * in->spacing[a] / spacing[a];
        /* ceil, forgiving the rounding error of a product that is meant to be
         * an integer (60 x 3 / 2) */
        double m = ceil(n - 1e-6 * n);
        if (m < 1)
            m = 1;
        if (m > 1e9)
            return QIB_EOVERFLOW;
        g.dims[a] = (size_t)m;
        g.spacing[a] = spacing[a];
        /* Centres aligned: new voxel i sits at old continuous index
         * (n-1)/2 + (i - (m-1)/2) * s'/s. */
        shift[a] = ((double)in->dims[a] - 1) / 2 * in->spacing[a] - (m - 1) / 2 * spacing[a];
    }
    g.ndim = 3;
    g.dims[3] = 1;
    for (int r = 0; r < 3; r++) {
        g.origin[r] = in->origin[r];
        for (int a = 0; a < 3; a++)
            g.origin[r] += in->dir[3 * r + a] * shift[a];
    }
    size_t nv;
    if (qib_geom_nvox(&g, &nv) != QIB_OK)
        return QIB_EOVERFLOW;
    *out = g;
    return QIB_OK;
}

/* ---- cubic B-spline coefficients (Unser's recursive prefilter with
 * mirror-symmetric boundaries) ---- */

static void prefilter_line(double *c, size_t n, size_t stride)
{
    if (n < 2)
        return;
    const double z = sqrt(3.0) - 2.0, lambda = (1 - z) * (1 - 1 / z);
    for (size_t k = 0; k < n; k++)
        c[k * stride] *= lambda;
    /* causal initialisation: the mirror-extended sum, truncated where z^k
     * is negligible */
    size_t horizon = (size_t)ceil(log(1e-15) / log(fabs(z)));
    double sum = c[0], zk = z;
    if (horizon < n) {
        for (size_t k = 1; k < horizon; k++) {
            sum += zk * c[k * stride];
            zk *= z;
        }
    } else {
        double zn = pow(z, (double)(n - 1)), iz = 1 / z, z2n = zn * zn * iz;
        sum = c[0] + zn * c[(n - 1) * stride];
        for (size_t k = 1; k + 1 < n; k++) {
            sum += (zk + z2n) * c[k * stride];
            zk *= z;
            z2n *= iz;
        }
        sum /= 1 - zn * zn;
    }
    c[0] = sum;
    for (size_t k = 1; k < n; k++)
        c[k * stride] += z * c[(k - 1) * stride];
    c[(n - 1) * stride] = z / (z * z - 1) * (c[(n - 1) * stride] + z * c[(n - 2) * stride]);
    for (size_t k = n - 1; k-- > 0;)
        c[k * stride] = z * (c[(k + 1) * stride] - c[k * stride]);
}

static void prefilter(double *c, const size_t d[3], int axes)
{
    for (int a = 0; a < axes; a++) {
        size_t stride = a == 0 ? 1 : a == 1 ? d[0] : d[0] * d[1];
        for (size_t z = 0; z < (a == 2 ? 1 : d[2]); z++)
            for (size_t y = 0; y < (a == 1 ? 1 : d[1]); y++)
                for (size_t x = 0; x < (a == 0 ? 1 : d[0]); x++)
                    prefilter_line(c + x + d[0] * (y + d[1] * z), d[a], stride);
    }
}

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

/* ---- sampling ---- */

struct job {
    /* image values or spline coefficients: doubles, or floats when every
     * source value is exact in single precision (then half the memory and
     * the same results, as each value is widened before use) */
    const double *sd;
    const float *sf;
    size_t d[3];
    double m[12];      /* output index -> source continuous index (3x4) */
    size_t od[3];
    enum qib_interp method;
    unsigned flags;
    /* output, od[0]*od[1]*od[2]: doubles, or floats (rounded first with
     * QIB_RESAMPLE_ROUND) */
    double *dst;
    float *dstf;
};

/* Source value @p i. */
static inline double at(const struct job *j, size_t i)
{
    return j->sf ? (double)j->sf[i] : j->sd[i];
}

static double clampd(double x, double hi)
{
    return x < 0 ? 0 : x > hi ? hi : x;
}

static double sample(const struct job *j, const double p[3])
{
    double q[3];
    long n[3] = {(long)j->d[0], (long)j->d[1], (long)j->d[2]};
    for (int a = 0; a < 3; a++)
        q[a] = clampd(p[a], (double)(n[a] - 1));
    if (j->flags & QIB_RESAMPLE_INPLANE)
        q[2] = floor(q[2] + 0.5);
    if (j->method == QIB_INTERP_NEAREST) {
        size_t i[3];
        for (int a = 0; a < 3; a++)
            i[a] = (size_t)floor(q[a] + 0.5);
        return at(j, i[0] + j->d[0] * (i[1] + j->d[1] * i[2]));
    }
    int axes = (j->flags & QIB_RESAMPLE_INPLANE) ? 2 : 3;
    if (j->method == QIB_INTERP_LINEAR) {
        long i0[3];
        double t[3];
        for (int a = 0; a < 3; a++) {
            i0[a] = (long)floor(q[a]);
            if (i0[a] >= n[a] - 1)
                i0[a] = n[a] > 1 ? n[a] - 2 : 0;
            t[a] = n[a] > 1 ? q[a] - (double)i0[a] : 0;
        }
        if (axes == 2)
            t[2] = 0;
        double v = 0;
        for (int k = 0; k < 8; k++) {
            double w = 1;
            long ii[3];
            for (int a = 0; a < 3; a++) {
                int b = (k >> a) & 1;
                w *= b ? t[a] : 1 - t[a];
                ii[a] = i0[a] + b;
                if (ii[a] >= n[a])
                    ii[a] = n[a] - 1;
            }
            if (w != 0)
                v += w * at(j, (size_t)ii[0] + j->d[0] * ((size_t)ii[1] + j->d[1] * (size_t)ii[2]));
        }
        return v;
    }
    /* cubic B-spline on the coefficients */
    long b[3];
    double w[3][4];
    for (int a = 0; a < 3; a++) {
        double f = floor(q[a]), t = q[a] - f;
        b[a] = (long)f - 1;
        w[a][0] = (1 - t) * (1 - t) * (1 - t) / 6;
        w[a][1] = (4 - 6 * t * t + 3 * t * t * t) / 6;
        w[a][2] = (1 + 3 * t + 3 * t * t - 3 * t * t * t) / 6;
        w[a][3] = t * t * t / 6;
    }
    double v = 0;
    int kz = axes == 3 ? 4 : 1;
    for (int z = 0; z < kz; z++) {
        long iz = axes == 3 ? mirror(b[2] + z, n[2]) : (long)q[2];
        double wz = axes == 3 ? w[2][z] : 1;
        for (int y = 0; y < 4; y++) {
            long iy = mirror(b[1] + y, n[1]);
            for (int x = 0; x < 4; x++) {
                long ix = mirror(b[0] + x, n[0]);
                v += wz * w[1][y] * w[0][x] *
                     j->sd[(size_t)ix + j->d[0] * ((size_t)iy + j->d[1] * (size_t)iz)];
            }
        }
    }
    return v;
}

static void run_slices(void *arg, size_t block, size_t begin, size_t end)
{
    const struct job *j = arg;
    (void)block;
    for (size_t z = begin; z < end; z++)
        for (size_t y = 0; y < j->od[1]; y++)
            for (size_t x = 0; x < j->od[0]; x++) {
                double p[3];
                for (int r = 0; r < 3; r++)
                    p[r] = j->m[4 * r] * (double)x + j->m[4 * r + 1] * (double)y +
                           j->m[4 * r + 2] * (double)z + j->m[4 * r + 3];
                size_t o = x + j->od[0] * (y + j->od[1] * z);
                double v = sample(j, p);
                if (j->dstf)
                    j->dstf[o] = (float)((j->flags & QIB_RESAMPLE_ROUND) ? round(v) : v);
                else
                    j->dst[o] = (j->flags & QIB_RESAMPLE_ROUND) ? round(v) : v;
            }
}

/* out index -> in continuous index, as a 3x4 matrix. */
static int index_map(const struct qib_geom *in, const struct qib_geom *out, double m[12])
{
    double w[3], i0[3], i1[3];
    const double zero[3] = {0, 0, 0};
    qib_geom_index_to_world(out, zero, w);
    if (qib_geom_world_to_index(in, w, i0) != QIB_OK)
        return QIB_EGEOMETRY;
    for (int a = 0; a < 3; a++) {
        double e[3] = {0, 0, 0};
        e[a] = 1;
        qib_geom_index_to_world(out, e, w);
        if (qib_geom_world_to_index(in, w, i1) != QIB_OK)
            return QIB_EGEOMETRY;
        for (int r = 0; r < 3; r++)
            m[4 * r + a] = i1[r] - i0[r];
    }
    for (int r = 0; r < 3; r++)
        m[4 * r + 3] = i0[r];
    return QIB_OK;
}

static int interpolate(struct job *j, qib_pool *pool)
{
    size_t n = j->d[0] * j->d[1] * j->d[2];
    double *coef = NULL;
    const double *sd = j->sd;
    const float *sf = j->sf;
    if (j->method == QIB_INTERP_CUBIC) {
        coef = malloc(n * sizeof *coef);
        if (!coef)
            return QIB_ENOMEM;
        for (size_t i = 0; i < n; i++)
            coef[i] = at(j, i);
        prefilter(coef, j->d, (j->flags & QIB_RESAMPLE_INPLANE) ? 2 : 3);
        j->sd = coef;
        j->sf = NULL;
    }
    int rc = qib_parallel_for(pool, j->od[2], 1, run_slices, j);
    j->sd = sd;
    j->sf = sf;
    free(coef);
    return rc;
}

/* The first @p n voxels of @p v as floats when each is exact in single
 * precision (8- and 16-bit integers, f32); NULL otherwise or on out of
 * memory (*oom set). */
static float *exact_floats(const qib_volume *v, size_t n, int *oom)
{
    const void *d = qib_volume_data(v);
    enum qib_dtype t = qib_volume_dtype(v);
    *oom = 0;
    if (t != QIB_U8 && t != QIB_I8 && t != QIB_U16 && t != QIB_I16 && t != QIB_F32)
        return NULL;
    float *f = malloc((n ? n : 1) * sizeof *f);
    if (!f) {
        *oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        switch (t) {
        case QIB_U8: f[i] = ((const uint8_t *)d)[i]; break;
        case QIB_I8: f[i] = ((const int8_t *)d)[i]; break;
        case QIB_U16: f[i] = ((const uint16_t *)d)[i]; break;
        case QIB_I16: f[i] = ((const int16_t *)d)[i]; break;
        default: f[i] = ((const float *)d)[i]; break;
        }
    return f;
}

int qib_resample(const qib_volume *v, const struct qib_geom *g, enum qib_interp method,
                 unsigned flags, double threshold, qib_pool *pool, qib_volume **out)
{
    if (!v || !g || !out || method < QIB_INTERP_NEAREST || method > QIB_INTERP_CUBIC)
        return QIB_EINVAL;
    *out = NULL;
    const struct qib_geom *gi = qib_volume_geom(v);
    struct qib_geom go = *g;
    go.ndim = 3;
    go.dims[3] = 1;
    size_t nout;
    if (qib_geom_check(&go, NULL, 0) != QIB_OK || qib_geom_nvox(&go, &nout) != QIB_OK)
        return QIB_EGEOMETRY;
    size_t nf = qib_geom_frame_nvox(gi);
    struct job j;
    memset(&j, 0, sizeof j);
    for (int a = 0; a < 3; a++)
        j.d[a] = gi->dims[a], j.od[a] = go.dims[a];
    j.method = method;
    j.flags = flags;
    int rc = index_map(gi, &go, j.m);
    if (rc != QIB_OK)
        return rc;
    qib_volume *o = NULL;
    float *srcf = NULL;
    double *src = NULL, *dst = NULL;
    int oom = 0;
    if (!qib_volume_is_mask(v)) {
        /* Read the first frame once, as floats when that is exact. */
        srcf = exact_floats(v, nf, &oom);
        if (!srcf && !oom) {
            double *all = malloc(qib_volume_nvox(v) * sizeof *all);
            if (all) {
                qib_volume_to_f64(v, all);
                src = all;
            }
        }
        if (!srcf && !src) {
            rc = QIB_ENOMEM;
            goto done;
        }
        j.sf = srcf;
        j.sd = src;
        enum qib_dtype t = qib_volume_dtype(v) == QIB_F64 ? QIB_F64 : QIB_F32;
        rc = qib_volume_new_uninit(t, &go, &o);
        if (rc != QIB_OK)
            goto done;
        /* straight into the new volume */
        if (t == QIB_F64)
            j.dst = qib_volume_data_mut(o);
        else
            j.dstf = qib_volume_data_mut(o);
        rc = interpolate(&j, pool);
    } else {
        const uint8_t *labels = qib_volume_data(v);
        rc = qib_mask_new(&go, &o);
        uint8_t *lab = rc == QIB_OK ? qib_volume_data_mut(o) : NULL;
        if (rc == QIB_OK && method == QIB_INTERP_NEAREST) {
            /* labels as floats in, as floats out: exact */
            srcf = exact_floats(v, nf, &oom);
            float *lf = malloc((nout ? nout : 1) * sizeof *lf);
            if (!srcf || !lf) {
                free(lf);
                rc = QIB_ENOMEM;
                goto done;
            }
            j.sf = srcf;
            j.dstf = lf;
            j.flags &= ~QIB_RESAMPLE_ROUND;
            rc = interpolate(&j, pool);
            for (size_t i = 0; rc == QIB_OK && i < nout; i++)
                lab[i] = (uint8_t)lf[i];
            free(lf);
        } else if (rc == QIB_OK) {
            int present[256] = {0};
            for (size_t i = 0; i < nf; i++)
                present[labels[i]] = 1;
            /* each label's indicator (0 or 1: exact as a float) */
            srcf = malloc((nf ? nf : 1) * sizeof *srcf);
            dst = malloc((nout ? nout : 1) * sizeof *dst);
            double *best = calloc(nout ? nout : 1, sizeof *best);
            if (!srcf || !dst || !best)
                rc = QIB_ENOMEM;
            j.sf = srcf;
            j.dst = dst;
            j.flags &= ~QIB_RESAMPLE_ROUND;
            for (int l = 1; l < 256 && rc == QIB_OK; l++) {
                if (!present[l])
                    continue;
                for (size_t i = 0; i < nf; i++)
                    srcf[i] = labels[i] == l;
                rc = interpolate(&j, pool);
                /* The threshold is compared after rounding to single
                 * precision's neighbourhood: 0.4999999 from a sum of weights
                 * means 0.5. */
                for (size_t i = 0; rc == QIB_OK && i < nout; i++)
                    if (dst[i] >= threshold - 1e-9 && dst[i] > best[i]) {
                        best[i] = dst[i];
                        lab[i] = (uint8_t)l;
                    }
            }
            free(best);
        }
    }
    if (rc == QIB_OK) {
        qib_meta *m = qib_volume_meta_mut(o);
        const qib_meta *src_meta = qib_volume_meta(v);
        for (size_t k = 0; m && k < qib_meta_count(src_meta); k++) {
            const char *key, *val, *from;
            if (qib_meta_at(src_meta, k, &key, &val, &from) == QIB_OK)
                qib_meta_set(m, key, val, from);
        }
    }
done:
    free(srcf), free(src), free(dst);
    if (rc != QIB_OK) {
        qib_volume_unref(&o);
        return rc;
    }
    *out = o;
    return QIB_OK;
}
