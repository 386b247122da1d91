/* Spatial transforms in LPS world coordinates.  An affine transform is a
 * 4x4 row-major matrix mapping a point (x,y,z,1) to (x',y',z',1).  By the ITK
 * convention a registration result maps points of the fixed image's space
 * into the moving image's space. */
#ifndef QIB_TRANSFORM_H
#define QIB_TRANSFORM_H

#include "qib/meta.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque transform (refcounted, immutable once made). */
typedef struct qib_transform qib_transform;

/** A new affine transform from a 4x4 row-major matrix whose last row must be
 * (0 0 0 1) within 1e-12 and whose entries are finite.  Transfer full.
 * Returns QIB_EINVAL otherwise. */
int qib_transform_new_affine(const double m[16], qib_transform **out);

/** The identity. */
int qib_transform_new_identity(qib_transform **out);

qib_transform *qib_transform_ref(qib_transform *t);
void qib_transform_unref(qib_transform **t);

/** Copy the matrix into @p m. */
void qib_transform_matrix(const qib_transform *t, double m[16]);

/** Map a point. */
void qib_transform_apply(const qib_transform *t, const double in[3], double out[3]);

/** The inverse (transfer full); QIB_EGEOMETRY when singular. */
int qib_transform_invert(const qib_transform *t, qib_transform **out);

/** The transform that applies @p first, then @p second (transfer full). */
int qib_transform_compose(const qib_transform *first, const qib_transform *second,
                          qib_transform **out);

/** Metadata: where the transform came from, metric values. */
const qib_meta *qib_transform_meta(const qib_transform *t);
qib_meta *qib_transform_meta_mut(qib_transform *t);

#ifdef __cplusplus
}
#endif
#endif
