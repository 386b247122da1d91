/* Volumes: refcounted, up to 4-D, contiguous voxel arrays with their LPS
 * geometry and a metadata dictionary.  A mask is a u8 volume flagged as a
 * label image (0 = outside, 1..255 = labels).
 *
 * Ownership: constructors return a reference the caller owns (refcount 1).
 * qib_volume_ref adds one; qib_volume_unref drops one and sets the pointer
 * to NULL.  A volume is writable (data, geometry, metadata) only while its
 * refcount is 1: qib_volume_make_writable copies it only when it is shared,
 * so a chain of in-place steps never copies. */
#ifndef QIB_VOLUME_H
#define QIB_VOLUME_H

#include <stddef.h>
#include <stdint.h>

#include "qib/geometry.h"
#include "qib/meta.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Voxel types. */
enum qib_dtype {
    QIB_U8 = 1,
    QIB_I8,
    QIB_U16,
    QIB_I16,
    QIB_U32,
    QIB_I32,
    QIB_F32,
    QIB_F64
};

/** Bytes of one voxel of @p t, 0 for an unknown type. */
size_t qib_dtype_size(enum qib_dtype t);

/** Lower-case name ("u8", "i16", "f32", ...), "?" for an unknown type. */
const char *qib_dtype_name(enum qib_dtype t);

/** Whether @p t is f32 or f64. */
int qib_dtype_is_float(enum qib_dtype t);

/** Opaque volume. */
typedef struct qib_volume qib_volume;

/** Allocate a zero-filled volume of type @p t and geometry @p g (checked with
 * qib_geom_check and for size overflow).  On success *out is a new reference
 * (transfer full).  Returns QIB_EINVAL (bad type), QIB_EGEOMETRY, QIB_EOVERFLOW
 * or QIB_ENOMEM. */
int qib_volume_new(enum qib_dtype t, const struct qib_geom *g, qib_volume **out);

/** Like qib_volume_new, but the voxels are left uninitialised: for readers
 * that fill every voxel. */
int qib_volume_new_uninit(enum qib_dtype t, const struct qib_geom *g, qib_volume **out);

/** A new mask (u8, flagged) on grid @p g, zero-filled; a 4-D @p g is reduced
 * to its first three dimensions. */
int qib_mask_new(const struct qib_geom *g, qib_volume **out);

/** Add a reference; returns @p v. */
qib_volume *qib_volume_ref(qib_volume *v);

/** Drop a reference and set *v to NULL; frees at zero.  NULL is accepted. */
void qib_volume_unref(qib_volume **v);

/** Current reference count. */
unsigned qib_volume_refcount(const qib_volume *v);

/** Whether the caller holds the only reference. */
int qib_volume_is_writable(const qib_volume *v);

/** Make *v writable: when it is shared, replace *v by a deep copy (the
 * caller's reference moves to the copy); otherwise do nothing.  Returns
 * QIB_OK or QIB_ENOMEM (then *v is unchanged). */
int qib_volume_make_writable(qib_volume **v);

/** Deep copy (data, geometry, metadata, mask flag), transfer full. */
int qib_volume_copy(const qib_volume *v, qib_volume **out);

/** Copy converted to type @p t (values cast; float to integer rounds half
 * away from zero and saturates).  Transfer full.  The mask flag is kept only
 * when @p t is u8. */
int qib_volume_convert(const qib_volume *v, enum qib_dtype t, qib_volume **out);

enum qib_dtype qib_volume_dtype(const qib_volume *v);

/** Geometry (borrowed, valid while the volume lives). */
const struct qib_geom *qib_volume_geom(const qib_volume *v);

/** Replace the geometry of a writable volume; the number of voxels must not
 * change.  Returns QIB_EBUSY when shared, QIB_EGEOMETRY when invalid or of
 * another size. */
int qib_volume_set_geom(qib_volume *v, const struct qib_geom *g);

/** Number of voxels. */
size_t qib_volume_nvox(const qib_volume *v);

/** Read-only voxel data (borrowed). */
const void *qib_volume_data(const qib_volume *v);

/** Writable voxel data, or NULL when the volume is shared. */
void *qib_volume_data_mut(qib_volume *v);

/** Voxel @p i (linear index) as a double; no bounds check beyond assert. */
double qib_volume_get(const qib_volume *v, size_t i);

/** Copy every voxel into @p dst as doubles (qib_volume_nvox values). */
void qib_volume_to_f64(const qib_volume *v, double *dst);

/** The mean of the first frame's voxels at voxel @p centre (a linear index
 * into that frame) plus each of the @p n offsets @p off (as qib_geom_ball
 * gives them), summed in the offsets' order: voxels outside the image and
 * NaN voxels are left out; NaN when none is left (the sphere means of
 * SUVpeak and RCpeak). */
double qib_volume_offset_mean(const qib_volume *v, size_t centre,
                              const struct qib_voxel_offset *off, size_t n);

/** Copy voxels [start, start + n) (linear indices) into @p dst as doubles:
 * for loops that work through a volume of any type in chunks. */
void qib_volume_get_range(const qib_volume *v, size_t start, size_t n, double *dst);

/** Whether the volume is flagged as a mask (label image). */
int qib_volume_is_mask(const qib_volume *v);

/** Flag or unflag a writable u8 volume as a mask.  Returns QIB_EBUSY when
 * shared, QIB_EINVAL when the type is not u8. */
int qib_volume_set_mask(qib_volume *v, int is_mask);

/** Metadata (borrowed).  Use qib_volume_meta_mut to change it. */
const qib_meta *qib_volume_meta(const qib_volume *v);

/** Writable metadata of a writable volume, or NULL when shared. */
qib_meta *qib_volume_meta_mut(qib_volume *v);

#ifdef __cplusplus
}
#endif
#endif
