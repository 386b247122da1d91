/* reg.affine: affine (twelve parameters: a 3x3 matrix about the fixed image's
 * centre and a translation) intensity registration of a moving image to a fixed
 * image; the work is done by libqib's registration code. */
#include <config.h>

#include <stddef.h>

#include "qib/qib.h"
#include "registration.h"

static int check(qib_step *step, const void *priv)
{
    return qib__reg_check(step, priv);
}

static int run(qib_step *step, void *priv)
{
    return qib__reg_step(step, priv, QIB__REG_AFFINE);
}

static const struct qib_port inputs[] = {
    {.name = "fixed", .kind = QIB_OBJ_VOLUME, .help = "the fixed (reference) image"},
    {.name = "moving", .kind = QIB_OBJ_VOLUME, .help = "the image to align to fixed"},
    {.name = "fixed_mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "samples are taken only inside this mask (on the fixed grid)"},
    {.name = "moving_mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "samples whose moving point falls outside this mask are left out"},
    {.name = "initial", .kind = QIB_OBJ_TRANSFORM, .flags = QIB_PORT_OPTIONAL,
     .help = "starting transform (fixed to moving)"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "transform", .kind = QIB_OBJ_TRANSFORM,
     .help = "the affine transform mapping fixed points to moving points (LPS, ITK "
             "convention)"},
    {.name = "image", .kind = QIB_OBJ_VOLUME, .flags = QIB_PORT_OPTIONAL,
     .help = "the moving image resampled onto the fixed grid (trilinear, 0 outside); unset "
             "when resample is false"},
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "one row per level: samples, iterations, final metric, stop reason, time"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_REG,
    .name = "affine",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "affine registration (12 parameters) by mutual information, correlation or mean "
               "squares",
    .citation = "Mattes D et al. PET-CT image registration in the chest using free-form "
                "deformations. IEEE Trans Med Imaging 2003;22(1):120-128",
    .params = qib__reg_param_table, /* shared with the other reg.* registration */
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct qib__reg_opts),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
