/* Helpers shared by the registration tests (t10xx): volumes from arrays,
 * 8-bit palette/grey PNG decoding (the ITK example images), running a
 * registration plugin through the harness, and corner errors of a transform
 * against a known one. */
#ifndef QIB_T1000_REG_UTIL_H
#define QIB_T1000_REG_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "qib/qib.h"
#include "tap.h"

/* An f32 volume nx x ny x nz, spacing sp (NULL: 1 mm), from vals (or 0). */
static inline qib_volume *t10_volume(size_t nx, size_t ny, size_t nz, const double *sp,
                                     const float *vals)
{
    struct qib_geom g;
    size_t dims[3] = {nx, ny, nz};
    qib_volume *v = NULL;
    if (qib_geom_init(&g, 3, dims) != QIB_OK)
        bail("geometry refused");
    for (int a = 0; sp && a < 3; a++)
        g.spacing[a] = sp[a];
    if (qib_volume_new(QIB_F32, &g, &v) != QIB_OK)
        bail("qib_volume_new failed");
    if (vals)
        memcpy(qib_volume_data_mut(v), vals, qib_volume_nvox(v) * sizeof(float));
    return v;
}

static inline uint32_t t10_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline int t10_paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* A non-interlaced 8-bit grey (type 0) or palette (type 3, grey palette: the
 * red entry is taken) PNG as a one-slice f32 volume, 1 mm spacing, origin
 * 0; NULL when the file cannot be read. */
static inline qib_volume *t10_png(const char *path)
{
    size_t len = 0;
    unsigned char *d = (unsigned char *)slurp(path, &len);
    if (!d || len < 33 || memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0) {
        free(d);
        return NULL;
    }
    uint32_t w = t10_be32(d + 16), h = t10_be32(d + 20);
    int bd = d[24], ct = d[25], il = d[28];
    if (bd != 8 || (ct != 0 && ct != 3) || il != 0 || w == 0 || h == 0 || w > 8192 || h > 8192) {
        free(d);
        return NULL;
    }
    unsigned char pal[256];
    for (int i = 0; i < 256; i++)
        pal[i] = (unsigned char)i;
    unsigned char *z = malloc(len);
    size_t zl = 0;
    for (size_t p = 8; p + 12 <= len;) {
        uint32_t n = t10_be32(d + p);
        if (n > len - p - 12)
            break;
        const unsigned char *ty = d + p + 4, *body = d + p + 8;
        if (!memcmp(ty, "PLTE", 4))
            for (uint32_t i = 0; i < n / 3 && i < 256; i++)
                pal[i] = body[3 * i];
        if (!memcmp(ty, "IDAT", 4)) {
            memcpy(z + zl, body, n);
            zl += n;
        }
        p += 12 + (size_t)n;
    }
    uLongf rawlen = (uLongf)h * (w + 1);
    unsigned char *raw = malloc(rawlen);
    if (uncompress(raw, &rawlen, z, (uLong)zl) != Z_OK || rawlen != (uLongf)h * (w + 1)) {
        free(d);
        free(z);
        free(raw);
        return NULL;
    }
    unsigned char *img = calloc((size_t)w * h, 1);
    for (uint32_t y = 0; y < h; y++) {
        const unsigned char *in = raw + (size_t)y * (w + 1);
        unsigned char *out = img + (size_t)y * w, *up = y ? out - w : NULL;
        for (uint32_t x = 0; x < w; x++) {
            int a = x ? out[x - 1] : 0, b = up ? up[x] : 0, c = (x && up) ? up[x - 1] : 0;
            int v = in[1 + x];
            switch (in[0]) {
            case 1: v += a; break;
            case 2: v += b; break;
            case 3: v += (a + b) / 2; break;
            case 4: v += t10_paeth(a, b, c); break;
            default: break;
            }
            out[x] = (unsigned char)v;
        }
    }
    float *f = malloc((size_t)w * h * sizeof *f);
    for (size_t i = 0; i < (size_t)w * h; i++)
        f[i] = ct == 3 ? pal[img[i]] : img[i];
    qib_volume *v = t10_volume(w, h, 1, NULL, f);
    free(d);
    free(z);
    free(raw);
    free(img);
    free(f);
    return v;
}

/* Run registration plugin @p name (reg.rigid, reg.affine) on fixed/moving
 * with NULL-terminated name/value parameter pairs and @p threads threads;
 * the fixed-to-moving matrix goes to m.  Returns the harness (caller frees)
 * or NULL with a diagnostic. */
static inline qib_harness *t10_register(const char *name, qib_volume *fixed, qib_volume *moving,
                                        int threads, double m[16], const char *const *kv)
{
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new(name, &h, err, sizeof err) != QIB_OK)
        bail("%s: %s", name, err);
    qib_harness_set_volume(h, "fixed", fixed);
    qib_harness_set_volume(h, "moving", moving);
    qib_harness_set_threads(h, threads);
    for (size_t i = 0; kv && kv[i]; i += 2)
        if (qib_harness_set_param(h, kv[i], kv[i + 1]) != QIB_OK)
            bail("%s=%s: %s", kv[i], kv[i + 1], qib_harness_error(h));
    if (qib_harness_run(h) != QIB_OK) {
        diag("%s failed: %s", name, qib_harness_error(h));
        qib_harness_free(&h);
        return NULL;
    }
    const qib_transform *t = qib_harness_out_transform(h, "transform");
    if (!t)
        bail("%s: no transform output", name);
    qib_transform_matrix(t, m);
    const qib_table *tab = qib_harness_out_table(h, "table");
    if (getenv("QIB_TEST_VERBOSE") && tab)
        for (size_t r = 0; r < qib_table_nrows(tab); r++)
            diag("  level %zu: %lld samples, %lld iterations, metric %.6g, stop %s, %.3f s", r + 1,
                 (long long)qib_table_get_int(tab, r, 3), (long long)qib_table_get_int(tab, r, 4),
                 qib_table_get_double(tab, r, 5), qib_table_get_string(tab, r, 6),
                 qib_table_get_double(tab, r, 7));
    return h;
}

/* Largest distance between the images of the 8 corners of @p g's voxel
 * grid (1-voxel axes: the slice) under a and b. */
static inline double t10_corner_error(const struct qib_geom *g, const double a[16],
                                      const double b[16])
{
    double worst = 0;
    for (int k = 0; k < 8; k++) {
        double idx[3] = {(k & 1) ? (double)g->dims[0] - 1 : 0, (k & 2) ? (double)g->dims[1] - 1 : 0,
                         (k & 4) ? (double)g->dims[2] - 1 : 0},
               x[3];
        qib_geom_index_to_world(g, idx, x);
        double e = 0;
        for (int r = 0; r < 3; r++) {
            double pa = a[4 * r] * x[0] + a[4 * r + 1] * x[1] + a[4 * r + 2] * x[2] + a[4 * r + 3];
            double pb = b[4 * r] * x[0] + b[4 * r + 1] * x[1] + b[4 * r + 2] * x[2] + b[4 * r + 3];
            e += (pa - pb) * (pa - pb);
        }
        if (sqrt(e) > worst)
            worst = sqrt(e);
    }
    return worst;
}

#endif
