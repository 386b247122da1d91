/* bio.centroid: the number of voxels, the volume and the centroid (LPS, mm)
 * of one label of a mask.  The example plugin of doc/writing-plugins.md:
 * one file, one exported symbol, everything else static. */
#include <stdint.h>

#include <qib/qib.h>

/* The private struct: the runner fills the parameters at their offsets;
 * a plugin that keeps state between init and fini adds fields here. */
struct centroid {
    int64_t label;
};

static const struct qib_param params[] = {
    {.name = "label", .type = QIB_PARAM_INT, .offset = offsetof(struct centroid, label),
     .def = "1", .min = 1, .max = 255, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "label value to measure (1..255; a binary mask has label 1)"},
    {.name = NULL}};

static const struct qib_port inputs[] = {
    {.name = "mask", .kind = QIB_OBJ_MASK, .help = "label image"},
    {.name = NULL}};

static const struct qib_port outputs[] = {
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "one row: label, voxels, volume_ml, centroid_x, centroid_y, centroid_z (LPS mm)"},
    {.name = NULL}};

static int run(qib_step *step, void *priv)
{
    const struct centroid *p = priv;
    const qib_volume *mask = qib_step_in_volume(step, "mask");
    const struct qib_geom *g = qib_volume_geom(mask);
    const uint8_t *m = qib_volume_data(mask);

    /* Sum the voxel indices of the label, then map their mean to the world:
     * the map is affine, so the centroid of the points is the point of the
     * mean index. */
    double sum[3] = {0, 0, 0};
    size_t n = 0, i = 0;
    for (size_t z = 0; z < g->dims[2]; z++)
        for (size_t y = 0; y < g->dims[1]; y++)
            for (size_t x = 0; x < g->dims[0]; x++, i++)
                if (m[i] == p->label) {
                    sum[0] += (double)x;
                    sum[1] += (double)y;
                    sum[2] += (double)z;
                    n++;
                }
    if (n == 0)
        return qib_fail(step, QIB_EINVAL, "mask has no voxel of label %d",
                        (int)p->label);

    double idx[3] = {sum[0] / (double)n, sum[1] / (double)n, sum[2] / (double)n};
    double world[3];
    qib_geom_index_to_world(g, idx, world);

    qib_table *t;
    int rc = qib_table_new(&t);
    if (rc != QIB_OK)
        return qib_fail(step, rc, "out of memory");
    size_t row, c[6];
    if ((rc = qib_table_add_column(t, "label", QIB_COL_INT, NULL, NULL, &c[0])) ||
        (rc = qib_table_add_column(t, "voxels", QIB_COL_INT, NULL, NULL, &c[1])) ||
        (rc = qib_table_add_column(t, "volume_ml", QIB_COL_DOUBLE, "mL", NULL, &c[2])) ||
        (rc = qib_table_add_column(t, "centroid_x", QIB_COL_DOUBLE, "mm", NULL, &c[3])) ||
        (rc = qib_table_add_column(t, "centroid_y", QIB_COL_DOUBLE, "mm", NULL, &c[4])) ||
        (rc = qib_table_add_column(t, "centroid_z", QIB_COL_DOUBLE, "mm", NULL, &c[5])) ||
        (rc = qib_table_add_row(t, &row))) {
        qib_table_unref(&t);
        return qib_fail(step, rc, "out of memory");
    }
    qib_table_set_int(t, row, c[0], p->label);
    qib_table_set_int(t, row, c[1], (int64_t)n);
    qib_table_set_double(t, row, c[2], (double)n * qib_geom_voxel_mm3(g) / 1000.0);
    for (int a = 0; a < 3; a++)
        qib_table_set_double(t, row, c[3 + a], world[a]);

    /* The table now belongs to the runner, also if this fails. */
    return qib_step_set_table(step, "table", t);
}

static const struct qib_plugin centroid = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_BIO,
    .name = "centroid",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "voxels, volume and centroid (LPS mm) of one label of a mask",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct centroid),
    .run = run,
};

QIB_PLUGIN_DEFINE(centroid)
