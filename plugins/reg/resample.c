/* reg.resample: resample an image or a mask to a new voxel spacing on the
 * IBSI interpolation grid, or onto the grid of a reference image; nearest,
 * linear or cubic B-spline interpolation with edge padding, masks through a
 * partial-volume threshold, integer intensities rounded. */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "qib/qib.h"
#include "qib/resample.h"

enum as { AS_IMAGE, AS_MASK };
enum rnd { R_AUTO, R_YES, R_NO };

struct resample {
    double spacing[3];
    int interp;
    int as;
    double threshold;
    int round;
    int inplane;
};

static int check(qib_step *step, const void *priv)
{
    const struct resample *p = priv;
    if (p->inplane && p->spacing[2] > 0)
        return qib_fail(step, QIB_EINVAL,
                        "spacing: the third value must be 0 with inplane (slices are kept)");
    return QIB_OK;
}

static int run(qib_step *step, void *priv)
{
    const struct resample *p = priv;
    const qib_volume *in = qib_step_in_volume(step, "image");
    const qib_volume *ref = qib_step_in_volume(step, "reference");
    if (!in)
        return qib_fail(step, QIB_EINVAL, "input image is required");
    int given = p->spacing[0] > 0 || p->spacing[1] > 0 || p->spacing[2] > 0;
    if (!ref && !given)
        return qib_fail(step, QIB_EINVAL,
                        "spacing: give a spacing (mm, > 0 on some axis) or wire a reference "
                        "image");
    if (ref && given)
        return qib_fail(step, QIB_EINVAL,
                        "spacing and reference exclude each other: found both");
    if (p->as == AS_MASK && !qib_volume_is_mask(in))
        return qib_fail(step, QIB_EINVAL,
                        "as: mask needs a mask on input image (read it with as: mask)");
    if (p->as == AS_IMAGE && qib_volume_is_mask(in))
        return qib_fail(step, QIB_EINVAL,
                        "as: the input is a mask; set as: mask so the output is one too");
    struct qib_geom g;
    int rc;
    if (ref) {
        g = *qib_volume_geom(ref);
    } else {
        const struct qib_geom *g0 = qib_volume_geom(in);
        double sp[3];
        for (int a = 0; a < 3; a++)
            sp[a] = p->spacing[a] > 0 ? p->spacing[a] : g0->spacing[a];
        if ((rc = qib_resample_grid(g0, sp, &g)) != QIB_OK)
            return qib_fail(step, rc, "spacing: no grid for [%g, %g, %g] mm: %s", sp[0], sp[1],
                            sp[2], qib_strerror(rc));
    }
    unsigned flags = p->inplane ? QIB_RESAMPLE_INPLANE : 0;
    int integer = !qib_dtype_is_float(qib_volume_dtype(in));
    if (p->as == AS_IMAGE && (p->round == R_YES || (p->round == R_AUTO && integer)))
        flags |= QIB_RESAMPLE_ROUND;
    qib_volume *out = NULL;
    rc = qib_resample(in, &g, (enum qib_interp)p->interp, flags, p->threshold,
                      qib_step_pool(step), &out);
    if (rc != QIB_OK)
        return qib_fail(step, rc, "resampling failed: %s", qib_strerror(rc));
    char buf[256];
    qib_geom_format(&g, buf, sizeof buf);
    qib_step_record(step, "grid", buf);
    qib_step_record(step, "rounded", (flags & QIB_RESAMPLE_ROUND) ? "yes" : "no");
    return qib_step_set_volume(step, "image", out);
}

static const char *const interp_choices[] = {"nearest", "linear", "cubic", NULL};
static const char *const as_choices[] = {"image", "mask", NULL};
static const char *const round_choices[] = {"auto", "yes", "no", NULL};

static const struct qib_param params[] = {
    {.name = "spacing", .type = QIB_PARAM_VEC3, .offset = offsetof(struct resample, spacing),
     .def = "[0, 0, 0]", .min = 0, .flags = QIB_PARAM_MIN, .unit = "mm",
     .help = "new voxel spacing in mm (0 keeps an axis); the grid is centred on the input's "
             "and has ceil(n * s / s') voxels (IBSI); not with reference"},
    {.name = "interpolation", .type = QIB_PARAM_ENUM,
     .offset = offsetof(struct resample, interp), .def = "linear", .choices = interp_choices,
     .help = "nearest, linear (trilinear; bilinear with inplane) or cubic (B-spline)"},
    {.name = "as", .type = QIB_PARAM_ENUM, .offset = offsetof(struct resample, as),
     .def = "image", .choices = as_choices,
     .help = "image, or mask: labels interpolated one by one and kept where the value "
             "reaches threshold"},
    {.name = "threshold", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct resample, threshold),
     .def = "0.5", .min = 0, .max = 1, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "partial-volume threshold of an interpolated mask (IBSI: 0.5)"},
    {.name = "round", .type = QIB_PARAM_ENUM, .offset = offsetof(struct resample, round),
     .def = "auto", .choices = round_choices,
     .help = "round interpolated intensities to integers: auto (when the input type is an "
             "integer type), yes or no"},
    {.name = "inplane", .type = QIB_PARAM_BOOL, .offset = offsetof(struct resample, inplane),
     .def = "false", .help = "interpolate within slices only (IBSI 2-D configurations)"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .help = "image or mask to resample"},
    {.name = "reference", .kind = QIB_OBJ_VOLUME, .flags = QIB_PORT_OPTIONAL,
     .help = "resample onto this image's grid instead of to a spacing"},
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
    .name = "resample",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "resample an image or mask to a spacing (IBSI grid) or onto another image's grid",
    .citation = "Zwanenburg A et al. The Image Biomarker Standardisation Initiative, "
                "arXiv:1612.07003, section 2.4 (interpolation)",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct resample),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
