/* Helpers of the bio.dsc tests (t13xx): a 4-D series built from dR2*
 * curves, masks from label arrays, a bio.dsc run through the harness with
 * masks and parameters, and table cells by region and column. */
#ifndef QIB_T1300_DSC_UTIL_H
#define QIB_T1300_DSC_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

/* An nx x ny x nz x nt f64 series whose voxel i at frame f holds
 * s0 exp(-te_s dr2[f * nvox3 + i]) (dr2 frame-major, like the volume). */
static inline qib_volume *t13_series(size_t nx, size_t ny, size_t nz, size_t nt, double s0,
                                     double te_s, const double *dr2)
{
    struct qib_geom g;
    size_t dims[4] = {nx, ny, nz, nt};
    qib_volume *v = NULL;
    if (qib_geom_init(&g, 4, dims) != QIB_OK || qib_volume_new(QIB_F64, &g, &v) != QIB_OK)
        bail("cannot make a %zux%zux%zux%zu series", nx, ny, nz, nt);
    double *d = qib_volume_data_mut(v);
    for (size_t i = 0; i < nx * ny * nz * nt; i++)
        d[i] = s0 * exp(-te_s * dr2[i]);
    return v;
}

/* A mask on the spatial grid of @p v with labels lab (NULL: all 1). */
static inline qib_volume *t13_mask(const qib_volume *v, const uint8_t *lab)
{
    qib_volume *m = NULL;
    if (qib_mask_new(qib_volume_geom(v), &m) != QIB_OK)
        bail("qib_mask_new failed");
    uint8_t *d = qib_volume_data_mut(m);
    for (size_t i = 0; i < qib_volume_nvox(m); i++)
        d[i] = lab ? lab[i] : 1;
    return m;
}

/* Run bio.dsc on image with the masks given as NULL-terminated port/volume
 * pairs in ports[] (volumes cast from const) and parameters as
 * NULL-terminated name/value pairs.  Returns the harness (caller frees);
 * *rc the status. */
static inline qib_harness *t13_run(qib_volume *img, void *const *ports,
                                   const char *const *params, int threads, int *rc)
{
    qib_harness *h = NULL;
    char err[512];
    if ((*rc = qib_harness_new("bio.dsc", &h, err, sizeof err)) != QIB_OK)
        bail("cannot load bio.dsc: %s", err);
    if (img && (*rc = qib_harness_set_volume(h, "image", img)) != QIB_OK)
        return h;
    for (size_t i = 0; ports && ports[i]; i += 2)
        if ((*rc = qib_harness_set_volume(h, (const char *)ports[i], (qib_volume *)ports[i + 1])))
            return h;
    for (size_t i = 0; params && params[i]; i += 2)
        if ((*rc = qib_harness_set_param(h, params[i], params[i + 1])) != QIB_OK)
            return h;
    if ((*rc = qib_harness_set_threads(h, threads)) != QIB_OK)
        return h;
    *rc = qib_harness_run(h);
    return h;
}

/* The cell of column @p col in the row of @p region (and label, or -1). */
static inline double t13_cell(const qib_table *t, const char *region, int label,
                              const char *col)
{
    size_t c, rc_col, lc;
    if (!t || qib_table_find(t, col, &c) || qib_table_find(t, "region", &rc_col) ||
        qib_table_find(t, "label", &lc))
        return NAN;
    for (size_t r = 0; r < qib_table_nrows(t); r++) {
        const char *reg = qib_table_get_string(t, r, rc_col);
        if (reg && !strcmp(reg, region) &&
            (label < 0 || qib_table_get_int(t, r, lc) == label))
            return qib_table_get_double(t, r, c);
    }
    return NAN;
}

#endif
