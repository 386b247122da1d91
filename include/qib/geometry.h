/* Image geometry in LPS world coordinates (the DICOM/ITK convention).
 *
 * A voxel index i = (i, j, k) maps to the world point (mm)
 *     p = origin + D * diag(spacing) * i
 * where origin is the centre of voxel (0,0,0) and the columns of D (dir) are
 * the unit vectors of the x, y and z axes of the voxel grid in LPS.  dir is
 * stored row major: dir[3*r + c] is row r, column c.  Voxels are stored with
 * x fastest, then y, z and the fourth dimension (time, b-value, echo). */
#ifndef QIB_GEOMETRY_H
#define QIB_GEOMETRY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The largest number of dimensions a volume has. */
#define QIB_MAX_DIMS 4

/** Geometry of a volume: a plain value, copied freely. */
struct qib_geom {
    int ndim;                     /**< 1..4; dims beyond ndim are 1 */
    size_t dims[QIB_MAX_DIMS];    /**< voxels along x, y, z, t */
    double spacing[QIB_MAX_DIMS]; /**< mm for x, y, z; dimension 4 in its own unit */
    double origin[3];             /**< centre of voxel (0,0,0), LPS, mm */
    double dir[9];                /**< direction cosines, columns = axes, row major */
};

/** Set @p g to ndim dimensions @p dims (ndim values), spacing 1 mm, origin 0,
 * identity direction.  Returns QIB_EINVAL when ndim is not 1..4 or a dimension
 * is 0. */
int qib_geom_init(struct qib_geom *g, int ndim, const size_t *dims);

/** Number of voxels (product of all four dims).  Returns QIB_EOVERFLOW and
 * leaves *n untouched when the product does not fit size_t. */
int qib_geom_nvox(const struct qib_geom *g, size_t *n);

/** Voxels in one 3-D frame: dims[0]*dims[1]*dims[2] (no overflow check: call
 * qib_geom_nvox once first). */
size_t qib_geom_frame_nvox(const struct qib_geom *g);

/** Volume of one voxel in mm^3: spacing x*y*z times |det(dir)|. */
double qib_geom_voxel_mm3(const struct qib_geom *g);

/** Continuous voxel index @p idx (3 values) to LPS world point @p world. */
void qib_geom_index_to_world(const struct qib_geom *g, const double idx[3], double world[3]);

/** LPS world point to continuous voxel index.  Returns QIB_EGEOMETRY when the
 * direction matrix is singular. */
int qib_geom_world_to_index(const struct qib_geom *g, const double world[3], double idx[3]);

/** The 4x4 row-major matrix mapping voxel index (i,j,k,1) to LPS (x,y,z,1). */
void qib_geom_affine(const struct qib_geom *g, double m[16]);

/** Check that the geometry is usable: ndim 1..4, dims >= 1 (and 1 beyond
 * ndim), spacing finite and > 0 (spacing[3] may be 0: frames not evenly
 * spaced), origin finite, direction columns of unit length (1e-3) and
 * mutually orthogonal (1e-3).  On failure returns QIB_EGEOMETRY and writes the
 * reason to @p why (may be NULL) of size @p whylen. */
int qib_geom_check(const struct qib_geom *g, char *why, size_t whylen);

/** Whether @p a and @p b describe the same voxel grid: same spatial dims
 * (the fourth dimension is ignored), spacing within @p tol relative, direction
 * cosines within @p tol, origins within @p tol times the smallest spacing.
 * Returns QIB_OK when they match, QIB_EGEOMETRY otherwise, with the first
 * difference written to @p why (may be NULL). */
int qib_geom_same_grid(const struct qib_geom *a, const struct qib_geom *b,
                       double tol, char *why, size_t whylen);

/** The default tolerance of qib_geom_same_grid used by the plugins (1e-4). */
#define QIB_GRID_TOL 1e-4

/** One voxel offset from a centre voxel: steps along i, j and k. */
struct qib_voxel_offset {
    ptrdiff_t d[3];
};

/** The offsets of every voxel whose centre lies within @p r mm of the centre
 * voxel's centre, by world distance (spacing and direction matrix), in raster
 * order (i fastest).  r^2 gets a relative margin of 1e-12, so a voxel exactly
 * on the sphere (6 mm away for a 6 mm radius) counts whatever the rounding.
 * On success *out is malloc'ed (release it with free()) and *n >= 1 (the
 * centre).  Returns QIB_EINVAL when r is negative or not finite, QIB_ERANGE
 * when the sphere's bounding box would hold more than @p max_box voxels, or
 * QIB_ENOMEM. */
int qib_geom_ball(const struct qib_geom *g, double r, size_t max_box,
                  struct qib_voxel_offset **out, size_t *n);

/** Write a one-line human description of @p g to @p buf:
 * "128x96x24x2 voxels, spacing 2x2x2.2 mm, origin (..) mm LPS, dir [..]".
 * Returns the length that would have been written (snprintf semantics). */
int qib_geom_format(const struct qib_geom *g, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
