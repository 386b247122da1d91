/* seg.mask_ops: voxel-wise logic on masks (and, or, xor, subtract, not).
 * Two masks must lie on the same grid within a tolerance; masks are never
 * resampled, so a mismatch ends the step with both geometries printed. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

enum op { O_AND, O_OR, O_XOR, O_NOT, O_SUBTRACT };
static const char *const ops[] = {"and", "or", "xor", "not", "subtract", NULL};

struct mask_ops {
    int operation;
    double tolerance;
    int keep_labels;
};

struct job {
    const uint8_t *a, *b;
    uint8_t *out;
    int op, keep;
};

#define BLOCK ((size_t)1 << 16)

static void op_block(void *arg, size_t blk, size_t begin, size_t end)
{
    const struct job *J = arg;
    (void)blk;
    for (size_t i = begin; i < end; i++) {
        uint8_t a = J->a[i], b = J->b ? J->b[i] : 0, r = 0;
        switch (J->op) {
        case O_AND: r = a && b ? a : 0; break;
        case O_OR: r = a ? a : b; break;
        case O_XOR: r = (a != 0) != (b != 0) ? (a ? a : b) : 0; break;
        case O_NOT: r = !a; break;
        case O_SUBTRACT: r = a && !b ? a : 0; break;
        }
        J->out[i] = J->keep ? r : r != 0;
    }
}

static int run(qib_step *step, void *priv)
{
    struct mask_ops *p = priv;
    const qib_volume *a = qib_step_in_volume(step, "a");
    const qib_volume *b = qib_step_in_volume(step, "b");
    if (p->operation == O_NOT && b)
        return qib_fail(step, QIB_EINVAL, "operation not takes one mask (a); b is connected too");
    if (p->operation != O_NOT && !b)
        return qib_fail(step, QIB_EINVAL, "operation %s needs two masks: connect b",
                        ops[p->operation]);
    const struct qib_geom *ga = qib_volume_geom(a);
    char why[256];
    if (b && qib_geom_same_grid(ga, qib_volume_geom(b), p->tolerance, why, sizeof why)) {
        char sa[320], sb[320];
        qib_geom_format(ga, sa, sizeof sa);
        qib_geom_format(qib_volume_geom(b), sb, sizeof sb);
        return qib_fail(step, QIB_EGEOMETRY,
                        "masks a and b are not on the same grid (%s; tolerance %g): a: %s; b: %s",
                        why, p->tolerance, sa, sb);
    }
    qib_volume *out = NULL;
    int rc = qib_mask_new(ga, &out);
    if (rc)
        return qib_fail(step, rc, "out of memory");
    struct job J = {.a = qib_volume_data(a), .b = b ? qib_volume_data(b) : NULL,
                    .out = qib_volume_data_mut(out), .op = p->operation, .keep = p->keep_labels};
    if ((rc = qib_parallel_for(qib_step_pool(step), qib_volume_nvox(out), BLOCK, op_block, &J))) {
        qib_volume_unref(&out);
        return qib_fail(step, rc, "parallel loop failed");
    }
    return qib_step_set_volume(step, "mask", out);
}

static const struct qib_param params[] = {
    {.name = "operation", .type = QIB_PARAM_ENUM, .offset = offsetof(struct mask_ops, operation),
     .flags = QIB_PARAM_REQUIRED, .choices = ops,
     .help = "and, or, xor, subtract (a and not b) of masks a and b; not (the complement of a)"},
    {.name = "tolerance", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct mask_ops, tolerance),
     .def = "1e-4", .min = 0, .max = 0.1, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "grid tolerance: relative for spacing, absolute for direction cosines, times the "
             "smallest spacing for origins (unitless)"},
    {.name = "keep_labels", .type = QIB_PARAM_BOOL,
     .offset = offsetof(struct mask_ops, keep_labels), .def = "false",
     .help = "keep the label values (a's where a is set, else b's) instead of 1"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "a", .kind = QIB_OBJ_MASK, .help = "first mask; non-zero voxels are set"},
    {.name = "b", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "second mask on a's grid (not for operation not)"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "mask", .kind = QIB_OBJ_MASK, .help = "result on a's grid"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_SEG,
    .name = "mask_ops",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "and, or, xor, subtract, not of masks on the same grid",
    .citation = NULL,
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct mask_ops),
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
