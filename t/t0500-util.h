/* Helpers shared by the segmentation tests (t05xx): generated volumes with
 * anisotropic spacing, running a plugin through the harness, and exchanging
 * raw voxel files with the Python cross-checks (t/t0500-ref.py, numpy,
 * scipy.ndimage, scikit-image). */
#ifndef QIB_T0500_UTIL_H
#define QIB_T0500_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

/* Deterministic generator (splitmix64) so every run tests the same data. */
static inline uint64_t t05_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline double t05_unif(uint64_t *s)
{
    return (double)(t05_rand(s) >> 11) / 9007199254740992.0;
}

static inline struct qib_geom t05_geom(size_t nx, size_t ny, size_t nz, double sx, double sy,
                                       double sz)
{
    struct qib_geom g;
    size_t dims[3] = {nx, ny, nz};
    if (qib_geom_init(&g, 3, dims) != QIB_OK)
        bail("geometry %zux%zux%zu refused", nx, ny, nz);
    g.spacing[0] = sx;
    g.spacing[1] = sy;
    g.spacing[2] = sz;
    g.origin[0] = -12.5;
    g.origin[1] = 30.25;
    g.origin[2] = 7.0;
    return g;
}

static inline qib_volume *t05_new(enum qib_dtype t, const struct qib_geom *g)
{
    qib_volume *v = NULL;
    if (qib_volume_new(t, g, &v) != QIB_OK)
        bail("qib_volume_new failed");
    return v;
}

static inline qib_volume *t05_mask(const struct qib_geom *g)
{
    qib_volume *v = NULL;
    if (qib_mask_new(g, &v) != QIB_OK)
        bail("qib_mask_new failed");
    return v;
}

static inline void t05_set(qib_volume *v, size_t i, double x)
{
    void *d = qib_volume_data_mut(v);
    switch (qib_volume_dtype(v)) {
    case QIB_U8: ((uint8_t *)d)[i] = (uint8_t)x; break;
    case QIB_I8: ((int8_t *)d)[i] = (int8_t)x; break;
    case QIB_U16: ((uint16_t *)d)[i] = (uint16_t)x; break;
    case QIB_I16: ((int16_t *)d)[i] = (int16_t)x; break;
    case QIB_U32: ((uint32_t *)d)[i] = (uint32_t)x; break;
    case QIB_I32: ((int32_t *)d)[i] = (int32_t)x; break;
    case QIB_F32: ((float *)d)[i] = (float)x; break;
    case QIB_F64: ((double *)d)[i] = x; break;
    }
}

/* A smooth field of @p nblob Gaussian blobs (heights 0.5..1.5 times amp,
 * widths 2..8 mm) plus uniform noise of +-noise, on grid g, cast to t.
 * Thresholding it gives several irregular components and holes. */
static inline qib_volume *t05_blobs(enum qib_dtype t, const struct qib_geom *g, uint64_t seed,
                                    int nblob, double amp, double noise, double offset)
{
    qib_volume *v = t05_new(t, g);
    double c[64][5];
    uint64_t s = seed;
    if (nblob > 64)
        nblob = 64;
    for (int b = 0; b < nblob; b++) {
        for (int a = 0; a < 3; a++)
            c[b][a] = t05_unif(&s) * (double)g->dims[a] * g->spacing[a];
        c[b][3] = (0.5 + t05_unif(&s)) * amp;
        c[b][4] = 2.0 + 6.0 * t05_unif(&s);
    }
    size_t i = 0;
    for (size_t z = 0; z < g->dims[2]; z++)
        for (size_t y = 0; y < g->dims[1]; y++)
            for (size_t x = 0; x < g->dims[0]; x++, i++) {
                double p[3] = {(double)x * g->spacing[0], (double)y * g->spacing[1],
                               (double)z * g->spacing[2]};
                double f = offset;
                for (int b = 0; b < nblob; b++) {
                    double d2 = 0;
                    for (int a = 0; a < 3; a++)
                        d2 += (p[a] - c[b][a]) * (p[a] - c[b][a]);
                    f += c[b][3] * exp(-d2 / (2 * c[b][4] * c[b][4]));
                }
                f += noise * (2 * t05_unif(&s) - 1);
                if (!qib_dtype_is_float(t))
                    f = floor(f + 0.5);
                t05_set(v, i, f);
            }
    return v;
}

/* Run @p plugin with volumes on ports (NULL-terminated port/volume pairs in
 * vols, may be NULL), a table on port "table" (may be NULL), parameters as
 * NULL-terminated name/value pairs, and @p threads threads. */
static inline qib_harness *t05_run(const char *plugin, const char *const *ports,
                                   qib_volume *const *vols, qib_table *table,
                                   const char *const *params, int threads, int *rc)
{
    qib_harness *h = NULL;
    char err[512];
    *rc = qib_harness_new(plugin, &h, err, sizeof err);
    if (*rc != QIB_OK)
        bail("cannot load %s: %s", plugin, err);
    for (size_t i = 0; ports && ports[i]; i++)
        if (vols[i] && (*rc = qib_harness_set_volume(h, ports[i], vols[i])) != QIB_OK)
            return h;
    if (table && (*rc = qib_harness_set_table(h, "table", table)) != QIB_OK)
        return h;
    for (size_t i = 0; params && params[i]; i += 2)
        if ((*rc = qib_harness_set_param(h, params[i], params[i + 1])) != QIB_OK)
            return h;
    if ((*rc = qib_harness_set_threads(h, threads)) != QIB_OK)
        return h;
    *rc = qib_harness_run(h);
    return h;
}

/* One-input shorthand. */
static inline qib_harness *t05_run1(const char *plugin, const char *port, qib_volume *v,
                                    const char *const *params, int threads, int *rc)
{
    const char *ports[] = {port, NULL};
    qib_volume *vols[] = {v};
    return t05_run(plugin, ports, vols, NULL, params, threads, rc);
}

/* Write a volume's voxels to @p path (native byte order, x fastest). */
static inline void t05_write_raw(const qib_volume *v, const char *path)
{
    FILE *f = fopen(path, "wb");
    size_t n = qib_volume_nvox(v) * qib_dtype_size(qib_volume_dtype(v));
    if (!f || fwrite(qib_volume_data(v), 1, n, f) != n || fclose(f) != 0)
        bail("cannot write %s", path);
}

/* Read @p n bytes from @p path into a malloc'd buffer (bails on failure). */
static inline void *t05_read_raw(const char *path, size_t n)
{
    size_t len = 0;
    char *d = slurp(path, &len);
    if (!d || len != n)
        bail("%s: expected %zu bytes, got %zu", path, n, d ? len : 0);
    return d;
}

/* Whether /usr/bin/python3 has numpy, scipy and scikit-image; *why says
 * what is missing. */
static inline int t05_have_python(const char **why)
{
    int st = 0;
    char *o = run_cmd("/usr/bin/python3 -c 'import numpy, scipy.ndimage, skimage.filters' "
                      "2>&1",
                      &st);
    free(o);
    *why = "python3 with numpy, scipy and scikit-image is missing (apt-get install "
           "python3-scipy python3-skimage)";
    return st == 0;
}

/* Run t/t0500-ref.py with @p args; returns its stdout (malloc'd) and bails
 * when it fails. */
static inline char *t05_python(const char *args)
{
    char *script = srcdir_path("t/t0500-ref.py");
    char cmd[4096];
    int st = 0;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s", script, args);
    free(script);
    char *o = run_cmd(cmd, &st);
    if (st != 0)
        bail("python cross-check failed (%s): %s", args, o ? o : "");
    return o;
}

/* Number of positions where two byte buffers differ. */
static inline size_t t05_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
        d += a[i] != b[i];
    return d;
}

static inline size_t t05_count(const uint8_t *a, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += a[i] != 0;
    return c;
}

/* Remove a directory made by tap_tmpdir, with its contents, and free it. */
static inline void t05_rmdir(char *dir)
{
    char cmd[1100];
    int st;
    if (!dir)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    free(run_cmd(cmd, &st));
    free(dir);
}

#endif
