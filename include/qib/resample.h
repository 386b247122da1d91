/* Resampling of volumes and masks onto another voxel grid: nearest
 * neighbour, (tri)linear and cubic B-spline interpolation; the IBSI grid
 * rules for a new spacing; masks through a partial-volume threshold.
 * Shared by bio.radiomics and reg.resample (and by registration). */
#ifndef QIB_RESAMPLE_H
#define QIB_RESAMPLE_H

#include "qib/geometry.h"
#include "qib/pool.h"
#include "qib/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Interpolation methods. */
enum qib_interp {
    QIB_INTERP_NEAREST = 0, /**< nearest neighbour */
    QIB_INTERP_LINEAR,      /**< trilinear (bilinear with QIB_RESAMPLE_INPLANE) */
    QIB_INTERP_CUBIC        /**< cubic B-spline (prefiltered, so it interpolates) */
};

/** Round interpolated intensities to the nearest integer (for data whose
 * source values were integers, such as HU). */
#define QIB_RESAMPLE_ROUND 1u
/** Interpolate within slices only: the third axis is sampled by nearest
 * neighbour (the IBSI 2-D configurations). */
#define QIB_RESAMPLE_INPLANE 2u

/** The IBSI interpolation grid for spacing @p spacing (mm, 3 values): the
 * same direction as @p in, ceil(n * s / s') voxels per axis, centred on the
 * centre of @p in (IBSI 1, "interpolation grid").  Returns QIB_EINVAL for a
 * spacing that is not finite and > 0, QIB_EGEOMETRY or QIB_EOVERFLOW. */
int qib_resample_grid(const struct qib_geom *in, const double spacing[3], struct qib_geom *out);

/** Resample the first frame of @p v onto grid @p g (world positions through
 * both geometries, so any orientation works).  Points outside @p v take the
 * value of the nearest edge voxel (edge padding).  An image gives an f32
 * volume (f64 when @p v is f64) with @p v's metadata; with
 * QIB_RESAMPLE_ROUND the values are rounded.  A mask (qib_volume_is_mask)
 * gives a mask: each label's indicator is interpolated and a voxel takes the
 * label whose value is highest and at least @p threshold (nearest keeps
 * labels as they are).  @p pool may be NULL.  Memory beyond the result: a
 * copy of the first frame, in single precision when every value is exact
 * there (8- and 16-bit integers, f32), else in double (plus a double copy
 * for the cubic coefficients).  Transfer full. */
int qib_resample(const qib_volume *v, const struct qib_geom *g, enum qib_interp method,
                 unsigned flags, double threshold, qib_pool *pool, qib_volume **out);

#ifdef __cplusplus
}
#endif
#endif
