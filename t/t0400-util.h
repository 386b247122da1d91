/* Helpers shared by the bio.intensity and export tests (t04xx): small
 * volumes and masks from literal values, running a plugin through the
 * harness, reading a table cell by column name. */
#ifndef QIB_T0400_UTIL_H
#define QIB_T0400_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

/* A volume of type @p t on an nx x ny x nz (x nt when nt > 1) grid with
 * spacing sp (NULL: 1 mm) whose voxels are vals (x fastest, cast to t). */
static inline qib_volume *t04_volume(enum qib_dtype t, size_t nx, size_t ny, size_t nz,
                                     size_t nt, const double *sp, const double *vals)
{
    struct qib_geom g;
    size_t dims[4] = {nx, ny, nz, nt};
    qib_volume *v = NULL;
    if (qib_geom_init(&g, nt > 1 ? 4 : 3, dims) != QIB_OK)
        bail("geometry %zux%zux%zux%zu refused", nx, ny, nz, nt);
    for (int a = 0; sp && a < 3; a++)
        g.spacing[a] = sp[a];
    if (qib_volume_new(t, &g, &v) != QIB_OK)
        bail("qib_volume_new failed");
    void *d = qib_volume_data_mut(v);
    size_t n = qib_volume_nvox(v);
    for (size_t i = 0; vals && i < n; i++) {
        double x = vals[i];
        switch (t) {
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
    return v;
}

/* A mask on the grid of @p g (first three dimensions) with labels lab. */
static inline qib_volume *t04_mask(const struct qib_geom *g, const uint8_t *lab)
{
    qib_volume *m = NULL;
    if (qib_mask_new(g, &m) != QIB_OK)
        bail("qib_mask_new failed");
    if (lab)
        memcpy(qib_volume_data_mut(m), lab, qib_volume_nvox(m));
    return m;
}

/* Run @p plugin on image (and mask, may be NULL) with parameters given as
 * NULL-terminated name/value pairs and @p threads threads.  Returns the
 * harness (caller frees) and the status in *rc; the error text is in
 * qib_harness_error.  A parameter that set_param refuses ends the run with
 * that status. */
static inline qib_harness *t04_run(const char *plugin, const char *port1, qib_volume *v1,
                                   const char *port2, qib_volume *v2,
                                   const char *const *params, int threads, int *rc)
{
    qib_harness *h = NULL;
    char err[512];
    *rc = qib_harness_new(plugin, &h, err, sizeof err);
    if (*rc != QIB_OK)
        bail("cannot load %s: %s", plugin, err);
    if (v1 && (*rc = qib_harness_set_volume(h, port1, v1)) != QIB_OK)
        return h;
    if (v2 && (*rc = qib_harness_set_volume(h, port2, v2)) != QIB_OK)
        return h;
    for (size_t i = 0; params && params[i]; i += 2)
        if ((*rc = qib_harness_set_param(h, params[i], params[i + 1])) != QIB_OK)
            return h;
    if ((*rc = qib_harness_set_threads(h, threads)) != QIB_OK)
        return h;
    *rc = qib_harness_run(h);
    return h;
}

/* The column named @p name; bails when absent (a missing column is a bug
 * every later test would trip over). */
static inline size_t t04_col(const qib_table *t, const char *name)
{
    size_t c = 0;
    if (!t || qib_table_find(t, name, &c) != QIB_OK)
        bail("table has no column \"%s\"", name);
    return c;
}

static inline double t04_d(const qib_table *t, size_t row, const char *name)
{
    return qib_table_get_double(t, row, t04_col(t, name));
}

static inline long long t04_i(const qib_table *t, size_t row, const char *name)
{
    return (long long)qib_table_get_int(t, row, t04_col(t, name));
}

/* Remove a directory made by tap_tmpdir, with what the test wrote in it,
 * and free its name. */
static inline void t04_rmdir(char *dir)
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
