/* Volumes: refcounted voxel arrays with geometry and metadata.  Writable only
 * while unshared, so steps that work in place can do so safely and a chain of
 * them never copies (GStreamer's and FFmpeg's "writable iff one reference"). */
#define _DEFAULT_SOURCE /* madvise and MADV_HUGEPAGE in <sys/mman.h> */
#include "config.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "qib/status.h"
#include "qib/volume.h"

struct qib_volume {
    atomic_uint refcount;
    enum qib_dtype dtype;
    int is_mask;
    struct qib_geom geom;
    size_t nvox;
    size_t nbytes;
    void *data;
    qib_meta *meta;
};

/* Uninitialised buffers are aligned to a cache line so that vector loops
 * start on a boundary. */
#define DATA_ALIGN 64

/* Uninitialised buffers of at least this size (one x86-64 and arm64 huge
 * page) are aligned to it, rounded up to whole huge pages and, on Linux,
 * offered to transparent huge pages: filling a 100 MB image otherwise costs
 * 25,000 page faults, and the run that reads it pays them one by one.  With
 * THP "never" or the advice refused, the buffer is an ordinary one.  Zeroed
 * buffers stay with calloc, whose large blocks come from the kernel zeroed
 * and are only faulted in where a step writes them. */
#define HUGE_ALIGN ((size_t)2 << 20)

static void *alloc_uninit(size_t nbytes)
{
    if (nbytes < HUGE_ALIGN)
        return aligned_alloc(DATA_ALIGN, (nbytes + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN);
    size_t len = (nbytes + HUGE_ALIGN - 1) / HUGE_ALIGN * HUGE_ALIGN;
    void *p = aligned_alloc(HUGE_ALIGN, len);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p)
        (void)madvise(p, len, MADV_HUGEPAGE); /* advice: failure is harmless */
#endif
    return p;
}

size_t qib_dtype_size(enum qib_dtype t)
{
    switch (t) {
    case QIB_U8:
    case QIB_I8:
        return 1;
    case QIB_U16:
    case QIB_I16:
        return 2;
    case QIB_U32:
    case QIB_I32:
    case QIB_F32:
        return 4;
    case QIB_F64:
        return 8;
    }
    return 0;
}

const char *qib_dtype_name(enum qib_dtype t)
{
    switch (t) {
    case QIB_U8:
        return "u8";
    case QIB_I8:
        return "i8";
    case QIB_U16:
        return "u16";
    case QIB_I16:
        return "i16";
    case QIB_U32:
        return "u32";
    case QIB_I32:
        return "i32";
    case QIB_F32:
        return "f32";
    case QIB_F64:
        return "f64";
    }
    return "?";
}

int qib_dtype_is_float(enum qib_dtype t)
{
    return t == QIB_F32 || t == QIB_F64;
}

/* Allocate the volume struct and its buffer; @p zero selects calloc (whose
 * large blocks come from the kernel already zeroed, at no cost) over an
 * aligned, uninitialised block. */
static int volume_alloc(enum qib_dtype t, const struct qib_geom *g, int zero, qib_volume **out)
{
    if (!out)
        return QIB_EINVAL;
    size_t es = qib_dtype_size(t);
    if (es == 0 || !g)
        return QIB_EINVAL;
    if (qib_geom_check(g, NULL, 0) != QIB_OK)
        return QIB_EGEOMETRY;
    size_t nvox;
    if (qib_geom_nvox(g, &nvox) != QIB_OK || nvox > SIZE_MAX / es)
        return QIB_EOVERFLOW;
    size_t nbytes = nvox * es;
    /* Object sizes beyond PTRDIFF_MAX break pointer arithmetic. */
    if (nbytes > (size_t)PTRDIFF_MAX - HUGE_ALIGN)
        return QIB_EOVERFLOW;
    qib_volume *v = calloc(1, sizeof *v);
    if (!v)
        return QIB_ENOMEM;
    if (zero)
        v->data = calloc(nvox, es);
    else
        v->data = alloc_uninit(nbytes);
    v->meta = qib_meta_new();
    if (!v->data || !v->meta) {
        free(v->data);
        qib_meta_free(&v->meta);
        free(v);
        return QIB_ENOMEM;
    }
    atomic_init(&v->refcount, 1);
    v->dtype = t;
    v->geom = *g;
    v->nvox = nvox;
    v->nbytes = nbytes;
    *out = v;
    return QIB_OK;
}

int qib_volume_new(enum qib_dtype t, const struct qib_geom *g, qib_volume **out)
{
    return volume_alloc(t, g, 1, out);
}

int qib_volume_new_uninit(enum qib_dtype t, const struct qib_geom *g, qib_volume **out)
{
    return volume_alloc(t, g, 0, out);
}

int qib_mask_new(const struct qib_geom *g, qib_volume **out)
{
    if (!g)
        return QIB_EINVAL;
    struct qib_geom g3 = *g;
    if (g3.ndim > 3) {
        g3.ndim = 3;
        g3.dims[3] = 1;
        g3.spacing[3] = 1.0;
    }
    int st = qib_volume_new(QIB_U8, &g3, out);
    if (st == QIB_OK)
        (*out)->is_mask = 1;
    return st;
}

qib_volume *qib_volume_ref(qib_volume *v)
{
    if (v)
        atomic_fetch_add_explicit(&v->refcount, 1, memory_order_relaxed);
    return v;
}

void qib_volume_unref(qib_volume **v)
{
    if (!v || !*v)
        return;
    qib_volume *p = *v;
    *v = NULL;
    /* acq_rel: the thread that frees sees every other holder's writes. */
    if (atomic_fetch_sub_explicit(&p->refcount, 1, memory_order_acq_rel) != 1)
        return;
    free(p->data);
    qib_meta_free(&p->meta);
    free(p);
}

unsigned qib_volume_refcount(const qib_volume *v)
{
    return v ? atomic_load_explicit(&((qib_volume *)v)->refcount, memory_order_acquire) : 0;
}

int qib_volume_is_writable(const qib_volume *v)
{
    return qib_volume_refcount(v) == 1;
}

int qib_volume_copy(const qib_volume *v, qib_volume **out)
{
    if (!v || !out)
        return QIB_EINVAL;
    qib_volume *c;
    int st = volume_alloc(v->dtype, &v->geom, 0, &c);
    if (st != QIB_OK)
        return st;
    memcpy(c->data, v->data, v->nbytes);
    qib_meta *m = qib_meta_copy(v->meta);
    if (!m) {
        qib_volume_unref(&c);
        return QIB_ENOMEM;
    }
    qib_meta_free(&c->meta);
    c->meta = m;
    c->is_mask = v->is_mask;
    *out = c;
    return QIB_OK;
}

int qib_volume_make_writable(qib_volume **v)
{
    if (!v || !*v)
        return QIB_EINVAL;
    if (qib_volume_is_writable(*v))
        return QIB_OK;
    qib_volume *c;
    int st = qib_volume_copy(*v, &c);
    if (st != QIB_OK)
        return st;
    qib_volume_unref(v);
    *v = c;
    return QIB_OK;
}

double qib_volume_get(const qib_volume *v, size_t i)
{
    assert(i < v->nvox);
    switch (v->dtype) {
    case QIB_U8:
        return ((const uint8_t *)v->data)[i];
    case QIB_I8:
        return ((const int8_t *)v->data)[i];
    case QIB_U16:
        return ((const uint16_t *)v->data)[i];
    case QIB_I16:
        return ((const int16_t *)v->data)[i];
    case QIB_U32:
        return ((const uint32_t *)v->data)[i];
    case QIB_I32:
        return ((const int32_t *)v->data)[i];
    case QIB_F32:
        return ((const float *)v->data)[i];
    case QIB_F64:
        return ((const double *)v->data)[i];
    }
    return NAN;
}

double qib_volume_offset_mean(const qib_volume *v, size_t centre,
                              const struct qib_voxel_offset *off, size_t n)
{
    const struct qib_geom *g = qib_volume_geom(v);
    const size_t nx = g->dims[0], ny = g->dims[1], nz = g->dims[2] ? g->dims[2] : 1;
    const ptrdiff_t i = (ptrdiff_t)(centre % nx), j = (ptrdiff_t)(centre / nx % ny),
                    k = (ptrdiff_t)(centre / nx / ny);
    double s = 0;
    size_t cnt = 0;
    for (size_t o = 0; o < n; o++) {
        ptrdiff_t x = i + off[o].d[0], y = j + off[o].d[1], z = k + off[o].d[2];
        if (x < 0 || y < 0 || z < 0 || (size_t)x >= nx || (size_t)y >= ny || (size_t)z >= nz)
            continue;
        double val = qib_volume_get(v, ((size_t)z * ny + (size_t)y) * nx + (size_t)x);
        if (isnan(val))
            continue;
        s += val;
        cnt++;
    }
    return cnt ? s / (double)cnt : NAN;
}

void qib_volume_to_f64(const qib_volume *v, double *dst)
{
    qib_volume_get_range(v, 0, v->nvox, dst);
}

void qib_volume_get_range(const qib_volume *v, size_t start, size_t n, double *dst)
{
    assert(start <= v->nvox && n <= v->nvox - start);
    switch (v->dtype) {
#define TO_F64(TAG, CT) \
    case TAG: { \
        const CT *s = (const CT *)v->data + start; \
        for (size_t i = 0; i < n; i++) \
            dst[i] = (double)s[i]; \
        break; \
    }
        TO_F64(QIB_U8, uint8_t)
        TO_F64(QIB_I8, int8_t)
        TO_F64(QIB_U16, uint16_t)
        TO_F64(QIB_I16, int16_t)
        TO_F64(QIB_U32, uint32_t)
        TO_F64(QIB_I32, int32_t)
        TO_F64(QIB_F32, float)
        TO_F64(QIB_F64, double)
#undef TO_F64
    }
}

/* Integer targets: round half away from zero (round()), saturate at the
 * type's limits, NaN gives 0.  Every source type is exactly representable
 * as a double, so converting through double loses nothing, and integer
 * sources out of the target's range saturate the same way. */
static inline double to_int_range(double x, double lo, double hi)
{
    if (isnan(x))
        return 0.0;
    x = round(x);
    return x < lo ? lo : x > hi ? hi : x;
}

/* f64 to f32 as IEEE rounding gives it, written out because C leaves the
 * cast of an out-of-range value undefined: a magnitude below FLT_MAX plus half
 * its ulp (2^103) rounds to FLT_MAX, anything larger to infinity. */
static inline float to_f32(double x)
{
    if (x > FLT_MAX || x < -FLT_MAX) {
        if (fabs(x) < (double)FLT_MAX + 0x1p103)
            return x > 0 ? FLT_MAX : -FLT_MAX;
        return x > 0 ? (float)INFINITY : (float)-INFINITY;
    }
    return (float)x;
}

int qib_volume_convert(const qib_volume *v, enum qib_dtype t, qib_volume **out)
{
    if (!v || !out || qib_dtype_size(t) == 0)
        return QIB_EINVAL;
    if (t == v->dtype)
        return qib_volume_copy(v, out);
    qib_volume *c;
    int st = volume_alloc(t, &v->geom, 0, &c);
    if (st != QIB_OK)
        return st;
    qib_meta *m = qib_meta_copy(v->meta);
    if (!m) {
        qib_volume_unref(&c);
        return QIB_ENOMEM;
    }
    qib_meta_free(&c->meta);
    c->meta = m;
    c->is_mask = v->is_mask && t == QIB_U8;
    size_t n = v->nvox;
    switch (t) {
#define CONV_INT(TAG, CT, LO, HI) \
    case TAG: { \
        CT *d = c->data; \
        for (size_t i = 0; i < n; i++) \
            d[i] = (CT)to_int_range(qib_volume_get(v, i), (LO), (HI)); \
        break; \
    }
        CONV_INT(QIB_U8, uint8_t, 0.0, UINT8_MAX)
        CONV_INT(QIB_I8, int8_t, INT8_MIN, INT8_MAX)
        CONV_INT(QIB_U16, uint16_t, 0.0, UINT16_MAX)
        CONV_INT(QIB_I16, int16_t, INT16_MIN, INT16_MAX)
        CONV_INT(QIB_U32, uint32_t, 0.0, UINT32_MAX)
        CONV_INT(QIB_I32, int32_t, INT32_MIN, INT32_MAX)
#undef CONV_INT
    case QIB_F32: {
        float *d = c->data;
        for (size_t i = 0; i < n; i++)
            d[i] = to_f32(qib_volume_get(v, i));
        break;
    }
    case QIB_F64:
        qib_volume_to_f64(v, c->data);
        break;
    }
    *out = c;
    return QIB_OK;
}

enum qib_dtype qib_volume_dtype(const qib_volume *v)
{
    return v->dtype;
}

const struct qib_geom *qib_volume_geom(const qib_volume *v)
{
    return &v->geom;
}

int qib_volume_set_geom(qib_volume *v, const struct qib_geom *g)
{
    if (!v || !g)
        return QIB_EINVAL;
    if (!qib_volume_is_writable(v))
        return QIB_EBUSY;
    size_t n;
    if (qib_geom_check(g, NULL, 0) != QIB_OK || qib_geom_nvox(g, &n) != QIB_OK || n != v->nvox)
        return QIB_EGEOMETRY;
    v->geom = *g;
    return QIB_OK;
}

size_t qib_volume_nvox(const qib_volume *v)
{
    return v->nvox;
}

const void *qib_volume_data(const qib_volume *v)
{
    return v->data;
}

void *qib_volume_data_mut(qib_volume *v)
{
    return qib_volume_is_writable(v) ? v->data : NULL;
}

int qib_volume_is_mask(const qib_volume *v)
{
    return v && v->is_mask;
}

int qib_volume_set_mask(qib_volume *v, int is_mask)
{
    if (!v)
        return QIB_EINVAL;
    if (!qib_volume_is_writable(v))
        return QIB_EBUSY;
    if (v->dtype != QIB_U8)
        return QIB_EINVAL;
    v->is_mask = is_mask != 0;
    return QIB_OK;
}

const qib_meta *qib_volume_meta(const qib_volume *v)
{
    return v->meta;
}

qib_meta *qib_volume_meta_mut(qib_volume *v)
{
    return qib_volume_is_writable(v) ? v->meta : NULL;
}
