/* The NIfTI-1 and NIfTI-2 header layouts, datatype table and the affine
 * arithmetic shared by read.nifti and write.nifti.  Everything here is static
 * so that each plugin stays one module exporting one symbol.  Header fields
 * are read and written by byte offset, never through a packed struct, so the
 * code does not depend on the compiler's struct layout. */
#ifndef QIB_NIFTI_FORMAT_H
#define QIB_NIFTI_FORMAT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "qib/volume.h"

/* Header sizes and the single-file data offset of a header with no
 * extensions (header + 4-byte extension flag). */
#define NII1_HDR_SIZE 348
#define NII2_HDR_SIZE 540
#define NII1_VOX_OFFSET 352
#define NII2_VOX_OFFSET 544

/* NIfTI-1 field offsets (nifti1.h). */
enum {
    N1_SIZEOF_HDR = 0,
    N1_DIM_INFO = 39,
    N1_DIM = 40,          /* int16[8] */
    N1_INTENT_P1 = 56,
    N1_INTENT_CODE = 68,  /* int16 */
    N1_DATATYPE = 70,     /* int16 */
    N1_BITPIX = 72,       /* int16 */
    N1_PIXDIM = 76,       /* float[8] */
    N1_VOX_OFFSET = 108,  /* float */
    N1_SCL_SLOPE = 112,
    N1_SCL_INTER = 116,
    N1_XYZT_UNITS = 123,  /* char */
    N1_DESCRIP = 148,     /* char[80] */
    N1_QFORM_CODE = 252,  /* int16 */
    N1_SFORM_CODE = 254,  /* int16 */
    N1_QUATERN_B = 256,   /* float b, c, d, qoffset x, y, z */
    N1_SROW_X = 280,      /* float[4] x 3 rows */
    N1_INTENT_NAME = 328, /* char[16] */
    N1_MAGIC = 344        /* char[4] */
};

/* NIfTI-2 field offsets (nifti2.h). */
enum {
    N2_SIZEOF_HDR = 0,
    N2_MAGIC = 4,         /* char[8] */
    N2_DATATYPE = 12,     /* int16 */
    N2_BITPIX = 14,       /* int16 */
    N2_DIM = 16,          /* int64[8] */
    N2_INTENT_P1 = 80,
    N2_PIXDIM = 104,      /* double[8] */
    N2_VOX_OFFSET = 168,  /* int64 */
    N2_SCL_SLOPE = 176,   /* double */
    N2_SCL_INTER = 184,
    N2_DESCRIP = 240,     /* char[80] */
    N2_QFORM_CODE = 344,  /* int32 */
    N2_SFORM_CODE = 348,
    N2_QUATERN_B = 352,   /* double b, c, d, qoffset x, y, z */
    N2_SROW_X = 400,      /* double[4] x 3 rows */
    N2_XYZT_UNITS = 500,  /* int32 */
    N2_INTENT_CODE = 504, /* int32 */
    N2_INTENT_NAME = 508, /* char[16] */
    N2_DIM_INFO = 524
};

/* NIfTI intent code of a label image (NIFTI_INTENT_LABEL). */
#define NII_INTENT_LABEL 1002

/* One NIfTI datatype: its code, name, bits per voxel and the qib type it maps
 * to (0 when qib does not hold it). */
struct nii_dtype {
    int code;
    const char *name;
    int bitpix;
    enum qib_dtype qib;
};

static const struct nii_dtype nii_dtypes[] = {
    {1, "binary", 1, 0},
    {2, "uint8", 8, QIB_U8},
    {4, "int16", 16, QIB_I16},
    {8, "int32", 32, QIB_I32},
    {16, "float32", 32, QIB_F32},
    {32, "complex64", 64, 0},
    {64, "float64", 64, QIB_F64},
    {128, "rgb24", 24, 0},
    {256, "int8", 8, QIB_I8},
    {512, "uint16", 16, QIB_U16},
    {768, "uint32", 32, QIB_U32},
    {1024, "int64", 64, 0},
    {1280, "uint64", 64, 0},
    {1536, "float128", 128, 0},
    {1792, "complex128", 128, 0},
    {2048, "complex256", 256, 0},
    {2304, "rgba32", 32, 0},
};

/* The table entry of NIfTI datatype @p code, or NULL. */
static inline const struct nii_dtype *nii_dtype_by_code(int code)
{
    for (size_t i = 0; i < sizeof nii_dtypes / sizeof nii_dtypes[0]; i++)
        if (nii_dtypes[i].code == code)
            return &nii_dtypes[i];
    return NULL;
}

/* The table entry that holds qib type @p t, or NULL. */
static inline const struct nii_dtype *nii_dtype_by_qib(enum qib_dtype t)
{
    for (size_t i = 0; i < sizeof nii_dtypes / sizeof nii_dtypes[0]; i++)
        if (nii_dtypes[i].qib == t && t != 0)
            return &nii_dtypes[i];
    return NULL;
}

/* Byte access in either byte order. */
static inline uint16_t nii_get16(const unsigned char *p, int big)
{
    return big ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint32_t nii_get32(const unsigned char *p, int big)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | p[big ? i : 3 - i];
    return v;
}

static inline uint64_t nii_get64(const unsigned char *p, int big)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[big ? i : 7 - i];
    return v;
}

static inline int nii_i16(const unsigned char *p, int big)
{
    return (int16_t)nii_get16(p, big);
}

static inline int32_t nii_i32(const unsigned char *p, int big)
{
    return (int32_t)nii_get32(p, big);
}

static inline int64_t nii_i64(const unsigned char *p, int big)
{
    return (int64_t)nii_get64(p, big);
}

static inline double nii_f32(const unsigned char *p, int big)
{
    uint32_t u = nii_get32(p, big);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline double nii_f64(const unsigned char *p, int big)
{
    uint64_t u = nii_get64(p, big);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Writers produce headers in the host's byte order, like the voxel data
 * that follows them. */
static inline void nii_put16(unsigned char *p, int v, int big)
{
    uint16_t u = (uint16_t)v;
    p[big ? 1 : 0] = (unsigned char)(u & 0xff);
    p[big ? 0 : 1] = (unsigned char)(u >> 8);
}

static inline void nii_put32(unsigned char *p, uint32_t u, int big)
{
    for (int i = 0; i < 4; i++)
        p[big ? 3 - i : i] = (unsigned char)(u >> (8 * i));
}

static inline void nii_put64(unsigned char *p, uint64_t u, int big)
{
    for (int i = 0; i < 8; i++)
        p[big ? 7 - i : i] = (unsigned char)(u >> (8 * i));
}

static inline void nii_putf32(unsigned char *p, double v, int big)
{
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    nii_put32(p, u, big);
}

static inline void nii_putf64(unsigned char *p, double v, int big)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    nii_put64(p, u, big);
}

/* Whether the host stores integers big-endian. */
static inline int nii_host_is_big(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

/* The rotation matrix (row major) of the NIfTI unit quaternion (b, c, d);
 * a = sqrt(1 - b^2 - c^2 - d^2), or 0 with (b, c, d) renormalised when the
 * float32 values add up to slightly more than 1 (as nifti1.h prescribes). */
static inline void nii_quatern_to_rot(double b, double c, double d, double r[9])
{
    double a = 1.0 - (b * b + c * c + d * d);
    if (a < 1e-7) {
        double s = sqrt(b * b + c * c + d * d);
        if (s > 0) {
            b /= s;
            c /= s;
            d /= s;
        }
        a = 0.0;
    } else {
        a = sqrt(a);
    }
    r[0] = a * a + b * b - c * c - d * d;
    r[1] = 2 * (b * c - a * d);
    r[2] = 2 * (b * d + a * c);
    r[3] = 2 * (b * c + a * d);
    r[4] = a * a + c * c - b * b - d * d;
    r[5] = 2 * (c * d - a * b);
    r[6] = 2 * (b * d - a * c);
    r[7] = 2 * (c * d + a * b);
    r[8] = a * a + d * d - c * c - b * b;
}

static inline double nii_det3(const double m[9])
{
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
           m[2] * (m[3] * m[7] - m[4] * m[6]);
}

/* The nearest orthogonal matrix to @p m (polar decomposition by the Newton
 * iteration X <- (X + X^-T) / 2), so a quaternion can be taken from a
 * direction matrix whose columns are orthogonal only to float precision.
 * Returns 0, or -1 when @p m is singular. */
static inline int nii_orthogonalise(const double m[9], double out[9])
{
    double x[9];
    memcpy(x, m, sizeof x);
    for (int it = 0; it < 40; it++) {
        double det = nii_det3(x);
        if (!(fabs(det) > 1e-12))
            return -1;
        /* inverse transpose = cofactor matrix / det */
        double it_[9] = {
            (x[4] * x[8] - x[5] * x[7]) / det, -(x[3] * x[8] - x[5] * x[6]) / det,
            (x[3] * x[7] - x[4] * x[6]) / det, -(x[1] * x[8] - x[2] * x[7]) / det,
            (x[0] * x[8] - x[2] * x[6]) / det, -(x[0] * x[7] - x[1] * x[6]) / det,
            (x[1] * x[5] - x[2] * x[4]) / det, -(x[0] * x[5] - x[2] * x[3]) / det,
            (x[0] * x[4] - x[1] * x[3]) / det,
        };
        double change = 0.0;
        for (int i = 0; i < 9; i++) {
            double n = 0.5 * (x[i] + it_[i]);
            change = fmax(change, fabs(n - x[i]));
            x[i] = n;
        }
        if (change < 1e-15)
            break;
    }
    memcpy(out, x, sizeof x);
    return 0;
}

/* The NIfTI quaternion (b, c, d) and qfac of the direction matrix @p dir
 * (row major, columns = axes, RAS): qfac is the sign of the determinant and
 * the third column is flipped by it so that the rotation is proper.  Returns
 * 0, or -1 when @p dir is singular. */
static inline int nii_rot_to_quatern(const double dir[9], double q[3], double *qfac)
{
    double r[9];
    if (nii_orthogonalise(dir, r) != 0)
        return -1;
    *qfac = nii_det3(r) < 0 ? -1.0 : 1.0;
    if (*qfac < 0) {
        r[2] = -r[2];
        r[5] = -r[5];
        r[8] = -r[8];
    }
    double a, b, c, d;
    double tr = r[0] + r[4] + r[8] + 1.0;
    if (tr > 0.5) {
        a = 0.5 * sqrt(tr);
        b = 0.25 * (r[7] - r[5]) / a;
        c = 0.25 * (r[2] - r[6]) / a;
        d = 0.25 * (r[3] - r[1]) / a;
    } else {
        double xd = 1.0 + r[0] - (r[4] + r[8]);
        double yd = 1.0 + r[4] - (r[0] + r[8]);
        double zd = 1.0 + r[8] - (r[0] + r[4]);
        if (xd > 1.0) {
            b = 0.5 * sqrt(xd);
            c = 0.25 * (r[1] + r[3]) / b;
            d = 0.25 * (r[2] + r[6]) / b;
            a = 0.25 * (r[7] - r[5]) / b;
        } else if (yd > 1.0) {
            c = 0.5 * sqrt(yd);
            b = 0.25 * (r[1] + r[3]) / c;
            d = 0.25 * (r[5] + r[7]) / c;
            a = 0.25 * (r[2] - r[6]) / c;
        } else {
            d = 0.5 * sqrt(zd);
            b = 0.25 * (r[2] + r[6]) / d;
            c = 0.25 * (r[5] + r[7]) / d;
            a = 0.25 * (r[3] - r[1]) / d;
        }
        /* NIfTI stores only b, c, d and takes a >= 0. */
        if (a < 0) {
            b = -b;
            c = -c;
            d = -d;
        }
    }
    q[0] = b;
    q[1] = c;
    q[2] = d;
    return 0;
}

#endif
