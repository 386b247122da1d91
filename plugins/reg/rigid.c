/* reg.rigid: rigid (Euler 3-D: three rotations, three translations about the
 * fixed image's centre) intensity registration of a moving image to a fixed
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
    return qib__reg_step(step, priv, QIB__REG_RIGID);
}

static const char *const metric_choices[] = {"mattes_mi", "normalized_correlation",
                                             "mean_squares", NULL};
static const char *const sampling_choices[] = {"all", "stratified", NULL};
static const char *const init_choices[] = {"geometry", "moments", "none", NULL};

static const struct qib_param params[] = {
    {.name = "metric", .type = QIB_PARAM_ENUM, .offset = offsetof(struct qib__reg_opts, metric),
     .def = "mattes_mi", .choices = metric_choices,
     .help = "mattes_mi (Mattes mutual information, any contrast), normalized_correlation "
             "(linear intensity relation) or mean_squares (same intensities)"},
    {.name = "bins", .type = QIB_PARAM_INT, .offset = offsetof(struct qib__reg_opts, bins),
     .def = "50", .min = 8, .max = 256, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "histogram bins of Mattes mutual information (cubic B-spline Parzen window on "
             "the moving intensities)"},
    {.name = "shrink_factors", .type = QIB_PARAM_DLIST,
     .offset = offsetof(struct qib__reg_opts, shrink), .def = "[4, 2, 1]", .min = 1,
     .flags = QIB_PARAM_MIN,
     .help = "integer shrink factor of each pyramid level, coarse first (a level voxel is "
             "the mean of n voxels per axis)"},
    {.name = "smoothing_sigmas", .type = QIB_PARAM_DLIST,
     .offset = offsetof(struct qib__reg_opts, sigma), .def = "[2, 1, 0]", .min = 0,
     .flags = QIB_PARAM_MIN, .unit = "mm",
     .help = "Gaussian sigma in mm applied to both images on each level's grid (0: none)"},
    {.name = "iterations", .type = QIB_PARAM_INT,
     .offset = offsetof(struct qib__reg_opts, iterations), .def = "200", .min = 0,
     .flags = QIB_PARAM_MIN, .help = "most gradient steps per level"},
    {.name = "max_step", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct qib__reg_opts, max_step), .def = "0", .min = 0,
     .flags = QIB_PARAM_MIN, .unit = "mm",
     .help = "first step length of each level, in mm of root-mean-square displacement of "
             "the samples (0: the level's largest moving voxel spacing)"},
    {.name = "min_step", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct qib__reg_opts, min_step), .def = "0.005", .min = 0,
     .flags = QIB_PARAM_MIN, .unit = "mm",
     .help = "convergence: a level ends when the step length falls below this (mm)"},
    {.name = "relaxation", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct qib__reg_opts, relaxation), .def = "0.5", .min = 0.01,
     .max = 0.99, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "factor applied to the step length when the gradient changes direction"},
    {.name = "gradient_tolerance", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct qib__reg_opts, grad_tol), .def = "1e-8", .min = 0,
     .flags = QIB_PARAM_MIN,
     .help = "convergence: a level ends when the norm of the scaled gradient (metric per "
             "mm) falls below this"},
    {.name = "sampling", .type = QIB_PARAM_ENUM,
     .offset = offsetof(struct qib__reg_opts, sampling), .def = "stratified",
     .choices = sampling_choices,
     .help = "all: every fixed voxel of the level; stratified: one voxel drawn from each run "
             "of 1/fraction voxels by a generator with a fixed seed"},
    {.name = "fraction", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct qib__reg_opts, fraction), .def = "0.25", .min = 1e-6, .max = 1,
     .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "fraction of the fixed voxels sampled with stratified sampling"},
    {.name = "max_samples", .type = QIB_PARAM_INT,
     .offset = offsetof(struct qib__reg_opts, max_samples), .def = "200000", .min = 0,
     .flags = QIB_PARAM_MIN,
     .help = "most samples per level, whatever the sampling (0: no limit)"},
    {.name = "seed", .type = QIB_PARAM_INT, .offset = offsetof(struct qib__reg_opts, seed),
     .def = "1", .min = 0, .flags = QIB_PARAM_MIN,
     .help = "seed of the stratified sampler (the same seed gives the same samples)"},
    {.name = "init", .type = QIB_PARAM_ENUM, .offset = offsetof(struct qib__reg_opts, init),
     .def = "geometry", .choices = init_choices,
     .help = "starting translation: geometry (align the images' centres), moments (align "
             "centres of mass) or none; ignored when initial is wired"},
    {.name = "resample", .type = QIB_PARAM_BOOL,
     .offset = offsetof(struct qib__reg_opts, resample), .def = "true",
     .help = "resample the moving image onto the fixed grid for the image output (false "
             "leaves it unset and saves the time)"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "fixed", .kind = QIB_OBJ_VOLUME, .help = "the fixed (reference) image"},
    {.name = "moving", .kind = QIB_OBJ_VOLUME, .help = "the image to align to fixed"},
    {.name = "fixed_mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "samples are taken only inside this mask (on the fixed grid)"},
    {.name = "moving_mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "samples whose moving point falls outside this mask are left out"},
    {.name = "initial", .kind = QIB_OBJ_TRANSFORM, .flags = QIB_PORT_OPTIONAL,
     .help = "starting transform (fixed to moving, rigid)"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "transform", .kind = QIB_OBJ_TRANSFORM,
     .help = "the rigid transform mapping fixed points to moving points (LPS, ITK "
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
    .name = "rigid",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "rigid registration (Euler 3-D) by mutual information, correlation or mean "
               "squares",
    .citation = "Mattes D et al. PET-CT image registration in the chest using free-form "
                "deformations. IEEE Trans Med Imaging 2003;22(1):120-128",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct qib__reg_opts),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
