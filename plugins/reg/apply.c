/* reg.apply: resample an image or a mask through a transform (fixed-to-moving,
 * as registration gives it) onto a reference grid: nearest, trilinear or cubic
 * B-spline for images, nearest or linear with a threshold for masks. */
#include <config.h>

#include <stddef.h>

#include "qib/qib.h"
#include "registration.h"

enum as { AS_IMAGE, AS_MASK };

struct apply {
    int interp;
    int as;
    double threshold;
    double outside;
    int invert;
};

static int check(qib_step *step, const void *priv)
{
    const struct apply *p = priv;
    if (p->as == AS_MASK && p->interp == QIB_INTERP_CUBIC)
        return qib_fail(step, QIB_EINVAL,
                        "interpolation: a mask takes nearest or linear, found cubic");
    return QIB_OK;
}

static int run(qib_step *step, void *priv)
{
    const struct apply *p = priv;
    const qib_volume *in = qib_step_in_volume(step, "image");
    const qib_volume *ref = qib_step_in_volume(step, "reference");
    const qib_transform *t = qib_step_in_transform(step, "transform");
    if (!in || !t)
        return qib_fail(step, QIB_EINVAL, "inputs image and transform are required");
    if (p->as == AS_MASK && !qib_volume_is_mask(in))
        return qib_fail(step, QIB_EINVAL,
                        "as: mask needs a mask on input image (read it with as: mask)");
    if (p->as == AS_IMAGE && qib_volume_is_mask(in))
        return qib_fail(step, QIB_EINVAL,
                        "as: the input is a mask; set as: mask so the output is one too");
    qib_transform *inv = NULL;
    const qib_transform *use = t;
    int rc;
    if (p->invert) {
        if ((rc = qib_transform_invert(t, &inv)) != QIB_OK)
            return qib_fail(step, rc, "invert: the transform is singular");
        use = inv;
    }
    const struct qib_geom *g = qib_volume_geom(ref ? ref : in);
    qib_volume *out = NULL;
    rc = qib__reg_apply(in, use, g, (enum qib_interp)p->interp, p->as == AS_MASK, p->threshold,
                        p->outside, qib_step_pool(step), &out);
    qib_transform_unref(&inv);
    if (rc != QIB_OK)
        return qib_fail(step, rc, "resampling failed: %s", qib_strerror(rc));
    char buf[256];
    qib_geom_format(qib_volume_geom(out), buf, sizeof buf);
    qib_step_record(step, "grid", buf);
    return qib_step_set_volume(step, "image", out);
}

static const char *const interp_choices[] = {"nearest", "linear", "cubic", NULL};
static const char *const as_choices[] = {"image", "mask", NULL};

static const struct qib_param params[] = {
    {.name = "interpolation", .type = QIB_PARAM_ENUM, .offset = offsetof(struct apply, interp),
     .def = "linear", .choices = interp_choices,
     .help = "nearest, linear (trilinear) or cubic (B-spline, images only)"},
    {.name = "as", .type = QIB_PARAM_ENUM, .offset = offsetof(struct apply, as),
     .def = "image", .choices = as_choices,
     .help = "image, or mask: labels by nearest neighbour, or with linear each label's "
             "indicator interpolated and kept where it reaches threshold"},
    {.name = "threshold", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct apply, threshold),
     .def = "0.5", .min = 0, .max = 1, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "partial-volume threshold of a linearly interpolated mask (fraction, 0 to 1)"},
    {.name = "outside", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct apply, outside),
     .def = "0", .help = "value of image voxels that map outside the input (in the image's "
                         "unit, e.g. -1024 HU for CT); masks take 0"},
    {.name = "invert", .type = QIB_PARAM_BOOL, .offset = offsetof(struct apply, invert),
     .def = "false",
     .help = "apply the inverse transform (to bring a fixed-space image into moving space)"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .help = "image or mask to resample"},
    {.name = "transform", .kind = QIB_OBJ_TRANSFORM,
     .help = "maps reference-grid points to input points (a registration's result)"},
    {.name = "reference", .kind = QIB_OBJ_VOLUME, .flags = QIB_PORT_OPTIONAL,
     .help = "the output grid (default: the input's own grid)"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .mask_when = "as=mask",
     .help = "the resampled image (f32, f64 for f64 input) or mask"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_REG,
    .name = "apply",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "resample an image or mask through a transform onto a reference grid",
    .citation = "Unser M. Splines: a perfect fit for signal and image processing. IEEE Signal "
                "Process Mag 1999;16(6):22-38 (cubic B-spline interpolation)",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct apply),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
