/* Intensity-based linear registration (rigid Euler 3-D and affine) and the
 * application of an affine transform to an image or a mask: shared by
 * reg.rigid, reg.affine and reg.apply.  Private to libqib and its plugins. */
#ifndef QIB_REGISTRATION_H
#define QIB_REGISTRATION_H

#include <stdint.h>

#include "qib/plugin.h"
#include "qib/pool.h"
#include "qib/resample.h"
#include "qib/transform.h"
#include "qib/volume.h"

/** The most pyramid levels. */
#define QIB__REG_MAXLEVELS 8

enum qib__reg_kind { QIB__REG_RIGID = 0, QIB__REG_AFFINE };
enum qib__reg_metric { QIB__REG_MI = 0, QIB__REG_NC, QIB__REG_MS };
enum qib__reg_init { QIB__REG_INIT_GEOMETRY = 0, QIB__REG_INIT_MOMENTS, QIB__REG_INIT_NONE };
enum qib__reg_stop { QIB__REG_STOP_ITER = 0, QIB__REG_STOP_STEP, QIB__REG_STOP_GRAD };

/** Settings of one registration (see doc/registration.md). */
struct qib__reg_params {
    enum qib__reg_kind kind;
    enum qib__reg_metric metric;
    enum qib__reg_init init;   /**< ignored when an initial transform is given */
    int bins;                  /**< Mattes MI histogram bins (>= 8) */
    int levels;                /**< 1..QIB__REG_MAXLEVELS */
    double shrink[QIB__REG_MAXLEVELS]; /**< integer factors >= 1, coarse first */
    double sigma[QIB__REG_MAXLEVELS];  /**< Gaussian sigma in mm (0: none) */
    int64_t iterations;        /**< per level */
    double max_step;           /**< first step in mm of displacement; 0: the
                                    level's largest fixed spacing */
    double min_step;           /**< stop when the step falls below (mm) */
    double relaxation;         /**< step factor when the gradient turns back */
    double grad_tol;           /**< stop when |scaled gradient| falls below */
    int stratified;            /**< 0: every voxel, 1: stratified subset */
    double fraction;           /**< fraction of voxels sampled (stratified) */
    int64_t max_samples;       /**< upper bound on samples per level */
    uint64_t seed;             /**< seed of the stratified sampler */
    qib_step *step;            /**< polled for interruption; may be NULL */
};

/** What a registration found. */
struct qib__reg_result {
    int nparam;                          /**< 6 (rigid) or 12 (affine) */
    double param[12];                    /**< ITK order, see doc */
    double centre[3];                    /**< centre of rotation (LPS mm) */
    double m[16];                        /**< fixed-to-moving matrix */
    int levels;
    int64_t iters[QIB__REG_MAXLEVELS];
    double metric[QIB__REG_MAXLEVELS];   /**< value at the level's end */
    enum qib__reg_stop stop[QIB__REG_MAXLEVELS];
    size_t samples[QIB__REG_MAXLEVELS];
    double seconds[QIB__REG_MAXLEVELS];  /**< wall time per level */
};

/** Register @p moving to @p fixed (masks and @p initial may be NULL; a
 * fixed mask must lie on the fixed grid).  The result maps fixed points to
 * moving points.  @p why (may be NULL) receives a reason on failure.
 * Identical results for any thread count of @p pool. */
int qib__reg_run(const struct qib__reg_params *p, const qib_volume *fixed,
                 const qib_volume *moving, const qib_volume *fmask, const qib_volume *mmask,
                 const qib_transform *initial, qib_pool *pool, struct qib__reg_result *res,
                 char *why, size_t whylen);

/** The matrix of an ITK Euler3DTransform (angles x, y, z in rad, then the
 * translation) about centre @p c: R = Rz Rx Ry, y = R (x - c) + c + t. */
void qib__reg_euler_matrix(const double p[6], const double c[3], double m[16]);

/** Euler angles (x, y, z) of the rotation part of @p m (R = Rz Rx Ry) and
 * the translation about centre @p c: the inverse of qib__reg_euler_matrix
 * for a rigid @p m. */
void qib__reg_euler_params(const double m[16], const double c[3], double p[6]);

/** The matrix of an ITK AffineTransform (9 matrix entries row by row, then
 * the translation) about centre @p c: y = A (x - c) + c + t. */
void qib__reg_affine_matrix(const double p[12], const double c[3], double m[16]);

/** Resample @p v through @p t onto grid @p ref: output voxel at world x
 * takes @p v at t(x).  Points outside @p v's voxel extent take @p outside
 * (an image) or 0 (a mask).  An image gives f32 (f64 for f64 input); a mask
 * (@p as_mask) gives a mask: nearest, or with linear interpolation each
 * label's indicator is interpolated and the highest label weight at least
 * @p threshold wins.  Output slices are independent, so any thread count
 * gives the same voxels.  Transfer full. */
int qib__reg_apply(const qib_volume *v, const qib_transform *t, const struct qib_geom *ref,
                   enum qib_interp method, int as_mask, double threshold, double outside,
                   qib_pool *pool, qib_volume **out);

/** The parameters of reg.rigid and reg.affine, as the runner stores them
 * (one layout for both plugins' parameter tables). */
struct qib__reg_opts {
    int metric;               /**< enum qib__reg_metric */
    int64_t bins;
    struct qib_dlist shrink;
    struct qib_dlist sigma;
    int64_t iterations;
    double max_step, min_step, relaxation, grad_tol;
    int sampling;             /**< 0 all, 1 stratified */
    double fraction;
    int64_t max_samples;
    int64_t seed;
    int init;                 /**< enum qib__reg_init */
    int resample;             /**< set the image output */
};

/** Check the options (levels consistent); reports through @p step. */
/** The parameter table of reg.rigid and reg.affine (offsets into struct
 * qib__reg_opts), shared by both plugins. */
extern const struct qib_param qib__reg_param_table[];

int qib__reg_check(qib_step *step, const struct qib__reg_opts *o);

/** The whole run() of reg.rigid / reg.affine: inputs fixed, moving,
 * fixed_mask, moving_mask, initial; outputs transform, image, table. */
int qib__reg_step(qib_step *step, const struct qib__reg_opts *o, enum qib__reg_kind kind);

#endif
