/* seg.sphere: a spherical mask on an image's grid, of a radius in mm or a
 * volume in mL, centred at a point, at the image's maximum inside a mask
 * (the PET SUVpeak sphere), or at a centroid read from a table.  A voxel is
 * in the sphere when its centre is, distances measured in mm. */
#include <config.h>

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

enum centre { C_POINT, C_MASK_MAX, C_TABLE };
static const char *const centres[] = {"point", "mask_max", "table", NULL};

struct sphere {
    double radius_mm;
    double volume_ml;
    int centre;
    double point[3];
    char *table_prefix;
    int64_t table_row;
};

static int check(qib_step *step, const void *priv)
{
    const struct sphere *p = priv;
    if ((p->radius_mm > 0) == (p->volume_ml > 0))
        return qib_fail(step, QIB_EINVAL,
                        "give exactly one of radius_mm (%g) and volume_ml (%g) greater than 0",
                        p->radius_mm, p->volume_ml);
    return QIB_OK;
}

/* The centre of the first voxel (raster order) holding the largest value
 * of the image inside the mask. */
static int mask_max(qib_step *step, const qib_volume *img, const qib_volume *mask,
                    double idx[3])
{
    const struct qib_geom *g = qib_volume_geom(img);
    if (qib_step_check_grid(step, "mask", mask, img) != QIB_OK)
        return QIB_EGEOMETRY;
    const uint8_t *m = qib_volume_data(mask);
    size_t n = qib_geom_frame_nvox(g), best = SIZE_MAX;
    double bv = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!m[i])
            continue;
        double v = qib_volume_get(img, i);
        if (v > bv || (best == SIZE_MAX && !isnan(v))) {
            bv = v;
            best = i;
        }
    }
    if (best == SIZE_MAX)
        return qib_fail(step, QIB_EINVAL,
                        "mask: no voxel with a value (the mask is empty or all NaN): no maximum "
                        "to centre the sphere on");
    idx[0] = (double)(best % g->dims[0]);
    idx[1] = (double)(best / g->dims[0] % g->dims[1]);
    idx[2] = (double)(best / g->dims[0] / g->dims[1]);
    char buf[32];
    qib_step_record(step, "maximum", qib_format_double(bv, buf));
    return QIB_OK;
}

static int table_point(qib_step *step, const struct sphere *p, double w[3])
{
    const qib_table *t = qib_step_in_table(step, "table");
    const char *prefix = p->table_prefix ? p->table_prefix : "centroid_";
    static const char *const ax = "xyz";
    if (!t)
        return qib_fail(step, QIB_EINVAL, "centre table reads input \"table\", which is not "
                                          "connected");
    if ((size_t)p->table_row >= qib_table_nrows(t))
        return qib_fail(step, QIB_ERANGE, "table: table_row %" PRId64 " is past its %zu rows",
                        p->table_row, qib_table_nrows(t));
    for (int a = 0; a < 3; a++) {
        char name[128];
        size_t col;
        snprintf(name, sizeof name, "%s%c", prefix, ax[a]);
        if (qib_table_find(t, name, &col) != QIB_OK)
            return qib_fail(step, QIB_ENOTFOUND, "table: no column \"%s\"", name);
        w[a] = qib_table_get_double(t, (size_t)p->table_row, col);
        if (!isfinite(w[a]))
            return qib_fail(step, QIB_EINVAL, "table: column \"%s\", row %" PRId64
                                              ": no finite value",
                            name, p->table_row);
    }
    return QIB_OK;
}

static int run(qib_step *step, void *priv)
{
    struct sphere *p = priv;
    const qib_volume *img = qib_step_in_volume(step, "image");
    const qib_volume *mask = qib_step_in_volume(step, "mask");
    const struct qib_geom *g = qib_volume_geom(img);
    double w[3], c[3];
    int rc;

    switch (p->centre) {
    case C_POINT:
        memcpy(w, p->point, sizeof w);
        if (qib_geom_world_to_index(g, w, c))
            return qib_fail(step, QIB_EGEOMETRY, "image: singular direction matrix");
        break;
    case C_MASK_MAX:
        if (!mask)
            return qib_fail(step, QIB_EINVAL, "centre mask_max needs input \"mask\"");
        if ((rc = mask_max(step, img, mask, c)))
            return rc;
        qib_geom_index_to_world(g, c, w);
        break;
    default:
        if ((rc = table_point(step, p, w)))
            return rc;
        if (qib_geom_world_to_index(g, w, c))
            return qib_fail(step, QIB_EGEOMETRY, "image: singular direction matrix");
        break;
    }
    double r = p->radius_mm > 0 ? p->radius_mm : cbrt(3.0 * p->volume_ml * 1000.0 / (4.0 * M_PI));
    double r2 = r * r;
    qib_volume *out = NULL;
    if ((rc = qib_mask_new(g, &out)))
        return qib_fail(step, rc, "out of memory");
    uint8_t *o = qib_volume_data_mut(out);
    long lo[3], hi[3];
    for (int a = 0; a < 3; a++) {
        double e = r / g->spacing[a] + 1;
        double l = floor(c[a] - e), h = ceil(c[a] + e);
        lo[a] = l < 0 ? 0 : (long)l;
        hi[a] = h > (double)g->dims[a] - 1 ? (long)g->dims[a] - 1 : (long)h;
    }
    size_t n = 0;
    for (long z = lo[2]; z <= hi[2]; z++)
        for (long y = lo[1]; y <= hi[1]; y++)
            for (long x = lo[0]; x <= hi[0]; x++) {
                /* the direction matrix is orthonormal: distance from the
                 * index offsets scaled by the spacing */
                double dx = ((double)x - c[0]) * g->spacing[0];
                double dy = ((double)y - c[1]) * g->spacing[1];
                double dz = ((double)z - c[2]) * g->spacing[2];
                if (dx * dx + dy * dy + dz * dz <= r2) {
                    o[(size_t)x + g->dims[0] * ((size_t)y + g->dims[1] * (size_t)z)] = 1;
                    n++;
                }
            }
    if (!n) {
        qib_volume_unref(&out);
        return qib_fail(step, QIB_ERANGE,
                        "the sphere of radius %g mm at (%g, %g, %g) mm LPS holds no voxel centre "
                        "of the image",
                        r, w[0], w[1], w[2]);
    }
    qib_table *t = NULL;
    size_t col[8];
    static const char *const names[8] = {"centre_x", "centre_y", "centre_z", "radius_mm",
                                         "voxels", "volume_ml", "nominal_ml", "centre"};
    static const char *const unit[8] = {"mm", "mm", "mm", "mm", NULL, "mL", "mL", NULL};
    size_t row;
    if ((rc = qib_table_new(&t)))
        goto fail;
    for (int k = 0; k < 8; k++)
        if ((rc = qib_table_add_column(t, names[k],
                                       k == 4 ? QIB_COL_INT : k == 7 ? QIB_COL_STRING : QIB_COL_DOUBLE,
                                       unit[k], NULL, &col[k])))
            goto fail;
    if ((rc = qib_table_add_row(t, &row)))
        goto fail;
    for (int a = 0; a < 3; a++)
        if ((rc = qib_table_set_double(t, row, col[a], w[a])))
            goto fail;
    if ((rc = qib_table_set_double(t, row, col[3], r)) ||
        (rc = qib_table_set_int(t, row, col[4], (int64_t)n)) ||
        (rc = qib_table_set_double(t, row, col[5], (double)n * qib_geom_voxel_mm3(g) / 1000.0)) ||
        (rc = qib_table_set_double(t, row, col[6], 4.0 / 3.0 * M_PI * r * r * r / 1000.0)) ||
        (rc = qib_table_set_string(t, row, col[7], centres[p->centre])))
        goto fail;
    rc = qib_step_set_volume(step, "mask", out);
    if (rc) {
        qib_table_unref(&t);
        return rc;
    }
    return qib_step_set_table(step, "table", t);
fail:
    qib_volume_unref(&out);
    qib_table_unref(&t);
    return qib_fail(step, rc, "out of memory");
}

static const struct qib_param params[] = {
    {.name = "radius_mm", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct sphere, radius_mm),
     .def = "0", .min = 0, .max = 1000, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "mm",
     .help = "radius in mm; give this or volume_ml"},
    {.name = "volume_ml", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct sphere, volume_ml),
     .def = "0", .min = 0, .max = 1e6, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "mL",
     .help = "volume of the sphere in mL (1 mL: radius 6.2035 mm, the PERCIST SUVpeak "
             "sphere); give this or radius_mm"},
    {.name = "centre", .type = QIB_PARAM_ENUM, .offset = offsetof(struct sphere, centre),
     .def = "point", .choices = centres,
     .help = "point (the point parameter), mask_max (centre of the voxel holding the image's "
             "maximum inside input mask; ties: first in raster order), table (a centroid "
             "from input table)"},
    {.name = "point", .type = QIB_PARAM_VEC3, .offset = offsetof(struct sphere, point),
     .def = "[0, 0, 0]", .unit = "mm", .help = "centre for centre point, LPS mm"},
    {.name = "table_prefix", .type = QIB_PARAM_STRING,
     .offset = offsetof(struct sphere, table_prefix), .def = "centroid_",
     .help = "centre table: columns <prefix>x, <prefix>y, <prefix>z in LPS mm (seg.components "
             "writes centroid_x, _y, _z)"},
    {.name = "table_row", .type = QIB_PARAM_INT, .offset = offsetof(struct sphere, table_row),
     .def = "0", .min = 0, .flags = QIB_PARAM_MIN,
     .help = "centre table: row (from 0) holding the centroid"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .help = "the grid of the sphere (and values for "
                                                      "mask_max)"},
    {.name = "mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "centre mask_max: where to look for the maximum"},
    {.name = "table", .kind = QIB_OBJ_TABLE, .flags = QIB_PORT_OPTIONAL,
     .help = "centre table: the table holding the centroid"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "mask", .kind = QIB_OBJ_MASK, .help = "1 inside the sphere"},
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "centre (mm LPS), radius, voxels, volume of the voxels and of the ideal sphere"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_SEG,
    .name = "sphere",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "spherical mask of a radius (mm) or volume (mL) at a point, at the maximum in "
               "a mask, or at a table's centroid",
    .citation = "Wahl RL et al. From RECIST to PERCIST. J Nucl Med 2009;50 Suppl 1:122S-150S. "
                "doi:10.2967/jnumed.108.057307",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct sphere),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
